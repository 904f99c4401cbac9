import type { MessageState, RegisterMessageRequest } from "../../../shared/api";
import { foldAddress, mailboxKey, normalizeEmail } from "../../../shared/email";
import { CLOCK_TOLERANCE_MS } from "../../../shared/limits";
import { foldForSearch } from "../../../shared/search";
import { recipientFingerprint } from "../recipient-fingerprint";
import { hitsStoredUntilSql, MESSAGE_LABEL_FACTS_SQL, type MessageLabelFacts, optedOutSince } from "./events";
import { heldOptOutsAsGivenStatements, type PendingOptOut, pendingOptOutsStatement } from "./opt-outs";
import { recipientSearchText } from "./search-text";
import { chunked, MAX_BOUND_BYTES, numberedPlaceholders, placeholders } from "./sql";

/** A legacy Gmail id: hex. */
const LEGACY_ID = /^[0-9a-f]+$/;

/** SQL: whether `column` holds something else than a legacy id (LEGACY_ID), a compose's "thread-a:r-…" or a sync id. */
const notLegacySql = (column: string) => `${column} GLOB '*[^0-9a-f]*'`;

export interface MessageRow {
  id: string;
  account_id: string;
  thread_id: string | null;
  /** Gmail's sync id of the thread when it is not the legacy id's own number ("thread-a:r…", migration 0015). */
  sync_thread_id: string | null;
  gmail_message_id: string | null;
  subject: string | null;
  /** The subject as the search compares it (foldForSearch, migration 0018); null for a row stored before it, until folded. */
  search_text: string | null;
  recipients: string;
  sent_at: number | null;
  open_tracking: number;
  click_tracking: number;
  registered_at: number | null;
  updated_at: number;
  stopped_at: number | null;
  deleted_at: number | null;
  campaign: string | null;
  opt_out_link: number;
  /** Recipients at registration: stays when a contact is deleted (migration 0005). */
  recipient_count: number;
  /**
   * The earliest opt-out kept on the email itself (migration 0008): one made through its page, or one of a recipient it
   * no longer lists. Never cleared, unlike its unsubscribe signal, which the retention purge and a contact's deletion take.
   */
  opted_out_at: number | null;
  /**
   * When the email was last answered (migration 0021): the latest time of its reply signals, set by a trigger as each
   * is recorded. Outlives them: the retention purge and the replier's deletion as a contact take the signals, not this.
   * Null on a deleted email, whose reply signals go with it. Every reply signal's email has it, so a null says that
   * nobody replied.
   */
  last_reply_at: number | null;
}

type OptionalFields = "threadId" | "syncThreadId" | "gmailMessageId" | "campaign" | "clockAt";
export type Registration = Required<Omit<RegisterMessageRequest, OptionalFields>> & Pick<RegisterMessageRequest, OptionalFields>;

/**
 * A registration's outcome: the message's data was deleted (nothing written), or it is registered, with the opt-outs
 * held for it (db/opt-outs.ts) as its own transaction left them, for the caller to settle.
 */
export type UpsertOutcome = { deleted: true } | { deleted: false; pendingOptOuts: PendingOptOut[] };

/**
 * The send time by the tracker's clock. The extension gives it by the sender's, and a clock a minute fast would label
 * every open in the first minute after the send as the sender's own (an event before its email's send time, classify.ts),
 * one a minute slow would count the link scanners that follow an email's delivery. The difference between the two
 * clocks is read from `clockAt`, the sender's clock as the request left, against `now`, the tracker's as it arrived;
 * it also carries the request's time in transit, which only moves the send time later by that: a registration
 * answered more slowly than REQUEST_TRANSIT_MAX_MS (shared/limits.ts) is sent again (the extension's delivery.ts), and
 * each registration sets the send time anew, so the last one, answered in time, is the one read.
 */
export function sentAtByTrackerClock(registration: Pick<Registration, "sentAt" | "clockAt">, now: number): number {
  const sentAt = Date.parse(registration.sentAt);
  const clockAt = registration.clockAt === undefined ? Number.NaN : Date.parse(registration.clockAt);
  const offset = now - clockAt;
  return Number.isFinite(offset) && Math.abs(offset) > CLOCK_TOLERANCE_MS ? sentAt + offset : sentAt;
}

/**
 * The most characters of JSON one statement binds for a registration's links: a thousand links of 4,096 characters,
 * which a registration may carry, make over 4 MB, past what D1 binds (MAX_BOUND_BYTES). A link is printable ASCII
 * (isAcceptableDestination), so a character of its JSON is a byte.
 */
const LINKS_JSON_PER_STATEMENT = MAX_BOUND_BYTES;

/** A registration's links as the JSON arrays its statements bind, each within LINKS_JSON_PER_STATEMENT. */
function linkChunks(links: Registration["links"]): string[] {
  const chunks: string[][] = [];
  let chars = 0;
  for (const { index, url } of links) {
    const json = JSON.stringify({ index, url });
    const last = chunks.at(-1);
    if (!last || chars + json.length + 1 > LINKS_JSON_PER_STATEMENT) {
      chunks.push([json]);
      chars = json.length + 2;
    } else {
      last.push(json);
      chars += json.length + 1;
    }
  }
  return chunks.map((chunk) => `[${chunk.join(",")}]`);
}

/** A recipient (`value`, of a registration's JSON list) not deleted as a contact from message ?1. */
const NOT_REMOVED = "NOT EXISTS (SELECT 1 FROM removed_recipients WHERE message_id = ?1 AND fingerprint = value ->> '$.fingerprint')";
/** Message ?1's data not deleted. */
const NOT_DELETED = "EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND deleted_at IS NULL)";

/** Message ?1's recipients as the JSON array ?2 lists them (`{ recipient, fingerprint }`), less those deleted. */
export const LISTED_RECIPIENTS_SQL = `UPDATE messages SET recipients = (SELECT json_group_array(json(value ->> '$.recipient')) FROM json_each(?2)
    WHERE ${NOT_REMOVED})
  WHERE id = ?1 AND deleted_at IS NULL`;

/** Message ?1's (of account ?2) recipient rows from the JSON array ?3, less those deleted, none once its data is. */
export const INSERT_RECIPIENTS_SQL = `INSERT INTO message_recipients (message_id, account_id, email, name, search_text, mailbox_key)
  SELECT ?1, ?2, value ->> '$.email', value ->> '$.name', value ->> '$.searchText', value ->> '$.mailbox' FROM json_each(?3)
  WHERE ${NOT_REMOVED} AND ${NOT_DELETED}`;

/** Message ?1's links from the JSON array ?2 (`{ index, url }`), none once its data is deleted. */
export const INSERT_LINKS_SQL = `INSERT INTO links (message_id, link_index, url) SELECT ?1, value ->> '$.index', value ->> '$.url' FROM json_each(?2)
  WHERE ${NOT_DELETED}`;

/**
 * Registers or updates a sent message and replaces its links, in one transaction. Idempotent: the extension's
 * outbox may deliver the same registration more than once. A message whose data was deleted stays deleted; a
 * contact deleted from it (its fingerprint in removed_recipients) stays deleted; an opt-out of a recipient it
 * drops stays on it. Both deletions are checked inside the transaction, so one committed while this registration
 * was on its way (after the first read) still holds: its recipients, names and links are not written back.
 */
export async function upsertMessage(
  db: D1Database,
  accountId: string,
  messageId: string,
  registration: Registration,
  now: number,
  signingSecret: string,
): Promise<UpsertOutcome> {
  const existing = await db.prepare("SELECT deleted_at FROM messages WHERE id = ?").bind(messageId).first<{ deleted_at: number | null }>();
  if (existing?.deleted_at) return { deleted: true };
  const sentAt = sentAtByTrackerClock(registration, now);
  // Each listed recipient with the keyed fingerprint a contact deletion leaves on the email (deleteContact).
  const fingerprinted = await Promise.all(
    registration.recipients.map(async (recipient) => {
      const email = normalizeEmail(recipient.email);
      return { recipient, email, fingerprint: await recipientFingerprint(signingSecret, messageId, email) };
    }),
  );
  // One row per address, as first listed: two spellings of it (foldAddress) are one recipient.
  const folded = fingerprinted.map((entry) => foldAddress(entry.email));
  const firstOfEach = fingerprinted.filter((_, index) => folded.indexOf(folded[index] as string) === index);
  // Recipients at registration, the deleted ones included (they keep their share, migration 0005).
  const recipientCount = firstOfEach.length;
  const results = await db.batch([
    db
      .prepare(
        `INSERT INTO messages (id, account_id, thread_id, sync_thread_id, gmail_message_id, subject, search_text, recipients, sent_at,
           open_tracking, click_tracking, registered_at, updated_at, campaign, opt_out_link, recipient_count)
         VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET
           campaign = excluded.campaign, opt_out_link = excluded.opt_out_link, recipient_count = excluded.recipient_count,
           -- A late copy of the compose's registration ("thread-a:r-…") never replaces a legacy id a move or Gmail's send answer set.
           thread_id = CASE WHEN NOT ${notLegacySql("thread_id")} AND ${notLegacySql("excluded.thread_id")} THEN thread_id
             ELSE coalesce(excluded.thread_id, thread_id) END,
           sync_thread_id = coalesce(excluded.sync_thread_id, sync_thread_id),
           gmail_message_id = coalesce(excluded.gmail_message_id, gmail_message_id),
           subject = excluded.subject, search_text = excluded.search_text, sent_at = excluded.sent_at,
           open_tracking = excluded.open_tracking, click_tracking = excluded.click_tracking,
           registered_at = coalesce(registered_at, excluded.registered_at), updated_at = excluded.updated_at
         WHERE deleted_at IS NULL`,
      )
      .bind(
        messageId,
        accountId,
        registration.threadId ?? null,
        registration.syncThreadId ?? null,
        registration.gmailMessageId ?? null,
        registration.subject,
        foldForSearch(registration.subject),
        sentAt,
        registration.openTracking ? 1 : 0,
        registration.clickTracking ? 1 : 0,
        now,
        now,
        registration.campaign ?? null,
        registration.optOutLink ? 1 : 0,
        recipientCount,
      ),
    // The recipients as listed, less those deleted as contacts from this email.
    db
      .prepare(LISTED_RECIPIENTS_SQL)
      .bind(messageId, JSON.stringify(fingerprinted.map(({ recipient, fingerprint }) => ({ recipient, fingerprint })))),
    // The opt-outs of the recipients it has now are kept on it before their rows are replaced: one this
    // registration leaves out stays honoured.
    db.prepare(`UPDATE messages SET opted_out_at = ${optedOutSince("?1")} WHERE id = ?1`).bind(messageId),
    db.prepare("DELETE FROM message_recipients WHERE message_id = ?").bind(messageId),
    db.prepare(INSERT_RECIPIENTS_SQL).bind(
      messageId,
      accountId,
      JSON.stringify(
        firstOfEach.map(({ recipient, email, fingerprint }) => ({
          email,
          name: recipient.name ?? null,
          searchText: recipientSearchText(recipient.name, email),
          // The key opt-outs are matched by (migration 0023): SQL cannot fold the address.
          mailbox: mailboxKey(email),
          fingerprint,
        })),
      ),
    ),
    // Hits that arrived before the registration, after one of its recipients opted out, are not kept.
    db.prepare(`DELETE FROM events WHERE message_id = ?1 AND occurred_at >= ${optedOutSince("?1")}`).bind(messageId),
    // Nor hits of a kind of tracking the sender turned off for this email.
    db
      .prepare("DELETE FROM events WHERE message_id = ? AND ((kind = 'open' AND ? = 0) OR (kind = 'click' AND ? = 0))")
      .bind(messageId, registration.openTracking ? 1 : 0, registration.clickTracking ? 1 : 0),
    db.prepare("DELETE FROM links WHERE message_id = ?").bind(messageId),
    ...linkChunks(registration.links).map((links) => db.prepare(INSERT_LINKS_SQL).bind(messageId, links)),
    // The opt-outs a reader made before the registration, read in its transaction rather than by a query after it:
    // one held before it commits is read here, one held after it finds the email registered and settles itself
    // (recordPendingOptOut). D1 runs one transaction at a time, so each is one or the other.
    pendingOptOutsStatement(db, accountId, messageId),
  ]);
  // Deleted after the first read: the transaction wrote nothing of the registration.
  if (results[0]?.meta.changes === 0) return { deleted: true };
  return { deleted: false, pendingOptOuts: (results.at(-1)?.results ?? []) as PendingOptOut[] };
}

/**
 * The caller's message, or null when it does not exist, belongs to another account, was deleted, or is not registered
 * (the row a reader's opt-out made before the registration, db/opt-outs.ts).
 */
export async function getMessage(db: D1Database, accountId: string, messageId: string): Promise<MessageRow | null> {
  return db
    .prepare("SELECT * FROM messages WHERE id = ? AND account_id = ? AND deleted_at IS NULL AND registered_at IS NOT NULL")
    .bind(messageId, accountId)
    .first<MessageRow>();
}

/** The messages of these threads, by their legacy ids or Gmail's sync ids (migration 0015), oldest first. */
export async function messagesByThread(db: D1Database, accountId: string, threadIds: readonly string[]): Promise<MessageRow[]> {
  const rows = new Map<string, MessageRow>();
  for (const ids of chunked(threadIds)) {
    // Only a sync id ("thread-a:r…", "thread-f:…") can be one; a legacy hex id is looked up in thread_id alone.
    const syncIds = ids.flatMap((id, i) => (LEGACY_ID.test(id) ? [] : [`?${i + 2}`]));
    // No ORDER BY here: with one, SQLite walked the account's every message through messages_by_sent (since dropped)
    // to skip a sort (bench: status-100-threads-message-rows-read), and the chunks need sorting together anyway. Two
    // selects, each on its own index; a message found by both is kept once below.
    const bySync = `UNION ALL SELECT * FROM messages WHERE account_id = ?1 AND sync_thread_id IN (${syncIds.join(", ")}) AND deleted_at IS NULL`;
    const { results } = await db
      .prepare(
        `SELECT * FROM messages WHERE account_id = ?1 AND thread_id IN (${numberedPlaceholders(ids.length, 2)}) AND deleted_at IS NULL
         ${syncIds.length > 0 ? bySync : ""}`,
      )
      .bind(accountId, ...ids)
      .all<MessageRow>();
    for (const row of results) rows.set(row.id, row);
  }
  return [...rows.values()].sort((a, b) => (a.sent_at ?? 0) - (b.sent_at ?? 0));
}

/**
 * Moves an email registered without its conversation's legacy id (under its compose's "thread-a:r-…", or none) to the
 * thread the sender's Gmail shows it in. The id it had becomes its sync id when it has none, so a Sent row that names
 * the thread by that id still finds it. An email whose legacy id is known keeps it: Gmail's answer to the send named
 * it, and a conversation read later (a forward quoting the email, say) is no better a source. The email as moved, or
 * null when it was not.
 */
export function moveToThread(
  db: D1Database,
  accountId: string,
  messageId: string,
  threadId: string,
  now: number,
): Promise<MessageRow | null> {
  return db
    .prepare(
      `UPDATE messages SET sync_thread_id = coalesce(sync_thread_id, thread_id), thread_id = ?3, updated_at = ?4
       WHERE id = ?1 AND account_id = ?2 AND deleted_at IS NULL AND (thread_id IS NULL OR ${notLegacySql("thread_id")}) RETURNING *`,
    )
    .bind(messageId, accountId, threadId, now)
    .first<MessageRow>();
}

export async function stopTracking(db: D1Database, accountId: string, messageId: string, now: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE messages SET stopped_at = coalesce(stopped_at, ?), updated_at = ?
       WHERE id = ? AND account_id = ? AND deleted_at IS NULL`,
    )
    .bind(now, now, messageId, accountId)
    .run();
  return result.meta.changes > 0;
}

/**
 * A contact_scores row's campaigns from its person's emails not deleted, as the people list's rescoring stores them
 * (contacts.ts, scoredContactsSql), in the same order (contact-scores.ts STORED_CAMPAIGNS_SQL): for a delete, which
 * must not leave a deleted email's campaign until then. The
 * person's emails are those to the row's spelling and to the spellings whose rows are hidden behind it (migration
 * 0027, contact_scores_hidden: none for nearly every row). Migration 0019 cleared the rows stored before with this
 * expression over the row's spelling alone.
 */
const LIVE_CAMPAIGNS_SQL = `(SELECT json_group_array(DISTINCT m.campaign ORDER BY m.campaign) FILTER (WHERE m.campaign IS NOT NULL)
  FROM message_recipients r JOIN messages m ON m.id = r.message_id
  WHERE r.account_id = contact_scores.account_id AND m.deleted_at IS NULL AND r.email IN (SELECT contact_scores.email
    UNION ALL SELECT h.email FROM contact_scores h INDEXED BY contact_scores_hidden
      WHERE h.account_id = contact_scores.account_id AND h.shown_as IS NOT NULL AND h.shown_as = contact_scores.email))`;

/**
 * The campaigns an email's deletion leaves on its other recipients' stored rows (deleteMessageStatements): they list
 * the campaigns of their emails, this one's too until they are rescored (the people list rescores a few hundred a
 * request), so its name goes from them now, kept where another of their emails has it. A recipient whose row is
 * hidden behind another spelling's (migration 0027) is shown by that row, which lists the person's campaigns, and
 * which this deletion does not mark: that row's list is taken again too. The recipients' rows are sought by address
 * (`+` keeps the planner off contact_scores_hidden, a read of the account's every hidden row).
 */
export function campaignsLeftStatement(db: D1Database, accountId: string, messageId: string): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE contact_scores SET campaigns = ${LIVE_CAMPAIGNS_SQL}
       WHERE account_id = ?2 AND campaigns <> '[]' AND email IN (SELECT email FROM message_recipients WHERE message_id = ?1
         UNION SELECT h.shown_as FROM contact_scores h WHERE h.account_id = ?2 AND +h.shown_as IS NOT NULL
           AND h.email IN (SELECT email FROM message_recipients WHERE message_id = ?1))`,
    )
    .bind(messageId, accountId);
}

/**
 * Deletes a message's events, links and content, leaving a tombstone so later hits store nothing. The opt-outs its
 * readers made before its registration, held for it, are recorded as given in the same batch
 * (heldOptOutsAsGivenStatements): deleted, it will never be registered to check them.
 */
export async function deleteMessageData(
  db: D1Database,
  accountId: string,
  messageId: string,
  now: number,
  signingSecret: string,
): Promise<boolean> {
  const held = await heldOptOutsAsGivenStatements(db, signingSecret, accountId, messageId);
  const [update] = await db.batch([...deleteMessageStatements(db, accountId, messageId, now), ...held]);
  return (update?.meta.changes ?? 0) > 0;
}

/**
 * What deleteMessageData runs, the tombstone's UPDATE first: for a caller that deletes several in one batch. The
 * tombstone keeps nothing the rep wrote (subject, campaign, the search text folded from them), nor whom it went to,
 * nor when it was answered (its reply signals go below, and that time alone would be the one trace of its activity
 * left): only what keeps later hits of its id from storing anything, as the time of an opt-out does. The opt-outs held for the message stay, for
 * settleOptOutsInPurge to record (deleteMessageData records them at once): a reader's opt-out is never dropped.
 */
export function deleteMessageStatements(db: D1Database, accountId: string, messageId: string, now: number): D1PreparedStatement[] {
  // Each statement reads the email's own rows, never the account's. D1 can gather statistics (`PRAGMA optimize` runs
  // ANALYZE: developers.cloudflare.com/d1/best-practices/use-indexes/, read 2026-12-07), but this project runs neither,
  // so SQLite plans from the schema alone: for `message_id = ? AND account_id = ?` it takes an index on account_id as
  // readily as one on message_id, and read the account's every recipient and reply through message_recipients_by_email
  // and signals_by_email (EXPLAIN QUERY PLAN, local D1, 2026-12-07). A unary `+` keeps a term off every index
  // (sqlite.org/optoverview.html, "Disqualifying WHERE Clause Terms Using Unary-'+'"), events_by_account for the
  // events. The tables without an account check the email's own row of messages, one seek, where
  // `message_id IN (SELECT id FROM messages WHERE account_id = ?)` listed the account's every email.
  const ownEmail = "EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND account_id = ?2)";
  return [
    db
      .prepare(
        `UPDATE messages SET subject = NULL, campaign = NULL, search_text = NULL, recipients = '[]', thread_id = NULL, sync_thread_id = NULL,
           gmail_message_id = NULL, last_reply_at = NULL, stopped_at = coalesce(stopped_at, ?), deleted_at = ?, updated_at = ?
         WHERE id = ? AND account_id = ? AND deleted_at IS NULL`,
      )
      .bind(now, now, now, messageId, accountId),
    db.prepare("DELETE FROM events WHERE message_id = ?1 AND +account_id = ?2").bind(messageId, accountId),
    db.prepare(`DELETE FROM links WHERE message_id = ?1 AND ${ownEmail}`).bind(messageId, accountId),
    db.prepare(`DELETE FROM sender_views WHERE message_id = ?1 AND ${ownEmail}`).bind(messageId, accountId),
    db.prepare("DELETE FROM signals WHERE message_id = ?1 AND +account_id = ?2").bind(messageId, accountId),
    // The people list's stored rows of the recipients it was the only email of hold their addresses and names from it;
    // the others' rows are marked by the trigger on the delete below and rescored without it.
    db
      .prepare(
        `DELETE FROM contact_scores WHERE account_id = ?2 AND email IN (SELECT r.email FROM message_recipients r WHERE r.message_id = ?1
           AND NOT EXISTS (SELECT 1 FROM message_recipients o WHERE o.account_id = ?2 AND o.email = r.email AND o.message_id <> ?1))`,
      )
      .bind(messageId, accountId),
    campaignsLeftStatement(db, accountId, messageId),
    db.prepare("DELETE FROM message_recipients WHERE message_id = ?1 AND +account_id = ?2").bind(messageId, accountId),
    db.prepare(`DELETE FROM removed_recipients WHERE message_id = ?1 AND ${ownEmail}`).bind(messageId, accountId),
  ];
}

export interface TrackingState extends MessageLabelFacts {
  /** From when its opens and its clicks store nothing (ms; 0 for none stored), as hitsStoredUntilSql says. */
  opens_stored_until: number;
  clicks_stored_until: number;
}

/** Where each message stands for storing new hits (hitsStoredUntilSql), and what labelling them needs (labelsOnArrival). */
export async function trackingStates(db: D1Database, messageIds: readonly string[]): Promise<Map<string, TrackingState>> {
  const states = new Map<string, TrackingState>();
  for (const ids of chunked(messageIds)) {
    const { results } = await db
      .prepare(
        `SELECT m.id, ${hitsStoredUntilSql("'open'")} AS opens_stored_until, ${hitsStoredUntilSql("'click'")} AS clicks_stored_until,
           ${MESSAGE_LABEL_FACTS_SQL}
         FROM messages m WHERE m.id IN (${placeholders(ids.length)})`,
      )
      .bind(...ids)
      .all<TrackingState & { id: string }>();
    for (const row of results) states.set(row.id, row);
  }
  return states;
}

export function messageState(row: Pick<MessageRow, "stopped_at">, openCount: number, clickCount: number, bounced = false): MessageState {
  if (bounced) return "bounced";
  if (row.stopped_at !== null) return "stopped";
  if (clickCount > 0) return "clicked";
  if (openCount > 0) return "opened";
  return "delivered";
}

export interface MessageFilter {
  campaign?: string;
  /** Substring of the subject, a recipient address or a recipient's name, whatever the case and accents (foldForSearch). */
  q?: string;
}

/** Registered, non-deleted messages newest first (sent_at, id descending), strictly after the keyset position. */
export async function messagePage(
  db: D1Database,
  accountId: string,
  filter: MessageFilter,
  after: { sentAt: number; id: string } | null,
  limit: number,
): Promise<MessageRow[]> {
  const where = ["account_id = ?", "deleted_at IS NULL", "registered_at IS NOT NULL"];
  const binds: (string | number)[] = [accountId];
  if (filter.campaign !== undefined) {
    where.push("campaign = ?");
    binds.push(filter.campaign);
  }
  if (filter.q !== undefined) {
    // instr, not LIKE: D1 refuses a LIKE or GLOB pattern over 50 bytes ("LIKE or GLOB pattern too complex";
    // developers.cloudflare.com/d1/platform/limits/, "Maximum characters (bytes) in a LIKE or GLOB pattern"), which a
    // query of a few accented words passes, while instr takes any length and no character in it is a wildcard. Both
    // sides folded alike (foldForSearch), so a plain substring test is the case- and accent-blind search. The texts as
    // folded when written (migration 0018), read as before: the account's messages newest first, each one's recipients
    // by message.
    const folded = foldForSearch(filter.q);
    where.push(
      `(instr(search_text, ?) > 0 OR EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = messages.id
         AND instr(r.search_text, ?) > 0))`,
    );
    binds.push(folded, folded);
  }
  if (after) {
    // The `<=` is the range of messages_by_account_newest (migration 0031) the page starts at: with the OR alone, each
    // page read from the account's newest message on.
    where.push("coalesce(sent_at, 0) <= ? AND (coalesce(sent_at, 0) < ? OR (coalesce(sent_at, 0) = ? AND id < ?))");
    binds.push(after.sentAt, after.sentAt, after.sentAt, after.id);
  }
  // A campaign's page by its messages (messages_by_campaign, sorted): by the account's newest, which the order alone
  // chooses, it read on through the account's other messages to fill the page.
  const index = filter.campaign === undefined ? "messages_by_account_newest" : "messages_by_campaign";
  const { results } = await db
    .prepare(`SELECT * FROM messages INDEXED BY ${index} WHERE ${where.join(" AND ")} ORDER BY coalesce(sent_at, 0) DESC, id DESC LIMIT ?`)
    .bind(...binds, limit)
    .all<MessageRow>();
  return results;
}
