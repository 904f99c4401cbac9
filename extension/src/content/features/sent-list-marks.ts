// Read receipts in the thread list (Sent, and any list showing tracked threads): a mark before the subject of each
// tracked row. Grey: no open yet; green with the count: opened; blue: a link clicked; red: bounced; a dashed grey
// ring: not on the tracker yet, its registration waiting in the outbox (the background says why). Counts
// are the tracker's (human and Gmail-proxy opens only). One batched status request per page of rows, through the
// background; states are kept per thread id, so when Gmail re-renders a row the same mark is put back synchronously
// (in the MutationObserver callback, before the next paint: no flicker, no new request).
import type { MessageStatus } from "../../../../shared/api";
import type { ThreadStatusAnswer } from "../../background/handlers";
import { threadIdsOf } from "../../gmail-ids";
import { callFromGmail } from "../../messaging";
import { counted, errorText, noOpenWords, outOfDate } from "../../words";
import { type Feature, guarded, keepLast, oncePerCheckpoint } from "../feature";
import { queryAll, queryRow, rowThreadIds } from "../gmail-selectors";
import { debug } from "../log";
import { newsNames, onFeedNews, ReadsOut, watchElements } from "../page-watch";
import { ensureStyle, formatTime } from "../ui";

/** `unregistered`: the thread's email is not on the tracker yet, its registration waiting in the outbox or refused. */
export type MarkState = "delivered" | "opened" | "clicked" | "bounced" | "stopped" | "unregistered";

export interface RowState {
  mark: MarkState;
  openCount: number;
  lastOpenAt: string | null;
  clickCount: number;
  lastClickAt: string | null;
  /** Some email of the thread carries its pixel: else no open can be seen, and "no open yet" would promise one. */
  opensTracked: boolean;
  /** Apple Mail loaded some email's pixel on delivery (never counted): a read of it cannot be seen. */
  appleMail: boolean;
  /** A recipient of every email of the thread opted out: no open of theirs is recorded. */
  unsubscribed: boolean;
}

/** How long a thread's state is trusted before the next scan asks again (news from the feed expires it at once). */
export const ROW_TTL_MS = 60_000;
/** After a failed status read, the wait before asking again: doubled per failure in a row, up to the TTL. */
export const RETRY_FIRST_MS = 2_000;
/**
 * Threads whose state and mark a tab keeps: Gmail stays open for days and a rep pages through many lists, and each
 * thread holds a mark element. Past this, the threads shown longest ago go first (asked again if shown again).
 */
const KEPT_THREADS = 5_000;

const later = (a: string | null, b: string | null) => (!a ? b : !b ? a : a > b ? a : b);

/**
 * One thread's mark from the tracked messages in it (a thread may hold several tracked sends), oldest sent first as
 * the tracker lists them. Red when the newest bounced: an earlier email's bounce (a mistyped address, since put right)
 * does not hide what the follow-ups it was followed by got. Null: untracked.
 */
export function aggregate(messages: MessageStatus[]): RowState | null {
  if (messages.length === 0) return null;
  let openCount = 0;
  let clickCount = 0;
  let lastOpenAt: string | null = null;
  let lastClickAt: string | null = null;
  let opensTracked = false;
  let appleMail = false;
  for (const m of messages) {
    appleMail ||= (m.appleMailLoads ?? 0) > 0;
    // Missing from a tracker older than the field: tracked, as every email was then.
    opensTracked ||= m.openTracking !== false;
    openCount += m.openCount;
    clickCount += m.clickCount;
    lastOpenAt = later(lastOpenAt, m.lastOpenAt);
    lastClickAt = later(lastClickAt, m.lastClickAt);
  }
  const states = messages.map((m) => m.state);
  const mark: MarkState =
    states[states.length - 1] === "bounced"
      ? "bounced"
      : clickCount > 0
        ? "clicked"
        : openCount > 0
          ? "opened"
          : states.every((s) => s === "stopped")
            ? "stopped"
            : "delivered";
  // Every email of the thread: one still open to tracking may yet be opened.
  const unsubscribed = messages.every((m) => m.unsubscribed);
  return { mark, openCount, lastOpenAt, clickCount, lastClickAt, opensTracked, appleMail, unsubscribed };
}

/**
 * The mark's words. Without an open, what every surface says (noOpenWords): the tracker sees opens, never delivery,
 * and an email that was read with its images off shows none.
 */
export function tooltip(state: RowState): string {
  const clicks = counted(state.clickCount, "click");
  const opened =
    state.openCount > 0 && state.lastOpenAt
      ? `Opened ${counted(state.openCount, "time")}, last ${formatTime(state.lastOpenAt)}`
      : noOpenWords({ openTracking: state.opensTracked, unsubscribed: state.unsubscribed, appleMailLoads: state.appleMail ? 1 : 0 });
  if (state.mark === "bounced") return `Bounced: not delivered. ${opened}; ${clicks}`;
  if (state.mark === "stopped") return `Tracking stopped. ${opened}; ${clicks}`;
  return `${opened}; ${clicks}`;
}

/**
 * The mark of a thread in this state, built once when its state arrives: every row showing the thread, each time
 * Gmail renders it again, gets a copy (applyMark). A copy is two calls into the DOM where building one was a dozen
 * and a formatted tooltip, for each of 100 rows in the checkpoint before Gmail's next paint (docs/benchmarks.md,
 * eighteenth pass).
 */
function buildMark(doc: Document, key: string, state: MarkState, title: string, text = ""): HTMLElement {
  const mark = doc.createElement("span");
  mark.className = `mt-mark mt-mark-${state}`;
  mark.setAttribute("data-mt-thread", key);
  mark.setAttribute("data-mt-state", state);
  mark.setAttribute("title", title);
  mark.setAttribute("aria-label", title);
  mark.setAttribute("role", "img");
  mark.textContent = text;
  return mark;
}

/** The mark of a thread with tracked emails, in this state (buildMark): its words, and the open count when opened. */
function stateMark(doc: Document, key: string, state: RowState): HTMLElement {
  const count = (state.mark === "opened" || state.mark === "clicked") && state.openCount > 0 ? String(state.openCount) : "";
  return buildMark(doc, key, state.mark, tooltip(state), count);
}

/**
 * Puts a copy of `mark` first in the row's subject, or removes the row's mark (null: untracked); touches nothing when
 * it is already right.
 */
function applyMark(row: Element, mark: HTMLElement | null): void {
  // Looked for where it goes: in vertical split the subject is in the thread's second row (queryRow), not in `row`.
  const subject = queryRow(row, "rowSubject");
  const [first, ...extra] = (subject ?? row).querySelectorAll(".mt-mark");
  for (const old of extra) old.remove();
  if (!mark) {
    first?.remove();
    return;
  }
  if (first?.isEqualNode(mark) || !subject) return;
  first?.remove();
  subject.prepend(mark.cloneNode(true));
}

interface Entry {
  ids: string[];
  /** The thread's mark (buildMark); null: untracked. */
  mark: HTMLElement | null;
  at: number;
}

/** The marks of one document: the cache by thread, the pending batch, and the rows. */
export class ThreadListMarks {
  /** By thread, in the order they were last shown or answered: the first ones go past `keptThreads`. */
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, string[]>();
  /** Threads asked for by the request out, by their ids, and those the feed brought news for meanwhile. */
  private readonly reads = new ReadsOut();
  private asking = false;
  private stopped = false;
  /** Failed reads in a row, and the time before which none is tried again (and its timer). */
  private failures = 0;
  private retryAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Status requests made (for tests and debug). */
  requests = 0;

  constructor(
    private readonly doc: Document,
    private readonly fetchStatus: (threadIds: string[]) => Promise<ThreadStatusAnswer>,
    private readonly now: () => number = Date.now,
    private readonly keptThreads = KEPT_THREADS,
  ) {}

  /** Marks every row whose state is known, synchronously; queues one request for the rest. */
  scan(): void {
    // Stopped: the cleanup took the marks away, and an answer still on its way must not draw them again.
    if (this.stopped) return;
    const now = this.now();
    for (const row of queryAll(this.doc, "threadRow")) {
      const ids = rowThreadIds(row);
      if (!ids) {
        applyMark(row, null);
        continue;
      }
      const entry = this.entries.get(ids.key);
      if (entry) this.keep(ids.key, entry);
      // A row Gmail reused for a thread not known yet loses the mark of the thread it showed before.
      applyMark(row, entry?.mark ?? null);
      if ((!entry || now - entry.at > ROW_TTL_MS) && !this.reads.has(ids.key)) this.pending.set(ids.key, ids.ids);
    }
    if (this.pending.size > 0 && now >= this.retryAt) this.queueFlush();
  }

  /**
   * Asks without a fixed wait. A microtask runs after every scan of this mutation checkpoint, so rows Gmail inserts
   * in one task share the request; rows that come while a request is out go together as soon as it is answered.
   */
  private readonly queueFlush = oncePerCheckpoint(() => {
    if (!this.asking && !this.stopped) void this.flush();
  });

  /** Sends the one request for every row waiting; rows that come meanwhile wait for the next. */
  async flush(): Promise<void> {
    const batch = [...this.pending.entries()];
    this.pending.clear();
    if (batch.length === 0) return;
    for (const [key, ids] of batch) this.reads.set(key, { ids });
    this.requests += 1;
    this.asking = true;
    try {
      const { messages, unregistered, stale } = await this.fetchStatus(batch.flatMap(([, ids]) => ids));
      const at = this.now();
      for (const [key, ids] of batch) {
        const mine = messages.filter((m) => threadIdsOf(m).some((id) => ids.includes(id)));
        const state = aggregate(mine);
        // No tracked email yet, but one whose registration is on its way (or refused): its own mark, not none.
        const waiting = unregistered.find((u) => u.threadIds.some((id) => ids.includes(id)));
        // The tracker not read (stale): only a thread waiting, and not marked from the tracker before, is marked now;
        // the failure below keeps the rest, and says of all of them that they may be out of date.
        if (stale && (!waiting || this.entries.get(key)?.mark)) continue;
        // A row named by Gmail's sync id alone learns the legacy id too, which the feed's news name threads by.
        const known = [...new Set([...ids, ...mine.flatMap((m) => (m.threadId === null ? [] : [m.threadId]))])];
        const mark = state ? stateMark(this.doc, key, state) : waiting ? buildMark(this.doc, key, "unregistered", waiting.title) : null;
        this.keep(key, { ids: known, mark, at: stale || this.reads.get(key)?.overtaken ? 0 : at });
      }
      keepLast(this.entries, this.keptThreads);
      if (stale) throw new Error(stale);
      this.failures = 0;
    } catch (error) {
      // Not connected, or the tracker unreachable: rows never answered stay unmarked, and those answered before keep
      // their mark, its tooltip saying why it may be out of date (the background's words: the tracker out of reach
      // since when, say). All are asked for again after a wait: asking again at once made a loop of requests, each
      // failure rescanning the rows.
      debug("thread status not read", error);
      const note = outOfDate(errorText(error));
      for (const [key] of batch) {
        const mark = this.entries.get(key)?.mark;
        // The tooltip's first line is the mark's own (buildMark): a second failure replaces the note of the first.
        if (mark) for (const name of ["title", "aria-label"]) mark.setAttribute(name, `${mark.title.split("\n")[0]}\n${note}`);
      }
      // News while it was out (the tracker back, a registration delivered): asked again at once, not after the wait.
      if (!batch.some(([key]) => this.reads.get(key)?.overtaken)) {
        const wait = Math.min(ROW_TTL_MS, RETRY_FIRST_MS * 2 ** this.failures);
        this.failures += 1;
        this.retryAt = this.now() + wait;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(
          guarded("sent list marks retry", () => this.scan()),
          wait,
        );
      }
    } finally {
      for (const [key] of batch) this.reads.delete(key);
      this.asking = false;
    }
    // Drawn at once, in this task: the answer's marks and, for rows that came meanwhile, the next request.
    this.scan();
    this.doc.documentElement.dataset.mtMarksRefreshed = String(Number(this.doc.documentElement.dataset.mtMarksRefreshed ?? 0) + 1);
  }

  /** Threads the feed brought news for (all when none is named): asked again at the next scan, marks kept meanwhile. */
  expire(threadIds?: string[]): void {
    // News or a navigation: worth asking at once, even right after a failure.
    this.retryAt = 0;
    for (const entry of this.entries.values()) if (newsNames(entry.ids, threadIds)) entry.at = 0;
    // A request out now may have been answered before what the news tells of: its answer is not the last word.
    this.reads.news(threadIds);
  }

  /** Stores the thread's entry as its newest: the map's order is the order threads were last shown or answered. */
  private keep(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }
}

export const sentListMarks: Feature = {
  id: "sent-list-marks",
  init(signal) {
    ensureStyle(document);
    const marks = new ThreadListMarks(document, (threadIds) => callFromGmail("threadStatus", { threadIds }));
    const scan = guarded("sent list marks", () => marks.scan());
    // In the observer callback, before the next paint: a re-rendered row gets its mark back without flicker.
    watchElements(["threadRow"], "mt-mark", scan, signal);
    // Gmail swaps views without reloading: a navigation asks again for what is on screen.
    window.addEventListener(
      "hashchange",
      () => {
        marks.expire();
        scan();
      },
      { signal },
    );
    onFeedNews((threadIds) => {
      marks.expire(threadIds);
      scan();
    }, signal);
    signal.addEventListener(
      "abort",
      () => {
        marks.stop();
        for (const mark of document.querySelectorAll(".mt-mark")) mark.remove();
      },
      { once: true },
    );
    scan();
  },
};
