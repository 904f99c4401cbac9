// Hits answered together by one isolate go to the queue together (queue.ts, gatherHit): fewer queue calls and
// operations, and still every answered hit stored exactly once, whether the queue takes them or refuses them.
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { signedClickUrl } from "../../shared/protocol";
import { captureHit, type Hit, type HitMessage, hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { BYTES_PER_SEND, GATHER_MS, gatherHit, HITS_PER_GATHERING, HITS_PER_MESSAGE, hitMessages, sendCalls } from "../src/queue";
import { watchedQueue } from "./faults";
import {
  BASE,
  CHROME_UA,
  createAccount,
  GMAIL_PROXY_UA,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
  within,
} from "./helpers";

type Bindings = Parameters<typeof worker.fetch>[1];

/** Fires `count` hits at once (half opens, half clicks on link 0), each request with its own execution context. */
async function fireHits(account: TestAccount, messageId: string, count: number, testEnv: Bindings) {
  const link = await signedClickUrl(BASE, account.key, messageId, 0, "https://www.example.com/pricing");
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const ctx = createExecutionContext();
      const request =
        i % 2 === 0
          ? new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": GMAIL_PROXY_UA } })
          : new Request(link, { redirect: "manual", headers: { "user-agent": CHROME_UA } });
      const response = await worker.fetch(request, testEnv, ctx);
      expect(response.status).toBe(i % 2 === 0 ? 200 : 302);
      await response.arrayBuffer();
      return ctx;
    }),
  );
}

/** Each of `count` hits stored exactly once, `opens` of them opens (fireHits makes half of them opens). */
function expectEachOnce(rows: Record<string, unknown>[], count: number, opens = count / 2) {
  expect(rows).toHaveLength(count);
  expect(new Set(rows.map((row) => row.event_id)).size).toBe(count);
  expect(rows.filter((row) => row.kind === "open")).toHaveLength(opens);
}

/** Moves the held timers on by `ms`, and lets real I/O (the queue, D1) progress meanwhile. */
async function passTime(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
  await scheduler.wait(1);
}

/** Which contexts' waitUntil work has finished so far, and a promise for all of it. */
function watchSettled(contexts: ExecutionContext[]) {
  const settled = contexts.map(() => false);
  const all = Promise.all(
    contexts.map((ctx, i) =>
      waitOnExecutionContext(ctx).then(() => {
        settled[i] = true;
      }),
    ),
  );
  return { settled, all };
}

/**
 * Waits for all the watched waitUntil work, moving the held timers on while it runs. Bounded (a platform timer, which
 * the fake timers do not hold): a context that never settles fails the test, named, instead of spinning this loop on
 * past the test's end.
 */
async function settle({ settled, all }: ReturnType<typeof watchSettled>, boundMs = 5_000) {
  const bound = AbortSignal.timeout(boundMs);
  while (!settled.every(Boolean)) {
    if (bound.aborted) {
      const unsettled = settled.flatMap((done, i) => (done ? [] : [i]));
      throw new Error(`the waitUntil work of contexts ${unsettled.join(", ")}: not within ${boundMs} ms`);
    }
    await passTime(10);
  }
  await all;
}

/**
 * For hits gathered directly (gatherHit), not through the worker's fetch: an email of a new account, a queue that
 * records each call and passes it on, and `capture(init)`, a hit of `kind` captured from a request to that email made
 * with `init` (its headers, its `cf`).
 */
async function directGathering(kind: "open" | "click") {
  const account = await createAccount();
  const message = await sentMessage(account);
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const watched = watchedQueue((messages) => env.HITS.sendBatch(messages));
  const target = { accountId: account.accountId, messageId: message.id, accountKey, kind, linkIndex: kind === "click" ? 0 : null };
  const url = kind === "click" ? `${BASE}/c/${message.id}/0` : `${BASE}/o/${message.id}.gif`;
  const capture = (init: RequestInit) => captureHit(new Request(url, init), target, Date.now());
  return { message, watched, testEnv: { ...env, HITS: watched.queue }, capture };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("hits gathered per isolate", () => {
  it("sends a full gathering in one call, ten hits to a message, and stores each hit once", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const watched = watchedQueue((messages) => env.HITS.sendBatch(messages));
    // The window's timer is held: the gathering is sent because it is full, by the request that filled it.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const contexts = await fireHits(account, message.id, HITS_PER_GATHERING, { ...env, HITS: watched.queue });
    await within("the gathering's queue send", watched.called);
    await settle(watchSettled(contexts));
    vi.useRealTimers();
    expect(watched.calls).toHaveLength(1);
    const messages = HITS_PER_GATHERING / HITS_PER_MESSAGE;
    expect(watched.calls[0]?.map((m) => (m.body as Hit[]).length)).toEqual(Array(messages).fill(HITS_PER_MESSAGE));
    expect(watched.hits()).toHaveLength(HITS_PER_GATHERING);
    expectEachOnce(await waitForEvents(message.id, HITS_PER_GATHERING), HITS_PER_GATHERING);
    // Nothing more arrives later: the queue delivered each message once and the consumer stored each hit once.
    expect(await storedEvents(message.id)).toHaveLength(HITS_PER_GATHERING);
  });

  it("sends a gathering past sendBatch's 256 KB in several calls within its limits, and stores each hit once", async () => {
    const { message, watched, testEnv, capture } = await directGathering("click");
    // Clicks with everything a hit keeps at its longest (a 512-character user agent, places of 100 characters of
    // three UTF-8 bytes each): a full gathering of them takes more than 256 KB.
    const longest = { country: "国".repeat(100), region: "東".repeat(100) };
    const captured = () =>
      capture({
        headers: { "user-agent": `${CHROME_UA} ${"x".repeat(512)}`, "cf-connecting-ip": "203.0.113.9" },
        cf: longest,
      } as RequestInit);
    const opened = gatherHit(testEnv, captured());
    for (let i = 1; i < HITS_PER_GATHERING - 1; i++) expect(gatherHit(testEnv, captured())).toBeUndefined();
    await gatherHit(testEnv, captured());
    await opened;
    const encoder = new TextEncoder();
    // Each call as Queues counts it: every message's body as sent, and about 100 bytes of metadata each; at most 100
    // messages and 256,000 bytes a call (Queues limits, quoted beside MESSAGES_PER_SEND in worker/src/queue.ts).
    const callBytes = watched.calls.map((call) =>
      call.reduce((bytes, m) => bytes + encoder.encode(JSON.stringify(m.body)).length + 100, 0),
    );
    expect(watched.calls.length).toBeGreaterThan(1);
    for (const bytes of callBytes) expect(bytes).toBeLessThanOrEqual(BYTES_PER_SEND);
    for (const call of watched.calls) expect(call.length).toBeLessThanOrEqual(100);
    expect(watched.hits()).toHaveLength(HITS_PER_GATHERING);
    // All clicks: no opens.
    expectEachOnce(await waitForEvents(message.id, HITS_PER_GATHERING), HITS_PER_GATHERING, 0);
  });

  it("keeps to sendBatch's 100 messages a call however small the messages", () => {
    // 250 messages of ten empty hits.
    const tiny = Array.from({ length: 250 * HITS_PER_MESSAGE }, () => ({}) as Hit);
    expect(sendCalls(tiny).map((call) => call.length)).toEqual([100, 100, 50]);
  });

  it("keeps the sending request's waitUntil open until its gathering is queued; the others' hits go with it", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const watched = watchedQueue((messages) => env.HITS.sendBatch(messages), gate);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let watch: ReturnType<typeof watchSettled>;
    try {
      const contexts = await within(
        "the responses while their gathering's send is held",
        fireHits(account, message.id, HITS_PER_GATHERING, { ...env, HITS: watched.queue }),
      );
      watch = watchSettled(contexts);
      await within("the gathering's queue send", watched.called);
      // The send is held, and time passes (the window and more). The other requests are done; the one that filled
      // the gathering and sends it is not, so its invocation (and the isolate) lives until the hits are queued.
      for (let turn = 0; turn < 5; turn++) await passTime(GATHER_MS);
      expect(watch.settled.filter((done) => !done)).toHaveLength(1);
    } finally {
      // Whatever failed above, the held send goes on, so the invocations end.
      release();
    }
    await settle(watch);
    vi.useRealTimers();
    expect(watched.calls).toHaveLength(1);
    expectEachOnce(await waitForEvents(message.id, HITS_PER_GATHERING), HITS_PER_GATHERING);
  });

  it("sends what one window gathered in one call when the window ends, from the request that opened it", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const watched = watchedQueue((messages) => env.HITS.sendBatch(messages));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const contexts = await fireHits(account, message.id, 6, { ...env, HITS: watched.queue });
    const watch = watchSettled(contexts);
    const { settled } = watch;
    await passTime(1);
    // Inside the window: nothing sent yet, and only the first request still waits (to send them all).
    expect(watched.calls).toHaveLength(0);
    expect(settled.filter((done) => !done)).toHaveLength(1);
    await passTime(GATHER_MS);
    await settle(watch);
    vi.useRealTimers();
    expect(watched.calls).toHaveLength(1);
    expect(watched.hits()).toHaveLength(6);
    expectEachOnce(await waitForEvents(message.id, 6), 6);
  });

  it("leaves out a hit that cannot be completed, and sends the others of its gathering", async () => {
    const { message, watched, testEnv, capture } = await directGathering("open");
    const captured = () => capture({ headers: { "user-agent": CHROME_UA, "cf-connecting-ip": "203.0.113.9" } });
    // Its completion throws: labelling reads a user agent that is not text.
    const broken = { ...captured(), facts: { ...captured().facts, userAgent: undefined as unknown as string } };
    const sending = gatherHit(testEnv, captured());
    expect(gatherHit(testEnv, broken)).toBeUndefined();
    expect(gatherHit(testEnv, captured())).toBeUndefined();
    await sending;
    expect(watched.calls).toHaveLength(1);
    expect(watched.hits()).toHaveLength(2);
    const stored = await waitForEvents(message.id, 2);
    expect(new Set(stored.map((row) => row.event_id)).size).toBe(2);
  });

  it("writes every hit of a refused gathering straight to D1, each exactly once", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const refusing = watchedQueue(null);
    const contexts = await fireHits(account, message.id, 30, { ...env, HITS: refusing.queue });
    await Promise.all(contexts.map(waitOnExecutionContext));
    // However the 30 hits were gathered, the queue was offered each of them once, and each was written once.
    expect(refusing.hits()).toHaveLength(30);
    expectEachOnce(await storedEvents(message.id), 30);
  });

  it("stores packed messages, and a redelivered packed message once", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
    const hits: Hit[] = [];
    for (let i = 0; i < 24; i++) {
      const request = new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA } });
      const kind = i % 2 === 0 ? "open" : "click";
      const target = {
        accountId: account.accountId,
        messageId: message.id,
        accountKey,
        kind,
        linkIndex: kind === "click" ? 0 : null,
      } as const;
      hits.push(await hitFromRequest(request, target, Date.now() - i * 1000));
    }
    // A message from before hits were gathered (one hit, not a list) is stored alongside.
    const bodies: HitMessage[] = [...hitMessages(hits.slice(1)).map((m) => m.body), hits[0] as Hit];
    expect(bodies.map((body) => (Array.isArray(body) ? body.length : 1))).toEqual([10, 10, 3, 1]);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const batch = createMessageBatch<HitMessage>(
        "mailtracker-hits",
        bodies.map((body, i) => ({ id: `packed-${i}`, timestamp: new Date(), attempts: attempt, body })),
      );
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    }
    expectEachOnce(await storedEvents(message.id), 24);
  });
});
