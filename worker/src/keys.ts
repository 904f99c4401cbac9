// Server-side key material. Each account's signing key is derived from the deployment's SIGNING_SECRET, so the
// pixel and click handlers verify an id with CPU work alone: a forged id never costs a storage read.
import { base64UrlEncode, utf8 } from "../../shared/encoding";
import { hmacSha256 as sharedHmacSha256 } from "../../shared/hmac";

const MIN_SECRET_LENGTH = 32;
/** Each derived key: its text once known, the derivation while it runs. */
const derivedKeys = new Map<string, string | Promise<string>>();

export function hasUsableSigningSecret(secret: string | undefined): secret is string {
  return typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH;
}

/** HMAC-SHA256 keyed by the secret's text itself (its UTF-8 bytes). */
export function hmacSha256(secret: string, message: string): Promise<ArrayBuffer> {
  return sharedHmacSha256(`text:${secret}`, () => utf8(secret), message);
}

/**
 * The account's key `keyId`, as the base64url secret the extension receives (docs/protocol.md §5). A key derived
 * before is returned as its text, so a hit takes it without an await (see shared/hmac.ts).
 */
export function deriveSigningKey(signingSecret: string, accountId: string, keyId: number): string | Promise<string> {
  const cacheKey = `${accountId}.${keyId}`;
  const known = derivedKeys.get(cacheKey);
  if (known !== undefined) return known;
  const deriving = hmacSha256(signingSecret, `mt-account-key-v1:${accountId}.${keyId}`).then((mac) => {
    const key = base64UrlEncode(new Uint8Array(mac));
    derivedKeys.set(cacheKey, key);
    return key;
  });
  if (derivedKeys.size > 10_000) derivedKeys.clear();
  derivedKeys.set(cacheKey, deriving);
  return deriving;
}

export async function sha256Base64Url(text: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text))));
}

/**
 * A keyed hash of the client address, used only to count unique clicks. Keyed per account, so the same reader
 * cannot be linked across accounts, and the raw address is never stored or queued.
 */
export async function hashClientAddress(accountKey: string, address: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(accountKey, `mt-ip-v1:${address}`), 0, 12));
}
