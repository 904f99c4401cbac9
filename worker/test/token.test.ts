// Replacing an account's API token (POST /api/account/token) with one the extension made: the new token opens the
// account, the old one is refused from then on, through the account cache in KV (worker/src/auth.ts) too, the signing
// keys stay as they were, and a KV that refuses to forget the old token leaves everything as it was.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { AccountResponse, ErrorResponse, MessageDetail } from "../../shared/api";
import { newApiToken } from "../../shared/api-token";
import worker from "../src/index";
import {
  d1FailingStatements,
  KV_DELETES_SPENT,
  kvWithDailyLimitSpent,
  kvWithWriteAfterFirstDelete,
  kvWithWriteBeforeFirstPut,
} from "./faults";
import { BASE, createAccount, openPixel, sentMessage, trackerClient, waitForEvents } from "./helpers";

interface Bindings {
  cache?: KVNamespace;
  db?: D1Database;
}

/** A call with `token` to the worker over `bindings`, its after-response work (the cache's write) done. */
async function callWith(token: string, method: string, path: string, body?: unknown, bindings: Bindings = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    { ...env, CACHE: bindings.cache ?? env.CACHE, DB: bindings.db ?? env.DB },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** Asks, with `token`, for `newToken` to be the account's token. */
const replace = (token: string, newToken: string, bindings?: Bindings) =>
  callWith(token, "POST", "/api/account/token", { apiToken: newToken }, bindings);

/** A new token of the account `token` opens, made as the extension makes it, put in place of `token`. */
async function replaced(token: string, accountId: string): Promise<string> {
  const newToken = newApiToken(accountId);
  const response = await replace(token, newToken);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ accountId });
  return newToken;
}

/** The status GET /api/account answers `token`: 200 when it opens the account, 401 when refused. */
const statusOf = async (token: string) => (await callWith(token, "GET", "/api/account")).status;

const cachedEntry = (accountId: string) => env.CACHE.get(`account-token:${accountId}`);

const storedHash = async (accountId: string) =>
  (await env.DB.prepare("SELECT token_hash FROM accounts WHERE id = ?").bind(accountId).first<{ token_hash: string }>())?.token_hash;

describe("replacing the API token", () => {
  it("puts the token sent in place: it opens the account, the old one is refused, the signing key and sent emails keep working", async () => {
    const account = await createAccount();
    const sent = await sentMessage(account);
    const newToken = await replaced(account.apiToken, account.accountId);

    const refused = await callWith(account.apiToken, "GET", "/api/account");
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as ErrorResponse).error).toMatch(/API token/);
    const me = await callWith(newToken, "GET", "/api/account");
    expect(me.status).toBe(200);
    expect((await me.json<AccountResponse>()).signingKey).toEqual(account.signingKey);
    // Only the new token's hash is stored.
    const row = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(account.accountId).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(newToken.slice(20));

    // An email sent before is still tracked, and read with the new token.
    await openPixel(sent.id);
    await waitForEvents(sent.id, 1);
    const detail = await callWith(newToken, "GET", `/api/messages/${sent.id}`);
    expect((await detail.json<MessageDetail>()).openCount).toBe(1);
  });

  it("is what the extension's client asks for, and the client then hears 401 with the old token", async () => {
    const account = await createAccount();
    const newToken = newApiToken(account.accountId);
    expect(await account.tracker.replaceToken(newToken)).toEqual({ accountId: account.accountId });
    await expect(account.tracker.account()).rejects.toMatchObject({ status: 401 });
    expect((await trackerClient(newToken).account()).accountId).toBe(account.accountId);
  });

  it("refuses the old token after the replacement when the account's entry was cached", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    // The entry every call after the first reads: the old token's hash, for a week.
    expect(await cachedEntry(account.accountId)).not.toBeNull();
    const newToken = await replaced(account.apiToken, account.accountId);
    expect(await statusOf(account.apiToken)).toBe(401);
    expect(await statusOf(newToken)).toBe(200);
    expect(await statusOf(account.apiToken)).toBe(401);
  });

  it("asked again with the same token once it is in place (a lost answer's retry) answers the same and spends no KV delete", async () => {
    const account = await createAccount();
    const newToken = await replaced(account.apiToken, account.accountId);
    const cache = kvWithWriteAfterFirstDelete(env.CACHE);
    const again = await replace(newToken, newToken, { cache: cache.kv });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ accountId: account.accountId });
    expect(cache.deletes()).toBe(0);
    expect(await statusOf(newToken)).toBe(200);
    // With the old token: refused, as every call of it is from the replacement on.
    expect((await replace(account.apiToken, newToken)).status).toBe(401);
    expect(await statusOf(newToken)).toBe(200);
  });

  it("replaces twice: only the latest token opens the account, and a refused token changes nothing", async () => {
    const account = await createAccount();
    const first = await replaced(account.apiToken, account.accountId);
    const second = await replaced(first, account.accountId);
    expect([await statusOf(account.apiToken), await statusOf(first), await statusOf(second)]).toEqual([401, 401, 200]);
    for (const old of [account.apiToken, first]) {
      const unused = newApiToken(account.accountId);
      expect((await replace(old, unused)).status).toBe(401);
      expect(await statusOf(unused)).toBe(401);
    }
    expect(await statusOf(second)).toBe(200);
  });

  it("of two replacements made at once with one token, one takes and the other is refused; the same one twice takes once", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    const tokens = [newApiToken(account.accountId), newApiToken(account.accountId)];
    const answers = await Promise.all(tokens.map((token) => replace(account.apiToken, token)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = tokens[answers.findIndex((r) => r.status === 200)] ?? "";
    expect(await statusOf(winner)).toBe(200);
    expect(await statusOf(account.apiToken)).toBe(401);

    // A retry racing the request it repeats (the first's answer was slow): both answer that the token is in place.
    const next = newApiToken(account.accountId);
    const both = await Promise.all([replace(winner, next), replace(winner, next)]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(await statusOf(next)).toBe(200);
    expect(await statusOf(winner)).toBe(401);
  });

  it("refuses a missing, malformed or wrong token with 401, and changes nothing", async () => {
    const account = await createAccount();
    const newToken = newApiToken(account.accountId);
    for (const token of ["", "mt_", `${account.apiToken.slice(0, -4)}AAAA`, `mt_${"a".repeat(16)}_${"A".repeat(43)}`]) {
      const response = await replace(token, newToken);
      expect(response.status).toBe(401);
      expect(((await response.json()) as ErrorResponse).error).toMatch(/API token/);
    }
    expect((await callWith(account.apiToken, "GET", "/api/account/token")).status).toBe(404);
    expect(await statusOf(account.apiToken)).toBe(200);
    expect(await statusOf(newToken)).toBe(401);
  });

  it("refuses with a plain 400 a new token that is missing, malformed, of another account or not random, and changes nothing", async () => {
    const account = await createAccount();
    const other = await createAccount();
    const secret = newApiToken(account.accountId).slice(-43);
    const cases: [unknown, RegExp][] = [
      [{}, /apiToken/],
      [{ apiToken: 42 }, /apiToken/],
      [{ apiToken: `mt_${account.accountId}_${secret.slice(1)}` }, /must be an API token/],
      [{ apiToken: `mt_${account.accountId}_${secret}=` }, /must be an API token/],
      [{ apiToken: `mt_${other.accountId}_${secret}` }, /must name this account/],
      [{ apiToken: `mt_${account.accountId}_${"A".repeat(43)}` }, /not random enough/],
      [{ apiToken: `mt_${account.accountId}_${"password".repeat(6).slice(0, 43)}` }, /not random enough/],
    ];
    for (const [body, words] of cases) {
      const response = await callWith(account.apiToken, "POST", "/api/account/token", body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(await response.text()).toMatch(words);
    }
    expect(await statusOf(account.apiToken)).toBe(200);
    expect(await statusOf(`mt_${account.accountId}_${"A".repeat(43)}`)).toBe(401);
  });

  it("when KV refuses to delete the cached entry, changes nothing in the database and says the old token still works", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    const before = await storedHash(account.accountId);
    const cache = kvWithDailyLimitSpent(env.CACHE, "delete");
    // The database refuses writes of the token too: the old order (swap, delete refused, swap undone) would lose the
    // new token with the old one's entry still cached (the account then locked out or the old token let in a week).
    const db = d1FailingStatements(env.DB, /UPDATE accounts SET token_hash/);
    const newToken = newApiToken(account.accountId);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await replace(account.apiToken, newToken, { cache: cache.kv, db: db.db });
      expect(response.status).toBe(503);
      const body = await response.text();
      expect(body).toMatch(/not replaced.*The old token still works/);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("account cache delete failed"), `Error: ${KV_DELETES_SPENT}`);
    } finally {
      logged.mockRestore();
    }
    expect(cache.refused()).toBe(1);
    expect(db.failed()).toBe(0);
    expect(await storedHash(account.accountId)).toBe(before);
    expect(await statusOf(account.apiToken)).toBe(200);
    expect(await statusOf(newToken)).toBe(401);
  });

  it("when the database fails the swap, the old token still works and the new one may be asked for again", async () => {
    const account = await createAccount();
    const db = d1FailingStatements(env.DB, /UPDATE accounts SET token_hash/);
    const newToken = newApiToken(account.accountId);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect((await replace(account.apiToken, newToken, { db: db.db })).status).toBeGreaterThanOrEqual(500);
    } finally {
      logged.mockRestore();
    }
    expect(db.failed()).toBe(1);
    expect(await statusOf(account.apiToken)).toBe(200);
    expect(await statusOf(newToken)).toBe(401);
    await replaced(account.apiToken, account.accountId);
  });

  it("a call with the old token that cached it between the replacement's delete and its swap does not let the old token in", async () => {
    const account = await createAccount();
    // Another browser's call with the old token misses the cache the replacement just emptied, reads the database
    // before the swap, caches the old hash and checks it against the database: still the same, so it stays.
    const racing = kvWithWriteAfterFirstDelete(env.CACHE, async () => {
      expect(await statusOf(account.apiToken)).toBe(200);
      expect(await cachedEntry(account.accountId)).not.toBeNull();
    });
    const newToken = newApiToken(account.accountId);
    expect((await replace(account.apiToken, newToken, { cache: racing.kv })).status).toBe(200);
    expect(racing.deletes()).toBe(2);
    expect(await cachedEntry(account.accountId)).toBeNull();
    expect(await statusOf(account.apiToken)).toBe(401);
    expect(await statusOf(newToken)).toBe(200);
  });

  it("an old token cached back by a racing call, its second delete refused, is shut out by the new token's first call", async () => {
    const account = await createAccount();
    // The race above, with the day's KV deletes spent between the replacement's two deletes: the entry the racing
    // call wrote, of the old hash, stays in the cache for its week.
    const spent = kvWithDailyLimitSpent(env.CACHE, "delete", 1);
    const racing = kvWithWriteAfterFirstDelete(spent.kv, async () => {
      expect(await statusOf(account.apiToken)).toBe(200);
    });
    const newToken = newApiToken(account.accountId);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect((await replace(account.apiToken, newToken, { cache: racing.kv })).status).toBe(200);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("after the token's replacement failed"), `Error: ${KV_DELETES_SPENT}`);
    } finally {
      logged.mockRestore();
    }
    expect(spent.refused()).toBe(1);
    expect(JSON.parse((await cachedEntry(account.accountId)) ?? "null")?.tokenHash).not.toBe(await storedHash(account.accountId));
    // The new token opens the account (the extension's next call), though the entry says otherwise, and writes it over
    // (a write, which the day's deletes spent do not refuse): the old token is refused from then on.
    expect(await callWith(newToken, "GET", "/api/account", undefined, { cache: spent.kv }).then((r) => r.status)).toBe(200);
    expect(JSON.parse((await cachedEntry(account.accountId)) ?? "null")?.tokenHash).toBe(await storedHash(account.accountId));
    expect(await statusOf(account.apiToken)).toBe(401);
    expect(await statusOf(newToken)).toBe(200);
  });

  it("a wrong token against a cached entry is refused from the database and writes nothing to the cache", async () => {
    const account = await createAccount();
    expect(await statusOf(account.apiToken)).toBe(200);
    const entry = await cachedEntry(account.accountId);
    expect(entry).not.toBeNull();
    // Every put counted (and refused): the entry matches the database, so a wrong token's try costs no write.
    const writes = kvWithDailyLimitSpent(env.CACHE, "put");
    const wrong = `mt_${account.accountId}_${"B".repeat(43)}`;
    expect(await callWith(wrong, "GET", "/api/account", undefined, { cache: writes.kv }).then((r) => r.status)).toBe(401);
    expect(writes.refused()).toBe(0);
    expect(await cachedEntry(account.accountId)).toBe(entry);
  });

  it("a call that read the account before the replacement does not put the old token back in the cache", async () => {
    const account = await createAccount();
    const newToken = newApiToken(account.accountId);
    // A call of another browser's, with the old token, misses the cache and reads the database; the replacement
    // commits and deletes the entry; then the call's write of what it read lands.
    const racing = kvWithWriteBeforeFirstPut(env.CACHE, async () => {
      expect((await replace(account.apiToken, newToken)).status).toBe(200);
    });
    expect(await cachedEntry(account.accountId)).toBeNull();
    expect(await callWith(account.apiToken, "GET", "/api/messages", undefined, { cache: racing }).then((r) => r.status)).toBe(200);
    expect(await statusOf(account.apiToken)).toBe(401);
    expect(await statusOf(newToken)).toBe(200);
  });
});
