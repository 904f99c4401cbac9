// Server-side key material. Each account's signing key is derived from the deployment's SIGNING_SECRET, so the
// pixel and click handlers verify an id with CPU work alone: a forged id never costs a storage read.
import ipaddr from "ipaddr.js";
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
 * The network a client address belongs to, as the text the address hash covers: an IPv4 address's /24
 * ("203.0.113.0/24") and an IPv6 address's /48 ("2001:db8:85a3::/48"); an IPv4-mapped IPv6 address as its IPv4.
 * The last octet of IPv4 and the last 80 bits of IPv6 are what Google Analytics' IP anonymisation sets to zero
 * (support.google.com/analytics/answer/2763052, read 2026-12-02). Null for text that is no address.
 */
export function clientNetwork(address: string): string | null {
  const ipv4Network = ({ octets: [a, b, c] }: ipaddr.IPv4) => `${a}.${b}.${c}.0/24`;
  if (ipaddr.IPv6.isValid(address)) {
    const ip = ipaddr.IPv6.parse(address);
    if (ip.isIPv4MappedAddress()) return ipv4Network(ip.toIPv4Address());
    const [p0, p1, p2] = ip.parts.map((part) => part.toString(16));
    return `${p0}:${p1}:${p2}::/48`;
  }
  // Only the dotted quad Cloudflare gives (cf-connecting-ip): ipaddr.js would also read "203.0.113" as 203.0.0.113.
  return ipaddr.IPv4.isValidFourPartDecimal(address) ? ipv4Network(ipaddr.IPv4.parse(address)) : null;
}

/**
 * A keyed hash of the client's network (clientNetwork), never of the address itself: the rep holds the account key
 * (the extension signs with it), and a keyed hash of a whole IPv4 address is undone by hashing all 2^32 of them.
 * Undone, this gives back a network (256 IPv4 addresses, 2^80 IPv6 ones), not a client. It tells a reader's click apart
 * from another network's (unique clicks) and the sender's own browser from a reader elsewhere (sender views);
 * readers behind one office's network count as one, as they did behind one address. Keyed per account, so the same
 * network cannot be linked across accounts; the raw address is never stored or queued. Null for text that is no
 * address.
 */
export async function hashClientAddress(accountKey: string, address: string): Promise<string | null> {
  const network = clientNetwork(address);
  if (network === null) return null;
  return base64UrlEncode(new Uint8Array(await hmacSha256(accountKey, `mt-ip-v2:${network}`), 0, 12));
}
