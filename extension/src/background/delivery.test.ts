// One outbox delivery through the real tracker client, over a fetch that answers as the tracker would.
import { describe, expect, it, vi } from "vitest";
import { REQUEST_TRANSIT_MAX_MS } from "../../../shared/limits";
import { mintTrackingId } from "../../../shared/protocol";
import { type CallKind, onTrackerAnswer, trackerApi } from "./api";
import type { Credentials } from "./credentials";
import { outboxDelivery, SENDS_WHILE_SLOW, SLOW_ATTEMPTS, SLOW_REGISTRATION, waitsForItsAccount } from "./delivery";
import type { OutboxEntry } from "./outbox";

const credentials: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};

function entry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    trackingId: "id1",
    request: { subject: "Pricing", recipients: [], sentAt: "2026-12-04T09:00:00.000Z", threadId: "18c2f0a1b2c3d4e5", links: [] },
    state: "pending",
    attempts: 0,
    createdAt: 0,
    nextAttemptAt: 0,
    lastError: null,
    ...overrides,
  };
}

function delivery(answer: (method: string) => Response) {
  const news = vi.fn();
  const releaseHeld = vi.fn();
  const registered = vi.fn();
  const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => answer(init?.method ?? "GET"));
  const deliver = outboxDelivery({
    credentials: async () => credentials,
    api: (c) => trackerApi(c.trackerUrl, c.apiToken, fetch),
    news,
    releaseHeld,
    registered,
  });
  return { deliver, news, releaseHeld, registered, fetch };
}

describe("an outbox delivery", () => {
  it("tells the Gmail tabs of the thread once its email is registered, and sends the signals held for it", async () => {
    const { deliver, news, releaseHeld, fetch } = delivery(() => Response.json({ state: "delivered" }));
    expect(await deliver(entry())).toBe("delivered");
    expect(fetch.mock.calls[0]?.[1]?.method).toBe("PUT");
    expect(news).toHaveBeenCalledWith(["18c2f0a1b2c3d4e5"]);
    expect(releaseHeld).toHaveBeenCalledOnce();
  });

  it("hands the tracker's counts for the email to the feed poller, which notifies the hits released before the registration", async () => {
    const status = { id: "id1", state: "opened", openCount: 1, clickCount: 0 };
    const { deliver, registered } = delivery(() => Response.json(status));
    const late = entry({ createdAt: 1_000 });
    expect(await deliver(late)).toBe("delivered");
    expect(registered).toHaveBeenCalledExactlyOnceWith(late, status);
    // Not for a withdrawal, nor a registration that failed.
    const withdrawn = delivery(() => new Response(null, { status: 204 }));
    await withdrawn.deliver(entry({ withdraw: true }));
    const failed = delivery(() => Response.json({ error: "D1 is down" }, { status: 503 }));
    await failed.deliver(entry());
    expect([withdrawn.registered, failed.registered].map((r) => r.mock.calls.length)).toEqual([0, 0]);
  });

  it("names the thread by Gmail's sync id too, which a Sent row of a thread the rep started may carry alone", async () => {
    for (const withdraw of [false, true] as const) {
      const { deliver, news } = delivery(() => (withdraw ? new Response(null, { status: 204 }) : Response.json({ state: "delivered" })));
      const request = { ...entry().request, syncThreadId: "thread-a:r263523620390330024" };
      expect(await deliver(entry(withdraw ? { request, withdraw } : { request }))).toBe("delivered");
      expect(news).toHaveBeenCalledWith(["18c2f0a1b2c3d4e5", "thread-a:r263523620390330024"]);
    }
  });

  it("tells nobody while the registration fails, and asks to be tried again", async () => {
    const { deliver, news, releaseHeld } = delivery(() => Response.json({ error: "D1 is down" }, { status: 503 }));
    expect(await deliver(entry())).toEqual({ retry: true, error: expect.stringContaining("503"), status: 503 });
    expect(news).not.toHaveBeenCalled();
    expect(releaseHeld).not.toHaveBeenCalled();
  });

  it("takes a deleted email (410) as delivered, and a withdrawn send as done once the tracker deleted it or never had it", async () => {
    expect(await delivery(() => Response.json({ error: "deleted" }, { status: 410 })).deliver(entry())).toBe("delivered");
    for (const status of [204, 404]) {
      const { deliver, news, fetch } = delivery(() => new Response(status === 204 ? null : '{"error":"no such message"}', { status }));
      expect(await deliver(entry({ withdraw: true }))).toBe("delivered");
      expect(fetch.mock.calls[0]?.[1]?.method).toBe("DELETE");
      expect(news).toHaveBeenCalledWith(["18c2f0a1b2c3d4e5"]);
    }
  });

  it("makes calls heard as deliveries, a withdrawal's too (the rep's own Delete of an email is another call: api.test.ts)", async () => {
    const heard: CallKind[] = [];
    onTrackerAnswer((_url, _token, _failure, call) => heard.push(call));
    const { deliver } = delivery(() => new Response("{}", { status: 503 }));
    await deliver(entry());
    await deliver(entry({ withdraw: true }));
    expect(heard).toEqual(["delivery", "delivery"]);
  });

  it("sends a registration the tracker answered more slowly than a request takes on its way once more, and goes on from that answer", async () => {
    // The tracker reads the request's time on its way as the sender's clock being behind, and moves the send time by it.
    const answers = [
      { took: REQUEST_TRANSIT_MAX_MS + 1, openCount: 0 },
      { took: 50, openCount: 1 },
    ];
    const left: string[] = [];
    const { deliver, fetch, registered, releaseHeld } = delivery(() => Response.json({}));
    fetch.mockImplementation(async (_url, init) => {
      left.push(JSON.parse(String(init?.body)).clockAt);
      const answer = answers.shift() ?? { took: 0, openCount: -1 };
      vi.setSystemTime(Date.now() + answer.took);
      return Response.json({ id: "id1", state: "delivered", openCount: answer.openCount, clickCount: 0 });
    });
    vi.useFakeTimers({ now: Date.parse("2026-12-07T09:00:00.000Z"), toFake: ["Date"] });
    try {
      expect(await deliver(entry())).toBe("delivered");
    } finally {
      vi.useRealTimers();
    }
    // The second leaves once the first is answered, with the clock as it leaves: the tracker reads it promptly.
    expect(left).toEqual(["2026-12-07T09:00:00.000Z", "2026-12-07T09:00:02.001Z"]);
    expect(fetch.mock.calls.map(([, init]) => init?.method)).toEqual(["PUT", "PUT"]);
    expect(registered).toHaveBeenCalledExactlyOnceWith(expect.anything(), expect.objectContaining({ openCount: 1 }));
    expect(releaseHeld).toHaveBeenCalledOnce();
  });

  it("sends a registration answered within that time once", async () => {
    const { deliver, fetch } = delivery(() => Response.json({}));
    fetch.mockImplementation(async () => {
      vi.setSystemTime(Date.now() + REQUEST_TRANSIT_MAX_MS);
      return Response.json({ id: "id1", state: "delivered", openCount: 0, clickCount: 0 });
    });
    vi.useFakeTimers({ now: Date.parse("2026-12-07T09:00:00.000Z"), toFake: ["Date"] });
    try {
      expect(await deliver(entry())).toBe("delivered");
    } finally {
      vi.useRealTimers();
    }
    expect(fetch).toHaveBeenCalledOnce();
  });

  /** Delivers `entry` over a tracker that takes each of `took` (ms) to answer a registration, in turn. */
  async function deliverTaking(took: number[], delivered = entry()) {
    const d = delivery(() => Response.json({}));
    const answers = [...took];
    d.fetch.mockImplementation(async () => {
      const sends = d.fetch.mock.calls.length;
      vi.setSystemTime(Date.now() + (answers.shift() ?? 0));
      return Response.json({ id: "id1", state: "delivered", openCount: sends, clickCount: 0 });
    });
    vi.useFakeTimers({ now: Date.parse("2026-12-07T09:00:00.000Z"), toFake: ["Date"] });
    try {
      return { ...d, result: await d.deliver(delivered) };
    } finally {
      vi.useRealTimers();
    }
  }

  it("sends a registration again while it is answered slowly, and goes on from the first answer in time", async () => {
    const slow = REQUEST_TRANSIT_MAX_MS + 1;
    const { result, fetch, registered } = await deliverTaking([slow, slow, 50]);
    expect(result).toBe("delivered");
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(registered).toHaveBeenCalledExactlyOnceWith(expect.anything(), expect.objectContaining({ openCount: 3 }));
  });

  it("leaves a registration slow at every send in the outbox, and the signals held for it, to be sent again later", async () => {
    const slow = Array.from({ length: SENDS_WHILE_SLOW + 1 }, () => REQUEST_TRANSIT_MAX_MS + 1);
    const { result, fetch, news, releaseHeld, registered } = await deliverTaking(slow);
    expect(result).toEqual({ retry: true, error: SLOW_REGISTRATION });
    expect(fetch).toHaveBeenCalledTimes(SENDS_WHILE_SLOW);
    expect([news, releaseHeld, registered].map((f) => f.mock.calls.length)).toEqual([0, 0, 0]);
  });

  it("goes on with a slow answer at the last attempt before the rep would be told, so a slow tracker keeps no email", async () => {
    const slow = Array.from({ length: SENDS_WHILE_SLOW }, () => REQUEST_TRANSIT_MAX_MS + 1);
    const before = await deliverTaking(slow, entry({ attempts: SLOW_ATTEMPTS - 2 }));
    expect(before.result).toEqual({ retry: true, error: SLOW_REGISTRATION });
    const last = await deliverTaking(slow, entry({ attempts: SLOW_ATTEMPTS - 1 }));
    expect(last.result).toBe("delivered");
    expect(last.fetch).toHaveBeenCalledTimes(SENDS_WHILE_SLOW);
    expect([last.news, last.releaseHeld, last.registered].map((f) => f.mock.calls.length)).toEqual([1, 1, 1]);
  });

  it("keeps a slowly answered registration, and the signals held for it, when the second sending fails", async () => {
    const { deliver, fetch, news, releaseHeld, registered } = delivery(() => Response.json({}));
    const answers = [Response.json({ state: "delivered" }), Response.json({ error: "tracker stopped again" }, { status: 503 })];
    fetch.mockImplementation(async () => {
      vi.setSystemTime(Date.now() + 5_000);
      return answers.shift() ?? Response.json({});
    });
    vi.useFakeTimers({ now: Date.parse("2026-12-07T09:00:00.000Z"), toFake: ["Date"] });
    try {
      expect(await deliver(entry())).toEqual({ retry: true, error: expect.stringContaining("503"), status: 503 });
    } finally {
      vi.useRealTimers();
    }
    expect(fetch).toHaveBeenCalledTimes(2);
    expect([news, releaseHeld, registered].map((f) => f.mock.calls.length)).toEqual([0, 0, 0]);
  });

  it("waits for a tracker to be connected", async () => {
    const deliver = outboxDelivery({
      credentials: async () => null,
      api: () => trackerApi("https://t.example"),
      news: vi.fn(),
      releaseHeld: vi.fn(),
      registered: vi.fn(),
    });
    expect(await deliver(entry())).toEqual({ retry: true, error: "not connected to a tracker" });
  });

  it("sends an email of another account than the connected one nowhere, withdrawal or not: it waits for its account, in words", async () => {
    const { deliver, fetch, news, releaseHeld } = delivery((method) =>
      method === "DELETE" ? Response.json({ error: "no such message" }, { status: 404 }) : Response.json({ state: "delivered" }),
    );
    const before = await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) });
    const waits = { retry: true, error: waitsForItsAccount(before) };
    expect(await deliver(entry({ trackingId: before }))).toEqual(waits);
    // This tracker's 404 for it would have been taken for "never had it", and the withdrawal for done.
    expect(await deliver(entry({ trackingId: before, withdraw: true }))).toEqual(waits);
    expect(fetch).not.toHaveBeenCalled();
    expect([news, releaseHeld].map((f) => f.mock.calls.length)).toEqual([0, 0]);
    expect(waits.error).toBe(
      "it belongs to account qrstuvwxyzabcdef, and this browser is connected to another account now: it goes to that account's tracker once you connect to account qrstuvwxyzabcdef again",
    );
    // The connected account's own go.
    const own = await mintTrackingId(credentials.signingKey);
    expect(await deliver(entry({ trackingId: own }))).toBe("delivered");
    expect(await deliver(entry({ trackingId: own, withdraw: true }))).toBe("delivered");
    expect(fetch.mock.calls.map((c) => c[1]?.method)).toEqual(["PUT", "DELETE"]);
  });
});
