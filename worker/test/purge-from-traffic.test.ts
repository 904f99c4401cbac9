// The retention purge on a tracker without its Cron Trigger (an account whose triggers are all taken: the deploy's
// code 10072): the tracker's own traffic, queue batches of hits and the extension's feed requests, runs it once it is
// overdue (worker/src/db/retention.ts, purgeIfOverdue). In a file of its own: the purge is the whole tracker's, and
// each test sets when it last ran.
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  forgetOverdueCheck,
  PURGE_OVERDUE_AFTER_MS,
  PURGE_TIMER_DELAY_SECONDS,
  PURGE_TIMER_MESSAGE,
  purgeIfOverdue,
  UNFINISHED_PURGE_AGAIN_AFTER_MS,
} from "../src/db/retention";
import type { Bindings, QueueMessage } from "../src/env";
import { type Hit, hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { hitMessages } from "../src/queue";
import { d1FailingStatements, FlakyD1 } from "./faults";
import {
  BASE,
  CHROME_UA,
  countedCall,
  createAccount,
  DAY,
  FREE_PLAN_D1_QUERIES,
  MINUTE,
  seedMessages,
  seedOpens,
  sentMessage,
  storedEvents,
  type TestAccount,
} from "./helpers";

/**
 * When the purge last ran, as its table records it: `ago` ms before now. The unfinished mark is left as it is. What the
 * tests' isolate remembers of the row (purgeIfOverdue's check) is forgotten, as by a new isolate: no isolate sees the
 * row move back in time. The tests that move the clock instead keep it.
 */
async function lastRunAgo(ago: number): Promise<void> {
  await env.DB.prepare("UPDATE retention_purge SET last_run_at = ? WHERE id = 1")
    .bind(Date.now() - ago)
    .run();
  forgetOverdueCheck();
}

/** The clock `by` ms later, for the worker as for the test (only Date is faked: D1 and the queue still answer). */
function clockMoves(by: number): void {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + by });
}

/** The purge's checks among the statements an invocation ran: a run starts with its claim, an UPDATE of the purge's row. */
function purgeChecks(statements: readonly string[]): number {
  return statements.filter((sql) => /^UPDATE retention_purge SET last_run_at/.test(sql)).length;
}

/** A queue batch of `hits`, with the purge's checks it made. */
async function countedDelivery(hits: Hit[]): Promise<{ ackAll: boolean; purgeChecks: number }> {
  const counted = new FlakyD1(env.DB, () => false);
  const { ackAll } = await deliver(hits, counted.asD1());
  return { ackAll, purgeChecks: purgeChecks(counted.statements) };
}

/** An account with `messages` registered emails (seedMessages), and `expired` opens of them from 100 days ago. */
async function accountWithExpiredOpens(messages: number, expired: number): Promise<TestAccount> {
  const account = await createAccount();
  await seedMessages(account, messages);
  await seedOpens(account, expired, Date.now() - 100 * DAY);
  return account;
}

async function expiredOpens(account: TestAccount): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE account_id = ? AND occurred_at < ?")
    .bind(account.accountId, Date.now() - 90 * DAY)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

/** Neither the next batch nor the next feed request asks D1 whether the purge is due. */
async function expectNoPurgeCheck(account: TestAccount): Promise<void> {
  expect(await countedDelivery(await freshOpens(account, 1))).toEqual({ ackAll: true, purgeChecks: 0 });
  const feed = await countedCall(account, "/api/events?after=0");
  expect(feed.response.status).toBe(200);
  expect(purgeChecks(feed.d1Statements)).toBe(0);
}

/** The next batch claims the purge and runs it: no expired open is left. */
async function expectBatchPurges(account: TestAccount): Promise<void> {
  expect(await countedDelivery(await freshOpens(account, 1))).toEqual({ ackAll: true, purgeChecks: 1 });
  expect(await expiredOpens(account)).toBe(0);
}

async function eventsOf(account: TestAccount): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE account_id = ?").bind(account.accountId).first<{ n: number }>();
  return row?.n ?? -1;
}

/** Opens made now, one for each of the first `count` seeded emails of the account, from different networks. */
async function freshOpens(account: TestAccount, count: number): Promise<Hit[]> {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const hits: Hit[] = [];
  for (let i = 0; i < count; i++) {
    const messageId = `seeded-${account.accountId}-${i}`;
    const request = new Request(`${BASE}/o/${messageId}.gif`, {
      headers: { "user-agent": CHROME_UA, "cf-connecting-ip": `198.51.${Math.floor(i / 250)}.${i % 250}` },
    });
    hits.push(
      await hitFromRequest(request, { accountId: account.accountId, messageId, accountKey, kind: "open", linkIndex: null }, Date.now()),
    );
  }
  return hits;
}

/** Opens of one email at the given times, each from its own network. */
async function opensAt(account: TestAccount, messageId: string, times: readonly number[]): Promise<Hit[]> {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  return Promise.all(
    times.map((at, i) =>
      hitFromRequest(
        new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA, "cf-connecting-ip": `203.0.${i}.7` } }),
        { accountId: account.accountId, messageId, accountKey, kind: "open", linkIndex: null },
        at,
      ),
    ),
  );
}

/**
 * The hits' queue as the purge sees it: it keeps each timer it is sent (runOverduePurge), for the test to deliver
 * when its clock says. Nothing reaches the real queue, whose consumer would run the purge when the test did not ask.
 */
function timerQueue() {
  const sent: { body: unknown; delaySeconds: number | undefined }[] = [];
  const queue = {
    send: async (body: unknown, options?: QueueSendOptions) => {
      sent.push({ body, delaySeconds: options?.delaySeconds });
    },
  } as unknown as Queue<QueueMessage>;
  return { queue, sent };
}

/** Hits delivered to the real queue handler as Queues would, in messages of ten, and what the batch was told. */
function deliver(hits: Hit[], db: D1Database = env.DB, timers = timerQueue().queue) {
  return deliverMessages(
    hitMessages(hits).map(({ body }) => body),
    db,
    timers,
  );
}

/** Queue messages (hits, purge timers) delivered to the real queue handler as one batch, and what it was told. */
async function deliverMessages(bodies: QueueMessage[], db: D1Database, timers: Queue<QueueMessage>) {
  const batch = createMessageBatch<QueueMessage>(
    "mailtracker-hits",
    bodies.map((body, i) => ({ id: `p${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, DB: db, HITS: timers }, ctx);
  // Waits for the work the handler left to `waitUntil`, the purge's, as Queues does before it takes the batch's result.
  return getQueueResult(batch, ctx);
}

/** The extension's feed request with some of the worker's bindings replaced, once the work it left to `waitUntil` is done. */
async function feedRequest(account: TestAccount, bindings: Partial<Bindings>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}/api/events?after=0`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
    { ...env, ...bindings },
    ctx,
  );
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, response);
}

/** The timer the purge queued last, delivered alone, as Queues does once its delay is over. */
function deliverTimer(timers: ReturnType<typeof timerQueue>, db: D1Database = env.DB) {
  const last = timers.sent.at(-1);
  expect(last?.body).toEqual(PURGE_TIMER_MESSAGE);
  return deliverMessages([last?.body as QueueMessage], db, timers.queue);
}

describe("the retention purge without its Cron Trigger", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs after a queue batch once overdue, and not again before PURGE_OVERDUE_AFTER_MS", async () => {
    const account = await accountWithExpiredOpens(5, 30);
    // Not overdue yet: a batch leaves the expired events.
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS - 10 * MINUTE);
    expect((await deliver(await freshOpens(account, 1))).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(30);

    // Overdue: the next batch is stored and acknowledged, and the purge runs after it.
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const result = await deliver(await freshOpens(account, 3));
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
    expect(await expiredOpens(account)).toBe(0);
    expect(await eventsOf(account)).toBe(4);

    // Events that expire meanwhile wait for the next run: the one that just ran is recorded.
    await seedOpens(account, 10, Date.now() - 100 * DAY);
    expect((await deliver(await freshOpens(account, 2))).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(10);
  });

  it("runs after the extension's feed request once overdue, which still gets its events", async () => {
    const account = await accountWithExpiredOpens(3, 20);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const { response, d1Queries } = await countedCall(account, "/api/events?after=0");
    expect(response.status).toBe(200);
    expect(d1Queries).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    expect(await expiredOpens(account)).toBe(0);

    await seedOpens(account, 5, Date.now() - 100 * DAY);
    expect((await countedCall(account, "/api/events?after=0")).response.status).toBe(200);
    expect(await expiredOpens(account)).toBe(5);
  });

  it("does not come while the Cron Trigger runs: a scheduled run resets its clock", async () => {
    const account = await accountWithExpiredOpens(3, 0);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + 30 * MINUTE);
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    // Expired after the scheduled run (as an account's shortened retention would make them): left to the next hourly run.
    await seedOpens(account, 8, Date.now() - 100 * DAY);
    expect((await deliver(await freshOpens(account, 1))).ackAll).toBe(true);
    expect((await countedCall(account, "/api/events?after=0")).response.status).toBe(200);
    expect(await expiredOpens(account)).toBe(8);

    // The trigger gone for two hours: the traffic runs the purge.
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    expect((await deliver(await freshOpens(account, 1))).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(0);
  });

  it("that fails fails neither the batch nor the request, and is tried again minutes later", async () => {
    const account = await accountWithExpiredOpens(4, 12);
    const failing = d1FailingStatements(env.DB, /DELETE FROM events/);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
      const timers = timerQueue();
      const result = await deliver(await freshOpens(account, 4), failing.db, timers.queue);
      expect(failing.failed()).toBeGreaterThan(0);
      expect(result.ackAll).toBe(true);
      // Its timer still comes: a tracker without traffic tries again.
      expect(timers.sent).toEqual([{ body: PURGE_TIMER_MESSAGE, delaySeconds: PURGE_TIMER_DELAY_SECONDS }]);
      expect(result.retryBatch.retry).toBe(false);
      expect(await eventsOf(account)).toBe(16);
      expect(logged).toHaveBeenCalledWith("retention purge from traffic failed", expect.stringContaining("Network connection lost"));

      // The feed request, with the purge failing again UNFINISHED_PURGE_AGAIN_AFTER_MS later: answered all the same.
      await lastRunAgo(UNFINISHED_PURGE_AGAIN_AFTER_MS + MINUTE);
      const failedBefore = failing.failed();
      const response = await feedRequest(account, { DB: failing.db });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0);
      expect(failing.failed()).toBeGreaterThan(failedBefore);
    } finally {
      logged.mockRestore();
    }
    // D1 back, a failed run's next try comes after minutes, not hours.
    await lastRunAgo(UNFINISHED_PURGE_AGAIN_AFTER_MS + MINUTE);
    expect((await deliver(await freshOpens(account, 1))).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(0);
  });

  it("after a check that was not due, makes no other in the isolate for UNFINISHED_PURGE_AGAIN_AFTER_MS, then runs when due", async () => {
    const account = await accountWithExpiredOpens(3, 6);
    // Due in 3 minutes: the first batch's claim changes nothing.
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS - 3 * MINUTE);
    expect(await countedDelivery(await freshOpens(account, 1))).toEqual({ ackAll: true, purgeChecks: 1 });
    // The next batch and feed request know it is not due, and ask D1 nothing about it.
    await expectNoPurgeCheck(account);
    expect(await expiredOpens(account)).toBe(6);

    // Past the pause, and due meanwhile: the next batch claims and runs it.
    clockMoves(UNFINISHED_PURGE_AGAIN_AFTER_MS + MINUTE);
    await expectBatchPurges(account);
  });

  it("after a run that finished, makes no check until PURGE_OVERDUE_AFTER_MS has passed, then runs again", async () => {
    const account = await accountWithExpiredOpens(3, 6);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    await expectBatchPurges(account);

    await seedOpens(account, 4, Date.now() - 100 * DAY);
    clockMoves(PURGE_OVERDUE_AFTER_MS - MINUTE);
    await expectNoPurgeCheck(account);
    expect(await expiredOpens(account)).toBe(4);

    clockMoves(2 * MINUTE);
    await expectBatchPurges(account);
  });

  it("after a run that failed, checks again UNFINISHED_PURGE_AGAIN_AFTER_MS later, not PURGE_OVERDUE_AFTER_MS", async () => {
    const account = await accountWithExpiredOpens(3, 6);
    const failing = d1FailingStatements(env.DB, /DELETE FROM events/);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
      expect((await deliver(await freshOpens(account, 1), failing.db)).ackAll).toBe(true);
      expect(failing.failed()).toBeGreaterThan(0);
    } finally {
      logged.mockRestore();
    }
    // D1 back: not before the pause,
    expect(await countedDelivery(await freshOpens(account, 1))).toEqual({ ackAll: true, purgeChecks: 0 });
    expect(await expiredOpens(account)).toBe(6);
    // and right after it.
    clockMoves(UNFINISHED_PURGE_AGAIN_AFTER_MS + MINUTE);
    await expectBatchPurges(account);
  });

  it("after a scheduled run in the isolate, makes no check from traffic", async () => {
    const account = await accountWithExpiredOpens(3, 0);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + 30 * MINUTE);
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    expect(await countedDelivery(await freshOpens(account, 1))).toEqual({ ackAll: true, purgeChecks: 0 });
    clockMoves(PURGE_OVERDUE_AFTER_MS + MINUTE);
    expect(await countedDelivery(await freshOpens(account, 1))).toEqual({ ackAll: true, purgeChecks: 1 });
  });

  it("goes on without traffic: each run queues a timer 12 hours ahead, whose batch runs the purge and queues the next", async () => {
    const account = await accountWithExpiredOpens(3, 5);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const timers = timerQueue();
    expect((await deliver(await freshOpens(account, 1), env.DB, timers.queue)).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(0);
    expect(timers.sent).toEqual([{ body: PURGE_TIMER_MESSAGE, delaySeconds: PURGE_TIMER_DELAY_SECONDS }]);

    // No hit and no extension since: the timer alone comes, twice, and each time the events expired meanwhile go.
    const logged = vi.spyOn(console, "error");
    try {
      for (const round of [1, 2]) {
        clockMoves(PURGE_TIMER_DELAY_SECONDS * 1_000);
        await seedOpens(account, 4, Date.now() - 100 * DAY);
        const result = await deliverTimer(timers);
        expect(result.ackAll).toBe(true);
        expect(await expiredOpens(account)).toBe(0);
        expect(timers.sent).toHaveLength(round + 1);
      }
      // A timer is no hit the consumer failed to read.
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
    expect(await eventsOf(account)).toBe(1);
  });

  it("stops its timers where the Cron Trigger runs: a timer finds the purge not due and queues none", async () => {
    const account = await accountWithExpiredOpens(3, 0);
    // A run from traffic before the trigger's first hour (a new tracker) queued a timer.
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const timers = timerQueue();
    expect((await deliver(await freshOpens(account, 1), env.DB, timers.queue)).ackAll).toBe(true);
    expect(timers.sent).toHaveLength(1);

    // 12 hours on, the trigger has run within the hour: the timer's batch leaves the purge to it.
    clockMoves(PURGE_TIMER_DELAY_SECONDS * 1_000);
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() - 20 * MINUTE, cron: "23 * * * *" }), env);
    forgetOverdueCheck();
    await seedOpens(account, 3, Date.now() - 100 * DAY);
    expect((await deliverTimer(timers)).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(3);
    expect(timers.sent).toHaveLength(1);
  });

  it("queues a timer after the extension's feed request runs the purge", async () => {
    const account = await accountWithExpiredOpens(2, 3);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const timers = timerQueue();
    expect((await feedRequest(account, { HITS: timers.queue })).status).toBe(200);
    expect(await expiredOpens(account)).toBe(0);
    expect(timers.sent).toEqual([{ body: PURGE_TIMER_MESSAGE, delaySeconds: PURGE_TIMER_DELAY_SECONDS }]);
  });

  it("queues a timer when D1 refuses the check itself, and checks again in the isolate only minutes later", async () => {
    const account = await accountWithExpiredOpens(3, 4);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const failing = d1FailingStatements(env.DB, /^UPDATE retention_purge SET last_run_at/);
    const timers = timerQueue();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect((await deliver(await freshOpens(account, 1), failing.db, timers.queue)).ackAll).toBe(true);
      expect(failing.failed()).toBe(1);
      expect(timers.sent).toEqual([{ body: PURGE_TIMER_MESSAGE, delaySeconds: PURGE_TIMER_DELAY_SECONDS }]);
      // The next batch, D1 still refusing the claim, neither claims nor queues another timer.
      expect((await deliver(await freshOpens(account, 1), failing.db, timers.queue)).ackAll).toBe(true);
      expect(failing.failed()).toBe(1);
      expect(timers.sent).toHaveLength(1);
    } finally {
      logged.mockRestore();
    }
    expect(await expiredOpens(account)).toBe(4);
    clockMoves(UNFINISHED_PURGE_AGAIN_AFTER_MS + MINUTE);
    await expectBatchPurges(account);
  });

  it("runs once when two invocations find it overdue at the same moment", async () => {
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const now = Date.now();
    const runs = await Promise.all([
      purgeIfOverdue(env.DB, env.SIGNING_SECRET ?? "", now),
      purgeIfOverdue(env.DB, env.SIGNING_SECRET ?? "", now),
      purgeIfOverdue(env.DB, env.SIGNING_SECRET ?? "", now),
    ]);
    expect(runs.filter((run) => run !== null)).toHaveLength(1);
  });

  it("clears a backlog bigger than one run over the next batches, minutes apart, each invocation within the free plan's D1 queries", async () => {
    // 100 emails, so that a full batch of 100 hits makes the consumer's most queries.
    const account = await accountWithExpiredOpens(100, MINUTE);
    await lastRunAgo(PURGE_OVERDUE_AFTER_MS + MINUTE);
    const left: number[] = [];
    const queries: number[] = [];
    const timers = timerQueue();
    while (left.at(-1) !== 0) {
      expect(left.length, "runs").toBeLessThan(6);
      const counted = new FlakyD1(env.DB, () => false);
      expect((await deliver(await freshOpens(account, 100), counted.asD1(), timers.queue)).ackAll).toBe(true);
      queries.push(counted.calls);
      left.push(await expiredOpens(account));
      // A run that stopped at its cap comes again minutes later, not hours.
      await lastRunAgo(UNFINISHED_PURGE_AGAIN_AFTER_MS + MINUTE);
    }
    expect(left.length).toBeGreaterThan(1);
    expect(left).toEqual([...left].sort((a, b) => b - a));
    for (const made of queries) expect(made).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    // Each run queued its timer: minutes ahead while rows were left, 12 hours once none were.
    expect(timers.sent.map((timer) => timer.delaySeconds)).toEqual([
      ...left.slice(0, -1).map(() => UNFINISHED_PURGE_AGAIN_AFTER_MS / 1_000),
      PURGE_TIMER_DELAY_SECONDS,
    ]);
    // Finished: the next batch within PURGE_OVERDUE_AFTER_MS runs no purge.
    await seedOpens(account, 3, Date.now() - 100 * DAY);
    expect((await deliver(await freshOpens(account, 1))).ackAll).toBe(true);
    expect(await expiredOpens(account)).toBe(3);
  }, 120_000);

  it("after days without a run, forgets the address hash of every open past its 7 days meanwhile, not only the last day's", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { sentAt: new Date(Date.now() - 30 * DAY).toISOString() });
    await lastRunAgo(10 * MINUTE);
    const now = Date.now();
    const daysAgo = [11.5, 10, 8.5, 6];
    expect(
      (
        await deliver(
          await opensAt(
            account,
            message.id,
            daysAgo.map((days) => now - days * DAY),
          ),
        )
      ).ackAll,
    ).toBe(true);
    // The last run five days ago, which forgot the hashes of opens up to 7 days before it.
    await env.DB.prepare("UPDATE retention_purge SET last_run_at = ?, unfinished = 0, open_addresses_forgotten_before = ? WHERE id = 1")
      .bind(now - 5 * DAY, now - 12 * DAY)
      .run();
    forgetOverdueCheck();

    expect((await countedCall(account, "/api/events?after=0")).response.status).toBe(200);
    const hashes = (await storedEvents(message.id)).map((event) => [
      Math.round((now - Number(event.occurred_at)) / (DAY / 2)) / 2,
      event.ip_hash !== null,
    ]);
    expect(hashes).toEqual([
      [11.5, false],
      [10, false],
      [8.5, false],
      [6, true],
    ]);
  });
});
