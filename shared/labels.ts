// Event kinds and labels, without zod: the Gmail content script imports these and must stay small.
// shared/api.ts re-exports them for everything else.

export const EVENT_KINDS = ["open", "click"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * Every stored hit carries one label; nothing is deleted for being a machine.
 * - human: a person's client fetched the pixel or followed the link.
 * - gmail-proxy: a real open fetched through Google's image proxy (place and device are Google's).
 * - sender: the sender's own view (reported by the extension, or before the send time).
 * - apple-mpp: Apple Mail Privacy Protection prefetch on delivery.
 * - scanner: a security scanner (HEAD, datacenter network, bot user agent, burst of every link, click right after delivery,
 *   an open from the network of a scanner's click near it).
 * - prefetch: a browser or client speculative fetch (Purpose/Sec-Purpose: prefetch).
 */
export const EVENT_LABELS = ["human", "gmail-proxy", "sender", "apple-mpp", "scanner", "prefetch"] as const;
export type EventLabel = (typeof EVENT_LABELS)[number];
/** Labels that count as a person reading or clicking: counts and notifications use only these. */
export const COUNTED_LABELS: readonly EventLabel[] = ["human", "gmail-proxy"];
/**
 * A hit this close to a sender-view report (`POST /api/views`), before or after it, is the sender's own: the tracker
 * labels it so (worker/src/classify.ts), and the extension reports a view again before its last report stops covering
 * what the view loads (sent-views-report.ts).
 */
export const SENDER_WINDOW_MS = 60_000;
/**
 * A hit of an email not registered yet (its send time and links unknown) waits this long for the registration; then
 * the events feed releases it without a notification (worker/src/classify.ts), so an email that is never registered
 * cannot hold the feed for good. The extension notifies such a hit itself once the email's registration reaches the
 * tracker (background/notifications.ts, FeedPoller.registered).
 */
export const UNREGISTERED_HOLD_MS = 5 * 60_000;

/** What a label means, in the sender's words (conversation panel, popup activity); empty for a person's own client. */
export const LABEL_TEXT: Record<EventLabel, string> = {
  human: "",
  "gmail-proxy": "through Gmail's image proxy (place and device are Google's)",
  sender: "your own view: not counted",
  "apple-mpp": "Apple Mail Privacy Protection loaded it on delivery, read or not: not counted",
  scanner: "a security scanner or bot: not counted",
  prefetch: "a browser or mail client prefetching: not counted",
};
