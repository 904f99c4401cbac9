// The feed's corrections of released events (an event released before a hit written late changed its label), folded
// into the feed's state by the poller (notifications.ts applyPage) in its one write, behind their own cursor: the
// activity's labels, the daily totals (of events past the activity too), and the notifications they withdraw, or give
// again. With the summaries of many notes, which are kept so that a correction can update them in place.
import type { FeedCorrection, FeedEvent } from "../../../shared/api";
import { counted, subjectShown } from "../words";
import {
  type ActivityItem,
  addToDay,
  addToTotals,
  type FeedState,
  MAX_DAYS,
  MAX_NOTIFIED,
  type Note,
  noteOnce,
  notificationKey,
  releasedUnregistered,
  type ShownSummary,
  storedNotificationKey,
} from "./feed-state";

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

/** Whether the totals may hold `day`: one older than all MAX_DAYS kept is gone, and is not made again. */
function dayKept(days: FeedState["days"], day: string): boolean {
  const kept = Object.keys(days).sort();
  return kept.length < MAX_DAYS || day >= (kept[0] as string);
}

/** A notification to take off the screen: its note's key and what names its id (notificationId). */
export type Withdrawal = Pick<Note, "key" | "threadId" | "messageId">;

/** Keys kept in `rearmed`: a key withdrawn longer ago than this many withdrawals may notify a third time. */
export const MAX_REARMED = 1_000;

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
 * A correction of an event that fell off `activity` moves only the day's totals, from how the extension itself counted
 * it (`countedByCursor`, which the correction updates), not from how the tracker judges the feed released it: read
 * late (an outage, a browser closed for hours), the extension took it with its later label and registration. A total
 * never goes below 0, and a day no longer kept is not made again. It notifies and withdraws nothing: without its item,
 * what it notified cannot be told. An event the state no longer knows (past the last MAX_COUNTED_PAST that fell off,
 * or released before its email's registration, which counts for nothing) is left alone, its day's totals as they
 * were: they cannot be told. One not taken yet changes nothing: it comes in the feed with its new label. Applying a
 * correction again changes nothing. Pure: the caller persists, shows and withdraws.
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
  const countedPast = { ...state.countedByCursor };
  let countedPastChanged = false;
  const summaries = (state.summaries ?? []).map((summary) => ({ ...summary, notes: [...summary.notes] }));
  const changedSummaries = new Set<ShownSummary>();
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
  for (const { event } of corrections) {
    const index = activity.findIndex((item) => item.cursor === event.cursor);
    const item = activity[index];
    if (!item) {
      const past = countedPast[event.cursor];
      if (!past || past.counted === event.counted) continue;
      if (dayKept(days, past.day)) addToDay(days, past.day, event.kind, event.counted ? 1 : -1);
      countedPast[event.cursor] = { ...past, counted: event.counted };
      countedPastChanged = true;
      continue;
    }
    const counts = event.counted && !releasedUnregistered(item);
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
  return {
    state: {
      ...state,
      notified: order.slice(-MAX_NOTIFIED),
      ...(rearmed.length > 0 ? { rearmed: rearmed.slice(-MAX_REARMED) } : {}),
      ...(summaries.length > 0 ? { summaries: summaries.filter((summary) => summary.notes.length > 0) } : {}),
      ...(countedPastChanged ? { countedByCursor: countedPast } : {}),
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
