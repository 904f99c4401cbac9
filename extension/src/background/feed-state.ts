// The feed's stored state (notifications.ts writes it, in parts: feed-storage.ts) and the rules that both the poller
// (notifications.ts) and the corrections of released events (feed-corrections.ts) apply to it: a notification's key and
// words, each key notified once, and the daily totals. Its own module so that neither of them imports the other's.
import type { FeedEvent } from "../../../shared/api";
// Not from shared/api.ts, whose schemas would come with them: the Gmail content script imports notifications.ts (NEWS_KEY).
import { COUNTED_LABELS } from "../../../shared/labels";
import { firstNames, shortUrl, subjectShown } from "../words";

export interface ActivityItem {
  cursor: string;
  messageId: string;
  threadId: string | null;
  subject: string | null;
  /** Names (else addresses) of the email's first recipients. */
  recipients: string[];
  /** Their addresses, in the same order: a deleted contact is taken out by them. Missing in items stored before. */
  addresses?: string[];
  kind: FeedEvent["kind"];
  linkIndex: number | null;
  label: FeedEvent["label"];
  counted: boolean;
  at: string;
  /**
   * Released before its email's registration reached the tracker (`notify: false`): it counts for nothing, whatever a
   * correction makes its label. Missing in items stored before it (releasedUnregistered reads them).
   */
  unregistered?: true;
  /** This event raised its own notification: a correction that stops it counting takes that off the screen. */
  notified?: true;
}

export interface FeedState {
  /** The account (and tracker) the cursor belongs to: another account starts over. */
  account: string;
  /** The feed's cursor: every event up to it was taken. */
  cursor: string;
  /**
   * Cursors of the events after `cursor` already taken from a page's `ahead` (released while an earlier event was
   * still held), ascending: skipped when they come again in `events`, dropped once `cursor` passes them. At most
   * MAX_AHEAD. Missing in states stored before it existed.
   */
  ahead?: string[];
  /**
   * The feed's corrections' cursor (EventsResponse.correctionsCursor): every correction up to it was applied. Missing
   * in states stored before corrections: "0", whose corrections are then applied to the events still in `activity`.
   */
  correctionsCursor?: string;
  /** Keys of what was notified (or deliberately not: muted, too old), as storedNotificationKey, oldest first, bounded. */
  notified: string[];
  /**
   * Keys (as `notified`'s) whose notification a correction withdrew once, which made them notifiable again
   * (applyCorrections, "rearm"): a second withdrawal leaves such a key notified. Oldest first, at most MAX_REARMED.
   * Missing in states stored before it.
   */
  rearmed?: string[];
  /** The summaries shown lately (summaryNote), newest last, at most MAX_SUMMARIES: a correction updates them in place. */
  summaries?: ShownSummary[];
  /**
   * How each event that fell off `activity` counted in the daily totals, by cursor: whether it counts and its day
   * (dayKey), so a correction of it moves the right day the right way (applyCorrections). What the extension itself
   * counted, whenever it read the event. At most MAX_COUNTED_PAST, the newest; none released before its email's
   * registration (it counts for nothing, whatever a correction says). Missing in states stored before it.
   */
  countedByCursor?: Record<string, { counted: boolean; day: string }>;
  /** Newest first, bounded. */
  activity: ActivityItem[];
  /** Counted opens and clicks per local day ("2026-11-22"), the last few weeks. */
  days: Record<string, { opens: number; clicks: number }>;
  /**
   * When this state was created (ms): events older than this minus NEWS_WINDOW_MS are history, never notified,
   * however many polls it takes to read them. Missing in states stored before it existed (set at the next poll).
   */
  newsAfter?: number;
}

/**
 * A summary notification as it was shown: its key (and messageId) name its notification, which an update replaces;
 * each of its events by its key (storedNotificationKey), kind and subject (an index into `subjects`, which a summary
 * of one mail-merge shares).
 */
export interface ShownSummary {
  key: string;
  messageId: string;
  subjects: string[];
  notes: { key: string; open: boolean; subject: number }[];
}

export interface Note {
  key: string;
  threadId: string | null;
  messageId: string;
  title: string;
  message: string;
  /** The email's subject as shown ("(no subject)" for none): a summary of several notes names them by it. */
  subject?: string;
}

/**
 * Notified keys kept: past this, an email notified about longer ago (a re-open of an old email) would notify as new.
 * At 2,000 full keys a rep with fifty tracked emails a day reached it in about three months.
 */
export const MAX_NOTIFIED = 10_000;
/** The daily totals kept: the last few weeks. */
export const MAX_DAYS = 35;
/** Events older than this before the account's feed state was created are history, not news: recorded, never notified. */
export const NEWS_WINDOW_MS = 60 * 60_000;

export function dayKey(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function notificationKey(event: Pick<FeedEvent, "kind" | "messageId" | "linkIndex">): string {
  return event.kind === "open" ? `open:${event.messageId}` : `click:${event.messageId}:${event.linkIndex ?? 0}`;
}

function fnv1a(text: string, seed: number): string {
  let hash = seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/**
 * A notification key as the state keeps it: 64 bits of FNV-1a (two 32-bit lanes) in 16 hex digits instead of the
 * 80-odd characters of the key, so five times as many fit in about the room 2,000 keys took in the state the poller
 * writes whole. Two keys alike by chance would cost one notification. Keys stored whole by an earlier version are
 * read as their hash.
 */
export function storedNotificationKey(key: string): string {
  return /^[0-9a-f]{16}$/.test(key) ? key : fnv1a(key, 0x811c9dc5) + fnv1a(key, 0x5bd1e995);
}

/** Past this, a clicked link's host and path would crowd the subject and recipients out of a notification's few lines. */
const NOTE_LINK_CHARS = 40;

/**
 * What a note calls the clicked link: its destination, shortened. Never its index: that is the order the links were
 * signed while the rep wrote the email, not their place in it, and means nothing to the rep. A tracker older than
 * `linkUrl` (or a link its email did not register) gives no destination: "a link".
 */
function clickedLink(event: FeedEvent): string {
  return event.linkUrl ? shortUrl(event.linkUrl, NOTE_LINK_CHARS) : "a link";
}

/**
 * A note's words for an open or a click. On an email to several people it says whom the email went to, not who opened
 * or clicked: the email's one pixel and its links are the same for every recipient, so the tracker cannot tell which of
 * them it was (the dashboard says "someone on this email" too). The recipient of a one-recipient email is named.
 */
function noteMessage(event: FeedEvent, subject: string): string {
  const names = event.recipients.map((r) => r.name || r.email);
  const link = clickedLink(event);
  if (names.length > 1) {
    return `Someone on “${subject}” (to ${firstNames(names)}) ${event.kind === "open" ? "opened it" : `clicked ${link}`}.`;
  }
  const who = names[0] ?? "Someone";
  return event.kind === "open" ? `${who} opened “${subject}”.` : `${who} clicked ${link} in “${subject}”.`;
}

export function noteFor(event: FeedEvent): Note {
  const subject = subjectShown(event.subject);
  return {
    key: notificationKey(event),
    threadId: event.threadId,
    messageId: event.messageId,
    subject,
    title: event.kind === "open" ? `Opened: ${subject}` : `Link clicked: ${subject}`,
    message: noteMessage(event, subject),
  };
}

/**
 * The note of an event not notified before, its key added to `notified` and `order` (kept in the order notified);
 * null when it was notified before, or is not to be shown (muted, or history older than the state: newsAfter).
 */
export function noteOnce(
  event: FeedEvent,
  keys: { notified: Set<string>; order: string[] },
  state: FeedState,
  options: { muted: boolean; newsSince?: number },
): Note | null {
  const key = storedNotificationKey(notificationKey(event));
  if (keys.notified.has(key)) return null;
  keys.notified.add(key);
  keys.order.push(key);
  const at = Date.parse(event.at);
  const newsAfter = Math.max(state.newsAfter ?? Number.NEGATIVE_INFINITY, options.newsSince ?? Number.NEGATIVE_INFINITY);
  const old = Number.isFinite(newsAfter) && Number.isFinite(at) && at < newsAfter - NEWS_WINDOW_MS;
  return options.muted || old ? null : noteFor(event);
}

/** Events past the activity whose counting the state keeps (countedByCursor): a correction past them is left alone. */
export const MAX_COUNTED_PAST = 1_000;

/** The local day whose totals an item counts in: its own, or today's for a time that cannot be read. */
function totalsDay(item: Pick<ActivityItem, "at">, now: number): string {
  const at = Date.parse(item.at);
  return dayKey(Number.isFinite(at) ? at : now);
}

/** Counts an item's open or click in (`by` 1) or out of (-1) the totals of its local day; never below 0. */
export function addToTotals(days: FeedState["days"], item: Pick<ActivityItem, "kind" | "at">, by: 1 | -1, now: number): void {
  addToDay(days, totalsDay(item, now), item.kind, by);
}

/** Counts an open or click in (`by` 1) or out of (-1) the totals of `day`; never below 0. */
export function addToDay(days: FeedState["days"], day: string, kind: ActivityItem["kind"], by: 1 | -1): void {
  const totals = { opens: 0, clicks: 0, ...days[day] };
  if (by < 0 && !days[day]) return; // a day past MAX_DAYS, no longer kept
  if (kind === "open") totals.opens = Math.max(0, totals.opens + by);
  else totals.clicks = Math.max(0, totals.clicks + by);
  days[day] = totals;
}

/**
 * Whether an event or an item was released before its email's registration, so counts for nothing
 * (ActivityItem.unregistered, FeedEvent.registered). One from a tracker older than `registered`, or stored before the
 * flag, says so when it has a person's label and is not counted; with another label, it is taken for registered.
 */
export function releasedUnregistered(item: Pick<ActivityItem, "label" | "counted" | "unregistered"> & { registered?: boolean }): boolean {
  if (item.unregistered || item.registered === false) return true;
  return item.registered === undefined && !item.counted && COUNTED_LABELS.includes(item.label);
}

/**
 * `countedByCursor` with the items that fell off the activity added: how each counted, and on which day. One released
 * before its email's registration is not kept, as no correction makes it count.
 */
export function rememberCounting(
  counting: FeedState["countedByCursor"],
  fallen: readonly ActivityItem[],
  now: number,
): FeedState["countedByCursor"] {
  const kept = fallen.filter((item) => !releasedUnregistered(item));
  if (kept.length === 0) return counting;
  const next = { ...counting };
  for (const item of kept) next[item.cursor] = { counted: item.counted, day: totalsDay(item, now) };
  // Integer-like keys come in ascending order: the newest events' are the last.
  return Object.fromEntries(Object.entries(next).slice(-MAX_COUNTED_PAST));
}

/** Whether feed cursor `a` comes after `b` (decimal seqs, as the tracker answers them). */
export function cursorAfter(a: string, b: string): boolean {
  return Number(a) > Number(b);
}
