// The account cache in KV (worker/src/auth.ts) is best effort: API calls answer the same when production KV refuses
// its reads or writes (faults.ts says which refusals and where Cloudflare documents them).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { AccountResponse } from "../../shared/api";
import { newApiToken } from "../../shared/api-token";
import { mintTrackingId } from "../../shared/protocol";
import worker from "../src/index";
import { KV_READS_SPENT, KV_WRITES_SPENT, kvWithDailyLimitSpent, kvWithSameKeyWriteLimit } from "./faults";
import { BASE, createAccount, registration, sentMessage, type TestAccount } from "./helpers";

/** A call with the account's token to the worker whose account cache is `cache`, its after-response work done too. */
async function callWithCache(account: TestAccount, cache: KVNamespace, method: string, path: string, json?: unknown) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    }),
    { ...env, CACHE: cache },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** Every route of the authenticated API, each called as the extension or the dashboard calls it, and its answer. */
async function everyApiCall(account: TestAccount): Promise<[method: string, path: string, body: unknown, status: number][]> {
  const sent = await sentMessage(account, { campaign: "Q3 outreach", recipients: [{ email: "buyer@acme.example" }] });
  const bounced = await sentMessage(account, { recipients: [{ email: "gone@acme.example" }] });
  const deleted = await sentMessage(account);
  const registered = await mintTrackingId(account.key);
  const at = new Date().toISOString();
  return [
    ["GET", "/api/account", undefined, 200],
    ["PATCH", "/api/account", { retentionDays: 30 }, 200],
    ["POST", "/api/account/keys", undefined, 201],
    ["PUT", `/api/messages/${registered}`, registration(), 200],
    ["GET", "/api/messages", undefined, 200],
    ["GET", "/api/messages?q=acme", undefined, 200],
    ["POST", "/api/messages/status", { threadIds: [sent.threadId] }, 200],
    ["GET", `/api/messages/${sent.id}`, undefined, 200],
    ["POST", `/api/messages/${sent.id}/stop`, undefined, 200],
    ["DELETE", `/api/messages/${deleted.id}`, undefined, 204],
    ["GET", "/api/events", undefined, 200],
    ["POST", "/api/views", { messageIds: [sent.id] }, 200],
    [
      "POST",
      "/api/signals",
      {
        signals: [
          { kind: "reply", threadId: sent.threadId, gmailMessageId: "msg-f:reply", at, from: "buyer@acme.example" },
          {
            kind: "bounce",
            threadId: bounced.threadId,
            gmailMessageId: "msg-f:bounce",
            at,
            bounce: { kind: "hard", recipients: ["gone@acme.example"] },
          },
        ],
      },
      200,
    ],
    ["POST", "/api/contacts/check", { emails: ["buyer@acme.example"] }, 200],
    ["GET", "/api/contacts", undefined, 200],
    ["GET", "/api/contacts/buyer%40acme.example", undefined, 200],
    ["DELETE", "/api/contacts/gone%40acme.example/suppression", undefined, 204],
    ["DELETE", "/api/contacts/gone%40acme.example", undefined, 204],
    ["GET", "/api/campaigns", undefined, 200],
    ["GET", `/api/campaigns/${encodeURIComponent("Q3 outreach")}`, undefined, 200],
    ["GET", "/api/export/messages.csv", undefined, 200],
    ["GET", "/api/export/events.csv", undefined, 200],
    ["GET", "/api/export/contacts.csv", undefined, 200],
    ["GET", "/api/activity/recent", undefined, 200],
    ["GET", "/api/activity/follow-ups", undefined, 200],
    ["GET", "/api/activity/daily", undefined, 200],
    // Last: the calls above are made with the token it replaces.
    ["POST", "/api/account/token", { apiToken: newApiToken(account.accountId) }, 200],
  ];
}

/** No entry cached, as once the entries expire: the next call reads the database and writes one. */
async function emptyCache() {
  for (const { name } of (await env.CACHE.list()).keys) await env.CACHE.delete(name);
}

describe("account cache", () => {
  it.each(["put", "get"] as const)("answers every API call as usual when KV refuses every %s (its day's limit spent)", async (spent) => {
    const account = await createAccount();
    const cache = kvWithDailyLimitSpent(env.CACHE, spent);
    const calls = await everyApiCall(account);
    await emptyCache();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      for (const [method, path, body, status] of calls) {
        const response = await callWithCache(account, cache.kv, method, path, body);
        expect({ method, path, status: response.status }).toEqual({ method, path, status });
      }
      // Still a gate: a wrong token is refused when the cache is down, from the database's record.
      const wrong = { ...account, apiToken: `${account.apiToken.slice(0, -4)}AAAA` };
      expect((await callWithCache(wrong, cache.kv, "GET", "/api/account")).status).toBe(401);
      expect(logged).toHaveBeenCalledWith(
        expect.stringContaining("account cache"),
        `Error: ${spent === "get" ? KV_READS_SPENT : KV_WRITES_SPENT}`,
      );
    } finally {
      logged.mockRestore();
    }
    expect(cache.refused()).toBeGreaterThan(0);
  });

  it("answers two first calls at once when KV refuses the second write of the account's entry within a second", async () => {
    const account = await createAccount();
    const cache = kvWithSameKeyWriteLimit(env.CACHE);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const [first, second] = await Promise.all([
        callWithCache(account, cache.kv, "GET", "/api/messages"),
        callWithCache(account, cache.kv, "GET", "/api/messages"),
      ]);
      expect([first.status, second.status]).toEqual([200, 200]);
    } finally {
      logged.mockRestore();
    }
    expect(cache.refused()).toBe(1);
  });

  it("answers a settings change and a key rotation when KV refuses writes, and the next calls see them", async () => {
    const account = await createAccount();
    // The account's entry is cached first, as any earlier call leaves it; then KV's writes are spent for the day.
    expect((await callWithCache(account, env.CACHE, "GET", "/api/account")).status).toBe(200);
    const cache = kvWithDailyLimitSpent(env.CACHE, "put");
    const changed = await callWithCache(account, cache.kv, "PATCH", "/api/account", { retentionDays: 14 });
    expect(changed.status).toBe(200);
    const rotated = await callWithCache(account, cache.kv, "POST", "/api/account/keys");
    expect(rotated.status).toBe(201);
    const { keyId } = await rotated.json<{ keyId: number }>();
    const next = await callWithCache(account, cache.kv, "GET", "/api/account");
    expect(next.status).toBe(200);
    expect(await next.json<AccountResponse>()).toMatchObject({ retentionDays: 14, signingKey: { keyId } });
    expect(keyId).toBe(account.signingKey.keyId + 1);
  });
});
