// API tokens: `mt_<accountId>_<secret>`. Only a SHA-256 of the token is stored; the account id in the token
// finds the record, then the hashes are compared in constant time.
import { createMiddleware } from "hono/factory";
import { base64UrlDecode, base64UrlEncode, constantTimeEqual, randomBytes } from "../../shared/encoding";
import { type AccountRecord, getAccount } from "./db/accounts";
import type { AppEnv, Bindings } from "./env";
import { jsonError } from "./http";
import { sha256Base64Url } from "./keys";

const TOKEN_PATTERN = /^mt_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;
const ACCOUNT_CACHE_SECONDS = 300;

export function newApiToken(accountId: string): string {
  return `mt_${accountId}_${base64UrlEncode(randomBytes(32))}`;
}

function accountCacheKey(accountId: string): string {
  return `account:${accountId}`;
}

/** Account records are read on every API call and change rarely: read through KV, with D1 the source of truth. */
export async function cachedAccount(env: Bindings, accountId: string): Promise<AccountRecord | null> {
  const cached = await env.CACHE.get<AccountRecord>(accountCacheKey(accountId), "json");
  if (cached) return cached;
  const account = await getAccount(env.DB, accountId);
  if (account) await cacheAccount(env, account);
  return account;
}

export async function cacheAccount(env: Bindings, account: AccountRecord): Promise<void> {
  await env.CACHE.put(accountCacheKey(account.id), JSON.stringify(account), { expirationTtl: ACCOUNT_CACHE_SECONDS });
}

export const requireAccount = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  const match = TOKEN_PATTERN.exec(token);
  const account = match?.[1] ? await cachedAccount(c.env, match[1]) : null;
  const given = base64UrlDecode(await sha256Base64Url(token));
  const stored = account ? base64UrlDecode(account.tokenHash) : null;
  if (!account || !given || !stored || !constantTimeEqual(given, stored)) {
    c.header("WWW-Authenticate", 'Bearer realm="mailtracker"');
    return jsonError(c, 401, "missing or invalid API token (Authorization: Bearer mt_…)");
  }
  c.set("account", account);
  await next();
});
