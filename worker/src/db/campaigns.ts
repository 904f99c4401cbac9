// Campaign metrics (docs/protocol.md §12): message counts from counted events, signals and the emails' own state, and top links.
import type { CampaignLink, CampaignMetrics } from "../../../shared/api";
import { unsubscribedSql } from "./events";
import { type BounceRow, effectiveBounces } from "./signals";
import { COUNTED_SQL, chunked, placeholders } from "./sql";

const LIVE = "m.deleted_at IS NULL AND m.registered_at IS NOT NULL";

export interface CampaignRow {
  name: string;
  sent: number;
  first_sent_at: number | null;
  last_sent_at: number | null;
}

/** One page of the account's campaigns, most recently sent first, after the (lastSentAt, name) keyset position. */
export async function campaignPage(
  db: D1Database,
  accountId: string,
  after: { lastSentAt: number; name: string } | null,
  limit: number,
): Promise<CampaignRow[]> {
  const { results } = await db
    .prepare(
      `SELECT m.campaign AS name, count(*) AS sent, min(m.sent_at) AS first_sent_at, max(m.sent_at) AS last_sent_at
       FROM messages m WHERE m.account_id = ?1 AND m.campaign IS NOT NULL AND ${LIVE}
       GROUP BY m.campaign
       HAVING ?2 IS NULL OR coalesce(max(m.sent_at), 0) < ?2 OR (coalesce(max(m.sent_at), 0) = ?2 AND m.campaign > ?3)
       ORDER BY coalesce(max(m.sent_at), 0) DESC, m.campaign LIMIT ?4`,
    )
    .bind(accountId, after?.lastSentAt ?? null, after?.name ?? "", limit)
    .all<CampaignRow>();
  return results;
}

export async function getCampaign(db: D1Database, accountId: string, name: string): Promise<CampaignRow | null> {
  return db
    .prepare(
      `SELECT m.campaign AS name, count(*) AS sent, min(m.sent_at) AS first_sent_at, max(m.sent_at) AS last_sent_at
       FROM messages m WHERE m.account_id = ? AND m.campaign = ? AND ${LIVE} GROUP BY m.campaign`,
    )
    .bind(accountId, name)
    .first<CampaignRow>();
}

function rate(count: number, sent: number): number {
  return sent === 0 ? 0 : Math.round((count / sent) * 10_000) / 10_000;
}

/**
 * Metrics of each named campaign: opened/clicked from counted events only, replied and unsubscribed emails (kept on the
 * email past the retention purge, as its status says them), effective bounces.
 */
export async function campaignMetrics(
  db: D1Database,
  accountId: string,
  rows: readonly CampaignRow[],
): Promise<Map<string, CampaignMetrics>> {
  const counts = new Map(rows.map((r) => [r.name, { opened: 0, clicked: 0, replied: 0, unsubscribed: 0, bounced: 0 }]));
  for (const names of chunked(
    rows.map((r) => r.name),
    80,
  )) {
    const list = placeholders(names.length);
    const [events, answers, bounces] = await db.batch([
      db
        .prepare(
          `SELECT m.campaign AS name, e.kind, count(DISTINCT e.message_id) AS n FROM events e JOIN messages m ON m.id = e.message_id
           WHERE m.account_id = ? AND m.campaign IN (${list}) AND ${LIVE} AND e.label IN (${COUNTED_SQL}) GROUP BY m.campaign, e.kind`,
        )
        .bind(accountId, ...names),
      // Replied and unsubscribed as each email's status says them (status.ts): a reply from the time kept on the
      // email, which outlives the signals the retention purge and a contact's deletion take (migration 0021).
      db
        .prepare(
          `SELECT m.campaign AS name, sum(m.last_reply_at IS NOT NULL) AS replied, sum(${unsubscribedSql("m.id")}) AS unsubscribed
           FROM messages m WHERE m.account_id = ? AND m.campaign IN (${list}) AND ${LIVE} GROUP BY m.campaign`,
        )
        .bind(accountId, ...names),
      db
        .prepare(
          `SELECT m.campaign AS name, s.message_id, s.account_id, s.email, s.bounce_kind, s.occurred_at FROM signals s
           JOIN messages m ON m.id = s.message_id WHERE m.account_id = ? AND m.campaign IN (${list}) AND ${LIVE} AND s.kind = 'bounce'`,
        )
        .bind(accountId, ...names),
    ]);
    for (const row of (events?.results ?? []) as { name: string; kind: string; n: number }[]) {
      const c = counts.get(row.name);
      if (c && row.kind === "open") c.opened = row.n;
      if (c && row.kind === "click") c.clicked = row.n;
    }
    for (const row of (answers?.results ?? []) as { name: string; replied: number; unsubscribed: number }[]) {
      const c = counts.get(row.name);
      if (c) Object.assign(c, { replied: row.replied, unsubscribed: row.unsubscribed });
    }
    // A message counts as bounced when any of its bounce rows is in effect (as in its status).
    const bounced = new Map<string, Set<string>>();
    for (const row of await effectiveBounces(db, (bounces?.results ?? []) as (BounceRow & { name: string })[])) {
      bounced.set(row.name, (bounced.get(row.name) ?? new Set()).add(row.message_id));
    }
    for (const [name, messages] of bounced) {
      const c = counts.get(name);
      if (c) c.bounced = messages.size;
    }
  }
  const metrics = new Map<string, CampaignMetrics>();
  for (const row of rows) {
    const c = counts.get(row.name) ?? { opened: 0, clicked: 0, replied: 0, unsubscribed: 0, bounced: 0 };
    metrics.set(row.name, {
      sent: row.sent,
      ...c,
      openRate: rate(c.opened, row.sent),
      clickRate: rate(c.clicked, row.sent),
      replyRate: rate(c.replied, row.sent),
      bounceRate: rate(c.bounced, row.sent),
      unsubscribeRate: rate(c.unsubscribed, row.sent),
    });
  }
  return metrics;
}

export async function topLinks(db: D1Database, accountId: string, name: string, limit = 10): Promise<CampaignLink[]> {
  const { results } = await db
    .prepare(
      `SELECT l.url, count(*) AS clicks, count(DISTINCT coalesce(e.ip_hash, 'seq:' || e.seq)) AS unique_clicks
       FROM events e JOIN messages m ON m.id = e.message_id
       JOIN links l ON l.message_id = e.message_id AND l.link_index = e.link_index
       WHERE m.account_id = ? AND m.campaign = ? AND ${LIVE} AND e.kind = 'click' AND e.label IN (${COUNTED_SQL})
       GROUP BY l.url ORDER BY clicks DESC, l.url LIMIT ?`,
    )
    .bind(accountId, name, limit)
    .all<{ url: string; clicks: number; unique_clicks: number }>();
  return results.map((r) => ({ url: r.url, clicks: r.clicks, uniqueClicks: r.unique_clicks }));
}
