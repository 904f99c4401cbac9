// The events feed poller behind desktop notifications and the popup's activity. It keeps its cursor, the events it
// took ahead of it, what it already notified, the recent activity and the daily totals in ONE state written in one set
// (its parts that changed: feed-storage.ts), before any notification is shown: a restart (or a killed service worker)
// resumes from the stored cursor, so no event is skipped, and nothing is ever notified or counted twice. The feed's corrections (an event released
// before a hit written late changed its label: feed-corrections.ts) are applied in the same write, behind their own
// cursor. The state's shape and the rules both apply are in feed-state.ts.
import type { EventsResponse, FeedEvent, MessageDetail, MessageStatus } from "../../../shared/api";
// Not from shared/api.ts, whose schemas would come with them: the Gmail content script imports this module (NEWS_KEY).
import { COUNTED_LABELS, UNREGISTERED_HOLD_MS } from "../../../shared/labels";
import { DEFAULT_GMAIL_ACCOUNT, type GmailAccount } from "../gmail-ids";
import { type DeletedContact, withoutContact } from "./deleted-contact";
import { applyCorrections, showNotes, type Withdrawal } from "./feed-corrections";
import {
  type ActivityItem,
  addToTotals,
  cursorAfter,
  dayKey,
  type FeedState,
  MAX_DAYS,
  MAX_NOTIFIED,
  type Note,
  noteOnce,
  releasedUnregistered,
  rememberCounting,
  storedNotificationKey,
} from "./feed-state";
import { FEED_KEY, type FeedArea, feedWrite, readStoredFeed } from "./feed-storage";

export { FEED_KEY };
/** Written by the poller (in its one write) and by the background after other news: `{at, threadIds}`; Gmail tabs refresh those threads. */
export const NEWS_KEY = "feedNews";
export const MAX_ACTIVITY = 200;
/**
 * At most this many events taken ahead of the cursor: the most one page can hold (eventsQuery's limit), and a page
 * only holds events among the `limit` after the cursor. Past it (deleted events between can make room for more),
 * further ones wait for `events`: later, never twice.
 */
export const MAX_AHEAD = 500;
const FEED_PAGE = 100;
/** At most this many pages per poll; the next poll goes on from the stored cursor. */
const MAX_PAGES = 10;
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
  // What falls off the activity leaves how it counted, for a correction of it later.
  const countedByCursor = rememberCounting(state.countedByCursor, activity.slice(MAX_ACTIVITY), options.now);
  return {
    state: {
      ...state,
      ...(countedByCursor ? { countedByCursor } : {}),
      notified: order.slice(-MAX_NOTIFIED),
      activity: activity.slice(0, MAX_ACTIVITY),
      days: Object.fromEntries(keptDays.map((d) => [d, days[d] as { opens: number; clicks: number }])),
    },
    notes,
  };
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
  // With the cursor moved: the state the corrections return is the page's.
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

/** The stored state of `account` (of any, for null); null when none is stored, or another account's. */
export async function readFeedState(area: FeedArea, account: string | null): Promise<FeedState | null> {
  const stored = await readStoredFeed(area);
  return stored && (account === null || stored.state.account === account) ? stored.state : null;
}

export interface PollerDeps {
  area: FeedArea;
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
  /**
   * The state as the last poll left it in storage: polls are its only writers, so it is what a read would find (state
   * answers from it). Null until a poll ran in this background (a woken service worker has lost it).
   */
  private kept: FeedState | null = null;

  constructor(private readonly deps: PollerDeps) {}

  /**
   * The connected account's stored state, if any (readFeedState): as the last poll left it, else read. The popup asks
   * for it after each poll, which has just read or written it: it is not read twice.
   */
  async state(): Promise<FeedState | null> {
    const account = await this.deps.account();
    if (!account) return null;
    return this.kept?.account === account ? this.kept : readFeedState(this.deps.area, account);
  }

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
    // Another account's state is replaced, in the chunks it was stored in (read, to be written over and removed).
    const storedFeed = await readStoredFeed(deps.area);
    const stored = storedFeed?.state.account === account ? storedFeed.state : null;
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
    const changed = read > 0 || created || moved || changes.length > 0;
    if (changed) {
      if (threads.size > 0) deps.news([...threads]);
      // One write for all pages, before any notification: one shown and then lost to a crash before the write would
      // show again. The Gmail tabs hear of the threads through NEWS_KEY in the same write. Only the parts of the state
      // that changed are in it; the chunks no longer in the state are removed after it (a crash between leaves them
      // unused, and a later write reuses their keys).
      const write = feedWrite(state, storedFeed?.layout ?? null);
      await deps.area.set({
        ...write.items,
        ...(threads.size > 0 ? { [NEWS_KEY]: { at: now(), threadIds: [...threads] } } : {}),
      });
      if (write.stale.length > 0)
        await deps.area.remove(write.stale).catch((error: unknown) => console.warn("feed state: old chunks not removed", error));
      // After the write, as a note is shown: a withdrawal lost to a crash leaves a notification up, never two.
      for (const note of withdrawn) {
        updated.delete(note.key);
        await deps.withdraw?.(note).catch((error: unknown) => console.warn("notification not withdrawn", error));
      }
      for (const note of updated.values())
        await deps.update?.(note).catch((error: unknown) => console.warn("notification not updated", error));
      for (const note of shown.shown) await deps.show(note).catch((error: unknown) => console.warn("notification not shown", error));
    }
    // Not reached when the write failed: storage then holds what the last poll left, and so does `kept`.
    this.kept = changed ? state : stored;
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
