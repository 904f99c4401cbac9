// Every hit travels through a Cloudflare Queue: the producer side answers the request without waiting on D1,
// and the consumer writes hits at least once and idempotently, then refreshes their labels.
import { utf8Length } from "../../shared/encoding";
import { existingAccountIds } from "./db/accounts";
import { insertHitStatements, labelsOnArrival, relabelSpans, senderViewsNear, spansAroundHits } from "./db/events";
import { keyStoredMailboxesOnce } from "./db/mailboxes";
import { trackingStates } from "./db/messages";
import { isPurgeTimer, runOverduePurge } from "./db/retention";
import type { Bindings, QueueMessage } from "./env";
import { errorName } from "./errors";
import { type CapturedHit, completeHit, type Hit, queuedHit, withClientDescription } from "./hits";

/**
 * Hits answered by one isolate within this window go to the queue together, in as few `sendBatch` calls as its
 * limits allow: a call costs far more than a hit's share of a bigger one (serialising, a subrequest), and under load
 * the window fills to HITS_PER_GATHERING. The wait is after the response, in `waitUntil`, so no reader waits on it; it
 * only delays storing by as much, far less than the feed holds every event anyway until its label is final
 * (LABEL_FINAL_AFTER_MS, 65 s).
 */
export const GATHER_MS = 250;
/**
 * Hits packed into one message. Queues bills per message (each 64 KB written, read and deleted), not per
 * `sendBatch` call, so only packing saves operations; ten hits of at most about 1.3 KB each stay far below 64 KB.
 * The consumer's `max_batch_size` (wrangler.toml) is 10 messages, so an invocation still stores at most 100 hits:
 * about 6 ms of the free plan's 10 ms CPU (`cpu-per-event-consumer` in docs/benchmarks.md).
 */
export const HITS_PER_MESSAGE = 10;
/**
 * The most hits one gathering holds: the request that fills it sends it at once. Under load a call costs far more
 * than a hit's share of it: with 200 hits a call instead of 100 (the same messages of ten), the bench's request path
 * went from 0.73x to 0.81x a bare Worker's throughput for pixels and from 0.60x to 0.77x for clicks
 * (docs/benchmarks.md, twelfth pass). 500 did a little better, but the sending request also completes every hit
 * gathered (label, address hash, event id), about 10 to 25 µs a hit in workerd on the bench's machine, and the free
 * plan stops an invocation past 10 ms of CPU (developers.cloudflare.com/workers/platform/limits/, read 2026-11-30):
 * 200 hits keep it near half of that (hot, a click's completion and serialising took about 9 µs in workerd, under
 * 2 ms for 200: docs/benchmarks.md, thirteenth pass). It also bounds what an isolate holds unsent, which a crash in
 * the 250 ms window would lose.
 */
export const HITS_PER_GATHERING = 200;
/**
 * What one `sendBatch` call may carry: "Maximum messages per sendBatch call: 100 (or 256KB in total)", where "1 KB is
 * measured as 1000 bytes. Messages can include up to ~100 bytes of internal metadata that counts towards total message
 * limits" (Queues limits, developers.cloudflare.com/queues/platform/limits/, read 2026-11-30). A gathering of hits
 * with long user agents or places goes out in several calls (sendCalls).
 */
const MESSAGES_PER_SEND = 100;
export const BYTES_PER_SEND = 256_000;
const MESSAGE_METADATA_BYTES = 100;

/** The hits being gathered in this isolate, per queue binding. */
const gatherings = new WeakMap<Queue<QueueMessage>, CapturedHit[]>();

/**
 * Records a hit after its response: the queue, together with the other hits this isolate answers within
 * GATHER_MS, or, only if the queue refuses them, D1 directly. Returns the work for the caller's `ctx.waitUntil`, or
 * undefined when the hit joined a gathering that another request will send.
 *
 * The first request opens a gathering and sends it when its window ends; the request that fills a gathering sends
 * it at once instead. Only the sending request's invocation stays open, through the hits' completion (completeHit),
 * the send and, if the queue refuses, the direct writes. The other requests do no work after their response: their
 * hits are in the same isolate's memory, and an isolate is not ended while one of its invocations still runs
 * (`waitUntil` extends the invocation, up to 30 s after the response:
 * https://developers.cloudflare.com/workers/runtime-apis/context/#waituntil). Completing and sending in one
 * request's context also keeps every promise in that context (workerd refuses I/O on behalf of another request).
 */
export function gatherHit(env: Bindings, hit: CapturedHit): Promise<void> | undefined {
  const open = gatherings.get(env.HITS);
  if (open) {
    open.push(hit);
    if (open.length < HITS_PER_GATHERING) return undefined;
    gatherings.delete(env.HITS);
    return sendHits(env, open);
  }
  const gathering = [hit];
  gatherings.set(env.HITS, gathering);
  return sendAfterWindow(env, gathering);
}

async function sendAfterWindow(env: Bindings, gathering: CapturedHit[]): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
  // Filled meanwhile, and sent by the request that filled it.
  if (gatherings.get(env.HITS) !== gathering) return;
  gatherings.delete(env.HITS);
  return sendHits(env, gathering);
}

/** The gathered hits completed; one that cannot be is logged and left out, and the others go on. */
async function completedHits(captured: readonly CapturedHit[]): Promise<Hit[]> {
  const hits = await Promise.all(
    captured.map((hit) =>
      completeHit(hit).catch((error) => {
        console.error(`${hit.target.kind} not recorded`, errorName(error));
        return null;
      }),
    ),
  );
  return hits.filter((hit) => hit !== null);
}

/** The hits as queue messages, HITS_PER_MESSAGE to a message. */
export function hitMessages(hits: readonly Hit[]): MessageSendRequest<Hit[]>[] {
  const messages: MessageSendRequest<Hit[]>[] = [];
  for (let i = 0; i < hits.length; i += HITS_PER_MESSAGE) {
    messages.push({ body: hits.slice(i, i + HITS_PER_MESSAGE), contentType: "json" });
  }
  return messages;
}

/** The hits as messages (hitMessages) in `sendBatch` calls, each within MESSAGES_PER_SEND and BYTES_PER_SEND, in order. */
export function sendCalls(hits: readonly Hit[]): MessageSendRequest<Hit[]>[][] {
  const calls: MessageSendRequest<Hit[]>[][] = [];
  let call: MessageSendRequest<Hit[]>[] = [];
  let bytes = 0;
  for (const message of hitMessages(hits)) {
    // The body as the binding serialises a "json" message.
    const size = utf8Length(JSON.stringify(message.body)) + MESSAGE_METADATA_BYTES;
    if (call.length === MESSAGES_PER_SEND || (call.length > 0 && bytes + size > BYTES_PER_SEND)) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(message);
    bytes += size;
  }
  if (call.length > 0) calls.push(call);
  return calls;
}

/** The queue, call by call, or, only for a call it refuses, D1 directly. Never throws. */
async function sendHits(env: Bindings, captured: readonly CapturedHit[]): Promise<void> {
  const hits = await completedHits(captured);
  for (const call of sendCalls(hits)) {
    try {
      await env.HITS.sendBatch(call);
    } catch (error) {
      const refused = call.flatMap((message) => message.body);
      console.error(`queue send of ${refused.length} hits failed; writing them directly`, errorName(error));
      await storeWithoutQueue(env, refused);
    }
  }
}

/** Pauses between the direct writes of hits the queue refused; then the queue is asked once more. */
const DIRECT_WRITE_PAUSES_MS = [250, 1_000, 4_000];
/**
 * A Worker may keep working for 30 s after its response: the last direct write starts early enough to leave
 * the queue its turn even when D1 is slow to fail.
 */
const DIRECT_WRITE_BUDGET_MS = 15_000;

/** Hits the queue refused: D1 directly, a few times while it fails, then the queue again. Never throws. */
async function storeWithoutQueue(env: Bindings, hits: Hit[]): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      await storeHits(env.DB, hits);
      return;
    } catch (error) {
      const pause = DIRECT_WRITE_PAUSES_MS[attempt];
      if (pause === undefined || Date.now() + pause - started > DIRECT_WRITE_BUDGET_MS) {
        console.error("direct hit write failed; queueing the hits again", errorName(error));
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  for (const call of sendCalls(hits)) {
    await env.HITS.sendBatch(call).catch((error) =>
      console.error(`${call.length} messages of hits lost: queue and D1 both failed`, errorName(error)),
    );
  }
}

/** Longest pause between redeliveries while D1 is failing (Queues' maximum is 12 hours). */
const MAX_RETRY_DELAY_SECONDS = 300;
/**
 * The queue hits come back through once they have failed max_retries (100) times (wrangler.toml's
 * dead_letter_queue). By then D1 has failed for about 7.8 hours: most likely the free plan's daily write quota, back
 * only at 00:00 UTC (developers.cloudflare.com/d1/platform/pricing/). Its hits that D1 still refuses are queued in it
 * again an hour later (queuedAgain), for as long as D1 fails, and a hit waits at most an hour once D1 is back. Only if
 * that send fails is the batch retried, up to an hour apart (retryDelaySeconds). Queues delays a message by up to 12
 * hours ("`delaySeconds` (when sending or retrying): 12 hours", developers.cloudflare.com/queues/platform/limits/;
 * "Messages can be delayed by up to 12 hours", developers.cloudflare.com/queues/configuration/batching-retries/; read
 * 2026-12-02). The name is wrangler.toml's; durability.test.ts reads it there and checks that the two agree.
 */
const DEAD_LETTER_QUEUE = "mailtracker-hits-dead";
const MAX_DEAD_LETTER_RETRY_DELAY_SECONDS = 3_600;

/**
 * Stores the hits that should be stored: not for unknown accounts, deleted messages, a kind of tracking the sender
 * turned off for the message, after its tracking was stopped, or after one of its recipients opted out (docs/protocol.md §11).
 * Returns how many were stored now (not a redelivered one stored before). Throws if D1 fails, so the caller can have
 * the whole batch redelivered.
 */
export async function storeHits(db: D1Database, queued: readonly Hit[]): Promise<number> {
  if (queued.length === 0) return 0;
  // Before the opt-outs are read: a row stored before migration 0023 may not match an opt-out in another spelling yet.
  await keyStoredMailboxesOnce(db);
  // The client and device are described here, off the request path, from the user agent the hit carries.
  const hits = queued.map(withClientDescription);
  const messageIds = [...new Set(hits.map((h) => h.messageId))];
  const [accounts, states, views] = await Promise.all([
    existingAccountIds(db, [...new Set(hits.map((h) => h.accountId))]),
    trackingStates(db, messageIds),
    senderViewsNear(db, hits),
  ]);
  // What the messages' states allowed when read (hitsStoredUntilSql); a message not registered yet stores every hit.
  const storable = hits.filter((hit) => {
    if (!accounts.has(hit.accountId)) return false;
    const state = states.get(hit.messageId);
    return !state || hit.occurredAt < (hit.kind === "open" ? state.opens_stored_until : state.clicks_stored_until);
  });
  // Each insert checks its message's state again: a change committed since the read above holds.
  const inserts = storable.length > 0 ? await db.batch(insertHitStatements(db, storable, labelsOnArrival(storable, states, views))) : [];
  // Read again after the insert, the messages and views included: the events stored before can change a label (a
  // burst across batches), and another consumer or a view report may have written since the reads above. Each writer
  // relabelling after its own write, and writing labels only while what it read holds (relabelSpans), is what makes the
  // labels settle whatever the order.
  await relabelSpans(db, spansAroundHits(storable), Date.now());
  return inserts.filter((insert) => insert.meta.changes > 0).length;
}

/**
 * Exponential backoff: 2 s after the first failed attempt, doubling, capped at MAX_RETRY_DELAY_SECONDS; for
 * dead-lettered hits, from that cap on, doubling, capped at MAX_DEAD_LETTER_RETRY_DELAY_SECONDS. Whether Queues
 * counts a dead-lettered message's attempts afresh is not documented: either way its delays are the longer ones.
 */
export function retryDelaySeconds(attempts: number, deadLetter = false): number {
  const doublings = Math.min(Math.max(attempts, 1), 16);
  if (deadLetter) return Math.min(MAX_DEAD_LETTER_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS * 2 ** (doublings - 1));
  return Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** doublings);
}

/**
 * The hits a batch's messages carry that can be stored. One that cannot (queuedHit) is logged and left out: retried,
 * it would fail again every time, hold back every hit of its batch until the batch is dead-lettered, and there be
 * queued again with them for good.
 */
function readableHits(bodies: readonly unknown[]): Hit[] {
  const hits: Hit[] = [];
  let unreadable = 0;
  for (const body of bodies) {
    // A purge timer carries no hit: its batch runs the purge's check as every batch does (consumeHits).
    if (isPurgeTimer(body)) continue;
    for (const value of Array.isArray(body) ? body : [body]) {
      const hit = queuedHit.safeParse(value);
      if (hit.success) hits.push(hit.data);
      else unreadable++;
    }
  }
  if (unreadable > 0) console.error(`${unreadable} queued hits are not hits this tracker can store; left out of their batch`);
  return hits;
}

/**
 * Stores a batch's hits, then, once they are stored and acknowledged, runs the retention purge if it is overdue (a
 * tracker without its Cron Trigger: db/retention.ts, purgeIfOverdue), in `waitUntil` and within the invocation's D1
 * queries that storing left. Not after a failed store: D1 is failing then, and the purge waits for the next batch.
 * A batch of purge timers alone (runOverduePurge) stores nothing and runs only that.
 */
export async function consumeHits(batch: MessageBatch<QueueMessage>, env: Bindings, ctx: ExecutionContext): Promise<void> {
  const hits = readableHits(batch.messages.map((m) => m.body));
  try {
    await storeHits(env.DB, hits);
    batch.ackAll();
    ctx.waitUntil(runOverduePurge(env.DB, env.SIGNING_SECRET ?? "", env.HITS, Date.now()));
  } catch (error) {
    if (batch.queue === DEAD_LETTER_QUEUE && (await queuedAgain(env, hits, error))) return batch.ackAll();
    // The inserts are idempotent, so redelivering the whole batch is safe; back off while D1 recovers.
    const attempts = Math.max(...batch.messages.map((m) => m.attempts));
    const delaySeconds = retryDelaySeconds(attempts, batch.queue === DEAD_LETTER_QUEUE);
    console.error(`storing ${hits.length} hits failed (attempt ${attempts}); retrying in ${delaySeconds}s`, errorName(error));
    batch.retryAll({ delaySeconds });
  }
}

/**
 * Dead-lettered hits D1 still refuses go back into the dead-letter queue as new messages, an hour from now, rather
 * than being retried: a retried message is dropped after its last retry, and a message is deleted once it has been in
 * its queue for the retention period (24 hours on Workers Free, 4 days by default on Workers Paid, "Messages in a queue that reach the maximum message retention
 * are deleted from the queue", developers.cloudflare.com/queues/platform/limits/, read 2026-12-04), whatever its
 * retries. A new message starts both afresh, so a hit is kept for as long as D1 fails, at 3 queue operations an hour
 * for each message. False, and the caller retries the batch, when the queue refuses them.
 */
async function queuedAgain(env: Bindings, hits: readonly Hit[], storeError: unknown): Promise<boolean> {
  try {
    for (const call of sendCalls(hits)) await env.HITS_DEAD.sendBatch(call, { delaySeconds: MAX_DEAD_LETTER_RETRY_DELAY_SECONDS });
  } catch (error) {
    console.error(`queueing ${hits.length} dead-lettered hits again failed; retrying them instead`, errorName(error));
    return false;
  }
  console.error(
    `storing ${hits.length} dead-lettered hits failed; queued them again for ${MAX_DEAD_LETTER_RETRY_DELAY_SECONDS}s from now`,
    errorName(storeError),
  );
  return true;
}
