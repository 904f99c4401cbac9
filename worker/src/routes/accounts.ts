import { Hono } from "hono";
import {
  type AccountResponse,
  type CreateAccountResponse,
  createAccountRequest,
  type ReplaceTokenResponse,
  replaceTokenRequest,
  updateAccountRequest,
} from "../../../shared/api";
import { apiTokenAccount, newApiToken } from "../../../shared/api-token";
import { constantTimeEqualText } from "../../../shared/encoding";
import { EARLIER_KEYS_MAX } from "../../../shared/limits";
import { newAccountId } from "../../../shared/protocol";
import { forgetCachedAccount, requireAccount } from "../auth";
import { getAccount, insertAccount, replaceTokenHash, rotateKey, setRetention } from "../db/accounts";
import type { AppEnv } from "../env";
import { errorName } from "../errors";
import { jsonError, validated } from "../http";
import { deriveSigningKey, hasUsableSigningSecret, sha256Base64Url } from "../keys";
import { limiterKey } from "../throttle";

const DEFAULT_RETENTION_DAYS = 90;

const MISSING_SECRET =
  "this tracker has no SIGNING_SECRET (32+ characters) yet: set it with `wrangler secret put SIGNING_SECRET` (README, Deploy)";

/** `POST /api/accounts`: open on a single-user install, gated by REGISTRATION_SECRET when the deployment sets one. */
export const accountsRoute = new Hono<AppEnv>().post("/", validated("json", createAccountRequest), async (c) => {
  // Per network, not per address (limiterKey): the key goes to Cloudflare's rate limiter.
  const key = limiterKey(c.req.raw);
  if (key !== null && !(await c.env.ACCOUNT_CREATION.limit({ key })).success) {
    c.header("Retry-After", "60");
    return jsonError(c, 429, "too many accounts created from this network; try again in a minute");
  }
  const required = c.env.REGISTRATION_SECRET;
  if (required) {
    const given = c.req.header("x-registration-secret") ?? "";
    if (!constantTimeEqualText(given, required)) {
      return jsonError(c, 403, "this tracker requires a registration secret (X-Registration-Secret header)");
    }
  }
  if (!hasUsableSigningSecret(c.env.SIGNING_SECRET)) return jsonError(c, 503, MISSING_SECRET);
  const accountId = newAccountId();
  const apiToken = newApiToken(accountId);
  const account = {
    id: accountId,
    name: c.req.valid("json").name ?? null,
    tokenHash: await sha256Base64Url(apiToken),
    currentKeyId: 1,
    createdAt: Date.now(),
    retentionDays: DEFAULT_RETENTION_DAYS,
  };
  await insertAccount(c.env.DB, account);
  const body: CreateAccountResponse = {
    accountId,
    apiToken,
    signingKey: { keyId: 1, secret: await deriveSigningKey(c.env.SIGNING_SECRET, accountId, 1) },
  };
  return c.json(body, 201);
});

/**
 * `/api/account`: the caller's own account, its current signing key and the latest ones before it, key rotation and the
 * replacement of its token.
 */
export const accountRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .get("/", async (c) => {
    const signingSecret = c.env.SIGNING_SECRET;
    if (!hasUsableSigningSecret(signingSecret)) return jsonError(c, 503, MISSING_SECRET);
    // From D1: the settings and the current key id change (PATCH, /keys); the authentication's cache holds neither.
    const account = await getAccount(c.env.DB, c.get("account").id);
    if (!account) return jsonError(c, 404, "no such account");
    const key = async (keyId: number) => ({ keyId, secret: await deriveSigningKey(signingSecret, account.id, keyId) });
    const firstEarlier = Math.max(1, account.currentKeyId - EARLIER_KEYS_MAX);
    const body: AccountResponse = {
      accountId: account.id,
      name: account.name,
      createdAt: new Date(account.createdAt).toISOString(),
      retentionDays: account.retentionDays,
      signingKey: await key(account.currentKeyId),
      earlierKeys: await Promise.all(Array.from({ length: account.currentKeyId - firstEarlier }, (_, i) => key(firstEarlier + i))),
    };
    return c.json(body);
  })
  /** Settings: how many days events are kept (the hourly purge deletes older ones). */
  .patch("/", validated("json", updateAccountRequest), async (c) => {
    const updated = await setRetention(c.env.DB, c.get("account").id, c.req.valid("json").retentionDays);
    if (!updated) return jsonError(c, 404, "no such account");
    return c.json({ retentionDays: updated.retentionDays });
  })
  .post("/keys", async (c) => {
    if (!hasUsableSigningSecret(c.env.SIGNING_SECRET)) return jsonError(c, 503, MISSING_SECRET);
    const rotated = await rotateKey(c.env.DB, c.get("account").id);
    if (!rotated) return jsonError(c, 409, "this account has used every key id");
    return c.json(
      { keyId: rotated.currentKeyId, secret: await deriveSigningKey(c.env.SIGNING_SECRET, rotated.id, rotated.currentKeyId) },
      201,
    );
  })
  /**
   * The API token named in the body in place of the one that asks (a copy of it may have left with a laptop): its
   * hash stored, the old one refused from then on. The extension made the new token and kept it before asking, so an
   * answer lost on its way back loses nothing: the extension tries the new token (token-replacement.ts). Idempotent:
   * asked again with the new token, naming itself, the answer is the same and nothing is done. The signing secret and
   * keys stay as they are: they sign the emails already sent, whose pixels and links must keep working.
   */
  .post("/token", validated("json", replaceTokenRequest), async (c) => {
    const { id, tokenHash } = c.get("account");
    const { apiToken } = c.req.valid("json");
    if (apiTokenAccount(apiToken) !== id)
      return jsonError(c, 400, `the new API token must name this account: mt_${id}_ followed by 43 random base64url characters`);
    const newHash = await sha256Base64Url(apiToken);
    const body: ReplaceTokenResponse = { accountId: id };
    // Already the account's: a retry after a lost answer, made with the token it names. No delete spent.
    if (newHash === tokenHash) return c.json(body);
    // The cached entry first (auth.ts forgetCachedAccount): refused, nothing has changed yet and nothing is undone.
    try {
      await forgetCachedAccount(c.env, id);
    } catch (error) {
      console.error("account cache delete failed; the token is not replaced", errorName(error));
      return jsonError(
        c,
        503,
        "the token was not replaced: the tracker's cache (Workers KV) refused to forget the old one, which would have kept working. The old token still works; try again later (KV's daily limits on Workers Free reset at 00:00 UTC)",
      );
    }
    if (!(await replaceTokenHash(c.env.DB, id, tokenHash, newHash))) {
      // The same replacement made meanwhile by a retry of this request: done, as asked.
      if ((await getAccount(c.env.DB, id))?.tokenHash === newHash) return c.json(body);
      // Let in by a cached entry (auth.ts cachedAccount) while D1 already holds another hash: replaced meanwhile.
      c.header("WWW-Authenticate", 'Bearer realm="mailtracker"');
      return jsonError(c, 401, "this API token was replaced already: connect with the new one");
    }
    // Again: a call with the old token that missed the cache between the delete and the swap read the old hash and
    // may have cached it (its check after the write, auth.ts rememberAccount, ran before the swap). Refused, such an
    // entry lets the old token in only until the new one's first call, which finds it stale and writes it over
    // (auth.ts cachedAccount): the extension's feed poll, within a minute.
    try {
      await forgetCachedAccount(c.env, id);
    } catch (error) {
      console.error("account cache delete after the token's replacement failed", errorName(error));
    }
    return c.json(body);
  });
