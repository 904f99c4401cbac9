// Replies and bounces seen in a thread whose tracked email is still in the outbox: the tracker does not know that
// thread yet, so it cannot take them. The background keeps them here, in extension storage, and reports them once
// the email is registered (signals.ts releaseHeldSignals). A reply seen while the tracker was down is then not
// lost when the rep moves on to another thread, reloads Gmail or restarts the browser.
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
}

export const HELD_SIGNALS_KEY = "heldSignals";
/** A bound on storage: far more replies than a rep gets while one tracker outage lasts. The oldest go first. */
export const MAX_HELD_SIGNALS = 1000;

export class HeldSignals {
  private readonly serial = serialRunner();

  constructor(private readonly area: KeyValueArea) {}

  /** Oldest first. */
  async all(): Promise<HeldSignal[]> {
    const stored = (await this.area.get(HELD_SIGNALS_KEY))[HELD_SIGNALS_KEY];
    return Array.isArray(stored) ? (stored as HeldSignal[]) : [];
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
