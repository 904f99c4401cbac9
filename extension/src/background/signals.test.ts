// The background's side of replies and bounces: only threads holding a tracked message reach the tracker, the
// Gmail tabs hear of recorded ones, and signals of a thread whose email is still in the outbox are held.
import { describe, expect, it, vi } from "vitest";
import { DAY, MINUTE } from "../../../test/durations";
import { trackerApi } from "./api";
import { ContactCheckCache } from "./contact-checks";
import type { Credentials } from "./credentials";
import { runHandler } from "./handler";
import {
  HELD_SIGNALS_KEY,
  HeldSignals,
  MAX_HELD_SIGNALS,
  MAX_UNMATCHED_RECORDED,
  MAX_UNTRACKED_KEPT,
  UNLISTED_SIGNALS_KEY,
  UNMATCHED_RETRY_MS,
  UNMATCHED_SIGNALS_KEY,
  UNTRACKED_RECENT_MS,
  unmatchedSignalHandlers,
} from "./held-signals";
import { memoryArea } from "./memory-area";
import { releaseHeldSignals, type SignalDeps, signalHandlers } from "./signals";

const CREDENTIALS: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};
/** HeldSignals' reading of the credentials connected now: CREDENTIALS. */
const CONNECTED = async (): Promise<Credentials | null> => CREDENTIALS;
const SENDER = {} as never;

/** The rep leaves the account connected (a disconnect, another account): `switchAccount` runs after the clear. */
function leaveAccount(
  held: HeldSignals,
  switchAccount: () => Promise<unknown>,
  outboxThreads: () => Promise<ReadonlyMap<string, string | undefined>>,
) {
  return held.changeAccount(async (leave) => {
    await leave();
    await switchAccount();
  }, outboxThreads);
}

/** The background's client of the tracker, its requests answered by `fetch` (a stand-in for the tracker). */
function trackerWith(fetch: (url: string, init: RequestInit) => Promise<Response>) {
  return (credentials: Credentials) =>
    trackerApi(credentials.trackerUrl, credentials.apiToken, (input, init) => fetch(String(input), init ?? {}));
}

/** The tracker's answer to a request whose every signal it records. */
function allRecorded(body: { signals: { gmailMessageId: string }[] }): Response {
  return Response.json({ results: body.signals.map((s) => ({ gmailMessageId: s.gmailMessageId, outcome: "recorded", messageId: "m" })) });
}

/** What the background does with a reportSignals message from a Gmail tab: validate it, then run the handler. */
function reportSignals(deps: SignalDeps, input: unknown) {
  return runHandler("reportSignals", signalHandlers(deps).reportSignals, input, SENDER);
}

describe("reportSignals", () => {
  it("sends only signals of tracked threads, settles the others, and tells the Gmail tabs of recorded ones", async () => {
    const requests: { url: string; body: unknown }[] = [];
    const tracker = trackerWith(async (url, init) => {
      requests.push({ url, body: JSON.parse(String(init.body)) });
      return Response.json({
        results: [
          { gmailMessageId: "a1", outcome: "recorded", messageId: "m" },
          { gmailMessageId: "a2", outcome: "duplicate", messageId: "m" },
        ],
      });
    });
    const news = vi.fn();
    const deps: SignalDeps = {
      requireCredentials: async () => CREDENTIALS,
      tracker,
      trackedThreads: async (_credentials, ids) => new Set(ids.filter((id) => id === "tracked")),
      outboxThreads: async () => new Map(),
      held: new HeldSignals(memoryArea(), CONNECTED),
      news,
      checks: new ContactCheckCache(),
      accountsHeld: async () => [CREDENTIALS.accountId],
    };
    // Days old: one of a thread with no tracked email is settled at once (a recent one is kept: HeldSignals.untracked).
    const at = "2026-11-22T10:00:00.000Z";
    const result = await reportSignals(deps, {
      self: ["me@example.com"],
      signals: [
        { kind: "reply", threadId: "tracked", gmailMessageId: "a1", at, from: "carol@prospect.example" },
        // A notice as the content script reads it: the background classifies its text.
        {
          kind: "bounce",
          threadId: "tracked",
          gmailMessageId: "a2",
          at,
          notice:
            "Address not found Your message wasn't delivered to x@y.example because the address couldn't be found. From: me@example.com",
        },
        { kind: "reply", threadId: "private", gmailMessageId: "b1", at, from: "friend@else.example" },
      ],
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe("https://t.example/api/signals");
    const sent = requests[0]?.body as { signals: { gmailMessageId: string; bounce?: unknown }[] } | undefined;
    expect(sent?.signals.map((s) => s.gmailMessageId)).toEqual(["a1", "a2"]);
    expect(sent?.signals[1]?.bounce).toEqual({
      kind: "hard",
      recipients: ["x@y.example"],
      reason: "Address not found Your message wasn't delivered to x@y.example because the address couldn't be found. From: me@example.com",
    });
    expect(result).toEqual({ answered: ["b1", "a1", "a2"], recorded: 1 });
    expect(news).toHaveBeenCalledWith(["tracked"]);
  });

  it("asks nothing of the tracker when no thread is tracked", async () => {
    const fetch = vi.fn();
    const result = await reportSignals(
      {
        requireCredentials: async () => CREDENTIALS,
        tracker: trackerWith(fetch),
        trackedThreads: async () => new Set(),
        outboxThreads: async () => new Map(),
        held: new HeldSignals(memoryArea(), CONNECTED),
        news: vi.fn(),
        checks: new ContactCheckCache(),
        accountsHeld: async () => [CREDENTIALS.accountId],
      },
      { signals: [{ kind: "reply", threadId: "t", gmailMessageId: "c1", at: "2026-11-22T10:00:00Z", from: "a@b.example" }] },
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
    const tracker = trackerWith(async (_url, init) => {
      if (!trackerUp) throw new TypeError("Failed to fetch");
      const body = JSON.parse(String(init.body)) as (typeof requests)[number];
      requests.push(body);
      return allRecorded(body);
    });
    const news = vi.fn();
    const deps: SignalDeps = {
      requireCredentials: async () => CREDENTIALS,
      tracker,
      trackedThreads: async (_credentials: Credentials, ids: string[]) => new Set(ids.filter((id) => tracked.has(id))),
      outboxThreads: async () => new Map([...outbox].map((thread) => [thread, CREDENTIALS.accountId])),
      held: new HeldSignals(area, CONNECTED),
      news,
      checks: new ContactCheckCache(),
      accountsHeld: async () => [CREDENTIALS.accountId],
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
    // Seen while the tracker is down: held all the same, and the error tells the content script to try the rest later.
    setTrackerUp(false);
    deps.trackedThreads = async () => {
      throw new TypeError("Failed to fetch");
    };
    await expect(reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1"), reply("p1", "private")] })).rejects.toThrow();
    expect((await deps.held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["r1"]);
    deps.trackedThreads = async (_credentials: Credentials, ids: string[]) => new Set(ids.filter((id) => tracked.has(id)));
    setTrackerUp(true);
    const result = await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1"), reply("p1", "private")] });
    // The content script stops sending both: p1's thread holds no tracked email, r1 is the background's to keep.
    expect(result).toEqual({ answered: ["p1", "r1"], recorded: 0 });
    expect(requests).toEqual([]);
    expect((await new HeldSignals(area, CONNECTED).all()).map((h) => h.signal.gmailMessageId)).toEqual(["r1"]);

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
    const restarted = { ...deps, held: new HeldSignals(area, CONNECTED) };
    expect(await releaseHeldSignals(restarted)).toBe(1);
    expect(requests).toEqual([{ self: ["me@example.com"], signals: [reply("r1")] }]);
    expect(news).toHaveBeenCalledWith(["waiting"]);
    expect(await restarted.held.all()).toEqual([]);
    expect(await releaseHeldSignals(restarted)).toBe(0);
    expect(requests).toHaveLength(1);
  });

  it("are settled, not sent, when the registered email turns out to be in no tracked thread (days after they came)", async () => {
    const { deps, requests } = setup();
    await reportSignals(deps, { signals: [reply("r1")] });
    deps.outboxThreads = async () => new Map(); // delivered, but the tracker has no message in that thread
    expect(await releaseHeldSignals(deps)).toBe(1);
    expect(requests).toEqual([]);
    expect(await deps.held.all()).toEqual([]);
  });

  it("are released at once when their email was delivered while they were being held", async () => {
    const { deps, requests, deliver } = setup();
    // The outbox still holds the email when the report reads it; the flush delivers it before the report ends.
    deps.outboxThreads = vi.fn(async () => new Map([["waiting", CREDENTIALS.accountId]]));
    deps.held.hold = new Proxy(deps.held.hold, {
      apply: async (target, self, args) => {
        await Reflect.apply(target, self, args);
        deliver();
        deps.outboxThreads = async () => new Map();
      },
    });
    await reportSignals(deps, { signals: [reply("r1")] });
    await vi.waitFor(() => expect(requests).toEqual([{ self: [], signals: [reply("r1")] }]));
    await vi.waitFor(async () => expect(await deps.held.all()).toEqual([]));
  });

  it("go to the tracker of the account they were held for, its email delivered there, not to one connected since", async () => {
    const { area, deps, requests, deliver, setTrackerUp } = setup();
    const other: Credentials = { ...CREDENTIALS, trackerUrl: "https://other.example", accountId: "qrstuvwxyzabcdef", apiToken: "other" };
    let connected: Credentials | null = CREDENTIALS;
    deps.held = new HeldSignals(area, async () => connected);
    const credentialReads = vi.fn(async () => {
      if (!connected) throw new Error("not connected");
      return connected;
    });
    deps.requireCredentials = credentialReads;
    const sentTo: string[] = [];
    const tracker = deps.tracker;
    deps.tracker = (credentials) => {
      sentTo.push(credentials.trackerUrl);
      return tracker(credentials);
    };
    await reportSignals(deps, { signals: [reply("r1")] });
    // Delivered to its account's tracker, which is down as the release sends the reply; then the rep switches.
    deliver();
    setTrackerUp(false);
    await expect(releaseHeldSignals(deps)).rejects.toThrow();
    const switchTo = (account: Credentials | null) =>
      leaveAccount(
        deps.held,
        async () => {
          connected = account;
        },
        async () => new Map(),
      );
    await switchTo(other);
    setTrackerUp(true);
    // Every minute's release while another account is connected, or none: it is due for nothing, nothing thrown (each
    // would be logged).
    expect(await releaseHeldSignals(deps)).toBe(0);
    await switchTo(null);
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(sentTo).toEqual([CREDENTIALS.trackerUrl]);
    expect((await deps.held.all()).map((h) => [h.signal.gmailMessageId, h.account])).toEqual([["r1", CREDENTIALS.accountId]]);
    // Back on its account: sent there.
    await switchTo(CREDENTIALS);
    expect(await releaseHeldSignals(deps)).toBe(1);
    expect([sentTo, requests]).toEqual([[CREDENTIALS.trackerUrl, CREDENTIALS.trackerUrl], [{ self: [], signals: [reply("r1")] }]]);
    expect(await new HeldSignals(area, CONNECTED).all()).toEqual([]);
  });

  it("are held for the account of the email they wait on, one the rep left included (sent from a compose opened before)", async () => {
    const { deps } = setup();
    deps.outboxThreads = async () => new Map([["waiting", "qrstuvwxyzabcdef"]]);
    await reportSignals(deps, { signals: [reply("r1")] });
    expect((await deps.held.all()).map((h) => h.account)).toEqual(["qrstuvwxyzabcdef"]);
  });

  it("stored before their account was kept, stay past a switch only while their email is in the outbox", async () => {
    const { area, deps } = setup();
    await area.set({
      [HELD_SIGNALS_KEY]: [
        { self: [], signal: reply("r1") },
        { self: [], signal: reply("d1", "delivered") },
      ],
    });
    await leaveAccount(
      deps.held,
      async () => undefined,
      async () => new Map([["waiting", undefined]]),
    );
    expect((await deps.held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["r1"]);
  });

  it("stored before their account was kept and kept past a switch, are due for nothing until their email's account returns", async () => {
    const area = memoryArea();
    let connected = CREDENTIALS;
    const held = new HeldSignals(area, async () => connected);
    await area.set({ [HELD_SIGNALS_KEY]: [{ self: [], signal: reply("r1") }] });
    await leaveAccount(
      held,
      async () => {
        connected = { ...CREDENTIALS, accountId: "qrstuvwxyzabcdef" };
      },
      async () => new Map([["waiting", CREDENTIALS.accountId]]),
    );
    const known = { outboxThreads: async () => new Map(), accountsHeld: async () => [CREDENTIALS.accountId, "qrstuvwxyzabcdef"] };
    expect(await held.due(known)).toBeNull();
    connected = CREDENTIALS;
    expect(await held.due(known)).toEqual({
      due: [{ self: [], signal: reply("r1"), account: CREDENTIALS.accountId }],
      credentials: CREDENTIALS,
    });
  });

  it("stored before their account was kept, are given it at the first release: their email's, else the only account held, else dropped", async () => {
    const area = memoryArea();
    const other: Credentials = { ...CREDENTIALS, trackerUrl: "https://other.example", accountId: "qrstuvwxyzabcdef", apiToken: "other" };
    let connected: Credentials | null = null;
    const held = new HeldSignals(area, async () => connected);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const stored = [
      { self: [], signal: reply("r1") },
      { self: [], signal: reply("d1", "delivered") },
    ];
    await area.set({ [HELD_SIGNALS_KEY]: stored });
    // Disconnected, none can go: both wait as they are for an account to be connected.
    let outbox = new Map([["waiting", other.accountId]]);
    let accountsHeld = [CREDENTIALS.accountId];
    const known = { outboxThreads: async () => outbox, accountsHeld: async () => accountsHeld };
    expect(await held.due(known)).toBeNull();
    expect(await held.all()).toEqual(stored);
    // Connected: the one whose email is in the outbox takes its email's account, which the rep left (not sent); the one
    // whose email left, the only account held, sent to it.
    connected = CREDENTIALS;
    expect((await held.due(known))?.due).toEqual([{ ...stored[1], account: CREDENTIALS.accountId }]);
    expect(await held.all()).toEqual([
      { ...stored[0], account: other.accountId },
      { ...stored[1], account: CREDENTIALS.accountId },
    ]);
    // Its email delivered, and connected to the only account this browser held: that account's, sent to it.
    outbox = new Map();
    connected = CREDENTIALS;
    await area.set({ [HELD_SIGNALS_KEY]: stored });
    expect((await held.due(known))?.due).toEqual(stored.map((h) => ({ ...h, account: CREDENTIALS.accountId })));
    // Connected after another account: which one's it is is not known, and it goes to no tracker (logged).
    accountsHeld = [CREDENTIALS.accountId, other.accountId];
    connected = other;
    await area.set({ [HELD_SIGNALS_KEY]: [stored[1]] });
    expect(await held.due(known)).toBeNull();
    expect(await held.all()).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    // No account recorded (an earlier version connected to this one, and maybe to another before it): not known either.
    accountsHeld = [];
    connected = CREDENTIALS;
    await area.set({ [HELD_SIGNALS_KEY]: [stored[1]] });
    expect(await held.due(known)).toBeNull();
    expect(await held.all()).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });

  it("a release reads nothing past the held signals when none can go: none due yet, or disconnected", async () => {
    const area = memoryArea();
    let connected: Credentials | null = CREDENTIALS;
    const credentialReads = vi.fn(async () => connected);
    const held = new HeldSignals(area, credentialReads, () => 1_000);
    const known = { outboxThreads: vi.fn(async () => new Map()), accountsHeld: vi.fn(async () => [CREDENTIALS.accountId]) };
    // Stored by an earlier version, without its account: one waiting for its next try, then one due.
    const waiting = { self: [], signal: reply("u1"), unmatched: { times: 1, nextAt: 2_000 } };
    await area.set({ [HELD_SIGNALS_KEY]: [waiting] });
    expect(await held.due(known)).toBeNull();
    expect([credentialReads, known.outboxThreads, known.accountsHeld].map((read) => read.mock.calls.length)).toEqual([0, 0, 0]);
    connected = null;
    await area.set({ [HELD_SIGNALS_KEY]: [{ self: [], signal: reply("r1") }] });
    expect(await held.due(known)).toBeNull();
    expect([credentialReads, known.outboxThreads, known.accountsHeld].map((read) => read.mock.calls.length)).toEqual([1, 0, 0]);
    expect(await held.all()).toEqual([{ self: [], signal: reply("r1") }]);
  });

  it("are kept once each; past the bound the oldest are counted as not listed, answered unmatched or not", async () => {
    const area = memoryArea();
    const clock = { now: Date.parse("2026-11-22T10:00:05.000Z") };
    const held = new HeldSignals(area, CONNECTED, () => clock.now);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await Promise.all([
      held.hold([], [reply("a"), reply("b")], () => CREDENTIALS.accountId),
      held.hold([], [reply("b"), reply("c")], () => CREDENTIALS.accountId),
    ]);
    expect((await held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["a", "b", "c"]);
    // One the tracker answered unmatched, newer than a, b and c: kept, the oldest go first.
    await held.unmatched(CREDENTIALS.accountId, [], [reply("u", "tracked")]);
    await held.hold(
      [],
      Array.from({ length: MAX_HELD_SIGNALS - 2 }, (_, i) => reply(`n${i}`)),
      () => CREDENTIALS.accountId,
    );
    expect(area.data[HELD_SIGNALS_KEY]).toHaveLength(MAX_HELD_SIGNALS);
    expect((await held.all()).slice(0, 2).map((h) => h.signal.gmailMessageId)).toEqual(["c", "u"]);
    expect(await held.listing()).toEqual({ signals: [], unlisted: 2 });
    expect(warn).toHaveBeenCalledOnce();

    // The tracker answers unmatched while the held ones are at their bound: that one is held, the oldest counted.
    await held.unmatched(CREDENTIALS.accountId, [], [reply("v", "tracked")]);
    expect(area.data[HELD_SIGNALS_KEY]).toHaveLength(MAX_HELD_SIGNALS);
    expect((await held.all()).at(-1)?.signal.gmailMessageId).toBe("v");
    expect(await held.listing()).toEqual({ signals: [], unlisted: 3 });

    // Reported again by a Gmail tab once there is room: held again, to be sent.
    await held.settle(["u"]);
    await held.hold([], [reply("a")], () => CREDENTIALS.accountId);
    expect((await held.all()).at(-1)?.signal.gmailMessageId).toBe("a");
    warn.mockRestore();
  });

  it("pushed out by the bound, are counted, and sent when a Gmail tab reports them again once their email is registered", async () => {
    const { deps, deliver, requests } = setup();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    // An outage: more replies wait than the bound keeps, the oldest counted as not listed.
    await deps.held.hold(
      [],
      [reply("first"), ...Array.from({ length: MAX_HELD_SIGNALS }, (_, i) => reply(`n${i}`))],
      () => CREDENTIALS.accountId,
    );
    expect(await deps.held.listing()).toEqual({ signals: [], unlisted: 1 });
    // The outbox delivers the registration; the held ones are sent and taken.
    deliver();
    expect(await releaseHeldSignals(deps)).toBe(MAX_HELD_SIGNALS);
    expect(await deps.held.all()).toEqual([]);
    // A Gmail tab reports the one pushed out again (the next time Gmail loads): the tracker records it. The count, kept
    // without ids, stays: "up to" that many were not counted (words.ts notCountedSignals).
    expect(await reportSignals(deps, { signals: [reply("first")] })).toEqual({ answered: ["first"], recorded: 1 });
    expect(requests.at(-1)?.signals.map((s) => s.gmailMessageId)).toEqual(["first"]);
    expect(await deps.held.listing()).toEqual({ signals: [], unlisted: 1 });
    expect(await deps.held.all()).toEqual([]);
    warn.mockRestore();
  });
});

describe("the record of signals not counted", () => {
  const at = "2026-11-22T10:00:00.000Z";
  const reply = (gmailMessageId: string) =>
    ({ kind: "reply", threadId: "tracked", gmailMessageId, at, from: "carol@prospect.example" }) as const;
  const given = (gmailMessageId: string) => ({ signal: reply(gmailMessageId), times: 5, givenUpAt: 0 });
  const seenAt = (gmailMessageId: string, givenUpAt: number) => ({ gmailMessageId, givenUpAt });
  /** What the background does with the options page's message: validate it, then run the handler. */
  const run = (held: HeldSignals, type: "unmatchedSignals" | "clearUnmatchedSignals", input: unknown) => {
    const handlers = unmatchedSignalHandlers(held);
    return type === "unmatchedSignals"
      ? runHandler(type, handlers.unmatchedSignals, input, SENDER)
      : runHandler(type, handlers.clearUnmatchedSignals, input, SENDER);
  };

  it("is cleared from the options page as far as the rep saw it, cleared ones unlisted but still not tried again", async () => {
    const area = memoryArea();
    const held = new HeldSignals(area, CONNECTED);
    await area.set({ [UNMATCHED_SIGNALS_KEY]: [given("r1"), given("r2")], [UNLISTED_SIGNALS_KEY]: 3 });
    const seen = await run(held, "unmatchedSignals", null);
    expect(seen).toEqual({ signals: [given("r1"), given("r2")], unlisted: 3 });
    // Bad input is refused in words, and clears nothing.
    await expect(
      run(held, "clearUnmatchedSignals", { listed: [{ gmailMessageId: "not an id", givenUpAt: 0 }], unlisted: 0 }),
    ).rejects.toThrow("clearUnmatchedSignals does not take this input (listed.0.gmailMessageId: must be a Gmail message id)");
    await expect(run(held, "clearUnmatchedSignals", { listed: [], unlisted: -1 })).rejects.toThrow("unlisted");
    expect(await held.listing()).toEqual(seen);

    // One recorded, and two pushed out unlisted, after the page read the list: they stay.
    await area.set({ [UNMATCHED_SIGNALS_KEY]: [given("r1"), given("r2"), given("r3")], [UNLISTED_SIGNALS_KEY]: 5 });
    const cleared = await run(held, "clearUnmatchedSignals", { listed: [seenAt("r1", 0), seenAt("r2", 0)], unlisted: 3 });
    expect(cleared).toEqual({ signals: [given("r3")], unlisted: 2 });
    expect(await held.givenUp()).toEqual([{ ...given("r1"), cleared: true }, { ...given("r2"), cleared: true }, given("r3")]);

    // A cleared one answered unmatched again (a Gmail tab loaded since) is not tried all over again.
    expect(await held.unmatched(CREDENTIALS.accountId, [], [reply("r1")])).toEqual(["r1"]);
    expect(await held.all()).toEqual([]);
  });

  it("keeps listed a signal recorded again after the page read the list: it is news", async () => {
    const area = memoryArea();
    const held = new HeldSignals(area, CONNECTED);
    // r1 given up again (its older record pushed out by the bound meanwhile) after the page read it given up at 0.
    const again = { ...given("r1"), givenUpAt: 9 };
    await area.set({ [UNMATCHED_SIGNALS_KEY]: [given("r2"), again] });
    await held.clear({ listed: [seenAt("r1", 0), seenAt("r2", 0)], unlisted: 0 });
    expect(await held.listing()).toEqual({ signals: [again], unlisted: 0 });
  });

  it("keeps its bound, pushing out the cleared first, then the oldest, counted as no longer listed", async () => {
    const area = memoryArea();
    const held = new HeldSignals(area, CONNECTED);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const full = Array.from({ length: MAX_UNMATCHED_RECORDED }, (_, i) => given(`old${i}`));
    await area.set({ [UNMATCHED_SIGNALS_KEY]: full });
    await held.clear({ listed: [seenAt("old5", 0)], unlisted: 0 });
    const pastRetries = (id: string) => ({ self: [], signal: reply(id), unmatched: { times: UNMATCHED_RETRY_MS.length, nextAt: 0 } });
    await area.set({ [HELD_SIGNALS_KEY]: [pastRetries("new1"), pastRetries("new2")] });
    expect(await held.unmatched(CREDENTIALS.accountId, [], [reply("new1"), reply("new2")])).toEqual(["new1", "new2"]);
    const record = await held.givenUp();
    expect(record).toHaveLength(MAX_UNMATCHED_RECORDED);
    expect(record.map((r) => r.signal.gmailMessageId).slice(0, 2)).toEqual(["old1", "old2"]);
    expect(record.some((r) => r.signal.gmailMessageId === "old5")).toBe(false);
    expect((await held.listing()).unlisted).toBe(1);
    warn.mockRestore();
  });

  it("counts one given up, held again and pushed out by the bound, its record listed as it was", async () => {
    const area = memoryArea();
    const held = new HeldSignals(area, CONNECTED, () => 5);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await area.set({ [UNMATCHED_SIGNALS_KEY]: [given("r1"), given("r2")] });
    // Another email of its thread is in the outbox when a Gmail tab reports it again: held again.
    await held.hold([], [reply("r1")], () => CREDENTIALS.accountId);
    await held.hold(
      [],
      Array.from({ length: MAX_HELD_SIGNALS }, (_, i) => reply(`n${i}`)),
      () => CREDENTIALS.accountId,
    );
    expect(await held.listing()).toEqual({ signals: [given("r1"), given("r2")], unlisted: 1 });
    warn.mockRestore();
  });
});

describe("signals the tracker answers unmatched", () => {
  const at = "2026-11-22T10:00:00.000Z";
  const reply = (gmailMessageId: string) =>
    ({ kind: "reply", threadId: "tracked", gmailMessageId, at, from: "carol@prospect.example" }) as const;

  /** A tracked thread, a tracker that answers `unmatched` while `matches` is false, and a clock moved by hand. */
  function setup() {
    const area = memoryArea();
    const clock = { now: Date.parse("2026-11-22T10:00:05.000Z") };
    const state = { matches: false };
    const requests: string[][] = [];
    const tracker = trackerWith(async (_url, init) => {
      const body = JSON.parse(String(init.body)) as { signals: { gmailMessageId: string }[] };
      requests.push(body.signals.map((s) => s.gmailMessageId));
      const outcome = state.matches ? "recorded" : "unmatched";
      const results = body.signals.map((s) => ({ gmailMessageId: s.gmailMessageId, outcome, messageId: state.matches ? "m" : null }));
      return Response.json({ results });
    });
    const news = vi.fn();
    const deps: SignalDeps = {
      requireCredentials: async () => CREDENTIALS,
      tracker,
      trackedThreads: async (_credentials, ids) => new Set(ids),
      outboxThreads: async () => new Map(),
      held: new HeldSignals(area, CONNECTED, () => clock.now),
      news,
      checks: new ContactCheckCache(),
      accountsHeld: async () => [CREDENTIALS.accountId],
    };
    return { area, clock, state, requests, news, deps };
  }

  it("are kept and sent again once their next try is due, until the tracker matches them", async () => {
    const { area, clock, state, requests, news, deps } = setup();
    // The content script stops sending it: the background keeps it.
    expect(await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] })).toEqual({ answered: ["r1"], recorded: 0 });
    expect(await deps.held.all()).toEqual([
      {
        self: ["me@example.com"],
        signal: reply("r1"),
        account: CREDENTIALS.accountId,
        unmatched: { times: 1, nextAt: clock.now + (UNMATCHED_RETRY_MS[0] ?? 0) },
      },
    ]);
    // Another Gmail tab reports it before its next try: sent, but no try of its own.
    await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] });
    expect((await deps.held.all())[0]?.unmatched?.times).toBe(1);
    // Not due yet: the minute's release sends nothing.
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(requests).toHaveLength(2);

    // Due, and the tracker has its email now (its registration arrived, or its send time was corrected).
    clock.now += UNMATCHED_RETRY_MS[0] ?? 0;
    state.matches = true;
    const restarted = { ...deps, held: new HeldSignals(area, CONNECTED, () => clock.now) };
    expect(await releaseHeldSignals(restarted)).toBe(1);
    expect(requests.at(-1)).toEqual(["r1"]);
    expect(news).toHaveBeenCalledWith(["tracked"]);
    expect(await restarted.held.all()).toEqual([]);
    expect(area.data[UNMATCHED_SIGNALS_KEY]).toEqual([]);
  });

  it("waiting for their next try, are not sent again once another Gmail tab's report of them was taken", async () => {
    const { clock, state, requests, deps } = setup();
    await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] });
    expect(await deps.held.all()).toHaveLength(1);
    // Its email registered meanwhile: another Gmail tab reports it, and the tracker records it.
    state.matches = true;
    expect(await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] })).toEqual({ answered: ["r1"], recorded: 1 });
    expect(await deps.held.all()).toEqual([]);
    clock.now += UNMATCHED_RETRY_MS[0] ?? 0;
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(requests).toEqual([["r1"], ["r1"]]);
  });

  it("are recorded, not deleted, once every retry was answered unmatched, and not tried all over again", async () => {
    const { area, clock, state, requests, deps } = setup();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    // A record already full: the newest are kept.
    const older = Array.from({ length: MAX_UNMATCHED_RECORDED }, (_, i) => ({ signal: reply(`old${i}`), times: 5, givenUpAt: 0 }));
    await area.set({ [UNMATCHED_SIGNALS_KEY]: older });
    await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] });
    for (const wait of UNMATCHED_RETRY_MS) {
      // A minute's release just before the try is due sends nothing.
      clock.now += wait - 1;
      expect(await releaseHeldSignals(deps)).toBe(0);
      clock.now += 1;
      await releaseHeldSignals(deps);
    }
    expect(requests).toEqual(Array.from({ length: UNMATCHED_RETRY_MS.length + 1 }, () => ["r1"]));
    expect(await deps.held.all()).toEqual([]);
    const record = await deps.held.givenUp();
    expect(record).toHaveLength(MAX_UNMATCHED_RECORDED);
    expect(record[0]?.signal.gmailMessageId).toBe("old1");
    // The one pushed out is counted for the options page, not dropped unseen.
    expect(area.data[UNLISTED_SIGNALS_KEY]).toBe(1);
    expect(record.at(-1)).toEqual({ signal: reply("r1"), times: UNMATCHED_RETRY_MS.length + 1, givenUpAt: clock.now });
    expect(warn).toHaveBeenCalledOnce();

    // A Gmail tab loaded since reports it again: the tracker is asked (it may match it now), but it is not held again.
    clock.now += DAY;
    expect(await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] })).toEqual({ answered: ["r1"], recorded: 0 });
    expect(await deps.held.all()).toEqual([]);
    expect(await deps.held.givenUp()).toEqual(record);

    // Its email registered at last (from another browser of the rep's, say): reported again, it is counted, and no
    // longer listed as not counted.
    state.matches = true;
    expect(await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] })).toEqual({ answered: ["r1"], recorded: 1 });
    expect(await deps.held.givenUp()).toEqual(record.slice(0, -1));
    warn.mockRestore();
  });
  it("answered while the rep connects to another account, are written back by no release under way, and reach no other tracker", async () => {
    const { clock, requests, deps } = setup();
    const other: Credentials = { ...CREDENTIALS, trackerUrl: "https://other.example", accountId: "qrstuvwxyzabcdef", apiToken: "other" };
    let connected = CREDENTIALS;
    deps.requireCredentials = async () => connected;
    deps.held = new HeldSignals(
      memoryArea(),
      async () => connected,
      () => clock.now,
    );
    const sentTo: string[] = [];
    let answer = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const tracker = deps.tracker;
    deps.tracker = (credentials) => {
      sentTo.push(credentials.trackerUrl);
      const api = tracker(credentials);
      return { ...api, signals: async (body) => answered.then(() => api.signals(body)) };
    };
    await deps.held.unmatched(CREDENTIALS.accountId, [], [reply("r1")]);
    clock.now += UNMATCHED_RETRY_MS[0] ?? 0;
    // The minute's release sends it again; the rep connects to another account before the tracker answers unmatched.
    const release = releaseHeldSignals(deps);
    await vi.waitFor(() => expect(sentTo).toEqual([CREDENTIALS.trackerUrl]));
    await leaveAccount(
      deps.held,
      async () => {
        connected = other;
      },
      async () => new Map(),
    );
    answer();
    expect(await release).toBe(0);
    expect(requests).toEqual([["r1"]]);
    expect(await deps.held.all()).toEqual([]);
    // Its next try's time: nothing goes to the new account's tracker.
    clock.now += UNMATCHED_RETRY_MS[1] ?? 0;
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(sentTo).toEqual([CREDENTIALS.trackerUrl]);
  });
  it("read by a release as the rep connects to another account, go with their own account's credentials, to no other tracker", async () => {
    const { clock, deps } = setup();
    const other: Credentials = { ...CREDENTIALS, trackerUrl: "https://other.example", accountId: "qrstuvwxyzabcdef", apiToken: "other" };
    let connected = CREDENTIALS;
    // The rep connects to another account as the release, having read the due ones, reads the credentials; the read
    // gives the switch every chance to run first (a macrotask: the switch takes only microtasks).
    let release = false;
    let switched: Promise<void> | undefined;
    const held = new HeldSignals(
      memoryArea(),
      async () => {
        if (!release) return connected;
        switched ??= leaveAccount(
          held,
          async () => {
            connected = other;
          },
          async () => new Map(),
        );
        await new Promise((resolve) => setTimeout(resolve));
        return connected;
      },
      () => clock.now,
    );
    deps.held = held;
    await held.unmatched(CREDENTIALS.accountId, [], [reply("r1")]);
    clock.now += UNMATCHED_RETRY_MS[0] ?? 0;
    release = true;
    const sentTo: string[] = [];
    const tracker = deps.tracker;
    deps.tracker = (credentials) => {
      sentTo.push(credentials.trackerUrl);
      return tracker(credentials);
    };
    await releaseHeldSignals(deps);
    await switched;
    // Sent to its own account's tracker; its unmatched answer, come after the switch, went with that account's others.
    expect([sentTo, await held.all()]).toEqual([[CREDENTIALS.trackerUrl], []]);
  });
});

describe("signals of a thread where the tracker knows no tracked email", () => {
  const start = Date.parse("2026-11-22T10:00:00.000Z");
  const reply = (gmailMessageId: string, at = start - MINUTE, threadId = "elsewhere") =>
    ({ kind: "reply", threadId, gmailMessageId, at: new Date(at).toISOString(), from: "carol@prospect.example" }) as const;

  /** A tracker that knows the emails of the threads in `tracked`, and a clock moved by hand. */
  function setup() {
    const area = memoryArea();
    const clock = { now: start };
    const tracked = new Set<string>();
    const asked: string[][] = [];
    const requests: string[][] = [];
    const tracker = trackerWith(async (_url, init) => {
      const body = JSON.parse(String(init.body)) as { signals: { gmailMessageId: string }[] };
      requests.push(body.signals.map((s) => s.gmailMessageId));
      return allRecorded(body);
    });
    const news = vi.fn();
    const deps: SignalDeps = {
      requireCredentials: async () => CREDENTIALS,
      tracker,
      trackedThreads: async (_credentials, ids) => {
        asked.push(ids);
        return new Set(ids.filter((id) => tracked.has(id)));
      },
      outboxThreads: async () => new Map(),
      held: new HeldSignals(area, CONNECTED, () => clock.now),
      news,
      checks: new ContactCheckCache(),
      accountsHeld: async () => [CREDENTIALS.accountId],
    };
    return { area, clock, tracked, asked, requests, news, deps };
  }

  it("are kept, never sent, and sent once an email of their thread is registered (from another browser's outbox)", async () => {
    const { area, clock, tracked, asked, requests, news, deps } = setup();
    expect(await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] })).toEqual({ answered: ["r1"], recorded: 0 });
    const first = { times: 1, nextAt: start + (UNMATCHED_RETRY_MS[0] ?? 0) };
    expect(await deps.held.all()).toEqual([
      { self: ["me@example.com"], signal: reply("r1"), account: CREDENTIALS.accountId, untracked: first },
    ]);
    // Another Gmail tab reports it before its next try: no try of its own.
    await reportSignals(deps, { self: ["me@example.com"], signals: [reply("r1")] });
    expect((await deps.held.all())[0]?.untracked).toEqual(first);
    // Not due yet: nothing asked.
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(asked).toHaveLength(2);

    // Due, and still no tracked email in the thread: asked about, kept for the next try.
    clock.now += UNMATCHED_RETRY_MS[0] ?? 0;
    expect(await releaseHeldSignals(deps)).toBe(0);
    expect(asked.at(-1)).toEqual(["elsewhere"]);
    expect((await deps.held.all())[0]?.untracked?.times).toBe(2);

    // The other browser's outbox delivered the email: the next try sends it, and the tracker records it.
    tracked.add("elsewhere");
    clock.now += UNMATCHED_RETRY_MS[1] ?? 0;
    const restarted = { ...deps, held: new HeldSignals(area, CONNECTED, () => clock.now) };
    expect(await releaseHeldSignals(restarted)).toBe(1);
    expect(requests).toEqual([["r1"]]);
    expect(news).toHaveBeenCalledWith(["elsewhere"]);
    expect(await restarted.held.all()).toEqual([]);
  });

  it("are dropped, never sent nor listed, when old or still untracked after every try", async () => {
    const { clock, asked, requests, deps } = setup();
    // Listed when Gmail loads, two days after it came: the rest of the rep's mail, settled at once.
    const old = reply("old", start - 2 * DAY, "private");
    const result = await reportSignals(deps, { signals: [old, reply("r1")] });
    expect(result).toEqual({ answered: ["old", "r1"], recorded: 0 });
    expect((await deps.held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["r1"]);
    for (const wait of UNMATCHED_RETRY_MS) {
      clock.now += wait;
      await releaseHeldSignals(deps);
    }
    expect(asked).toEqual([["private", "elsewhere"], ...UNMATCHED_RETRY_MS.map(() => ["elsewhere"])]);
    expect(await deps.held.all()).toEqual([]);
    expect(requests).toEqual([]);
    expect(await deps.held.listing()).toEqual({ signals: [], unlisted: 0 });
  });

  it("all too old to be kept, in a Gmail tab's report, are answered without reading the held ones or the account", async () => {
    const { area, deps } = setup();
    const connected = vi.fn(CONNECTED);
    deps.held = new HeldSignals(area, connected, () => start);
    await deps.held.hold([], [reply("h1", start, "waiting")], () => CREDENTIALS.accountId);
    const reads = vi.spyOn(area, "get");
    const old = [reply("o1", start - UNTRACKED_RECENT_MS - 1), reply("o2", start - 2 * DAY, "private")];
    expect(await reportSignals(deps, { signals: old })).toEqual({ answered: ["o1", "o2"], recorded: 0 });
    expect([reads.mock.calls, connected.mock.calls]).toEqual([[], []]);
    // One recent among them: kept, the old ones still not.
    expect(await reportSignals(deps, { signals: [...old, reply("r1")] })).toEqual({ answered: ["o1", "o2", "r1"], recorded: 0 });
    expect((await deps.held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["h1", "r1"]);
  });

  it("kept, are asked about again at each try though they grow older than a day meanwhile", async () => {
    const { clock, asked, deps } = setup();
    await reportSignals(deps, { signals: [reply("r1", start - UNTRACKED_RECENT_MS + MINUTE)] });
    for (const [i, wait] of UNMATCHED_RETRY_MS.slice(0, -1).entries()) {
      clock.now += wait;
      await releaseHeldSignals(deps);
      expect((await deps.held.all()).map((h) => h.untracked?.times)).toEqual([i + 2]);
    }
    clock.now += UNMATCHED_RETRY_MS.at(-1) ?? 0;
    expect(await releaseHeldSignals(deps)).toBe(1);
    expect(asked).toHaveLength(UNMATCHED_RETRY_MS.length + 1);
    expect(await deps.held.all()).toEqual([]);
  });

  it("keep their own bound, pushed out before any signal held for the outbox, and not counted", async () => {
    const area = memoryArea();
    const held = new HeldSignals(area, CONNECTED, () => start);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    await held.hold([], [reply("h0", start, "waiting")], () => CREDENTIALS.accountId);
    const recent = Array.from({ length: MAX_UNTRACKED_KEPT + 1 }, (_, i) => reply(`u${i}`));
    expect(await held.untracked(CREDENTIALS.accountId, [], recent, false)).toEqual([]);
    const kept = await held.all();
    expect(kept).toHaveLength(MAX_UNTRACKED_KEPT + 1);
    expect(kept.slice(0, 2).map((h) => h.signal.gmailMessageId)).toEqual(["h0", "u1"]);
    // Held ones for the outbox up to their bound: the untracked ones make room first.
    await held.hold(
      [],
      Array.from({ length: MAX_HELD_SIGNALS - 2 }, (_, i) => reply(`h${i + 1}`, start, "waiting")),
      () => CREDENTIALS.accountId,
    );
    const after = await held.all();
    expect(after).toHaveLength(MAX_HELD_SIGNALS);
    expect(after.filter((h) => h.untracked).map((h) => h.signal.gmailMessageId)).toEqual([`u${MAX_UNTRACKED_KEPT}`]);
    expect(await held.listing()).toEqual({ signals: [], unlisted: 0 });
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});
