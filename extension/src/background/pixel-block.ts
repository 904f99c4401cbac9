// The sender's own browser never fetches this tracker's pixels from Gmail's pages. At send time the pixel sits in
// the compose for a moment, and Firefox starts fetching an image as soon as it is in the page (Chrome a microtask
// later): that would be the sender's own hit, counted as an open. A declarativeNetRequest rule blocks image
// requests to `<tracker>/o/` in this browser (not only from mail.google.com: Firefox attributes loads caused by a
// content script to the extension), so neither the compose nor a sent message shown without Google's proxy loads it. Recipients do not run this extension, and Google's proxy fetches from Google's servers.
import browser from "webextension-polyfill";
import { loadOptions } from "../options-store";

const RULE_ID = 1;

export async function syncPixelBlockRule(): Promise<void> {
  const { trackerUrl } = await loadOptions();
  const dnr = browser.declarativeNetRequest;
  if (!dnr) return;
  await dnr.updateDynamicRules({
    removeRuleIds: [RULE_ID],
    addRules: [
      {
        id: RULE_ID,
        priority: 1,
        action: { type: "block" },
        condition: {
          urlFilter: `|${trackerUrl}/o/`,
          resourceTypes: ["image"],
        },
      },
    ],
  });
}
