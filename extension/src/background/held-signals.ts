// Replies and bounces seen in a thread whose tracked email is still in the outbox: the tracker does not know that
// thread yet, so it cannot take them. The background keeps them here, in extension storage, and reports them once
// the email is registered (signals.ts releaseHeldSignals). A reply seen while the tracker was down is then not
// lost when the rep moves on to another thread, reloads Gmail or restarts the browser. One the tracker answers
// `unmatched` (no tracked email of its thread sent before it: docs/protocol.md, Attribution) is kept here too and sent
// again a few times over some hours, then recorded (UNMATCHED_SIGNALS_KEY), not deleted, and listed on the options
// page until the rep clears it or the tracker takes it after all (reported again by a Gmail tab). Storage is bounded,
// but nothing leaves it unseen: a signal pushed out of the held ones, or out of that record, by their bound is counted
// (UNLISTED_SIGNALS_KEY), told by the popup and the options page. A recent one of a thread where the tracker knew no
// tracked email is kept too, not sent until its thread holds a tracked email, and its thread asked about again on the
// same schedule (HeldSignals.untracked).
import { z } from "zod";
import type { signalsRequest } from "../../../shared/api";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../../shared/durations";
import { GMAIL_ID_WITH_HASH } from "../../../shared/gmail-message-id";
import { underAccountLock } from "./account-lock";
import type { Credentials } from "./credentials";
import { handler, noInput } from "./handler";
import type { KeyValueArea } from "./outbox";

/** One reply or notice, as validated (defaults filled in). */
export type Signal = z.output<typeof signalsRequest>["signals"][number];

export interface HeldSignal {
  /** The sender's own addresses when it was seen (replies from them are ignored by the tracker). */
  self: string[];
  signal: Signal;
  /**
   * The account connected when it was held, whose tracker its email goes to: it is sent to that tracker only, though
   * the rep connected to another since (its email delivered, that tracker down as it was released). Absent from one
   * stored before it was kept: given it at the first release (HeldSignals.withAccounts), and at a switch before that
   * kept only while its email is in the outbox, with that email's account (changeAccount).
   */
  account?: string;
  /** The tracker answered it `unmatched` `times` times; it is sent again from `nextAt` on (UNMATCHED_RETRY_MS). */
  unmatched?: Retry;
  /**
   * Its thread held no tracked email when asked about `times` times (HeldSignals.untracked); asked about again from
   * `nextAt` on, and sent only once the tracker knows an email of it.
   */
  untracked?: Retry;
}

interface Retry {
  times: number;
  nextAt: number;
}

/** A signal the tracker never counted, as recorded in UNMATCHED_SIGNALS_KEY. */
export interface UnmatchedSignal {
  signal: Signal;
  /**
   * How many times the tracker answered `unmatched` (after every retry), and when the last one came. It leaves the
   * record once the tracker takes it, reported again by a Gmail tab (HeldSignals.taken).
   */
  times: number;
  givenUpAt: number;
  /** The rep cleared it from the options page's list; kept so that one reported again is not tried all over again. */
  cleared?: true;
}

export const HELD_SIGNALS_KEY = "heldSignals";
/**
 * A bound on storage: far more replies than a rep has waiting (each needs its email stuck in the outbox, or is within
 * its retries' hours). The oldest are pushed out (the newest are the threads the rep is working on now), counted in
 * UNLISTED_SIGNALS_KEY: a Gmail tab reports each again the next time Gmail loads (content/features/replies-bounces.ts
 * remembers what it reported for the page's life only). Replies and bounces alike.
 */
export const MAX_HELD_SIGNALS = 1000;

/**
 * How long after each `unmatched` answer a signal is sent again: four more tries over about seven hours, then it is
 * given up. Its email's registration may still be on its way (in the outbox of another browser of the rep's, or
 * waiting out the outbox's backoff of up to 15 minutes while its thread's first email is registered), or be sent again
 * with a send time or thread id the tracker matches; a signal still unmatched after hours will stay so.
 */
export const UNMATCHED_RETRY_MS = [MINUTE_MS, 10 * MINUTE_MS, HOUR_MS, 6 * HOUR_MS];
/**
 * The try after `previous` (UNMATCHED_RETRY_MS), or null past the last. Each step counts: `times` is one more than
 * `previous`'s.
 */
function nextRetry(previous: Retry | undefined, now: number): Retry | null {
  const times = (previous?.times ?? 0) + 1;
  const wait = UNMATCHED_RETRY_MS[times - 1];
  return wait === undefined ? null : { times, nextAt: now + wait };
}

/**
 * A signal of a thread where the tracker knew no tracked email is asked about again (HeldSignals.untracked) when it
 * came within this long before it was first reported: a tracked email's registration may still be on its way from the
 * outbox of another browser of the rep's (sent from a second computer, its tracker down or the computer closed since),
 * or have been registered after the status cache's negative answer (kept 20 s, status-cache.ts STATUS_TTL_MS). An
 * older one, listed when Gmail loads, is nearly always of mail the rep never tracked, and the other browser's own Gmail
 * tab reports again what it lists once it is back.
 */
export const UNTRACKED_RECENT_MS = DAY_MS;
/**
 * A bound on those kept to be asked about again, far fewer than MAX_HELD_SIGNALS: most are of mail the rep never
 * tracked, so the oldest are pushed out first, before any held or unmatched one, and not counted in UNLISTED_SIGNALS_KEY.
 */
export const MAX_UNTRACKED_KEPT = 200;

/** Where the signals not counted are recorded (listed on the options page), newest last. */
export const UNMATCHED_SIGNALS_KEY = "unmatchedSignals";
/** A bound on that record: those the rep cleared go first, then the oldest, counted in UNLISTED_SIGNALS_KEY. */
export const MAX_UNMATCHED_RECORDED = 100;
/**
 * How many signals, not cleared by the rep, were pushed out by a bound: of the held ones (MAX_HELD_SIGNALS) or of the
 * record (MAX_UNMATCHED_RECORDED). At most that many were not counted: kept without their ids, none is taken off when
 * the tracker takes it after all (taken), so the popup and the options page say "up to" (words.ts notCountedSignals).
 */
export const UNLISTED_SIGNALS_KEY = "unmatchedSignalsUnlisted";

/**
 * What the options page lists: the signals not counted the rep has not cleared, oldest first, and how many more at
 * most (UNLISTED_SIGNALS_KEY).
 */
export interface UnmatchedListing {
  signals: UnmatchedSignal[];
  unlisted: number;
}

/** A listed signal as the options page saw it: one recorded again since (a later givenUpAt) is another. */
export interface ListedSignal {
  gmailMessageId: string;
  givenUpAt: number;
}

/**
 * `over` items pushed out of `items`: first those `goesFirst` picks, then the others, oldest (first) first in each.
 * Returns those kept, in their order, and those pushed out.
 */
function pushOut<T>(items: readonly T[], over: number, goesFirst: (item: T) => boolean): { kept: T[]; out: T[] } {
  if (over <= 0) return { kept: [...items], out: [] };
  const out = new Set([...items.filter(goesFirst), ...items.filter((item) => !goesFirst(item))].slice(0, over));
  return { kept: items.filter((item) => !out.has(item)), out: items.filter((item) => out.has(item)) };
}

/**
 * The account `held` goes to: the one it was held for, or, stored before that was kept, its email's while that email
 * is in the outbox (`inOutbox`: thread → account, outbox.ts threadsWaiting); undefined otherwise.
 */
export function accountHeldFor(held: HeldSignal, inOutbox: ReadonlyMap<string, string | undefined>): string | undefined {
  return held.account ?? inOutbox.get(held.signal.threadId);
}

/** What tells which account a held signal stored before its account was kept goes to (HeldSignals.withAccounts). */
export interface AccountsKnown {
  /** The threads of the emails in the outbox, each with its email's account (outbox.ts threadsWaiting). */
  outboxThreads(): Promise<ReadonlyMap<string, string | undefined>>;
  /** Every account this browser has been connected to (credential-store.ts heldAccounts). */
  accountsHeld(): Promise<string[]>;
}

export class HeldSignals {
  /** Every read-modify-write of the held signals, and every change of the connected account (account-lock.ts). */
  private readonly serial = underAccountLock;

  constructor(
    private readonly area: KeyValueArea,
    /** The credentials this browser is connected with now, if any (credential-store.ts loadCredentials). */
    private readonly connected: () => Promise<Credentials | null>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The account this browser is connected to now, if any. */
  private async connectedAccount(): Promise<string | null> {
    return (await this.connected())?.accountId ?? null;
  }

  /**
   * Whether an answer of the tracker of account `sentFor` may still be written (under the lock): not once the rep left
   * that account (changeAccount switches the credentials under the same lock). A release or a report under way as the
   * rep switches would otherwise write its retries back after the clear, and they would go to the new tracker.
   */
  private async stillFor(sentFor: string): Promise<boolean> {
    return (await this.connectedAccount()) === sentFor;
  }

  /** Oldest first. */
  async all(): Promise<HeldSignal[]> {
    const stored = (await this.area.get(HELD_SIGNALS_KEY))[HELD_SIGNALS_KEY];
    return Array.isArray(stored) ? (stored as HeldSignal[]) : [];
  }

  /**
   * Those to send now, oldest first, with the connected account's `credentials` they go with, or null when none is.
   * Due: all but the unmatched or untracked ones whose next try is still to come, and only those of the account
   * connected now. One held for another account waits, due for nothing, until the rep connects to it again (connect
   * releases the held ones at once, handlers.ts); while disconnected, none is. One stored before its account was kept
   * is given it first (withAccounts), while connected. Nothing is read past the held signals when none can go: the
   * credentials only when some are timely, the outbox and the accounts held only while connected (this runs at every
   * release). The credentials are read in the same step under the lock: changeAccount switches them under it too, so
   * those read are the account's whose signals were picked.
   */
  due(known: AccountsKnown): Promise<{ due: HeldSignal[]; credentials: Credentials } | null> {
    return this.serial(async () => {
      const now = this.now();
      const timely = (h: HeldSignal) => (h.unmatched ?? h.untracked ?? { nextAt: now }).nextAt <= now;
      const stored = await this.all();
      // One stored without its account is given it only when some can go: while disconnected its email leaves the
      // outbox only taken back or dropped with its account (dropAccount), nowhere to go either way, never delivered;
      // one waiting for its next try was sent already, its thread then holding no email of the outbox.
      if (!stored.some(timely)) return null;
      const credentials = await this.connected();
      if (credentials === null) return null;
      const held = await this.withAccounts(stored, credentials.accountId, known);
      const due = held.filter((h) => timely(h) && h.account === credentials.accountId);
      return due.length === 0 ? null : { due, credentials };
    });
  }

  /**
   * Gives each of `held` stored before its account was kept (HeldSignal.account) the account it goes to, as soon as
   * that is known, and writes them back (under the lock): its email's while that email is in the outbox; once it left
   * (delivered, its tracker down as the reply was released), the account `connected` now if it is the only one this
   * browser has held (AccountsKnown.accountsHeld, none recorded telling nothing), as it can then have been held for no
   * other. Otherwise, connected
   * after another account, it is dropped, logged: an earlier version kept it past a switch (HeldSignal.account), so
   * nothing tells which account's tracker knows its thread, and sent to the wrong one it would show a reply of one
   * account's mail to another's tracker (answered unmatched, then listed there as not counted). It is not lost: a
   * Gmail tab reports it again whenever Gmail lists its thread (content/features/replies-bounces.ts keeps what it
   * reported for the page's life only), and it then goes to the tracker that knows its thread.
   */
  private async withAccounts(held: HeldSignal[], connected: string, known: AccountsKnown): Promise<HeldSignal[]> {
    if (held.every((h) => h.account !== undefined)) return held;
    const inOutbox = await known.outboxThreads();
    // None recorded: an earlier version connected to this one, and maybe to others before it, recording none.
    const recorded = await known.accountsHeld();
    const only = recorded.length > 0 && recorded.every((a) => a === connected) ? connected : undefined;
    const dropped: HeldSignal[] = [];
    let changed = false;
    const given = held.flatMap((h): HeldSignal[] => {
      const account = accountHeldFor(h, inOutbox) ?? only;
      changed ||= account !== h.account;
      if (account !== undefined) return [{ ...h, account }];
      dropped.push(h);
      return [];
    });
    if (dropped.length > 0)
      console.warn(
        "replies or bounces held by an earlier version dropped: their email left the outbox and this browser may have held other accounts, so which account's tracker knows their thread is not known; Gmail reports them again",
        dropped,
      );
    if (changed || dropped.length > 0) await this.area.set({ [HELD_SIGNALS_KEY]: given });
    return given;
  }

  /** The signals not counted (UNMATCHED_SIGNALS_KEY), cleared ones too, oldest first. */
  async givenUp(): Promise<UnmatchedSignal[]> {
    const stored = (await this.area.get(UNMATCHED_SIGNALS_KEY))[UNMATCHED_SIGNALS_KEY];
    return Array.isArray(stored) ? (stored as UnmatchedSignal[]) : [];
  }

  private async unlisted(): Promise<number> {
    const stored = (await this.area.get(UNLISTED_SIGNALS_KEY))[UNLISTED_SIGNALS_KEY];
    return typeof stored === "number" ? stored : 0;
  }

  /** The options page's list (UnmatchedListing). */
  async listing(): Promise<UnmatchedListing> {
    const [record, unlisted] = await Promise.all([this.givenUp(), this.unlisted()]);
    return { signals: record.filter((r) => !r.cleared), unlisted };
  }

  /**
   * The rep cleared the list they saw: those signals, and as many of the unlisted. Ones recorded since stay listed, a
   * signal recorded again too (given up anew, after the bound had pushed out its older record): it is news.
   * The cleared ones stay in the record, unlisted, until its bound pushes them out.
   */
  clear(seen: { listed: readonly ListedSignal[]; unlisted: number }): Promise<void> {
    const wasSeen = (r: UnmatchedSignal) =>
      seen.listed.some((l) => l.gmailMessageId === r.signal.gmailMessageId && l.givenUpAt === r.givenUpAt);
    return this.serial(async () => {
      const record = (await this.givenUp()).map((r): UnmatchedSignal => (wasSeen(r) ? { ...r, cleared: true } : r));
      await this.area.set({
        [UNMATCHED_SIGNALS_KEY]: record,
        [UNLISTED_SIGNALS_KEY]: Math.max(0, (await this.unlisted()) - seen.unlisted),
      });
    });
  }

  /**
   * Writes the held signals and the record with `added` (under the lock), each within its bound (MAX_HELD_SIGNALS,
   * MAX_UNTRACKED_KEPT, MAX_UNMATCHED_RECORDED); those pushed out, but the untracked ones and the ones the rep cleared,
   * are counted in UNLISTED_SIGNALS_KEY.
   */
  private async store(held: readonly HeldSignal[], added: readonly UnmatchedSignal[] = []): Promise<void> {
    const untracked = (h: HeldSignal) => h.untracked !== undefined;
    const over = Math.max(held.length - MAX_HELD_SIGNALS, held.filter(untracked).length - MAX_UNTRACKED_KEPT);
    const kept = pushOut(held, over, untracked);
    const counted = kept.out.filter((h) => !untracked(h));
    if (counted.length > 0)
      console.warn(`more than ${MAX_HELD_SIGNALS} replies or bounces waiting: the oldest counted in ${UNLISTED_SIGNALS_KEY}`, counted);
    const record = [...(await this.givenUp()), ...added];
    const bounded = pushOut(record, record.length - MAX_UNMATCHED_RECORDED, (r) => r.cleared === true);
    const unlisted = counted.length + bounded.out.filter((r) => !r.cleared).length;
    await this.area.set({
      [HELD_SIGNALS_KEY]: kept.kept,
      [UNMATCHED_SIGNALS_KEY]: bounded.kept,
      ...(unlisted > 0 ? { [UNLISTED_SIGNALS_KEY]: (await this.unlisted()) + unlisted } : {}),
    });
  }

  /**
   * The tracker answered these signals `unmatched`: each is kept to be sent again after its next UNMATCHED_RETRY_MS,
   * or, past the last, moved to the record of given-up ones. A signal reported again before its next try is due (by
   * another Gmail tab) counts no try. Returns the Gmail message ids of those given up, now or before. `sentFor`: the
   * account whose tracker answered; nothing is written once the rep left it (stillFor).
   */
  unmatched(sentFor: string, self: readonly string[], signals: readonly Signal[]): Promise<string[]> {
    return this.serial(async () => {
      if (signals.length === 0 || !(await this.stillFor(sentFor))) return [];
      const now = this.now();
      const held = await this.all();
      const givenUp: UnmatchedSignal[] = [];
      // One given up already, reported again by a Gmail tab loaded since: not tried all over again.
      const before = new Set((await this.givenUp()).map((g) => g.signal.gmailMessageId));
      const again = signals.filter((s) => before.has(s.gmailMessageId)).map((s) => s.gmailMessageId);
      for (const signal of signals.filter((s) => !before.has(s.gmailMessageId))) {
        const index = held.findIndex((h) => h.signal.gmailMessageId === signal.gmailMessageId);
        const kept = index < 0 ? undefined : held[index];
        if (kept?.unmatched && kept.unmatched.nextAt > now) continue;
        const unmatched = nextRetry(kept?.unmatched, now);
        if (unmatched === null) {
          givenUp.push({ signal, times: (kept?.unmatched?.times ?? 0) + 1, givenUpAt: now });
          if (index >= 0) held.splice(index, 1);
          continue;
        }
        const item = { self: kept?.self ?? [...self], signal, account: sentFor, unmatched };
        if (index < 0) held.push(item);
        else held[index] = item;
      }
      if (givenUp.length > 0)
        console.warn(`replies or bounces matched no tracked email after every retry, recorded in ${UNMATCHED_SIGNALS_KEY}`, givenUp);
      await this.store(held, givenUp);
      return [...again, ...givenUp.map((g) => g.signal.gmailMessageId)];
    });
  }

  /**
   * The status cache says these signals' threads hold no tracked email. That answer may be stale (kept 20 s), or come
   * before the email's registration arrives from another browser's outbox: each that came within UNTRACKED_RECENT_MS is
   * kept (not sent until its thread holds a tracked email) and its thread asked about again after its next
   * UNMATCHED_RETRY_MS, and is dropped past the last (its thread then holds no tracked email for hours: mail the rep
   * never tracked, nearly always; a Gmail tab reports it again the next time Gmail loads). One reported again before
   * its next try is due (by another Gmail tab) counts no try. Returns the Gmail message ids of those not kept.
   * `sentFor`: the account whose tracker's status was read; nothing is written once the rep left it (stillFor).
   * `released`: these were read from the held signals (a release), each one looked up, old or not. A Gmail tab's older
   * ones are not kept, so not looked up either: a report holding nothing else (most do) takes no lock and reads no
   * storage. One of them kept already, reported again past a day, stays until its own next try.
   */
  untracked(sentFor: string, self: readonly string[], signals: readonly Signal[], released: boolean): Promise<string[]> {
    const now = this.now();
    // A time that does not parse (NaN) is not recent.
    const recent = (signal: Signal) => now - Date.parse(signal.at) <= UNTRACKED_RECENT_MS;
    const looked = released ? signals : signals.filter(recent);
    const old = released ? [] : signals.filter((s) => !recent(s)).map((s) => s.gmailMessageId);
    if (looked.length === 0) return Promise.resolve(old);
    return this.serial(async () => {
      if (!(await this.stillFor(sentFor))) return old;
      const held = await this.all();
      const dropped = [...old];
      let changed = false;
      for (const signal of looked) {
        const index = held.findIndex((h) => h.signal.gmailMessageId === signal.gmailMessageId);
        const kept = index < 0 ? undefined : held[index];
        if (kept?.untracked && kept.untracked.nextAt > now) continue;
        const untracked = kept?.untracked !== undefined || recent(signal) ? nextRetry(kept?.untracked, now) : null;
        changed ||= untracked !== null || index >= 0;
        if (untracked === null) {
          dropped.push(signal.gmailMessageId);
          if (index >= 0) held.splice(index, 1);
          continue;
        }
        const item = { self: kept?.self ?? [...self], signal, account: sentFor, untracked };
        if (index < 0) held.push(item);
        else held[index] = item;
      }
      if (changed) await this.store(held);
      return dropped;
    });
  }

  /**
   * Keeps these signals (once each, by Gmail message id) to be sent, each to the tracker of `accountOf` it: they leave
   * once sent and answered (settle, taken, unmatched past its retries), or pushed out by MAX_HELD_SIGNALS (counted).
   */
  hold(self: readonly string[], signals: readonly Signal[], accountOf: (signal: Signal) => string): Promise<void> {
    return this.serial(async () => {
      const held = await this.all();
      const known = new Set(held.map((h) => h.signal.gmailMessageId));
      const fresh = signals
        .filter((s) => !known.has(s.gmailMessageId))
        .map((signal) => ({ self: [...self], signal, account: accountOf(signal) }));
      if (fresh.length === 0) return;
      await this.store([...held, ...fresh]);
    });
  }

  /**
   * Runs `change`, which may switch the connected account (a Connect, a disconnect), under the lock every change of the
   * connected account takes (account-lock.ts), handing it `leave`, to be called before it switches the credentials when
   * the rep leaves the account held then (disconnected, or connected to another account): what was kept for the
   * tracker before goes. Its answers (the ones it answered `unmatched`, kept to be sent again; the record of those it
   * never counted, with its count), and the ones of threads it knew no tracked email of: none may reach another
   * account's tracker, nor the rep's other mail stay here once the rep left it. Those held for their email (hold) are
   * kept, each for the account it was held for: its email's registration is never dropped, and they go to that
   * account's tracker once it is delivered there (delivery.ts), and to no other. One stored before its account was
   * kept, only while its email is in the outbox, and then with that email's account (`outboxThreads`, read under the
   * lock: read before it, while another held-signal write ran, an email delivered meanwhile would keep its reply for
   * the account the rep connects to). The switch, made under the same lock after the clear, is what an answer of the
   * tracker before that comes later finds: it is not written (stillFor). `change` decides from what it reads under the
   * lock whether it leaves an account: another tab may have connected to another one meanwhile.
   */
  changeAccount<T>(
    change: (leave: () => Promise<void>) => Promise<T>,
    outboxThreads: () => Promise<ReadonlyMap<string, string | undefined>>,
  ): Promise<T> {
    return this.serial(() => change(() => this.clearForLeaving(outboxThreads)));
  }

  /** changeAccount's `leave`: run only under the lock, by the task changeAccount runs there. */
  private async clearForLeaving(outboxThreads: () => Promise<ReadonlyMap<string, string | undefined>>): Promise<void> {
    const inOutbox = await outboxThreads();
    // One stored without its account is kept with its email's: due() would take it for the next account's otherwise.
    const waiting = (await this.all())
      .filter((h) => h.unmatched === undefined && h.untracked === undefined && (h.account !== undefined || inOutbox.has(h.signal.threadId)))
      .map((h) => ({ ...h, account: accountHeldFor(h, inOutbox) }));
    await this.area.set({ [HELD_SIGNALS_KEY]: waiting, [UNMATCHED_SIGNALS_KEY]: [], [UNLISTED_SIGNALS_KEY]: 0 });
  }

  /**
   * The rep stopped waiting for `accountId` (waiting-accounts.ts): the signals held for it go (accountHeldFor; they
   * could only ever go to it), and `dropEmails` (its emails and reminders) runs in the same step. Refused for the
   * connected account. The check and the removal are one step under the lock every change of the connected account
   * takes (changeAccount): a Connect to that very account from another tab cannot come between them and
   * have its emails dropped though connected. `outboxThreads` is read under the lock, before `dropEmails` empties it of
   * that account's.
   */
  dropAccount(
    accountId: string,
    outboxThreads: () => Promise<ReadonlyMap<string, string | undefined>>,
    dropEmails: () => Promise<void>,
  ): Promise<void> {
    return this.serial(async () => {
      if (accountId === (await this.connectedAccount())) throw new Error(`account ${accountId} is the one connected: nothing of it waits`);
      const inOutbox = await outboxThreads();
      // The emails first: should their removal fail, their replies stay with them.
      await dropEmails();
      const held = await this.all();
      const kept = held.filter((h) => accountHeldFor(h, inOutbox) !== accountId);
      if (kept.length < held.length) await this.area.set({ [HELD_SIGNALS_KEY]: kept });
    });
  }

  /** Forgets these held signals (by Gmail message id): they are answered for good. */
  settle(gmailMessageIds: Iterable<string>): Promise<void> {
    return this.forget(gmailMessageIds, false);
  }

  /**
   * The tracker answered these signals (by Gmail message id) anything but `unmatched`: it has them. They leave the held
   * ones (one waiting for its next try, reported meanwhile by another Gmail tab, is not sent again) and the record of
   * those not counted (one given up, reported again by a Gmail tab loaded since).
   */
  taken(gmailMessageIds: Iterable<string>): Promise<void> {
    return this.forget(gmailMessageIds, true);
  }

  private forget(gmailMessageIds: Iterable<string>, fromRecord: boolean): Promise<void> {
    const done = new Set(gmailMessageIds);
    // Most reports hold nothing: no lock, no storage read.
    if (done.size === 0) return Promise.resolve();
    const gone = (item: { signal: Signal }) => done.has(item.signal.gmailMessageId);
    return this.serial(async () => {
      const [held, record] = await Promise.all([this.all(), fromRecord ? this.givenUp() : []]);
      if (!held.some(gone) && !record.some(gone)) return;
      const left = <T extends { signal: Signal }>(items: T[]) => items.filter((item) => !gone(item));
      await this.area.set({ [HELD_SIGNALS_KEY]: left(held), ...(fromRecord ? { [UNMATCHED_SIGNALS_KEY]: left(record) } : {}) });
    });
  }
}

/** The options page's calls (spread into handlers.ts's page table): the list of signals not counted, and its Clear. */
export function unmatchedSignalHandlers(held: HeldSignals) {
  return {
    unmatchedSignals: handler(noInput, (): Promise<UnmatchedListing> => held.listing()),
    /** Clears what the page showed (UnmatchedListing): the signals listed, and the count of those not listed. */
    clearUnmatchedSignals: handler(
      z.object({
        listed: z
          .array(
            z.object({
              gmailMessageId: z.string().regex(GMAIL_ID_WITH_HASH, "must be a Gmail message id"),
              givenUpAt: z.number().int().min(0),
            }),
          )
          .max(MAX_UNMATCHED_RECORDED),
        unlisted: z.number().int().min(0),
      }),
      async (seen): Promise<UnmatchedListing> => {
        await held.clear(seen);
        return held.listing();
      },
    ),
  };
}
