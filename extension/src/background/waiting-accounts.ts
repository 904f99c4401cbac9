// Emails waiting for an account other than the connected one: its registrations and withdrawals in the outbox, and its
// follow-up reminders, go to that account's tracker only, once the rep connects to it again (README, "Disconnect and
// another account"), and are never dropped on their own. An account the rep will never connect to again would keep
// them waiting forever: the options page names each such account, and the rep may connect to it or, once asked,
// stop waiting for it, which removes its entries (its withdrawals only once the rep let go of them by their count),
// its reminders and the replies held for it (held-signals.ts), and nothing of any other account.
import { z } from "zod";
import { ACCOUNT_ID_PATTERN, accountOf } from "../../../shared/protocol";
import { type HeldAccount, heldAccountRecords, loadAccountId } from "./credential-store";
import type { Reminders } from "./follow-ups";
import { handler, noInput } from "./handler";
import { accountHeldFor, type HeldSignal, type HeldSignals } from "./held-signals";
import { type Outbox, type OutboxEntry, threadsWaiting } from "./outbox";

/** An account other than the connected one, and what of it waits in this browser. */
export interface WaitingAccount extends HeldAccount {
  /** Its emails in the outbox to register (the outbox list names them by subject). */
  emails: number;
  /** Its emails in the outbox taken back in Gmail: the withdrawal of a registration. */
  takenBack: number;
  /** Its follow-up reminders of emails the outbox does not hold (registered before the rep left the account). */
  reminders: number;
  /** Replies and bounces seen in Gmail held for it (held-signals.ts), its emails registered or in the outbox. */
  replies: number;
}

/**
 * The accounts other than `connected` that have emails waiting, or replies held for them (`replies`, the held signals),
 * in the order their first one waits, each with the tracker address this browser last connected to it at (null when
 * not recorded).
 */
export function waitingAccounts(
  entries: readonly OutboxEntry[],
  reminders: readonly { trackingId: string }[],
  replies: readonly HeldSignal[],
  held: readonly HeldAccount[],
  connected: string | null,
): WaitingAccount[] {
  const accounts = new Map<string, WaitingAccount>();
  const of = (accountId: string | undefined) => {
    if (accountId === undefined || accountId === connected) return undefined;
    let account = accounts.get(accountId);
    if (!account) {
      const trackerUrl = held.find((h) => h.accountId === accountId)?.trackerUrl ?? null;
      account = { accountId, trackerUrl, emails: 0, takenBack: 0, reminders: 0, replies: 0 };
      accounts.set(accountId, account);
    }
    return account;
  };
  for (const entry of entries) {
    const account = of(accountOf(entry.trackingId));
    if (account) account[entry.withdraw ? "takenBack" : "emails"] += 1;
  }
  const inOutbox = new Set(entries.map((e) => e.trackingId));
  for (const reminder of reminders) {
    const account = inOutbox.has(reminder.trackingId) ? undefined : of(accountOf(reminder.trackingId));
    if (account) account.reminders += 1;
  }
  const threads = threadsWaiting(entries);
  for (const reply of replies) {
    const account = of(accountHeldFor(reply, threads));
    if (account) account.replies += 1;
  }
  return [...accounts.values()];
}

/** The options page's calls (spread into handlers.ts's page table): the accounts waited for, and Stop waiting. */
export function waitingAccountHandlers(outbox: Outbox, reminders: Reminders, heldSignals: HeldSignals) {
  const list = async () =>
    waitingAccounts(
      await outbox.snapshot(),
      await reminders.all(),
      await heldSignals.all(),
      await heldAccountRecords(),
      await loadAccountId(),
    );
  return {
    accountsWaiting: handler(noInput, list),
    /**
     * The rep will never connect to this account again, and said so once asked: its outbox entries, reminders and held
     * replies go, never sent. Never the connected account's (checked in the same step: HeldSignals.dropAccount), nor any
     * other's; no credentials or signing key is touched. `takenBack`: how many of its emails taken back in Gmail the rep
     * let go of, asked a second time by that count (their withdrawals never reach that tracker, which keeps them as
     * sent): refused, nothing gone, while more wait (Outbox.dropAccount).
     */
    stopWaitingForAccount: handler(
      z.object({
        accountId: z.string().regex(ACCOUNT_ID_PATTERN, "must be an account id"),
        confirmed: z.literal(true),
        takenBack: z.number().int().min(0),
      }),
      async ({ accountId, takenBack }): Promise<WaitingAccount[]> => {
        await heldSignals.dropAccount(
          accountId,
          async () => threadsWaiting(await outbox.snapshot()),
          async () => {
            await outbox.dropAccount(accountId, takenBack);
            await reminders.cancelWhere((r) => accountOf(r.trackingId) === accountId);
          },
        );
        return list();
      },
    ),
  };
}
