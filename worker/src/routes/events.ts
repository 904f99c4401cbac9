import { Hono } from "hono";
import { COUNTED_LABELS, type EventsResponse, eventsQuery } from "../../../shared/api";
import { requireAccount } from "../auth";
import { eventsAfter } from "../db/events";
import type { AppEnv } from "../env";
import { validated } from "../http";

const DEFAULT_SETTLE_SECONDS = 20;

function settleMs(configured: string | undefined): number {
  const seconds = Number(configured ?? DEFAULT_SETTLE_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_SETTLE_SECONDS * 1000;
}

/**
 * `GET /api/events?after=<cursor>`: the account's new events, each exactly once and in order. Events are held
 * back for FEED_SETTLE_SECONDS after they are written, so a sender-view report that arrives just after the hit
 * relabels it before anyone is notified.
 */
export const eventsRoute = new Hono<AppEnv>().use(requireAccount).get("/", validated("query", eventsQuery), async (c) => {
  const { after, limit } = c.req.valid("query");
  const rows = await eventsAfter(c.env.DB, c.get("account").id, Number(after), Date.now() - settleMs(c.env.FEED_SETTLE_SECONDS), limit);
  const body: EventsResponse = {
    events: rows.map((row) => ({
      cursor: String(row.seq),
      messageId: row.message_id,
      threadId: row.thread_id,
      subject: row.subject,
      recipients: row.recipients ? JSON.parse(row.recipients) : [],
      kind: row.kind,
      linkIndex: row.link_index,
      label: row.label,
      counted: COUNTED_LABELS.includes(row.label),
      at: new Date(row.occurred_at).toISOString(),
    })),
    cursor: rows.length > 0 ? String(rows[rows.length - 1]?.seq) : after,
  };
  return c.json(body);
});
