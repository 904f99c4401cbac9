import { PENDING_OPT_OUT_DAYS } from "./opt-outs";
import { COUNTED_SQL } from "./sql";

const DAY_MS = 86_400_000;
const PURGE_CHUNK = 5_000;
/**
 * DELETEs a run makes per table, at most. With the sender views' one, a run stays within FREE_PLAN_D1_QUERIES (sql.ts):
 * at 200 a table, a backlog of more than about 250,000 events failed the run at its 51st query, before signals and
 * sender views were purged. The purge runs hourly (wrangler.toml), so a table sheds up to 2.4 million expired rows a day.
 */
const MAX_CHUNKS_PER_RUN = 20;
/** Sender-view reports only matter while late hits can still arrive (queue retries last hours, not days). */
export const SENDER_VIEW_RETENTION_DAYS = 7;

/**
 * Deletes events and signals (replies, bounces, unsubscribes) older than their account's retention, in chunks so
 * one run never holds D1 for long.
 * Returns how many events were deleted; a backlog larger than one run's cap is finished by the next run.
 */
export async function purgeExpiredEvents(db: D1Database, now: number): Promise<number> {
  // Replies, bounces and unsubscribes (signals) are events too; the suppression list and opt-outs are kept.
  const deleted = (await purgeExpired(db, "events", now)) + (await purgeExpired(db, "signals", now));
  const senderViewCutoff = now - SENDER_VIEW_RETENTION_DAYS * DAY_MS;
  await db.batch([
    db.prepare("DELETE FROM sender_views WHERE viewed_at < ?").bind(senderViewCutoff),
    forgetOpenAddresses(db, senderViewCutoff),
    db.prepare("DELETE FROM pending_opt_outs WHERE created_at < ?").bind(now - PENDING_OPT_OUT_DAYS * DAY_MS),
  ]);
  return deleted;
}

/**
 * An open's address hash is compared only with the sender's own views of its email (classify.ts, couldBeFrom), and
 * those are kept SENDER_VIEW_RETENTION_DAYS: past that the hash can tell nothing, so it goes with them. A click keeps
 * its hash for the account's retention: it tells one network's clicks on a link from another's (unique clicks).
 * Only the day before the cutoff is read (events_by_time), not every older event: the purge runs hourly, so an
 * earlier run cleared what is older, unless runs failed for a whole day (those hashes then stay until the event is
 * purged). Events stored before this cleared what was older already (migration 0013).
 */
function forgetOpenAddresses(db: D1Database, cutoff: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE events SET ip_hash = NULL WHERE seq IN (
         SELECT seq FROM events INDEXED BY events_by_time
         WHERE occurred_at >= ?1 - ${DAY_MS} AND occurred_at < ?1 AND kind = 'open' AND ip_hash IS NOT NULL)`,
    )
    .bind(cutoff);
}

/**
 * Deletes one table's rows (keyed by seq, with account_id and occurred_at) that are past their account's retention.
 * Per account, only the rows older than its cutoff are read (the table's `<table>_by_time` index), not the table.
 * Before a chunk of events goes, the contacts of the emails of its counted ones are marked for rescoring: their stored
 * rows are what the people list shows (db/contact-scores.ts), and a 90-day-old click still adds 0.03 to a score. One
 * statement per chunk marks each contact once; a trigger on each deleted event would write a contact's row once per
 * event. Replies mark theirs by trigger (migration 0010), and other signals do not count.
 */
async function purgeExpired(db: D1Database, table: "events" | "signals", now: number): Promise<number> {
  const chunk = `SELECT t.* FROM accounts a CROSS JOIN ${table} t INDEXED BY ${table}_by_time
                 WHERE t.account_id = a.id AND t.occurred_at < ?1 - a.retention_days * ${DAY_MS} LIMIT ${PURGE_CHUNK}`;
  const statements = [db.prepare(`DELETE FROM ${table} WHERE seq IN (SELECT seq FROM (${chunk}))`).bind(now)];
  // In one batch, so one transaction ("Batched statements are SQL transactions", Cloudflare's D1 Database API page,
  // developers.cloudflare.com/d1/worker-api/d1-database/#batch, read 2026-12-01): the mark sees the same chunk the
  // DELETE then removes.
  if (table === "events")
    statements.unshift(
      db
        .prepare(
          `WITH chunk AS (${chunk})
           UPDATE contact_scores SET dirty = dirty + 1 WHERE (account_id, email) IN (
             SELECT account_id, email FROM message_recipients
             WHERE message_id IN (SELECT message_id FROM chunk WHERE label IN (${COUNTED_SQL})))`,
        )
        .bind(now),
    );
  let deleted = 0;
  for (let run = 0; run < MAX_CHUNKS_PER_RUN; run++) {
    const changes = (await db.batch(statements)).at(-1)?.meta.changes ?? 0;
    deleted += changes;
    if (changes < PURGE_CHUNK) break;
  }
  return deleted;
}
