// A reader's opt-out of an email, from its page `/u/<trackingId>` (docs/protocol.md §11): recorded at once when the
// email is registered, else held until its registration says who it went to (migration 0014).

import { DAY_MS } from "../../../shared/durations";
import { mailboxKey } from "../../../shared/email";
import { errorName } from "../errors";
import { fingerprintsToFind } from "../recipient-fingerprint";
import { ownSearchedStatement, type RemovedEmail, searchRemovedEmails, sweepReadStatement, sweepStatements } from "./opt-out-sweeps";
import { keptOptOutStatements, optOutRecordedStatement, optOutStatements, recordReaderOptOut, unsubscribeStatement } from "./signals";
import { placeholders } from "./sql";

/**
 * Past this, an address held for an email whose registration has not come is recorded as given (settleOptOutsInPurge):
 * the reader was told that the sender's other emails to it are tracked no more, and a registration may never come (the
 * sender's browser gone, the extension removed). A day covers a send whose registration waits for the sender's browser
 * to start again overnight; one that comes later finds the address recorded already.
 */
const PENDING_OPT_OUT_HOLD_MS = DAY_MS;
/** Held addresses one purge run records, at most (settleOptOutsInPurge); more wait for the next run. */
const ABANDONED_OPT_OUTS_PER_RUN = 50;
/**
 * Addresses held for one email, at most. The first one already stops its tracking; the cap keeps whoever holds the
 * link from filling the table before the registration comes.
 */
const MAX_PENDING_PER_EMAIL = 20;
/**
 * Addresses one email may record as given, at most: a deleted one's, one registered with no readable recipients, one
 * whose registration never came (settleOptOutsInPurge). Nothing checks such an address, so whoever holds the link
 * could otherwise type any address and, an opt-out being the tracker's, untrack it for every account and grow
 * opt_outs without bound. A reader types their own and maybe a second; past the cap the address is not recorded
 * (this email stays untracked) and the page says so, as for a pending one it cannot hold. The trade-off: a real
 * reader coming after 20 others through one such email is told to use another email's link instead, and up to 20
 * addresses per link may still be untracked wrongly, across every account.
 */
const MAX_AS_GIVEN_PER_EMAIL = 20;
/**
 * Keyed hashes an invocation that records opt-outs computes searching their own account's emails the addresses were
 * deleted from (a contact deleted from an email to several people leaves only fingerprints of the address), at most:
 * the newest ones first (ownRemovedEmailsSql), where hits still come, 100 of them for an address in ASCII (2 hashes an
 * email, opt-out-sweeps.ts SWEEP_HASHES_PER_RUN says why), fewer for one with other characters (26 at most). Shared
 * out when one invocation records several addresses (a registration or a deletion settling those held for its email,
 * a purge run those held a day). The rest is the sweep's (db/opt-out-sweeps.ts), which searches every account's
 * emails: the opt-out's insert queued it (migration 0026's trigger), or an earlier opt-out of the address did.
 * Unbounded, an account with thousands of them would pass the free plan's 10 ms of CPU
 * (developers.cloudflare.com/workers/platform/limits/, read 2026-11-30) and fail the reader's opt-out. Measured
 * 2026-12-07 in workerd (worker tests, not kept: no timed assertion) on this project's 2-core machine, shared (load
 * average about 10): an opt-out through an account with 300 such emails computed 201 keyed hashes (1 checks its link);
 * the search alone took 1 to 4 ms for its 200 at its fastest (workerd's clock counts whole ms), and 24 ms for 2,000 at
 * the fastest of 8, about 12 µs a hash: about 2.5 ms of CPU at the bound.
 */
export const OWN_SEARCH_HASHES = 200;
/** The keyed hashes each of `count` addresses one invocation records searches within: OWN_SEARCH_HASHES shared out. */
export function ownSearchHashes(count: number): number {
  return Math.floor(OWN_SEARCH_HASHES / count);
}
/** The account's emails that lost a recipient read for that, at most: as many as the hashes allow for an address in ASCII. */
export const OWN_SEARCH_EMAILS = OWN_SEARCH_HASHES / 2;

/**
 * The emails of the accounts `accounts` (SQL giving their ids as `account_id`) that lost a recipient, each with the
 * fingerprints of the addresses removed from it (OwnRemovedEmail rows): each account's OWN_SEARCH_EMAILS newest by their
 * sending time, numbered from the newest (`n`). Each account's found by messages_that_lost_recipients_by_sent (migration
 * 0033), newest first, stopped at the LIMIT: in proportion to the rows returned, not to the account's emails. In no
 * promised order: newestFirst sorts them.
 */
export const ownRemovedEmailsSql = (accounts: string) => `SELECT a.account_id, m.id AS message_id,
    (SELECT json_group_array(fingerprint) FROM removed_recipients WHERE message_id = m.id) AS fingerprints,
    row_number() OVER (PARTITION BY a.account_id ORDER BY m.sent_at DESC) AS n
  FROM (SELECT DISTINCT account_id FROM (${accounts})) a
  JOIN messages m ON m.id IN (SELECT id FROM messages WHERE account_id = a.account_id AND lost_recipients = 1 ORDER BY sent_at DESC LIMIT ${OWN_SEARCH_EMAILS})`;

/** ownRemovedEmailsSql for one account, its id bound. */
export const ONE_ACCOUNT_REMOVED_EMAILS_SQL = ownRemovedEmailsSql("SELECT ? AS account_id");

/** The statement that reads the account's own emails an opt-out through it searches at once (ownRemovedEmailsSql). */
function ownRemovedEmailsStatement(db: D1Database, accountId: string): D1PreparedStatement {
  return db.prepare(ONE_ACCOUNT_REMOVED_EMAILS_SQL).bind(accountId);
}

/** Those emails, read on their own, newest first. */
async function readOwnRemovedEmails(db: D1Database, accountId: string): Promise<OwnRemovedEmail[]> {
  return newestFirst((await ownRemovedEmailsStatement(db, accountId).all<OwnRemovedEmail>()).results);
}

/** A row of ownRemovedEmailsSql: an email that lost a recipient, its account, and its rank there from the newest (1). */
export interface OwnRemovedEmail extends RemovedEmail {
  account_id: string;
  n: number;
}

/**
 * One account's rows of ownRemovedEmailsSql, newest first: the search stops at its bound, on the oldest. Sorted once
 * where the rows are read, for every address searched among them.
 */
export function newestFirst(own: readonly OwnRemovedEmail[]): OwnRemovedEmail[] {
  return [...own].sort((a, b) => a.n - b.n);
}

/** Rows of ownRemovedEmailsSql for several accounts, grouped by account, each group newest first (newestFirst). */
function newestFirstByAccount(own: readonly OwnRemovedEmail[]): Map<string, OwnRemovedEmail[]> {
  const byAccount = new Map<string, OwnRemovedEmail[]>();
  for (const row of newestFirst(own)) {
    const rows = byAccount.get(row.account_id);
    if (rows) rows.push(row);
    else byAccount.set(row.account_id, [row]);
  }
  return byAccount;
}

/**
 * The emails among `own` (one account's rows of ownRemovedEmailsSql, newest first: newestFirst) that `email` was
 * removed from, searched in that order within `maxHashes`, and those searched.
 */
async function ownEmailsRemovedFrom(
  signingSecret: string,
  own: readonly OwnRemovedEmail[],
  email: string,
  maxHashes: number,
): Promise<{ found: string[]; searched: readonly OwnRemovedEmail[] }> {
  const { found, searched } = await searchRemovedEmails(signingSecret, own, [{ email }], maxHashes);
  return { found: found.get(email) ?? [], searched: own.slice(0, searched) };
}

/**
 * How an opt-out searches the account's own emails: within `hashes` keyed hashes, among `own` (newest first) when its
 * caller read them once for the several addresses it records (settleOptOuts), else read in the opt-out's own batch
 * (storedWithOwn).
 */
interface OwnSearch {
  hashes: number;
  own?: readonly OwnRemovedEmail[];
}

/**
 * Runs an opt-out's `statements` in one batch, with ownRemovedEmailsStatement after them unless `search.own` holds the
 * account's own emails already: the statements' results, and those emails, newest first.
 */
async function storedWithOwn(
  db: D1Database,
  accountId: string,
  statements: D1PreparedStatement[],
  search: OwnSearch,
): Promise<{ results: D1Result[]; own: readonly OwnRemovedEmail[] }> {
  if (search.own) return { results: await db.batch(statements), own: search.own };
  const results = await db.batch([...statements, ownRemovedEmailsStatement(db, accountId)]);
  return { results, own: newestFirst((results[statements.length]?.results ?? []) as OwnRemovedEmail[]) };
}

/**
 * Keeps the opt-out of `email`, recorded at `since`, on the account's own emails it was removed from among those read
 * (`own`, ownRemovedEmailsStatement's rows, newest first), searched within `maxHashes`. After the opt-out is stored, in a batch of
 * its own: a request the CPU limit ends here has stored it all the same, and the sweep finds what this leaves, as it
 * does when this fails (logged; the reader is told that tracking is off, which it is). The emails searched are recorded
 * in that batch for its sweep to skip, those that lost no other recipient since they were read (ownSearchedStatement).
 */
async function keepOnOwnEmails(
  db: D1Database,
  signingSecret: string,
  email: string,
  since: number,
  own: readonly OwnRemovedEmail[],
  maxHashes: number,
): Promise<void> {
  try {
    const { found, searched } = await ownEmailsRemovedFrom(signingSecret, own, email, maxHashes);
    const statements = found.length > 0 ? keptOptOutStatements(db, email, since, found) : [];
    if (searched.length > 0) statements.push(ownSearchedStatement(db, email, since, searched));
    if (statements.length > 0) await db.batch(statements);
  } catch (error) {
    console.error("searching an opt-out's own emails failed, left to the sweep", errorName(error));
  }
}

export interface OptOutTarget {
  accountId: string;
  messageId: string;
  /** Its registration has arrived: its recipients below are known. */
  registered: boolean;
  deleted: boolean;
  /** Its recipients now (a deleted contact is gone) and how many it was sent to. */
  recipients: string[];
  recipientCount: number;
}

/** The email the page is for, or null when this account has no row for it (neither registered nor opted out of). */
export async function optOutTarget(db: D1Database, accountId: string, messageId: string): Promise<OptOutTarget | null> {
  const message = await db
    .prepare(
      `SELECT recipient_count, registered_at, deleted_at,
         (SELECT json_group_array(email) FROM (SELECT email FROM message_recipients WHERE message_id = ?1 ORDER BY email)) AS emails
       FROM messages WHERE id = ?1 AND account_id = ?2`,
    )
    .bind(messageId, accountId)
    .first<{ recipient_count: number; registered_at: number | null; deleted_at: number | null; emails: string }>();
  if (!message) return null;
  return {
    accountId,
    messageId,
    registered: message.registered_at !== null,
    deleted: message.deleted_at !== null,
    recipients: JSON.parse(message.emails),
    recipientCount: message.recipient_count,
  };
}

/**
 * Records `email`'s opt-out of a registered email, at `now`. When the email went to that address (in any spelling of
 * its mailbox, mailboxKey), for the address: every email of the tracker to it, whichever account sent it, stores no
 * hits from then on. The opt-out and its unsubscribe signal name the recipient as the email stored it, not as typed:
 * the contact's timeline and its deletion (docs/protocol.md §13) find them by that address. Otherwise (a list the
 * email went to, an alias, a forwarded copy) for this email alone, with no address, so that the page reveals no
 * recipient. A contact the sender deleted from this email went to it all the same (its fingerprint is kept). Taken
 * as given, up to MAX_AS_GIVEN_PER_EMAIL addresses, so that a reader of it can always opt out: an email registered
 * with no readable recipients (compose-tracking.ts registers it all the same), which has nobody to check the address
 * against; and one whose data the sender deleted, whose recipients went with it. The reader was told that every
 * other email from the sender to the address is tracked no more, and that holds; on a deleted email nothing more is
 * written (it is tracked no more already, and keeps no addresses). False when an address taken as given was over
 * the cap and not recorded (this email is untracked all the same): the reader must be told. The account's own emails
 * the address was deleted from are searched once it is stored, as `search` says (OWN_SEARCH_HASHES by default).
 */
export async function optOutOfEmail(
  db: D1Database,
  signingSecret: string,
  target: OptOutTarget,
  email: string,
  now: number,
  search: OwnSearch = { hashes: OWN_SEARCH_HASHES },
): Promise<boolean> {
  const { accountId, messageId } = target;
  if (target.deleted) return recordAsGiven(db, signingSecret, target, email, now, search, false);
  if (target.recipientCount === 0) {
    const recorded = await recordAsGiven(db, signingSecret, target, email, now, search, true);
    if (!recorded) await recordReaderOptOut(db, accountId, messageId, now);
    return recorded;
  }
  const mailbox = mailboxKey(email);
  const recipient = target.recipients.includes(email) ? email : target.recipients.find((r) => mailboxKey(r) === mailbox);
  const wasRemoved = async () => {
    const fingerprints = await fingerprintsToFind(signingSecret, messageId, email);
    return (
      (await db
        .prepare(`SELECT 1 FROM removed_recipients WHERE message_id = ? AND fingerprint IN (${placeholders(fingerprints.length)})`)
        .bind(messageId, ...fingerprints)
        .first()) !== null
    );
  };
  // A deleted contact has no stored spelling left: the typed one is recorded.
  const address = recipient ?? ((await wasRemoved()) ? email : undefined);
  if (address === undefined) {
    await recordReaderOptOut(db, accountId, messageId, now);
    return true;
  }
  const { own } = await storedWithOwn(
    db,
    accountId,
    [...optOutStatements(db, accountId, messageId, address, now, []), unsubscribeStatement(db, accountId, messageId, address, now)],
    search,
  );
  await keepOnOwnEmails(db, signingSecret, address, now, own, search.hashes);
  return true;
}

/**
 * Records `email`'s opt-out through an email that cannot check it (optOutOfEmail), unless the email has recorded
 * MAX_AS_GIVEN_PER_EMAIL addresses already, and with `unsubscribe` its unsubscribe signal when it is recorded. One
 * batch, so the count and the inserts see the same rows, and both are stored before the search, as for a recipient
 * (docs/protocol.md §11): a request the CPU limit ends there loses neither. True when the account holds the
 * address's opt-out afterwards (repeating one is not refused); then its own emails are searched.
 */
async function recordAsGiven(
  db: D1Database,
  signingSecret: string,
  target: OptOutTarget,
  email: string,
  now: number,
  search: OwnSearch,
  unsubscribe: boolean,
): Promise<boolean> {
  const { accountId, messageId } = target;
  const statements = [
    ...optOutStatements(db, accountId, messageId, email, now, [], MAX_AS_GIVEN_PER_EMAIL),
    ...(unsubscribe ? [unsubscribeStatement(db, accountId, messageId, email, now, true)] : []),
    optOutRecordedStatement(db, accountId, email),
  ];
  const { results, own } = await storedWithOwn(db, accountId, statements, search);
  if ((results[statements.length - 1]?.results[0] as { recorded: number } | undefined)?.recorded !== 1) return false;
  await keepOnOwnEmails(db, signingSecret, email, now, own, search.hashes);
  return true;
}

/**
 * An opt-out from the page of an email not registered yet. The email is tracked no more from `now`, at once: its row,
 * made here if the registration has not made it, carries the time (opted_out_at), which every hit's insert checks and
 * the registration keeps (optedOutSince). The address waits for the registration (upsertMessage, settleOptOuts). False when
 * it could not be held (the email already holds MAX_PENDING_PER_EMAIL others): the email is untracked all the same,
 * but the address's other emails are not, and the reader must be told so.
 */
export async function recordPendingOptOut(
  db: D1Database,
  signingSecret: string,
  accountId: string,
  messageId: string,
  email: string,
  now: number,
): Promise<boolean> {
  const [, , held] = await db.batch([
    db
      .prepare(
        `INSERT INTO messages (id, account_id, updated_at, opted_out_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (id) DO UPDATE SET opted_out_at = coalesce(opted_out_at, excluded.opted_out_at) WHERE deleted_at IS NULL`,
      )
      .bind(messageId, accountId, now),
    db
      .prepare(
        `INSERT OR IGNORE INTO pending_opt_outs (message_id, account_id, email, created_at) SELECT ?1, ?2, ?3, ?4
         WHERE (SELECT count(*) FROM pending_opt_outs WHERE message_id = ?1) < ${MAX_PENDING_PER_EMAIL}
           AND NOT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND deleted_at IS NOT NULL)`,
      )
      .bind(messageId, accountId, email, now),
    db.prepare("SELECT EXISTS (SELECT 1 FROM pending_opt_outs WHERE message_id = ? AND email = ?) AS held").bind(messageId, email),
  ]);
  // The registration may have committed since the page read the email: whichever of the two writes comes last
  // settles the address.
  await settlePendingOptOuts(db, signingSecret, accountId, messageId);
  return (held?.results[0] as { held: number } | undefined)?.held === 1;
}

/**
 * The addresses held longer than a hold (?1, the cutoff), oldest first, ?2 at most: by pending_opt_outs_by_time
 * (migration 0030), not a scan of every address held.
 */
export const HELD_DUE_SQL =
  "SELECT message_id, account_id, email, created_at FROM pending_opt_outs WHERE created_at < ?1 ORDER BY created_at LIMIT ?2";
/** The accounts of the addresses held longer than a hold (?1), for ownRemovedEmailsSql: by the same index. */
export const HELD_DUE_ACCOUNTS_SQL = "SELECT account_id FROM pending_opt_outs WHERE created_at < ?1";

/**
 * The opt-out work of a purge run, in two queries at most (the purge's budget counts them, db/retention.ts): one batch
 * reads what is due, one writes what it comes to. Records, as given (as optOutOfEmail does for a deleted email, and
 * under the same cap), the addresses held longer than PENDING_OPT_OUT_HOLD_MS, each at the time it was typed, and drops
 * them: the email stays untracked. The read gets the held addresses and, only when some address is due, their
 * accounts' own emails that lost a recipient, searched within OWN_SEARCH_HASHES shared among them. And sweeps a
 * bounded share of the tracker's emails that lost a recipient for the opt-outs recorded since (db/opt-out-sweeps.ts):
 * no row read while none waits.
 */
export async function settleOptOutsInPurge(db: D1Database, signingSecret: string, now: number): Promise<void> {
  const cutoff = now - PENDING_OPT_OUT_HOLD_MS;
  const [held, own, swept] = await db.batch([
    db.prepare(HELD_DUE_SQL).bind(cutoff, ABANDONED_OPT_OUTS_PER_RUN),
    db.prepare(ownRemovedEmailsSql(HELD_DUE_ACCOUNTS_SQL)).bind(cutoff),
    sweepReadStatement(db),
  ]);
  const statements: D1PreparedStatement[] = [];
  const ownByAccount = newestFirstByAccount((own?.results ?? []) as OwnRemovedEmail[]);
  const heldRows = (held?.results ?? []) as (PendingOptOut & { message_id: string; account_id: string })[];
  const searchHashes = ownSearchHashes(heldRows.length);
  for (const row of heldRows) {
    const ofAccount = ownByAccount.get(row.account_id) ?? [];
    statements.push(...(await heldAsGivenStatements(db, signingSecret, row.account_id, row.message_id, row, ofAccount, searchHashes)));
  }
  // After the held addresses: one recorded here is swept from the next run on.
  statements.push(...(await sweepStatements(db, signingSecret, swept)));
  if (statements.length > 0) await db.batch(statements);
}

/**
 * What records one address held for an email as given (under MAX_AS_GIVEN_PER_EMAIL, at the time it was typed, kept
 * on the account's own emails it was removed from among `own`, newest first, searched within `searchHashes`) and drops it.
 */
async function heldAsGivenStatements(
  db: D1Database,
  signingSecret: string,
  accountId: string,
  messageId: string,
  held: PendingOptOut,
  own: readonly OwnRemovedEmail[],
  searchHashes: number,
): Promise<D1PreparedStatement[]> {
  const { found: removedFrom, searched } = await ownEmailsRemovedFrom(signingSecret, own, held.email, searchHashes);
  return [
    ...optOutStatements(db, accountId, messageId, held.email, held.created_at, removedFrom, MAX_AS_GIVEN_PER_EMAIL),
    // After the opt-out, which queues its sweep (migration 0026's trigger): the emails searched, for the sweep to skip.
    ...(searched.length > 0 ? [ownSearchedStatement(db, held.email, held.created_at, searched)] : []),
    db.prepare("DELETE FROM pending_opt_outs WHERE message_id = ? AND email = ?").bind(messageId, held.email),
  ];
}

/**
 * What records the addresses held for an email its sender is deleting (deleteMessageData): as given, as its page takes
 * them once it is deleted (optOutOfEmail) and settleOptOutsInPurge a day on, under the same cap and each at the time it
 * was typed; and drops them. Their readers were told that the sender's other emails to them are tracked no more, and a
 * deleted email's registration never comes to check them. Read here, two queries at most (the held addresses, and only
 * when some are held the account's own emails that lost a recipient, searched within OWN_SEARCH_HASHES shared among
 * them); the statements go in the deletion's batch. An address held after this read is not dropped by it:
 * settleOptOutsInPurge records it.
 */
export async function heldOptOutsAsGivenStatements(
  db: D1Database,
  signingSecret: string,
  accountId: string,
  messageId: string,
): Promise<D1PreparedStatement[]> {
  const { results } = await pendingOptOutsStatement(db, accountId, messageId).all<PendingOptOut>();
  if (results.length === 0) return [];
  const own = await readOwnRemovedEmails(db, accountId);
  const searchHashes = ownSearchHashes(results.length);
  const statements: D1PreparedStatement[] = [];
  for (const held of results)
    statements.push(...(await heldAsGivenStatements(db, signingSecret, accountId, messageId, held, own, searchHashes)));
  return statements;
}

/** An address held for an email not registered when its reader opted out, and when. */
export interface PendingOptOut {
  email: string;
  created_at: number;
}

/** The statement that reads the opt-outs held for an email (its rows are PendingOptOut). */
export function pendingOptOutsStatement(db: D1Database, accountId: string, messageId: string): D1PreparedStatement {
  return db.prepare("SELECT email, created_at FROM pending_opt_outs WHERE message_id = ? AND account_id = ?").bind(messageId, accountId);
}

/** Records the opt-outs held for an email once it is registered, each at the time it was made, as if made then. */
export async function settlePendingOptOuts(db: D1Database, signingSecret: string, accountId: string, messageId: string): Promise<void> {
  const { results } = await pendingOptOutsStatement(db, accountId, messageId).all<PendingOptOut>();
  await settleOptOuts(db, signingSecret, accountId, messageId, results);
}

/**
 * Records these opt-outs held for an email (read by the caller: the registration reads them in its own batch,
 * upsertMessage) if it is registered, and drops them. The search's hashes are shared among them, and the account's own
 * emails read once for them all: up front when several are held, else in the one opt-out's own batch (storedWithOwn),
 * which spares the usual registration settling one held address a query.
 */
export async function settleOptOuts(
  db: D1Database,
  signingSecret: string,
  accountId: string,
  messageId: string,
  results: readonly PendingOptOut[],
): Promise<void> {
  if (results.length === 0) return;
  const target = await optOutTarget(db, accountId, messageId);
  if (!target?.registered || target.deleted) return;
  const hashes = ownSearchHashes(results.length);
  const search = results.length > 1 ? { hashes, own: await readOwnRemovedEmails(db, accountId) } : { hashes };
  // Recording is idempotent, so a second writer settling the same rows at once records nothing twice.
  for (const pending of results) await optOutOfEmail(db, signingSecret, target, pending.email, pending.created_at, search);
  await db
    .prepare(`DELETE FROM pending_opt_outs WHERE message_id = ? AND email IN (${placeholders(results.length)})`)
    .bind(messageId, ...results.map((p) => p.email))
    .run();
}
