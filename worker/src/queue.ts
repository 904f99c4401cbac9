// Every hit travels through a Cloudflare Queue: the producer side answers the request without waiting on D1,
// and the consumer writes hits at least once and idempotently, then refreshes their labels.
import { existingAccountIds } from "./db/accounts";
import { insertHitStatements, relabelSpans, spansAroundHits } from "./db/events";
import { trackingStates } from "./db/messages";
import type { Bindings } from "./env";
import { errorName } from "./errors";
import { type Hit, withClientDescription } from "./hits";

/**
 * Records a hit after its response was sent (the caller passes this to `ctx.waitUntil`, which keeps the invocation
 * alive until it settles): the queue, or, only if the queue itself refuses, D1 directly. Never throws.
 */
export async function enqueueHit(env: Bindings, hit: Hit): Promise<void> {
  try {
    await env.HITS.send(hit, { contentType: "json" });
  } catch (error) {
    console.error("queue send failed; writing the hit directly", errorName(error));
    await storeWithoutQueue(env, hit);
  }
}

/** Pauses between the direct writes of a hit the queue refused; then the queue is asked once more. */
const DIRECT_WRITE_PAUSES_MS = [250, 1_000, 4_000];
/**
 * A Worker may keep working for 30 s after its response: the last direct write starts early enough to leave
 * the queue its turn even when D1 is slow to fail.
 */
const DIRECT_WRITE_BUDGET_MS = 15_000;

/** A hit the queue refused: D1 directly, a few times while it fails, then the queue again. Never throws. */
async function storeWithoutQueue(env: Bindings, hit: Hit): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      await storeHits(env.DB, [hit]);
      return;
    } catch (error) {
      const pause = DIRECT_WRITE_PAUSES_MS[attempt];
      if (pause === undefined || Date.now() + pause - started > DIRECT_WRITE_BUDGET_MS) {
        console.error("direct hit write failed; queueing it again", errorName(error));
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  await env.HITS.send(hit, { contentType: "json" }).catch((error) => console.error("hit lost: queue and D1 both failed", errorName(error)));
}

/** Longest pause between redeliveries while D1 is failing (Queues' maximum is 12 hours). */
const MAX_RETRY_DELAY_SECONDS = 300;

/**
 * Stores the hits that should be stored: not for unknown accounts, deleted messages, a kind of tracking the sender
 * turned off for the message, after its tracking was stopped, or after one of its recipients opted out (docs/protocol.md §11). Throws if D1 fails, so the caller can have the whole batch redelivered.
 */
export async function storeHits(db: D1Database, queued: readonly Hit[]): Promise<number> {
  if (queued.length === 0) return 0;
  // The client and device are described here, off the request path, from the user agent the hit carries.
  const hits = queued.map(withClientDescription);
  const messageIds = [...new Set(hits.map((h) => h.messageId))];
  const [accounts, states] = await Promise.all([
    existingAccountIds(db, [...new Set(hits.map((h) => h.accountId))]),
    trackingStates(db, messageIds),
  ]);
  const storable = hits.filter((hit) => {
    if (!accounts.has(hit.accountId)) return false;
    const state = states.get(hit.messageId);
    if (!state) return true; // not registered yet: the extension's outbox may still be delivering it
    if (state.deleted_at !== null) return false;
    if ((hit.kind === "open" && state.open_tracking === 0) || (hit.kind === "click" && state.click_tracking === 0)) return false;
    // Stopped, or a recipient opted out (through any of the account's emails): nothing from the earlier of the two on.
    const since = Math.min(state.stopped_at ?? Number.POSITIVE_INFINITY, state.opted_out_at ?? Number.POSITIVE_INFINITY);
    return hit.occurredAt < since;
  });
  if (storable.length > 0) await db.batch(insertHitStatements(db, storable));
  await relabelSpans(db, spansAroundHits(storable));
  return storable.length;
}

/** Exponential backoff: 2 s after the first failed attempt, doubling, capped at MAX_RETRY_DELAY_SECONDS. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.min(Math.max(attempts, 1), 16));
}

export async function consumeHits(batch: MessageBatch<Hit>, env: Bindings): Promise<void> {
  try {
    await storeHits(
      env.DB,
      batch.messages.map((m) => m.body),
    );
    batch.ackAll();
  } catch (error) {
    // The inserts are idempotent, so redelivering the whole batch is safe; back off while D1 recovers.
    const attempts = Math.max(...batch.messages.map((m) => m.attempts));
    const delaySeconds = retryDelaySeconds(attempts);
    console.error(`storing ${batch.messages.length} hits failed (attempt ${attempts}); retrying in ${delaySeconds}s`, errorName(error));
    batch.retryAll({ delaySeconds });
  }
}
