import { DAY_MS, HOUR_MS } from "../../../shared/durations";
import { errorName } from "../errors";
import { forgetPurgedActivitySql } from "./contact-scores";
import { keyStoredMailboxes } from "./mailboxes";
import { settleOptOutsInPurge } from "./opt-outs";
import { foldStoredSearchText } from "./search-text";
import { respellStoredReplies } from "./spellings";
import { COUNTED_SQL } from "./sql";

const PURGE_CHUNK = 5_000;
/**
 * DELETEs a run makes per table, at most. With the held opt-outs' 2, the sender views' 1, the mailbox keys' 2, the replies' respelling 2 and the search text's 2, a run stays within FREE_PLAN_D1_QUERIES (sql.ts):
 * at 200 a table, a backlog of more than about 250,000 events failed the run at its 51st query, before signals and
 * sender views were purged. The purge runs hourly (wrangler.toml), so a table sheds up to 2.4 million expired rows a day.
 */
const MAX_CHUNKS_PER_RUN = 20;
/**
 * Rows of each table whose search text a run folds (foldStoredSearchText) per chunk of its share: 500 a table hourly, 125
 * from traffic. 500 subjects of the long kind ("Réunion de suivi n°12 — proposition tarifaire pour Société Générale et
 * Émilie Durand") fold and go to JSON in 1.1 ms of CPU in a cold Node process (names are shorter), a small part of the
 * free plan's 10 ms a run has. A tracker with 10,000 such emails before migration 0018 has them all found in a day.
 */
const SEARCH_TEXT_ROWS_PER_CHUNK = 25;
/** Sender-view reports only matter while late hits can still arrive (queue retries last hours, not days). */
export const SENDER_VIEW_RETENTION_MS = 7 * DAY_MS;

/**
 * The purge from the tracker's own traffic (purgeIfOverdue) starts once the last run, from the Cron Trigger or from
 * traffic, is this old. The trigger runs hourly, so while it works this never comes; on an account whose Cron Triggers
 * are all taken (Workers Free allows 5 an account, developers.cloudflare.com/workers/platform/limits/, read 2026-12-04),
 * the purge runs about this often while hits or the extension's requests arrive.
 */
export const PURGE_OVERDUE_AFTER_MS = 2 * HOUR_MS;
/**
 * After a run from traffic that left expired rows (it stopped at OVERDUE_CHUNKS_PER_RUN, or failed), the next may start
 * this much later: while traffic comes, a backlog then sheds up to 25,000 rows a table every 5 minutes, faster than the
 * hourly trigger's 100,000 an hour, and a run (15 queries at most, seconds) is long over before another may claim it.
 */
export const UNFINISHED_PURGE_AGAIN_AFTER_MS = 5 * 60_000;
/**
 * DELETEs a run from traffic makes per table, a quarter of the hourly run's. It runs after a queue batch or a feed
 * request has made its own queries, in the same invocation and so within the same FREE_PLAN_D1_QUERIES: the purge makes
 * at most 17 (the claim, 5 a table, the held opt-outs' 2, the sender views' batch, the search text's 2, the mark of an unfinished run) beside the consumer's 8 for
 * a full batch of 100 hits to 100 emails, or the feed's 2 (purge-from-traffic.test.ts counts them).
 */
const OVERDUE_CHUNKS_PER_RUN = 5;

/** What a purge run did: events and signals deleted, and whether it left none expired (no table stopped at its cap). */
export interface PurgeRun {
  deleted: number;
  finished: boolean;
}

/**
 * When the purge last ran, and whether it is due from traffic, is one D1 row (migration 0016), not a KV key, though KV
 * already caches account records (auth.ts). Claiming a run is then one UPDATE that only one invocation wins (a
 * statement is atomic in SQLite, which a D1 database is; purge-from-traffic.test.ts claims three at once), where KV has no compare-and-set and a write "can take 60 seconds or
 * more to be visible in other locations" (developers.cloudflare.com/kv/concepts/how-kv-works/, read 2026-12-04): two
 * isolates would both see an old time and both purge. A check that is not due writes no row, so the purge's writes are
 * a row a run, where KV's free 1,000 writes a day (developers.cloudflare.com/kv/platform/limits/, read 2026-12-04) are
 * already spent by the account cache, a write per account every 5 minutes of use; reading it costs 1 of D1's 5 million
 * rows read a day per check (developers.cloudflare.com/d1/platform/pricing/, read 2026-12-04), and an isolate checks
 * about once every 5 minutes at most while it is not due, not at each batch or request (noOverdueRunBefore).
 */
const CLAIM_OVERDUE_RUN = `UPDATE retention_purge SET last_run_at = ?1, unfinished = 0
  WHERE id = 1 AND last_run_at <= ?1 - CASE WHEN unfinished THEN ${UNFINISHED_PURGE_AGAIN_AFTER_MS} ELSE ${PURGE_OVERDUE_AFTER_MS} END`;

/**
 * Before this time (ms), this isolate knows no run from traffic can be due, and checks without a query: the claim is an
 * UPDATE, and every queue batch (many a second under load) and every feed request (a minute per open Gmail tab) would
 * otherwise make one that changes nothing. The row stays the only truth and the claim the only way to a run; this only
 * moves an isolate's next claim later, to no later than the row can be due by what the isolate saw:
 * - after a run it claimed and finished, or a scheduled run: the row says that run's time, so PURGE_OVERDUE_AFTER_MS on;
 * - after a run it claimed that left rows or failed: UNFINISHED_PURGE_AGAIN_AFTER_MS on, as the row's unfinished mark
 *   says (and sooner than the row when the mark itself failed, which costs a claim that changes nothing);
 * - after a claim another invocation won or had made: the row was not read, and the winner may yet mark its run
 *   unfinished, so UNFINISHED_PURGE_AGAIN_AFTER_MS on. An isolate then checks about once every 5 minutes;
 * - after a claim D1 refused: the row was not read either, so UNFINISHED_PURGE_AGAIN_AFTER_MS on, as after a failed run.
 * Per isolate, held in memory and lost with it: a new isolate checks at its first batch or request. Two invocations of
 * one isolate may both pass it at once; the claim still lets one of them run.
 */
let noOverdueRunBefore = 0;

/** Forgets what this isolate knows of the purge's row (noOverdueRunBefore), as a new isolate would: for tests. */
export function forgetOverdueCheck(): void {
  noOverdueRunBefore = 0;
}

/** The hourly purge (the Cron Trigger): recorded as the last run, so the purge from traffic does not come while it works. */
export async function purgeOnSchedule(db: D1Database, signingSecret: string, now: number): Promise<PurgeRun> {
  await db.prepare("UPDATE retention_purge SET last_run_at = ?1, unfinished = 0 WHERE id = 1").bind(now).run();
  noOverdueRunBefore = now + PURGE_OVERDUE_AFTER_MS;
  return purgeExpiredEvents(db, signingSecret, now);
}

/**
 * The purge from the tracker's own traffic, for a tracker whose Cron Trigger Cloudflare refused (scripts/deploy.mjs,
 * code 10072): runs a share of the purge (OVERDUE_CHUNKS_PER_RUN) when its last run is older than PURGE_OVERDUE_AFTER_MS
 * (UNFINISHED_PURGE_AGAIN_AFTER_MS after one that left expired rows), once, whichever invocation claims it first.
 * Null when it was not due, or when this isolate knew so without asking (noOverdueRunBefore). Throws when D1 fails;
 * runOverduePurge is the caller that must not.
 */
export async function purgeIfOverdue(db: D1Database, signingSecret: string, now: number): Promise<PurgeRun | null> {
  if (now < noOverdueRunBefore) return null;
  // Set before the claim, not after the run: another invocation of this isolate need not claim while the run lasts,
  // nor while D1 refuses the claim itself (each check that fails queues a timer: runOverduePurge).
  noOverdueRunBefore = now + UNFINISHED_PURGE_AGAIN_AFTER_MS;
  const claim = await db.prepare(CLAIM_OVERDUE_RUN).bind(now).run();
  if (claim.meta.changes === 0) return null;
  const markUnfinished = () => db.prepare("UPDATE retention_purge SET unfinished = 1 WHERE id = 1 AND last_run_at = ?").bind(now).run();
  let run: PurgeRun;
  try {
    run = await purgeExpiredEvents(db, signingSecret, now, OVERDUE_CHUNKS_PER_RUN);
  } catch (error) {
    // Tried again in minutes, not hours, unless D1 refuses this too.
    await markUnfinished().catch(() => {});
    throw error;
  }
  if (!run.finished) await markUnfinished();
  else noOverdueRunBefore = now + PURGE_OVERDUE_AFTER_MS;
  return run;
}

/**
 * A queue message that carries no hit: it wakes the hits' consumer, whose batch then runs purgeIfOverdue as every
 * batch does (runOverduePurge). It is the purge's clock on a tracker without its Cron Trigger and without traffic:
 * with neither, nothing else runs the tracker's code, and events would stay past their retention until a hit or the
 * extension came back.
 */
export const PURGE_TIMER_MESSAGE = { purgeTimer: true } as const;
export type PurgeTimerMessage = typeof PURGE_TIMER_MESSAGE;

export function isPurgeTimer(body: unknown): body is PurgeTimerMessage {
  return typeof body === "object" && body !== null && (body as { purgeTimer?: unknown }).purgeTimer === true;
}

/**
 * How far ahead a run from traffic queues the next timer: Queues' longest delay ("Messages can be delayed by up to 12
 * hours", developers.cloudflare.com/queues/configuration/batching-retries/, read 2026-12-02; within the free plan's 24
 * hours of keeping a message). So an event is purged at most about 12 hours after its retention ends, where the hourly
 * trigger takes an hour. A timer is 3 queue operations: 6 a day without traffic, 36 at most with it (a run every 2
 * hours), of the free plan's 10,000.
 */
export const PURGE_TIMER_DELAY_SECONDS = 12 * 3_600;

/**
 * purgeIfOverdue after work that must not fail with it (a queue batch once its hits are stored and acknowledged, a
 * feed request once answered): for `ctx.waitUntil`, and never rejects, so nothing it does changes how the batch or the
 * request ends. A queue consumer reports its batch only once the promises given to waitUntil have settled ("Queue
 * consumers don't wait for ctx.waitUntil() to resolve" is an experimental compatibility flag,
 * queue_consumer_no_wait_for_wait_until, off by default: developers.cloudflare.com/workers/configuration/
 * compatibility-flags/, read 2026-12-04), so a run delays that report by its seconds, every 2 hours (5 minutes while a
 * backlog lasts); the hits are stored before. A failure is logged; the isolate's next check, UNFINISHED_PURGE_AGAIN_AFTER_MS
 * later, tries again (another isolate's may come sooner).
 *
 * Every run it claims, and every check D1 failed, queues a purge timer (PURGE_TIMER_MESSAGE) to `timers`:
 * PURGE_TIMER_DELAY_SECONDS ahead, or UNFINISHED_PURGE_AGAIN_AFTER_MS while a backlog lasts. When the timer comes, its
 * batch checks again, and a run it claims queues the next. So a tracker whose traffic stops keeps purging, and timers
 * stop by themselves where the Cron Trigger works: a timer then finds the purge not due (a check that is not due
 * queues none), and runs from traffic, which alone queue the first, never come. At most one run is claimed every 2
 * hours, so at most about six timers are ever waiting. A timer lost (its send refused, or dead-lettered with hits D1
 * kept refusing) is queued again by the next run that traffic claims.
 */
export async function runOverduePurge(db: D1Database, signingSecret: string, timers: Queue<PurgeTimerMessage>, now: number): Promise<void> {
  let next: number;
  try {
    const run = await purgeIfOverdue(db, signingSecret, now);
    if (!run) return;
    console.log(`retention purge from traffic deleted ${run.deleted} events${run.finished ? "" : ", more left"}`);
    next = run.finished ? PURGE_TIMER_DELAY_SECONDS : UNFINISHED_PURGE_AGAIN_AFTER_MS / 1_000;
  } catch (error) {
    console.error("retention purge from traffic failed", errorName(error));
    next = PURGE_TIMER_DELAY_SECONDS;
  }
  try {
    await timers.send(PURGE_TIMER_MESSAGE, { contentType: "json", delaySeconds: next });
  } catch (error) {
    console.error("queueing the retention purge's timer failed", errorName(error));
  }
}

/**
 * Deletes events and signals (replies, bounces, unsubscribes) older than their account's retention, in chunks so
 * one run never holds D1 for long, at most `maxChunks` DELETEs a table; records the opt-outs held too long for an
 * email never registered and searches other accounts' emails for the opt-outs recorded since (settleOptOutsInPurge); keys the mailboxes of rows stored without one (keyStoredMailboxes);
 * respells the replies stored under another spelling of a recipient (respellStoredReplies);
 * folds the search text of rows stored without it (foldStoredSearchText).
 * A backlog larger than one run's cap is finished by the next run (`finished` false until then).
 */
export async function purgeExpiredEvents(
  db: D1Database,
  signingSecret: string,
  now: number,
  maxChunks = MAX_CHUNKS_PER_RUN,
): Promise<PurgeRun> {
  // Replies, bounces and unsubscribes (signals) are events too; the suppression list and opt-outs are kept, and so is
  // the time an email was last answered or opted out of, kept on the email (messages.last_reply_at, opted_out_at).
  const events = await purgeExpired(db, "events", now, maxChunks);
  const signals = await purgeExpired(db, "signals", now, maxChunks);
  const senderViewCutoff = now - SENDER_VIEW_RETENTION_MS;
  await db.batch([
    db.prepare("DELETE FROM sender_views WHERE viewed_at < ?").bind(senderViewCutoff),
    ...forgetOpenAddresses(db, senderViewCutoff),
  ]);
  // Before the held opt-outs are recorded by the mailbox key: the rows migration 0023 left to the worker.
  await keyStoredMailboxes(db);
  // The replies stored before under their sender's spelling of a recipient (migration 0025): each becomes the recipient's.
  await respellStoredReplies(db);
  // Last: its keyed hashes (the held addresses', OWN_SEARCH_HASHES at most, and the opt-out sweep's,
  // SWEEP_HASHES_PER_RUN at most) are the run's heaviest CPU, and a run it takes past the limit must not keep the open
  // addresses above from being forgotten when the README says.
  await settleOptOutsInPurge(db, signingSecret, now);
  // After what the retention promises: a run the CPU limit ends here leaves only the search's old rows for the next.
  await foldStoredSearchText(db, maxChunks * SEARCH_TEXT_ROWS_PER_CHUNK);
  return { deleted: events.deleted + signals.deleted, finished: events.finished && signals.finished };
}

/**
 * An open's address hash is compared with the sender's own views of its email (classify.ts, couldBeFrom), and
 * those are kept SENDER_VIEW_RETENTION_MS: past that the hash can tell nothing, so it goes with them. It is also
 * compared with the clicks within a minute of the open (classify.ts, SAME_NETWORK_AS_SCANNER_MS), all stored long
 * before then; the label they gave the open stays (db/events.ts, relabelSpans). A click keeps
 * its hash for the account's retention: it tells one network's clicks on a link from another's (unique clicks).
 * Only the events from the last run's cutoff on are read (events_by_time, retention_purge.open_addresses_forgotten_before),
 * and at least the day before this one's, not every older event: an earlier run cleared what is older. The purge from
 * traffic can come days after the last run (no hit and no extension in the meantime), and an hourly run that failed
 * leaves its share to the next. The run's cutoff is recorded in the same batch, so in the same transaction. Events
 * stored before this cleared what was older already (migrations 0013 and 0016).
 */
function forgetOpenAddresses(db: D1Database, cutoff: number): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `UPDATE events SET ip_hash = NULL WHERE seq IN (
           SELECT seq FROM events INDEXED BY events_by_time
           WHERE occurred_at >= min(?1 - ${DAY_MS}, coalesce((SELECT open_addresses_forgotten_before FROM retention_purge WHERE id = 1), ?1))
             AND occurred_at < ?1 AND kind = 'open' AND ip_hash IS NOT NULL)`,
      )
      .bind(cutoff),
    db.prepare("UPDATE retention_purge SET open_addresses_forgotten_before = ?1 WHERE id = 1").bind(cutoff),
  ];
}

/**
 * Deletes one table's rows (keyed by seq, with account_id and occurred_at) that are past their account's retention.
 * Per account, only the rows older than its cutoff are read (the table's `<table>_by_time` index), not the table.
 * Before a chunk goes, the people list's stored rows (db/contact-scores.ts) of the contacts its counted events and its
 * replies count for lose what they derived from them, their score and, when it is one of them, their latest activity
 * (forgetPurgedActivitySql), and are marked for rescoring: a 90-day-old click still adds 0.03 to a score, and a row
 * that waited for the next listing kept the time of an open the retention had ended. One statement per chunk writes
 * each contact once; a trigger on each deleted event would write a contact's row once per event. A reply counts for
 * its sender and, from someone else, for the email's recipients (as migration 0010's trigger marks them); other
 * signals do not count.
 */
async function purgeExpired(db: D1Database, table: "events" | "signals", now: number, maxChunks: number): Promise<PurgeRun> {
  const chunk = `SELECT t.* FROM accounts a CROSS JOIN ${table} t INDEXED BY ${table}_by_time
                 WHERE t.account_id = a.id AND t.occurred_at < ?1 - a.retention_days * ${DAY_MS} LIMIT ${PURGE_CHUNK}`;
  const counted =
    table === "events"
      ? `SELECT account_id, email FROM message_recipients WHERE message_id IN (SELECT message_id FROM chunk WHERE label IN (${COUNTED_SQL}))`
      : `SELECT account_id, email FROM chunk WHERE kind = 'reply'
         UNION ALL SELECT account_id, email FROM message_recipients WHERE message_id IN (SELECT message_id FROM chunk WHERE kind = 'reply')`;
  const cutoff = `?1 - (SELECT a.retention_days FROM accounts a WHERE a.id = contact_scores.account_id) * ${DAY_MS}`;
  // The pairs as a subquery of their own: a UNION ALL (the signals' `counted`) right inside a row value's IN was planned
  // as "SCAN contact_scores", every row of every account for each chunk purged (EXPLAIN QUERY PLAN, local D1,
  // 2026-12-07; worker/test/statement-plans.ts), where a SELECT from it is one seek per pair.
  // In one batch, so one transaction ("Batched statements are SQL transactions", Cloudflare's D1 Database API page,
  // developers.cloudflare.com/d1/worker-api/d1-database/#batch, read 2026-12-01): the update sees the same chunk the
  // DELETE then removes.
  const statements = [
    db
      .prepare(
        `WITH chunk AS (${chunk})
         UPDATE contact_scores SET ${forgetPurgedActivitySql(cutoff)} WHERE (account_id, email) IN (SELECT * FROM (${counted}))`,
      )
      .bind(now),
    db.prepare(`DELETE FROM ${table} WHERE seq IN (SELECT seq FROM (${chunk}))`).bind(now),
  ];
  let deleted = 0;
  for (let run = 0; run < maxChunks; run++) {
    const changes = (await db.batch(statements)).at(-1)?.meta.changes ?? 0;
    deleted += changes;
    if (changes < PURGE_CHUNK) return { deleted, finished: true };
  }
  return { deleted, finished: false };
}
