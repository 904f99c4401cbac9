// The spellings an account stores of an address (migration 0024): contacts, replies, bounces and suppressions are
// stored as written and compared by the address as foldAddress gives it (docs/protocol.md §10, §13).
import { foldAddress, normalizeEmail } from "../../../shared/email";

/** SQL: a stored address with a character outside ASCII, the only kind whose folded form may be another string. */
export const OUTSIDE_ASCII_SQL = "length(email) <> length(CAST(email AS BLOB))";

/** The account ?1's stored addresses outside ASCII: each table read by its partial index of them (migration 0024). */
export const OUTSIDE_ASCII_ADDRESSES_SQL = `SELECT email FROM message_recipients WHERE account_id = ?1 AND ${OUTSIDE_ASCII_SQL}
  UNION SELECT email FROM signals WHERE account_id = ?1 AND ${OUTSIDE_ASCII_SQL}
  UNION SELECT email FROM suppressions WHERE account_id = ?1 AND ${OUTSIDE_ASCII_SQL}`;

/**
 * The spellings of each of these addresses that the account's rows may hold, keyed by the address normalised
 * (normalizeEmail): the address itself, its folded form (an ASCII spelling is stored as exactly that), and every
 * spelling with a character outside ASCII that the account's recipients, signals or suppressions hold and that folds
 * to the same address. One query, read from migration 0024's partial indexes alone; a Gmail address's dots and +tag
 * stay: only opt-outs compare mailboxes (mailboxKey).
 */
export async function storedSpellings(db: D1Database, accountId: string, emails: readonly string[]): Promise<Map<string, string[]>> {
  const { results } = await db.prepare(OUTSIDE_ASCII_ADDRESSES_SQL).bind(accountId).all<{ email: string }>();
  const byFolded = new Map<string, string[]>();
  for (const { email } of results) {
    const folded = foldAddress(email);
    byFolded.set(folded, [...(byFolded.get(folded) ?? []), email]);
  }
  const spellings = new Map<string, string[]>();
  for (const given of emails) {
    const email = normalizeEmail(given);
    const folded = foldAddress(email);
    spellings.set(email, [...new Set([email, folded, ...(byFolded.get(folded) ?? [])])]);
  }
  return spellings;
}
