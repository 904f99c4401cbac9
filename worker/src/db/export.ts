// Queries behind the CSV export (routes/export.ts, docs/protocol.md §14) that no other view shares: its events in
// the order they were written and its contacts' addresses, each read a part at a time after a cursor.
import type { EventLabel } from "../../../shared/api";

/** One row of the events file as stored: an open or a click (events), or a reply, bounce or unsubscribe (signals). */
export interface ExportedEventRow {
  seq: number;
  occurred_at: number;
  message_id: string;
  subject: string | null;
  campaign: string | null;
  recipients: string | null;
  kind: string;
  label: EventLabel | null;
  link_index: number | null;
  url: string | null;
  email: string | null;
  bounce_kind: string | null;
  country: string | null;
  region: string | null;
  client: string | null;
  device: string | null;
}

/** Every address the email went to, "; "-separated: who an open or a click can be from. */
const RECIPIENTS_SQL = (messageId: string) =>
  `(SELECT group_concat(r.email, '; ') FROM message_recipients r WHERE r.message_id = ${messageId}) AS recipients`;

/**
 * Opens and clicks: `email` is the recipient when the email went to one address; with several, one pixel cannot
 * tell who, and `recipients` lists them all.
 */
const OPENS_AND_CLICKS_SQL = `SELECT e.seq, e.occurred_at, e.message_id, m.subject, m.campaign, ${RECIPIENTS_SQL("e.message_id")},
    e.kind, e.label, e.link_index, l.url,
    CASE WHEN m.recipient_count = 1 THEN (SELECT min(r.email) FROM message_recipients r WHERE r.message_id = e.message_id) END AS email,
    NULL AS bounce_kind, e.country, e.region, e.client, e.device
  FROM events e LEFT JOIN messages m ON m.id = e.message_id
  LEFT JOIN links l ON l.message_id = e.message_id AND l.link_index = e.link_index
  WHERE e.account_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`;

const SIGNALS_SQL = `SELECT s.seq, s.occurred_at, s.message_id, m.subject, m.campaign, ${RECIPIENTS_SQL("s.message_id")}, s.kind, NULL AS label, NULL AS link_index,
    NULL AS url, s.email, s.bounce_kind, NULL AS country, NULL AS region, NULL AS client, NULL AS device
  FROM signals s LEFT JOIN messages m ON m.id = s.message_id
  WHERE s.account_id = ? AND s.seq > ? ORDER BY s.seq LIMIT ?`;

/** Opens and clicks in the order they were written, then replies, bounces and unsubscribes in theirs. */
const EVENT_QUERIES = [OPENS_AND_CLICKS_SQL, SIGNALS_SQL];

/** Where a page of exported events ends: [which of EVENT_QUERIES, the last seq read of it]. */
export type ExportedEventsCursor = [query: number, seq: number];

/**
 * Up to `limit` of the account's events after `after` (from the first without it), one query per table read, and
 * the cursor of the next page (null after the last): a page may end one query and begin the next.
 */
export async function exportedEventsPage(
  db: D1Database,
  accountId: string,
  after: ExportedEventsCursor | null,
  limit: number,
): Promise<{ rows: ExportedEventRow[]; next: ExportedEventsCursor | null }> {
  const rows: ExportedEventRow[] = [];
  const [first, firstSeq] = after ?? [0, 0];
  for (const [query, sql] of EVENT_QUERIES.entries()) {
    if (query < first) continue;
    const seq = query === first ? firstSeq : 0;
    const room = limit - rows.length;
    const { results } = await db
      .prepare(sql)
      .bind(accountId, seq, room + 1)
      .all<ExportedEventRow>();
    rows.push(...results.slice(0, room));
    if (results.length > room) return { rows, next: [query, results[room - 1]?.seq ?? seq] };
  }
  return { rows, next: null };
}

/**
 * Up to `limit` of the addresses the account sent to, in order, after `after` (message_recipients_by_email), and
 * whether more follow.
 */
export async function recipientAddressesPage(
  db: D1Database,
  accountId: string,
  after: string,
  limit: number,
): Promise<{ emails: string[]; more: boolean }> {
  const { results } = await db
    .prepare("SELECT DISTINCT email FROM message_recipients WHERE account_id = ? AND email > ? ORDER BY email LIMIT ?")
    .bind(accountId, after, limit + 1)
    .all<{ email: string }>();
  return { emails: results.slice(0, limit).map((r) => r.email), more: results.length > limit };
}
