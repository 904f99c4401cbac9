import { COUNTED_LABELS, EVENT_KINDS, EVENT_LABELS, type EventKind, type EventLabel, SENDER_WINDOW_MS } from "../../../shared/api";
import {
  CLICK_REACH_MS,
  type ContextEvent,
  contextLabels,
  LINK_BURST_MS,
  LINK_PAIR_MS,
  labelFinalAt,
  type MessageContext,
  SAME_NETWORK_AS_SCANNER_MS,
  type SenderView,
  UNREGISTERED_HOLD_MS,
} from "../classify";
import type { Hit } from "../hits";
import { SENDER_VIEW_RETENTION_MS } from "./retention";
import { COUNTED_SQL, chunked, placeholders, SQL_NOW_MS } from "./sql";

/**
 * The next event's seq: above every stored event and every deleted one (event_seq_floor, migration 0010), so a feed
 * cursor never sees a seq twice. Two index seeks, instead of the AUTOINCREMENT sequence's row written per event.
 */
const NEXT_SEQ_SQL = "(SELECT max(coalesce((SELECT max(seq) FROM events), 0), seq) + 1 FROM event_seq_floor)";

/** What labelling a message's events needs from the message itself (classify.ts's MessageContext but the views). */
export interface MessageLabelFacts {
  sent_at: number | null;
  link_count: number;
  first_counted_open_at: number | null;
}

/**
 * The columns of MessageLabelFacts for the message row `m`, its first counted open as stored among the opens before
 * `openedBefore` (an SQL expression; every open when omitted). Counted by every rule but the scanner's network, as
 * classify.ts's link-pair rule reads opens: an open that rule made a scanner's is one whose own label counted (no
 * other rule labels an open `scanner` when its request label counts). Two seeks of events_by_message, the second
 * reading only the scanners' opens.
 */
function messageLabelFactsSql(openedBefore?: string): string {
  const [sentAt, linkCount, firstCountedOpenAt] = messageLabelFactColumns(openedBefore);
  return `${sentAt}, ${linkCount} AS link_count, ${firstCountedOpenAt} AS first_counted_open_at`;
}

/** The expressions of messageLabelFactsSql's columns, unnamed. */
function messageLabelFactColumns(openedBefore?: string): [string, string, string] {
  const before = openedBefore === undefined ? "" : ` AND e.occurred_at < ${openedBefore}`;
  const opens = `FROM events e WHERE e.message_id = m.id AND e.kind = 'open'${before}`;
  return [
    "m.sent_at",
    "(SELECT count(*) FROM links l WHERE l.message_id = m.id)",
    `(SELECT min(t) FROM (
     SELECT min(e.occurred_at) AS t ${opens} AND e.label IN (${COUNTED_SQL})
     UNION ALL SELECT min(e.occurred_at) ${opens} AND e.label = 'scanner' AND e.request_label IN (${COUNTED_SQL})))`,
  ];
}

/** The columns of MessageLabelFacts for the message row `m`, from every stored open. */
export const MESSAGE_LABEL_FACTS_SQL = messageLabelFactsSql();

function labelContext(facts: MessageLabelFacts | undefined, senderViews: MessageContext["senderViews"]): MessageContext {
  return {
    sentAt: facts?.sent_at ?? null,
    linkCount: facts?.link_count ?? 0,
    senderViews,
    firstCountedOpenAt: facts?.first_counted_open_at ?? null,
  };
}

/** The sender's views of these hits' messages within SENDER_WINDOW_MS of them, by message (for labelsOnArrival). */
export async function senderViewsNear(db: D1Database, hits: readonly Hit[]): Promise<Map<string, SenderView[]>> {
  const views = new Map<string, SenderView[]>();
  if (hits.length === 0) return views;
  const times = hits.map((hit) => hit.occurredAt);
  const from = Math.min(...times) - SENDER_WINDOW_MS;
  const to = Math.max(...times) + SENDER_WINDOW_MS;
  for (const ids of chunked([...new Set(hits.map((hit) => hit.messageId))])) {
    const { results } = await db
      .prepare(
        `SELECT message_id, viewed_at, ip_hash FROM sender_views
         WHERE message_id IN (${placeholders(ids.length)}) AND viewed_at BETWEEN ? AND ?`,
      )
      .bind(...ids, from, to)
      .all<{ message_id: string; viewed_at: number; ip_hash: string | null }>();
    for (const row of results) {
      const list = views.get(row.message_id) ?? [];
      list.push({ viewedAt: row.viewed_at, ipHash: row.ip_hash });
      views.set(row.message_id, list);
    }
  }
  return views;
}

/**
 * The labels new hits are stored with, in their order: their final labels as far as their messages, the sender's
 * views near them and the other new hits tell (classify.ts's rules without the events stored before, which
 * relabelSpans then reads). Stored with their request labels instead, a hit that is not a reader's (one before a
 * scheduled send time, the sender previewing it; one beside the sender's own view) counted as an open until
 * relabelSpans, a D1 call later, and a reader in between saw it: an end-to-end test failed on it once in a dozen
 * runs (2026-12-01).
 */
export function labelsOnArrival(
  hits: readonly Hit[],
  facts: ReadonlyMap<string, MessageLabelFacts>,
  views: ReadonlyMap<string, readonly SenderView[]>,
): EventLabel[] {
  const byMessage = new Map<string, ContextEvent[]>();
  hits.forEach((hit, seq) => {
    const events = byMessage.get(hit.messageId) ?? [];
    events.push({
      seq,
      kind: hit.kind,
      linkIndex: hit.linkIndex,
      occurredAt: hit.occurredAt,
      requestLabel: hit.requestLabel,
      ipHash: hit.ipHash,
    });
    byMessage.set(hit.messageId, events);
  });
  const labels = new Map<number, EventLabel>();
  for (const [messageId, events] of byMessage)
    for (const [seq, label] of contextLabels(events, labelContext(facts.get(messageId), views.get(messageId) ?? [])))
      labels.set(seq, label);
  return hits.map((hit, seq) => labels.get(seq) ?? hit.requestLabel);
}

/**
 * SQL for the earliest opt-out among the recipients of message `messageId` (an SQL expression), including those of
 * recipients deleted since (kept on the message, migration 0008): from then on its hits store nothing
 * (docs/protocol.md §11). NULL when none opted out. An opt-out made through any account of the tracker counts, by the
 * recipient's mailbox rather than the address as spelled (migration 0017): the reader sees one tracker and was told
 * "every email from them". One seek of opt_outs_by_mailbox per recipient.
 */
export function optedOutSince(messageId: string): string {
  return `(SELECT min(t) FROM (
     SELECT o.created_at AS t FROM message_recipients r JOIN opt_outs o ON o.mailbox = r.mailbox
       WHERE r.message_id = ${messageId}
     UNION ALL SELECT kept.opted_out_at FROM messages kept WHERE kept.id = ${messageId}))`;
}

/**
 * SQL for whether message `messageId` (an SQL expression) counts as unsubscribed (MessageStatus.unsubscribed): the
 * hit rule's own opt-out (optedOutSince), whichever email or account it came through and whenever, so the status, the
 * follow-ups and the campaigns say what the tracker enforces however often the email was registered; or an
 * `unsubscribe` signal, which an email opted out of before migration 0008 has alone.
 */
export function unsubscribedSql(messageId: string): string {
  return `(${optedOutSince(messageId)} IS NOT NULL
    OR EXISTS (SELECT 1 FROM signals s WHERE s.message_id = ${messageId} AND s.kind = 'unsubscribe'))`;
}

/**
 * SQL for the time (ms) from which hits of kind `kind` (an SQL expression) of the message row `m` store nothing:
 * none once its data is deleted or that kind of tracking is off for it (0), else none from the earlier of its stop and
 * a recipient's opt-out (docs/protocol.md §11), END_OF_TIME when neither happened. The one statement of the rule:
 * the consumer filters by it (trackingStates) and each insert checks it again (insertHitStatements).
 */
export function hitsStoredUntilSql(kind: string): string {
  return `CASE WHEN m.deleted_at IS NOT NULL OR (${kind} = 'open' AND m.open_tracking = 0) OR (${kind} = 'click' AND m.click_tracking = 0)
    THEN 0 ELSE min(coalesce(m.stopped_at, ${END_OF_TIME}), coalesce(${optedOutSince("m.id")}, ${END_OF_TIME})) END`;
}

/**
 * Inserts hits once each, with their labels (labelsOnArrival): a redelivered hit has the same event id and time
 * (unique in events_by_time) and is ignored. Each insert checks its message's state itself (hitsStoredUntilSql): the
 * consumer read it in an earlier call, and a deletion, stop, opt-out or registration with tracking off committed
 * since must still hold. A message not registered yet stores every hit (the extension's outbox may still be
 * delivering its registration, which then applies the rules to them).
 */
export function insertHitStatements(db: D1Database, hits: readonly Hit[], labels: readonly EventLabel[]): D1PreparedStatement[] {
  return hits.map((hit, i) =>
    db
      .prepare(
        `INSERT OR IGNORE INTO events (seq, event_id, account_id, message_id, kind, link_index, occurred_at, inserted_at,
           request_label, label, country, region, client, device, ip_hash)
         SELECT ${NEXT_SEQ_SQL}, ?1, ?2, ?3, ?4, ?5, ?6, ${SQL_NOW_MS}, ?7, ?8, ?9, ?10, ?11, ?12, ?13
         WHERE ?6 < coalesce((SELECT ${hitsStoredUntilSql("?4")} FROM messages m WHERE m.id = ?3), ${END_OF_TIME})`,
      )
      .bind(
        hit.eventId,
        hit.accountId,
        hit.messageId,
        hit.kind,
        hit.linkIndex,
        hit.occurredAt,
        hit.requestLabel,
        labels[i] ?? hit.requestLabel,
        hit.country,
        hit.region,
        hit.client,
        hit.device,
        hit.ipHash,
      ),
  );
}

/** Every kind and label: with them, a time range of one message is a few seeks of events_by_message. */
const ALL_KINDS_SQL = EVENT_KINDS.map((kind) => `'${kind}'`).join(", ");
const ALL_LABELS_SQL = EVENT_LABELS.map((label) => `'${label}'`).join(", ");

interface LabelRow {
  seq: number;
  kind: EventKind;
  link_index: number | null;
  occurred_at: number;
  request_label: EventLabel;
  label: EventLabel;
  ip_hash: string | null;
}

/** A stretch of one message's timeline (ms, inclusive) whose events' labels may have changed. */
export interface LabelSpan {
  messageId: string;
  from: number;
  to: number;
}

/** Latest time a JS Date can hold: a span to it, from 0, covers a message's whole timeline. */
export const END_OF_TIME = 8.64e15;

/**
 * Spans to relabel after these hits are stored: the hits themselves, and the events up to CLICK_REACH_MS away that a
 * new click can change (the clicks of a link burst or pair it completes, the opens from the network of a click that
 * becomes a scanner's). Nothing else about other events changes. Overlapping spans are merged.
 */
export function spansAroundHits(hits: readonly Pick<Hit, "messageId" | "occurredAt">[]): LabelSpan[] {
  return mergedSpans(hits.map((h) => ({ messageId: h.messageId, from: h.occurredAt - CLICK_REACH_MS, to: h.occurredAt + CLICK_REACH_MS })));
}

/**
 * Spans that must be relabelled after a sender view at `viewedAt`: the hits within the sender window of it, and the
 * opens from the network of a click there, which stop being a scanner's when the click becomes the sender's.
 */
export function spansAroundView(messageIds: readonly string[], viewedAt: number): LabelSpan[] {
  const reach = SENDER_WINDOW_MS + SAME_NETWORK_AS_SCANNER_MS;
  return messageIds.map((messageId) => ({ messageId, from: viewedAt - reach, to: viewedAt + reach }));
}

function mergedSpans(spans: readonly LabelSpan[]): LabelSpan[] {
  const sorted = [...spans].sort((a, b) => a.messageId.localeCompare(b.messageId) || a.from - b.from);
  const merged: LabelSpan[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && last.messageId === span.messageId && span.from <= last.to) last.to = Math.max(last.to, span.to);
    else merged.push({ ...span });
  }
  return merged;
}

/**
 * Recomputes the final label of every event of these messages from their context (send time, link count,
 * sender views) and writes the ones that changed: after the send time or links change. Safe to run any number of
 * times, in any order.
 */
export function relabelMessages(db: D1Database, messageIds: readonly string[], now: number): Promise<number> {
  return relabelSpans(
    db,
    [...new Set(messageIds)].map((messageId) => ({ messageId, from: 0, to: END_OF_TIME })),
    now,
  );
}

/**
 * How far before and after a span relabelSpans reads events. A click's label depends on the clicks within
 * LINK_BURST_MS of it (a link burst or pair) and on the opens before it, those within SAME_NETWORK_AS_SCANNER_MS
 * judged by their networks; an open's on the clicks within SAME_NETWORK_AS_SCANNER_MS of it, so on what those
 * depend on in turn (classify.ts): before an open, a scanner's click, the first click of its pair, and that one's
 * opens from its network.
 */
const READ_BEFORE_SPAN_MS = SAME_NETWORK_AS_SCANNER_MS + Math.max(LINK_BURST_MS, LINK_PAIR_MS + SAME_NETWORK_AS_SCANNER_MS);
const READ_AFTER_SPAN_MS = CLICK_REACH_MS;

/**
 * Recomputes the final labels of the events inside these spans and writes the ones that changed. An event's label
 * depends on the message's send time and link count, on the events up to READ_BEFORE_SPAN_MS before it and
 * READ_AFTER_SPAN_MS after it, on the sender views within SENDER_WINDOW_MS of those and on the first counted open
 * before them (classify.ts), so only those margins around a span are read (index events_by_message, one time range
 * per kind and label), with the first counted open before them: the cost follows the new hits, not how many events a
 * message already has. Idempotent, like relabelMessages. The labels of a span are written only if everything read for
 * it is still as read (SPAN_INPUTS_SQL, compared in the writing statement); a span overtaken by another write in
 * between is read and relabelled again, a few times at most.
 *
 * The sender views that made an event the sender's are kept SENDER_VIEW_RETENTION_MS (retention.ts), and an open's
 * address hash goes with them: once every view that could judge an event (within SENDER_WINDOW_MS of it) is past
 * that, their absence proves nothing, and the event stays the sender's. Else a registration repeated weeks later (the
 * extension's outbox) would count the sender's own opens as a reader's. Likewise an open a scanner's click from its
 * network made a scanner's: once its hash is cleared, nothing can say so again, and it stays the scanner's.
 */
export async function relabelSpans(db: D1Database, spans: readonly LabelSpan[], now: number, attempt = 1): Promise<number> {
  const viewsForgottenBefore = now - SENDER_VIEW_RETENTION_MS - SENDER_WINDOW_MS;
  const writes: { span: LabelSpan; labels: number; statement: D1PreparedStatement }[] = [];
  for (const part of chunked(spans)) {
    const reads = await db.batch(
      part.flatMap((span) => {
        const { readFrom, readTo, viewsFrom, viewsTo } = spanReads(span);
        return [
          // The first counted open as stored only among the opens before the events read: those read are judged by
          // the labels recomputed below, and a stored one may be what this relabelling changes (a proxied open a
          // view report makes the sender's no longer vouches for the link pair after it).
          db.prepare(`SELECT ${messageLabelFactsSql("?1")} FROM messages m WHERE m.id = ?2`).bind(readFrom, span.messageId),
          db
            .prepare(
              `SELECT seq, kind, link_index, occurred_at, request_label, label, ip_hash FROM events
               WHERE message_id = ? AND kind IN (${ALL_KINDS_SQL}) AND label IN (${ALL_LABELS_SQL}) AND occurred_at BETWEEN ? AND ?`,
            )
            .bind(span.messageId, readFrom, readTo),
          // The views around every event read, not only the span's: an open in the margins is judged by them too.
          db
            .prepare("SELECT viewed_at, ip_hash FROM sender_views WHERE message_id = ? AND viewed_at BETWEEN ? AND ?")
            .bind(span.messageId, viewsFrom, viewsTo),
          db.prepare(`SELECT ${SPAN_INPUTS_SQL} AS inputs`).bind(span.messageId, readFrom, readTo, viewsFrom, viewsTo),
        ];
      }),
    );
    part.forEach((span, i) => {
      const [facts] = (reads[4 * i]?.results ?? []) as MessageLabelFacts[];
      const rows = (reads[4 * i + 1]?.results ?? []) as LabelRow[];
      const views = (reads[4 * i + 2]?.results ?? []) as { viewed_at: number; ip_hash: string | null }[];
      const [{ inputs } = { inputs: null }] = (reads[4 * i + 3]?.results ?? []) as { inputs: string }[];
      const labels = contextLabels(
        rows.map(toContextEvent),
        labelContext(
          facts,
          views.map((view) => ({ viewedAt: view.viewed_at, ipHash: view.ip_hash })),
        ),
      );
      const changed: { seq: number; label: string }[] = [];
      // Events in the margins were read for context only: their own context may reach past what was read.
      for (const row of rows) {
        if (row.occurred_at < span.from || row.occurred_at > span.to) continue;
        if (row.label === "sender" && row.occurred_at < viewsForgottenBefore) continue;
        // Only the scanner's-network rule makes an open whose own request label counts a scanner's, and only with a hash.
        if (row.kind === "open" && row.label === "scanner" && row.ip_hash === null && COUNTED_LABELS.includes(row.request_label)) continue;
        const label = labels.get(row.seq);
        if (label && label !== row.label) changed.push({ seq: row.seq, label });
      }
      if (changed.length === 0) return;
      const { readFrom, readTo, viewsFrom, viewsTo } = spanReads(span);
      // Written only if everything read is still as read, checked in the statement that writes: a view report, a hit
      // or another relabelling committed in between (queue consumers run concurrently in production, and beside the
      // API's relabellings) would otherwise be overwritten by labels computed without it, for good.
      const statement = db.prepare(RELABEL_SQL).bind(span.messageId, readFrom, readTo, viewsFrom, viewsTo, JSON.stringify(changed), inputs);
      writes.push({ span, labels: changed.length, statement });
    });
  }
  let written = 0;
  const overtaken: LabelSpan[] = [];
  for (const batch of chunked(writes, 100)) {
    const results = await db.batch(batch.map((write) => write.statement));
    batch.forEach((write, i) => {
      const changes = results[i]?.meta.changes ?? 0;
      written += changes;
      if (changes < write.labels) overtaken.push(write.span);
    });
  }
  if (overtaken.length === 0) return written;
  // Read afresh: what changed in between is now read too, and the labels computed from it are the ones to keep.
  if (attempt < MAX_RELABEL_ATTEMPTS) return written + (await relabelSpans(db, overtaken, now, attempt + 1));
  console.error(
    `relabelling ${overtaken.length} spans was overtaken ${attempt} times by other writes; left to those writes' own relabelling`,
  );
  return written;
}

/** A few: each is overtaken only by a write committed within a D1 round trip of its own. */
const MAX_RELABEL_ATTEMPTS = 5;

/** What relabelSpans reads around a span: its events (and their context's) and the sender views around those. */
function spanReads(span: LabelSpan) {
  const readFrom = span.from - READ_BEFORE_SPAN_MS;
  const readTo = span.to + READ_AFTER_SPAN_MS;
  return { readFrom, readTo, viewsFrom: readFrom - SENDER_WINDOW_MS, viewsTo: readTo + SENDER_WINDOW_MS };
}

/**
 * Everything relabelSpans reads of a span that its labels depend on, as one text (?1 the message, ?2 to ?3 the events
 * read, ?4 to ?5 the views read): read with the span, and compared again by the statement that writes its labels.
 * Every row of each, in a set order (an aggregate's ORDER BY), its labels and address hash included (the retention
 * purge clears the hash, and other relabellings write labels).
 */
const SPAN_INPUTS_SQL = `json_array(
  (SELECT json_array(${messageLabelFactColumns("?2").join(", ")}) FROM messages m WHERE m.id = ?1),
  (SELECT json_group_array(json_array(seq, label, ip_hash) ORDER BY seq) FROM events
    WHERE message_id = ?1 AND kind IN (${ALL_KINDS_SQL}) AND label IN (${ALL_LABELS_SQL}) AND occurred_at BETWEEN ?2 AND ?3),
  (SELECT json_group_array(json_array(viewed_at, ip_hash) ORDER BY viewed_at, ip_hash) FROM sender_views
    WHERE message_id = ?1 AND viewed_at BETWEEN ?4 AND ?5))`;

/**
 * Writes the labels of the JSON array ?6 (`{ seq, label }`) to the events of span ?1-?5 if what was read of it
 * (SPAN_INPUTS_SQL) is still ?7: the list first, each event by its seq.
 */
export const RELABEL_SQL = `UPDATE events SET label = value ->> '$.label' FROM json_each(?6)
  WHERE events.seq = value ->> '$.seq' AND (${SPAN_INPUTS_SQL}) IS ?7`;

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
  /** Apple Mail Privacy Protection's loads of the pixel (never counted): see MessageStatus.appleMailLoads. */
  appleMailLoads: number;
}

const APPLE_MPP: EventLabel = "apple-mpp";

/**
 * Counted (human) opens and clicks per message, and Apple Mail's loads beside them, from the covering index on
 * (message_id, kind, label, occurred_at).
 */
export async function summarize(db: D1Database, messageIds: readonly string[]): Promise<Map<string, OpenClickSummary>> {
  const summaries = new Map<string, OpenClickSummary>();
  for (const id of messageIds) {
    summaries.set(id, {
      messageId: id,
      openCount: 0,
      firstOpenAt: null,
      lastOpenAt: null,
      clickCount: 0,
      lastClickAt: null,
      appleMailLoads: 0,
    });
  }
  for (const ids of chunked(messageIds)) {
    const { results } = await db
      .prepare(
        `SELECT message_id, kind, label = '${APPLE_MPP}' AS apple, count(*) AS n, min(occurred_at) AS first_at, max(occurred_at) AS last_at
         FROM events WHERE message_id IN (${placeholders(ids.length)}) AND label IN (${COUNTED_SQL}, '${APPLE_MPP}')
         GROUP BY message_id, kind, apple`,
      )
      .bind(...ids)
      .all<{ message_id: string; kind: EventKind; apple: 0 | 1; n: number; first_at: number; last_at: number }>();
    for (const row of results) {
      const summary = summaries.get(row.message_id);
      if (!summary) continue;
      if (row.apple) summary.appleMailLoads += row.n;
      else if (row.kind === "open") {
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
  client: string | null;
  device: string | null;
  ip_hash: string | null;
}

export async function messageEvents(db: D1Database, accountId: string, messageId: string): Promise<EventRow[]> {
  const { results } = await db
    .prepare(
      `SELECT seq, kind, link_index, occurred_at, label, country, region, client, device, ip_hash
       FROM events INDEXED BY events_by_message WHERE message_id = ? AND account_id = ? ORDER BY occurred_at, seq`,
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
  /** A click's destination, as its message registered the link; null for an open or a link not registered. */
  link_url: string | null;
  label: EventLabel;
  occurred_at: number;
  inserted_at: number;
  registered_at: number | null;
  thread_id: string | null;
  subject: string | null;
  recipients: string | null;
  /** Released with its label final and its message registered: it may raise a notification (if counted). */
  notify: boolean;
}

export interface FeedPage {
  /** The released events from the cursor up to the first one still held, in seq order: the new cursor is the last. */
  rows: FeedRow[];
  /**
   * The released events after the first one still held, among the rows read, in seq order: delivered ahead of it, so
   * a held event delays only itself. They come again in `rows` once the events before them are released.
   */
  ahead: FeedRow[];
  /** When the earliest event still held among the rows read is released (ms), or null when none is: look again then. */
  nextAt: number | null;
  /** Only when asked (eventsAfter's `correctionsCursor`): the corrections after it, in order (migration 0022). */
  corrections?: CorrectionRow[];
}

/** A correction (migration 0022): the event as it is now, under the correction's own seq. */
export interface CorrectionRow extends FeedRow {
  correction_seq: number;
}

/** The columns of a feed row: the event `e`, its message `m` and, for a click, its link `l`. */
const FEED_ROW_COLUMNS = `e.seq, e.message_id, e.kind, e.link_index, l.url AS link_url, e.label, e.occurred_at, e.inserted_at,
              m.registered_at, m.thread_id, m.subject, m.recipients`;
const FEED_ROW_JOINS = `LEFT JOIN messages m ON m.id = e.message_id
         LEFT JOIN links l ON l.message_id = e.message_id AND l.link_index = e.link_index`;

/**
 * The `limit` events after `cursor`, in seq order, sorted into those released at `now` (label final, classify.ts
 * labelFinalAt; or unregistered for UNREGISTERED_HOLD_MS, then with `notify` false) and those still held. `rows` is
 * the released prefix, up to the first event held, so nothing after the new cursor can be skipped later; `ahead`
 * the released events after it, so a held event (an email not registered yet, a label not final yet) does not hold
 * back every later one; `nextAt` when the earliest held one is released (sooner if its message is registered
 * meanwhile). One read of at most `limit` rows, as before there was `ahead`: an event further than that past the
 * cursor waits for the prefix to reach it. Each row brings its message and, for a click, its link's destination (the
 * notification names the link by it), each one seek of a primary key in the same statement.
 * `holdCapMs` (development and tests only) releases every event at most that long after it was written.
 */
export async function eventsAfter(
  db: D1Database,
  accountId: string,
  cursor: number,
  now: number,
  limit: number,
  holdCapMs: number | null = null,
  correctionsCursor: number | null = null,
): Promise<FeedPage> {
  const events = db
    .prepare(
      `SELECT ${FEED_ROW_COLUMNS}
       FROM events e ${FEED_ROW_JOINS}
       WHERE e.account_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
    )
    .bind(accountId, cursor, limit);
  let results: Omit<FeedRow, "notify">[];
  let corrections: Omit<CorrectionRow, "notify">[] | undefined;
  if (correctionsCursor === null) results = (await events.all<Omit<FeedRow, "notify">>()).results;
  else {
    // One batch, so one query and one snapshot: a label changed between two reads would be given twice, or with an
    // event read before its change and no correction of it read after.
    const [eventRows, correctionRows] = await db.batch([events, correctionsStatement(db, accountId, correctionsCursor, limit)]);
    results = (eventRows?.results ?? []) as Omit<FeedRow, "notify">[];
    corrections = (correctionRows?.results ?? []) as Omit<CorrectionRow, "notify">[];
  }
  const page: FeedPage = { rows: [], ahead: [], nextAt: null };
  // The event as it is now: notify as it would be released now (its message registered), as `counted` is derived.
  if (corrections) page.corrections = corrections.map((row) => ({ ...row, notify: row.registered_at !== null }));
  for (const row of results) {
    const timing = { occurredAt: row.occurred_at, insertedAt: row.inserted_at, registeredAt: row.registered_at };
    const finalAt = labelFinalAt(timing);
    let releaseAt = finalAt ?? row.occurred_at + UNREGISTERED_HOLD_MS;
    if (holdCapMs !== null) releaseAt = Math.min(releaseAt, row.inserted_at + holdCapMs);
    if (releaseAt > now) {
      page.nextAt = Math.min(page.nextAt ?? releaseAt, releaseAt);
      continue;
    }
    // nextAt is set once an event is held: from then on, what is released goes ahead of it.
    (page.nextAt === null ? page.rows : page.ahead).push({ ...row, notify: row.registered_at !== null });
  }
  return page;
}

/**
 * The `limit` corrections of the account after `cursor`, in order, each with its event as it is now: a seek of
 * event_corrections_by_account, then the event, its message and link by their keys. A correction's event is always
 * stored (its deletion takes the correction: migration 0022).
 */
function correctionsStatement(db: D1Database, accountId: string, cursor: number, limit: number): D1PreparedStatement {
  return db
    .prepare(
      `SELECT c.seq AS correction_seq, ${FEED_ROW_COLUMNS}
       FROM event_corrections c JOIN events e ON e.seq = c.event_seq ${FEED_ROW_JOINS}
       WHERE c.account_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`,
    )
    .bind(accountId, cursor, limit);
}

export async function recordSenderViews(
  db: D1Database,
  views: readonly { messageId: string; ipHash: string | null }[],
  viewedAt: number,
): Promise<void> {
  if (views.length === 0) return;
  await db.batch(
    views.map(({ messageId, ipHash }) =>
      // Not for an email whose data was deleted: its tombstone only keeps later hits from being stored.
      db
        .prepare(
          `INSERT OR IGNORE INTO sender_views (message_id, viewed_at, ip_hash)
           SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND deleted_at IS NOT NULL)`,
        )
        .bind(messageId, viewedAt, ipHash),
    ),
  );
}
