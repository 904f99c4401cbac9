// Load and fault tests against the real worker under `wrangler dev` on loopback. Bounded in count and time.
import { describe, expect, it } from "vitest";
import type { FeedEvent } from "../../shared/api";
import { BROWSER_UA, eventually, faultyTrackerForSuite, Rep, runConcurrently, type Tracker } from "./tracker-under-load";

const MESSAGES = 100;
const OPENS = 3000;
const CLICKS = 1000;
const CONCURRENCY = 48;
const DRAIN_TIMEOUT_MS = 120_000;

interface Scenario {
  rep: Rep;
  threadIds: string[];
  feed: FeedEvent[];
}

/** Fires OPENS pixel hits and CLICKS clicks over MESSAGES messages, reading the events feed all the while. */
async function hammer(tracker: Tracker): Promise<Scenario> {
  const rep = await Rep.create(tracker);
  const threadIds = Array.from({ length: MESSAGES }, (_, i) => `t-load-${i}`);
  const messages = [];
  for (const threadId of threadIds) messages.push(await rep.sendMessage(threadId));
  const tasks: (() => Promise<void>)[] = [];
  for (let i = 0; i < OPENS; i++) {
    const message = messages[i % MESSAGES];
    tasks.push(async () => {
      const response = await fetch(`${tracker.url}/o/${message?.id}.gif`, { headers: { "user-agent": BROWSER_UA } });
      expect(response.headers.get("content-type")).toBe("image/gif");
      await response.arrayBuffer();
    });
  }
  for (let i = 0; i < CLICKS; i++) {
    const message = messages[i % MESSAGES];
    tasks.push(async () => {
      const response = await fetch(message?.link ?? "", { redirect: "manual", headers: { "user-agent": BROWSER_UA } });
      expect(response.status).toBe(302);
      await response.arrayBuffer();
    });
  }
  // Interleave opens and clicks, and read the feed concurrently with the inserts.
  tasks.sort((a, b) => (tasks.indexOf(a) % 7) - (tasks.indexOf(b) % 7));
  const feed: FeedEvent[] = [];
  let cursor = "0";
  let pagesDuringLoad = 0;
  let firing = true;
  const reader = (async () => {
    while (firing) {
      const page = await rep.eventsAfter(cursor);
      feed.push(...page.events);
      cursor = page.cursor;
      if (page.events.length > 0) pagesDuringLoad++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await runConcurrently(tasks, CONCURRENCY);
  firing = false;
  await reader;
  // Keep reading, from where the concurrent reader stopped, until the queue has drained everything into D1.
  await eventually(async () => {
    const page = await rep.eventsAfter(cursor);
    feed.push(...page.events);
    cursor = page.cursor;
    if (feed.length < OPENS + CLICKS) throw new Error(`${feed.length} of ${OPENS + CLICKS} events in the feed so far`);
  }, DRAIN_TIMEOUT_MS);
  // Nothing more arrives afterwards (no duplicate inserted late).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  feed.push(...(await rep.eventsAfter(cursor)).events);
  // The feed was really read while events were being inserted, not only afterwards.
  expect(pagesDuringLoad).toBeGreaterThan(1);
  return { rep, threadIds, feed };
}

async function expectExactCounts({ rep, threadIds, feed }: Scenario) {
  const statuses = await rep.statuses(threadIds);
  expect(statuses).toHaveLength(MESSAGES);
  expect(statuses.reduce((sum, s) => sum + s.openCount, 0)).toBe(OPENS);
  expect(statuses.reduce((sum, s) => sum + s.clickCount, 0)).toBe(CLICKS);
  for (const status of statuses) expect(status.openCount).toBe(OPENS / MESSAGES);
  // The feed returned every event exactly once, in order, with no gaps.
  expect(feed).toHaveLength(OPENS + CLICKS);
  const cursors = feed.map((e) => Number(e.cursor));
  expect(new Set(cursors).size).toBe(cursors.length);
  expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
  expect(feed.filter((e) => e.kind === "open")).toHaveLength(OPENS);
  expect(feed.every((e) => e.counted)).toBe(true);
}

describe("under load", () => {
  const tracker = faultyTrackerForSuite({ FAULT_RATE: "0" });

  it(`stores exactly ${OPENS} opens and ${CLICKS} clicks, and the feed returns each once`, async () => {
    await expectExactCounts(await hammer(tracker()));
    expect(await tracker().injected()).toEqual({ failedCalls: 0, failedBatches: 0, redeliveredBatches: 0 });
  }, 300_000);
});

describe("under load, with D1 failing and every message redelivered", () => {
  // A fifth of the consumer's D1 calls fail, and each batch that does get stored is delivered once more.
  const tracker = faultyTrackerForSuite({ FAULT_RATE: "0.2", REDELIVER: "1" });

  it(`stores exactly ${OPENS} opens and ${CLICKS} clicks, and the feed returns each once`, async () => {
    await expectExactCounts(await hammer(tracker()));
    // The faults really happened: batches failed and were redelivered, and stored batches came twice.
    const injected = await tracker().injected();
    expect(injected.failedBatches).toBeGreaterThan(5);
    expect(injected.redeliveredBatches).toBeGreaterThan(5);
  }, 300_000);
});
