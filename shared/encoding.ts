// Byte/string encodings used by the tracking protocol (docs/protocol.md).
// Plain TypeScript on WebCrypto-era globals, so the extension and the worker share one implementation.

const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** RFC 4648 §5 base64url, unpadded. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return encodeBits(bytes, BASE64URL_ALPHABET, 6);
}

/** Decodes unpadded base64url; returns null for anything else (never throws on bad input). */
export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** RFC 4648 base32, lowercase, unpadded. Used for account ids (case-insensitive-safe, no punctuation). */
export function base32Encode(bytes: Uint8Array): string {
  return encodeBits(bytes, BASE32_ALPHABET, 5);
}

/**
 * The bytes as characters of `alphabet`, `width` bits each, the last one zero-filled: RFC 4648's unpadded base32
 * and base64url. A walk over the bytes, with no `btoa` and no replacing: base64url that way (a binary string,
 * `btoa`, three replaces) was about 6 % of a click's JavaScript, three MACs a click (docs/benchmarks.md).
 */
function encodeBits(bytes: Uint8Array, alphabet: string, width: number): string {
  const mask = (1 << width) - 1;
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    // Only the low `bits` bits are ever read, so the shift may overflow.
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= width) {
      out += alphabet[(value >>> (bits - width)) & mask];
      bits -= width;
    }
  }
  if (bits > 0) out += alphabet[(value << (width - bits)) & mask];
  return out;
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length));
}

// Pure: a bundle that imports nothing that encodes (the page-world script) drops it.
const encoder = /* @__PURE__ */ new TextEncoder();

/** How many bytes `text` takes in UTF-8, without encoding it. JSON.stringify's output has no lone surrogates. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Two bytes up to U+07FF, three above; a surrogate pair's two units make four bytes, so one more each.
    if (code > 0x7f) bytes += code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  // ASCII, which every MAC input of the protocol is, is copied code by code: `TextEncoder` is a call into the
  // runtime, and in workerd it cost more than the copy (docs/benchmarks.md).
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // encode() always returns a fresh ArrayBuffer; some lib typings say ArrayBufferLike, which WebCrypto's types refuse.
    if (code > 0x7f) return encoder.encode(text) as Uint8Array<ArrayBuffer>;
    bytes[i] = code;
  }
  return bytes;
}

/** Compares two byte arrays without an early exit, so timing does not reveal how many leading bytes matched. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The same comparison over two strings' UTF-16 code units, without encoding them first. */
export function constantTimeEqualText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
