import { Hono } from "hono";
import { type AccountResponse, type CreateAccountResponse, createAccountRequest } from "../../../shared/api";
import { constantTimeEqual, utf8 } from "../../../shared/encoding";
import { newAccountId } from "../../../shared/protocol";
import { cacheAccount, newApiToken, requireAccount } from "../auth";
import { insertAccount, rotateKey } from "../db/accounts";
import type { AppEnv } from "../env";
import { jsonError, validated } from "../http";
import { deriveSigningKey, hasUsableSigningSecret, sha256Base64Url } from "../keys";

const MISSING_SECRET =
  "this tracker has no SIGNING_SECRET (32+ characters) yet: set it with `wrangler secret put SIGNING_SECRET` (README, Deploy)";

/** `POST /api/accounts`: open on a single-user install, gated by REGISTRATION_SECRET when the deployment sets one. */
export const accountsRoute = new Hono<AppEnv>().post("/", validated("json", createAccountRequest), async (c) => {
  const required = c.env.REGISTRATION_SECRET;
  if (required) {
    const given = c.req.header("x-registration-secret") ?? "";
    if (!constantTimeEqual(utf8(given), utf8(required))) {
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
    const account = c.get("account");
    if (!hasUsableSigningSecret(c.env.SIGNING_SECRET)) return jsonError(c, 503, MISSING_SECRET);
    const body: AccountResponse = {
      accountId: account.id,
      name: account.name,
      createdAt: new Date(account.createdAt).toISOString(),
      signingKey: { keyId: account.currentKeyId, secret: await deriveSigningKey(c.env.SIGNING_SECRET, account.id, account.currentKeyId) },
    };
    return c.json(body);
  })
  .post("/keys", async (c) => {
    if (!hasUsableSigningSecret(c.env.SIGNING_SECRET)) return jsonError(c, 503, MISSING_SECRET);
    const rotated = await rotateKey(c.env.DB, c.get("account").id);
    if (!rotated) return jsonError(c, 409, "this account has used every key id");
    await cacheAccount(c.env, rotated);
    return c.json(
      { keyId: rotated.currentKeyId, secret: await deriveSigningKey(c.env.SIGNING_SECRET, rotated.id, rotated.currentKeyId) },
      201,
    );
  });
