// The tracking-id and click-link formats, exactly as docs/protocol.md specifies them.
// The extension mints ids and signs links offline at send time; the worker verifies them before touching storage.
import { base32Encode, base64UrlDecode, base64UrlEncode, constantTimeEqualText, randomBytes } from "./encoding";
import { hmacSha256 } from "./hmac";

export const ACCOUNT_ID_PATTERN = /^[a-z2-7]{16}$/;
/** A tracking id: `<accountId>.<keyId>.<nonce>.<mac>`; see docs/protocol.md §2. */
export const TRACKING_ID_PATTERN = /^([a-z2-7]{16})\.([1-9][0-9]{0,3})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;
/** The same pattern without its anchors, as text: for finding ids inside URLs and Gmail's data (the page world). */
export const TRACKING_ID_UNANCHORED = TRACKING_ID_PATTERN.source.slice(1, -1);
const LINK_SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const LINK_INDEX_PATTERN = /^(0|[1-9][0-9]{0,2})$/;
export const MAX_LINK_INDEX = 999;
export const MAX_DESTINATION_LENGTH = 4096;
const MAC_BYTES = 16;
const NONCE_BYTES = 16;
const KEY_BYTES = 32;

/** A per-account HMAC-SHA256 key as the tracker hands it out: `secret` is 32 bytes in base64url. */
export interface SigningKey {
  accountId: string;
  keyId: number;
  secret: string;
}

export interface TrackingId {
  value: string;
  accountId: string;
  keyId: number;
  nonce: string;
  mac: string;
}

export function newAccountId(): string {
  return base32Encode(randomBytes(10));
}

export function newKeySecret(): string {
  return base64UrlEncode(randomBytes(KEY_BYTES));
}

/** Parses the shape of a tracking id only; it proves nothing until {@link verifyTrackingId} passes. */
export function parseTrackingId(value: string): TrackingId | null {
  const match = TRACKING_ID_PATTERN.exec(value);
  if (!match) return null;
  const [, accountId = "", keyId = "", nonce = "", mac = ""] = match;
  return { value, accountId, keyId: Number(keyId), nonce, mac };
}

/**
 * The account a tracking id was minted for, by its shape alone (parseTrackingId); undefined for a string that is not
 * one. Which account an email, a reminder or a withdrawal belongs to, wherever the extension asks.
 */
export function accountOf(trackingId: string): string | undefined {
  return parseTrackingId(trackingId)?.accountId;
}

function keyBytes(secret: string): Uint8Array<ArrayBuffer> {
  const raw = base64UrlDecode(secret);
  if (!raw || raw.length !== KEY_BYTES) throw new Error("a signing key secret is 32 bytes of base64url");
  return raw;
}

/** The HMAC of ids and link signatures, under an account key; only its first MAC_BYTES are used. */
function accountMac(secret: string, message: string): Promise<ArrayBuffer> {
  return hmacSha256(`base64url:${secret}`, () => keyBytes(secret), message);
}

function macText(mac: ArrayBuffer): string {
  return base64UrlEncode(new Uint8Array(mac, 0, MAC_BYTES));
}

function idMacInput(accountId: string, keyId: number, nonce: string): string {
  return `mt-id-v1:${accountId}.${keyId}.${nonce}`;
}

function linkMacInput(trackingId: string, linkIndex: number, destination: string): string {
  return `mt-link-v1:${trackingId}\n${linkIndex}\n${destination}`;
}

/** Mints a fresh tracking id with no network round trip (the extension calls this at send time). */
export async function mintTrackingId(key: SigningKey, nonceBytes: Uint8Array = randomBytes(NONCE_BYTES)): Promise<string> {
  if (nonceBytes.length !== NONCE_BYTES) throw new Error("a nonce is 16 bytes");
  const nonce = base64UrlEncode(nonceBytes);
  const mac = macText(await accountMac(key.secret, idMacInput(key.accountId, key.keyId, nonce)));
  return `${key.accountId}.${key.keyId}.${nonce}.${mac}`;
}

/**
 * MACs are compared as their base64url text, not as decoded bytes: the last character of 16 bytes in base64url
 * has 4 unused bits, and accepting a variant spelling would make ids and signatures malleable.
 */
function sameMac(expected: ArrayBuffer, given: string): boolean {
  return constantTimeEqualText(macText(expected), given);
}

export async function verifyTrackingId(id: TrackingId, secret: string): Promise<boolean> {
  return sameMac(await accountMac(secret, idMacInput(id.accountId, id.keyId, id.nonce)), id.mac);
}

/**
 * Whether a destination may appear in a click link: an absolute http(s) URL of printable ASCII.
 * Printable ASCII keeps the `Location` header byte-exact and rules out CR/LF injection;
 * clients sign `new URL(href).href`, which always satisfies it for http(s) links.
 */
export function isAcceptableDestination(destination: string): boolean {
  if (destination.length === 0 || destination.length > MAX_DESTINATION_LENGTH) return false;
  if (!/^[\x21-\x7e]+$/.test(destination) || !/^https?:\/\//i.test(destination)) return false;
  // Parsed, not only URL.canParse: the scheme and host of the parsed URL are checked too.
  let parsed: URL;
  try {
    parsed = new URL(destination);
  } catch {
    return false;
  }
  return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "";
}

export async function signLink(key: SigningKey, trackingId: string, linkIndex: number, destination: string): Promise<string> {
  if (!Number.isInteger(linkIndex) || linkIndex < 0 || linkIndex > MAX_LINK_INDEX) throw new Error("link index out of range");
  if (!isAcceptableDestination(destination)) throw new Error("only absolute http(s) URLs of printable ASCII can be signed");
  return macText(await accountMac(key.secret, linkMacInput(trackingId, linkIndex, destination)));
}

export async function verifyLinkSignature(
  secret: string,
  trackingId: string,
  linkIndex: number,
  destination: string,
  signature: string,
): Promise<boolean> {
  if (!LINK_SIGNATURE_PATTERN.test(signature)) return false;
  return sameMac(await accountMac(secret, linkMacInput(trackingId, linkIndex, destination)), signature);
}

export function parseLinkIndex(text: string): number | null {
  return LINK_INDEX_PATTERN.test(text) ? Number(text) : null;
}

/** `trackerUrl` is the tracker's origin (and optional path prefix) without a trailing slash. */
export function pixelUrl(trackerUrl: string, trackingId: string): string {
  return `${trimTrailingSlash(trackerUrl)}/o/${trackingId}.gif`;
}

/** An email's recipient opt-out page: docs/protocol.md §11. */
export function optOutUrl(trackerUrl: string, trackingId: string): string {
  return `${trimTrailingSlash(trackerUrl)}/u/${trackingId}`;
}

export function clickUrl(trackerUrl: string, trackingId: string, linkIndex: number, destination: string, signature: string): string {
  return `${trimTrailingSlash(trackerUrl)}/c/${trackingId}/${linkIndex}?u=${encodeURIComponent(destination)}&s=${signature}`;
}

export async function signedClickUrl(
  trackerUrl: string,
  key: SigningKey,
  trackingId: string,
  linkIndex: number,
  destination: string,
): Promise<string> {
  return clickUrl(trackerUrl, trackingId, linkIndex, destination, await signLink(key, trackingId, linkIndex, destination));
}

export function trimTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
