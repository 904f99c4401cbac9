// The events feed poller behind desktop notifications and the popup's activity. It keeps its cursor, the events it
// took ahead of it, what it already notified, the recent activity and the daily totals in ONE storage key written in
// one set, before any notification is shown: a restart (or a killed service worker) resumes from the stored cursor,
// so no event is skipped, and nothing is ever notified or counted twice. The feed's corrections (an event released
// before a hit written late changed its label) are applied in the same write, behind their own cursor.
import type { EventsResponse, FeedCorrection, FeedEvent, MessageDetail, MessageStatus } from "../../../shared/api";
// Not from shared/api.ts, whose schemas would come with them: the Gmail content script imports this module (NEWS_KEY).
import { COUNTED_LABELS, UNREGISTERED_HOLD_MS } from "../../../shared/labels";
import { DEFAULT_GMAIL_ACCOUNT, type GmailAccount } from "../gmail-ids";
import { counted, firstNames, shortUrl, subjectShown } from "../words";
import { type DeletedContact, withoutContact } from "./deleted-contact";
import type { KeyValueArea } from "./outbox";

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
   * Events past `activity` and corrected: whether each counts now, by cursor (applyCorrections). At most
   * MAX_CORRECTED, the newest. Missing in states stored before it.
   */
  corrected?: Record<string, boolean>;
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

export const FEED_KEY = "feed";
/** Written by the poller (in its one write) and by the background after other news: `{at, threadIds}`; Gmail tabs refresh those threads. */
export const NEWS_KEY = "feedNews";
export const MAX_ACTIVITY = 200;
/**
 * Notified keys kept: past this, an email notified about longer ago (a re-open of an old email) would notify as new.
 * At 2,000 full keys a rep with fifty tracked emails a day reached it in about three months.
 */
export const MAX_NOTIFIED = 10_000;
/**
 * At most this many events taken ahead of the cursor: the most one page can hold (eventsQuery's limit), and a page
 * only holds events among the `limit` after the cursor. Past it (deleted events between can make room for more),
 * further ones wait for `events`: later, never twice.
 */
export const MAX_AHEAD = 500;
const MAX_DAYS = 35;
const FEED_PAGE = 100;
/** At most this many pages per poll; the next poll goes on from the stored cursor. */
const MAX_PAGES = 10;
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

/**
 * A notification's id, which carries what its click needs after the background restarted:
 * "mt|<thread>|<key>|<account path>|<address>". None of them holds a "|": the key is the note's ("open:<tracking id>",
 * "remind:<tracking id>", …), the address a title's (titleAddress).
 */
export function notificationId(note: { threadId: string | null; key: string }, account: GmailAccount): string {
  return `mt|${note.threadId ?? ""}|${note.key}|${account.path}|${account.address ?? ""}`;
}

/**
 * The thread and the account a notification's id names, or null for another notification's. Ids of notifications
 * shown before the account, or its address, was kept name the first account, or the account's path alone.
 */
export function notificationTarget(id: string): { threadId: string | null; account: GmailAccount } | null {
  if (!id.startsWith("mt|")) return null;
  const [, threadId, , path, address] = id.split("|");
  return { threadId: threadId || null, account: path ? { path, address: address || null } : DEFAULT_GMAIL_ACCOUNT };
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
 * More notes than this from one poll are shown as one summary (summaryNote). A poll after the browser was closed over
 * a weekend, or a minute in which a mail-merge's emails are opened, can bring dozens of first opens: dozens of
 * desktop notifications, stacked, are read by nobody and bury everything else on the rep's screen.
 */
export const MAX_SEPARATE_NOTES = 3;

/**
 * One notification for many: how many emails were opened and links clicked, and the newest emails' subjects. It
 * names no thread, so a click on it opens the Sent list, where each email's mark tells the rest; the popup lists each
 * event. `notes` are in the order the feed gave them, oldest first, and hold at least one.
 */
export function summaryNote(notes: readonly Note[]): Note {
  const newest = notes.at(-1) as Note;
  return {
    key: `summary:${notes.length}:${newest.key}`,
    threadId: null,
    messageId: newest.messageId,
    ...summaryWords(notes.map((note) => ({ open: note.key.startsWith("open:"), subject: subjectShown(note.subject) }))),
  };
}

/** A summary's title and message for its events, oldest first. */
function summaryWords(events: readonly { open: boolean; subject: string }[]): Pick<Note, "title" | "message"> {
  const opens = events.filter((event) => event.open).length;
  const clicks = events.length - opens;
  const subjects = [...new Set(events.map((event) => event.subject).reverse())];
  const named = subjects
    .slice(0, 2)
    .map((subject) => `“${subject}”`)
    .join(", ");
  const parts = [
    opens > 0 ? counted(opens, "email opened", "emails opened") : "",
    clicks > 0 ? counted(clicks, "link clicked", "links clicked") : "",
  ];
  return {
    title: parts.filter(Boolean).join(", "),
    message: subjects.length > 2 ? `${named} and ${counted(subjects.length - 2, "other email")}.` : `${named}.`,
  };
}

/** The notes of one poll as they are shown: each on its own, or one summary when there are too many. */
export function notesToShow(notes: Note[]): Note[] {
  return notes.length > MAX_SEPARATE_NOTES ? [summaryNote(notes)] : notes;
}

/** Summaries kept for their corrections: one a day's polls were long ago moved off the screen. */
export const MAX_SUMMARIES = 5;

/**
 * The notes of one poll as they are shown (notesToShow), and the state keeping the summary among them, if any, for
 * corrections to update: to be written before it is shown, as the poll writes.
 */
export function showNotes(state: FeedState, notes: Note[]): { state: FeedState; shown: Note[] } {
  const shown = notesToShow(notes);
  const summary = shown.length === 1 && notes.length > MAX_SEPARATE_NOTES ? shown[0] : undefined;
  if (!summary) return { state, shown };
  const subjects = [...new Set(notes.map((note) => subjectShown(note.subject)))];
  const kept: ShownSummary = {
    key: summary.key,
    messageId: summary.messageId,
    subjects,
    notes: notes.map((note) => ({
      key: storedNotificationKey(note.key),
      open: note.key.startsWith("open:"),
      subject: subjects.indexOf(subjectShown(note.subject)),
    })),
  };
  return { state: { ...state, summaries: [...(state.summaries ?? []), kept].slice(-MAX_SUMMARIES) }, shown };
}

/** A summary's notification as it is now, under the key (so the id) it was shown with. */
function summaryShown(summary: ShownSummary): Note {
  const words = summaryWords(summary.notes.map((note) => ({ open: note.open, subject: summary.subjects[note.subject] ?? "" })));
  return { key: summary.key, threadId: null, messageId: summary.messageId, ...words };
}

/**
 * The note of an event not notified before, its key added to `notified` and `order` (kept in the order notified);
 * null when it was notified before, or is not to be shown (muted, or history older than the state: newsAfter).
 */
function noteOnce(
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

/**
 * Folds new events into the state: which events deserve a notification (the first counted open of a message, the
 * first counted click of each link; never sender or machine events, never a re-open), the activity and the daily
 * totals. The cursor is left to applyPage. Pure: the caller persists and shows.
 */
export function applyEvents(
  state: FeedState,
  events: FeedEvent[],
  options: { muted: boolean; now: number },
): { state: FeedState; notes: Note[] } {
  const order = state.notified.map(storedNotificationKey);
  const keys = { notified: new Set(order), order };
  const activity = [...state.activity];
  const days = { ...state.days };
  const notes: Note[] = [];
  for (const event of events) {
    const item: ActivityItem = {
      cursor: event.cursor,
      messageId: event.messageId,
      threadId: event.threadId,
      subject: event.subject,
      recipients: event.recipients.slice(0, 5).map((r) => r.name || r.email),
      addresses: event.recipients.slice(0, 5).map((r) => r.email),
      kind: event.kind,
      linkIndex: event.linkIndex,
      label: event.label,
      counted: event.counted,
      at: event.at,
      ...(releasedUnregistered(event) ? { unregistered: true as const } : {}),
    };
    activity.unshift(item);
    if (!event.counted) continue;
    addToTotals(days, item, 1, options.now);
    // Only what the tracker released with its label final may notify (a tracker older than `notify`: `counted`).
    if (event.notify === false) continue;
    const note = noteOnce(event, keys, state, options);
    if (note) {
      notes.push(note);
      item.notified = true;
    }
  }
  const keptDays = Object.keys(days).sort().slice(-MAX_DAYS);
  return {
    state: {
      ...state,
      notified: order.slice(-MAX_NOTIFIED),
      activity: activity.slice(0, MAX_ACTIVITY),
      days: Object.fromEntries(keptDays.map((d) => [d, days[d] as { opens: number; clicks: number }])),
    },
    notes,
  };
}

/** Whether the totals may hold the day of `at`: one older than all MAX_DAYS kept is gone, and is not made again. */
function dayKept(days: FeedState["days"], at: string): boolean {
  const kept = Object.keys(days).sort();
  const time = Date.parse(at);
  return Number.isFinite(time) && (kept.length < MAX_DAYS || dayKey(time) >= (kept[0] as string));
}

/** Counts an item's open or click in (`by` 1) or out of (-1) the totals of its local day; never below 0. */
function addToTotals(days: FeedState["days"], item: Pick<ActivityItem, "kind" | "at">, by: 1 | -1, now: number): void {
  const at = Date.parse(item.at);
  const day = dayKey(Number.isFinite(at) ? at : now);
  const totals = { opens: 0, clicks: 0, ...days[day] };
  if (by < 0 && !days[day]) return; // a day past MAX_DAYS, no longer kept
  if (item.kind === "open") totals.opens = Math.max(0, totals.opens + by);
  else totals.clicks = Math.max(0, totals.clicks + by);
  days[day] = totals;
}

/**
 * Whether an event or an item was released before its email's registration, so counts for nothing
 * (ActivityItem.unregistered, FeedEvent.registered). One from a tracker older than `registered`, or stored before the
 * flag, says so when it has a person's label and is not counted; with another label, it is taken for registered.
 */
function releasedUnregistered(item: Pick<ActivityItem, "label" | "counted" | "unregistered"> & { registered?: boolean }): boolean {
  if (item.unregistered || item.registered === false) return true;
  return item.registered === undefined && !item.counted && COUNTED_LABELS.includes(item.label);
}

/** A notification to take off the screen: its note's key and what names its id (notificationId). */
export type Withdrawal = Pick<Note, "key" | "threadId" | "messageId">;

/** Keys kept in `rearmed`: a key withdrawn longer ago than this many withdrawals may notify a third time. */
export const MAX_REARMED = 1_000;
/** Events whose counting a correction set, kept in `corrected` (the newest, by cursor): corrections are rare. */
export const MAX_CORRECTED = 1_000;

/**
 * Folds the feed's corrections into the state: each changes the label of an event in `activity` to the one it has now
 * on the tracker, and its counting with it. One that starts counting is added to its day's totals, and may notify as a
 * new event may (the first counted open of the email or click of the link, not muted, not before the news window:
 * NEWS_WINDOW_MS before now, or before the state was created); one that stops counting is taken out of them, and if
 * it raised a notification of its own, that is withdrawn, or, shown in a summary, the summary is updated in place
 * (`updated`) or withdrawn when nothing it counted counts any more.
 *
 * A key withdrawn so is notifiable again ("rearm"), once: else the reader's real open after a scanner's withdrawn one
 * would never be notified. An event of that key the state already counted (taken before, or in the same page before
 * the correction) is notified at once in its place, as the first real one. A key withdrawn a second time stays
 * notified: an event relabelled back and forth (each late hit can flip it) shows and takes off at most two
 * notifications, not a stream. Never two for one key at once: the poll withdraws before it shows.
 *
 * A correction of an event not in `activity` that the state took (its cursor at or before the state's, or taken
 * ahead) moves only the day's totals, when the tracker says how the feed released the event (FeedCorrection.released,
 * from migration 0026): its counting then was that, or the one the last correction applied set (`corrected`, kept for
 * MAX_CORRECTED events); a total never goes below 0, and a day no longer kept is not made again. It notifies and
 * withdraws nothing: without its item, what it notified cannot be told. A correction without `released` (a tracker
 * older, a correction written before) changes nothing there. One not taken yet changes nothing: it comes in the feed
 * with its new label. Applying a correction again changes nothing. Pure: the caller persists, shows and withdraws.
 */
export function applyCorrections(
  state: FeedState,
  corrections: readonly FeedCorrection[],
  options: { muted: boolean; now: number },
): { state: FeedState; notes: Note[]; withdrawn: Withdrawal[]; updated: Note[]; corrected: ActivityItem[] } {
  const order = state.notified.map(storedNotificationKey);
  const keys = { notified: new Set(order), order };
  const rearmed = [...(state.rearmed ?? [])];
  const activity = [...state.activity];
  const days = { ...state.days };
  const countedNow = { ...state.corrected };
  const summaries = (state.summaries ?? []).map((summary) => ({ ...summary, notes: [...summary.notes] }));
  const changedSummaries = new Set<ShownSummary>();
  const taken = new Set(state.ahead ?? []);
  const notes: Note[] = [];
  const withdrawn: Withdrawal[] = [];
  const corrected: ActivityItem[] = [];
  /** The item at `index` notified, and no longer counts: its notification goes, and its key may notify again. */
  const withdraw = (item: ActivityItem, index: number) => {
    const key = storedNotificationKey(notificationKey(item));
    const summary = summaries.find((shown) => shown.notes.some((note) => note.key === key));
    if (summary) {
      summary.notes = summary.notes.filter((note) => note.key !== key);
      changedSummaries.add(summary);
    } else withdrawn.push({ key: notificationKey(item), threadId: item.threadId, messageId: item.messageId });
    if (rearmed.includes(key)) return;
    rearmed.push(key);
    if (keys.notified.delete(key)) keys.order.splice(keys.order.indexOf(key), 1);
    // The oldest counted event of the key but this one, if the state has it: the first real one.
    const heir = activity.findLast(
      (other, at) => at !== index && other.counted && !releasedUnregistered(other) && notificationKey(other) === notificationKey(item),
    );
    if (!heir) return;
    const note = noteOnce(itemEvent(heir), keys, state, { ...options, newsSince: options.now });
    if (note) {
      notes.push(note);
      activity[activity.indexOf(heir)] = { ...heir, notified: true };
    }
  };
  for (const { event, released } of corrections) {
    const index = activity.findIndex((item) => item.cursor === event.cursor);
    const item = activity[index];
    if (!item) {
      const isTaken = !cursorAfter(event.cursor, state.cursor) || taken.has(event.cursor);
      if (!isTaken || !released) continue;
      const was = countedNow[event.cursor] ?? (released.registered && COUNTED_LABELS.includes(released.label));
      const counts = released.registered && event.counted;
      if (was !== counts && dayKept(days, event.at)) addToTotals(days, event, counts ? 1 : -1, options.now);
      countedNow[event.cursor] = counts;
      continue;
    }
    const counts = event.counted && !releasedUnregistered(item);
    countedNow[event.cursor] = counts;
    if (item.label === event.label && item.counted === counts) continue;
    const next: ActivityItem = { ...item, label: event.label, counted: counts };
    if (releasedUnregistered(item)) next.unregistered = true;
    activity[index] = next;
    corrected.push(next);
    if (counts && !item.counted) {
      addToTotals(days, item, 1, options.now);
      const note = event.notify === false ? null : noteOnce(event, keys, state, { ...options, newsSince: options.now });
      if (note) {
        notes.push(note);
        next.notified = true;
      }
    } else if (!counts && item.counted) {
      addToTotals(days, item, -1, options.now);
      if (item.notified) {
        delete next.notified;
        withdraw(item, index);
      }
    }
  }
  const updated: Note[] = [];
  for (const summary of changedSummaries) {
    if (summary.notes.length > 0) updated.push(summaryShown(summary));
    else withdrawn.push({ key: summary.key, threadId: null, messageId: summary.messageId });
  }
  const keptDays = Object.keys(days).sort().slice(-MAX_DAYS);
  // Integer-like keys come in ascending order: the newest events' are the last.
  const keptCorrected = Object.entries(countedNow).slice(-MAX_CORRECTED);
  return {
    state: {
      ...state,
      notified: order.slice(-MAX_NOTIFIED),
      ...(rearmed.length > 0 ? { rearmed: rearmed.slice(-MAX_REARMED) } : {}),
      ...(summaries.length > 0 ? { summaries: summaries.filter((summary) => summary.notes.length > 0) } : {}),
      ...(keptCorrected.length > 0 ? { corrected: Object.fromEntries(keptCorrected) } : {}),
      activity,
      days: Object.fromEntries(keptDays.map((d) => [d, days[d] as { opens: number; clicks: number }])),
    },
    notes,
    withdrawn,
    updated,
    corrected,
  };
}

/** An item as the feed gave its event, for a note: what the item keeps of it (no link destination: "a link"). */
function itemEvent(item: ActivityItem): FeedEvent {
  const recipients = item.recipients.map((name, i) => ({ name, email: item.addresses?.[i] ?? name }));
  return { ...item, recipients, linkUrl: null, notify: true };
}

/**
 * The hits of an email that the feed released before its registration reached the tracker (UNREGISTERED_HOLD_MS
 * after them, by `registeredAt`), as the feed would have given them with the registration in time: its first counted
 * open and each link's first counted click, to notify. The feed gave them with `notify` false and its cursor is past
 * them; later hits it held for the registration, and it notifies those itself. Read from the email's detail after the
 * registration, which the tracker relabelled the email's hits by before answering: labels final, and the hits it
 * dropped (tracking off, an opt-out) gone.
 */
export function releasedBeforeRegistration(detail: MessageDetail, registeredAt: number): FeedEvent[] {
  const released = (at: string) => Date.parse(at) + UNREGISTERED_HOLD_MS <= registeredAt;
  const first = (times: string[]) => times.filter(released).sort()[0];
  const event = (at: string, link: { index: number; url: string } | null): FeedEvent => ({
    cursor: "",
    messageId: detail.id,
    threadId: detail.threadId,
    subject: detail.subject,
    recipients: detail.recipients,
    kind: link ? "click" : "open",
    linkIndex: link?.index ?? null,
    linkUrl: link?.url ?? null,
    label: "human",
    counted: true,
    notify: true,
    at,
  });
  const open = first(detail.opens.filter((o) => COUNTED_LABELS.includes(o.label)).map((o) => o.at));
  const clicks = detail.links.flatMap((link) => {
    const at = first(link.clickTimes);
    return at ? [event(at, link)] : [];
  });
  return [...(open ? [event(open, null)] : []), ...clicks];
}

/**
 * Notes for hits the feed gave without a notification (releasedBeforeRegistration), each key once, as applyEvents
 * notifies: one notified already (the feed gave it again, registered, before this) is not notified again. Neither the
 * activity nor the daily totals change: the feed's own delivery of each hit is there already, or still to come.
 */
export function applyLateEvents(state: FeedState, events: FeedEvent[], options: { muted: boolean }): { state: FeedState; notes: Note[] } {
  const order = state.notified.map(storedNotificationKey);
  const keys = { notified: new Set(order), order };
  const notes = events.flatMap((event) => noteOnce(event, keys, state, options) ?? []);
  return { state: { ...state, notified: order.slice(-MAX_NOTIFIED) }, notes };
}

/**
 * The state without what it keeps of a message whose data the rep deleted on the tracker: its activity, and what
 * those events added to the daily totals (older ones, past the activity's bound, cannot be told apart any more).
 */
export function withoutMessage(state: FeedState, messageId: string): FeedState {
  const days = { ...state.days };
  for (const item of state.activity) {
    if (item.messageId !== messageId || !item.counted) continue;
    const at = Date.parse(item.at);
    const key = Number.isFinite(at) ? dayKey(at) : "";
    const day = days[key];
    if (!day) continue;
    days[key] = item.kind === "open" ? { ...day, opens: Math.max(0, day.opens - 1) } : { ...day, clicks: Math.max(0, day.clicks - 1) };
  }
  return { ...state, activity: state.activity.filter((item) => item.messageId !== messageId), days };
}

/**
 * The state without a contact the rep deleted on the tracker: the emails sent only to it go as withoutMessage takes
 * them, and it is taken off the others' activity (their events stay, as on the tracker: "someone on this email").
 */
export function withoutContactActivity(state: FeedState, contact: DeletedContact): FeedState {
  const only = state.activity.filter((item) => withoutContact(item, contact) === null).map((item) => item.messageId);
  let next = state;
  for (const messageId of new Set(only)) next = withoutMessage(next, messageId);
  return { ...next, activity: next.activity.map((item) => withoutContact(item, contact) ?? item) };
}

/** Whether feed cursor `a` comes after `b` (decimal seqs, as the tracker answers them). */
function cursorAfter(a: string, b: string): boolean {
  return Number(a) > Number(b);
}

/**
 * Folds one answer of the feed into the state: its `events` (the released prefix) but those already taken ahead,
 * then its `ahead` not taken yet, while there is room; the cursor moves to the answer's, and what was taken ahead
 * and is now behind it is forgotten. `fresh` is what was new, in the order applied. Then its corrections
 * (applyCorrections), after the events it brings, and their cursor moves; an answer without them (a tracker older than
 * corrections) leaves that cursor.
 */
export function applyPage(
  state: FeedState,
  page: Pick<EventsResponse, "events" | "ahead" | "cursor" | "corrections" | "correctionsCursor">,
  options: { muted: boolean; now: number },
): { state: FeedState; notes: Note[]; fresh: FeedEvent[]; withdrawn: Withdrawal[]; updated: Note[]; corrected: ActivityItem[] } {
  const taken = new Set(state.ahead ?? []);
  const fresh = page.events.filter((event) => !taken.has(event.cursor));
  for (const event of page.ahead ?? []) {
    if (taken.has(event.cursor) || taken.size >= MAX_AHEAD || !cursorAfter(event.cursor, page.cursor)) continue;
    taken.add(event.cursor);
    fresh.push(event);
  }
  const applied = applyEvents(state, fresh, options);
  const ahead = [...taken].filter((cursor) => cursorAfter(cursor, page.cursor)).sort((a, b) => Number(a) - Number(b));
  // With the cursor moved: a correction of an event this page brought is of an event taken.
  const corrections = applyCorrections({ ...applied.state, cursor: page.cursor, ahead }, page.corrections ?? [], options);
  const correctionsCursor = page.correctionsCursor ?? state.correctionsCursor;
  return {
    state: { ...corrections.state, ...(correctionsCursor === undefined ? {} : { correctionsCursor }) },
    notes: [...applied.notes, ...corrections.notes],
    fresh,
    withdrawn: corrections.withdrawn,
    updated: corrections.updated,
    corrected: corrections.corrected,
  };
}

/** A new account's state; `newsAfter` (now, when polling) keeps its older history from being notified. */
export function emptyFeedState(account: string, newsAfter?: number): FeedState {
  return { account, cursor: "0", notified: [], activity: [], days: {}, ...(newsAfter === undefined ? {} : { newsAfter }) };
}

export async function readFeedState(area: KeyValueArea, account: string | null): Promise<FeedState | null> {
  const stored = (await area.get(FEED_KEY))[FEED_KEY] as FeedState | undefined;
  if (!stored || typeof stored !== "object" || typeof stored.cursor !== "string") return null;
  return account === null || stored.account === account ? stored : null;
}

export interface PollerDeps {
  area: KeyValueArea;
  /** The connected account ("<trackerUrl> <accountId>"), or null when not connected. */
  account: () => Promise<string | null>;
  /** The feed after `after`, and its corrections after `correctionsAfter` (a tracker older than them answers none). */
  fetchEvents: (
    after: string,
    limit: number,
    correctionsAfter: string,
  ) => Promise<Pick<EventsResponse, "events" | "ahead" | "cursor" | "nextAt" | "corrections" | "correctionsCursor">>;
  muted: () => Promise<boolean>;
  show: (note: Note) => Promise<void>;
  /** Takes a notification shown before off the screen, if it is still there (a correction stopped its event counting). */
  withdraw?: (note: Withdrawal) => Promise<void>;
  /**
   * Replaces a notification shown before (same key and messageId, so the same id) with the note's words, only if it
   * is still on the screen: a summary a correction changed the count of.
   */
  update?: (note: Note) => Promise<void>;
  /**
   * Threads the feed brought news for, just before the poll stores them (with NEWS_KEY, which the Gmail tabs watch
   * to refresh their Sent list marks): drop what is cached about them.
   */
  news: (threadIds: string[]) => void;
  /**
   * The feed holds an event back until this time (ms) and releases it then: poll again at that moment rather than
   * at the next minute (index.ts: a timer while the background lives, and an alarm that outlives it).
   */
  pollAt: (at: number) => void;
  /** An email's detail, as the tracker answers it: a late registration's hits are read from it (FeedPoller.registered). */
  detail?: (messageId: string) => Promise<MessageDetail>;
  /** The tracker answered the feed: what waits for it to answer again (the outbox's backoff) may go now. */
  answered?: () => void;
  now?: () => number;
}

/**
 * When to poll again for what the feed answered it still holds (its `nextAt`), or null when it holds nothing. A
 * time already past by this clock (the tracker's clock is ahead) is retried a poll gap later, not answered from the
 * poll that just ran.
 */
export function followUpAt(nextAt: string | null | undefined, now: number): number | null {
  const at = nextAt ? Date.parse(nextAt) : Number.NaN;
  return Number.isFinite(at) ? Math.max(at, now + MIN_POLL_GAP_MS) : null;
}

/** A change to the state (a deletion, a late registration's notes), made by the next poll in its one write. */
type StateChange = (state: FeedState, options: { muted: boolean }) => { state: FeedState; notes: Note[] };

/** A poll this soon after the last one answers from it, without asking the tracker (focus, popup and alarm all poll). */
export const MIN_POLL_GAP_MS = 3_000;

export class FeedPoller {
  /** The last poll, and when it settled (null while it runs): all a caller needs to join it or be answered by it. */
  private last: { run: Promise<number>; settledAt: number | null } | null = null;
  /**
   * What the rep deleted (a message's data, a contact), for the next poll to take out of the state, and the notes of a
   * late registration's hits, for it to notify: in its one write.
   */
  private readonly changes = new Map<string, StateChange>();

  constructor(private readonly deps: PollerDeps) {}

  /**
   * Takes a message whose data the rep deleted on the tracker out of what the extension keeps (withoutMessage), in a
   * poll of its own after the one running, so the state is written by one poll at a time.
   */
  forget(messageId: string): Promise<void> {
    return this.change(`message ${messageId}`, (state) => ({ state: withoutMessage(state, messageId), notes: [] }));
  }

  /** Takes a contact the rep deleted on the tracker out of the activity (withoutContactActivity), as forget does. */
  forgetContact(contact: DeletedContact): Promise<void> {
    return this.change(`contact ${contact.email}`, (state) => ({ state: withoutContactActivity(state, contact), notes: [] }));
  }

  /**
   * The outbox delivered an email's registration (delivery.ts), queued at `queuedAt`, and the tracker answered its
   * counts (`status`). One that reached the tracker more than UNREGISTERED_HOLD_MS after the send may come after hits
   * the feed released without a notification, and never gives again: those are notified now from the email's detail
   * (releasedBeforeRegistration), in a poll as forget's change is, each only if not notified before. Else the rep
   * would never hear of the first open the Sent list and the dashboard show.
   */
  async registered(messageId: string, queuedAt: number, status: Pick<MessageStatus, "openCount" | "clickCount">): Promise<void> {
    const registeredAt = (this.deps.now ?? Date.now)();
    const late = registeredAt - queuedAt >= UNREGISTERED_HOLD_MS;
    if (!late || !this.deps.detail || !(status.openCount > 0 || status.clickCount > 0)) return;
    const events = releasedBeforeRegistration(await this.deps.detail(messageId), registeredAt);
    if (events.length > 0) await this.change(`registered ${messageId}`, (state, options) => applyLateEvents(state, events, options));
  }

  private async change(key: string, change: StateChange): Promise<void> {
    this.changes.set(key, change);
    // A poll running now may have read `changes` before this call: its end is awaited, and if it did not take the
    // change, a poll started since (another change's, which takes this one too) or a new one does. Never a second
    // poll beside a running one: both would read the same state and notify the same events twice.
    for (let turn = 0; turn < 2 && this.changes.get(key) === change; turn++) {
      const last = this.last;
      if (last?.settledAt === null) {
        await last.run.catch(() => undefined);
        continue;
      }
      this.last = null;
      await this.poll().catch(() => undefined); // taken out even when the tracker does not answer (pollOnce)
    }
  }

  /**
   * Polls once; a call while a poll runs joins it, and a call within MIN_POLL_GAP_MS of the last poll's end answers
   * with its outcome (0 new events, or its error) without a request. Resolves with the number of new events taken.
   */
  poll(): Promise<number> {
    const now = this.deps.now ?? Date.now;
    const last = this.last;
    if (last?.settledAt === null) return last.run;
    if (last && now() - last.settledAt < MIN_POLL_GAP_MS) return last.run.then(() => 0);
    const current: { run: Promise<number>; settledAt: number | null } = { run: this.pollOnce(), settledAt: null };
    const settle = () => {
      current.settledAt = now();
    };
    current.run.then(settle, settle);
    this.last = current;
    return current.run;
  }

  private async pollOnce(): Promise<number> {
    const deps = this.deps;
    const now = deps.now ?? Date.now;
    const account = await deps.account();
    if (!account) return 0;
    const stored = await readFeedState(deps.area, account);
    const created = stored === null || stored.newsAfter === undefined;
    let state = stored ? { ...stored, newsAfter: stored.newsAfter ?? now() } : emptyFeedState(account, now());
    const muted = await deps.muted();
    const notes: Note[] = [];
    const withdrawn: Withdrawal[] = [];
    const updated = new Map<string, Note>();
    const threads = new Set<string>();
    let read = 0;
    let failure: { error: unknown } | null = null;
    let followUp: number | null = null;
    let answered = false;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await deps.fetchEvents(state.cursor, FEED_PAGE, state.correctionsCursor ?? "0");
        answered = true;
        followUp = followUpAt(answer.nextAt, now());
        const applied = applyPage(state, answer, { muted, now: now() });
        state = applied.state;
        notes.push(...applied.notes);
        withdrawn.push(...applied.withdrawn);
        // A summary corrected on two pages: its last words.
        for (const note of applied.updated) updated.set(note.key, note);
        read += applied.fresh.length;
        for (const event of [...applied.fresh, ...applied.corrected]) if (event.threadId) threads.add(event.threadId);
        // A short prefix: the rest is held (what the page had ahead of it is taken) or not there yet; likewise the
        // corrections.
        if (answer.events.length < FEED_PAGE && (answer.corrections?.length ?? 0) < FEED_PAGE) break;
      }
    } catch (error) {
      // The pages read before the failure are kept (below); the next poll goes on from there.
      failure = { error };
    }
    const changes = [...this.changes.values()];
    this.changes.clear();
    for (const change of changes) {
      const changed = change(state, { muted });
      state = changed.state;
      notes.push(...changed.notes);
    }
    const shown = showNotes(state, notes);
    state = shown.state;
    const moved = state.cursor !== stored?.cursor || state.correctionsCursor !== stored?.correctionsCursor;
    if (read > 0 || created || moved || changes.length > 0) {
      if (threads.size > 0) deps.news([...threads]);
      // One write for all pages, before any notification: one shown and then lost to a crash before the write would
      // show again. The Gmail tabs hear of the threads through NEWS_KEY in the same write.
      await deps.area.set({
        [FEED_KEY]: state,
        ...(threads.size > 0 ? { [NEWS_KEY]: { at: now(), threadIds: [...threads] } } : {}),
      });
      // After the write, as a note is shown: a withdrawal lost to a crash leaves a notification up, never two.
      for (const note of withdrawn) {
        updated.delete(note.key);
        await deps.withdraw?.(note).catch((error: unknown) => console.warn("notification not withdrawn", error));
      }
      for (const note of updated.values())
        await deps.update?.(note).catch((error: unknown) => console.warn("notification not updated", error));
      for (const note of shown.shown) await deps.show(note).catch((error: unknown) => console.warn("notification not shown", error));
    }
    if (followUp !== null) deps.pollAt(followUp);
    if (answered) deps.answered?.();
    if (failure) throw failure.error;
    return read;
  }
}

export interface ActivitySummary {
  activity: ActivityItem[];
  today: { opens: number; clicks: number };
  /** The last 7 local days, today included: not the calendar week, and the popup says so. */
  week: { opens: number; clicks: number };
}

export function summarize(state: FeedState | null, now: number): ActivitySummary {
  const days = state?.days ?? {};
  const today = { opens: 0, clicks: 0, ...days[dayKey(now)] };
  const week = { opens: 0, clicks: 0 };
  // By calendar day: a day is not always 24 h (daylight saving time).
  const date = new Date(now);
  for (let i = 0; i < 7; i++, date.setDate(date.getDate() - 1)) {
    const d = days[dayKey(date.getTime())];
    week.opens += d?.opens ?? 0;
    week.clicks += d?.clicks ?? 0;
  }
  return { activity: state?.activity ?? [], today, week };
}
