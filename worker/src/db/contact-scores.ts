// The people list's stored scores (table contact_scores, migration 0010): a page reads rows in proportion to the
// page, not to the account. Every contact's score decays by the same factor as time passes (docs/engagement.md),
// so a key made at any time, log2(score at t) + (t − epoch) / half-life, orders contacts as their scores at any
// later time do; the scores shown are computed at read time, exactly, for the page's contacts only.
//
// A stored row is brought up to date by the listings after it is marked dirty: by triggers in the migration (recipients
// added or removed, replies, a label that starts or stops counting), or by a listing that finds new events on one of
// its emails since contact_scores_state.events_seq (read by seq through events_by_account, so a hit writes nothing
// here). A listing rescores a bounded share of the marked rows (RESCORED_PER_REQUEST). Events
// deleted by the retention purge leave their (by then decayed) share in the key until the contact changes again.
import { ENGAGEMENT_HALF_LIFE_DAYS } from "../../../shared/engagement";
import { accountContacts, type ContactAggregate } from "./contacts";
import { chunked, MAX_IN_LIST } from "./sql";

const HALF_LIFE_MS = ENGAGEMENT_HALF_LIFE_DAYS * 86_400_000;
/** Any fixed time works; a recent one keeps the keys small. */
const KEY_EPOCH_MS = Date.UTC(2026, 0, 1);
/** The key of a contact with no score: below every real key. */
const NO_SCORE_KEY = -1e300;

/** The ranking key of a score (before rounding) computed at `now`. */
export function scoreKey(exactScore: number, now: number): number {
  return exactScore > 0 ? Math.log2(exactScore) + (now - KEY_EPOCH_MS) / HALF_LIFE_MS : NO_SCORE_KEY;
}

/** Recomputes these contacts' stored rows: `dirtyAsRead` (email → dirty as read before computing) clears only those. */
async function storeContacts(db: D1Database, accountId: string, now: number, dirtyAsRead: Map<string, number>) {
  for (const part of chunked([...dirtyAsRead.keys()])) {
    const computed = new Map((await accountContacts(db, accountId, now, part)).map((c) => [c.email, c]));
    await db.batch(
      part.map((email) => {
        const contact = computed.get(email);
        const seen = dirtyAsRead.get(email) ?? 0;
        // A contact with no email left is gone from the list (deleted messages, a deleted contact).
        if (!contact)
          return db.prepare("DELETE FROM contact_scores WHERE account_id = ? AND email = ? AND dirty <= ?").bind(accountId, email, seen);
        return db
          .prepare(
            `INSERT INTO contact_scores (account_id, email, dirty, name, sent, last_sent_at, activity_key, campaigns, score_key)
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (account_id, email) DO UPDATE SET
               dirty = CASE WHEN contact_scores.dirty <= ?9 THEN 0 ELSE contact_scores.dirty END,
               name = ?3, sent = ?4, last_sent_at = ?5, activity_key = ?6, campaigns = ?7, score_key = ?8`,
          )
          .bind(
            accountId,
            email,
            contact.name,
            contact.sent,
            contact.lastSentAt,
            contact.lastActivityAt ?? -1,
            JSON.stringify([...contact.campaigns]),
            scoreKey(contact.exactScore, now),
            seen,
          );
      }),
    );
  }
}

/**
 * Contacts rescored by one listing request, at most. An account's first listing, or one after a busy week, may find
 * thousands of contacts to rescore, and each chunk of MAX_IN_LIST takes two D1 queries (accountContacts' batch and
 * the store's): all at once, they went past FREE_PLAN_D1_QUERIES (sql.ts) from about 2,000 contacts. So the work is
 * spread over the listing's requests, four chunks each, and the answer says how many contacts are still waiting
 * (`pendingContacts`); the dashboard asks again until none is.
 */
export const RESCORED_PER_REQUEST = 4 * MAX_IN_LIST;

/**
 * Brings the account's stored rows closer to date: marks what changed since the last listing (every contact the first
 * time) in one statement whatever its size, then rescores up to RESCORED_PER_REQUEST of the marked contacts.
 * Returns how many marked contacts are left for later requests.
 */
export async function refreshContactScores(db: D1Database, accountId: string, now: number): Promise<number> {
  const [state, latest] = await db.batch([
    db.prepare("SELECT events_seq FROM contact_scores_state WHERE account_id = ?").bind(accountId),
    db.prepare("SELECT coalesce(max(seq), 0) AS seq FROM events WHERE account_id = ?").bind(accountId),
  ]);
  const since = (state?.results[0] as { events_seq: number } | undefined)?.events_seq;
  const upTo = (latest?.results[0] as { seq: number } | undefined)?.seq ?? 0;
  if (since === undefined || upTo > since) {
    const marks =
      since === undefined
        ? // Nothing stored yet: a row for every contact of the account, and every row (a contact gone since has one) marked.
          [
            db
              .prepare(
                `INSERT INTO contact_scores (account_id, email) SELECT DISTINCT account_id, email FROM message_recipients
                 WHERE account_id = ?1 ON CONFLICT (account_id, email) DO NOTHING`,
              )
              .bind(accountId),
            db.prepare("UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ?1").bind(accountId),
          ]
        : // The recipients of every email with events after the last refresh (events_by_account, from `since` on).
          [
            db
              .prepare(
                `INSERT INTO contact_scores (account_id, email)
                 SELECT DISTINCT ?1, r.email FROM message_recipients r
                 WHERE r.message_id IN (SELECT DISTINCT message_id FROM events WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3)
                 ON CONFLICT (account_id, email) DO UPDATE SET dirty = dirty + 1`,
              )
              .bind(accountId, since, upTo),
          ];
    // One transaction: the events up to `upTo` are marked exactly when the state says they are.
    await db.batch([
      ...marks,
      db
        .prepare(
          `INSERT INTO contact_scores_state (account_id, events_seq) VALUES (?1, ?2)
           ON CONFLICT (account_id) DO UPDATE SET events_seq = max(events_seq, ?2)`,
        )
        .bind(accountId, upTo),
    ]);
  }
  // The marked rows (contact_scores_dirty), some of them, and how many there are in all.
  const { results } = await db
    .prepare("SELECT email, dirty, count(*) OVER () AS marked FROM contact_scores WHERE account_id = ? AND dirty > 0 LIMIT ?")
    .bind(accountId, RESCORED_PER_REQUEST)
    .all<{ email: string; dirty: number; marked: number }>();
  const dirtyAsRead = new Map(results.map((row) => [row.email, row.dirty]));
  await storeContacts(db, accountId, now, dirtyAsRead);
  return (results[0]?.marked ?? 0) - results.length;
}

export interface ContactPageQuery {
  sort: "score" | "lastActivity";
  campaign?: string;
  minScore?: number;
  /** [key, email] of the last contact of the previous page. */
  after?: readonly [number, string];
  limit: number;
}

/**
 * One page of the account's contacts, best first (score, or latest activity), with their scores computed exactly
 * at `now`; `more` when contacts follow. Reads the stored rows of the page (and of what a filter skips), then the
 * page's own emails and events.
 */
export async function contactPage(
  db: D1Database,
  accountId: string,
  now: number,
  query: ContactPageQuery,
): Promise<{ contacts: (ContactAggregate & { key: number })[]; more: boolean }> {
  const column = query.sort === "score" ? "score_key" : "activity_key";
  const conditions = ["account_id = ?1"];
  const binds: (string | number)[] = [accountId];
  const bind = (value: string | number) => `?${binds.push(value)}`;
  if (query.after) {
    const [key, email] = query.after;
    conditions.push(`(${column} < ${bind(key)} OR (${column} = ?${binds.length} AND email > ${bind(email)}))`);
  }
  // Rounded to 2 decimals, a score shows as at least minScore from minScore − 0.005 on; the exact check is below.
  if (query.minScore !== undefined && query.minScore > 0.005)
    conditions.push(`score_key >= ${bind(scoreKey(query.minScore - 0.005, now))}`);
  if (query.campaign !== undefined)
    conditions.push(`EXISTS (SELECT 1 FROM json_each(campaigns) j WHERE j.value = ${bind(query.campaign)})`);
  const { results } = await db
    .prepare(
      `SELECT email, ${column} AS key FROM contact_scores INDEXED BY contact_scores_by_${query.sort === "score" ? "score" : "activity"}
       WHERE ${conditions.join(" AND ")} ORDER BY ${column} DESC, email LIMIT ${bind(query.limit + 1)}`,
    )
    .bind(...binds)
    .all<{ email: string; key: number }>();
  const page = results.slice(0, query.limit);
  const keys = new Map(page.map((row) => [row.email, row.key]));
  const computed = new Map<string, ContactAggregate>();
  for (const part of chunked(page.map((row) => row.email))) {
    for (const contact of await accountContacts(db, accountId, now, part))
      if (keys.has(contact.email)) computed.set(contact.email, contact);
  }
  const contacts = page.flatMap((row) => {
    const contact = computed.get(row.email);
    return contact ? [{ ...contact, key: row.key }] : [];
  });
  const shown = query.minScore === undefined ? contacts : contacts.filter((c) => c.score >= (query.minScore ?? 0));
  // Past the first contact under minScore, every later one is under it too (the keys only go down).
  return { contacts: shown, more: results.length > query.limit && shown.length === contacts.length };
}
