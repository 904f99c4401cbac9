// The spellings an account stores of an address (migration 0024): contacts, replies, bounces and suppressions
// are stored as written and compared by the address as foldAddress gives it (docs/protocol.md §10, §13).
import { foldAddress, mailboxKey, normalizeEmail } from "../../../shared/email";
import { chunked } from "./sql";

/**
 * SQL: the text `expr` (an SQL expression) has a character outside ASCII, one that takes more than a byte in UTF-8.
 * The migrations' partial indexes (0023, 0024) hold the same expression over `email`, word for word, for SQLite to use them.
 */
export function outsideAsciiSql(expr: string): string {
  return `length(${expr}) <> length(CAST(${expr} AS BLOB))`;
}

/** SQL: a stored address with a character outside ASCII, the only kind whose folded form may be another string. */
export const OUTSIDE_ASCII_SQL = outsideAsciiSql("email");

/** SQL: whether account ?1 wrote any recipient outside ASCII (one seek of migration 0024's partial index). */
export const ACCOUNT_HAS_OUTSIDE_ASCII_SQL = `EXISTS (SELECT 1 FROM message_recipients WHERE account_id = ?1 AND ${OUTSIDE_ASCII_SQL})`;

/**
 * The account ?1's recipients outside ASCII whose mailbox is one of the JSON array `keys` (the keys the worker wrote,
 * mailboxKey), and those not keyed yet, whose key could be any: by migration 0024's partial index alone, one seek per
 * key and one for the NULL key. The keys are the outer loop (CROSS JOIN keeps SQLite to that order): asked as
 * `mailbox_key IN (...)`, SQLite's planner may read the account's every recipient by message_recipients_by_email.
 * Rows in proportion to the emails sent to those mailboxes in a spelling outside ASCII, not to the account; a row not
 * keyed yet is read on every call until db/mailboxes.ts keys it (before any hit is stored, and at each purge).
 * `columns` of each row and `also` (` AND …`) are of message_recipients, unqualified in both selects: json_each has no
 * column of those names. The two selects are joined by `union`: UNION drops an address read twice; UNION ALL, for
 * rows that cannot repeat, spares SQLite the temporary B-tree that takes.
 */
export function recipientSpellingsSql(keys: string, { columns = "email", union = "UNION", also = "" } = {}): string {
  return `SELECT ${columns} FROM json_each(${keys}) AS k CROSS JOIN message_recipients r
    WHERE account_id = ?1 AND mailbox_key = k.value AND ${OUTSIDE_ASCII_SQL}${also}
  ${union} SELECT ${columns} FROM message_recipients WHERE account_id = ?1 AND mailbox_key IS NULL AND ${OUTSIDE_ASCII_SQL}${also}`;
}

/** storedSpellings' recipients: ?1 the account, ?2 the JSON array of the addresses' mailboxes (recipientSpellingsSql). */
export const RECIPIENT_SPELLINGS_SQL = recipientSpellingsSql("?2");

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

/** Replies one call respells, at most: each is a foldAddress of it and of its email's recipients (a URL parse each). */
export const REPLIES_PER_CALL = 100;

/**
 * respellStoredReplies' statements, each given the JSON array ?1 of the replies it respells (`{ seq, email }`, the
 * recipient's spelling): first, the scores of the contacts on those replies' emails are marked to be counted again.
 */
export const RESPELLED_SCORES_DIRTY_SQL = `UPDATE contact_scores SET dirty = dirty + 1 WHERE (account_id, email) IN (SELECT r.account_id, r.email
    FROM message_recipients r
    WHERE r.message_id IN (SELECT s.message_id FROM signals s WHERE s.seq IN (SELECT value ->> '$.seq' FROM json_each(?))))`;

/** Each listed reply stored under the recipient's spelling. */
export const RESPELL_REPLIES_SQL = `UPDATE OR IGNORE signals SET email = value ->> '$.email' FROM json_each(?) WHERE signals.seq = value ->> '$.seq'`;

/**
 * A listed reply RESPELL_REPLIES_SQL's IGNORE left unchanged, as stored under the recipient's spelling already
 * (UNIQUE (account_id, source_id, email)): deleted, the one under that spelling kept.
 */
export const RESPELLED_DUPLICATES_SQL = `DELETE FROM signals WHERE seq IN (SELECT s.seq FROM json_each(?) JOIN signals s ON s.seq = value ->> '$.seq'
    WHERE s.email <> value ->> '$.email')`;

/** The replies looked at (the JSON array ?1 of their seqs), off migration 0025's list. */
export const RESPELL_LISTED_DONE_SQL = "DELETE FROM replies_to_respell WHERE seq IN (SELECT value FROM json_each(?))";

/**
 * Respells the replies migration 0025 lists (stored before the worker recorded each under its recipient's spelling,
 * and any the release before wrote while 0025 was being deployed): one whose sender folds to a recipient of its email
 * takes that recipient's spelling, as recordSignals would have given it, so the people list, the contact's page and
 * the retention count it as theirs, not as a reply from someone not on the email. The email's recipients are marked
 * for rescoring (the reply moves from all of them to one). A reply the email already holds under that spelling (the
 * same Gmail message reported again since) stays that one, and the other goes. The rest are someone else's and stay as
 * they are. Each listed row is then dropped from the list. One query when none is listed, two otherwise; true when
 * none is left.
 */
export async function respellStoredReplies(db: D1Database, rows = REPLIES_PER_CALL): Promise<boolean> {
  const { results } = await db
    .prepare(
      `SELECT t.seq, s.email, (SELECT json_group_array(r.email) FROM message_recipients r WHERE r.message_id = s.message_id) AS recipients
       FROM replies_to_respell t LEFT JOIN signals s ON s.seq = t.seq ORDER BY t.seq LIMIT ?`,
    )
    .bind(rows)
    .all<{ seq: number; email: string | null; recipients: string | null }>();
  if (results.length === 0) return true;
  const respelled: { seq: number; email: string }[] = [];
  for (const row of results) {
    if (row.email === null || row.recipients === null) continue;
    const folded = foldAddress(row.email);
    const recipient = (JSON.parse(row.recipients) as string[]).find((r) => r !== row.email && foldAddress(r) === folded);
    if (recipient !== undefined) respelled.push({ seq: row.seq, email: recipient });
  }
  const moves = JSON.stringify(respelled);
  await db.batch([
    db.prepare(RESPELLED_SCORES_DIRTY_SQL).bind(moves),
    db.prepare(RESPELL_REPLIES_SQL).bind(moves),
    db.prepare(RESPELLED_DUPLICATES_SQL).bind(moves),
    db.prepare(RESPELL_LISTED_DONE_SQL).bind(JSON.stringify(results.map((row) => row.seq))),
  ]);
  return results.length < rows;
}
