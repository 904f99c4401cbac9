// Tells the background which parts of Gmail this tab recognises (gmail-selectors.ts recogniseGmail), so the popup
// can say in words what stopped working when Gmail changes. A part once recognised stays so until it is seen
// missing; a report is sent only when the picture changes. Also answers the background's question whether the extension
// runs in this tab at all.
import type { Runtime } from "webextension-polyfill";
import type { GmailHealth, GmailPart } from "../../background/gmail-health";
import { isContentPing } from "../../envelope";
import { callFromGmail } from "../../messaging";
import { browser } from "../../web-ext";
import { type Feature, guarded } from "../feature";
import { recogniseGmail } from "../gmail-selectors";
import { debug, debugOnce } from "../log";
import { onPageMutations } from "../page-watch";
import { latestSendAt } from "./compose-tracking";

/** Gmail re-renders constantly: look at most this often. */
const CHECK_MS = 1000;
/** How long after a send its "Message sent" notice is looked for: it shows within a second or two, for 5 s or more. */
const SENT_NOTICE_MS = 15_000;

export const gmailHealth: Feature = {
  id: "gmail-health",
  init(signal) {
    let known: GmailHealth | null = null;
    let reported = "";
    let timer: ReturnType<typeof setTimeout> | undefined;

    const check = guarded("gmail health", () => {
      timer = undefined;
      const sentAt = latestSendAt();
      const now = recogniseGmail(document, sentAt !== null && Date.now() - sentAt < SENT_NOTICE_MS);
      const next = { ...(known ?? now) };
      for (const part of Object.keys(now) as GmailPart[]) if (now[part] !== "unseen") next[part] = now[part];
      known = next;
      const key = JSON.stringify(next);
      if (key === reported) return;
      reported = key;
      for (const part of Object.keys(next) as GmailPart[])
        if (next[part] === "missing") debugOnce(`health:${part}`, `Gmail part not recognised: ${part}`);
      document.documentElement.dataset.mtHealth = key;
      callFromGmail("reportGmailHealth", next).catch((error: unknown) => debug("health not reported", error));
    });
    const soon = () => {
      timer ??= setTimeout(check, CHECK_MS);
    };
    // A part shows or goes with nodes added or removed: recogniseGmail reads elements and their text, never a style,
    // so a style Gmail sets changes nothing it reports.
    onPageMutations("gmail health watch", ["nodes"], soon, signal);
    if (document.body) soon();
    else document.addEventListener("DOMContentLoaded", soon, { once: true, signal });
    // A tab coming to the front reports again: the popup asks about the tab in front.
    document.addEventListener(
      "visibilitychange",
      () => {
        reported = "";
        soon();
      },
      { signal },
    );
    // The background asks, when the extension is given back its access to Gmail, whether this page still runs it
    // (markGmailTabsOpenBefore). Answered at once with sendResponse, which Chrome and Firefox both take; anything else
    // is left unanswered (undefined: the typings know only the polyfill's promise-or-true listeners).
    const answerPing = ((message: unknown, _sender: unknown, sendResponse: (answer: boolean) => void) => {
      if (isContentPing(message)) sendResponse(true);
    }) as Runtime.OnMessageListener;
    browser.runtime.onMessage.addListener(answerPing);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      browser.runtime.onMessage.removeListener(answerPing);
    });
  },
};
