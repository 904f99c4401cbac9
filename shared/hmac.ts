// HMAC-SHA256 with imported keys kept per isolate (or extension page): importing costs more than signing, and the
// tracker signs with the same few keys on every hit.
import { utf8 } from "./encoding";

const importedKeys = new Map<string, CryptoKey>();

async function importKey(cacheName: string, rawKey: () => Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const key = await crypto.subtle.importKey("raw", rawKey(), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // Bounded so a long-lived isolate cannot grow it without limit. Two callers racing to import the same key both
  // import it, which is harmless; a failed import is not kept.
  if (importedKeys.size > 10_000) importedKeys.clear();
  importedKeys.set(cacheName, key);
  return key;
}

/**
 * HMAC-SHA256 of `message` (UTF-8) under the key whose raw bytes `rawKey` gives, imported once per `cacheName`: a
 * name for both the secret and how its bytes are read, since the same text can be used as two different keys.
 * Not an async function, and a known key is taken without an await: each await is a turn of workerd's instrumented
 * promise machinery, and a click awaited a dozen of them (docs/benchmarks.md, fourth and seventh passes).
 */
export function hmacSha256(cacheName: string, rawKey: () => Uint8Array<ArrayBuffer>, message: string): Promise<ArrayBuffer> {
  const key = importedKeys.get(cacheName);
  if (key) return crypto.subtle.sign("HMAC", key, utf8(message));
  return importKey(cacheName, rawKey).then((imported) => crypto.subtle.sign("HMAC", imported, utf8(message)));
}
