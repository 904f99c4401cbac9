// The background's side of replies and bounces: only threads holding a tracked message reach the tracker, the
// Gmail tabs hear of recorded ones, and recipient checks are cached per address.
import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import type { ContactCheck } from "../../../shared/api";
import type { Credentials } from "./credentials";
import { ContactCheckCache, engagementGmailHandlers } from "./engagement";

const CREDENTIALS: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};
const SENDER = {} as never;

afterEach(() => vi.unstubAllGlobals());

describe("reportSignals", () => {
  it("sends only signals of tracked threads, settles the others, and tells the Gmail tabs of recorded ones", async () => {
    const requests: { url: string; body: unknown }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        requests.push({ url, body: JSON.parse(String(init.body)) });
        return new Response(
          JSON.stringify({
            results: [
              { gmailMessageId: "a1", outcome: "recorded", messageId: "m" },
              { gmailMessageId: "a2", outcome: "duplicate", messageId: "m" },
            ],
          }),
          { status: 200 },
        );
      }),
    );
    const news = vi.fn();
    const handlers = engagementGmailHandlers({
      requireCredentials: async () => CREDENTIALS,
      trackedThreads: async (_credentials, ids) => new Set(ids.filter((id) => id === "tracked")),
      news,
    });
    const at = "2026-11-22T10:00:00.000Z";
    const result = await handlers.reportSignals(
      {
        self: ["me@example.com"],
        signals: [
          { kind: "reply", threadId: "tracked", gmailMessageId: "a1", at, from: "carol@prospect.example" },
          { kind: "bounce", threadId: "tracked", gmailMessageId: "a2", at, bounce: { kind: "hard", recipients: ["x@y.example"] } },
          { kind: "reply", threadId: "private", gmailMessageId: "b1", at, from: "friend@else.example" },
        ],
      },
      SENDER,
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe("https://t.example/api/signals");
    const sent = requests[0]?.body as { signals: { gmailMessageId: string }[] } | undefined;
    expect(sent?.signals.map((s) => s.gmailMessageId)).toEqual(["a1", "a2"]);
    expect(result).toEqual({ answered: ["b1", "a1", "a2"], recorded: 1 });
    expect(news).toHaveBeenCalledWith(["tracked"]);
  });

  it("asks nothing of the tracker when no thread is tracked", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    const handlers = engagementGmailHandlers({
      requireCredentials: async () => CREDENTIALS,
      trackedThreads: async () => new Set(),
      news: vi.fn(),
    });
    const result = await handlers.reportSignals(
      { signals: [{ kind: "reply", threadId: "t", gmailMessageId: "c1", at: "2026-11-22T10:00:00Z", from: "a@b.example" }] },
      SENDER,
    );
    expect(result).toEqual({ answered: ["c1"], recorded: 0 });
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe("ContactCheckCache", () => {
  it("asks once per address within its lifetime, lower-cased, and again after it", async () => {
    let now = 0;
    const cache = new ContactCheckCache(1000, () => now);
    const fetchChecks = vi.fn(
      async (emails: string[]): Promise<ContactCheck[]> =>
        emails.map((email) => ({
          email,
          suppressed: email.startsWith("gone"),
          bounceKind: email.startsWith("gone") ? "hard" : null,
          optedOut: false,
        })),
    );
    expect((await cache.get(["Gone@A.example", "ok@a.example"], fetchChecks)).map((c) => c.suppressed)).toEqual([true, false]);
    await cache.get(["gone@a.example", "new@a.example"], fetchChecks);
    expect(fetchChecks.mock.calls).toEqual([[["gone@a.example", "ok@a.example"]], [["new@a.example"]]]);
    now = 2000;
    await cache.get(["ok@a.example"], fetchChecks);
    expect(fetchChecks).toHaveBeenCalledTimes(3);
    // A bounce recorded for an address: its answer is asked for again at once.
    cache.invalidate(["OK@a.example"]);
    await cache.get(["ok@a.example"], fetchChecks);
    expect(fetchChecks).toHaveBeenCalledTimes(4);
  });

  it("sends only addresses the tracker accepts (one it refuses would fail the whole batch)", async () => {
    const cache = new ContactCheckCache();
    const fetchChecks = vi.fn(
      async (emails: string[]): Promise<ContactCheck[]> =>
        emails.map((email) => ({ email, suppressed: false, bounceKind: null, optedOut: false })),
    );
    await cache.get(["a@b.c", "a..b@x.com", "not an address", `${"x".repeat(320)}@y.example`, "ok@a.example"], fetchChecks);
    expect(fetchChecks.mock.calls).toEqual([[["ok@a.example"]]]);
  });
});
