// CSV export (docs/protocol.md §14): streamed page by page, every field through shared/csv.ts.
import { Hono } from "hono";
import { COUNTED_LABELS, type EventLabel } from "../../../shared/api";
import { type CsvValue, csvRow } from "../../../shared/csv";
import { requireAccount } from "../auth";
import { accountContacts, contactSummaries } from "../db/contacts";
import { messagePage } from "../db/messages";
import type { AppEnv } from "../env";
import { listItems } from "../status";
import { iso } from "../time";

const PAGE = 500;

const MESSAGE_COLUMNS = [
  "id",
  "sent_at",
  "subject",
  "recipients",
  "campaign",
  "thread_id",
  "state",
  "opens",
  "first_open_at",
  "last_open_at",
  "clicks",
  "last_click_at",
  "replies",
  "bounce",
  "unsubscribed",
];
const EVENT_COLUMNS = [
  "at",
  "message_id",
  "subject",
  "campaign",
  "recipients",
  "kind",
  "label",
  "counted",
  "link_index",
  "link_url",
  "email",
  "bounce_kind",
  "country",
  "region",
  "city",
  "client",
  "device",
];
const CONTACT_COLUMNS = ["email", "name", "score", "last_activity_at", "last_sent_at", "sent", "suppressed", "bounce_kind", "opted_out"];

/** A text/csv attachment whose body is produced page by page, as the client reads it. */
function csvResponse(filename: string, header: readonly string[], pages: AsyncGenerator<CsvValue[][]>): Response {
  const encoder = new TextEncoder();
  let headerSent = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(csvRow(header)));
        return;
      }
      const next = await pages.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value.map(csvRow).join("")));
    },
    async cancel() {
      await pages.return(undefined);
    },
  });
  return new Response(stream, {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

async function* messageRows(db: D1Database, accountId: string): AsyncGenerator<CsvValue[][]> {
  let after: { sentAt: number; id: string } | null = null;
  for (;;) {
    const rows = await messagePage(db, accountId, {}, after, PAGE);
    if (rows.length === 0) return;
    const items = await listItems(db, rows);
    yield items.map((m) => [
      m.id,
      m.sentAt,
      m.subject,
      m.recipients.map((r) => r.email).join("; "),
      m.campaign,
      m.threadId,
      m.state,
      m.openCount,
      m.firstOpenAt,
      m.lastOpenAt,
      m.clickCount,
      m.lastClickAt,
      m.replyCount,
      m.bounce?.kind,
      m.unsubscribed,
    ]);
    const last = rows[rows.length - 1];
    if (!last || rows.length < PAGE) return;
    after = { sentAt: last.sent_at ?? 0, id: last.id };
  }
}

interface EventExportRow {
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
  city: string | null;
  client: string | null;
  device: string | null;
}

const toEventCsv = (r: EventExportRow): CsvValue[] => [
  iso(r.occurred_at),
  r.message_id,
  r.subject,
  r.campaign,
  r.recipients,
  r.kind,
  r.label,
  r.label === null ? true : COUNTED_LABELS.includes(r.label),
  r.link_index,
  r.url,
  r.email || null,
  r.bounce_kind,
  r.country,
  r.region,
  r.city,
  r.client,
  r.device,
];

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
    NULL AS bounce_kind, e.country, e.region, e.city, e.client, e.device
  FROM events e LEFT JOIN messages m ON m.id = e.message_id
  LEFT JOIN links l ON l.message_id = e.message_id AND l.link_index = e.link_index
  WHERE e.account_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`;

const SIGNALS_SQL = `SELECT s.seq, s.occurred_at, s.message_id, m.subject, m.campaign, ${RECIPIENTS_SQL("s.message_id")}, s.kind, NULL AS label, NULL AS link_index,
    NULL AS url, s.email, s.bounce_kind, NULL AS country, NULL AS region, NULL AS city, NULL AS client, NULL AS device
  FROM signals s LEFT JOIN messages m ON m.id = s.message_id
  WHERE s.account_id = ? AND s.seq > ? ORDER BY s.seq LIMIT ?`;

/** Pages through one query's rows in seq order (its binds: account, seq after, limit). */
async function* rowsBySeq(db: D1Database, sql: string, accountId: string): AsyncGenerator<CsvValue[][]> {
  for (let seq = 0; ; ) {
    const { results } = await db.prepare(sql).bind(accountId, seq, PAGE).all<EventExportRow>();
    if (results.length > 0) yield results.map(toEventCsv);
    if (results.length < PAGE) break;
    seq = results[results.length - 1]?.seq ?? seq;
  }
}

/** Opens and clicks in the order they were written, then replies, bounces and unsubscribes in theirs. */
async function* eventRows(db: D1Database, accountId: string): AsyncGenerator<CsvValue[][]> {
  yield* rowsBySeq(db, OPENS_AND_CLICKS_SQL, accountId);
  yield* rowsBySeq(db, SIGNALS_SQL, accountId);
}

async function* contactRows(db: D1Database, accountId: string): AsyncGenerator<CsvValue[][]> {
  const contacts = (await accountContacts(db, accountId, Date.now())).sort((a, b) => b.score - a.score || (a.email < b.email ? -1 : 1));
  for (let i = 0; i < contacts.length; i += PAGE) {
    yield (await contactSummaries(db, accountId, contacts.slice(i, i + PAGE))).map((c) => [
      c.email,
      c.name,
      c.score,
      c.lastActivityAt,
      c.lastSentAt,
      c.sent,
      c.suppressed,
      c.bounceKind,
      c.optedOut,
    ]);
  }
}

/** `/api/export/*.csv`: the account's messages, events and contacts. */
export const exportRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .get("/messages.csv", (c) => csvResponse("messages.csv", MESSAGE_COLUMNS, messageRows(c.env.DB, c.get("account").id)))
  .get("/events.csv", (c) => csvResponse("events.csv", EVENT_COLUMNS, eventRows(c.env.DB, c.get("account").id)))
  .get("/contacts.csv", (c) => csvResponse("contacts.csv", CONTACT_COLUMNS, contactRows(c.env.DB, c.get("account").id)));
