// Replacing an account's API token (POST /api/account/token): the new token opens the account, the old one is refused
// from then on, through the account cache in KV (worker/src/auth.ts) too, and the signing keys stay as they were.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { AccountResponse, ErrorResponse, MessageDetail, ReplaceTokenResponse } from "../../shared/api";
import worker from "../src/index";
import { KV_DELETES_SPENT, kvWithDailyLimitSpent, kvWithWriteBeforeFirstPut } from "./faults";
import { BASE, createAccount, openPixel, sentMessage, trackerClient, waitForEvents } from "./helpers";

/** A call with `token` to the worker whose account cache is `cache`, its after-response work (the cache's write) done. */
async function callWith(token: string, method: string, path: string, cache: KVNamespace = env.CACHE): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, { method, headers: { authorization: `Bearer ${token}` } }),
    { ...env, CACHE: cache },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

const replace = (token: string, cache?: KVNamespace) => callWith(token, "POST", "/api/account/token", cache);

async function replaced(token: string): Promise<ReplaceTokenResponse> {
  const response = await replace(token);
  expect(response.status).toBe(201);
  return response.json<ReplaceTokenResponse>();
}

/** The status GET /api/account answers `token`: 200 when it opens the account, 401 when refused. */
const statusOf = async (token: string) => (await callWith(token, "GET", "/api/account")).status;

const cachedEntry = (accountId: string) => env.CACHE.get(`account-token:${accountId}`);

describe("replacing the API token", () => {
  it("answers a new token that opens the account, refuses the old one, and keeps the signing key and sent emails working", async () => {
    const account = await createAccount();
    const sent = await sentMessage(account);
    const answer = await replaced(account.apiToken);
    expect(answer.accountId).toBe(account.accountId);
    expect(answer.apiToken).toMatch(new RegExp(`^mt_${account.accountId}_[A-Za-z0-9_-]{43}$`));
    expect(answer.apiToken).not.toBe(account.apiToken);

    const refused = await callWith(account.apiToken, "GET", "/api/account");
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as ErrorResponse).error).toMatch(/API token/);
    const me = await callWith(answer.apiToken, "GET", "/api/account");
    expect(me.status).toBe(200);
    expect((await me.json<AccountResponse>()).signingKey).toEqual(account.signingKey);
    // Only the new token's hash is stored.
    const row = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(account.accountId).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(answer.apiToken.slice(20));

    // An email sent before is still tracked, and read with the new token.
    await openPixel(sent.id);
    await waitForEvents(sent.id, 1);
    const detail = await callWith(answer.apiToken, "GET", `/api/messages/${sent.id}`);
    expect((await detail.json<MessageDetail>()).openCount).toBe(1);
  });

  it("is what the extension's client asks for, and the client then hears 401 with the old token", async () => {
    const account = await createAccount();
    const answer = await account.tracker.replaceToken();
    expect(answer.accountId).toBe(account.accountId);
    await expect(account.tracker.account()).rejects.toMatchObject({ status: 401 });
    expect((await trackerClient(answer.apiToken).account()).accountId).toBe(account.accountId);
  });

  it("refuses the old token after the replacement when the account's entry was cached", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    // The entry every call after the first reads: the old token's hash, for a week.
    expect(await cachedEntry(account.accountId)).not.toBeNull();
    const answer = await replaced(account.apiToken);
    expect(await statusOf(account.apiToken)).toBe(401);
    expect(await statusOf(answer.apiToken)).toBe(200);
    expect(await statusOf(account.apiToken)).toBe(401);
  });

  it("replaces twice: only the latest token opens the account, and a refused token makes no new one", async () => {
    const account = await createAccount();
    const first = await replaced(account.apiToken);
    const second = await replaced(first.apiToken);
    expect(new Set([account.apiToken, first.apiToken, second.apiToken]).size).toBe(3);
    expect([await statusOf(account.apiToken), await statusOf(first.apiToken), await statusOf(second.apiToken)]).toEqual([401, 401, 200]);
    for (const old of [account.apiToken, first.apiToken]) {
      const again = await replace(old);
      expect(again.status).toBe(401);
      expect(await again.json()).not.toHaveProperty("apiToken");
    }
    expect(await statusOf(second.apiToken)).toBe(200);
  });

  it("answers one new token to two replacements made at once with one token", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    const answers = await Promise.all([replace(account.apiToken), replace(account.apiToken)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 401]);
    const winner = answers.find((r) => r.status === 201);
    const { apiToken } = (await winner?.json<ReplaceTokenResponse>()) ?? { apiToken: "" };
    expect(await statusOf(apiToken)).toBe(200);
    expect(await statusOf(account.apiToken)).toBe(401);
  });

  it("refuses a missing, malformed or wrong token with 401, and changes nothing", async () => {
    const account = await createAccount();
    for (const token of ["", "mt_", `${account.apiToken.slice(0, -4)}AAAA`, `mt_${"a".repeat(16)}_${"A".repeat(43)}`]) {
      const response = await replace(token);
      expect(response.status).toBe(401);
      expect(((await response.json()) as ErrorResponse).error).toMatch(/API token/);
    }
    expect((await callWith(account.apiToken, "GET", "/api/account/token")).status).toBe(404);
    expect(await statusOf(account.apiToken)).toBe(200);
  });

  it("when KV refuses to delete the cached entry, puts the old token back and says so", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    const cache = kvWithDailyLimitSpent(env.CACHE, "delete");
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await replace(account.apiToken, cache.kv);
      expect(response.status).toBe(503);
      const body = await response.text();
      expect(body).toMatch(/not replaced.*The old token still works/);
      expect(JSON.parse(body)).not.toHaveProperty("apiToken");
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("account cache delete failed"), `Error: ${KV_DELETES_SPENT}`);
    } finally {
      logged.mockRestore();
    }
    expect(cache.refused()).toBe(1);
    expect(await statusOf(account.apiToken)).toBe(200);
    // The database still holds the old token's hash: read past the cache.
    await env.CACHE.delete(`account-token:${account.accountId}`);
    expect(await statusOf(account.apiToken)).toBe(200);
  });

  it("a call that read the account before the replacement does not put the old token back in the cache", async () => {
    const account = await createAccount();
    let answer: ReplaceTokenResponse | undefined;
    // A call of another browser's, with the old token, misses the cache and reads the database; the replacement
    // commits and deletes the entry; then the call's write of what it read lands.
    const racing = kvWithWriteBeforeFirstPut(env.CACHE, async () => {
      answer = await replaced(account.apiToken);
    });
    expect(await cachedEntry(account.accountId)).toBeNull();
    expect(await callWith(account.apiToken, "GET", "/api/messages", racing).then((r) => r.status)).toBe(200);
    expect(answer?.apiToken).toMatch(/^mt_/);
    expect(await statusOf(account.apiToken)).toBe(401);
    expect(await statusOf(answer?.apiToken ?? "")).toBe(200);
  });
});
