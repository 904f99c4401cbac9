import { Hono } from "hono";
import { type AccountResponse, type CreateAccountResponse, createAccountRequest, updateAccountRequest } from "../../../shared/api";
import { constantTimeEqualText } from "../../../shared/encoding";
import { newAccountId } from "../../../shared/protocol";
import { newApiToken, requireAccount } from "../auth";
import { getAccount, insertAccount, rotateKey, setRetention } from "../db/accounts";
import type { AppEnv } from "../env";
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

/** `/api/account`: the caller's own account, its current signing key, and key rotation. */
export const accountRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .get("/", async (c) => {
    if (!hasUsableSigningSecret(c.env.SIGNING_SECRET)) return jsonError(c, 503, MISSING_SECRET);
    // From D1: the settings and the current key id change (PATCH, /keys); the authentication's cache holds neither.
    const account = await getAccount(c.env.DB, c.get("account").id);
    if (!account) return jsonError(c, 404, "no such account");
    const body: AccountResponse = {
      accountId: account.id,
      name: account.name,
      createdAt: new Date(account.createdAt).toISOString(),
      retentionDays: account.retentionDays,
      signingKey: { keyId: account.currentKeyId, secret: await deriveSigningKey(c.env.SIGNING_SECRET, account.id, account.currentKeyId) },
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
  });
