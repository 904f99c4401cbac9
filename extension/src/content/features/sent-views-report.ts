// The sender's own opens, part 2: tells the tracker which tracked messages Gmail has just drawn in the sender's
// Gmail, so hits that still happen (the pixel loaded on another device of the sender's, a race with the neutraliser)
// are labelled "sender" by the tracker (it labels hits within 60 s of a report). Reports go through the background.
// What is reported is a render, the moment images load, not a conversation that stays on screen: Gmail does not load
// a displayed message's images again, and a report every minute while a thread stayed open made the tracker take a
// recipient's open through Gmail's proxy in that time for the sender's, so it was neither counted nor notified.
// A message rendered in a tab the sender is not looking at (a thread opened with Ctrl+click in a background tab)
// loads its images all the same: a render is reported visible or not, bodies the page-world guard saw being built
// off-document included (sender-pixels passes those ids on), unless its views were reported in the last 45 s.
// The sender following one of their own tracked links (to check the Calendly link of an email they sent, in it or in
// a reply that quotes it) is reported at once, whenever the message was drawn: the tracker takes that click for the
// sender's only within 60 s of a report, and a conversation read for longer than that had none left.
import { SENDER_WINDOW_MS } from "../../../../shared/labels";
import { callFromGmail } from "../../messaging";
import { trackerUrls } from "../../options-store";
import { type Feature, guarded } from "../feature";
import { conversationThreadId, followedLink, messageLinkUrls, shownView } from "../gmail-selectors";
import { debug } from "../log";
import { trackerLink } from "../rewrite";
import { neutralisedIdsIn, onPixelsNeutralised } from "./sender-pixels";

/**
 * The same views are reported again when Gmail draws them again this long after their last report, and not sooner:
 * the tracker counts a hit within SENDER_WINDOW_MS (60 s) either side of a view as the sender's, so a report covers
 * whatever a render of the same messages in the next 45 s loads, with 15 s to spare for the image proxy's fetch.
 * Reporting every render instead cost a request through the background for each time the rep went back to a
 * conversation.
 */
const REPEAT_MS = SENDER_WINDOW_MS - 15_000;

/** The tracking id of the click link of one of `trackers` that `link` leads to (messageLinkUrls), else null. */
export function clickedTrackingId(link: Element, trackers: readonly string[]): string | null {
  for (const url of messageLinkUrls(link)) {
    const id = trackerLink(url, trackers)?.id;
    if (id) return id;
  }
  return null;
}

export const sentViewsReport: Feature = {
  id: "sent-views-report",
  init(signal, { options }) {
    let lastKey = "";
    let lastAt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    /** Tells the tracker the sender sees these now; a render's report (its `key`) that fails is tried at the next sighting. */
    const reportViews = (messageIds: string[], threadIds: string[], key?: string) =>
      callFromGmail("senderViews", { messageIds, threadIds }).then(
        (result) => {
          debug("sender views reported", messageIds, threadIds, result);
          document.documentElement.dataset.mtViewsReported = String(Number(document.documentElement.dataset.mtViewsReported ?? 0) + 1);
        },
        (error: unknown) => {
          if (lastKey === key) lastKey = "";
          debug("sender views not reported", error);
        },
      );

    /**
     * Ids seen since the last report, built or in the page: the page is read again at the report, and these add the
     * bodies built off-document (or gone from the page by then). Reported once each.
     */
    const offDocument = new Set<string>();
    const reportRender = guarded("views report", () => {
      // The view Gmail shows: the conversations it keeps hidden in the page were viewed when they were shown, and
      // reported then; reporting them again would take a reader's open for the sender's own view (shownView).
      const view = shownView(document);
      const messageIds = [...new Set([...neutralisedIdsIn(view), ...offDocument])];
      offDocument.clear();
      const thread = conversationThreadId(view);
      const threadIds = thread ? [thread] : [];
      if (messageIds.length + threadIds.length === 0) return;
      const key = [...messageIds, ...threadIds].sort().join(",");
      if (key === lastKey && Date.now() - lastAt < REPEAT_MS) return;
      lastKey = key;
      lastAt = Date.now();
      void reportViews(messageIds, threadIds, key);
    });
    // One report a quarter of a second after the first sighting. Gmail's render is seen several times (its HTML
    // built, its messages inserted, its pixels): re-arming the timer at each cost every checkpoint a clearTimeout and
    // a setTimeout, and a Gmail that redrew faster than the timer put the report off for as long as it redrew.
    const soon = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        reportRender();
      }, 250);
    };

    onPixelsNeutralised((ids) => {
      for (const id of ids) offDocument.add(id);
      soon();
    }, signal);
    // Opening a conversation swaps the view without a reload; so does Gmail's hash navigation.
    window.addEventListener("hashchange", soon, { signal });
    signal.addEventListener("abort", () => clearTimeout(timer));
    soon();

    // A link is followed by a click (Enter on a focused link makes one too), a middle click (auxclick, button 1), or
    // "Open link in new tab" in the context menu, whose choice the page never hears of: so the menu's opening is
    // reported. One the rep does not use costs what any report costs, a reader's open through Gmail's proxy within a
    // minute of it taken for the sender's (a reader's click, from another address, still counts). Heard on the window
    // in the capture phase, the first place the event reaches, so no handler of Gmail's below can stop it; the event
    // itself is left alone, and the navigation goes ahead as it would have.
    const trackers = trackerUrls(options);
    const followed = guarded("own link report", (event: MouseEvent) => {
      const link = event.type === "auxclick" && event.button !== 1 ? null : followedLink(event.target);
      const id = link && clickedTrackingId(link, trackers);
      if (id) void reportViews([id], []);
    });
    for (const type of ["click", "auxclick", "contextmenu"] as const) window.addEventListener(type, followed, { capture: true, signal });
  },
};
