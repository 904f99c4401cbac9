// API tokens: `mt_<accountId>_<secret>`. Only a SHA-256 of the token is stored; the account id in the token
// finds the record, then the hashes are compared in constant time.
import { createMiddleware } from "hono/factory";
import { API_TOKEN_PATTERN } from "../../shared/api-token";
import { base64UrlDecode, constantTimeEqual } from "../../shared/encoding";
import { type AccountRecord, getAccount } from "./db/accounts";
import type { AppEnv, Bindings } from "./env";
import { errorName } from "./errors";
import { jsonError } from "./http";
import { sha256Base64Url } from "./keys";

/**
 * What an API call knows of its caller: its account id, which never changes, and its token's hash, which changes only
 * when the rep replaces the token (`POST /api/account/token`, which takes the cached entry away: forgetCachedAccount).
 * Settings and the current key id are read from D1 where they are used, never from the cache, so a cache entry that
 * outlives a change can never answer with old settings.
 */
export type AuthenticatedAccount = Pick<AccountRecord, "id" | "tokenHash">;

/**
 * A week: an entry goes stale only when its token is replaced, which deletes it (or, KV refusing, has the new token's
 * first call write it over: cachedAccount), so the lifetime only sets how often
 * each account in use rewrites its key, against KV's "Writes to different keys | 1,000 writes per day" on Workers Free
 * (developers.cloudflare.com/kv/platform/limits/), shared with every other Worker of the Cloudflare account. Five
 * minutes, before, spent it with a few reps.
 */
const ACCOUNT_CACHE_SECONDS = 7 * 24 * 3600;

/** Not `account:<id>`, the key of the earlier whole records (settings included), so neither shape is read as the other. */
function accountCacheKey(accountId: string): string {
  return `account-token:${accountId}`;
}

/**
 * Read on every API call: through KV, with D1 the source of truth. The cache is best effort: KV refuses reads and
 * writes past its daily limits, and a second write of one key within a second (two calls after the entry expired), so
 * a failed read falls back to D1 and the write runs after the response, its failure only logged.
 *
 * An entry whose hash is not `tokenHash`, the hash of the token the call carries, is checked against D1 before the call
 * is refused: it may be an entry left of a token replaced since, whose deletes KV refused (routes/accounts.ts), or that
 * a call racing the replacement wrote back. Such an entry let the old token in and refused the new one until it
 * expired, a week; now the new token's first call (the extension's feed poll, within a minute) is let in and writes
 * the entry over with the hash D1 holds, which shuts the old token out. A write, not a delete: on Workers Free they
 * have daily limits of their own, so a day's deletes spent do not keep it. A wrong token costs one D1 read, as a
 * token of an account not cached does already; the hashes are compared as they are (a hash gives nothing of its
 * token), the constant-time comparison of the token being requireAccount's.
 */
export async function cachedAccount(
  env: Bindings,
  ctx: Pick<ExecutionContext, "waitUntil">,
  accountId: string,
  tokenHash: string,
): Promise<AuthenticatedAccount | null> {
  const key = accountCacheKey(accountId);
  let missing = false;
  let cached: AuthenticatedAccount | null = null;
  try {
    cached = await env.CACHE.get<AuthenticatedAccount>(key, "json");
    if (cached?.tokenHash === tokenHash) return cached;
    missing = cached === null;
  } catch (error) {
    console.error("account cache read failed; reading the database", errorName(error));
  }
  const account = await getAccount(env.DB, accountId);
  if (!account) return null;
  const identity: AuthenticatedAccount = { id: account.id, tokenHash: account.tokenHash };
  // Only after a miss, or an entry the database says is stale: a KV refusing reads (its daily limit spent) would
  // otherwise get a write on every call, and a wrong token one for each try.
  if (missing || (cached !== null && cached.tokenHash !== identity.tokenHash)) ctx.waitUntil(rememberAccount(env, key, identity));
  return identity;
}

/**
 * Caches what the database said, then reads it again: a token replaced between the first read and the write (the
 * replacement's own call, whose authentication missed the cache, or another browser's call at that moment) would
 * otherwise put the old token's hash back after the replacement deleted it, and let the old token in for a week. Read
 * after the write, a replacement is either seen (and the entry taken back here) or not committed yet (and its delete
 * comes after this write). One more row read per miss, about once a week per account.
 */
async function rememberAccount(env: Bindings, key: string, identity: AuthenticatedAccount): Promise<void> {
  try {
    await env.CACHE.put(key, JSON.stringify(identity), { expirationTtl: ACCOUNT_CACHE_SECONDS });
    const now = await getAccount(env.DB, identity.id);
    if (now?.tokenHash !== identity.tokenHash) await env.CACHE.delete(key);
  } catch (error) {
    console.error("account cache write failed", errorName(error));
  }
}

/**
 * Takes the account's entry out of the cache, before its token is replaced (routes/accounts.ts): the entry would let
 * the old token in for up to a week. First, so that a refusal changes nothing: on Workers Free, "Delete requests |
 * 1,000 / day", shared with every Worker of the Cloudflare account, past which "further operations of that type will
 * fail with an error" until 00:00 UTC (developers.cloudflare.com/kv/platform/pricing/, read 2026-12-06). The route
 * then answers 503 with the old token still the account's. A replacement is rare: two deletes each (the route's
 * second one, after the swap, takes away an entry a concurrent call wrote meanwhile; should KV refuse that one, the new
 * token's first call writes the entry over: cachedAccount).
 *
 * What a delete cannot do: "Changes may take up to 60 seconds or more to be visible in other global network locations
 * as their cached versions of the data time out" (developers.cloudflare.com/kv/concepts/how-kv-works/, Consistency,
 * read 2026-12-06). A Cloudflare location that read the entry within the last minute or so may still answer it, and
 * let the old token in there, for about that long after the replacement; everywhere else, and in the location that
 * made it, the old token is refused at once. Nothing cheaper than a D1 read on every call closes that window (KV has
 * no strongly consistent read), so it is said instead: in docs/protocol.md §9 and in the options page's question.
 */
export async function forgetCachedAccount(env: Bindings, accountId: string): Promise<void> {
  await env.CACHE.delete(accountCacheKey(accountId));
}

export const requireAccount = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  const match = API_TOKEN_PATTERN.exec(token);
  const givenHash = await sha256Base64Url(token);
  const account = match?.[1] ? await cachedAccount(c.env, c.executionCtx, match[1], givenHash) : null;
  const given = base64UrlDecode(givenHash);
  const stored = account ? base64UrlDecode(account.tokenHash) : null;
  if (!account || !given || !stored || !constantTimeEqual(given, stored)) {
    c.header("WWW-Authenticate", 'Bearer realm="mailtracker"');
    return jsonError(c, 401, "missing or invalid API token (Authorization: Bearer mt_…)");
  }
  c.set("account", account);
  await next();
});
