import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clickUrl, mintTrackingId, signedClickUrl } from "../../shared/protocol";
import worker from "../src/index";
import { unreachableD1, watchedQueue } from "./faults";
import { BASE, CHROME_UA, createAccount, DAY, forged, sentMessage } from "./helpers";

let nextNetwork = 1;
/** A client address in a network of its own (a /24): throttling state is per network. */
function newAddress(): string {
  return `10.0.${nextNetwork++}.7`;
}

/** Another address of `address`'s /24. */
function neighbourOf(address: string): string {
  return address.replace(/\.7$/, ".200");
}

/** `binding` (a rate limiter), recording each key it is asked to count. */
function recordingLimiter(binding: RateLimit) {
  const keys: string[] = [];
  const limiter = {
    limit(options: { key: string }) {
      keys.push(options.key);
      return binding.limit(options);
    },
  } as RateLimit;
  return { limiter, keys };
}

/**
 * The real bindings, except storage that must not be touched, a queue that records what it is sent, and the
 * invalid-hit limiter recording the keys it is asked to count.
 */
function isolatedEnv() {
  const { queue, hits } = watchedQueue(async () => {});
  const untouchable = new Proxy({} as KVNamespace, {
    get() {
      throw new Error("KV was touched");
    },
  });
  const { limiter, keys } = recordingLimiter(env.INVALID_HITS);
  return { hits, limiterKeys: keys, env: { ...env, DB: unreachableD1(), CACHE: untouchable, HITS: queue, INVALID_HITS: limiter } };
}

async function fetchWith(testEnv: typeof env, url: string, address: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(url, { redirect: "manual", ...init, headers: { "user-agent": CHROME_UA, "cf-connecting-ip": address, ...init.headers } }),
    testEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

describe("a flood of forged ids", () => {
  it("touches no storage and gets throttled, pixel and click alike", async () => {
    const account = await createAccount();
    const valid = await mintTrackingId(account.key);
    const { env: isolated, hits, limiterKeys } = isolatedEnv();
    const flooder = newAddress();
    const forgedId = (i: number) => `${valid.slice(0, -6)}${String(i).padStart(6, "0")}`.replace(/[^A-Za-z0-9_.-]/g, "A");
    for (let i = 0; i < 150; i++) {
      const pixel = await fetchWith(isolated, `${BASE}/o/${forgedId(i)}.gif`, flooder);
      expect(pixel.status).toBe(200);
      expect(pixel.headers.get("content-type")).toBe("image/gif");
    }
    expect(hits()).toHaveLength(0);
    // Throttled now: its invalid clicks get a plain 429 page,
    const link = await signedClickUrl(BASE, account.key, valid, 0, "https://example.com/");
    const throttledClick = await fetchWith(isolated, link.replace("&s=", "&s=A"), flooder);
    expect(throttledClick.status).toBe(429);
    expect(throttledClick.headers.get("location")).toBeNull();
    expect(hits()).toHaveLength(0);
    // and so are those of another address of its network, which shares its budget.
    expect((await fetchWith(isolated, link.replace("&s=", "&s=A"), neighbourOf(flooder))).status).toBe(429);
    // Cloudflare's rate limiter was sent the network, never the address.
    expect(new Set(limiterKeys)).toEqual(new Set([flooder.replace(/\.7$/, ".0/24")]));
    // but a real reader behind the same address (one office, one NAT) is recorded, and their signed link redirects.
    const fromFlooder = await fetchWith(isolated, `${BASE}/o/${valid}.gif`, flooder);
    expect(fromFlooder.status).toBe(200);
    expect(hits()).toHaveLength(1);
    const clickFromFlooder = await fetchWith(isolated, link, flooder);
    expect(clickFromFlooder.status).toBe(302);
    expect(clickFromFlooder.headers.get("location")).toBe("https://example.com/");
    expect(hits()).toHaveLength(2);
    // Other readers are not affected.
    await fetchWith(isolated, `${BASE}/o/${valid}.gif`, newAddress());
    expect(hits()).toHaveLength(3);
    const click = await fetchWith(isolated, link, newAddress());
    expect(click.status).toBe(302);
    expect(hits()).toHaveLength(4);
  });

  it("throttles forged click links the same way", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const { env: isolated } = isolatedEnv();
    const flooder = newAddress();
    const statuses = new Set<number>();
    for (let i = 0; i < 150; i++) {
      const response = await fetchWith(
        isolated,
        clickUrl(BASE, id, 0, "https://example.com/", `forged${String(i).padStart(16, "0")}`),
        flooder,
      );
      statuses.add(response.status);
      expect(response.headers.get("location")).toBeNull();
    }
    expect([...statuses].sort()).toEqual([400, 429]);
  });
});

describe("account creation", () => {
  it("is throttled per network, counted under the network and never the address", async () => {
    const { limiter, keys } = recordingLimiter(env.ACCOUNT_CREATION);
    const create = async (address: string) => {
      const ctx = createExecutionContext();
      const request = new Request(`${BASE}/api/accounts`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": address },
        body: "{}",
      });
      const response = await worker.fetch(request, { ...env, ACCOUNT_CREATION: limiter }, ctx);
      await waitOnExecutionContext(ctx);
      return response.status;
    };
    // Eight addresses of one /24 share its budget of 5 a minute.
    const statuses = [];
    for (let i = 1; i <= 8; i++) statuses.push(await create(`203.0.113.${i}`));
    expect(statuses.slice(0, 5)).toEqual([201, 201, 201, 201, 201]);
    expect(statuses.at(-1)).toBe(429);
    expect(await create("2001:db8:aa::1")).toBe(201);
    // The keys Cloudflare's rate limiter was sent: the networks, no address.
    expect(new Set(keys)).toEqual(new Set(["203.0.113.0/24", "2001:db8:aa::/48"]));
    expect(await create("203.0.114.1")).toBe(201);
  });
});

describe("retention", () => {
  it("lets an account set how long events are kept", async () => {
    const account = await createAccount();
    expect((await account.json<{ retentionDays: number }>("GET", "/api/account")).body.retentionDays).toBe(90);
    expect((await account.json("PATCH", "/api/account", { retentionDays: 7 })).body).toEqual({ retentionDays: 7 });
    expect((await account.json<{ retentionDays: number }>("GET", "/api/account")).body.retentionDays).toBe(7);
    for (const retentionDays of [0, -1, 3651, 1.5, "30"]) {
      expect((await account.json("PATCH", "/api/account", { retentionDays })).status).toBe(400);
    }
  });

  it("purges events older than each account's retention on the daily schedule", async () => {
    const keeper = await createAccount();
    const brief = await createAccount();
    await brief.json("PATCH", "/api/account", { retentionDays: 7 });
    const now = Date.UTC(2027, 0, 31, 3, 23);
    const insert = (accountId: string, messageId: string, ageDays: number) =>
      env.DB.prepare(
        `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label)
         VALUES (?, ?, ?, 'open', ?, ?, 'human', 'human')`,
      )
        .bind(crypto.randomUUID(), accountId, messageId, now - ageDays * DAY, now - ageDays * DAY)
        .run();
    const keptMessage = await sentMessage(keeper);
    const briefMessage = await sentMessage(brief);
    for (const age of [1, 6, 8, 89, 91, 400]) {
      await insert(keeper.accountId, keptMessage.id, age);
      await insert(brief.accountId, briefMessage.id, age);
    }
    await env.DB.prepare("INSERT INTO sender_views (message_id, viewed_at) VALUES (?, ?), (?, ?)")
      .bind(keptMessage.id, now - 30 * DAY, keptMessage.id, now - DAY)
      .run();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "23 * * * *" }), env);
    const ages = async (messageId: string) =>
      (
        await env.DB.prepare("SELECT occurred_at FROM events WHERE message_id = ? ORDER BY occurred_at DESC")
          .bind(messageId)
          .all<{ occurred_at: number }>()
      ).results.map((r) => Math.round((now - r.occurred_at) / DAY));
    expect(await ages(keptMessage.id)).toEqual([1, 6, 8, 89]);
    expect(await ages(briefMessage.id)).toEqual([1, 6]);
    const views = await env.DB.prepare("SELECT count(*) AS n FROM sender_views WHERE message_id = ?")
      .bind(keptMessage.id)
      .first<{ n: number }>();
    expect(views?.n).toBe(1);
  });
});

describe("a flood of forged ids from a recipient's address", () => {
  it("does not block that recipient's opt-out, which is verified before any throttling", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { optOutLink: true });
    const office = newAddress();
    // The real limiter refuses the address: its invalid links are answered with the throttled page.
    for (let i = 0; i < 150; i++) await fetchWith(env, `${BASE}/o/${forged(message.id)}.gif`, office);
    expect((await fetchWith(env, `${BASE}/u/${forged(message.id)}`, office)).status).toBe(429);
    // A recipient behind the same address still gets the page and is opted out.
    expect((await fetchWith(env, `${BASE}/u/${message.id}`, office)).status).toBe(200);
    const done = await fetchWith(env, `${BASE}/u/${message.id}`, office, { method: "POST" });
    expect(done.status).toBe(200);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM opt_outs WHERE account_id = ? AND email = ?")
      .bind(account.accountId, "buyer@acme.example")
      .first<{ n: number }>();
    expect(stored?.n).toBe(1);
  });
});
