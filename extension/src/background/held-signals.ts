// Replies and bounces seen in a thread whose tracked email is still in the outbox: the tracker does not know that
// thread yet, so it cannot take them. The background keeps them here, in extension storage, and reports them once
// the email is registered (signals.ts releaseHeldSignals). A reply seen while the tracker was down is then not
// lost when the rep moves on to another thread, reloads Gmail or restarts the browser. One the tracker answers
// `unmatched` (no tracked email of its thread sent before it: docs/protocol.md, Attribution) is kept here too and sent
// again a few times over some hours, then recorded where a developer finds it (UNMATCHED_SIGNALS_KEY), not deleted.
import type { z } from "zod";
import type { signalsRequest } from "../../../shared/api";
import { serialRunner } from "../serial";
import type { KeyValueArea } from "./outbox";

/** One reply or notice, as validated (defaults filled in). */
export type Signal = z.output<typeof signalsRequest>["signals"][number];

export interface HeldSignal {
  /** The sender's own addresses when it was seen (replies from them are ignored by the tracker). */
  self: string[];
  signal: Signal;
  /** The tracker answered it `unmatched` `times` times; it is sent again from `nextAt` on (UNMATCHED_RETRY_MS). */
  unmatched?: { times: number; nextAt: number };
}

/** A signal the tracker still answered `unmatched` after every retry, as recorded in UNMATCHED_SIGNALS_KEY. */
export interface UnmatchedSignal {
  signal: Signal;
  /** How many times the tracker answered `unmatched`, and when the last one came. */
  times: number;
  givenUpAt: number;
}

export const HELD_SIGNALS_KEY = "heldSignals";
/** A bound on storage: far more replies than a rep gets while one tracker outage lasts. The oldest go first. */
export const MAX_HELD_SIGNALS = 1000;

/**
 * How long after each `unmatched` answer a signal is sent again: four more tries over about seven hours, then it is
 * given up. Its email's registration may still be on its way (in the outbox of another browser of the rep's, or
 * waiting out the outbox's backoff of up to 15 minutes while its thread's first email is registered), or be sent again
 * with a send time or thread id the tracker matches; a signal still unmatched after hours will stay so.
 */
export const UNMATCHED_RETRY_MS = [60_000, 10 * 60_000, 60 * 60_000, 6 * 60 * 60_000];
/** Where given-up signals are recorded (the extension's storage, read in its developer tools), newest last. */
export const UNMATCHED_SIGNALS_KEY = "unmatchedSignals";
/** A bound on that record: the newest are kept. */
export const MAX_UNMATCHED_RECORDED = 100;

export class HeldSignals {
  private readonly serial = serialRunner();

  constructor(
    private readonly area: KeyValueArea,
    private readonly now: () => number = Date.now,
  ) {}

  /** Oldest first. */
  async all(): Promise<HeldSignal[]> {
    const stored = (await this.area.get(HELD_SIGNALS_KEY))[HELD_SIGNALS_KEY];
    return Array.isArray(stored) ? (stored as HeldSignal[]) : [];
  }

  /** Those to send now: all but the unmatched ones whose next try is still to come. Oldest first. */
  async due(): Promise<HeldSignal[]> {
    const now = this.now();
    return (await this.all()).filter((h) => h.unmatched === undefined || h.unmatched.nextAt <= now);
  }

  /** The signals given up on after every retry (UNMATCHED_SIGNALS_KEY), oldest first. */
  async givenUp(): Promise<UnmatchedSignal[]> {
    const stored = (await this.area.get(UNMATCHED_SIGNALS_KEY))[UNMATCHED_SIGNALS_KEY];
    return Array.isArray(stored) ? (stored as UnmatchedSignal[]) : [];
  }

  /**
   * The tracker answered these signals `unmatched`: each is kept to be sent again after its next UNMATCHED_RETRY_MS,
   * or, past the last, moved to the record of given-up ones. A signal reported again before its next try is due (by
   * another Gmail tab) counts no try. Returns the Gmail message ids of those given up, now or before.
   */
  unmatched(self: readonly string[], signals: readonly Signal[]): Promise<string[]> {
    return this.serial(async () => {
      if (signals.length === 0) return [];
      const now = this.now();
      const held = await this.all();
      const givenUp: UnmatchedSignal[] = [];
      // One given up already, reported again by a Gmail tab loaded since: not tried all over again.
      const record = await this.givenUp();
      const before = new Set(record.map((g) => g.signal.gmailMessageId));
      const again = signals.filter((s) => before.has(s.gmailMessageId)).map((s) => s.gmailMessageId);
      for (const signal of signals.filter((s) => !before.has(s.gmailMessageId))) {
        const index = held.findIndex((h) => h.signal.gmailMessageId === signal.gmailMessageId);
        const kept = index < 0 ? undefined : held[index];
        if (kept?.unmatched && kept.unmatched.nextAt > now) continue;
        const times = (kept?.unmatched?.times ?? 0) + 1;
        const wait = UNMATCHED_RETRY_MS[times - 1];
        if (wait === undefined) {
          givenUp.push({ signal, times, givenUpAt: now });
          if (index >= 0) held.splice(index, 1);
          continue;
        }
        const item = { self: kept?.self ?? [...self], signal, unmatched: { times, nextAt: now + wait } };
        if (index < 0) held.push(item);
        else held[index] = item;
      }
      if (givenUp.length > 0)
        console.warn(`replies or bounces matched no tracked email after every retry, recorded in ${UNMATCHED_SIGNALS_KEY}`, givenUp);
      await this.area.set({
        [HELD_SIGNALS_KEY]: held.slice(-MAX_HELD_SIGNALS),
        [UNMATCHED_SIGNALS_KEY]: [...record, ...givenUp].slice(-MAX_UNMATCHED_RECORDED),
      });
      return [...again, ...givenUp.map((g) => g.signal.gmailMessageId)];
    });
  }

  /** Keeps these signals (once each, by Gmail message id) until `settle` is called for them. */
  hold(self: readonly string[], signals: readonly Signal[]): Promise<void> {
    return this.serial(async () => {
      const held = await this.all();
      const known = new Set(held.map((h) => h.signal.gmailMessageId));
      const fresh = signals.filter((s) => !known.has(s.gmailMessageId)).map((signal) => ({ self: [...self], signal }));
      if (fresh.length === 0) return;
      await this.area.set({ [HELD_SIGNALS_KEY]: [...held, ...fresh].slice(-MAX_HELD_SIGNALS) });
    });
  }

  /** Forgets these signals (by Gmail message id): the tracker has answered for them. */
  settle(gmailMessageIds: Iterable<string>): Promise<void> {
    const done = new Set(gmailMessageIds);
    return this.serial(async () => {
      const held = await this.all();
      const left = held.filter((h) => !done.has(h.signal.gmailMessageId));
      if (left.length !== held.length) await this.area.set({ [HELD_SIGNALS_KEY]: left });
    });
  }
}
