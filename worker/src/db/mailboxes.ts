// The key opt-outs are matched by (`mailbox`, migrations 0017 and 0023) on the rows the worker stored without it.
import { mailboxKey } from "../../../shared/email";
import { optedOutSince } from "./events";
import { OUTSIDE_ASCII_SQL } from "./spellings";
import { COUNTED_SQL } from "./sql";

/**
 * SQL for the events whose emails' opt-outs forbid them once rows are keyed (keyStoredMailboxes): of the emails whose
 * ids the JSON array ?1 holds (the keyed recipients'), and of those with a recipient of a mailbox the JSON array ?2
 * holds (the keyed opt-outs'), whichever account sent them, the hits from their earliest opt-out on (optedOutSince).
 * By index: each email's events (events_by_message), each mailbox's recipients (message_recipients_by_mailbox).
 */
export const FORBIDDEN_EVENTS_SQL = `SELECT e.seq FROM events e WHERE e.message_id IN (SELECT value FROM json_each(?1)
    UNION SELECT r.message_id FROM message_recipients r WHERE r.mailbox IN (SELECT value FROM json_each(?2)))
  AND e.occurred_at >= ${optedOutSince("e.message_id")}`;

/** Keys the opt-outs of the JSON array ?1 (`{ id, email, key }`, id the account's): the list first, each row by its key. */
export const KEY_OPT_OUTS_SQL = `UPDATE opt_outs SET mailbox_key = value ->> '$.key' FROM json_each(?)
  WHERE opt_outs.account_id = value ->> '$.id' AND opt_outs.email = value ->> '$.email' AND opt_outs.mailbox_key IS NULL`;

/** Keys the recipients of the JSON array ?1 (`{ id, email, key }`, id the message's): the list first, each row by its key. */
export const KEY_RECIPIENTS_SQL = `UPDATE message_recipients SET mailbox_key = value ->> '$.key' FROM json_each(?)
  WHERE message_recipients.message_id = value ->> '$.id' AND message_recipients.email = value ->> '$.email'
    AND message_recipients.mailbox_key IS NULL`;

/** The rows to key: migration 0023's partial indexes, opt_outs_to_key and message_recipients_to_key, list them. */
const TO_KEY = `mailbox_key IS NULL AND ${OUTSIDE_ASCII_SQL}`;

/**
 * Rows of each table one call keys, at most. Each is one mailboxKey (a URL parse, microseconds) and one entry in a
 * JSON bound to the update, far below D1's bound-value limit (320 characters an address, sql.ts MAX_BOUND_BYTES).
 */
export const MAILBOX_ROWS_PER_CALL = 100;

/**
 * Keys (mailboxKey) the rows stored with no `mailbox_key` whose address has a character outside ASCII: those stored
 * before migration 0023, and any the worker released before it wrote while 0023 was being deployed. Until then their
 * `mailbox` is migration 0017's, which did not fold the address, and may miss an opt-out in another spelling of it.
 * Once keyed, an opt-out matches what it would have matched had the key always been the folded one, and so the
 * hits its emails stored since that opt-out (before this call, or before this release, when the spellings differed)
 * are deleted, as a registration deletes those stored after an opt-out of its recipients (upsertMessage): the
 * emails of the keyed recipients, and those to the mailboxes of the keyed opt-outs. A row is keyed only while it has
 * no key, so two calls at once write the same. Two queries when rows were left, one otherwise; true when none are left.
 */
export async function keyStoredMailboxes(db: D1Database, rows = MAILBOX_ROWS_PER_CALL): Promise<boolean> {
  const [optOutRows, recipientRows] = await db.batch<{ id: string; email: string }>([
    db.prepare(`SELECT account_id AS id, email FROM opt_outs WHERE ${TO_KEY} LIMIT ?`).bind(rows),
    db.prepare(`SELECT message_id AS id, email FROM message_recipients WHERE ${TO_KEY} LIMIT ?`).bind(rows),
  ]);
  const optOuts = (optOutRows?.results ?? []).map((row) => ({ ...row, key: mailboxKey(row.email) }));
  const recipients = (recipientRows?.results ?? []).map((row) => ({ ...row, key: mailboxKey(row.email) }));
  if (optOuts.length === 0 && recipients.length === 0) return true;
  const touchedIds = JSON.stringify([...new Set(recipients.map((row) => row.id))]);
  const optedOutKeys = JSON.stringify([...new Set(optOuts.map((row) => row.key))]);
  await db.batch([
    db.prepare(KEY_OPT_OUTS_SQL).bind(JSON.stringify(optOuts)),
    db.prepare(KEY_RECIPIENTS_SQL).bind(JSON.stringify(recipients)),
    // As optOutStatements: the contacts of the emails whose counted hits go, marked for rescoring before the delete.
    db
      .prepare(
        `UPDATE contact_scores SET dirty = dirty + 1 WHERE (account_id, email) IN (SELECT r.account_id, r.email FROM message_recipients r
           WHERE r.message_id IN (SELECT e.message_id FROM events e WHERE e.seq IN (${FORBIDDEN_EVENTS_SQL}) AND e.label IN (${COUNTED_SQL})))`,
      )
      .bind(touchedIds, optedOutKeys),
    db.prepare(`DELETE FROM events WHERE seq IN (${FORBIDDEN_EVENTS_SQL})`).bind(touchedIds, optedOutKeys),
  ]);
  return optOuts.length < rows && recipients.length < rows;
}

/** Whether this isolate found no row left to key (keyStoredMailboxes): it need not ask again. */
let allKeyed = false;

/**
 * keyStoredMailboxes until it finds none left, once per isolate from then on: before any hit is stored (storeHits),
 * so that no hit of a recipient who opted out in another spelling is stored while the rows stored before migration
 * 0023 wait for the hourly purge (which keys them too, for a tracker without hits). One query per isolate once done.
 */
export async function keyStoredMailboxesOnce(db: D1Database): Promise<void> {
  if (allKeyed) return;
  allKeyed = await keyStoredMailboxes(db);
}

/** For tests: this isolate forgets that every row was keyed, as a new isolate would. */
export function forgetKeyedMailboxes(): void {
  allKeyed = false;
}
