import { Hono } from "hono";
import { COUNTED_LABELS, type EventsResponse, eventsQuery, type FeedEvent } from "../../../shared/api";
import { requireAccount } from "../auth";
import { eventsAfter, type FeedRow } from "../db/events";
import { runOverduePurge } from "../db/retention";
import type { AppEnv } from "../env";
import { validated } from "../http";

/** FEED_SETTLE_SECONDS, for development and tests only: the longest an event is held; unset, the rules decide. */
function holdCapMs(configured: string | undefined): number | null {
  const seconds = Number(configured);
  return configured !== undefined && configured !== "" && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

function feedEvent(row: FeedRow): FeedEvent {
  // A person's hit of a registered email (row.notify: released with its message registered) counts, and may notify.
  // An email not registered when its hit is released counts for nothing: once registered, its tracking may turn out
  // to be off, or a recipient to have opted out, and the tracker then drops the hit (upsertMessage), which the
  // extension's totals could not take back. The tracker's own counts (activity, digest, campaigns) agree. `notify`
  // stays in the answer for extensions that read it.
  const counted = row.notify && COUNTED_LABELS.includes(row.label);
  return {
    cursor: String(row.seq),
    messageId: row.message_id,
    threadId: row.thread_id,
    subject: row.subject,
    recipients: row.recipients ? JSON.parse(row.recipients) : [],
    kind: row.kind,
    linkIndex: row.link_index,
    linkUrl: row.link_url,
    label: row.label,
    counted,
    notify: counted,
    registered: row.notify,
    at: new Date(row.occurred_at).toISOString(),
  };
}

/**
 * `GET /api/events?after=<cursor>`: the account's new events, each released once, in order. An event is held back
 * until its label is final (no sender-view report, registration or later hit can change it any more), so what the
 * extension notifies is never a machine or the sender (docs/protocol.md, "Notifications"). A held event holds back
 * only itself: `events` is the released prefix (the cursor moves to its end), `ahead` the events released after the
 * first one held, which come again in `events` once the cursor reaches them. `nextAt` says when the earliest event
 * held is released, so the extension can look again then rather than at its next minute. With `correctionsAfter`,
 * `corrections` are the events released before whose label changed since (migration 0022), after that cursor, in
 * order; an extension that does not send it (older than corrections) gets none, and its request reads none.
 * The extension asks about every minute while Gmail is open, so after its answer the request also runs the retention
 * purge if it is overdue (db/retention.ts, purgeIfOverdue): of the API's requests, this one's own D1 queries are few
 * and fixed (the account, when KV has not cached it, and the page), so the purge's fit beside them in the invocation's
 * FREE_PLAN_D1_QUERIES whatever the account holds.
 */
export const eventsRoute = new Hono<AppEnv>().use(requireAccount).get("/", validated("query", eventsQuery), async (c) => {
  const { after, correctionsAfter, limit } = c.req.valid("query");
  const { rows, ahead, nextAt, corrections } = await eventsAfter(
    c.env.DB,
    c.get("account").id,
    Number(after),
    Date.now(),
    limit,
    holdCapMs(c.env.FEED_SETTLE_SECONDS),
    correctionsAfter === undefined ? null : Number(correctionsAfter),
  );
  const body: EventsResponse = {
    events: rows.map(feedEvent),
    ahead: ahead.map(feedEvent),
    cursor: rows.length > 0 ? String(rows[rows.length - 1]?.seq) : after,
    nextAt: nextAt === null ? null : new Date(nextAt).toISOString(),
  };
  if (corrections) {
    body.corrections = corrections.map((row) => ({ cursor: String(row.correction_seq), event: feedEvent(row) }));
    body.correctionsCursor = corrections.length > 0 ? String(corrections[corrections.length - 1]?.correction_seq) : correctionsAfter;
  }
  c.executionCtx.waitUntil(runOverduePurge(c.env.DB, c.env.SIGNING_SECRET ?? "", c.env.HITS, Date.now()));
  return c.json(body);
});
