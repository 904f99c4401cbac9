// The spellings an account stores of an address (migration 0024): contacts, replies, bounces and suppressions
// are stored as written and compared by the address as foldAddress gives it (docs/protocol.md §10, §13).
import { foldAddress, mailboxKey, normalizeEmail } from "../../../shared/email";
import { chunked } from "./sql";

/** SQL: a stored address with a character outside ASCII, the only kind whose folded form may be another string. */
export const OUTSIDE_ASCII_SQL = "length(email) <> length(CAST(email AS BLOB))";

/**
 * The account ?1's recipients outside ASCII whose mailbox is one of the JSON array ?2 (the keys the worker wrote,
 * mailboxKey), and those not keyed yet, whose key could be any: by migration 0024's partial index alone, one seek per
 * key and one for the NULL key. The keys are the outer loop (CROSS JOIN keeps SQLite to that order): asked as
 * `mailbox_key IN (...)`, SQLite's planner may read the account's every recipient by message_recipients_by_email.
 * Rows in proportion to the emails sent to those mailboxes in a spelling outside ASCII, not to the account; a row not keyed yet is read on every call until db/mailboxes.ts keys it (before any hit is
 * stored, and at each purge).
 */
export const RECIPIENT_SPELLINGS_SQL = `SELECT r.email FROM json_each(?2) AS k CROSS JOIN message_recipients r
    WHERE r.account_id = ?1 AND r.mailbox_key = k.value AND length(r.email) <> length(CAST(r.email AS BLOB))
  UNION SELECT email FROM message_recipients WHERE account_id = ?1 AND mailbox_key IS NULL AND ${OUTSIDE_ASCII_SQL}`;

/**
 * The account ?1's replies, bounces and suppressions outside ASCII, all of them, by migration 0024's partial indexes.
 * Not narrowed by mailbox as recipients are: neither table holds a key the worker wrote (it would take a column each,
 * written on every insert, and a pass keying the rows stored before, as db/mailboxes.ts does for recipients), and
 * neither grows with the mail sent. A signal is one reply or bounce, not one row per recipient of every email, and
 * goes at the account's retention (db/retention.ts); a suppression is one per address ever suppressed, bounced ones
 * only. Recipients are the rows that grow with every email; these stay in the tens for an account writing mostly
 * outside ASCII.
 */
export const SIGNAL_SPELLINGS_SQL = `SELECT email FROM signals WHERE account_id = ?1 AND ${OUTSIDE_ASCII_SQL}
  UNION SELECT email FROM suppressions WHERE account_id = ?1 AND ${OUTSIDE_ASCII_SQL}`;

/**
 * Mailbox keys bound in one statement's JSON: at most 320 characters each (MAX_EMAIL_LENGTH), about 330 KB, under
 * what D1 takes in one bound value (sql.ts MAX_BOUND_BYTES). A compose check asks about at most 100 addresses.
 */
const KEYS_PER_STATEMENT = 1000;

/**
 * The spellings of each of these addresses that the account's rows may hold, keyed by the address normalised
 * (normalizeEmail): the address itself, its folded form (an ASCII spelling is stored as exactly that), and every
 * spelling with a character outside ASCII that the account's recipients, signals or suppressions hold and that folds
 * to the same address. A spelling that folds to an address has its mailbox (mailboxKey folds first), so recipients are
 * sought by the addresses' mailboxes (RECIPIENT_SPELLINGS_SQL) and the candidates filtered here by folded address; a
 * Gmail address's dots and +tag stay: only opt-outs compare mailboxes. One batch.
 */
export async function storedSpellings(db: D1Database, accountId: string, emails: readonly string[]): Promise<Map<string, string[]>> {
  const given = emails.map((email) => normalizeEmail(email));
  if (given.length === 0) return new Map();
  const keys = [...new Set(given.map(mailboxKey))];
  const read = await db.batch<{ email: string }>([
    db.prepare(SIGNAL_SPELLINGS_SQL).bind(accountId),
    ...chunked(keys, KEYS_PER_STATEMENT).map((chunk) => db.prepare(RECIPIENT_SPELLINGS_SQL).bind(accountId, JSON.stringify(chunk))),
  ]);
  const byFolded = new Map<string, Set<string>>();
  for (const { email } of read.flatMap((result) => result.results ?? [])) {
    const folded = foldAddress(email);
    byFolded.set(folded, (byFolded.get(folded) ?? new Set()).add(email));
  }
  const spellings = new Map<string, string[]>();
  for (const email of given) {
    const folded = foldAddress(email);
    spellings.set(email, [...new Set([email, folded, ...(byFolded.get(folded) ?? [])])]);
  }
  return spellings;
}
