// Queries behind the extension's glance views: the popup's digest of recent activity per message, the emails that
// wait for a reply (the follow-up list), and counted opens and clicks per day (the dashboard's chart).

import { DAY_MS } from "../../../shared/durations";
import { unsubscribedSql } from "./events";
import type { MessageRow } from "./messages";
import { COUNTED_SQL, chunked, placeholders } from "./sql";

/** Live, registered messages of the account. */
const LIVE = "m.deleted_at IS NULL AND m.registered_at IS NOT NULL";

/*
 * An account's events of a window of time (recent activity, the chart) are read by events_by_time (occurred_at>?),
 * whatever account each is of, account_id kept off every index by a unary `+` (sqlite.org/optoverview.html,
 * "Disqualifying WHERE Clause Terms Using Unary-'+'", as db/messages.ts does): with no statistics (this project runs
 * no ANALYZE) SQLite read every event of the account by events_by_account (account_id=?) instead (EXPLAIN QUERY PLAN,
 * local D1, 2026-12-07). Each rep or team runs its own tracker, so an account holds most of its tracker's events and
 * the window read is about the account's own; an index of account and time would cost a fifth row written per event
 * (docs/benchmarks.md, d1-rows-written-per-event). list-query-plans.test.ts pins both plans.
 */

/** recentlyActive's statement: ?1 the account, ?2 since, ?3 the limit. */
export const RECENTLY_ACTIVE_SQL = `WITH recent AS (
    -- GROUP BY +message_id: by message_id, SQLite chose to read every event in events_by_message's order to group
    -- them without a sort, the window's and every other (EXPLAIN QUERY PLAN, local D1, 2026-12-07).
    SELECT message_id, max(occurred_at) AS last_at FROM events
    WHERE occurred_at >= ?2 AND +account_id = ?1 AND label IN (${COUNTED_SQL}) GROUP BY +message_id
    UNION ALL
    SELECT message_id, max(occurred_at) AS last_at FROM signals WHERE occurred_at >= ?2 AND account_id = ?1 GROUP BY message_id
  )
  -- CROSS JOIN keeps the recent messages as the outer loop, each message read by its id: with a plain JOIN and no
  -- statistics, SQLite read the account's every message by messages_by_sent, since dropped (EXPLAIN QUERY PLAN, local D1,
  -- 2026-12-07), and SQLite does not reorder a CROSS JOIN (sqlite.org/optoverview.html, "Manual Control Of Query
  -- Plans Using CROSS JOIN").
  SELECT m.*, max(recent.last_at) AS last_activity_at FROM recent CROSS JOIN messages m ON m.id = recent.message_id
  WHERE m.account_id = ?1 AND ${LIVE}
  GROUP BY m.id ORDER BY last_activity_at DESC, m.id DESC LIMIT ?3`;

/**
 * Messages with a counted open or click or a signal (reply, bounce, opt-out) since `since`, latest first, with the
 * time of that latest activity. Reads the events since then by events_by_time (see above), the account's signals since
 * then by signals_by_account_time (migration 0031).
 */
export async function recentlyActive(
  db: D1Database,
  accountId: string,
  since: number,
  limit: number,
): Promise<{ row: MessageRow; lastActivityAt: number }[]> {
  const { results } = await db.prepare(RECENTLY_ACTIVE_SQL).bind(accountId, since, limit).all<MessageRow & { last_activity_at: number }>();
  return results.map(({ last_activity_at, ...row }) => ({ row, lastActivityAt: last_activity_at }));
}

export interface ClickedLink {
  index: number;
  url: string;
  clicks: number;
}

/** Counted clicks per link of each message, most clicked first. */
export async function clickedLinks(db: D1Database, messageIds: readonly string[]): Promise<Map<string, ClickedLink[]>> {
  const out = new Map<string, ClickedLink[]>();
  for (const ids of chunked(messageIds)) {
    const { results } = await db
      .prepare(
        `SELECT e.message_id, e.link_index, l.url, count(*) AS clicks FROM events e
         JOIN links l ON l.message_id = e.message_id AND l.link_index = e.link_index
         WHERE e.message_id IN (${placeholders(ids.length)}) AND e.kind = 'click' AND e.label IN (${COUNTED_SQL})
         GROUP BY e.message_id, e.link_index ORDER BY clicks DESC, e.link_index`,
      )
      .bind(...ids)
      .all<{ message_id: string; link_index: number; url: string; clicks: number }>();
    for (const r of results)
      out.set(r.message_id, [...(out.get(r.message_id) ?? []), { index: r.link_index, url: r.url, clicks: r.clicks }]);
  }
  return out;
}

/** Hits of each message that machines made (not counted, and not the sender's own views). */
export async function machineHitCounts(db: D1Database, messageIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const ids of chunked(messageIds)) {
    const { results } = await db
      .prepare(
        `SELECT message_id, count(*) AS n FROM events WHERE message_id IN (${placeholders(ids.length)})
         AND label NOT IN (${COUNTED_SQL}) AND label != 'sender' GROUP BY message_id`,
      )
      .bind(...ids)
      .all<{ message_id: string; n: number }>();
    for (const r of results) out.set(r.message_id, r.n);
  }
  return out;
}

/** How long each email waits for a reply before it needs a follow-up. */
export interface FollowUpWaits {
  /** The wait of an email whose campaign has none in `campaignDays` (or that has no campaign). */
  defaultDays: number;
  /** Per-campaign waits, by campaign name. */
  campaignDays: Record<string, number>;
}

/**
 * awaitingReply's statement: ?4 the campaigns' waits in days (a JSON object), looked up for each message read. Written
 * on coalesce(sent_at, 0), the key of messages_by_account_newest (migration 0031): the account's emails since ?2 read
 * by that range, newest first in the index's order (a time since is after 0, so an email with no sent_at stays out).
 */
export const AWAITING_REPLY_SQL = `SELECT m.* FROM messages m
  WHERE m.account_id = ?1 AND ${LIVE} AND m.stopped_at IS NULL AND coalesce(m.sent_at, 0) >= ?2
    AND coalesce(m.sent_at, 0) <= ?3 - ${DAY_MS} * COALESCE((SELECT w.value FROM json_each(?4) w WHERE w.key = m.campaign), ?5)
    AND m.last_reply_at IS NULL AND NOT ${unsubscribedSql("m.id")}
  ORDER BY coalesce(m.sent_at, 0) DESC, m.id DESC LIMIT ?6`;

/**
 * Messages sent since `sentFrom` and at least their wait (`waits`) before `now`, that nobody replied to or opted out of
 * and whose tracking was not stopped, newest first (bounces are left to the caller, which knows which are in effect).
 * A reply is read from the time kept on the email (last_reply_at, migration 0021), which outlives its signal (the
 * retention purge, a contact's deletion); an opt-out by the hit rule's own (unsubscribedSql), as the status reads them.
 * The waits are applied here, before `limit`: an email still within its campaign's longer wait takes no place.
 */
export async function awaitingReply(
  db: D1Database,
  accountId: string,
  sentFrom: number,
  now: number,
  waits: FollowUpWaits,
  limit: number,
): Promise<MessageRow[]> {
  const { results } = await db
    .prepare(AWAITING_REPLY_SQL)
    .bind(accountId, sentFrom, now, JSON.stringify(waits.campaignDays), waits.defaultDays, limit)
    .all<MessageRow>();
  return results;
}

/** A quarter of an hour: every UTC offset in use is a whole number of them, so a local day is too. */
export const QUARTER_HOUR_MS = 900_000;

/** quarterHourCounts' statement: ?1 the account, ?2 since. */
export const QUARTER_HOUR_COUNTS_SQL = `SELECT CAST(e.occurred_at / ${QUARTER_HOUR_MS} AS INTEGER) AS quarter,
    sum(e.kind = 'open') AS opens, sum(e.kind = 'click') AS clicks
  FROM events e JOIN messages m ON m.id = e.message_id
  WHERE e.occurred_at >= ?2 AND +e.account_id = ?1 AND e.label IN (${COUNTED_SQL}) AND ${LIVE} GROUP BY quarter ORDER BY quarter`;

/**
 * Counted opens and clicks of live, registered messages since `since`, per quarter hour (its number since the epoch),
 * oldest first: the caller sums them into the rep's local days, whatever their length. Of registered emails only, as
 * every other count: a hit of an email not registered (yet, or ever) has not met the rules that need the email (the
 * send time, its links), so it is not known to be a person's. Reads the events since then by events_by_time (see
 * above RECENTLY_ACTIVE_SQL).
 */
export async function quarterHourCounts(
  db: D1Database,
  accountId: string,
  since: number,
): Promise<{ quarter: number; opens: number; clicks: number }[]> {
  const { results } = await db
    .prepare(QUARTER_HOUR_COUNTS_SQL)
    .bind(accountId, since)
    .all<{ quarter: number; opens: number; clicks: number }>();
  return results;
}
