// Contacts (recipient addresses), their engagement score and timeline, and deleting one (docs/protocol.md §13).
import { type BounceKind, COUNTED_LABELS, type ContactSummary, EVENT_KINDS, type TimelineItem } from "../../../shared/api";
import { foldAddress, mailboxKey, mailboxOf } from "../../../shared/email";
import { ENGAGEMENT_HALF_LIFE_MS, ENGAGEMENT_REPEAT_FACTOR, ENGAGEMENT_WEIGHTS, roundedScore } from "../../../shared/engagement";
import { removedFingerprints } from "../recipient-fingerprint";
import { iso } from "../time";
import { END_OF_TIME } from "./events";
import { deleteMessageStatements } from "./messages";
import { addressStates } from "./signals";
import { ACCOUNT_HAS_OUTSIDE_ASCII_SQL, recipientSpellingsSql, storedSpellings } from "./spellings";
import { COUNTED_SQL, MAX_IN_LIST, numberedPlaceholders, placeholders } from "./sql";

/** Repeats beyond this per email and kind add under 0.1% to a score: they are not read. */
export const MAX_RANK = 10;

/** The (kind, label) pairs that count, as SQL VALUES rows: each is one range of the index events_by_message. */
const COUNTED_RANGES_SQL = EVENT_KINDS.flatMap((kind) => COUNTED_LABELS.map((label) => `('${kind}', '${label}')`)).join(", ");

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
  /**
   * Every spelling of the address on the contact's emails (foldAddress folds them to one), `email` the first of them
   * (readableFirst): the one the person is shown as. Only `email` for a contact read from its stored row.
   */
  spellings: string[];
}

/** A score's terms as SQL: each activity's weight, repeat factor and decay at `?now` (docs/engagement.md). */
const WEIGHT_SQL = `CASE kind ${Object.entries(ENGAGEMENT_WEIGHTS)
  .map(([kind, weight]) => `WHEN '${kind}' THEN ${weight}`)
  .join(" ")} END`;
/** weight × repeat^(rank − 1) × 2^(−age / half-life) of a row with kind, rank and occurred_at; ?2 is now. */
const TERM_SQL = `${WEIGHT_SQL} * pow(${ENGAGEMENT_REPEAT_FACTOR}, rank - 1) * pow(2, -max(0, ?2 - occurred_at) / ${ENGAGEMENT_HALF_LIFE_MS}.0)`;

interface ScoredRow {
  email: string;
  name: string | null;
  /** When the email that gives `name` was sent: a person's name is that of its latest email in any spelling. */
  name_at: number | null;
  sent: number;
  last_sent_at: number | null;
  campaigns: string;
  last_activity_at: number | null;
  score: number;
}

/**
 * These contacts with their scores at `now`, computed in D1 from their emails' counted events and replies: the same
 * sums as engagementSum over the activities docs/engagement.md defines, one D1 call per MAX_IN_LIST addresses. Summed
 * in the Worker, a contact's every counted event came to it as a row: for a contact of 2,300 emails
 * with two other recipients and ten opens each, 32,200 rows and about 170 ms of CPU in Node (2026-12-01), where the
 * free plan stops an invocation at 10 ms; D1 runs the SQL on its own servers. D1 has SQLite's math functions
 * (`pow`): "D1 supports … Math functions" (developers.cloudflare.com/d1/sql-api/sql-statements/, read 2026-12-01).
 *
 * One person per address as foldAddress gives it, whatever the spelling asked and the spellings stored: the statement
 * also scores the account's other spellings of each address (scoredContactsSql), one row each, and the rows of one
 * person, from the statement that asks them first (spellingChunks), are summed here (personContact). An address all in
 * ASCII has no other spelling but its folded form, which is itself, so nearly every person is one row. A person with
 * no email left is not returned, nor one not asked for.
 */
export async function scoredContacts(
  db: D1Database,
  accountId: string,
  now: number,
  emails: readonly string[],
): Promise<ContactAggregate[]> {
  // Each address folded once (foldAddress): a row comes back in a spelling asked, nearly always, so its fold is known.
  // Folded at each use, as it was, each address took four folds (the asked set, the chunks, the mailbox key, the row).
  const foldedOf = new Map(emails.map((email) => [email, foldAddress(email)]));
  const fold = (email: string) => foldedOf.get(email) ?? foldAddress(email);
  const { chunks, askedIn } = spellingChunks(emails, fold);
  const byPerson = new Map<string, ScoredRow[]>();
  for (const [chunk, { spellings, mailboxes }] of chunks.entries()) {
    const { results } = await db
      .prepare(scoredContactsSql(spellings.length))
      .bind(accountId, now, JSON.stringify(mailboxes), ...spellings)
      .all<ScoredRow>();
    for (const row of results) {
      // Another statement may read a spelling of the person too: summed, its emails would count again (spellingChunks).
      const folded = fold(row.email);
      if (askedIn.get(folded) !== chunk) continue;
      const rows = byPerson.get(folded);
      if (rows) rows.push(row);
      else byPerson.set(folded, [row]);
    }
  }
  return [...byPerson.values()].map(personContact);
}

/**
 * The addresses asked in chunks of at most MAX_IN_LIST, each with its folded form beside it: an ASCII spelling of an
 * address written outside ASCII (`joe@xn--mnchen-3ya.de` for `joe@münchen.de`) is in no index of spellings outside
 * ASCII, so it is asked by name. An address all in ASCII is its folded form: the chunks are as before. Each chunk's
 * `mailboxes` are its addresses' (mailboxKey, from the fold already made), each once.
 *
 * `askedIn`: for each person (folded address), the chunk that first asks them, whose statement alone gives their rows.
 * That statement reads each of their spellings whole: one in ASCII by name (it is their folded form, asked beside each
 * address), one outside ASCII by its mailbox, keyed or not yet (scoredContactsSql). Others may read some too: one that
 * asks another of their spellings or another address of their mailbox (`jörg+news@` for `jörg@`), all; any, in an
 * account with a recipient outside ASCII, the emails not keyed yet. Summed from each, a person asked in two spellings
 * 90 addresses apart was counted twice (worker tests in spellings.test.ts, 2026-12-07). Nor is a spelling taken from
 * the first statement that reads it: that one may have read its emails not keyed yet alone.
 */
function spellingChunks(
  emails: readonly string[],
  fold: (email: string) => string,
): { chunks: { spellings: string[]; mailboxes: string[] }[]; askedIn: Map<string, number> } {
  const chunks: { spellings: string[]; mailboxes: string[] }[] = [];
  const askedIn = new Map<string, number>();
  let spellings = new Set<string>();
  let mailboxes = new Set<string>();
  for (const email of emails) {
    const folded = fold(email);
    if (spellings.size + (folded === email ? 1 : 2) > MAX_IN_LIST) {
      chunks.push({ spellings: [...spellings], mailboxes: [...mailboxes] });
      spellings = new Set();
      mailboxes = new Set();
    }
    spellings.add(email).add(folded);
    mailboxes.add(mailboxOf(folded));
    if (!askedIn.has(folded)) askedIn.set(folded, chunks.length);
  }
  if (spellings.size > 0) chunks.push({ spellings: [...spellings], mailboxes: [...mailboxes] });
  return { chunks, askedIn };
}

/** The labels of an address's domain in punycode (`xn--`): IDNA's ASCII form of a label a person writes otherwise. */
export function punycodeLabels(email: string): number {
  return email
    .slice(email.indexOf("@") + 1)
    .split(".")
    .filter((label) => label.startsWith("xn--")).length;
}

/**
 * The order of a person's spellings in which the first is the one they are shown as, the one a person reads: fewer
 * punycode labels first (`anke@ämter.de`, not `anke@xn--mter-koa.de`, which code-point order puts first, `x` being
 * before `ä`), then NFC, the form RFC 6532 §3.1 asks an address to be in, before another (an NFD "é" looks the same),
 * then code-point order. It depends on which spellings the person has, not on their emails: the spelling of the
 * latest email would move the person's row (and the address their page shows) with each email sent in another one.
 */
export function readableFirst(a: string, b: string): number {
  const byPunycode = punycodeLabels(a) - punycodeLabels(b);
  if (byPunycode !== 0) return byPunycode;
  const byForm = Number(a !== a.normalize("NFC")) - Number(b !== b.normalize("NFC"));
  if (byForm !== 0) return byForm;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One person from the rows of its spellings (scoredContactsSql): sums and the latest of each time, the name of its
 * latest email that gives one. A registration lists an address once however it is spelled (db/spellings.ts), so each
 * email is in one row and the sums count it once. Nearly every person is one row, taken as it is: without the merge's
 * sorts, copies and closures, the largest function V8 compiled while scoring a listing's share (bench/cpu.mjs with
 * --trace-opt, 2026-12-07: 19 ms of a compiler thread, which the bench's process CPU counts).
 */
function personContact(rows: ScoredRow[]): ContactAggregate {
  const [row] = rows;
  if (rows.length === 1 && row)
    return {
      email: row.email,
      name: row.name,
      sent: row.sent,
      lastSentAt: row.last_sent_at,
      lastActivityAt: row.last_activity_at,
      campaigns: new Set(JSON.parse(row.campaigns) as string[]),
      score: roundedScore(row.score),
      exactScore: row.score,
      spellings: [row.email],
    };
  const spellings = rows.map((r) => r.email).sort(readableFirst);
  const latest = (values: (number | null)[]) => values.reduce<number | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
  const named = rows.filter((r) => r.name !== null).sort((a, b) => (b.name_at ?? 0) - (a.name_at ?? 0))[0];
  const exactScore = rows.reduce((sum, r) => sum + r.score, 0);
  return {
    email: spellings[0] as string,
    name: named?.name ?? null,
    sent: rows.reduce((sum, r) => sum + r.sent, 0),
    lastSentAt: latest(rows.map((r) => r.last_sent_at)),
    lastActivityAt: latest(rows.map((r) => r.last_activity_at)),
    campaigns: new Set(rows.flatMap((r) => JSON.parse(r.campaigns) as string[])),
    score: roundedScore(exactScore),
    exactScore,
    spellings,
  };
}

/**
 * scoredContacts' statement for `count` addresses: ?1 the account, ?2 now, ?3 the JSON array of the addresses'
 * mailboxes (mailboxKey), the addresses from ?4. One row per spelling: the addresses asked, and the account's
 * spellings outside ASCII of their mailboxes, as db/spellings.ts recipientSpellingsSql finds them (migration 0024's
 * partial index, a seek per mailbox, nearly always finding none), which scoredContacts folds and keeps when they are
 * one of the addresses asked. Built once per count (at most MAX_IN_LIST texts) and kept for the isolate's life: a
 * listing asks its share in chunks of MAX_IN_LIST, each the same text of about 6 KB, and building it again for each
 * took as much of the Worker's CPU as binding the chunk's addresses (CPU profile of bench/cpu.mjs, 2026-12-07).
 */
function scoredContactsSql(count: number): string {
  let sql = scoredContactsSqlByCount.get(count);
  if (sql === undefined) {
    sql = builtScoredContactsSql(count);
    scoredContactsSqlByCount.set(count, sql);
  }
  return sql;
}

const scoredContactsSqlByCount = new Map<number, string>();

function builtScoredContactsSql(count: number): string {
  const list = numberedPlaceholders(count, 4);
  // The mailboxes sought only in an account with a recipient outside ASCII (one seek of the partial index): each key
  // sought is a row read, which an account all in ASCII, nearly every account, is spared.
  const keysIfOutsideAscii = `CASE WHEN ${ACCOUNT_HAS_OUTSIDE_ASCII_SQL} THEN ?3 ELSE '[]' END`;
  return `WITH ranges(kind, label) AS (VALUES ${COUNTED_RANGES_SQL}),
       spelled AS (
         SELECT email, name, message_id FROM message_recipients WHERE account_id = ?1 AND email IN (${list})
         UNION ALL ${recipientSpellingsSql(keysIfOutsideAscii, { columns: "email, name, message_id", union: "UNION ALL", also: ` AND email NOT IN (${list})` })}),
       -- Each contact's emails, and among how many recipients each email's activity is shared.
       mine AS MATERIALIZED (
         SELECT r.email, r.name, m.id AS message_id, m.sent_at, m.campaign,
                max(m.recipient_count, (SELECT count(*) FROM message_recipients x WHERE x.message_id = m.id)) AS sharers
         FROM spelled r JOIN messages m ON m.id = r.message_id
         WHERE m.deleted_at IS NULL),
       emails AS MATERIALIZED (SELECT DISTINCT message_id FROM mine),
       -- Per email and kind, the first ${MAX_RANK} counted events in time, from the first ${MAX_RANK} of each counted label:
       -- index seeks in events_by_message, so the rows read follow the emails, not how often each was opened.
       ranked AS (
         SELECT message_id, kind, occurred_at, row_number() OVER (PARTITION BY message_id, kind ORDER BY occurred_at, seq) AS rank
         FROM (SELECT e.message_id, e.kind, e.occurred_at, e.seq FROM emails m JOIN ranges r JOIN events e
                 ON e.seq IN (SELECT x.seq FROM events x WHERE x.message_id = m.message_id AND x.kind = r.kind AND x.label = r.label
                              ORDER BY x.occurred_at, x.seq LIMIT ${MAX_RANK}))),
       email_events AS (SELECT message_id, sum(${TERM_SQL}) AS score FROM ranked WHERE rank <= ${MAX_RANK} GROUP BY message_id),
       email_latest AS (
         SELECT m.message_id, max((SELECT max(x.occurred_at) FROM events x WHERE x.message_id = m.message_id AND x.kind = r.kind AND x.label = r.label)) AS at
         FROM emails m JOIN ranges r GROUP BY m.message_id),
       -- A reply from a recipient is that recipient's; from anyone else, it is shared among the email's recipients.
       -- CROSS JOIN keeps mine as the outer loop, so signals is read by signals_by_message, never scanned: SQLite does
       -- not reorder the two sides of a CROSS JOIN (sqlite.org/optoverview.html, "Manual Control Of Query Plans Using
       -- CROSS JOIN"). With a plain JOIN and no statistics, its plan scanned every account's signals.
       replies AS (
         SELECT mine.email, s.occurred_at, 'reply' AS kind,
                CASE WHEN s.email = mine.email THEN 1.0 ELSE 1.0 / mine.sharers END AS share,
                row_number() OVER (PARTITION BY mine.email, s.message_id ORDER BY s.occurred_at, s.seq) AS rank
         FROM mine CROSS JOIN signals s ON s.message_id = mine.message_id AND s.kind = 'reply'
         WHERE s.email = mine.email
            OR NOT EXISTS (SELECT 1 FROM message_recipients x WHERE x.message_id = s.message_id AND x.email = s.email)),
       contact_replies AS (SELECT email, sum(${TERM_SQL} * share) AS score, max(occurred_at) AS at FROM replies GROUP BY email),
       -- The name on the latest email that gives one.
       names AS (
         SELECT email, name, sent_at FROM (
           SELECT email, name, sent_at, row_number() OVER (PARTITION BY email ORDER BY sent_at DESC, message_id DESC) AS n FROM mine WHERE name IS NOT NULL)
         WHERE n = 1)
       -- One row per contact and email; the contact's replies and name are one row per contact.
       SELECT mine.email, count(*) AS sent, max(mine.sent_at) AS last_sent_at, nm.name, nm.sent_at AS name_at,
              json_group_array(DISTINCT mine.campaign) FILTER (WHERE mine.campaign IS NOT NULL) AS campaigns,
              sum(coalesce(e.score, 0) / mine.sharers) + coalesce(cr.score, 0) AS score,
              coalesce(max(max(l.at), cr.at), max(l.at), cr.at) AS last_activity_at
       FROM mine LEFT JOIN email_events e ON e.message_id = mine.message_id LEFT JOIN email_latest l ON l.message_id = mine.message_id
         LEFT JOIN contact_replies cr ON cr.email = mine.email LEFT JOIN names nm ON nm.email = mine.email
       GROUP BY mine.email`;
}

/**
 * The contacts as the people list, a contact's page and the CSV export show them: with their suppression, bounce and
 * opt-out state. `knownSpellings` (by address): the stored spellings the caller read already (addressStates).
 */
export async function contactSummaries(
  db: D1Database,
  accountId: string,
  contacts: readonly ContactAggregate[],
  knownSpellings?: ReadonlyMap<string, readonly string[]>,
): Promise<ContactSummary[]> {
  const states = await addressStates(
    db,
    accountId,
    contacts.map((c) => c.email),
    knownSpellings,
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
 * One page of the contact's timeline in every spelling of its address the account stored (storedSpellings), newest first: at most `limit` items strictly older than `before`, and the
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
  spellings: readonly string[],
  before: TimelinePosition | null,
  limit: number,
): Promise<{ items: TimelineItem[]; next: TimelinePosition | null }> {
  const { results } = await db
    .prepare(
      `WITH contact_messages AS (
         SELECT r.message_id, m.subject, m.campaign, m.sent_at, m.recipient_count > 1 AS shared
         FROM message_recipients r JOIN messages m ON m.id = r.message_id AND m.deleted_at IS NULL
         WHERE r.account_id = ?1 AND r.email IN (SELECT value FROM json_each(?2)))
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
       SELECT c.message_id, c.subject, c.campaign, s.kind, s.occurred_at, '2:' || s.seq, s.email NOT IN (SELECT value FROM json_each(?2)),
              NULL, CASE s.kind WHEN 'bounce' THEN s.bounce_kind END
       FROM contact_messages c JOIN signals s INDEXED BY signals_by_message ON s.message_id = c.message_id
       WHERE s.account_id = ?1 AND ${olderThanPosition("s.occurred_at", "'2:' || s.seq")} AND (s.email IN (SELECT value FROM json_each(?2))
         OR (s.kind = 'reply' AND NOT EXISTS (SELECT 1 FROM message_recipients o WHERE o.message_id = s.message_id AND o.email = s.email))
         OR (s.kind = 'bounce' AND s.email = ''))
       ORDER BY at DESC, key DESC LIMIT ?5`,
    )
    .bind(accountId, JSON.stringify(spellings), before?.[0] ?? END_OF_TIME, before?.[1] ?? "", limit + 1)
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

/** Times deleteContact reads and writes before it gives up: a try fails only when the contact's emails changed between the two. */
const DELETE_CONTACT_TRIES = 3;

/**
 * Deletes a contact, in every spelling of its address the account stored (storedSpellings): emails sent only to it
 * are deleted like DELETE /api/messages/<id>; from emails to several
 * recipients the address is removed (their events stay: "someone on this email"); its replies, bounces and
 * unsubscribes are deleted. Suppression and opt-out entries stay, and so do two keyed fingerprints of the address on
 * each email it leaves, as spelled and of its mailbox (migration 0011, recipient-fingerprint.ts): that person can still
 * opt out through it, or through any other email of the account in any spelling. False when the account never
 * sent to it. A change to the contact's emails committed between the read and the batch (an email registered to it,
 * one of its emails registered again with other recipients, or deleted) makes the batch write nothing, and the
 * deletion starts again from what is there then: once this returns, no email of the account holds the address or its
 * name, and neither does the people list.
 */
export async function deleteContact(
  db: D1Database,
  accountId: string,
  email: string,
  now: number,
  signingSecret: string,
): Promise<boolean> {
  for (let tries = 1; ; tries++) {
    try {
      return await deleteContactAsRead(db, accountId, email, now, signingSecret);
    } catch (error) {
      if (!isStaleRead(error)) throw error;
      if (tries >= DELETE_CONTACT_TRIES) throw new Error(`the contact's emails changed during each of ${tries} tries to delete it`);
    }
  }
}

/**
 * A statement that fails when `select` gives a row, and so rolls back the batch it is in: "If a statement in the
 * sequence fails, then an error is returned for that specific statement, and it aborts or rolls back the entire
 * sequence" (D1's batch, developers.cloudflare.com/d1/worker-api/d1-database/#batch). The row's NULL goes into
 * removed_recipients' NOT NULL fingerprint: SQLite raises an error of its own choosing only in a trigger. `select`
 * gives one column, a message id.
 */
function failIfAny(db: D1Database, select: string): D1PreparedStatement {
  return db.prepare(`INSERT INTO removed_recipients (message_id, fingerprint) SELECT *, NULL FROM (${select})`);
}

/** The error of a failIfAny statement that failed. */
function isStaleRead(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOT NULL constraint failed: removed_recipients.fingerprint");
}

/** deleteContact's one try: what the read finds is what the batch writes, unless it changed meanwhile (isStaleRead). */
async function deleteContactAsRead(db: D1Database, accountId: string, email: string, now: number, signingSecret: string): Promise<boolean> {
  // Every spelling of the address the account stored (`jörg@münchen.de` and `jörg@xn--mnchen-3ya.de`, NFC and NFD) is
  // the one person: deleting them by one spelling leaves none of the others behind.
  const spellings = (await storedSpellings(db, accountId, [email])).get(email) ?? [email];
  const inSpellings = placeholders(spellings.length);
  const folded = foldAddress(email);
  const { results } = await db
    .prepare(
      // n: the recipients left (not recipient_count): once every recipient is deleted, so is the email's data.
      `SELECT r.message_id, r.email, m.recipients, (SELECT count(*) FROM message_recipients x WHERE x.message_id = r.message_id) AS n
       FROM message_recipients r JOIN messages m ON m.id = r.message_id WHERE r.account_id = ? AND r.email IN (${inSpellings})`,
    )
    .bind(accountId, ...spellings)
    .all<{ message_id: string; email: string; recipients: string; n: number }>();
  if (results.length === 0) return false;
  // Per email, the contact's rows on it: one per spelling it was listed in.
  const emails = new Map<string, { recipients: string; n: number; spelled: string[] }>();
  for (const row of results) {
    const entry = emails.get(row.message_id) ?? { recipients: row.recipients, n: row.n, spelled: [] };
    entry.spelled.push(row.email);
    emails.set(row.message_id, entry);
  }
  // Every change in one batch, so one D1 query whatever the number of emails (FREE_PLAN_D1_QUERIES in sql.ts), and
  // in one transaction: a contact is deleted whole or not at all. What each email becomes is worked out from the read,
  // so the batch first checks that each still has the recipients read: a registration in between may have changed
  // them, and the list written back or the choice between deleting the email and removing the address would undo it.
  const statements: D1PreparedStatement[] = [...emails].map(([messageId, row]) =>
    failIfAny(
      db,
      `SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND recipients = ?2
         AND (SELECT count(*) FROM message_recipients WHERE message_id = ?1) = ?3)`,
    ).bind(messageId, row.recipients, row.n),
  );
  for (const [messageId, row] of emails) {
    if (row.n <= row.spelled.length) {
      statements.push(...deleteMessageStatements(db, accountId, messageId, now));
      continue;
    }
    let recipients: { email: string; name?: string }[] = [];
    try {
      recipients = JSON.parse(row.recipients);
    } catch {
      recipients = [];
    }
    const kept = recipients.filter((r) => typeof r?.email === "string" && foldAddress(r.email) !== folded);
    const fingerprints = (await Promise.all(row.spelled.map((spelled) => removedFingerprints(signingSecret, messageId, spelled)))).flat();
    statements.push(
      // The address's opt-out, made through any account in any spelling, stays on the email its row leaves: the
      // others' hits on it keep storing nothing.
      db
        .prepare(
          `UPDATE messages SET opted_out_at = (SELECT min(t) FROM (SELECT messages.opted_out_at AS t
             UNION ALL SELECT created_at FROM opt_outs WHERE mailbox = ?))
           WHERE id = ?`,
        )
        .bind(mailboxKey(email), messageId),
      db
        .prepare("UPDATE messages SET recipients = ?, updated_at = ? WHERE id = ? AND account_id = ?")
        .bind(JSON.stringify(kept), now, messageId, accountId),
      db.prepare(`DELETE FROM message_recipients WHERE message_id = ? AND email IN (${inSpellings})`).bind(messageId, ...spellings),
      db
        .prepare(`INSERT OR IGNORE INTO removed_recipients (message_id, fingerprint) VALUES ${fingerprints.map(() => "(?, ?)").join(", ")}`)
        .bind(...fingerprints.flatMap((fingerprint) => [messageId, fingerprint])),
    );
  }
  statements.push(
    // Its replies go, but an email it answered stays answered (messages.last_reply_at, kept): deleting a person is not
    // saying that nobody replied, and the email's other recipients would otherwise be chased in the follow-up list and
    // the reminders about a conversation that took place. A time on the email names nobody, as its opt-out's does.
    db.prepare(`DELETE FROM signals WHERE account_id = ? AND email IN (${inSpellings})`).bind(accountId, ...spellings),
    // The people list's stored row holds the address and its name: after the statements above, whose triggers mark it.
    db.prepare(`DELETE FROM contact_scores WHERE account_id = ? AND email IN (${inSpellings})`).bind(accountId, ...spellings),
    // And last that no email holds the address still: one registered to it after the read, which the next try finds.
    failIfAny(db, `SELECT message_id FROM message_recipients WHERE account_id = ? AND email IN (${inSpellings})`).bind(
      accountId,
      ...spellings,
    ),
  );
  await db.batch(statements);
  return true;
}
