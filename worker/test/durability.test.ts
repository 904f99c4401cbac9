import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { type Hit, type HitMessage, hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { retryDelaySeconds, storeHits } from "../src/queue";
import { d1WithWriteBeforeFirstBatch, FlakyD1 } from "./faults";
import { BASE, CHROME_UA, createAccount, registration, sentMessage, storedEvents, type TestAccount } from "./helpers";

async function makeHits(account: TestAccount, messageId: string, count: number): Promise<Hit[]> {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const hits: Hit[] = [];
  for (let i = 0; i < count; i++) {
    const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA, "cf-connecting-ip": `192.0.2.${i}` } });
    hits.push(
      await hitFromRequest(request, { accountId: account.accountId, messageId, accountKey, kind: "open", linkIndex: null }, Date.now() - i),
    );
  }
  return hits;
}

/** Delivers hits to the real queue handler, the way Queues would, with whatever D1 binding is given. */
async function deliver(hits: Hit[], db: D1Database, attempts = 1) {
  const batch = createMessageBatch<Hit>(
    "mailtracker-hits",
    hits.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, DB: db });
  return getQueueResult(batch, ctx);
}

describe("at-least-once storage of hits", () => {
  it("asks for redelivery while D1 fails and stores every hit once it recovers", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const hits = await makeHits(account, message.id, 25);
    // Fail at every possible point of the consumer's work, one delivery at a time, until D1 recovers.
    let down = true;
    const flaky = new FlakyD1(env.DB, () => down);
    let attempts = 0;
    for (; attempts < 3; attempts++) {
      const result = await deliver(hits, flaky.asD1(), attempts + 1);
      expect(result.retryBatch.retry).toBe(true);
      expect(result.ackAll).toBe(false);
    }
    expect(await storedEvents(message.id)).toHaveLength(0);
    down = false;
    const recovered = await deliver(hits, flaky.asD1(), attempts + 1);
    expect(recovered.ackAll).toBe(true);
    expect(recovered.retryBatch.retry).toBe(false);
    expect(await storedEvents(message.id)).toHaveLength(25);
  });

  it("loses nothing and duplicates nothing when D1 fails part-way through the work", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const hits = await makeHits(account, message.id, 10);
    // Count the D1 calls one clean delivery makes, then redeliver failing at each of those calls in turn:
    // whatever was written before the failure must not be written twice, and nothing may be missing at the end.
    const probe = new FlakyD1(env.DB, () => false);
    const probeAccount = await createAccount();
    const probeMessage = await sentMessage(probeAccount);
    await deliver(await makeHits(probeAccount, probeMessage.id, 10), probe.asD1());
    expect(probe.calls).toBeGreaterThan(3);
    for (let failAt = 0; failAt < probe.calls; failAt++) {
      const result = await deliver(hits, new FlakyD1(env.DB, (call) => call === failAt).asD1());
      expect(result.retryBatch.retry).toBe(true);
    }
    expect((await deliver(hits, env.DB)).ackAll).toBe(true);
    expect(await storedEvents(message.id)).toHaveLength(10);
  });

  it("stores a redelivered batch once (idempotent event ids)", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const hits = await makeHits(account, message.id, 20);
    for (let i = 0; i < 3; i++) expect((await deliver(hits, env.DB, i + 1)).ackAll).toBe(true);
    const rows = await storedEvents(message.id);
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(20);
  });

  it("backs off longer with each attempt, within Queues' limits", () => {
    const delays = [1, 2, 3, 6, 9, 50, 1000].map((attempts) => retryDelaySeconds(attempts));
    expect(delays.slice(0, 4)).toEqual([2, 4, 8, 64]);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(Math.max(...delays)).toBeLessThanOrEqual(43_200);
  });

  it("keeps retrying dead-lettered hits for days, not hours, so a day's D1 outage (the free plan's write quota) loses none", async () => {
    const total = (deadLetter: boolean) => {
      let seconds = 0;
      for (let attempts = 1; attempts <= 100; attempts++) seconds += retryDelaySeconds(attempts, deadLetter);
      return seconds;
    };
    const day = 86_400;
    // max_retries = 100 on each queue (wrangler.toml): the main queue's fast schedule, then the dead-letter queue's.
    expect(total(false)).toBeLessThan(day / 2);
    expect(total(false) + total(true)).toBeGreaterThan(3 * day);
    for (let attempts = 1; attempts <= 200; attempts++) {
      const delay = retryDelaySeconds(attempts, true);
      expect(delay).toBeGreaterThanOrEqual(retryDelaySeconds(attempts));
      expect(delay).toBeLessThanOrEqual(43_200); // Queues' longest delay (queues/platform/limits)
    }
    // The consumer tells a dead-letter batch by its queue (getQueueResult does not report the delay asked for).
    const account = await createAccount();
    const message = await sentMessage(account);
    const hits = await makeHits(account, message.id, 2);
    const delayAsked = async (queue: string) => {
      const batch = createMessageBatch<HitMessage>(queue, [{ id: "m0", timestamp: new Date(), attempts: 3, body: hits }]);
      const retryAll = vi.spyOn(batch, "retryAll");
      await worker.queue(batch, { ...env, DB: new FlakyD1(env.DB, () => true).asD1() });
      return retryAll.mock.calls[0]?.[0]?.delaySeconds;
    };
    // The dead-letter queue as wrangler.toml names it: the consumer's constant must match, or a dead letter would be
    // retried at the main queue's pace and dropped within hours.
    const deadLetterQueue = /^dead_letter_queue\s*=\s*"([^"]+)"/m.exec(wranglerToml)?.[1];
    expect(deadLetterQueue).toBeDefined();
    expect(await delayAsked(deadLetterQueue ?? "")).toBe(retryDelaySeconds(3, true));
    expect(await delayAsked("mailtracker-hits")).toBe(retryDelaySeconds(3));
  });
});

describe("a change to an email committed while its hits are being stored", () => {
  it("stores nothing the change rules out, though the consumer read the email's state before it", async () => {
    const account = await createAccount();
    const deleted = await sentMessage(account);
    const openTrackingOff = await sentMessage(account);
    const [deletedHit] = await makeHits(account, deleted.id, 1);
    const [openHit] = await makeHits(account, openTrackingOff.id, 1);
    if (!deletedHit || !openHit) throw new Error("no hits made");
    // The sender deletes the email's data between the consumer's read and its insert.
    const deleting = d1WithWriteBeforeFirstBatch(env.DB, () => account.json("DELETE", `/api/messages/${deleted.id}`));
    expect(await storeHits(deleting, [deletedHit])).toBe(0);
    expect(await storedEvents(deleted.id)).toHaveLength(0);
    // The email is registered again with open tracking off (its earlier opens are deleted by that registration).
    const { id: _id, ...body } = openTrackingOff;
    const reregistering = d1WithWriteBeforeFirstBatch(env.DB, () =>
      account.json("PUT", `/api/messages/${openTrackingOff.id}`, registration({ ...body, openTracking: false })),
    );
    expect(await storeHits(reregistering, [openHit])).toBe(0);
    expect(await storedEvents(openTrackingOff.id)).toHaveLength(0);
  });
});
