// The one place requests to the tracker are built: JSON calls and the CSV export share the token and the errors.
import { describe, expect, it, vi } from "vitest";

/** The origins the browser lets the extension reach (Chrome's site access, Firefox's add-on permissions). */
const granted = vi.hoisted(() => new Set<string>(["https://t.example/*"]));
vi.mock("../web-ext", () => ({
  browser: { permissions: { contains: async ({ origins }: { origins: string[] }) => origins.every((o) => granted.has(o)) } },
}));

import { type CallKind, onTrackerAnswer, probeTracker, TrackerError, trackerApi } from "./api";
import { refusedThenNotFound } from "./api.test-support";

describe("CSV export", () => {
  it("sends the token, asks for CSV and answers the text as it is", async () => {
    const fetch = vi.fn(
      async (_url: RequestInfo | URL, _init?: RequestInit) =>
        new Response("id,subject\r\n1,Hi\r\n", { status: 200, headers: { "Content-Type": "text/csv; charset=utf-8" } }),
    );
    expect(await trackerApi("https://t.example", "token", fetch).exportCsvPart("messages")).toEqual({
      text: "id,subject\r\n1,Hi\r\n",
      next: null,
    });
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(String(url)).toBe("https://t.example/api/export/messages.csv");
    expect(Object.fromEntries(new Headers(init?.headers))).toMatchObject({ authorization: "Bearer token", accept: "text/csv" });
  });

  it("a refused export is a TrackerError in the tracker's words", async () => {
    const fetch = async () => Response.json({ error: "unauthorized" }, { status: 401 });
    const error = await trackerApi("https://t.example", "bad", fetch)
      .exportCsvPart("events")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrackerError);
    expect(error).toMatchObject({ status: 401, message: "the tracker answered 401: unauthorized" });
  });
});

describe("registering a sent email", () => {
  it("tells the tracker the sender's clock as the request leaves, however long after the send", async () => {
    const bodies: unknown[] = [];
    const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)));
      return Response.json({}, { status: 200 });
    });
    const request = { subject: "Hi", recipients: [], sentAt: "2026-12-04T09:00:00.000Z", links: [] };
    vi.useFakeTimers({ now: Date.parse("2026-12-04T11:30:00.000Z"), toFake: ["Date"] });
    try {
      await trackerApi("https://t.example", "token", fetch).registerMessage("id", request);
    } finally {
      vi.useRealTimers();
    }
    expect(bodies).toEqual([{ ...request, clockAt: "2026-12-04T11:30:00.000Z" }]);
  });
});

describe("what the background hears of its calls", () => {
  it("hears every call made with a token, answered or failed, with its error; none made without one", async () => {
    const heard: [string, string, number | null | "answered", CallKind][] = [];
    onTrackerAnswer((url, token, failure, call) => heard.push([url, token, failure === null ? "answered" : failure.status, call]));
    const answers = [new Response("{}", { status: 200 }), new Response('{"error":"missing or invalid API token"}', { status: 401 })];
    const fetch = async () => answers.shift() ?? new Response("{}", { status: 200 });
    await trackerApi("https://t.example", "mt_a", fetch).account();
    await expect(trackerApi("https://t.example", "mt_a", fetch).events("0")).rejects.toThrow("the tracker answered 401");
    await trackerApi("https://t.example", undefined, fetch).createAccount({});
    await expect(
      trackerApi("https://t.example", "mt_b", async () => {
        throw new TypeError("Failed to fetch");
      }).account(),
    ).rejects.toThrow("cannot reach");
    expect(heard).toEqual([
      ["https://t.example", "mt_a", "answered", "other"],
      ["https://t.example", "mt_a", 401, "other"],
      ["https://t.example", "mt_b", null, "other"],
    ]);
  });
});

describe("which call the background hears", () => {
  it("hears an email's registration and the outbox's withdrawal as deliveries, the rep's Delete, the feed and a status read as other calls", async () => {
    const heard: [number | null | "answered", CallKind][] = [];
    onTrackerAnswer((_url, _token, failure, call) => heard.push([failure === null ? "answered" : failure.status, call]));
    // PUT and DELETE /api/messages/:id answer 503 (that route failing alone); the rest answer.
    const fetch = async (_url: RequestInfo | URL, init?: RequestInit) =>
      init?.method === "PUT" || init?.method === "DELETE" ? new Response("{}", { status: 503 }) : Response.json({ events: [] });
    const api = trackerApi("https://t.example", "mt_a", fetch);
    const request = { subject: "Hi", recipients: [], sentAt: "2026-12-04T09:00:00.000Z", links: [] };
    await expect(api.registerMessage("id", request)).rejects.toThrow("503");
    await expect(api.remove("id", "delivery")).rejects.toThrow("503");
    await expect(api.remove("id")).rejects.toThrow("503");
    await api.events("0");
    await api.status(["thread"]);
    expect(heard).toEqual([
      [503, "delivery"],
      [503, "delivery"],
      [503, "other"],
      ["answered", "other"],
      ["answered", "other"],
    ]);
  });
});

describe("a tracker the extension cannot reach", () => {
  // A fetch the browser refuses fails as a network failure does, a TypeError ("Failed to fetch" is Chrome's words;
  // the code reads only the type). That is how a withheld site fails too: an extension's request to an origin it holds
  // no host permission for "will be treated as a cross-origin request" (Chrome's "Cross-origin network requests",
  // developer.chrome.com/docs/extensions/develop/concepts/network-requests, read 2026-12-07), and the tracker answers
  // no CORS headers, so it fails; seen in Chromium 156 and Firefox ESR 153 (test/e2e/ipv6-tracker.e2e.test.ts).
  const refused = async () => {
    throw new TypeError("Failed to fetch");
  };

  it("says so when the network fails, and that the rep withdrew the site access when it was", async () => {
    const unreachable = await trackerApi("https://t.example:8443", "token", refused)
      .account()
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ status: null, message: "cannot reach the tracker at https://t.example:8443 (Failed to fetch)" });
    granted.clear();
    const withdrawn = await trackerApi("https://t.example:8443", "token", refused)
      .account()
      .catch((e: unknown) => e);
    expect(withdrawn).toBeInstanceOf(TrackerError);
    expect((withdrawn as TrackerError).message).toMatch(
      /^Mailtracker's access to your tracker \(t\.example\) is turned off in the browser's extension settings: allow it again with the "Allow Mailtracker to reach your tracker" button on Mailtracker's options page \(/,
    );
    expect((withdrawn as TrackerError).retryable).toBe(true);
  });

  it("a call the browser refused for want of access, given back before its failure came, is made again at once and its answer used", async () => {
    granted.clear();
    const heard: (number | null | "answered")[] = [];
    onTrackerAnswer((_url, _token, failure) => heard.push(failure === null ? "answered" : failure.status));
    // The rep gives the access back (the options page's button) while the call is on its way; the browser refused it.
    const answers = [
      async () => {
        granted.add("https://t.example/*");
        throw new TypeError("Failed to fetch");
      },
      async () => Response.json({ accountId: "abcdefghijklmnop" }),
    ];
    const fetch = vi.fn(() => answers.shift()?.() ?? Promise.reject(new Error("a third call")));
    expect(await trackerApi("https://t.example", "token", fetch).account()).toEqual({ accountId: "abcdefghijklmnop" });
    // Heard once, answered: the refused call is no failure of the tracker's, nor the access off.
    expect([fetch.mock.calls.length, heard]).toEqual([2, ["answered"]]);
  });

  it("a call refused while access was withheld and made again once it is back, failing again, fails as that second call did, and is not made a third time", async () => {
    const refusedThenGranted = async () => {
      granted.add("https://t.example/*");
      throw new TypeError("Failed to fetch");
    };
    // The second call goes to the tracker, which does not answer: the tracker out of reach.
    granted.clear();
    const outOfReach = [refusedThenGranted, refused];
    const unreachable = vi.fn(() => outOfReach.shift()?.() ?? Promise.reject(new Error("a third call")));
    const failure = await trackerApi("https://t.example", "token", unreachable)
      .account()
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({
      status: null,
      access: undefined,
      message: "cannot reach the tracker at https://t.example (Failed to fetch)",
    });
    expect(unreachable).toHaveBeenCalledTimes(2);
    // The access taken away again before the second call: refused for it, said so.
    granted.clear();
    const withdrawnAgain = [
      refusedThenGranted,
      async () => {
        granted.clear();
        throw new TypeError("Failed to fetch");
      },
    ];
    const withdrawn = vi.fn(() => withdrawnAgain.shift()?.() ?? Promise.reject(new Error("a third call")));
    const again = await trackerApi("https://t.example", "token", withdrawn)
      .account()
      .catch((e: unknown) => e);
    expect(again).toMatchObject({ status: null, access: "withdrawn" });
    expect((again as TrackerError).message).toMatch(/^Mailtracker's access to your tracker \(t\.example\) is turned off/);
    expect(withdrawn).toHaveBeenCalledTimes(2);
  });

  it("creating an account, refused while access was withheld and given back before its failure came, is not made again: a second account could be made", async () => {
    granted.clear();
    const refusedThenGranted = vi.fn(async () => {
      granted.add("https://t.example/*");
      throw new TypeError("Failed to fetch");
    });
    const failure = await trackerApi("https://t.example", undefined, refusedThenGranted)
      .createAccount({})
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TrackerError);
    expect(failure).toMatchObject({
      status: null,
      access: undefined,
      message:
        "the browser refused the call while Mailtracker's access to https://t.example was off; it is allowed again now: try again (Failed to fetch)",
    });
    expect(refusedThenGranted).toHaveBeenCalledTimes(1);
  });

  it("a delete made again that the tracker answers 404 is done: the refused first call may have landed; a first call's 404 still fails", async () => {
    const deletes = {
      "an email": (api: ReturnType<typeof trackerApi>) => api.remove("abcdefghijklmnop"),
      "a contact": (api: ReturnType<typeof trackerApi>) => api.deleteContact("dana@wingtip.example"),
      "a suppression": (api: ReturnType<typeof trackerApi>) => api.liftSuppression("dana@wingtip.example"),
    };
    const notFound = async () => Response.json({ error: "not found" }, { status: 404 });
    for (const [what, remove] of Object.entries(deletes)) {
      granted.clear();
      // Refused as the browser answered, its access given back meanwhile: it may have reached the tracker after all.
      const fetch = refusedThenNotFound(() => granted.add("https://t.example/*"));
      expect([what, await remove(trackerApi("https://t.example", "token", fetch))]).toEqual([what, undefined]);
      expect(fetch).toHaveBeenCalledTimes(2);
      const first = await remove(trackerApi("https://t.example", "token", notFound)).catch((e: unknown) => e);
      expect([what, first]).toMatchObject([what, { status: 404 }]);
    }
  });

  it("a call that timed out while access was given back is not made again: only the browser's refusal (a TypeError) never left", async () => {
    granted.clear();
    const timedOut = vi.fn(async () => {
      granted.add("https://t.example/*");
      throw new DOMException("The operation timed out.", "TimeoutError");
    });
    const failure = await trackerApi("https://t.example", "token", timedOut)
      .account()
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({
      status: null,
      access: undefined,
      message: "cannot reach the tracker at https://t.example (The operation timed out.)",
    });
    expect(timedOut).toHaveBeenCalledTimes(1);
  });

  it("the probe the browser refused for want of access, given back before its failure came, is made again and answered", async () => {
    granted.clear();
    const answers = [
      async () => {
        granted.add("https://t.example/*");
        throw new TypeError("Failed to fetch");
      },
      async () => new Response("mailtracker"),
    ];
    const fetch = vi.fn(() => answers.shift()?.() ?? Promise.reject(new Error("a third call")));
    await expect(probeTracker("https://t.example", fetch)).resolves.toBeUndefined();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("the probe of the tracker (GET /) the browser refused for want of access says so, not that the tracker may be down", async () => {
    granted.clear();
    granted.add("https://t.example/*");
    const unreachable = await probeTracker("https://t.example", refused).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({
      status: null,
      access: undefined,
      message: "cannot reach https://t.example: is the tracker running, and is the address right? (Failed to fetch)",
    });
    granted.clear();
    const withdrawn = await probeTracker("https://t.example", refused).catch((e: unknown) => e);
    expect(withdrawn).toBeInstanceOf(TrackerError);
    expect(withdrawn).toMatchObject({ status: null, access: "withdrawn" });
    expect((withdrawn as TrackerError).message).toMatch(/^Mailtracker's access to your tracker \(t\.example\) is turned off/);
  });
});
