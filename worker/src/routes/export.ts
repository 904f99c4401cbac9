// CSV export (docs/protocol.md §14), every field through shared/csv.ts. A file comes in parts, one request each, the
// next named by a `Link: <…>; rel="next"` header (RFC 8288): one response for the whole file made one D1 query per
// 500 events and about 13 per 500 messages, past FREE_PLAN_D1_QUERIES (db/sql.ts) for a busy account. Each part's
// rows are bounded so its queries are (worker/test/export.test.ts).
import { type Context, Hono } from "hono";
import { COUNTED_LABELS, exportQuery } from "../../../shared/api";
import { type CsvValue, csvRow } from "../../../shared/csv";
import { requireAccount } from "../auth";
import { type CursorValues, encodeCursor, pageCursor } from "../cursor";
import { contactSummaries, scoredContacts } from "../db/contacts";
import { type ExportedEventRow, type ExportedEventsCursor, exportedEventsPage, recipientAddressesPage } from "../db/export";
import { messagePage } from "../db/messages";
import type { AppEnv } from "../env";
import { validated } from "../http";
import { listItems } from "../status";
import { iso } from "../time";

/**
 * Rows per part: at most 13 D1 queries for messages, 2 for events and signals, 8 for contacts, and one more per 90
 * other spellings outside ASCII of the part's addresses (db/spellings.ts) (export.test.ts).
 */
const MESSAGES_PER_PART = 500;
const EVENTS_PER_PART = 1_000;
const CONTACTS_PER_PART = 270;

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
  "client",
  "device",
];
const CONTACT_COLUMNS = ["email", "name", "score", "last_activity_at", "last_sent_at", "sent", "suppressed", "bounce_kind", "opted_out"];

/** One part of an export: its rows, and where the next part starts (null for the last). */
interface Part<C> {
  rows: CsvValue[][];
  next: C | null;
}

/**
 * The part of `filename` after `cursor` (the first, with the header row, without one): a text/csv attachment with
 * a `Link` to the next part when there is one.
 */
async function csvPart<const S extends readonly ("s" | "n")[]>(
  c: Context<AppEnv>,
  cursor: string | undefined,
  filename: string,
  header: readonly string[],
  shape: S,
  read: (db: D1Database, accountId: string, after: CursorValues<S> | null) => Promise<Part<CursorValues<S>>>,
): Promise<Response> {
  const { values: after, error } = pageCursor(c, cursor, shape);
  if (error) return error;
  const part = await read(c.env.DB, c.get("account").id, after);
  const headers: Record<string, string> = {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename}"`,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  };
  if (part.next) headers.Link = `</api/export/${filename}?cursor=${encodeCursor(part.next)}>; rel="next"`;
  const rows = after ? part.rows : [header, ...part.rows];
  return new Response(rows.map(csvRow).join(""), { headers });
}

/** Newest first, as the message list (messagePage): the cursor is the last row's [sent_at, id]. */
async function messagesPart(db: D1Database, accountId: string, after: [number, string] | null): Promise<Part<[number, string]>> {
  const rows = await messagePage(db, accountId, {}, after && { sentAt: after[0], id: after[1] }, MESSAGES_PER_PART + 1);
  const shown = rows.slice(0, MESSAGES_PER_PART);
  const items = await listItems(db, shown);
  const last = shown.at(-1);
  return {
    rows: items.map((m) => [
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
    ]),
    next: rows.length > MESSAGES_PER_PART && last ? [last.sent_at ?? 0, last.id] : null,
  };
}

const toEventCsv = (r: ExportedEventRow): CsvValue[] => [
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
  r.client,
  r.device,
];

/** Opens and clicks, then replies, bounces and unsubscribes, each in the order written (db/export.ts). */
async function eventsPart(db: D1Database, accountId: string, after: ExportedEventsCursor | null): Promise<Part<ExportedEventsCursor>> {
  const { rows, next } = await exportedEventsPage(db, accountId, after, EVENTS_PER_PART);
  return { rows: rows.map(toEventCsv), next };
}

/** By address (message_recipients_by_email), each part's contacts scored now: the cursor is the last address. */
async function contactsPart(db: D1Database, accountId: string, after: [string] | null): Promise<Part<[string]>> {
  const { emails, more } = await recipientAddressesPage(db, accountId, after?.[0] ?? "", CONTACTS_PER_PART);
  const now = Date.now();
  // A person stored in several spellings is one row, shown as the one a person reads (readableFirst, db/contacts.ts):
  // in the part that holds that spelling, whichever parts hold the others.
  const listed = new Set(emails);
  const contacts = (await scoredContacts(db, accountId, now, emails)).filter((contact) => listed.has(contact.email));
  contacts.sort((a, b) => (a.email < b.email ? -1 : 1));
  const last = emails.at(-1);
  return {
    rows: (await contactSummaries(db, accountId, contacts)).map((c) => [
      c.email,
      c.name,
      c.score,
      c.lastActivityAt,
      c.lastSentAt,
      c.sent,
      c.suppressed,
      c.bounceKind,
      c.optedOut,
    ]),
    next: more && last ? [last] : null,
  };
}

/** `/api/export/*.csv`: the account's messages, events and contacts, a part a request (`?cursor=` from `Link`). */
export const exportRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .get("/messages.csv", validated("query", exportQuery), (c) =>
    csvPart(c, c.req.valid("query").cursor, "messages.csv", MESSAGE_COLUMNS, ["n", "s"], messagesPart),
  )
  .get("/events.csv", validated("query", exportQuery), (c) =>
    csvPart(c, c.req.valid("query").cursor, "events.csv", EVENT_COLUMNS, ["n", "n"], eventsPart),
  )
  .get("/contacts.csv", validated("query", exportQuery), (c) =>
    csvPart(c, c.req.valid("query").cursor, "contacts.csv", CONTACT_COLUMNS, ["s"], contactsPart),
  );
