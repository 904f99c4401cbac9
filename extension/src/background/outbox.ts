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
import { serialRunner } from "../serial";
import { subjectShown, TOKEN_REFUSED, timeShown } from "../words";

export interface OutboxEntry {
  trackingId: string;
  request: RegisterMessageRequest;
  state: "pending" | "failed";
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastError: string | null;
  /**
   * The tracker's HTTP status for the last failed attempt (null: it could not be reached); absent when it failed
   * before reaching the tracker, or for an entry stored before it was kept. A 401 is the token, not the email.
   */
  lastStatus?: number | null;
  /** Gmail's Undo took this send back: delivering it deletes the message on the tracker (404 there: nothing to do). */
  withdraw?: true;
}

/** The slice of browser.storage.local the outbox uses (an in-memory one in unit tests). */
export interface KeyValueArea {
  get(key: string): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
}

export type DeliveryResult = "delivered" | { retry: boolean; error: string; status?: number | null };

const KEY = "outbox";
/** Ids withdrawn after Gmail's Undo, with when: a registration of one of them is refused. */
const WITHDRAWN_KEY = "outboxWithdrawn";
/** How long a withdrawn id is remembered: far longer than any late answer of Gmail's to the undone send. */
export const WITHDRAWN_KEEP_MS = 7 * 86_400_000;
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
 * Failed attempts after which a registration still pending is told to the user (about two minutes of them, by
 * backoffMs): long enough for a network blip or a tracker restart to pass unnoticed, short enough that the rep hears
 * of a revoked token or an unreachable tracker while the email is still on their mind.
 */
export const ATTEMPTS_BEFORE_TELLING = 6;

/**
 * Whether an entry waits on the tracker rather than on anything of the email's: its last attempt had no answer of the
 * tracker's (lastStatus null: out of reach, or a success that is not the tracker's, a Wi-Fi login page, as
 * tracker-reach.ts reads them), or the tracker refused the token (401). The rep hears of that trouble in
 * tracker-reach.ts's one notification of it, which names the emails waiting (tellTrouble). A tracker that answers
 * with an error of its own (4xx, 5xx) is told per email: the email is what it refuses, or fails on.
 */
export function waitsOnTracker(entry: OutboxEntry): boolean {
  const status = entry.lastStatus;
  return status === null || status === 401 || (status !== undefined && status < 300);
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
  deps: { outage(entry: OutboxEntry): Promise<boolean>; notify(note: { title: string; message: string }): Promise<unknown> },
): Promise<void> {
  if (waitsOnTracker(entry)) {
    const named = await deps.outage(entry).catch((error: unknown) => {
      console.warn("outage notice not updated", error);
      return false;
    });
    if (named) return;
  }
  await deps.notify(troubleNote(entry));
}

export function backoffMs(attempts: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

export class Outbox {
  /** Every read-modify-write runs in turn, so concurrent messages cannot lose each other's entries. */
  private readonly serial = serialRunner();

  constructor(
    private readonly area: KeyValueArea,
    private readonly deliver: (entry: OutboxEntry) => Promise<DeliveryResult>,
    /** Called with the time of the next due attempt (or null when nothing is pending). */
    private readonly schedule: (at: number | null) => void,
    private readonly now: () => number = Date.now,
    /**
     * Called once when an entry needs the user: the tracker refused it (now "failed"), or it is still pending after
     * ATTEMPTS_BEFORE_TELLING attempts. An email that is not tracked is never left for the user to discover.
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

  /** Every entry, oldest first, once the writes queued before this call (a running flush included) are done. */
  entries(): Promise<OutboxEntry[]> {
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
   * Attempts at once every pending entry waiting out its backoff because the tracker could not be reached: what kept
   * it from the tracker has just gone (the extension's access to the tracker's site given back, the tracker answering
   * the feed again). One the tracker answered (a 429, a 503 for registrations alone) waits out its backoff, or every
   * answered feed poll would send it again; one held back by notBefore, or refused, stays as it is.
   */
  hurry(): Promise<void> {
    return this.serial(async () => {
      const entries = await this.read();
      const retrying = Object.values(entries).filter((e) => e.state === "pending" && e.attempts > 0 && !e.lastStatus);
      const waiting = retrying.filter((e) => e.nextAttemptAt > this.now());
      for (const entry of waiting) entry.nextAttemptAt = this.now();
      // Called after every feed poll too: nothing written, nor attempted, when no registration is being retried.
      if (waiting.length > 0) await this.write(entries);
      return retrying.length > 0;
    }).then((retrying) => (retrying ? this.flush() : undefined));
  }

  /** Attempts every due entry once. Safe to call at any time, from any trigger. */
  flush(): Promise<void> {
    return this.serial(async () => {
      const due = Object.values(await this.read())
        .filter((e) => e.state === "pending" && e.nextAttemptAt <= this.now())
        .sort((a, b) => a.createdAt - b.createdAt);
      for (const entry of due) {
        let result: DeliveryResult;
        try {
          result = await this.deliver(entry);
        } catch (error) {
          result = { retry: true, error: error instanceof Error ? error.message : String(error) };
        }
        // Re-read: the entry may have been replaced while we were delivering it (it was not: calls are serial,
        // but storage may be shared with another context, so never write back a stale whole map).
        const entries = await this.read();
        const current = entries[entry.trackingId];
        if (!current || current.createdAt !== entry.createdAt) continue;
        if (result === "delivered") {
          delete entries[entry.trackingId];
        } else {
          current.attempts += 1;
          current.lastError = result.error;
          current.lastStatus = result.status;
          if (result.retry) current.nextAttemptAt = this.now() + backoffMs(current.attempts);
          else current.state = "failed";
        }
        await this.write(entries);
        if (result !== "delivered" && (!result.retry || current.attempts === ATTEMPTS_BEFORE_TELLING)) this.tell({ ...current });
      }
      this.reschedule(await this.read());
    });
  }

  private reschedule(entries: Record<string, OutboxEntry>): void {
    const pending = Object.values(entries).filter((e) => e.state === "pending");
    this.schedule(pending.length ? Math.min(...pending.map((e) => e.nextAttemptAt)) : null);
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
