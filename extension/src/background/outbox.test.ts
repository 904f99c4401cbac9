// The outbox's rules with an in-memory storage area standing in for browser.storage.local (same two calls).
import { describe, expect, it, vi } from "vitest";
import { mintTrackingId } from "../../../shared/protocol";
import { HOUR, MINUTE } from "../../../test/durations";
import { TOKEN_REFUSED } from "../words";
import { trackerApi } from "./api";
import type { Credentials } from "./credentials";
import { outboxDelivery, SLOW_REGISTRATION, waitsForItsAccount } from "./delivery";
import { memoryArea } from "./memory-area";
import {
  ATTEMPTS_BEFORE_TELLING,
  backoffMs,
  DELIVERIES_AT_ONCE,
  type DeliveryResult,
  FIRST_RETRY_MS,
  FLUSH_BUDGET_MS,
  type KeyValueArea,
  MAX_RETRY_MS,
  NO_STATUS,
  Outbox,
  type OutboxEntry,
  tellTrouble,
  troubleNote,
  WITHDRAWN_KEEP_MS,
  waitsOnTracker,
} from "./outbox";

const CREDENTIALS: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "mt_token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};
const request = { subject: "s", recipients: [], sentAt: new Date(0).toISOString(), openTracking: true, clickTracking: true, links: [] };

/** An entry as the outbox tells of it: still pending after its attempts, the tracker not answering. */
const toldEntry = (changes: Partial<OutboxEntry>): OutboxEntry => ({
  trackingId: "id",
  request,
  state: "pending",
  attempts: ATTEMPTS_BEFORE_TELLING,
  createdAt: 0,
  nextAttemptAt: 0,
  lastError: "cannot reach the tracker at https://t.example (Failed to fetch)",
  lastStatus: null,
  ...changes,
});

/** Lets every promise chain run until it waits on something the test has not answered yet. */
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * An outbox whose deliveries wait until the test answers them: a tracker that does not answer (api.ts then gives up
 * after its timeout) is one never answered until the test says the timeout came. Deliveries are recorded as
 * "register <id>" or "withdraw <id>", with any delivered while another of the same id was under way, and the most
 * under way together.
 */
function unanswered() {
  let now = 1_000_000;
  const area = memoryArea();
  const calls: string[] = [];
  const waiting: { call: string; answer: (result: DeliveryResult) => void }[] = [];
  const underway = new Set<string>();
  const twice: string[] = [];
  let most = 0;
  const scheduled: (number | null)[] = [];
  const outbox = new Outbox(
    area,
    (entry) => {
      const call = `${entry.withdraw ? "withdraw" : "register"} ${entry.trackingId}`;
      calls.push(call);
      if (underway.has(entry.trackingId)) twice.push(call);
      underway.add(entry.trackingId);
      most = Math.max(most, underway.size);
      return new Promise<DeliveryResult>((resolve) =>
        waiting.push({
          call,
          answer: (result) => {
            underway.delete(entry.trackingId);
            resolve(result);
          },
        }),
      );
    },
    (at) => scheduled.push(at),
    () => now,
  );
  /** Answers the delivery under way recorded as `call`, or every one under way. */
  const answer = (call: string | null, result: DeliveryResult) => {
    for (const w of waiting.filter((w) => call === null || w.call === call)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.answer(result);
    }
  };
  /** Registrations the tracker could not be told of once (it was down), due now: a backlog, the oldest first. */
  const backlog = (count: number) => {
    area.data.outbox = Object.fromEntries(
      Array.from({ length: count }, (_, i): [string, OutboxEntry] => [
        `old${i}`,
        {
          trackingId: `old${i}`,
          request,
          state: "pending",
          attempts: 1,
          createdAt: now - HOUR + i,
          nextAttemptAt: now,
          lastError: "cannot reach the tracker",
          lastStatus: null,
        },
      ]),
    );
  };
  return {
    area,
    outbox,
    calls,
    waiting: () => waiting.map((w) => w.call),
    answer,
    backlog,
    twice,
    most: () => most,
    scheduled,
    now: () => now,
    tick: (ms: number) => (now += ms),
  };
}
/** What a call that has not come back by the time every chain waits on the tracker gives instead. */
const STILL_WAITING = "still waiting behind the deliveries under way";
const atOnce = <T>(promise: Promise<T>) => Promise.race([promise, nextTask().then(() => STILL_WAITING)]);
const TIMED_OUT: DeliveryResult = { retry: true, error: "cannot reach the tracker (timed out)" };

describe("outbox", () => {
  it("retries with backoff until delivered, survives a new Outbox on the same storage (a restart), never drops", async () => {
    let now = 1_000;
    const results: DeliveryResult[] = [{ retry: true, error: "down" }, { retry: true, error: "down" }, "delivered"];
    const delivered: OutboxEntry[] = [];
    const area = memoryArea();
    const deliver = async (entry: OutboxEntry) => {
      delivered.push(entry);
      return results.shift() ?? "delivered";
    };
    const scheduled: (number | null)[] = [];
    let outbox = new Outbox(
      area,
      deliver,
      (at) => scheduled.push(at),
      () => now,
    );
    await outbox.put("id1", request);
    await outbox.flush();
    expect((await outbox.entries())[0]).toMatchObject({ attempts: 1, lastError: "down", nextAttemptAt: now + FIRST_RETRY_MS });
    await outbox.flush(); // not due yet
    expect(delivered).toHaveLength(1);
    now += FIRST_RETRY_MS;
    outbox = new Outbox(
      area,
      deliver,
      (at) => scheduled.push(at),
      () => now,
    ); // the background restarted
    await outbox.flush();
    expect((await outbox.entries())[0]).toMatchObject({ attempts: 2, nextAttemptAt: now + 2 * FIRST_RETRY_MS });
    now += 2 * FIRST_RETRY_MS;
    await outbox.flush();
    expect(await outbox.entries()).toEqual([]);
    expect(scheduled.at(-1)).toBeNull();
  });

  it("attempts at once the entries waiting out their backoff when hurried, only those the tracker could not be reached for", async () => {
    let now = 0;
    const otherAccount = await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) });
    const answers: Record<string, DeliveryResult> = {
      waiting: { retry: true, error: "down", status: null },
      refused: { retry: false, error: "400" },
      throttled: { retry: true, error: "the tracker answered 429", status: 429 },
      // No status: no call reached any tracker (delivery.ts), and none will until the rep connects to its account.
      [otherAccount]: { retry: true, error: waitsForItsAccount(otherAccount) },
      slow: { retry: true, error: SLOW_REGISTRATION },
    };
    const attempted: string[] = [];
    const outbox = new Outbox(
      memoryArea(),
      async (entry) => {
        attempted.push(entry.trackingId);
        return answers[entry.trackingId] ?? "delivered";
      },
      () => undefined,
      () => now,
    );
    await outbox.put("waiting", request);
    await outbox.put("refused", request);
    await outbox.put("throttled", request);
    await outbox.put(otherAccount, request);
    await outbox.put("slow", request);
    for (let i = 0; i < 5; i++) {
      await outbox.flush();
      now += MAX_RETRY_MS;
    }
    // Its backoff now long; then the held one, put in Gmail's undo period.
    await outbox.flush();
    await outbox.put("held", request, now + MINUTE);
    answers.waiting = "delivered";
    attempted.length = 0;
    await outbox.hurry();
    // The throttled and the slow ones, which the tracker answered, and the other account's, which waits on the rep,
    // wait out their backoff: hurried after every answered feed poll, they would otherwise be sent every minute.
    expect(attempted).toEqual(["waiting"]);
    expect((await outbox.entries()).map((e) => [e.trackingId, e.state])).toEqual([
      ["refused", "failed"],
      ["throttled", "pending"],
      [otherAccount, "pending"],
      ["slow", "pending"],
      ["held", "pending"],
    ]);
  });

  it("hurries an entry stored before its last status was kept, as one the tracker could not be reached for, once", async () => {
    const now = 0;
    const area = memoryArea();
    const attempted: string[] = [];
    const outbox = new Outbox(
      area,
      async (entry) => {
        attempted.push(entry.trackingId);
        return { retry: true, error: "not connected to a tracker" };
      },
      () => undefined,
      () => now,
    );
    // As an earlier version left it: attempted, waiting out a backoff of up to 15 minutes, no lastStatus.
    const earlier = { trackingId: "earlier", request, state: "pending", attempts: 7, createdAt: 0, nextAttemptAt: MAX_RETRY_MS };
    await area.set({ outbox: { earlier: { ...earlier, lastError: "cannot reach the tracker at https://t.example (Failed to fetch)" } } });
    await outbox.hurry();
    expect(attempted).toEqual(["earlier"]);
    // That attempt failed with no status of the tracker's: recorded, and not hurried again.
    expect((await outbox.entries())[0]?.lastStatus).toBe(NO_STATUS);
    await outbox.hurry();
    expect(attempted).toEqual(["earlier"]);
  });

  it("hurried after every feed poll, writes and attempts nothing while no registration is being retried", async () => {
    const area = memoryArea();
    let writes = 0;
    const counting: KeyValueArea = {
      get: (key) => area.get(key),
      set: (items) => {
        writes += 1;
        return area.set(items);
      },
    };
    const attempted: string[] = [];
    const outbox = new Outbox(
      counting,
      async (entry) => {
        attempted.push(entry.trackingId);
        return "delivered";
      },
      () => undefined,
      () => 0,
    );
    await outbox.put("held", request, 45_000);
    writes = 0;
    await outbox.hurry();
    expect([writes, attempted]).toEqual([0, []]);
  });

  it("keeps a refused entry as failed (no endless retry) until the user retries it", async () => {
    const area = memoryArea();
    let answer: DeliveryResult = { retry: false, error: "the tracker answered 400" };
    const outbox = new Outbox(
      area,
      async () => answer,
      () => undefined,
      () => 5,
    );
    await outbox.put("id1", request);
    await outbox.flush();
    expect((await outbox.entries())[0]).toMatchObject({ state: "failed", lastError: "the tracker answered 400" });
    await outbox.flush();
    expect((await outbox.entries())[0]?.attempts).toBe(1);
    answer = "delivered";
    await outbox.retry();
    await outbox.flush();
    expect(await outbox.entries()).toEqual([]);
  });

  it("tells the user once of an entry the tracker refused, and of one still pending after several attempts", async () => {
    let now = 0;
    const told: Pick<OutboxEntry, "trackingId" | "state" | "lastError">[] = [];
    // The tracker's answers, as the worker gives them, read by the real client (api.ts): its words, its status.
    const answers: Record<string, { status: number; body: unknown }> = {
      refused: {
        status: 400,
        body: { error: "invalid request body", issues: [{ path: "recipients.0.email", message: "Invalid email address" }] },
      },
      unauthorised: { status: 401, body: { error: "missing or invalid API token (Authorization: Bearer mt_…)" } },
    };
    const fetch = async (url: RequestInfo | URL) => {
      const answer = answers[String(url).split("/").at(-1) ?? ""] ?? { status: 200, body: {} };
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    };
    const outbox = new Outbox(
      memoryArea(),
      outboxDelivery({
        credentials: async () => CREDENTIALS,
        api: (c) => trackerApi(c.trackerUrl, c.apiToken, fetch),
        news: () => undefined,
        releaseHeld: () => undefined,
        registered: () => undefined,
      }),
      () => undefined,
      () => now,
      ({ trackingId, state, lastError }) => told.push({ trackingId, state, lastError }),
    );
    await outbox.put("refused", request);
    await outbox.put("unauthorised", request);
    await outbox.put("fine", request);
    for (let attempt = 1; attempt <= ATTEMPTS_BEFORE_TELLING + 3; attempt++) {
      await outbox.flush();
      if (attempt < ATTEMPTS_BEFORE_TELLING) expect(told.map((t) => t.trackingId)).toEqual(["refused"]);
      now += MAX_RETRY_MS;
    }
    // Each later failure of the one waiting on the tracker (its token) is handed on too: tellTrouble passes it to
    // tracker-reach.ts, which tells it again only once the notice naming it was taken back (stillWaits).
    expect(told.slice(2).map((t) => t.trackingId)).toEqual(["unauthorised", "unauthorised", "unauthorised"]);
    expect(told.slice(0, 2)).toEqual([
      {
        trackingId: "refused",
        state: "failed",
        lastError: "the tracker answered 400: invalid request body: recipients.0.email Invalid email address",
      },
      {
        trackingId: "unauthorised",
        state: "pending",
        lastError: "the tracker answered 401: missing or invalid API token (Authorization: Bearer mt_…)",
      },
    ]);
    const entries = await outbox.entries();
    const noteOf = (id: string) => troubleNote(entries.find((e) => e.trackingId === id) as OutboxEntry);
    expect(noteOf("refused")).toEqual({
      title: "An email is not tracked",
      message: `"s" was sent, but the tracker refused it: ${told[0]?.lastError}. Open the extension's options to retry.`,
    });
    // A refused token is no fault of the email's: left to tracker-reach.ts's one notice of the refusal (tellTrouble),
    // and in its words where no outage takes it. The entry keeps why, for its Sent mark and panel (unregisteredWords).
    const unauthorised = entries.find((e) => e.trackingId === "unauthorised") as OutboxEntry;
    expect(waitsOnTracker(unauthorised)).toBe(true);
    expect(noteOf("unauthorised")).toEqual({
      title: "An email is not tracked yet",
      message: `"s" was sent, but the tracker could not be told of it: ${TOKEN_REFUSED}. The extension keeps trying.`,
    });
    expect(unauthorised).toMatchObject({
      state: "pending",
      lastStatus: 401,
      lastError: "the tracker answered 401: missing or invalid API token (Authorization: Bearer mt_…)",
    });
  });

  it("says of a send taken back with Undo that it was taken back, not sent", async () => {
    const entry = (changes: Partial<OutboxEntry>) => toldEntry({ trackingId: "undone", withdraw: true, ...changes });
    expect(troubleNote(entry({}))).toEqual({
      title: "An email taken back is still on the tracker",
      message:
        '"s" was taken back in Gmail, but the tracker could not be told to remove it: cannot reach the tracker at https://t.example (Failed to fetch). The extension keeps trying.',
    });
    expect(troubleNote(entry({ state: "failed", lastError: "the tracker answered 403: forbidden", lastStatus: 403 }))).toEqual({
      title: "An email taken back is still on the tracker",
      message:
        '"s" was taken back in Gmail, but the tracker refused to remove it: the tracker answered 403: forbidden. Open the extension\'s options to retry.',
    });
    // Nor a withdrawal the tracker did not answer, or refused for the token: left to the outage's notice (tellTrouble).
    expect(waitsOnTracker(entry({}))).toBe(true);
    expect(waitsOnTracker(entry({ lastError: "the tracker answered 401: missing or invalid API token", lastStatus: 401 }))).toBe(true);
    expect(waitsOnTracker(entry({ state: "failed", lastError: "the tracker answered 403: forbidden", lastStatus: 403 }))).toBe(false);
  });

  it("tells an error the tracker answered in the email's own words, and leaves one waiting on the tracker to its outage's notice", async () => {
    /** What was told, and what the outage was asked to name, when the outage answers `takes` (or fails). */
    const told = async (changes: Partial<OutboxEntry>, takes: boolean | Error) => {
      const asked: string[] = [];
      const notes: string[] = [];
      const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
      await tellTrouble(toldEntry(changes), {
        outage: async (e) => {
          asked.push(e.trackingId);
          if (takes instanceof Error) throw takes;
          return takes;
        },
        stillWaits: async (e) => void asked.push(`again ${e.trackingId}`),
        notify: async (note) => void notes.push(note.title),
      });
      warned.mockRestore();
      return { asked, notes };
    };
    // The tracker answered with a refusal of its own: the email's trouble, told per email, the outage not asked.
    const answered = { lastError: "the tracker answered 413: the registration is too large", lastStatus: 413 };
    expect(await told(answered, true)).toEqual({ asked: [], notes: ["An email is not tracked yet"] });
    // A server error is the tracker down, as tracker-reach.ts counts it: named by the outage's notice, not told twice.
    const down = { lastError: "the tracker answered 503: D1 is overloaded", lastStatus: 503 };
    expect(await told(down, true)).toEqual({ asked: ["id"], notes: [] });
    expect(await told(down, false)).toEqual({ asked: ["id"], notes: ["An email is not tracked yet"] });
    // No answer, or the token refused: named by the outage's notice when it takes it, else told here all the same.
    expect(await told({}, true)).toEqual({ asked: ["id"], notes: [] });
    expect(await told({ lastStatus: 401, lastError: "the tracker answered 401" }, true)).toEqual({ asked: ["id"], notes: [] });
    expect(await told({}, false)).toEqual({ asked: ["id"], notes: ["An email is not tracked yet"] });
    expect(await told({}, new Error("storage.session is gone"))).toEqual({ asked: ["id"], notes: ["An email is not tracked yet"] });
    // Told of already: a later failure is tracker-reach's to tell again (once its notice was taken back), never a
    // notice of the outbox's at each attempt; a refusal after it is the email's own, told here.
    const later = { attempts: ATTEMPTS_BEFORE_TELLING + 1 };
    expect(await told(later, false)).toEqual({ asked: ["again id"], notes: [] });
    expect(await told({ ...later, ...answered, state: "failed" }, true)).toEqual({ asked: [], notes: ["An email is not tracked"] });
  });

  it("holds an entry back until notBefore, and a later put with better ids replaces it", async () => {
    let now = 0;
    const seen: string[] = [];
    const outbox = new Outbox(
      memoryArea(),
      async (e) => {
        seen.push(String(e.request.threadId));
        return "delivered" as const;
      },
      () => undefined,
      () => now,
    );
    await outbox.put("id1", { ...request, threadId: "#thread-a:r-1" }, 45_000);
    await outbox.flush();
    expect(seen).toEqual([]);
    await outbox.put("id1", { ...request, threadId: "183234ce86ffa010" });
    await outbox.flush();
    expect(seen).toEqual(["183234ce86ffa010"]);
    now = 50_000;
    await outbox.flush();
    expect(seen).toEqual(["183234ce86ffa010"]);
  });

  describe("a send Gmail's Undo took back", () => {
    /** An outbox whose deliveries are recorded as "register <id>" or "withdraw <id>", answered by `answer`. */
    const recording = (answer: (entry: OutboxEntry) => DeliveryResult = () => "delivered") => {
      let now = 1_000;
      const calls: string[] = [];
      const area = memoryArea();
      const make = () =>
        new Outbox(
          area,
          async (entry) => {
            calls.push(`${entry.withdraw ? "withdraw" : "register"} ${entry.trackingId}`);
            return answer(entry);
          },
          () => undefined,
          () => now,
        );
      return { calls, area, make, outbox: make(), tick: (ms: number) => (now += ms) };
    };

    it("a registration still held back is never sent: it becomes a withdrawal, and Gmail's late answer cannot bring it back", async () => {
      const { calls, outbox } = recording();
      await outbox.put("id1", { ...request, subject: "Pricing" }, 45_000);
      await outbox.withdraw("id1");
      expect(await outbox.entries()).toMatchObject([{ trackingId: "id1", withdraw: true, request: { subject: "Pricing" } }]);
      expect(await outbox.put("id1", { ...request, threadId: "183234ce86ffa010" })).toBe(false);
      await outbox.flush();
      expect(calls).toEqual(["withdraw id1"]);
      expect(await outbox.entries()).toEqual([]);
    });

    it("a registration already delivered is deleted on the tracker, retried with backoff while it is down, and stays refused after a restart", async () => {
      let down = true;
      const { calls, make, tick } = recording((entry) => (entry.withdraw && down ? { retry: true, error: "down" } : "delivered"));
      let outbox = make();
      await outbox.put("id1", request);
      await outbox.flush();
      await outbox.withdraw("id1");
      await outbox.flush();
      expect(await outbox.entries()).toMatchObject([{ trackingId: "id1", withdraw: true, attempts: 1, lastError: "down" }]);
      down = false;
      tick(FIRST_RETRY_MS);
      outbox = make(); // the background restarted
      await outbox.flush();
      expect(calls).toEqual(["register id1", "withdraw id1", "withdraw id1"]);
      expect(await outbox.entries()).toEqual([]);
      expect(await outbox.put("id1", request)).toBe(false);
      expect(await outbox.entries()).toEqual([]);
    });

    it("the re-send, another id, is registered as usual; the withdrawn id is forgotten after a week", async () => {
      const { calls, outbox, tick } = recording();
      await outbox.put("id1", request);
      await outbox.withdraw("id1");
      expect(await outbox.put("id2", request)).toBe(true);
      await outbox.flush();
      expect(calls).toEqual(["withdraw id1", "register id2"]);
      tick(WITHDRAWN_KEEP_MS);
      await outbox.withdraw("id3"); // a later withdrawal prunes the old ones
      expect(await outbox.put("id1", request)).toBe(true);
    });
  });
  describe("deliveries against a tracker that does not answer", () => {
    it("a new send is queued and its first delivery starts at once, while 20 due registrations wait on the tracker", async () => {
      const t = unanswered();
      t.backlog(20);
      const backlogFlush = t.outbox.flush(); // the alarm's
      await nextTask();
      // What the messageSent handler does: put, then flush without waiting.
      expect(await atOnce(t.outbox.put("new", { ...request, subject: "Pricing" }))).toBe(true);
      const sendFlush = t.outbox.flush();
      await nextTask();
      // Retries take DELIVERIES_AT_ONCE - 1 places, the newest first: one is kept for a send's first attempt.
      expect(t.waiting()).toEqual(["register old19", "register old18", "register old17", "register new"]);
      t.answer("register new", "delivered");
      await nextTask();
      expect((await t.outbox.snapshot()).map((e) => e.trackingId)).not.toContain("new");
      // The backlog goes on, never more at once than DELIVERIES_AT_ONCE, no entry twice, until each was tried once.
      for (let round = 0; t.waiting().length > 0 && round < 30; round++) {
        t.answer(null, TIMED_OUT);
        await nextTask();
      }
      await Promise.all([backlogFlush, sendFlush]);
      expect(t.calls.filter((c) => c !== "register new").sort()).toEqual(Array.from({ length: 20 }, (_, i) => `register old${i}`).sort());
      expect([t.twice, t.most() <= DELIVERIES_AT_ONCE]).toEqual([[], true]);
      expect((await t.outbox.entries()).map((e) => e.attempts)).toEqual(Array(20).fill(2));
    });

    it("never delivers an entry twice at once, however many flushes run together", async () => {
      const t = unanswered();
      // Fewer than DELIVERIES_AT_ONCE: each flush finds room for the entries another one has under way.
      t.backlog(2);
      await t.outbox.put("new", request);
      // The alarm, a send's flush, an answered feed poll and the options page's retry, all at once.
      const flushes = [t.outbox.flush(), t.outbox.flush(), t.outbox.hurry(), t.outbox.retry().then(() => t.outbox.flush())];
      await nextTask();
      for (let round = 0; t.waiting().length > 0 && round < 20; round++) {
        t.answer(t.waiting()[0] ?? null, "delivered");
        await nextTask();
      }
      await Promise.all(flushes);
      expect(t.twice).toEqual([]);
      expect(t.calls.sort()).toEqual(["register new", "register old0", "register old1"]);
      expect(await t.outbox.entries()).toEqual([]);
    });

    it("writes each result back without losing a put or a withdrawal made while it was under way; the withdrawal wins", async () => {
      const t = unanswered();
      await t.outbox.put("undone", { ...request, subject: "Pricing" });
      await t.outbox.put("better", { ...request, threadId: "#thread-a:r-1" });
      const flush = t.outbox.flush();
      await nextTask();
      expect(t.waiting().sort()).toEqual(["register better", "register undone"]);
      // Meanwhile: Gmail's Undo takes one back, Gmail's answer gives the other its ids, and another email is sent.
      expect(await atOnce(t.outbox.withdraw("undone"))).toBeUndefined();
      expect(await atOnce(t.outbox.put("better", { ...request, threadId: "183234ce86ffa010" }))).toBe(true);
      expect(await atOnce(t.outbox.put("later", request))).toBe(true);
      const later = t.outbox.flush();
      await nextTask();
      // Not the withdrawal while its registration is under way: the tracker could take the DELETE before the PUT.
      expect(t.waiting().sort()).toEqual(["register better", "register later", "register undone"]);
      t.answer("register undone", "delivered");
      t.answer("register better", "delivered");
      t.answer("register later", { retry: true, error: "the tracker answered 503", status: 503 });
      await nextTask();
      expect(await t.outbox.snapshot()).toMatchObject([
        { trackingId: "undone", withdraw: true, attempts: 0, request: { subject: "Pricing" } },
        { trackingId: "better", attempts: 0, request: { threadId: "183234ce86ffa010" } },
        { trackingId: "later", attempts: 1, lastStatus: 503 },
      ]);
      // The withdrawal and the better ids go once the deliveries of their id ended; the flushes waiting on them see to it.
      expect(t.waiting().sort()).toEqual(["register better", "withdraw undone"]);
      t.answer(null, "delivered");
      await Promise.all([flush, later]);
      expect(t.twice).toEqual([]);
      expect((await t.outbox.entries()).map((e) => e.trackingId)).toEqual(["later"]);
      expect(await t.outbox.put("undone", request)).toBe(false);
    });

    it("a flush delivers again an entry replaced while it had it under way, once that delivery has ended", async () => {
      const t = unanswered();
      await t.outbox.put("undone", request);
      await t.outbox.put("better", { ...request, threadId: "#thread-a:r-1" });
      const flush = t.outbox.flush();
      await nextTask();
      expect(t.waiting().sort()).toEqual(["register better", "register undone"]);
      // Gmail's answer with better ids, and Gmail's Undo, with no flush of their own: the one under way sees to them.
      await t.outbox.put("better", { ...request, threadId: "183234ce86ffa010" });
      await t.outbox.withdraw("undone");
      t.answer(null, "delivered");
      await nextTask();
      expect(t.waiting().sort()).toEqual(["register better", "withdraw undone"]);
      t.answer(null, "delivered");
      await flush;
      expect(t.calls.slice(2).sort()).toEqual(["register better", "withdraw undone"]);
      expect(await t.outbox.entries()).toEqual([]);
    });

    it("a release of held signals that a delivery starts sees that delivery written back", async () => {
      let seen: string[] = [];
      let released = Promise.resolve();
      const outbox: Outbox = new Outbox(
        memoryArea(),
        async () => {
          // As delivery.ts does once the tracker has the email: releaseHeld, not waited for, reads the outbox's threads.
          released = outbox.entries().then((entries) => {
            seen = entries.map((e) => e.trackingId);
          });
          return "delivered";
        },
        () => undefined,
        () => 0,
      );
      await outbox.put("delivered", request);
      await outbox.put("held", request, 45_000);
      await outbox.flush();
      await released;
      expect(seen).toEqual(["held"]);
    });

    it("starts no delivery after FLUSH_BUDGET_MS: the rest stays due, and leads the next flush", async () => {
      const t = unanswered();
      t.backlog(60);
      const start = t.now();
      let done = false;
      const flush = t.outbox.flush().then(() => {
        done = true;
      });
      await nextTask();
      // Each round, the deliveries under way end at api.ts's timeout, 15 s on.
      for (let round = 0; !done && round < 100; round++) {
        t.tick(15_000);
        t.answer(null, TIMED_OUT);
        await nextTask();
      }
      await flush;
      const reached = (FLUSH_BUDGET_MS / 15_000) * (DELIVERIES_AT_ONCE - 1);
      expect([t.calls.length, t.now() - start]).toEqual([reached, FLUSH_BUDGET_MS]);
      const entries = await t.outbox.entries();
      const untried = entries.filter((e) => e.attempts === 1);
      expect(untried).toHaveLength(60 - reached);
      // Due: the next flush (the timer, or the alarm once the worker was stopped) takes them.
      expect(untried.every((e) => e.state === "pending" && e.nextAttemptAt <= t.now())).toBe(true);
      expect(t.scheduled.at(-1)).toBeLessThanOrEqual(t.now());
      t.tick(backoffMs(2));
      t.calls.length = 0;
      const next = t.outbox.flush();
      await nextTask();
      expect(t.waiting().every((call) => untried.some((e) => call === `register ${e.trackingId}`))).toBe(true);
      for (let round = 0; round === 0 || (t.waiting().length > 0 && round < 30); round++) {
        t.answer(null, "delivered");
        await nextTask();
      }
      await next;
      expect(await t.outbox.entries()).toEqual([]);
    });

    it("schedules the next attempt by the entries waiting, not by one under way, which its result reschedules", async () => {
      const t = unanswered();
      await t.outbox.put("sent", request);
      const flush = t.outbox.flush();
      await nextTask();
      expect(t.waiting()).toEqual(["register sent"]);
      await t.outbox.put("held", request, t.now() + 45_000);
      // Not now: the alarm and the timer would start flushes that find it under way.
      expect(t.scheduled.at(-1)).toBe(t.now() + 45_000);
      t.answer(null, TIMED_OUT);
      await flush;
      expect(t.scheduled.at(-1)).toBe(t.now() + FIRST_RETRY_MS);
    });

    it("sets the alarm again before a flush's deliveries run, so a worker stopped meanwhile is woken to find them", async () => {
      const t = unanswered();
      t.backlog(1);
      // The alarm that started this flush fired and is gone (a one-shot alarm).
      t.scheduled.length = 0;
      const flush = t.outbox.flush();
      await nextTask();
      expect(t.waiting()).toEqual(["register old0"]);
      expect(t.scheduled).toEqual([t.now() + MINUTE]);
      t.answer(null, TIMED_OUT);
      await flush;
      expect(t.scheduled.at(-1)).toBe(t.now() + backoffMs(2));
    });

    it("delivers the newest first of entries due together", async () => {
      const t = unanswered();
      for (const id of ["first", "second", "third"]) {
        await t.outbox.put(id, request, t.now() + 45_000);
        t.tick(1_000);
      }
      t.tick(45_000);
      const flush = t.outbox.flush();
      await nextTask();
      expect(t.calls).toEqual(["register third", "register second", "register first"]);
      t.answer(null, "delivered");
      await flush;
    });
  });

  describe("the rep stops waiting for an account (dropAccount)", () => {
    const idOf = (accountId: string) => mintTrackingId({ accountId, keyId: 1, secret: "A".repeat(43) });

    it("drops that account's registrations and withdrawals, never sent, and keeps another's; one under way is not written back", async () => {
      const t = unanswered();
      const [sent, undone, other] = await Promise.all([idOf("qrstuvwxyzabcdef"), idOf("qrstuvwxyzabcdef"), idOf(CREDENTIALS.accountId)]);
      await t.outbox.put(sent, request);
      await t.outbox.put(other, request);
      await t.outbox.withdraw(undone);
      const flush = t.outbox.flush();
      await nextTask();
      expect(t.waiting().sort()).toEqual([`register ${other}`, `register ${sent}`, `withdraw ${undone}`].sort());
      // Its one withdrawal let go, as the rep was asked; while the deliveries are still under way.
      expect(await atOnce(t.outbox.dropAccount("qrstuvwxyzabcdef", 1))).toBeUndefined();
      expect((await t.outbox.snapshot()).map((e) => e.trackingId)).toEqual([other]);
      t.answer(null, TIMED_OUT);
      await flush;
      // The deliveries of the dropped entries ended unanswered: not written back, so never sent again.
      expect(await t.outbox.entries()).toMatchObject([{ trackingId: other, attempts: 1 }]);
      // An account with nothing waiting: nothing to drop, nothing refused.
      await t.outbox.dropAccount("qrstuvwxyzabcdef", 0);
      expect((await t.outbox.entries()).map((e) => e.trackingId)).toEqual([other]);
    });

    it("refuses, dropping nothing, while more of its sends taken back wait to be withdrawn than the rep agreed to let go of", async () => {
      const t = unanswered();
      const [sent, first, second] = await Promise.all([idOf("qrstuvwxyzabcdef"), idOf("qrstuvwxyzabcdef"), idOf("qrstuvwxyzabcdef")]);
      await t.outbox.put(sent, request, t.now() + HOUR);
      await t.outbox.withdraw(first);
      const before = await t.outbox.entries();
      await expect(t.outbox.dropAccount("qrstuvwxyzabcdef", 0)).rejects.toThrow(
        "not stopped: 1 email taken back in Gmail waits to be withdrawn from account qrstuvwxyzabcdef's tracker, and you agreed to let go of none. Connect to account qrstuvwxyzabcdef again to send its withdrawal, or press Stop waiting again to let it go.",
      );
      // One more taken back in Gmail since the rep was asked about one.
      await t.outbox.withdraw(second);
      await expect(t.outbox.dropAccount("qrstuvwxyzabcdef", 1)).rejects.toThrow(
        "not stopped: 2 emails taken back in Gmail wait to be withdrawn from account qrstuvwxyzabcdef's tracker, and you agreed to let go of 1. Connect to account qrstuvwxyzabcdef again to send their withdrawals, or press Stop waiting again to let them go.",
      );
      expect(await t.outbox.entries()).toEqual([...before, expect.objectContaining({ trackingId: second, withdraw: true })]);
      await t.outbox.dropAccount("qrstuvwxyzabcdef", 2);
      expect(await t.outbox.entries()).toEqual([]);
    });
  });
});
