// Contacts (recipient addresses), their engagement score and timeline, and deleting one (docs/protocol.md §13).
import { type BounceKind, COUNTED_LABELS, type ContactSummary, EVENT_KINDS, type EventKind, type TimelineItem } from "../../../shared/api";
import { normalizeEmail } from "../../../shared/email";
import { type EngagementActivity, engagementSum, roundedScore } from "../../../shared/engagement";
import { recipientFingerprint } from "../recipient-fingerprint";
import { iso } from "../time";
import { END_OF_TIME } from "./events";
import { deleteMessageStatements } from "./messages";
import { addressStates } from "./signals";
import { COUNTED_SQL } from "./sql";

/** Repeats beyond this per email and kind add under 0.1% to a score: they are not read. */
const MAX_RANK = 10;

/** The (kind, label) pairs that count, as SQL VALUES rows: each is one range of the index events_by_message. */
const COUNTED_RANGES_SQL = EVENT_KINDS.flatMap((kind) => COUNTED_LABELS.map((label) => `('${kind}', '${label}')`)).join(", ");

interface RankedRow {
  message_id: string;
  kind: EventKind;
  occurred_at: number;
  seq: number;
}

/** The first MAX_RANK events of each message and kind, in time order, from the first MAX_RANK of each of its labels. */
function firstOfEachKind(rows: RankedRow[]): RankedRow[] {
  const sorted = [...rows].sort((a, b) => a.occurred_at - b.occurred_at || a.seq - b.seq);
  const taken = new Map<string, number>();
  return sorted.filter((row) => {
    const key = `${row.message_id} ${row.kind}`;
    const count = taken.get(key) ?? 0;
    taken.set(key, count + 1);
    return count < MAX_RANK;
  });
}

export interface ContactAggregate {
  email: string;
  name: string | null;
  sent: number;
  lastSentAt: number | null;
  lastActivityAt: number | null;
  campaigns: Set<string>;
  score: number;
  /** The score before rounding to 2 decimals: the stored ranking key is made from it (contact-scores.ts). */
  exactScore: number;
}

interface RecipientRow {
  email: string;
  name: string | null;
  message_id: string;
  sent_at: number | null;
  campaign: string | null;
  recipient_count: number;
}

/**
 * Every contact of the account with its score at `now`, computed from counted events and replies (docs/engagement.md).
 * Reads the account's recipients and counted activity once; fine for tens of thousands of contacts.
 */
export async function accountContacts(
  db: D1Database,
  accountId: string,
  now: number,
  only?: readonly string[],
): Promise<ContactAggregate[]> {
  // With `only` (at most MAX_IN_LIST addresses), just the emails sent to those addresses are read (their other
  // recipients come out partial: ignore them).
  const list = (only ?? []).map((_, i) => `?${i + 2}`).join(", ");
  const scope =
    only === undefined ? "" : `AND message_id IN (SELECT message_id FROM message_recipients WHERE account_id = ?1 AND email IN (${list}))`;
  const binds = only === undefined ? [accountId] : [accountId, ...only];
  // With `only`, the few emails lead (primary-key seeks); the unary + keeps SQLite from walking the account's every
  // message or recipient by account_id instead.
  const account = only === undefined ? "" : "+";
  const messageScope = scope.replace("message_id IN", "m.id IN");
  const [recipients, ranked, latest, replies] = await db.batch([
    db
      .prepare(
        `SELECT r.email, r.name, r.message_id, m.sent_at, m.campaign, m.recipient_count FROM message_recipients r JOIN messages m ON m.id = r.message_id
         WHERE ${account}r.account_id = ?1 AND m.deleted_at IS NULL ${scope.replace("message_id IN", "r.message_id IN")} ORDER BY m.sent_at, m.id`,
      )
      .bind(...binds),
    // Per message, the first MAX_RANK of each counted (kind, label) range of events_by_message and the latest of
    // each: index seeks, so the rows read follow the number of messages, not how many times each was opened.
    db
      .prepare(
        `WITH ranges(kind, label) AS (VALUES ${COUNTED_RANGES_SQL})
         SELECT e.message_id, e.kind, e.occurred_at, e.seq FROM messages m JOIN ranges r JOIN events e
           ON e.seq IN (SELECT x.seq FROM events x WHERE x.message_id = m.id AND x.kind = r.kind AND x.label = r.label
                        ORDER BY x.occurred_at, x.seq LIMIT ${MAX_RANK})
         WHERE ${account}m.account_id = ?1 AND m.deleted_at IS NULL ${messageScope}`,
      )
      .bind(...binds),
    db
      .prepare(
        `WITH ranges(kind, label) AS (VALUES ${COUNTED_RANGES_SQL})
         SELECT message_id, max(at) AS at FROM (
           SELECT m.id AS message_id,
                  (SELECT max(x.occurred_at) FROM events x WHERE x.message_id = m.id AND x.kind = r.kind AND x.label = r.label) AS at
           FROM messages m JOIN ranges r WHERE ${account}m.account_id = ?1 AND m.deleted_at IS NULL ${messageScope})
         GROUP BY message_id HAVING max(at) IS NOT NULL`,
      )
      .bind(...binds),
    db
      .prepare(`SELECT message_id, email, occurred_at FROM signals WHERE ${account}account_id = ?1 AND kind = 'reply' ${scope}`)
      .bind(...binds),
  ]);
  const byMessage = new Map<string, string[]>();
  // Sent-to counts: a deleted contact's row is gone, but the others keep their share (not the whole email).
  const sentTo = new Map<string, number>();
  const contacts = new Map<string, ContactAggregate & { activities: EngagementActivity[] }>();
  for (const row of (recipients?.results ?? []) as RecipientRow[]) {
    byMessage.set(row.message_id, [...(byMessage.get(row.message_id) ?? []), row.email]);
    sentTo.set(row.message_id, row.recipient_count);
    let contact = contacts.get(row.email);
    if (!contact) {
      contact = {
        email: row.email,
        name: null,
        sent: 0,
        lastSentAt: null,
        lastActivityAt: null,
        campaigns: new Set(),
        score: 0,
        exactScore: 0,
        activities: [],
      };
      contacts.set(row.email, contact);
    }
    contact.sent++;
    if (row.name) contact.name = row.name; // rows come oldest first: the latest name wins
    contact.lastSentAt = Math.max(contact.lastSentAt ?? 0, row.sent_at ?? 0) || null;
    if (row.campaign !== null) contact.campaigns.add(row.campaign);
  }
  const touch = (contact: ContactAggregate, at: number) => {
    contact.lastActivityAt = Math.max(contact.lastActivityAt ?? at, at);
  };
  for (const row of firstOfEachKind((ranked?.results ?? []) as RankedRow[])) {
    const emails = byMessage.get(row.message_id) ?? [];
    const share = 1 / Math.max(emails.length, sentTo.get(row.message_id) ?? 0);
    for (const email of emails) {
      contacts.get(email)?.activities.push({ emailId: row.message_id, kind: row.kind, at: row.occurred_at, share });
    }
  }
  for (const row of (latest?.results ?? []) as { message_id: string; at: number }[]) {
    for (const email of byMessage.get(row.message_id) ?? []) {
      const contact = contacts.get(email);
      if (contact) touch(contact, row.at);
    }
  }
  for (const row of (replies?.results ?? []) as { message_id: string; email: string; occurred_at: number }[]) {
    const emails = byMessage.get(row.message_id) ?? [];
    // A reply from a recipient is that recipient's; from anyone else, it is shared among the recipients.
    const own = emails.includes(row.email);
    const owners = own ? [row.email] : emails;
    const share = own ? 1 : 1 / Math.max(emails.length, sentTo.get(row.message_id) ?? 0);
    for (const email of owners) {
      const contact = contacts.get(email);
      if (!contact) continue;
      contact.activities.push({ emailId: row.message_id, kind: "reply", at: row.occurred_at, share });
      touch(contact, row.occurred_at);
    }
  }
  return [...contacts.values()].map(({ activities, ...contact }) => {
    const exact = engagementSum(activities, now);
    return { ...contact, score: roundedScore(exact), exactScore: exact };
  });
}

/** The contacts as the people list, a contact's page and the CSV export show them: with their suppression, bounce and opt-out state. */
export async function contactSummaries(
  db: D1Database,
  accountId: string,
  contacts: readonly ContactAggregate[],
): Promise<ContactSummary[]> {
  const states = await addressStates(
    db,
    accountId,
    contacts.map((c) => c.email),
  );
  return contacts.map((contact) => {
    const state = states.get(contact.email);
    return {
      email: contact.email,
      name: contact.name,
      score: contact.score,
      lastActivityAt: iso(contact.lastActivityAt),
      lastSentAt: iso(contact.lastSentAt),
      sent: contact.sent,
      suppressed: state?.suppressed ?? false,
      bounceKind: state?.bounceKind ?? null,
      optedOut: state?.optedOut ?? false,
    };
  });
}

interface TimelineRow {
  message_id: string;
  subject: string | null;
  campaign: string | null;
  kind: TimelineItem["kind"];
  at: number;
  key: string;
  shared: 0 | 1;
  url: string | null;
  bounce_kind: BounceKind | null;
}

/** Where a timeline page ends: its last item's time and key, which order items of the same time. */
export type TimelinePosition = readonly [atMs: number, key: string];

/** Every kind of event, as an SQL list: with the counted labels, each event range of the page is an index seek. */
const EVENT_KINDS_SQL = EVENT_KINDS.map((kind) => `'${kind}'`).join(", ");

/** An item strictly older than the position ?3, ?4: a range of the time, so each arm reads only what is older. */
const olderThanPosition = (at: string, key: string) => `${at} <= ?3 AND (${at} < ?3 OR ${key} < ?4)`;

/**
 * One page of the contact's timeline, newest first: at most `limit` items strictly older than `before`, and the
 * position to go on from when older items are left. SQLite merges the three kinds of item and keeps the page, so
 * the Worker takes and turns into JSON only the page's rows, however long the contact's history: taking every item
 * on every page, as it did, passed the free plan's 10 ms of CPU per invocation for a contact of a year of mail. D1
 * still reads every item older than the position, and counts the rows its sort takes as read too (local D1,
 * workerd 1.20261023.1, measured 2026-12-01; Cloudflare's D1 metrics page, read the same day, calls rows read "rows
 * read (scanned)" and does not say how a sort counts; the figures: docs/benchmarks.md, fifteenth pass, and
 * `contact-timeline-p50`). Each item's key (`0:` a send, `1:` an event's seq, `2:` a signal's seq) orders items of the
 * same time. The contact's emails are
 * joined in SQL (message_recipients_by_email): listing them in the statement took a batch per 45 emails and passed
 * the free plan's FREE_PLAN_D1_QUERIES (sql.ts) at about 2,200 emails. The `INDEXED BY`s keep each table read by
 * message from the contact's emails: without statistics SQLite would walk the account's signals
 * (signals_by_email) or events instead.
 */
export async function contactTimelinePage(
  db: D1Database,
  accountId: string,
  email: string,
  before: TimelinePosition | null,
  limit: number,
): Promise<{ items: TimelineItem[]; next: TimelinePosition | null }> {
  const { results } = await db
    .prepare(
      `WITH contact_messages AS (
         SELECT r.message_id, m.subject, m.campaign, m.sent_at, m.recipient_count > 1 AS shared
         FROM message_recipients r JOIN messages m ON m.id = r.message_id AND m.deleted_at IS NULL
         WHERE r.account_id = ?1 AND r.email = ?2)
       SELECT message_id, subject, campaign, 'sent' AS kind, sent_at AS at, '0:' || message_id AS key, shared,
              NULL AS url, NULL AS bounce_kind
       FROM contact_messages WHERE ${olderThanPosition("sent_at", "'0:' || message_id")}
       UNION ALL
       SELECT c.message_id, c.subject, c.campaign, e.kind, e.occurred_at, '1:' || e.seq, c.shared,
              CASE e.kind WHEN 'click' THEN l.url END, NULL
       FROM contact_messages c JOIN events e INDEXED BY events_by_message ON e.message_id = c.message_id
       LEFT JOIN links l ON l.message_id = e.message_id AND l.link_index = e.link_index
       WHERE e.account_id = ?1 AND e.kind IN (${EVENT_KINDS_SQL}) AND e.label IN (${COUNTED_SQL})
         AND ${olderThanPosition("e.occurred_at", "'1:' || e.seq")}
       UNION ALL
       -- The contact's own signals; a reply from someone who is not a recipient of the email, and a bounce that
       -- names no address, belong to everyone on it. A reply from another recipient is theirs.
       SELECT c.message_id, c.subject, c.campaign, s.kind, s.occurred_at, '2:' || s.seq, s.email <> ?2,
              NULL, CASE s.kind WHEN 'bounce' THEN s.bounce_kind END
       FROM contact_messages c JOIN signals s INDEXED BY signals_by_message ON s.message_id = c.message_id
       WHERE s.account_id = ?1 AND ${olderThanPosition("s.occurred_at", "'2:' || s.seq")} AND (s.email = ?2
         OR (s.kind = 'reply' AND NOT EXISTS (SELECT 1 FROM message_recipients o WHERE o.message_id = s.message_id AND o.email = s.email))
         OR (s.kind = 'bounce' AND s.email = ''))
       ORDER BY at DESC, key DESC LIMIT ?5`,
    )
    .bind(accountId, email, before?.[0] ?? END_OF_TIME, before?.[1] ?? "", limit + 1)
    .all<TimelineRow>();
  const page = results.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => ({
      at: new Date(row.at).toISOString(),
      kind: row.kind,
      messageId: row.message_id,
      subject: row.subject,
      campaign: row.campaign,
      shared: row.shared === 1,
      url: row.url,
      bounceKind: row.bounce_kind,
    })),
    next: results.length > limit && last ? [last.at, last.key] : null,
  };
}

/**
 * Deletes a contact: emails sent only to it are deleted like DELETE /api/messages/<id>; from emails to several
 * recipients the address is removed (their events stay: "someone on this email"); its replies, bounces and
 * unsubscribes are deleted. Suppression and opt-out entries stay, and so does a keyed fingerprint of the address on
 * each email it leaves (migration 0011): that person can still opt out through it. False when the account never
 * sent to it.
 */
export async function deleteContact(
  db: D1Database,
  accountId: string,
  email: string,
  now: number,
  signingSecret: string,
): Promise<boolean> {
  const { results } = await db
    .prepare(
      // n: the recipients left (not recipient_count): once every recipient is deleted, so is the email's data.
      `SELECT r.message_id, m.recipients, (SELECT count(*) FROM message_recipients x WHERE x.message_id = r.message_id) AS n
       FROM message_recipients r JOIN messages m ON m.id = r.message_id WHERE r.account_id = ? AND r.email = ?`,
    )
    .bind(accountId, email)
    .all<{ message_id: string; recipients: string; n: number }>();
  if (results.length === 0) return false;
  // Every change in one batch, so one D1 query whatever the number of emails (FREE_PLAN_D1_QUERIES in sql.ts), and
  // in one transaction: a contact is deleted whole or not at all.
  const statements: D1PreparedStatement[] = [];
  for (const row of results) {
    if (row.n <= 1) {
      statements.push(...deleteMessageStatements(db, accountId, row.message_id, now));
      continue;
    }
    let recipients: { email: string; name?: string }[] = [];
    try {
      recipients = JSON.parse(row.recipients);
    } catch {
      recipients = [];
    }
    const kept = recipients.filter((r) => typeof r?.email === "string" && normalizeEmail(r.email) !== email);
    statements.push(
      // The address's opt-out stays on the email its row leaves: the others' hits on it keep storing nothing.
      db
        .prepare(
          `UPDATE messages SET opted_out_at = (SELECT min(t) FROM (SELECT messages.opted_out_at AS t
             UNION ALL SELECT created_at FROM opt_outs WHERE account_id = ? AND email = ?))
           WHERE id = ?`,
        )
        .bind(accountId, email, row.message_id),
      db
        .prepare("UPDATE messages SET recipients = ?, updated_at = ? WHERE id = ? AND account_id = ?")
        .bind(JSON.stringify(kept), now, row.message_id, accountId),
      db.prepare("DELETE FROM message_recipients WHERE message_id = ? AND email = ?").bind(row.message_id, email),
      db
        .prepare("INSERT OR IGNORE INTO removed_recipients (message_id, fingerprint) VALUES (?, ?)")
        .bind(row.message_id, await recipientFingerprint(signingSecret, row.message_id, email)),
    );
  }
  statements.push(db.prepare("DELETE FROM signals WHERE account_id = ? AND email = ?").bind(accountId, email));
  await db.batch(statements);
  return true;
}
