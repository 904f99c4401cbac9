// The sender's own browser never fetches this tracker's pixels, nor those of the trackers it replaced, from Gmail's
// pages. At send time the pixel sits in the compose for a moment, and Firefox starts fetching an image as soon as it is
// in the page (Chrome a microtask later): that would be the sender's own hit, counted as an open. A
// declarativeNetRequest rule blocks image requests to `<tracker>/o/` in this browser (not only from mail.google.com:
// Firefox attributes loads caused by a content script to the extension), so neither the compose nor a sent message
// shown without Google's proxy loads it. Recipients do not run this extension, and Google's proxy fetches from Google's
// servers.
import browser from "webextension-polyfill";
import { loadOptions, trackerUrls } from "../options-store";

/** One rule a tracker whose pixels are this rep's: the current one first (rule 1), then the earlier ones. */
export async function syncPixelBlockRule(): Promise<void> {
  const trackers = trackerUrls(await loadOptions());
  const dnr = browser.declarativeNetRequest;
  if (!dnr) return;
  await dnr.updateDynamicRules({
    // This extension's only dynamic rules are these: the earlier set goes whole.
    removeRuleIds: (await dnr.getDynamicRules()).map((rule) => rule.id),
    addRules: trackers.map((trackerUrl, index) => ({
      id: index + 1,
      priority: 1,
      action: { type: "block" as const },
      condition: { urlFilter: `|${trackerUrl}/o/`, resourceTypes: ["image" as const] },
    })),
  });
}
