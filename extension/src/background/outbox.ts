// Sent messages waiting to be registered with the tracker. The outbox lives in extension storage, so a killed
// service worker or a browser restart loses nothing; it retries with exponential backoff and never drops an entry:
// an entry leaves the outbox only when the tracker has it (200) or says its owner deleted it (410). A request the
// tracker refuses (other 4xx) stays as "failed", visible in the popup and options page, until the user retries it;
// the user is told of it at once, and of a registration still not delivered after a few minutes of attempts (of one
// waiting on the tracker's reach or its refusal of the token, in tracker-reach.ts's one notice of that: tellTrouble).
// A send the rep took back with Gmail's Undo is withdrawn: its entry becomes a withdrawal (the tracker deletes the
// message, or answers 404: it never had it), and a registration of that id arriving later (Gmail's answer after the
// Undo) is refused, so an email that never left is never tracked.
import type { RegisterMessageRequest } from "../../../shared/api";
import { DAY_MS } from "../../../shared/durations";
import { accountOf } from "../../../shared/protocol";
import { threadIdsOf } from "../gmail-ids";
import { serialRunner } from "../serial";
import { counted, subjectShown, TOKEN_REFUSED, timeShown } from "../words";

export interface OutboxEntry {
  trackingId: string;
  request: RegisterMessageRequest;
  state: "pending" | "failed";
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastError: string | null;
  /**
   * The tracker's HTTP status for the last failed attempt (null: it could not be reached; NO_STATUS: it failed with no
   * status of the tracker's to keep, before reaching it or for an answer too slow). Absent from an entry stored before
   * it was kept (2026-12-06), whose last failure is not known: taken as the tracker out of reach until its next attempt
   * records what it was (Outbox.hurry). A 401 is the token, not the email.
   */
  lastStatus?: number | null | typeof NO_STATUS;
  /** Gmail's Undo took this send back: delivering it deletes the message on the tracker (404 there: nothing to do). */
  withdraw?: true;
}

/** The slice of browser.storage.local the outbox uses (an in-memory one in unit tests). */
export interface KeyValueArea {
  get(key: string): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
}

/** A delivery's result: its status absent when it failed with none of the tracker's (OutboxEntry.lastStatus). */
export type DeliveryResult = "delivered" | { retry: boolean; error: string; status?: number | null };

/**
 * The lastStatus of an attempt that failed with no status of the tracker's to keep: not connected, another account's
 * email (delivery.ts), a registration answered too slowly, an error of the extension's own. Stored, not left absent,
 * so that an entry stored before lastStatus was kept is told apart.
 */
export const NO_STATUS = "none";

const KEY = "outbox";
/** Ids withdrawn after Gmail's Undo, with when: a registration of one of them is refused. */
const WITHDRAWN_KEY = "outboxWithdrawn";
/** How long a withdrawn id is remembered: far longer than any late answer of Gmail's to the undone send. */
export const WITHDRAWN_KEEP_MS = 7 * DAY_MS;
/** What a withdrawal of a send the outbox no longer holds (delivered already) knows of it: its id alone. */
const UNKNOWN_SEND: RegisterMessageRequest = {
  subject: "",
  recipients: [],
  sentAt: "",
  openTracking: false,
  clickTracking: false,
  links: [],
};
export const FIRST_RETRY_MS = 2_000;
export const MAX_RETRY_MS = 15 * 60_000;

/**
 * Failed attempts after which a registration still pending is told to the user (about a minute of them: 2 + 4 + 8 +
 * 16 + 32 s of backoffMs between the six, and each attempt's own wait): long enough for a network blip or a tracker
 * restart to pass unnoticed, short enough that the rep hears of a revoked token or an unreachable tracker while the
 * email is still on their mind.
 */
export const ATTEMPTS_BEFORE_TELLING = 6;

/**
 * Whether an entry waits on the tracker rather than on anything of the email's: its last attempt had no answer of the
 * tracker's (lastStatus null: out of reach; a server error, the tracker down behind its host's proxy; or a success
 * that is not the tracker's, a Wi-Fi login page: what tracker-reach.ts heardOf counts as out of reach), or the
 * tracker refused the token (401). The rep hears of that trouble in tracker-reach.ts's one notification of it, which
 * names the emails waiting (tellTrouble): the same call's failure told twice, in two wordings, said one thing twice.
 * A tracker that answers with a refusal of its own (any other 4xx) is told per email: the email is what it refuses.
 */
export function waitsOnTracker(entry: OutboxEntry): boolean {
  const status = entry.lastStatus;
  return status === null || status === 401 || (typeof status === "number" && (status >= 500 || status < 300));
}

/**
 * What the user is told of an entry that needs them (Outbox's `tell`) in its own words: a registration of a sent
 * email, or the withdrawal of one taken back in Gmail, with Undo or a scheduled send's Cancel send (which never left,
 * but stays on the tracker until it is told). For an entry waiting on the tracker (waitsOnTracker), only when no
 * outage of the tracker's names it (tellTrouble).
 */
export function troubleNote(entry: OutboxEntry): { title: string; message: string } {
  const subject = subjectShown(entry.request.subject);
  const what = entry.withdraw ? `"${subject}" was taken back in Gmail` : `"${subject}" was sent`;
  // The token, not the email: in the words the rep was told of it in (tracker-reach.ts), and what mends it.
  const why = entry.lastStatus === 401 ? TOKEN_REFUSED : entry.lastError;
  if (entry.withdraw)
    return entry.state === "failed"
      ? {
          title: "An email taken back is still on the tracker",
          message: `${what}, but the tracker refused to remove it: ${entry.lastError}. Open the extension's options to retry.`,
        }
      : {
          title: "An email taken back is still on the tracker",
          message: `${what}, but the tracker could not be told to remove it: ${why}. The extension keeps trying.`,
        };
  return entry.state === "failed"
    ? {
        title: "An email is not tracked",
        message: `${what}, but the tracker refused it: ${entry.lastError}. Open the extension's options to retry.`,
      }
    : {
        title: "An email is not tracked yet",
        message: `${what}, but the tracker could not be told of it: ${why}. The extension keeps trying.`,
      };
}

/**
 * Tells the user of an entry that needs them (index.ts gives it as the Outbox's `tell`). One waiting on the tracker
 * (waitsOnTracker) is named in the notification of the tracker's outage when there is one (`outage`: tracker-reach.ts
 * TrackerReach.waits, which shows or updates it and answers true): the outbox's own notice of it, a minute before the
 * outage's, in other words, told the same trouble twice. Any other, and one no outage takes (the tracker answered
 * since, say), is told in its own words (troubleNote): an email not tracked is never left for the user to discover.
 */
export async function tellTrouble(
  entry: OutboxEntry,
  deps: {
    outage(entry: OutboxEntry): Promise<boolean>;
    /**
     * The entry, told of already, failed again waiting on the tracker: told again only when the notice that named it
     * was taken back meanwhile (tracker-reach.ts TrackerReach.stillWaits).
     */
    stillWaits(entry: OutboxEntry): Promise<unknown>;
    notify(note: { title: string; message: string }): Promise<unknown>;
  },
): Promise<void> {
  if (entry.state === "pending" && entry.attempts > ATTEMPTS_BEFORE_TELLING) {
    await deps.stillWaits(entry).catch((error: unknown) => console.warn("waiting email not told again", error));
    return;
  }
  if (waitsOnTracker(entry)) {
    const named = await deps.outage(entry).catch((error: unknown) => {
      console.warn("outage notice not updated", error);
      return false;
    });
    if (named) return;
  }
  await deps.notify(troubleNote(entry));
}

/**
 * Deliveries under way at once. Each holds a connection to the tracker until it is answered or api.ts's timeout (15 s)
 * ends it. Chrome opens at most 6 HTTP/1.1 connections to one host (g_max_sockets_per_group, 6 for normal sockets, in
 * Chromium's net/socket/client_socket_pool_manager.cc), Firefox as many (network.http.max-persistent-connections-per-
 * server, 6, in its modules/libpref/init/all.js), and the feed poll, the Gmail tabs' status reads and the popup go to
 * the same host: 4 leaves them 2, so a tracker that never answers does not hold up the rest of the extension too.
 * Retries take at most 3 of the 4 (one is kept for a send's first attempt), which against such a tracker still try 20
 * waiting entries in 7 rounds of 15 s, well inside FLUSH_BUDGET_MS; more at once would gain little against a tracker
 * that is down, and press one that is merely slow.
 */
export const DELIVERIES_AT_ONCE = 4;

/**
 * A flush starts no delivery after this long; those under way end within api.ts's timeout (15 s), so the flush is done
 * in about 3¼ minutes at most. Chrome stops an extension's service worker "when a single request, such as an event or
 * API call, takes longer than 5 minutes to process" (Chrome for Developers, "The extension service worker lifecycle",
 * developer.chrome.com/docs/extensions/develop/concepts/service-workers/lifecycle, "Idle and shutdown", published
 * 2023-05-02): a flush stopped halfway would leave its last results unwritten. What it did not reach stays due, and the
 * next flush (the timer while the worker lives, else the alarm) takes it first (deliveryOrder).
 */
export const FLUSH_BUDGET_MS = 3 * 60_000;

/**
 * Which of the due entries goes first: the one attempted fewer times, so that those a flush cut short by its time
 * never reached lead the next one rather than waiting again behind the ones it retried; then the newest, the rep's
 * current email, before the backlog (a send's first attempt is thus always first).
 */
function deliveryOrder(a: OutboxEntry, b: OutboxEntry): number {
  return a.attempts - b.attempts || b.createdAt - a.createdAt;
}

/** A delivery under way. */
interface Delivery {
  /** Of an entry attempted before: such ones take at most DELIVERIES_AT_ONCE - 1 places. */
  retry: boolean;
  /** A put or a withdrawal of its id came meanwhile: what is stored now is not what was delivered. */
  replaced: boolean;
  /** Settles once its result is written back. */
  done: Promise<void>;
}

/**
 * How soon the alarm comes back for an entry under way: should the worker be stopped before its delivery ends (within
 * api.ts's 15 s timeout, when its result reschedules), the entry is found again then.
 */
const UNDERWAY_RECHECK_MS = 60_000;

export function backoffMs(attempts: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

export class Outbox {
  /**
   * Every read-modify-write runs in turn, so concurrent messages cannot lose each other's entries. Deliveries run
   * outside it (a tracker that never answers would hold every put behind it): a flush claims due entries under it,
   * delivers them, and writes each result back under it.
   */
  private readonly serial = serialRunner();
  /** The entries being delivered, by tracking id: none is delivered twice at once. */
  private readonly underway = new Map<string, Delivery>();

  constructor(
    private readonly area: KeyValueArea,
    private readonly deliver: (entry: OutboxEntry) => Promise<DeliveryResult>,
    /** Called with the time of the next due attempt (or null when nothing is pending). */
    private readonly schedule: (at: number | null) => void,
    private readonly now: () => number = Date.now,
    /**
     * Called when an entry needs the user: the tracker refused it (now "failed"), or it is still pending after
     * ATTEMPTS_BEFORE_TELLING attempts; and at each later failure waiting on the tracker, which tellTrouble tells again
     * only when the notice naming it was taken back (tellsOfRetry). An email that is not tracked is never left for the
     * user to discover.
     */
    private readonly tell: (entry: OutboxEntry) => void = () => undefined,
  ) {}

  private async read(): Promise<Record<string, OutboxEntry>> {
    const stored = (await this.area.get(KEY))[KEY];
    return stored && typeof stored === "object" ? (stored as Record<string, OutboxEntry>) : {};
  }

  private async write(entries: Record<string, OutboxEntry>): Promise<void> {
    await this.area.set({ [KEY]: entries });
  }

  /**
   * Every entry, oldest first, once the writes queued before this call and the deliveries under way are written back:
   * a release of held signals started by a delivery (delivery.ts) sees it done. A delivery must not wait for this.
   */
  async entries(): Promise<OutboxEntry[]> {
    await Promise.allSettled([...this.underway.values()].map((d) => d.done));
    return this.serial(() => this.snapshot());
  }

  /** Every entry, oldest first, as stored right now: never waits, but may be a moment behind a running flush. */
  async snapshot(): Promise<OutboxEntry[]> {
    return Object.values(await this.read()).sort((a, b) => a.createdAt - b.createdAt);
  }

  private async withdrawn(): Promise<Record<string, number>> {
    const stored = (await this.area.get(WITHDRAWN_KEY))[WITHDRAWN_KEY];
    return stored && typeof stored === "object" ? (stored as Record<string, number>) : {};
  }

  /**
   * Adds or replaces the registration of one message; `notBefore` holds it back (e.g. while Gmail may undo the send).
   * False: the send was withdrawn (Gmail's Undo), and is not registered.
   */
  put(trackingId: string, request: RegisterMessageRequest, notBefore?: number): Promise<boolean> {
    return this.serial(async () => {
      if ((await this.withdrawn())[trackingId] !== undefined) return false;
      const entries = await this.read();
      const now = this.now();
      this.replacing(trackingId);
      entries[trackingId] = {
        trackingId,
        request,
        state: "pending",
        attempts: 0,
        createdAt: entries[trackingId]?.createdAt ?? now,
        nextAttemptAt: Math.max(now, notBefore ?? now),
        lastError: null,
      };
      await this.write(entries);
      this.reschedule(entries);
      return true;
    });
  }

  /**
   * Gmail's Undo took this send back: whatever the outbox holds for it (a registration waiting, one delivered, one
   * attempted that may have arrived) becomes a withdrawal, due now, and the id is remembered, so a later registration
   * of it is refused. Never a silent drop: one DELETE the tracker may answer 404 costs less than guessing wrong.
   * The email itself is Gmail's: nothing here touches it.
   */
  withdraw(trackingId: string): Promise<void> {
    return this.serial(async () => {
      const now = this.now();
      const withdrawn = Object.fromEntries(Object.entries(await this.withdrawn()).filter(([, at]) => now - at < WITHDRAWN_KEEP_MS));
      withdrawn[trackingId] = now;
      await this.area.set({ [WITHDRAWN_KEY]: withdrawn });
      const entries = await this.read();
      const entry = entries[trackingId];
      // A registration of it under way is not written back over the withdrawal, which goes once that one has ended.
      this.replacing(trackingId);
      entries[trackingId] = {
        trackingId,
        // Kept for the popup's list (its subject); never sent again.
        request: entry?.request ?? { ...UNKNOWN_SEND, sentAt: new Date(now).toISOString() },
        state: "pending",
        attempts: 0,
        createdAt: entry?.createdAt ?? now,
        nextAttemptAt: now,
        lastError: null,
        withdraw: true,
      };
      await this.write(entries);
      this.reschedule(entries);
    });
  }

  /**
   * The rep stopped waiting for account `accountId` (waiting-accounts.ts): its entries go, registrations and withdrawals
   * alike, never sent; a delivery of one under way is not written back. Only that account's: an entry's account is the
   * one its tracking id names. A withdrawal is let go only by its count (`takenBackLetGo`, the one the rep was asked
   * about): without it that account's tracker keeps the email taken back as sent. With more waiting (one taken back in
   * Gmail since the page read them), nothing goes, and the rep is told what sends them instead.
   */
  dropAccount(accountId: string, takenBackLetGo: number): Promise<void> {
    return this.serial(async () => {
      const entries = await this.read();
      const dropped = Object.keys(entries).filter((trackingId) => accountOf(trackingId) === accountId);
      const takenBack = dropped.filter((trackingId) => entries[trackingId]?.withdraw).length;
      if (takenBack > takenBackLetGo)
        throw new Error(
          `not stopped: ${counted(takenBack, "email")} taken back in Gmail ${takenBack === 1 ? "waits" : "wait"} to be withdrawn from account ${accountId}'s tracker, and you agreed to let go of ${takenBackLetGo === 0 ? "none" : takenBackLetGo}. Connect to account ${accountId} again to send ${takenBack === 1 ? "its withdrawal" : "their withdrawals"}, or press Stop waiting again to let ${takenBack === 1 ? "it" : "them"} go.`,
        );
      if (dropped.length === 0) return;
      // A delivery of one under way finds its entry gone (settle): nothing written back, nothing to mark replaced.
      for (const trackingId of dropped) delete entries[trackingId];
      await this.write(entries);
      this.reschedule(entries);
    });
  }

  /** Makes failed entries (or one of them) pending and due now. */
  retry(trackingId?: string): Promise<void> {
    return this.serial(async () => {
      const entries = await this.read();
      for (const entry of Object.values(entries)) {
        if (trackingId && entry.trackingId !== trackingId) continue;
        entry.state = "pending";
        entry.nextAttemptAt = this.now();
      }
      await this.write(entries);
      this.reschedule(entries);
    });
  }

  /**
   * Attempts at once every pending entry waiting out its backoff because the tracker could not be reached (lastStatus
   * null: api.ts's TrackerError of a call that got no answer, or that the browser refused for want of site access):
   * what kept it from the tracker has just gone (the extension's access to the tracker's site given back, the tracker
   * answering the feed again). One the tracker answered (a 429, a 503 for registrations alone, a slow success) waits
   * out its backoff, or every answered feed poll would send it again; so does one that never left the browser
   * (NO_STATUS: another account's, which waits on the rep connecting to it); one held back by notBefore, or refused,
   * stays as it is. One stored before lastStatus was kept (no lastStatus at all) failed in a way not known: hurried as one out of reach,
   * once, since its attempt records how it failed.
   */
  hurry(): Promise<void> {
    return this.serial(async () => {
      const entries = await this.read();
      const retrying = Object.values(entries).filter(
        (e) => e.state === "pending" && e.attempts > 0 && (e.lastStatus === null || e.lastStatus === undefined),
      );
      const waiting = retrying.filter((e) => e.nextAttemptAt > this.now());
      for (const entry of waiting) entry.nextAttemptAt = this.now();
      // Called after every feed poll too: nothing written, nor attempted, when no registration is being retried.
      if (waiting.length > 0) await this.write(entries);
      return retrying.length > 0;
    }).then((retrying) => (retrying ? this.flush() : undefined));
  }

  /**
   * Attempts every due entry once (again, one replaced meanwhile), DELIVERIES_AT_ONCE at a time, a send's first attempt
   * at once whatever backlog is under way, and starts none after FLUSH_BUDGET_MS. Safe to call at any time, from any
   * trigger: flushes running together share the deliveries under way. Done once those it started are written back.
   */
  async flush(): Promise<void> {
    const deadline = this.now() + FLUSH_BUDGET_MS;
    const attempted = new Set<string>();
    const started: Promise<void>[] = [];
    for (;;) {
      const { claimed, blocked } = await this.serial(() => this.claim(attempted, deadline));
      for (const delivery of claimed) started.push(delivery.done);
      if (claimed.length > 0) continue;
      if (!blocked) break;
      // Due entries wait for a delivery to end (a free place, or their own id's delivery): then look again (at once
      // when the one they waited for ended before this flush came back from the lock).
      const underway = [...this.underway.values()].map((d) => d.done.catch(() => undefined));
      if (underway.length > 0) await Promise.race(underway);
    }
    await Promise.all(started);
    await this.serial(async () => this.reschedule(await this.read()));
  }

  /**
   * Under the lock: starts the due entries this flush may deliver now, best first (deliveryOrder); `blocked` when others
   * are due but wait for a delivery under way to end. Past the deadline, none.
   */
  private async claim(attempted: Set<string>, deadline: number): Promise<{ claimed: Delivery[]; blocked: boolean }> {
    const now = this.now();
    if (now >= deadline) return { claimed: [], blocked: false };
    const entries = await this.read();
    const due = Object.values(entries)
      // Not one this flush attempted already, unless replaced since (a put or a withdrawal makes its attempts 0 again).
      .filter((e) => e.state === "pending" && e.nextAttemptAt <= now && !(attempted.has(e.trackingId) && e.attempts > 0))
      .sort(deliveryOrder);
    const claimed: Delivery[] = [];
    let blocked = false;
    for (const entry of due) {
      const underway = [...this.underway.values()];
      const room =
        underway.length < DELIVERIES_AT_ONCE && (entry.attempts === 0 || underway.filter((d) => d.retry).length < DELIVERIES_AT_ONCE - 1);
      if (!room || this.underway.has(entry.trackingId)) {
        blocked = true;
        continue;
      }
      attempted.add(entry.trackingId);
      claimed.push(this.start(entry));
    }
    // The alarm that started this flush is gone once it fired (an alarm without periodInMinutes "will only fire once":
    // Chromium's extensions/common/api/alarms.webidl; "an alarm is cleared after it fires for the last time": MDN,
    // alarms.create(); both read 2026-12-07; chrome.alarms.get found none while a delivery ran, in the end-to-end
    // test of a stopped worker, 2026-12-07), and the one a delivery's result sets
    // comes only when it ends: set it now, UNDERWAY_RECHECK_MS on for those under way, so a worker stopped while they
    // run is woken to find them again.
    if (claimed.length > 0) this.reschedule(entries);
    return { claimed, blocked };
  }

  /** Delivers one entry, outside the lock, and writes its result back under it. */
  private start(entry: OutboxEntry): Delivery {
    const delivery: Delivery = { retry: entry.attempts > 0, replaced: false, done: Promise.resolve() };
    this.underway.set(entry.trackingId, delivery);
    // Delivered a moment later, once `done` is set: whatever the delivery starts that reads entries() waits for it.
    delivery.done = Promise.resolve()
      .then(() => this.attempt(entry))
      .then((result) => this.settle(entry, result, delivery));
    return delivery;
  }

  private async attempt(entry: OutboxEntry): Promise<DeliveryResult> {
    try {
      return await this.deliver(entry);
    } catch (error) {
      return { retry: true, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Writes a delivery's result back, unless its entry was replaced meanwhile (a put with better ids, or a withdrawal,
   * by Gmail's Undo, that must win over this registration): what is stored now goes next, by its own flush or by one
   * waiting for this delivery to end. Re-read, not kept: storage may be shared with another context.
   */
  private settle(entry: OutboxEntry, result: DeliveryResult, delivery: Delivery): Promise<void> {
    return this.serial(async () => {
      try {
        const entries = await this.read();
        const current = entries[entry.trackingId];
        if (current && current.createdAt === entry.createdAt && !delivery.replaced) {
          if (result === "delivered") {
            delete entries[entry.trackingId];
          } else {
            current.attempts += 1;
            current.lastError = result.error;
            current.lastStatus = result.status === undefined ? NO_STATUS : result.status;
            if (result.retry) current.nextAttemptAt = this.now() + backoffMs(current.attempts);
            else current.state = "failed";
          }
          await this.write(entries);
          if (result !== "delivered" && (!result.retry || this.tellsOfRetry(current))) this.tell({ ...current });
        }
      } finally {
        this.underway.delete(entry.trackingId);
      }
      this.reschedule(await this.read());
    });
  }

  /**
   * Whether a retried entry's failure is told: at ATTEMPTS_BEFORE_TELLING, and after that each failure waiting on the
   * tracker, which tellTrouble hands to tracker-reach.ts to tell again only if the notice naming it was taken back
   * (the tracker answering the feed but not this email): never silent, never told at every attempt.
   */
  private tellsOfRetry(entry: OutboxEntry): boolean {
    return entry.attempts === ATTEMPTS_BEFORE_TELLING || (entry.attempts > ATTEMPTS_BEFORE_TELLING && waitsOnTracker(entry));
  }

  /** A put or a withdrawal of this id, under the lock: a delivery of it under way is not written back. */
  private replacing(trackingId: string): void {
    const delivery = this.underway.get(trackingId);
    if (delivery) delivery.replaced = true;
  }

  /**
   * The time of the next due attempt: of an entry under way, no sooner than UNDERWAY_RECHECK_MS from now (its result
   * reschedules when written back; a time already past would only start flushes that find it under way).
   */
  private reschedule(entries: Record<string, OutboxEntry>): void {
    const now = this.now();
    const times = Object.values(entries)
      .filter((e) => e.state === "pending")
      .map((e) => (this.underway.has(e.trackingId) ? Math.max(e.nextAttemptAt, now + UNDERWAY_RECHECK_MS) : e.nextAttemptAt));
    this.schedule(times.length ? Math.min(...times) : null);
  }
}

/**
 * What Gmail's page says of an email the tracker does not have yet because its registration is still in the outbox:
 * its Sent mark's title, and the line its conversation panel shows instead of opens and clicks. Not "deleted", nor
 * untracked: it will be tracked once the registration arrives, or, refused, once the rep retries it.
 */
export function unregisteredWords(
  entry: OutboxEntry,
  now: number,
  time = (at: number) => timeShown(at, now),
): { mark: string; panel: string } {
  if (entry.state === "failed")
    return {
      mark: "Not registered: your tracker refused it",
      panel: `Not registered: your tracker refused this email (${entry.lastError}). Retry it in the extension's options.`,
    };
  const when = time(Math.max(now, entry.nextAttemptAt));
  return {
    mark: "Waiting to reach your tracker",
    panel:
      entry.attempts === 0
        ? `Not registered with your tracker yet: its registration is sent at ${when}.`
        : // The token, not the email: in the words the rep was told of it in (tracker-reach.ts), and what mends it.
          entry.lastStatus === 401
          ? `Not registered with your tracker yet: ${TOKEN_REFUSED}. It is sent as soon as you do.`
          : `Not registered with your tracker yet (it will be sent again at ${when}): ${entry.lastError}`,
  };
}

/**
 * The threads of the sent emails the outbox holds, each with its email's account: their replies and bounces are held
 * until they are delivered, for that account.
 */
export function threadsWaiting(entries: readonly OutboxEntry[]): Map<string, string | undefined> {
  return new Map(entries.flatMap((e) => (e.withdraw ? [] : threadIdsOf(e.request).map((id) => [id, accountOf(e.trackingId)] as const))));
}
