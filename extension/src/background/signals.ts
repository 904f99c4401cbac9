// Replies and bounces seen in Gmail, in the background: only signals of threads that hold a tracked email reach
// the tracker; those of a thread whose email is still in the outbox are held (held-signals.ts) and released once
// it is registered, and recent ones of a thread with no tracked email yet are kept a few hours while it is asked about
// again. Spread into handlers.ts's Gmail table, so messaging.ts types the call like every other.
import { z } from "zod";
import { bounceSignal, replySignal, signalsRequest } from "../../../shared/api";
import { bouncedAddresses, classifyBounce, MAX_NOTICE_CHARS } from "../../../shared/bounce";
import { serialRunner } from "../serial";
import type { ContactCheckCache } from "./contact-checks";
import type { Credentials, TrackerAccess } from "./credentials";
import { handler } from "./handler";
import type { HeldSignal, HeldSignals, Signal } from "./held-signals";

export interface SignalDeps extends TrackerAccess {
  /** Tracked messages of these threads (the Sent list's status cache). */
  trackedThreads(credentials: Credentials, threadIds: string[]): Promise<Set<string>>;
  /**
   * Threads of the emails still in the outbox, each with its email's account (undefined: not known by its id): the
   * tracker will know them once they are delivered. With `afterFlush`, as they are once the outbox's deliveries under
   * way are written back (a release right after a delivery must see it).
   */
  outboxThreads(afterFlush: boolean): Promise<ReadonlyMap<string, string | undefined>>;
  /** Signals of those threads, kept until the tracker knows the thread. */
  held: HeldSignals;
  /** Every account this browser has been connected to (credential-store.ts heldAccounts): HeldSignals.due. */
  accountsHeld(): Promise<string[]>;
  /** The tracker has news for these threads: drop their cached status and tell the Gmail tabs. */
  news(threadIds: string[]): void;
  /** The compose windows' recipient checks: a bounce recorded makes its addresses' answers stale. */
  checks: ContactCheckCache;
}

interface Reported {
  /**
   * Answered for good: taken by the tracker (any outcome but `unmatched`), given up on after every retry of an
   * `unmatched` one (held-signals.ts), or in a thread that holds no tracked email and not kept (HeldSignals.untracked).
   */
  settled: string[];
  /**
   * Kept in `deps.held` too, not sent until its thread holds a tracked email: their thread held none, and is asked
   * about again later.
   */
  untracked: string[];
  /** Kept in `deps.held`: their thread's email is still in the outbox. */
  held: string[];
  /** Kept in `deps.held` too: the tracker answered them `unmatched`, and they are sent again later. */
  unmatched: string[];
  /** Recorded now, not before. */
  recorded: Signal[];
}

/**
 * Holds the signals of threads whose email is still in the outbox (no network needed: a tracker that is down
 * loses none of them) and sends the others, of threads the tracker tracks, to it (the rest of the user's mail is
 * none of its business: recent ones of the other threads are kept here a while, HeldSignals.untracked). Throws when
 * the tracker cannot be reached. `released`: these are held signals a release sends (releaseNow), not a Gmail tab's
 * report: the outbox is read once its deliveries under way are written back, and each may be one held already.
 */
async function report(deps: SignalDeps, credentials: Credentials, self: string[], signals: Signal[], released: boolean): Promise<Reported> {
  const inOutbox = await deps.outboxThreads(released);
  const held = signals.filter((s) => inOutbox.has(s.threadId));
  // For the account of the email they wait on, which may be one the rep left (sent from a compose opened before).
  if (held.length > 0) await deps.held.hold(self, held, (signal) => inOutbox.get(signal.threadId) ?? credentials.accountId);
  const heldIds = held.map((s) => s.gmailMessageId);
  const rest = signals.filter((s) => !inOutbox.has(s.threadId));
  if (rest.length === 0) return { settled: [], untracked: [], held: heldIds, unmatched: [], recorded: [] };
  const tracked = await deps.trackedThreads(credentials, [...new Set(rest.map((s) => s.threadId))]);
  // No tracked email in the thread, as far as the status cache knows: kept a while if recent, its email's registration
  // perhaps still on its way, and not sent until its thread holds a tracked email.
  const notTracked = rest.filter((s) => !tracked.has(s.threadId));
  const settled = await deps.held.untracked(credentials.accountId, self, notTracked, released);
  const untracked = notTracked.map((s) => s.gmailMessageId).filter((id) => !settled.includes(id));
  const wanted = rest.filter((s) => tracked.has(s.threadId));
  if (wanted.length === 0) return { settled, untracked, held: heldIds, unmatched: [], recorded: [] };
  const { results } = await deps.tracker(credentials).signals({ self, signals: wanted });
  // Unmatched: the tracker holds no email of the thread sent before it, yet; kept to be sent again (held-signals.ts).
  const unmatchedIds = new Set(results.filter((r) => r.outcome === "unmatched").map((r) => r.gmailMessageId));
  const givenUp =
    unmatchedIds.size === 0
      ? []
      : await deps.held.unmatched(
          credentials.accountId,
          self,
          wanted.filter((s) => unmatchedIds.has(s.gmailMessageId)),
        );
  const kept = [...unmatchedIds].filter((id) => !givenUp.includes(id));
  const recordedIds = new Set(results.filter((r) => r.outcome === "recorded").map((r) => r.gmailMessageId));
  const recorded = wanted.filter((s) => recordedIds.has(s.gmailMessageId));
  if (recorded.length > 0) deps.news([...new Set(recorded.map((s) => s.threadId))]);
  // A bounce just recorded: the compose windows' cached answers for its addresses are stale.
  deps.checks.invalidate(recorded.flatMap((s) => (s.kind === "bounce" ? s.bounce.recipients : [])));
  const answered = results.filter((r) => r.outcome !== "unmatched").map((r) => r.gmailMessageId);
  // Held for a retry, or listed as not counted, before this report: the tracker has them now.
  await deps.held.taken(answered);
  return { settled: [...settled, ...answered, ...givenUp], untracked, held: heldIds, unmatched: kept, recorded };
}

/**
 * Reports the held signals whose email the tracker now knows, and the unmatched or untracked ones due to be tried again
 * (an untracked one is sent only if its thread holds a tracked email now); those
 * still waiting stay held, and so does everything when the tracker cannot be reached. Run after an outbox delivery,
 * once the rep connects to an account, and every minute (it is idempotent: the tracker dedupes by Gmail message id).
 * Returns how many were settled.
 */
export function releaseHeldSignals(deps: SignalDeps): Promise<number> {
  return oneRelease(() => releaseNow(deps));
}

/** Releases run one at a time, whoever starts them: two at once would send the same signals twice. */
const oneRelease = serialRunner();

async function releaseNow(deps: SignalDeps): Promise<number> {
  // Nothing due (none of the account connected, or none connected): no error.
  // The outbox as stored now: one held before its account was kept, its email still there, is its email's.
  const release = await deps.held.due({ outboxThreads: () => deps.outboxThreads(false), accountsHeld: deps.accountsHeld });
  if (!release) return 0;
  const { due: held, credentials } = release;
  // One request per set of own addresses (nearly always one), within the request's limit of signals.
  const bySelf = new Map<string, HeldSignal[]>();
  for (const item of held) {
    const key = JSON.stringify(item.self);
    bySelf.set(key, [...(bySelf.get(key) ?? []), item]);
  }
  let settled = 0;
  for (const group of bySelf.values()) {
    for (let i = 0; i < group.length; i += MAX_SIGNALS_PER_REQUEST) {
      const chunk = group.slice(i, i + MAX_SIGNALS_PER_REQUEST);
      const result = await report(
        deps,
        credentials,
        chunk[0]?.self ?? [],
        chunk.map((h) => h.signal),
        true,
      );
      await deps.held.settle(result.settled);
      settled += result.settled.length;
    }
  }
  return settled;
}

/** POST /api/signals takes at most this many signals (shared/api.ts signalsRequest). */
const MAX_SIGNALS_PER_REQUEST = 100;

/**
 * A bounce notice as the content script reads it in Gmail (thread-signals.ts): its visible text, which the background
 * classifies here (shared/bounce.ts), so that none of the parsing weighs on the script every Gmail tab loads.
 */
const noticeSignal = bounceSignal.omit({ bounce: true }).extend({ notice: z.string().max(MAX_NOTICE_CHARS) });

/** What a Gmail tab reports: replies as the tracker takes them, and bounce notices as read (noticeSignal). */
export const gmailSignalsRequest = signalsRequest.extend({
  signals: z
    .array(z.discriminatedUnion("kind", [replySignal, noticeSignal]))
    .min(1)
    .max(MAX_SIGNALS_PER_REQUEST),
});

/** A notice as the tracker takes it: hard or soft, the addresses it names but the sender's own, and its opening words. */
export function bounceOfNotice(signal: z.output<typeof noticeSignal>, self: readonly string[]): Signal {
  const { notice, ...base } = signal;
  const flat = notice.replace(/\s+/g, " ").trim();
  return {
    ...base,
    bounce: {
      kind: classifyBounce(flat),
      recipients: bouncedAddresses(flat, { exclude: self }).slice(0, 100),
      ...(flat ? { reason: flat.slice(0, 500) } : {}),
    },
  };
}

export function signalHandlers(deps: SignalDeps) {
  return {
    /**
     * Replies and notices seen in Gmail (see report). `answered`: the keys the content script never sends again,
     * settled for good, or held here until their email is registered or, unmatched or untracked, until their next try.
     */
    reportSignals: handler(gmailSignalsRequest, async (input): Promise<{ answered: string[]; recorded: number }> => {
      const credentials = await deps.requireCredentials();
      const signals = input.signals.map((s) => (s.kind === "bounce" ? bounceOfNotice(s, input.self) : s));
      // The outbox as stored now: a Gmail tab never waits for a flush (up to the tracker's timeout per entry).
      const { settled, untracked, held, unmatched, recorded } = await report(deps, credentials, input.self, signals, false);
      if (held.length > 0) {
        // A flush may have delivered a held signal's email meanwhile, its release reading the held signals before
        // this one was: release now rather than at the next minute's alarm.
        const stillWaiting = await deps.outboxThreads(false);
        if (input.signals.some((s) => held.includes(s.gmailMessageId) && !stillWaiting.has(s.threadId)))
          void releaseHeldSignals(deps).catch((error: unknown) => console.warn("held signals not reported yet", error));
      }
      return { answered: [...settled, ...untracked, ...held, ...unmatched], recorded: recorded.length };
    }),
  };
}
