// Server-side key material. Each account's signing key is derived from the deployment's SIGNING_SECRET, so the
// pixel and click handlers verify an id with CPU work alone: a forged id never costs a storage read.
import { base64UrlEncode, utf8 } from "../../shared/encoding";

const MIN_SECRET_LENGTH = 32;
const derivedKeys = new Map<string, Promise<string>>();

export function hasUsableSigningSecret(secret: string | undefined): secret is string {
  return typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH;
}

/** Imported HMAC keys by secret text: importing costs more than signing, and every hit hashes with its account's key. */
const importedKeys = new Map<string, CryptoKey>();

async function importHmacKey(secret: string): Promise<CryptoKey> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // Bounded so a long-lived isolate cannot grow it without limit. Two hits racing to import the same key both
  // import it, which is harmless; a failed import is not kept.
  if (importedKeys.size > 10_000) importedKeys.clear();
  importedKeys.set(secret, key);
  return key;
}

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array<ArrayBuffer>> {
  // The imported key is looked up without awaiting: each await is a turn of workerd's instrumented promise
  // machinery, and a hit's path awaited a dozen of them (docs/benchmarks.md, fourth pass).
  const key = importedKeys.get(secret) ?? (await importHmacKey(secret));
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(message)));
}

/** The account's key `keyId`, as the base64url secret the extension receives (docs/protocol.md §5). */
export function deriveSigningKey(signingSecret: string, accountId: string, keyId: number): Promise<string> {
  const cacheKey = `${accountId}.${keyId}`;
  let derived = derivedKeys.get(cacheKey);
  if (!derived) {
    derived = hmacSha256(signingSecret, `mt-account-key-v1:${accountId}.${keyId}`).then(base64UrlEncode);
    if (derivedKeys.size > 10_000) derivedKeys.clear();
    derivedKeys.set(cacheKey, derived);
  }
  return derived;
}

export async function sha256Base64Url(text: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text))));
}

/**
 * A keyed hash of the client address, used only to count unique clicks. Keyed per account, so the same reader
 * cannot be linked across accounts, and the raw address is never stored or queued.
 */
export async function hashClientAddress(accountKey: string, address: string): Promise<string> {
  const digest = await hmacSha256(accountKey, `mt-ip-v1:${address}`);
  return base64UrlEncode(digest.slice(0, 12));
}
