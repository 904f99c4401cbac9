import { describe, expect, it } from "vitest";
import { base32Encode, base64UrlDecode, base64UrlEncode, randomBytes, utf8, utf8Length } from "./encoding";

const ascii = (text: string) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));

describe("encodings", () => {
  // RFC 4648 §10's test vectors, unpadded (and base32 in lowercase, as account ids use it).
  const vectors = [
    ["", "", ""],
    ["f", "Zg", "my"],
    ["fo", "Zm8", "mzxq"],
    ["foo", "Zm9v", "mzxw6"],
    ["foob", "Zm9vYg", "mzxw6yq"],
    ["fooba", "Zm9vYmE", "mzxw6ytb"],
    ["foobar", "Zm9vYmFy", "mzxw6ytboi"],
  ] as const;

  it("encodes RFC 4648's test vectors", () => {
    for (const [text, base64url, base32] of vectors) {
      expect(base64UrlEncode(ascii(text)), text).toBe(base64url);
      expect(base32Encode(ascii(text)), text).toBe(base32);
    }
  });

  it("writes base64url's two own characters and matches Node's encoder on random bytes", () => {
    expect(base64UrlEncode(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
    for (let length = 0; length < 70; length++) {
      const bytes = randomBytes(length);
      const encoded = base64UrlEncode(bytes);
      expect(encoded).toBe(Buffer.from(bytes).toString("base64url"));
      expect(base64UrlDecode(encoded)).toEqual(bytes);
    }
  });

  it("encodes text as UTF-8, ASCII or not", () => {
    const encoder = new TextEncoder();
    for (const text of ["", "mt-link-v1:id\n0\nhttps://example.com/?a=1", "café", "naïve ☕ 😀", "a\u0080b", "\u007f"]) {
      expect(utf8(text), text).toEqual(encoder.encode(text));
    }
  });

  it("counts UTF-8 bytes as TextEncoder encodes them, at each width", () => {
    const encoder = new TextEncoder();
    for (const text of [
      "",
      "plain",
      "São Paulo",
      "Zürich \u07ff\u0800",
      "東京 \uffff",
      "😀 and 𝄞",
      JSON.stringify({ city: "Kraków 😀" }),
    ]) {
      expect(utf8Length(text), text).toBe(encoder.encode(text).length);
    }
  });
});
