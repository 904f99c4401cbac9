// The background's side of replies and bounces: only threads holding a tracked message reach the tracker, the
// Gmail tabs hear of recorded ones, and signals of a thread whose email is still in the outbox are held.
import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import type { Credentials } from "./credentials";
import { HELD_SIGNALS_KEY, HeldSignals, MAX_HELD_SIGNALS } from "./held-signals";
import { memoryArea } from "./memory-area";
import { releaseHeldSignals, signalHandlers } from "./signals";

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
    const handlers = signalHandlers({
      requireCredentials: async () => CREDENTIALS,
      trackedThreads: async (_credentials, ids) => new Set(ids.filter((id) => id === "tracked")),
      outboxThreads: async () => new Set(),
      held: new HeldSignals(memoryArea()),
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
    const handlers = signalHandlers({
      requireCredentials: async () => CREDENTIALS,
      trackedThreads: async () => new Set(),
      outboxThreads: async () => new Set(),
      held: new HeldSignals(memoryArea()),
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

describe("signals of a thread whose email is still in the outbox", () => {
  const at = "2026-11-22T10:00:00.000Z";
  const reply = (gmailMessageId: string, threadId = "waiting") =>
    ({ kind: "reply", threadId, gmailMessageId, at, from: "carol@prospect.example" }) as const;

  /** A background whose outbox holds the email of thread "waiting" until `deliver()`, and a tracker that may be down. */
  function setup() {
    const area = memoryArea();
    const tracked = new Set<string>();
    const outbox = new Set(["waiting"]);
    const requests: { signals: { gmailMessageId: string }[]; self: string[] }[] = [];
    let trackerUp = true;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (_url: string, init: RequestInit) => {
        if (!trackerUp) throw new TypeError("Failed to fetch");
        const body = JSON.parse(String(init.body)) as (typeof requests)[number];
        requests.push(body);
        const results = body.signals.map((s) => ({ gmailMessageId: s.gmailMessageId, outcome: "recorded", messageId: "m" }));
        return new Response(JSON.stringify({ results }), { status: 200 });
      }),
    );
    const news = vi.fn();
    const deps = {
      requireCredentials: async () => CREDENTIALS,
      trackedThreads: async (_credentials: Credentials, ids: string[]) => new Set(ids.filter((id) => tracked.has(id))),
      outboxThreads: async () => new Set(outbox),
      held: new HeldSignals(area),
      news,
    };
    const deliver = () => {
      outbox.delete("waiting");
      tracked.add("waiting");
    };
    const setTrackerUp = (up: boolean) => {
      trackerUp = up;
    };
    return { area, deps, requests, news, deliver, setTrackerUp, tracked };
  }

  it("are held (not sent, not lost) and reported once the email is registered, even after a restart", async () => {
    const { area, deps, requests, news, deliver, setTrackerUp, tracked } = setup();
    const handlers = signalHandlers(deps);
    // Seen while the tracker is down: held all the same, and the error tells the content script to try the rest later.
    setTrackerUp(false);
    deps.trackedThreads = async () => {
      throw new TypeError("Failed to fetch");
    };
    await expect(
      handlers.reportSignals({ self: ["me@example.com"], signals: [reply("r1"), reply("p1", "private")] }, SENDER),
    ).rejects.toThrow();
    expect((await deps.held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["r1"]);
    deps.trackedThreads = async (_credentials: Credentials, ids: string[]) => new Set(ids.filter((id) => tracked.has(id)));
    setTrackerUp(true);
    const result = await handlers.reportSignals({ self: ["me@example.com"], signals: [reply("r1"), reply("p1", "private")] }, SENDER);
    // The content script stops sending both: p1's thread holds no tracked email, r1 is the background's to keep.
    expect(result).toEqual({ answered: ["p1", "r1"], recorded: 0 });
    expect(requests).toEqual([]);
    expect((await new HeldSignals(area).all()).map((h) => h.signal.gmailMessageId)).toEqual(["r1"]);

    // Still in the outbox: nothing to send yet.
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(requests).toEqual([]);

    // Registered, but the tracker is down again when the release runs: still held.
    deliver();
    setTrackerUp(false);
    await expect(releaseHeldSignals(deps)).rejects.toThrow();
    expect(await deps.held.all()).toHaveLength(1);

    // A restarted background (state from storage only) reports it with the addresses it was seen with.
    setTrackerUp(true);
    const restarted = { ...deps, held: new HeldSignals(area) };
    expect(await releaseHeldSignals(restarted)).toBe(1);
    expect(requests).toEqual([{ self: ["me@example.com"], signals: [reply("r1")] }]);
    expect(news).toHaveBeenCalledWith(["waiting"]);
    expect(await restarted.held.all()).toEqual([]);
    expect(await releaseHeldSignals(restarted)).toBe(0);
    expect(requests).toHaveLength(1);
  });

  it("are settled, not sent, when the registered email turns out to be in no tracked thread", async () => {
    const { deps, requests } = setup();
    await signalHandlers(deps).reportSignals({ signals: [reply("r1")] }, SENDER);
    deps.outboxThreads = async () => new Set(); // delivered, but the tracker has no message in that thread
    expect(await releaseHeldSignals(deps)).toBe(1);
    expect(requests).toEqual([]);
    expect(await deps.held.all()).toEqual([]);
  });

  it("are released at once when their email was delivered while they were being held", async () => {
    const { deps, requests, deliver } = setup();
    // The outbox still holds the email when the report reads it; the flush delivers it before the report ends.
    deps.outboxThreads = vi.fn(async () => new Set(["waiting"]));
    deps.held.hold = new Proxy(deps.held.hold, {
      apply: async (target, self, args) => {
        await Reflect.apply(target, self, args);
        deliver();
        deps.outboxThreads = async () => new Set();
      },
    });
    await signalHandlers(deps).reportSignals({ signals: [reply("r1")] }, SENDER);
    await vi.waitFor(() => expect(requests).toEqual([{ self: [], signals: [reply("r1")] }]));
    await vi.waitFor(async () => expect(await deps.held.all()).toEqual([]));
  });

  it("are kept once each, the newest within a bound", async () => {
    const area = memoryArea();
    const held = new HeldSignals(area);
    await Promise.all([held.hold([], [reply("a"), reply("b")]), held.hold([], [reply("b"), reply("c")])]);
    expect((await held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["a", "b", "c"]);
    await held.hold(
      [],
      Array.from({ length: MAX_HELD_SIGNALS }, (_, i) => reply(`n${i}`)),
    );
    const kept = area.data[HELD_SIGNALS_KEY] as unknown[];
    expect(kept).toHaveLength(MAX_HELD_SIGNALS);
    expect((await held.all())[0]?.signal.gmailMessageId).toBe("n0");
  });
});
