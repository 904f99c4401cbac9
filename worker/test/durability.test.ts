import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import { keyStoredMailboxesOnce } from "../src/db/mailboxes";
import { type Hit, type HitMessage, hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { retryDelaySeconds, storeHits } from "../src/queue";
import { d1WithWriteBeforeFirstBatch, FlakyD1 } from "./faults";
import { BASE, CHROME_UA, createAccount, DAY, registration, sentMessage, storedEvents, type TestAccount } from "./helpers";

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
  await worker.queue(batch, { ...env, DB: db }, ctx);
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
    // Count the D1 calls storing one clean delivery makes, then redeliver failing at each of those calls in turn:
    // whatever was written before the failure must not be written twice, and nothing may be missing at the end.
    // (After them, the consumer checks whether the retention purge is overdue; that check failing fails no batch.)
    // The isolate's first batch also checks for rows to key (db/mailboxes.ts), once: done here, so that the probe
    // counts the calls every delivery below makes.
    await keyStoredMailboxesOnce(env.DB);
    const probe = new FlakyD1(env.DB, () => false);
    const probeAccount = await createAccount();
    const probeMessage = await sentMessage(probeAccount);
    await storeHits(probe.asD1(), await makeHits(probeAccount, probeMessage.id, 10));
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

  it("stores the hits of a batch that also carries one it cannot read, and does not retry the batch for it", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const [good, alsoGood] = await makeHits(account, message.id, 2);
    if (!good || !alsoGood) throw new Error("no hits made");
    const { eventId: _eventId, ...withoutId } = alsoGood;
    const batch = createMessageBatch<unknown>("mailtracker-hits", [
      { id: "m0", timestamp: new Date(), attempts: 1, body: [good, withoutId] },
      { id: "m1", timestamp: new Date(), attempts: 1, body: null },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { ...alsoGood, kind: "view", country: 42 } },
      // Fields that only describe a hit are stored as unknown when they are not text.
      { id: "m3", timestamp: new Date(), attempts: 1, body: { ...alsoGood, country: 42, region: ["x"] } },
    ]);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const ctx = createExecutionContext();
      await worker.queue(batch as MessageBatch<HitMessage>, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.ackAll).toBe(true);
      expect(result.retryBatch.retry).toBe(false);
      expect(logged).toHaveBeenCalledWith("3 queued hits are not hits this tracker can store; left out of their batch");
    } finally {
      logged.mockRestore();
    }
    const stored = await storedEvents(message.id);
    expect(stored).toHaveLength(2);
    expect(stored.find((event) => event.event_id === alsoGood.eventId)).toMatchObject({ country: null, region: null });
  });

  it("backs off longer with each attempt, within Queues' limits", () => {
    const delays = [1, 2, 3, 6, 9, 50, 1000].map((attempts) => retryDelaySeconds(attempts));
    expect(delays.slice(0, 4)).toEqual([2, 4, 8, 64]);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(Math.max(...delays)).toBeLessThanOrEqual(43_200);
  });

  it("retries hits for hours at most before they are dead-lettered, and within Queues' longest delay", async () => {
    let seconds = 0;
    // max_retries = 100 (wrangler.toml), then the dead-letter queue (below).
    for (let attempts = 1; attempts <= 100; attempts++) seconds += retryDelaySeconds(attempts);
    expect(seconds).toBeLessThan(86_400 / 2);
    for (let attempts = 1; attempts <= 200; attempts++) {
      const delay = retryDelaySeconds(attempts, true);
      expect(delay).toBeGreaterThanOrEqual(retryDelaySeconds(attempts));
      expect(delay).toBeLessThanOrEqual(43_200); // Queues' longest delay (queues/platform/limits)
    }
    // The consumer asks for that delay (getQueueResult does not report it).
    const account = await createAccount();
    const message = await sentMessage(account);
    const batch = createMessageBatch<HitMessage>("mailtracker-hits", [
      { id: "m0", timestamp: new Date(), attempts: 3, body: await makeHits(account, message.id, 2) },
    ]);
    const retryAll = vi.spyOn(batch, "retryAll");
    await worker.queue(batch, { ...env, DB: new FlakyD1(env.DB, () => true).asD1() }, createExecutionContext());
    expect(retryAll).toHaveBeenCalledWith({ delaySeconds: retryDelaySeconds(3) });
  });
});

describe("dead-lettered hits that D1 still refuses", () => {
  // The dead-letter queue as wrangler.toml names it: the consumer's constant must match, or its hits would be retried
  // at the main queue's pace and dropped within hours.
  const deadLetterQueue = /^dead_letter_queue\s*=\s*"([^"]+)"/m.exec(wranglerToml)?.[1] ?? "";

  async function deliverDeadLetters(hits: Hit[][], db: D1Database, deadQueue: Queue<HitMessage> = env.HITS_DEAD) {
    const batch = createMessageBatch<HitMessage>(
      deadLetterQueue,
      hits.map((body, i) => ({ id: `d${i}`, timestamp: new Date(Date.now() - 5 * DAY), attempts: 100, body })),
    );
    const retryAll = vi.spyOn(batch, "retryAll");
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, DB: db, HITS_DEAD: deadQueue }, ctx);
    return { result: await getQueueResult(batch, ctx), retryAll };
  }

  it("are queued again as new messages an hour later, not retried, so no retry count or retention drops them", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const hits = await makeHits(account, message.id, 12);
    const bodies = [hits.slice(0, 10), hits.slice(10)];
    const sent = vi.spyOn(env.HITS_DEAD, "sendBatch");
    try {
      const { result, retryAll } = await deliverDeadLetters(bodies, new FlakyD1(env.DB, () => true).asD1());
      expect(result.ackAll).toBe(true);
      expect(retryAll).not.toHaveBeenCalled();
      // Every hit, in new messages of the dead-letter queue, an hour from now.
      expect(sent).toHaveBeenCalledTimes(1);
      const [messages, options] = sent.mock.calls[0] ?? [];
      expect(options).toEqual({ delaySeconds: 3_600 });
      expect([...(messages ?? [])].flatMap((m) => m.body)).toEqual(hits);
      // When they come back and D1 takes them, each is stored once.
      const { result: later } = await deliverDeadLetters(
        [...(messages ?? [])].map((m) => m.body as Hit[]),
        env.DB,
      );
      expect(later.ackAll).toBe(true);
      expect(await storedEvents(message.id)).toHaveLength(12);
    } finally {
      sent.mockRestore();
    }
  });

  it("are retried when the queue refuses them too", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const hits = await makeHits(account, message.id, 3);
    const refusing = {
      send: () => Promise.reject(new Error("Queue send failed: internal error")),
      sendBatch: () => Promise.reject(new Error("Queue send failed: internal error")),
    } as unknown as Queue<HitMessage>;
    const { result, retryAll } = await deliverDeadLetters([hits], new FlakyD1(env.DB, () => true).asD1(), refusing);
    expect(result.ackAll).toBe(false);
    expect(retryAll).toHaveBeenCalledWith({ delaySeconds: retryDelaySeconds(100, true) });
    expect(await storedEvents(message.id)).toHaveLength(0);
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
