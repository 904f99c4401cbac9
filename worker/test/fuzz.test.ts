// Fuzzing every endpoint with malformed, truncated, oversized and mutated input. Seeded, so a failure replays.
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { mintTrackingId, signedClickUrl } from "../../shared/protocol";
import worker from "../src/index";
import { FlakyD1 } from "./faults";
import { BASE, CHROME_UA, createAccount, sentMessage } from "./helpers";

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "//evil.example/",
  "\\\\evil.example\\",
  "https:\\\\evil.example",
  "/\\evil.example",
  "https://evil.example/\r\nLocation: https://evil.example/",
  "%0d%0aSet-Cookie:x=1",
  "\u0000",
  // A path climbing out of the web root, built so that no path in this repository names a file outside it.
  `${"../".repeat(4)}etc/passwd`,
  "%2e%2e%2f",
  "<script>alert(1)</script>",
  "'\"`;--",
  "a".repeat(9000),
  "😀",
  "%",
  "%zz",
  "",
];

describe("fuzzing every endpoint", () => {
  it("never answers 5xx, never redirects anywhere unsigned, never leaks a stack trace or secret, nor logs a secret when its database fails", async () => {
    const random = prng(20261122);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const account = await createAccount();
    const url = "https://example.com/offer?x=1";
    const message = await sentMessage(account, { links: [{ index: 0, url }], campaign: "Q4 launch", threadId: "t1" });
    const signedLink = await signedClickUrl(BASE, account.key, message.id, 0, url);
    const otherId = await mintTrackingId(account.key);
    const mutate = (text: string): string => {
      const chars = [...text];
      switch (Math.floor(random() * 6)) {
        case 0: // flip a character
          chars[Math.floor(random() * chars.length)] = pick([..."Aa0_-.%/\\?&=#"]);
          return chars.join("");
        case 1: // truncate
          return text.slice(0, Math.floor(random() * text.length));
        case 2: // insert something nasty
          return text.slice(0, Math.floor(random() * text.length)) + pick(NASTY) + text.slice(Math.floor(random() * text.length));
        case 3: // duplicate a part
          return text + text.slice(Math.floor(random() * text.length));
        case 4:
          return pick(NASTY);
        default:
          return encodeURIComponent(text);
      }
    };
    const signatureOf = new URL(signedLink).searchParams.get("s") ?? "";
    const paths = [
      () => `/o/${mutate(message.id)}.gif`,
      () => `/o/${mutate(`${message.id}.gif`)}`,
      () => `/c/${mutate(message.id)}/0?u=${encodeURIComponent(url)}&s=${signatureOf}`,
      () => `/c/${message.id}/${mutate("0")}?u=${encodeURIComponent(url)}&s=${signatureOf}`,
      () => `/c/${message.id}/0?u=${mutate(encodeURIComponent(url))}&s=${signatureOf}`,
      () => `/c/${message.id}/0?u=${encodeURIComponent(pick(NASTY))}&s=${signatureOf}`,
      () => `/c/${message.id}/0?u=${encodeURIComponent(url)}&s=${mutate(signatureOf)}`,
      () => `/c/${otherId}/0?u=${encodeURIComponent(url)}&s=${signatureOf}`,
      () => mutate(signedLink.slice(BASE.length)),
      () => `/api/messages/${mutate(message.id)}`,
      () => `/api/events?after=${mutate("12")}&limit=${mutate("50")}`,
      () => `/api/${mutate("messages/status")}`,
      () => `/${mutate("api/account")}`,
      () => `/u/${mutate(message.id)}`,
      () => `/u/${message.id}`,
      () => `/api/${mutate("signals")}`,
      () => `/api/contacts/${mutate("check")}`,
      () => `/api/contacts?sort=${mutate("score")}&campaign=${mutate("Q4")}&minScore=${mutate("1.5")}&limit=${mutate("20")}`,
      () => `/api/contacts?cursor=${mutate("WzEsImFAYi5jbyJd")}`,
      () => `/api/contacts/${mutate("buyer@acme.example")}?cursor=${mutate("WzEsIjA6eCJd")}`,
      () => `/api/contacts/${mutate("buyer@acme.example")}/${mutate("suppression")}`,
      () => `/api/campaigns/${mutate("Q4%20launch")}`,
      () => `/api/campaigns?cursor=${mutate("WzEsIngiXQ")}&limit=${mutate("5")}`,
      () => `/api/messages?campaign=${mutate("Q4")}&state=${mutate("opened")}&q=${mutate("50%25")}&cursor=${mutate("WzEsIngiXQ")}`,
      () => `/api/export/${mutate("messages.csv")}`,
      () => `/api/export/${pick(["messages", "events", "contacts"])}.csv`,
    ];
    const bodies = [
      () =>
        mutate(
          JSON.stringify({
            subject: "s",
            recipients: [{ email: "a@b.co" }],
            sentAt: new Date().toISOString(),
            threadId: "t1",
            links: [{ index: 0, url }],
          }),
        ),
      () => mutate(JSON.stringify({ threadIds: ["t1", "t2"] })),
      () => mutate(JSON.stringify({ messageIds: [message.id] })),
      () =>
        JSON.stringify({
          subject: pick(NASTY),
          recipients: [{ email: pick(NASTY) }],
          sentAt: pick(NASTY),
          links: [{ index: 0, url: pick(NASTY) }],
        }),
      () =>
        mutate(
          JSON.stringify({
            self: ["rep@example.com"],
            signals: [
              { kind: "reply", threadId: "t1", gmailMessageId: "m1", at: new Date().toISOString(), from: "a@b.co" },
              {
                kind: "bounce",
                threadId: "t1",
                gmailMessageId: "m2",
                at: new Date().toISOString(),
                bounce: { kind: "soft", recipients: ["a@b.co"] },
              },
            ],
          }),
        ),
      () => mutate(JSON.stringify({ emails: ["a@b.co", "C@D.example"] })),
      () => `email=${encodeURIComponent(mutate("buyer@acme.example"))}`,
      () => "x".repeat(300_000),
      () => "",
    ];
    const headerValues = [
      () => `Bearer ${mutate(account.apiToken)}`,
      () => `Bearer ${account.apiToken}`,
      () => mutate("Bearer"),
      () => "x".repeat(8000),
    ];
    // One request in ten meets a database that fails every query (the account not cached either, as in
    // privacy.test.ts): the worker answers it with a plain error and logs the failure, so what it logs is fuzzed too.
    // Every other request runs against the real one, where nothing fails and nothing is logged.
    const failing = {
      ...env,
      DB: new FlakyD1(env.DB, () => true).asD1(),
      CACHE: { get: async () => null, put: async () => {} } as unknown as KVNamespace,
    };
    const logged: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    try {
      for (let i = 0; i < 1500; i++) {
        const method = pick(["GET", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
        const path = pick(paths)();
        let request: Request;
        try {
          request = new Request(`${BASE}${path.startsWith("/") ? path : `/${path}`}`, {
            method,
            redirect: "manual",
            headers: {
              "user-agent": random() < 0.2 ? pick(NASTY).replace(/[^\x20-\x7e]/g, "") : CHROME_UA,
              authorization: pick(headerValues)().replace(/[^\x20-\x7e]/g, ""),
              "content-type": "application/json",
            },
            ...(method === "GET" || method === "HEAD" ? {} : { body: pick(bodies)() }),
          });
        } catch {
          continue; // not even a valid HTTP request: nothing to send
        }
        const broken = random() < 0.1;
        const response = broken ? await worker.fetch(request, failing, createExecutionContext()) : await exports.default.fetch(request);
        const text = method === "HEAD" ? "" : await response.text();
        const context = `${method} ${path.slice(0, 200)} -> ${response.status}${broken ? " (database failing)" : ""}`;
        if (!broken) expect(response.status, context).toBeLessThan(500);
        const location = response.headers.get("location");
        if (location !== null) {
          // The only redirect this server may ever give is to the one destination that was signed.
          expect(location, context).toBe(url);
          expect(response.status, context).toBe(302);
        }
        if (path.startsWith("/o/") && (method === "GET" || method === "HEAD")) {
          expect(response.status, context).toBe(200);
          expect(response.headers.get("content-type"), context).toBe("image/gif");
        }
        expect(text, context).not.toMatch(/\bat .+\.(ts|js):\d+|Error:|stack/);
        expect(text, context).not.toContain(account.apiToken);
        expect(text, context).not.toContain(env.SIGNING_SECRET ?? "never");
        expect(text, context).not.toContain("evil.example");
      }
    } finally {
      vi.restoreAllMocks();
    }
    // The requests that met the failing database were logged: the check below looks at something.
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) {
      expect(line).not.toContain(account.apiToken.slice(20));
      expect(line).not.toContain(account.signingKey.secret);
      expect(line).not.toContain(env.SIGNING_SECRET ?? "never");
    }
  }, 120_000);
});
