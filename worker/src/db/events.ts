import type { EventKind, EventLabel } from "../../../shared/api";
import { type ContextEvent, contextLabels, type SenderView } from "../classify";
import type { Hit } from "../hits";
import { COUNTED_SQL, chunked, placeholders, SQL_NOW_MS } from "./sql";

/** Inserts hits once each: a redelivered hit has the same event id and is ignored. */
export function insertHitStatements(db: D1Database, hits: readonly Hit[]): D1PreparedStatement[] {
  return hits.map((hit) =>
    db
      .prepare(
        `INSERT OR IGNORE INTO events (event_id, account_id, message_id, kind, link_index, occurred_at, inserted_at,
           request_label, label, country, region, city, client, device, ip_hash)
         VALUES (?, ?, ?, ?, ?, ?, ${SQL_NOW_MS}, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        hit.eventId,
        hit.accountId,
        hit.messageId,
        hit.kind,
        hit.linkIndex,
        hit.occurredAt,
        hit.requestLabel,
        hit.requestLabel,
        hit.country,
        hit.region,
        hit.city,
        hit.client,
        hit.device,
        hit.ipHash,
      ),
  );
}

interface LabelRow {
  seq: number;
  message_id: string;
  kind: EventKind;
  link_index: number | null;
  occurred_at: number;
  request_label: EventLabel;
  label: EventLabel;
  ip_hash: string | null;
}

/**
 * Recomputes the final label of every event of these messages from their context (send time, link count,
 * sender views) and writes the ones that changed. Safe to run any number of times, in any order.
 */
export async function relabelMessages(db: D1Database, messageIds: readonly string[]): Promise<number> {
  const updates: D1PreparedStatement[] = [];
  for (const ids of chunked([...new Set(messageIds)])) {
    const list = placeholders(ids.length);
    const [events, messages, views] = await db.batch([
      db
        .prepare(
          `SELECT seq, message_id, kind, link_index, occurred_at, request_label, label, ip_hash FROM events WHERE message_id IN (${list})`,
        )
        .bind(...ids),
      db
        .prepare(
          `SELECT m.id, m.sent_at, (SELECT count(*) FROM links l WHERE l.message_id = m.id) AS link_count
         FROM messages m WHERE m.id IN (${list})`,
        )
        .bind(...ids),
      db.prepare(`SELECT message_id, viewed_at, ip_hash FROM sender_views WHERE message_id IN (${list})`).bind(...ids),
    ]);
    const rows = (events?.results ?? []) as LabelRow[];
    const messageInfo = new Map(
      ((messages?.results ?? []) as { id: string; sent_at: number | null; link_count: number }[]).map((m) => [m.id, m]),
    );
    const viewsByMessage = new Map<string, SenderView[]>();
    for (const view of (views?.results ?? []) as { message_id: string; viewed_at: number; ip_hash: string | null }[]) {
      viewsByMessage.set(view.message_id, [
        ...(viewsByMessage.get(view.message_id) ?? []),
        { viewedAt: view.viewed_at, ipHash: view.ip_hash },
      ]);
    }
    const byMessage = new Map<string, LabelRow[]>();
    for (const row of rows) byMessage.set(row.message_id, [...(byMessage.get(row.message_id) ?? []), row]);
    for (const [messageId, messageRows] of byMessage) {
      const info = messageInfo.get(messageId);
      const labels = contextLabels(messageRows.map(toContextEvent), {
        sentAt: info?.sent_at ?? null,
        linkCount: info?.link_count ?? 0,
        senderViews: viewsByMessage.get(messageId) ?? [],
      });
      for (const row of messageRows) {
        const label = labels.get(row.seq);
        if (label && label !== row.label) updates.push(db.prepare("UPDATE events SET label = ? WHERE seq = ?").bind(label, row.seq));
      }
    }
  }
  for (const batch of chunked(updates, 100)) await db.batch(batch);
  return updates.length;
}

function toContextEvent(row: LabelRow): ContextEvent {
  return {
    seq: row.seq,
    kind: row.kind,
    linkIndex: row.link_index,
    occurredAt: row.occurred_at,
    requestLabel: row.request_label,
    ipHash: row.ip_hash,
  };
}

export interface OpenClickSummary {
  messageId: string;
  openCount: number;
  firstOpenAt: number | null;
  lastOpenAt: number | null;
  clickCount: number;
  lastClickAt: number | null;
}

/** Counted (human) opens and clicks per message, from the covering index on (message_id, kind, label, occurred_at). */
export async function summarize(db: D1Database, messageIds: readonly string[]): Promise<Map<string, OpenClickSummary>> {
  const summaries = new Map<string, OpenClickSummary>();
  for (const id of messageIds) {
    summaries.set(id, { messageId: id, openCount: 0, firstOpenAt: null, lastOpenAt: null, clickCount: 0, lastClickAt: null });
  }
  for (const ids of chunked(messageIds)) {
    const { results } = await db
      .prepare(
        `SELECT message_id, kind, count(*) AS n, min(occurred_at) AS first_at, max(occurred_at) AS last_at
         FROM events WHERE message_id IN (${placeholders(ids.length)}) AND label IN (${COUNTED_SQL})
         GROUP BY message_id, kind`,
      )
      .bind(...ids)
      .all<{ message_id: string; kind: EventKind; n: number; first_at: number; last_at: number }>();
    for (const row of results) {
      const summary = summaries.get(row.message_id);
      if (!summary) continue;
      if (row.kind === "open") {
        summary.openCount = row.n;
        summary.firstOpenAt = row.first_at;
        summary.lastOpenAt = row.last_at;
      } else {
        summary.clickCount = row.n;
        summary.lastClickAt = row.last_at;
      }
    }
  }
  return summaries;
}

export interface EventRow {
  seq: number;
  kind: EventKind;
  link_index: number | null;
  occurred_at: number;
  label: EventLabel;
  country: string | null;
  region: string | null;
  city: string | null;
  client: string | null;
  device: string | null;
  ip_hash: string | null;
}

export async function messageEvents(db: D1Database, accountId: string, messageId: string): Promise<EventRow[]> {
  const { results } = await db
    .prepare(
      `SELECT seq, kind, link_index, occurred_at, label, country, region, city, client, device, ip_hash
       FROM events WHERE message_id = ? AND account_id = ? ORDER BY occurred_at, seq`,
    )
    .bind(messageId, accountId)
    .all<EventRow>();
  return results;
}

export async function messageLinks(db: D1Database, messageId: string): Promise<{ link_index: number; url: string }[]> {
  const { results } = await db
    .prepare("SELECT link_index, url FROM links WHERE message_id = ? ORDER BY link_index")
    .bind(messageId)
    .all<{ link_index: number; url: string }>();
  return results;
}

export interface FeedRow {
  seq: number;
  message_id: string;
  kind: EventKind;
  link_index: number | null;
  label: EventLabel;
  occurred_at: number;
  inserted_at: number;
  thread_id: string | null;
  subject: string | null;
  recipients: string | null;
}

/**
 * Events after `cursor`, in seq order, that were written at or before `settledBefore`. Stops at the first
 * unsettled row, so what is returned is always a prefix: nothing after the new cursor can be skipped later.
 */
export async function eventsAfter(
  db: D1Database,
  accountId: string,
  cursor: number,
  settledBefore: number,
  limit: number,
): Promise<FeedRow[]> {
  const { results } = await db
    .prepare(
      `SELECT e.seq, e.message_id, e.kind, e.link_index, e.label, e.occurred_at, e.inserted_at,
              m.thread_id, m.subject, m.recipients
       FROM events e LEFT JOIN messages m ON m.id = e.message_id
       WHERE e.account_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
    )
    .bind(accountId, cursor, limit)
    .all<FeedRow>();
  const firstUnsettled = results.findIndex((row) => row.inserted_at > settledBefore);
  return firstUnsettled === -1 ? results : results.slice(0, firstUnsettled);
}

export async function recordSenderViews(
  db: D1Database,
  views: readonly { messageId: string; ipHash: string | null }[],
  viewedAt: number,
): Promise<void> {
  if (views.length === 0) return;
  await db.batch(
    views.map(({ messageId, ipHash }) =>
      db.prepare("INSERT OR IGNORE INTO sender_views (message_id, viewed_at, ip_hash) VALUES (?, ?, ?)").bind(messageId, viewedAt, ipHash),
    ),
  );
}
