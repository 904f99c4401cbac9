const DAY_MS = 86_400_000;
const PURGE_CHUNK = 5_000;
const MAX_CHUNKS_PER_RUN = 200;
/** Sender-view reports only matter while late hits can still arrive (queue retries last hours, not days). */
export const SENDER_VIEW_RETENTION_DAYS = 7;

/**
 * Deletes events and signals (replies, bounces, unsubscribes) older than their account's retention, in chunks so one run never holds D1 for long.
 * Returns how many events were deleted; a backlog larger than one run's cap is finished by the next run.
 */
export async function purgeExpiredEvents(db: D1Database, now: number): Promise<number> {
  let deleted = 0;
  for (let chunk = 0; chunk < MAX_CHUNKS_PER_RUN; chunk++) {
    const result = await db
      .prepare(
        `DELETE FROM events WHERE seq IN (
           SELECT e.seq FROM events e JOIN accounts a ON a.id = e.account_id
           WHERE e.occurred_at < ?1 - a.retention_days * ${DAY_MS} LIMIT ${PURGE_CHUNK})`,
      )
      .bind(now)
      .run();
    deleted += result.meta.changes;
    if (result.meta.changes < PURGE_CHUNK) break;
  }
  // Replies, bounces and unsubscribes are events too (the suppression list and opt-outs are kept).
  for (let chunk = 0; chunk < MAX_CHUNKS_PER_RUN; chunk++) {
    const result = await db
      .prepare(
        `DELETE FROM signals WHERE seq IN (
           SELECT s.seq FROM signals s JOIN accounts a ON a.id = s.account_id
           WHERE s.occurred_at < ?1 - a.retention_days * ${DAY_MS} LIMIT ${PURGE_CHUNK})`,
      )
      .bind(now)
      .run();
    deleted += result.meta.changes;
    if (result.meta.changes < PURGE_CHUNK) break;
  }
  await db
    .prepare("DELETE FROM sender_views WHERE viewed_at < ?")
    .bind(now - SENDER_VIEW_RETENTION_DAYS * DAY_MS)
    .run();
  return deleted;
}
