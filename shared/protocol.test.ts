// Checks docs/protocol.md against the code: every vector in its "Test vectors" section must come out of
// shared/protocol.ts and worker/src/keys.ts exactly, and every invalid example must be rejected.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { clientNetwork, deriveSigningKey, hashClientAddress } from "../worker/src/keys";
import {
  clickUrl,
  isAcceptableDestination,
  mintTrackingId,
  parseTrackingId,
  pixelUrl,
  signedClickUrl,
  signLink,
  verifyLinkSignature,
  verifyTrackingId,
} from "./protocol";

interface Vectors {
  signingKey: { accountId: string; keyId: number; secret: string };
  nonceHex: string;
  trackerUrl: string;
  trackingId: string;
  pixelUrl: string;
  links: { linkIndex: number; destination: string; signature: string; clickUrl: string }[];
  invalid: { trackingIds: string[]; linkSignatures: { linkIndex: number; destination: string; signature: string }[] };
  derivation: { signingSecret: string; accountId: string; keyId: number; secret: string };
  clientAddressHash: { secret: string; addresses: { address: string; network: string; hash: string }[]; notAddresses: string[] };
}

function vectorsFromDoc(): Vectors {
  const doc = readFileSync(path.join(import.meta.dirname, "..", "docs", "protocol.md"), "utf8");
  const section = doc.slice(doc.indexOf("## 8. Test vectors"));
  const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!block) throw new Error("docs/protocol.md has no JSON block under '## 8. Test vectors'");
  return JSON.parse(block) as Vectors;
}

const vectors = vectorsFromDoc();
const nonce = Uint8Array.from(vectors.nonceHex.match(/../g) ?? [], (hex) => Number.parseInt(hex, 16));

describe("docs/protocol.md test vectors", () => {
  it("mints the documented tracking id and pixel URL", async () => {
    const id = await mintTrackingId(vectors.signingKey, nonce);
    expect(id).toBe(vectors.trackingId);
    expect(pixelUrl(vectors.trackerUrl, id)).toBe(vectors.pixelUrl);
    expect(pixelUrl(`${vectors.trackerUrl}/`, id)).toBe(vectors.pixelUrl);
  });

  it("signs the documented links and builds the documented click URLs", async () => {
    for (const link of vectors.links) {
      expect(await signLink(vectors.signingKey, vectors.trackingId, link.linkIndex, link.destination)).toBe(link.signature);
      expect(await signedClickUrl(vectors.trackerUrl, vectors.signingKey, vectors.trackingId, link.linkIndex, link.destination)).toBe(
        link.clickUrl,
      );
      expect(clickUrl(vectors.trackerUrl, vectors.trackingId, link.linkIndex, link.destination, link.signature)).toBe(link.clickUrl);
      // What the tracker parses out of the click URL is exactly the destination that was signed.
      expect(new URL(link.clickUrl).searchParams.get("u")).toBe(link.destination);
    }
  });

  it("verifies the valid values and rejects every documented invalid one", async () => {
    const valid = parseTrackingId(vectors.trackingId);
    expect(valid && (await verifyTrackingId(valid, vectors.signingKey.secret))).toBe(true);
    for (const text of vectors.invalid.trackingIds) {
      const parsed = parseTrackingId(text);
      expect(parsed === null || !(await verifyTrackingId(parsed, vectors.signingKey.secret)), text).toBe(true);
    }
    for (const link of vectors.links) {
      expect(
        await verifyLinkSignature(vectors.signingKey.secret, vectors.trackingId, link.linkIndex, link.destination, link.signature),
      ).toBe(true);
    }
    for (const bad of vectors.invalid.linkSignatures) {
      expect(await verifyLinkSignature(vectors.signingKey.secret, vectors.trackingId, bad.linkIndex, bad.destination, bad.signature)).toBe(
        false,
      );
    }
  });

  it("derives the documented account key from SIGNING_SECRET", async () => {
    const { signingSecret, accountId, keyId, secret } = vectors.derivation;
    expect(await deriveSigningKey(signingSecret, accountId, keyId)).toBe(secret);
  });

  it("hashes a client's network, not its address, with the documented key: the UTF-8 text of the account key", async () => {
    const { secret, addresses, notAddresses } = vectors.clientAddressHash;
    for (const { address, network, hash } of addresses) {
      expect(clientNetwork(address)).toBe(network);
      expect(await hashClientAddress(secret, address)).toBe(hash);
    }
    for (const text of notAddresses) expect(await hashClientAddress(secret, text)).toBeNull();
  });
});

describe("protocol rules", () => {
  it("mints a different id each time, from 16 random bytes", async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => mintTrackingId(vectors.signingKey)));
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(parseTrackingId(id)?.nonce).toHaveLength(22);
  });

  it("accepts only absolute http(s) destinations of printable ASCII", () => {
    for (const ok of [
      "https://example.com",
      "HTTP://EXAMPLE.COM/A?b=c#d",
      new URL("https://bücher.example/€ x").href,
      // Unusual, but URLs with a host: the URL Standard reads these as example.com and c.
      "http:///example.com/x",
      "https://a:b@c/",
    ]) {
      expect(isAcceptableDestination(ok), ok).toBe(true);
    }
    for (const bad of [
      "",
      "javascript:alert(1)",
      "data:text/html,x",
      "//example.com/",
      "/relative",
      "https:/\\example.com",
      "https://example.com/a b",
      "https://example.com/\n",
      "https://bücher.example/",
      "ftp://example.com/",
      "https://",
      // Printable, http(s), and still no URL with a host: an unclosed IPv6 address, an empty host, a bad port.
      "http://[::1",
      "https://:80/",
      "https://user@/x",
      "https://example.com:99999",
      "https://%zz/",
      `https://example.com/${"a".repeat(4100)}`,
    ]) {
      expect(isAcceptableDestination(bad), bad).toBe(false);
    }
  });

  it("refuses to sign what the tracker would refuse", async () => {
    await expect(signLink(vectors.signingKey, vectors.trackingId, 0, "javascript:alert(1)")).rejects.toThrow();
    await expect(signLink(vectors.signingKey, vectors.trackingId, 1000, "https://example.com/")).rejects.toThrow();
    await expect(signLink(vectors.signingKey, vectors.trackingId, -1, "https://example.com/")).rejects.toThrow();
  });
});
