// Shared by the load tests: runs the real worker under `wrangler dev` (local workerd, D1, KV, Queues) through the
// test-only fault-injecting entry, on loopback, and gives typed access to its API.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { freePort, ROOT, startTracker } from "../../scripts/tracker.mjs";
import type { CreateAccountResponse, EventsResponse, MessageStatus, RegisterMessageRequest, StatusResponse } from "../../shared/api";
import { mintTrackingId, type SigningKey, signedClickUrl } from "../../shared/protocol";

export const BROWSER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/** wrangler.toml with the entry point swapped for the fault-injecting one; everything else exactly as shipped. */
function faultConfig(dir: string): string {
  const shipped = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const config = shipped
    .replace(/^name = .*$/m, 'name = "mailtracker-faults"')
    .replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(ROOT, "test", "load", "fault-worker.ts"))}`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(path.join(ROOT, "worker", "migrations"))}`)
    .replace(/^max_batch_timeout = 2$/m, "max_batch_timeout = 1");
  if (config === shipped) throw new Error("wrangler.toml changed shape: update faultConfig()");
  const file = path.join(dir, "wrangler.faults.toml");
  writeFileSync(file, config);
  return file;
}

export interface InjectedFaults {
  failedCalls: number;
  failedBatches: number;
  redeliveredBatches: number;
}

export interface Tracker {
  url: string;
  /** What the test-only entry injected so far. */
  injected(): Promise<InjectedFaults>;
  stop(): Promise<void>;
}

async function startFaultyTracker(vars: { FAULT_RATE: string; REDELIVER?: string }): Promise<Tracker> {
  const dir = mkdtempSync(path.join(tmpdir(), "mailtracker-load-"));
  let tracker: { url: string; stop(): Promise<void> };
  try {
    tracker = await startTracker({
      port: await freePort(),
      persistTo: path.join(dir, "state"),
      config: faultConfig(dir),
      vars: { SIGNING_SECRET: `load-test-${crypto.randomUUID()}`, FEED_SETTLE_SECONDS: "0", REDELIVER: "0", ...vars },
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: tracker.url,
    injected: async () => (await (await fetch(`${tracker.url}/__test/faults`)).json()) as InjectedFaults,
    async stop() {
      await tracker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** How long a suite waits for its tracker: startTracker gives up on `wrangler dev` after 60 s, migrations first. */
const SUITE_START_TIMEOUT_MS = 90_000;

/**
 * A tracker for the enclosing `describe`: started before its tests, stopped after them. The start itself is kept,
 * not only the tracker: when it outlasts the hook's timeout vitest moves on without it, and the tracker it starts
 * afterwards must still be stopped (it was left running, with its port and workerd, when only an assigned tracker was).
 */
export function faultyTrackerForSuite(vars: { FAULT_RATE: string; REDELIVER?: string }): () => Tracker {
  let starting: Promise<Tracker> | undefined;
  let started: Tracker | undefined;
  beforeAll(async () => {
    starting = startFaultyTracker(vars);
    started = await starting;
  }, SUITE_START_TIMEOUT_MS);
  afterAll(async () => {
    const tracker = await starting?.catch(() => undefined);
    await tracker?.stop();
  }, SUITE_START_TIMEOUT_MS);
  return () => {
    if (!started) throw new Error("the suite's tracker did not start");
    return started;
  };
}

export class Rep {
  private constructor(
    readonly tracker: Tracker,
    readonly account: CreateAccountResponse,
  ) {}

  static async create(tracker: Tracker): Promise<Rep> {
    const response = await fetch(`${tracker.url}/api/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (response.status !== 201) throw new Error(`account creation: ${response.status}`);
    return new Rep(tracker, (await response.json()) as CreateAccountResponse);
  }

  get key(): SigningKey {
    return { accountId: this.account.accountId, ...this.account.signingKey };
  }

  async api<T>(method: string, apiPath: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.tracker.url}${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${this.account.apiToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Registers a message sent an hour ago with one link, so hits now are neither pre-send nor scanner-fast. */
  async sendMessage(threadId: string): Promise<{ id: string; link: string }> {
    const id = await mintTrackingId(this.key);
    const url = `https://example.com/offer/${threadId}`;
    const registration: RegisterMessageRequest = {
      subject: `Offer ${threadId}`,
      recipients: [{ email: "buyer@acme.example" }],
      sentAt: new Date(Date.now() - 3_600_000).toISOString(),
      threadId,
      links: [{ index: 0, url }],
    };
    await this.api<MessageStatus>("PUT", `/api/messages/${id}`, registration);
    return { id, link: await signedClickUrl(this.tracker.url, this.key, id, 0, url) };
  }

  async statuses(threadIds: string[]): Promise<MessageStatus[]> {
    const all: MessageStatus[] = [];
    for (let i = 0; i < threadIds.length; i += 200) {
      all.push(...(await this.api<StatusResponse>("POST", "/api/messages/status", { threadIds: threadIds.slice(i, i + 200) })).messages);
    }
    return all;
  }

  async eventsAfter(cursor: string): Promise<EventsResponse> {
    return this.api<EventsResponse>("GET", `/api/events?after=${cursor}&limit=500`);
  }
}

/** Runs `tasks` with at most `concurrency` in flight; every task must succeed. */
export async function runConcurrently(tasks: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      if (task) await task();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Polls until `check` passes or the deadline passes (then throws with the last reason). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
