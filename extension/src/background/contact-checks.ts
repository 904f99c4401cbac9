// The compose window's recipient checks: whether an address bounced hard, is suppressed or opted out, asked of
// the tracker (POST /api/contacts/check) and cached per address for a short while.
import { z } from "zod";
import { type ContactCheck, emailAddress } from "../../../shared/api";
import { foldAddress, normalizeEmail } from "../../../shared/email";
import type { TrackerAccess } from "./credentials";
import { handler, strings } from "./handler";

/**
 * Per-address answers of POST /api/contacts/check, kept a short while: a compose re-checks on every recipient change.
 * Kept by the address folded (foldAddress), as the tracker compares addresses: one answer for all its spellings.
 */
export class ContactCheckCache {
  private readonly entries = new Map<string, { at: number; check: ContactCheck }>();
  /**
   * Counts the clears and invalidations: an answer asked before one and come after it is not kept, as it may be the
   * account's before a switch, or from before a bounce was recorded (given to its caller then: that is still the
   * connected account's, and only misses the bounce, as an answer asked a moment earlier would).
   */
  private generation = 0;
  /**
   * Counts the clears alone: an answer asked before one is the account's before, given to no compose window after it
   * (that account's contacts' bounces and opt-outs are not the next one's).
   */
  private switches = 0;

  constructor(
    private readonly ttlMs = 2 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(emails: string[], fetchChecks: (emails: string[]) => Promise<ContactCheck[]>): Promise<ContactCheck[]> {
    // Only addresses the tracker accepts: one it would refuse turns the whole batch into a 400.
    const wanted = [...new Set(emails.map(normalizeEmail).filter((e) => emailAddress.safeParse(e).success))].slice(0, 100);
    const missing = new Map<string, string>();
    for (const e of wanted) {
      const entry = this.entries.get(foldAddress(e));
      if (!missing.has(foldAddress(e)) && (!entry || this.now() - entry.at > this.ttlMs)) missing.set(foldAddress(e), e);
    }
    const fetched = new Map<string, ContactCheck>();
    if (missing.size > 0) {
      const at = this.now();
      const generation = this.generation;
      const switches = this.switches;
      const answers = await fetchChecks([...missing.values()]);
      for (const check of switches === this.switches ? answers : []) {
        fetched.set(foldAddress(check.email), check);
        if (generation === this.generation) this.entries.set(foldAddress(check.email), { at, check });
      }
    }
    if (this.entries.size > 2000) this.entries.clear();
    // Each answer under the spelling the compose window asked about.
    return wanted.flatMap((e) => {
      const check = fetched.get(foldAddress(e)) ?? this.entries.get(foldAddress(e))?.check;
      return check ? [{ ...check, email: e }] : [];
    });
  }

  /**
   * A bounce was just recorded, or a suppression lifted: these addresses' answers are stale, in every spelling of
   * them (foldAddress), as the tracker compares them: a notice naming `jörg@xn--mnchen-3ya.de` is about the
   * `jörg@münchen.de` the rep is writing to.
   */
  invalidate(emails: Iterable<string>): void {
    this.generation++;
    for (const email of emails) this.entries.delete(foldAddress(email));
  }

  /** Another account connected, or none: each answer was the account's before (its contacts' bounces, opt-outs). */
  clear(): void {
    this.generation++;
    this.switches++;
    this.entries.clear();
  }
}

/**
 * `checks`: one per background; the compose windows' checks read it, and a recorded bounce or a lift of a
 * suppression in the dashboard clears the addresses concerned.
 */
export function contactCheckHandlers(deps: TrackerAccess & { checks: ContactCheckCache }) {
  return {
    /** The compose window's warnings: which recipients bounced hard or opted out (cached per address). */
    checkRecipients: handler(z.object({ emails: strings }), async ({ emails }): Promise<{ contacts: ContactCheck[] }> => {
      const credentials = await deps.requireCredentials();
      if (emails.length === 0) return { contacts: [] };
      return {
        contacts: await deps.checks.get(emails, async (missing) => (await deps.tracker(credentials).checkContacts(missing)).contacts),
      };
    }),
  };
}
