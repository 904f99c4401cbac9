import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { base64UrlEncode, utf8 } from "../../shared/encoding";
import { clickUrl, signedClickUrl } from "../../shared/protocol";
import worker from "../src/index";
import {
  BASE,
  CHROME_UA,
  call,
  clickLink,
  createAccount,
  forged,
  respelled,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
} from "./helpers";

/** Signs any destination the way docs/protocol.md says, bypassing the client-side scheme check. */
async function rawSignature(account: TestAccount, id: string, index: number, destination: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(account.key.secret.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`mt-link-v1:${id}\n${index}\n${destination}`)));
  return base64UrlEncode(mac.slice(0, 16));
}

async function expectInvalidPage(response: Response, mustNotContain?: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get("location")).toBeNull();
  expect(response.headers.get("refresh")).toBeNull();
  const body = await response.text();
  expect(body).toContain("This link is not valid");
  expect(body).not.toMatch(/<meta[^>]+refresh|<script/i);
  if (mustNotContain) expect(body).not.toContain(mustNotContain);
}

function get(link: string, init: RequestInit = {}) {
  return exports.default.fetch(new Request(link, { redirect: "manual", ...init, headers: { "user-agent": CHROME_UA, ...init.headers } }));
}

describe("GET /c/<id>/<n>", () => {
  it("redirects to exactly the signed URL and records one click", async () => {
    const account = await createAccount();
    const destinations = [
      "https://example.com/pricing?plan=pro&utm_source=email#compare",
      "http://example.org/a%20b/c+d?q=1+2&r=%2B%26&empty=",
      "https://xn--bcher-kva.example/%E2%82%AC?x=%22quoted%22",
      "https://example.net/path;params?a=1&a=2&b=~!*'()",
    ];
    const message = await sentMessage(account, { links: destinations.map((url, index) => ({ index, url })) });
    for (const [index, url] of destinations.entries()) {
      const response = await clickLink(account, message.id, index, url);
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe(url);
      expect(response.headers.get("cache-control")).toContain("no-store");
    }
    const rows = await waitForEvents(message.id, destinations.length);
    expect(rows.map((r) => r.link_index).sort()).toEqual([0, 1, 2, 3]);
    expect(rows.every((r) => r.kind === "click")).toBe(true);
  });

  it("answers a plain 400 page for a bad signature, echoing no URL and recording nothing", async () => {
    const account = await createAccount();
    const url = "https://example.com/offer";
    const message = await sentMessage(account, {
      links: [
        { index: 0, url },
        { index: 1, url: "https://example.com/other" },
      ],
    });
    const good = await signedClickUrl(BASE, account.key, message.id, 0, url);
    const goodSignature = new URL(good).searchParams.get("s") ?? "";
    const other = await createAccount();
    const otherMessage = await sentMessage(other);
    const attempts = [
      clickUrl(BASE, message.id, 0, "https://evil.example/phish", goodSignature), // destination swapped
      clickUrl(BASE, message.id, 1, url, goodSignature), // index swapped
      clickUrl(BASE, otherMessage.id, 0, url, goodSignature), // id swapped
      clickUrl(BASE, `${message.id.slice(0, -22)}${forged(message.id.slice(-22))}`, 0, url, goodSignature), // id's MAC forged
      clickUrl(BASE, respelled(message.id), 0, url, goodSignature), // id's MAC respelled
      clickUrl(BASE, message.id, 0, url, forged(goodSignature)),
      clickUrl(BASE, message.id, 0, url, respelled(goodSignature)), // same bytes, another spelling
      clickUrl(BASE, message.id, 0, url, ""),
      clickUrl(BASE, message.id, 0, url, "not-a-signature"),
      good.replace(/&s=.*/, ""), // missing signature
      good.replace(/\?u=[^&]*/, "?"), // missing destination
      `${good}&u=${encodeURIComponent("https://evil.example/")}`, // repeated destination
      good.replace(`/${message.id}/0`, `/${message.id}/00`), // non-canonical index
      good.replace(`/${message.id}/0`, `/${message.id}/-1`),
      good.replace(`/${message.id}/0`, `/${message.id}/1000`),
      good.replace(`/${message.id}/0`, `/${message.id}/0/extra`),
      `${BASE}/c/${message.id}`,
      `${BASE}/c/`,
    ];
    for (const [n, link] of attempts.entries()) {
      const response = await get(link);
      expect(response.status, `attempt ${n}`).toBe(400);
      await expectInvalidPage(response, "evil.example");
    }
    await expectInvalidPage(await get(clickUrl(BASE, message.id, 0, url, goodSignature).replace("/c/", "/c/x")));
    // The good link still works, and it is the only click stored.
    expect((await get(good)).status).toBe(302);
    await waitForEvents(message.id, 1);
    expect(await storedEvents(message.id)).toHaveLength(1);
  });

  it("refuses non-http(s) and unsafe destinations even when they carry a valid signature", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const destinations = [
      "javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "ftp://example.com/file",
      "//evil.example/",
      "https:\\\\evil.example\\",
      "https://example.com/\r\nSet-Cookie: a=b",
      "https://example.com/a b",
      "https://example.com/\u00e9",
      "mailto:a@example.com",
      "https://",
      `https://example.com/${"a".repeat(5000)}`,
    ];
    for (const destination of destinations) {
      const signature = await rawSignature(account, message.id, 0, destination);
      await expectInvalidPage(await get(clickUrl(BASE, message.id, 0, destination, signature)), "evil.example");
    }
    expect(await storedEvents(message.id)).toHaveLength(0);
  });

  it("answers HEAD like GET but records nothing", async () => {
    const account = await createAccount();
    const url = "https://example.com/head";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    const link = await signedClickUrl(BASE, account.key, message.id, 0, url);
    const head = await get(link, { method: "HEAD" });
    expect(head.status).toBe(302);
    expect(head.headers.get("location")).toBe(url);
    expect(head.body).toBeNull();
    const invalid = await get(link.replace(/s=.*/, "s=AAAAAAAAAAAAAAAAAAAAAA"), { method: "HEAD" });
    // The invalid page's headers without its body, as Hono answered HEAD.
    expect(invalid.body).toBeNull();
    await expectInvalidPage(new Response("This link is not valid", invalid));
    // A GET afterwards is stored; the HEAD never is.
    await get(link);
    await waitForEvents(message.id, 1);
    const rows = await storedEvents(message.id);
    expect(rows).toHaveLength(1);
  });

  it("verifies a click with one MAC before answering: the link's signature covers the id", async () => {
    const account = await createAccount();
    const url = "https://example.com/one-mac";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    const link = await signedClickUrl(BASE, account.key, message.id, 0, url);
    // No client address, so no address hash: the only MACs are the verification's, whenever the gathered hits go.
    const request = () => new Request(link, { headers: { "user-agent": CHROME_UA } });
    // The first click derives the account key, a MAC of its own; the next ones take it from memory.
    const first = createExecutionContext();
    expect((await worker.fetch(request(), env, first)).status).toBe(302);
    await waitOnExecutionContext(first);
    const sign = vi.spyOn(crypto.subtle, "sign");
    try {
      const ctx = createExecutionContext();
      const response = await worker.fetch(request(), env, ctx);
      expect(response.status).toBe(302);
      expect(sign).toHaveBeenCalledTimes(1);
      await waitOnExecutionContext(ctx);
    } finally {
      sign.mockRestore();
    }
  });

  it("answers a plain 500 page, echoing nothing, when answering fails (the invalid-hit limiter down)", async () => {
    // A defensive fault, not a documented one: Cloudflare's rate limiting binding documents `limit()` resolving to
    // `{ success }` (developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/), never how it fails.
    const ctx = createExecutionContext();
    const down = { limit: () => Promise.reject(new Error("rate limiter unavailable")) } as unknown as RateLimit;
    const link = `${BASE}/c/not-an-id/0?u=${encodeURIComponent("https://evil.example/x")}&s=AAAAAAAAAAAAAAAAAAAAAA`;
    const response = await worker.fetch(
      new Request(link, { headers: { "user-agent": CHROME_UA, "cf-connecting-ip": "192.0.2.7" } }),
      { ...env, INVALID_HITS: down },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(500);
    expect(response.headers.get("location")).toBeNull();
    const body = await response.text();
    expect(body).toContain("This link could not be followed");
    expect(body).not.toMatch(/evil\.example|rate limiter|<script/);
  });

  it("keeps redirecting after tracking stopped, without storing the click", async () => {
    const account = await createAccount();
    const url = "https://example.com/stopped";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    expect((await account.json("POST", `/api/messages/${message.id}/stop`)).status).toBe(200);
    const response = await clickLink(account, message.id, 0, url);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(url);
    // Give the queue time to deliver, then prove nothing was stored: a later control hit on another message lands.
    const control = await sentMessage(account, { links: [{ index: 0, url }] });
    await clickLink(account, control.id, 0, url);
    await waitForEvents(control.id, 1);
    expect(await storedEvents(message.id)).toHaveLength(0);
  });

  it("does not answer other paths under /c with anything but the invalid page", async () => {
    await expectInvalidPage(await call("/c/anything/at/all?u=https://evil.example/&s=x"), "evil.example");
    expect(await env.DB.prepare("SELECT 1").first()).toBeTruthy();
  });
});
