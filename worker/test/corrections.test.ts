// Corrections to the events feed (migration 0022, GET /api/events?correctionsAfter=): an event released with one
// label whose label a hit written late, or a registration, changes afterwards.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { trackerApi } from "../../extension/src/background/api";
import type { FeedState } from "../../extension/src/background/feed-state";
import { memoryArea } from "../../extension/src/background/memory-area";
import { FeedPoller, readFeedState, summarize } from "../../extension/src/background/notifications";
import type { EventsResponse } from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import { LABEL_FINAL_AFTER_MS, RELABEL_MARGIN_MS, RELEASE_CLOCK_MARGIN_MS, releasedFrom, UNREGISTERED_HOLD_MS } from "../src/classify";
import { eventsAfter, recordSenderViews, relabelSpans, spansAroundView } from "../src/db/events";
import { purgeExpiredEvents } from "../src/db/retention";
import { hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import {
  BASE,
  CHROME_UA,
  createAccount,
  DAY,
  GMAIL_PROXY_UA,
  HOUR,
  MINUTE,
  registration,
  sentMessage,
  storedEvents,
  type TestAccount,
} from "./helpers";

/** Microsoft's network: Outlook.com's image fetches for real opens, and Defender's sandbox (classify.ts, LINK_CHECKER_ASNS). */
const MICROSOFT = { asn: 8075, country: "IE" };
const SANDBOX_ADDRESS = "40.94.30.17";

/** A hit at `at` from `init`'s request, as the tracker builds it (hitFromRequest). */
async function hitAt(
  account: TestAccount,
  messageId: string,
  kind: "open" | "click",
  at: number,
  init: RequestInit & { cf?: object } = {},
) {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const path = kind === "open" ? `/o/${messageId}.gif` : `/c/${messageId}`;
  const request = new Request(`${BASE}${path}`, { ...init, headers: { "user-agent": CHROME_UA, ...init.headers } } as RequestInit);
  return hitFromRequest(request, { accountId: account.accountId, messageId, accountKey, kind, linkIndex: kind === "open" ? null : 0 }, at);
}

/** Stores a hit as the consumer does, written `writtenAfter` ms after it happened (the time the feed's rule reads). */
async function storedAt(hit: Awaited<ReturnType<typeof hitAt>>, writtenAfter = 300) {
  await storeHits(env.DB, [hit]);
  await env.DB.prepare("UPDATE events SET inserted_at = ? WHERE event_id = ?")
    .bind(hit.occurredAt + writtenAfter, hit.eventId)
    .run();
  const row = await env.DB.prepare("SELECT seq FROM events WHERE event_id = ?").bind(hit.eventId).first<{ seq: number }>();
  return Number(row?.seq);
}

/** The email's registration reached the tracker at `at`, as the extension's outbox delivers it on sending. */
async function registeredAt(messageId: string, at: number) {
  await env.DB.prepare("UPDATE messages SET registered_at = ? WHERE id = ?").bind(at, messageId).run();
}

/** GET /api/events with the deployed hold rules (FEED_SETTLE_SECONDS unset). */
async function feed(account: TestAccount, query: string): Promise<EventsResponse> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}/api/events?${query}`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
    { ...env, FEED_SETTLE_SECONDS: undefined },
    ctx,
  );
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  expect(response.status).toBe(200);
  return JSON.parse(body) as EventsResponse;
}

async function corrections(accountId: string): Promise<{ seq: number; event_seq: number }[]> {
  const { results } = await env.DB.prepare("SELECT seq, event_seq FROM event_corrections WHERE account_id = ? ORDER BY seq")
    .bind(accountId)
    .all<{ seq: number; event_seq: number }>();
  return results;
}

/**
 * An email sent 4 minutes ago, opened 30 s after the send by Microsoft's sandbox as it checked the email on delivery
 * (a browser's user agent, Microsoft's network: a reader's open by the request alone), stored at once and released
 * by the feed as a reader's.
 */
async function releasedSandboxOpen(account?: TestAccount) {
  account ??= await createAccount();
  const url = "https://calendly.com/rep/30min";
  const sentAt = Date.now() - 4 * MINUTE;
  const message = await sentMessage(account, { links: [{ index: 0, url }], sentAt: new Date(sentAt).toISOString() });
  await registeredAt(message.id, sentAt);
  const openedAt = sentAt + 30_000;
  const openSeq = await storedAt(
    await hitAt(account, message.id, "open", openedAt, { headers: { "cf-connecting-ip": SANDBOX_ADDRESS }, cf: MICROSOFT }),
  );
  return { account, message, url, openedAt, openSeq };
}

describe("a correction of an event the feed released", () => {
  it("a scanner's click written minutes late through the real queue makes a released open a scanner's: corrected once, its cursor moving", async () => {
    const { account, message, url, openedAt, openSeq } = await releasedSandboxOpen();
    const first = await feed(account, "after=0&correctionsAfter=0");
    expect(first.events.map((e) => [e.cursor, e.label, e.counted, e.notify, e.registered])).toEqual([
      [String(openSeq), "human", true, true, true],
    ]);
    expect([first.corrections, first.correctionsCursor]).toEqual([[], "0"]);

    // The sandbox followed the link 20 s after loading the pixel, from the same address, with a click Microsoft's
    // network makes a scanner's; the queue delivered that hit only now, minutes later (a batch retried).
    const click = await hitAt(account, message.id, "click", openedAt + 20_000, {
      headers: { "cf-connecting-ip": SANDBOX_ADDRESS, referer: url },
      cf: MICROSOFT,
    });
    expect(click.requestLabel).toBe("scanner");
    await env.HITS.send(click, { contentType: "json" });
    await vi.waitFor(
      async () => {
        const open = (await storedEvents(message.id)).find((row) => row.seq === openSeq);
        if (open?.label !== "scanner") throw new Error(`the open is still ${open?.label}`);
      },
      { timeout: 10_000, interval: 50 },
    );

    const second = await feed(account, `after=${first.cursor}&correctionsAfter=${first.correctionsCursor}`);
    expect(
      second.corrections?.map((c) => [c.event.cursor, c.event.messageId, c.event.kind, c.event.label, c.event.counted, c.event.notify]),
    ).toEqual([[String(openSeq), message.id, "open", "scanner", false, false]]);
    expect(second.correctionsCursor).toBe(second.corrections?.[0]?.cursor);
    expect(Number(second.correctionsCursor)).toBeGreaterThan(0);
    // Once: the next answer from the new cursor has none, and its cursor stays.
    const third = await feed(account, `after=${second.cursor}&correctionsAfter=${second.correctionsCursor}`);
    expect([third.corrections, third.correctionsCursor]).toEqual([[], second.correctionsCursor]);
    // The click itself comes as a new event (a scanner's) whenever released, never as a correction.
    expect((await corrections(account.accountId)).map((c) => c.event_seq)).toEqual([openSeq]);
    // An extension older than corrections does not ask: it gets none, and the answer is as before.
    const older = await feed(account, "after=0");
    expect(older).not.toHaveProperty("corrections");
    expect(older).not.toHaveProperty("correctionsCursor");
  });

  it("refuses a corrections cursor that is not one, as it refuses `after`", async () => {
    const account = await createAccount();
    for (const bad of ["-1", "01", "abc", "1e3", "12345678901234567"]) {
      const response = await worker.fetch(
        new Request(`${BASE}/api/events?after=0&correctionsAfter=${bad}`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
        env,
        createExecutionContext(),
      );
      expect(response.status, bad).toBe(400);
      expect(await response.text()).toContain("correctionsAfter");
    }
  });

  it("a label changed before the feed may release its event writes none: the feed gives the event with its new label", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const at = Date.now();
    const seq = await storedAt(await hitAt(account, message.id, "open", at, { headers: { "user-agent": GMAIL_PROXY_UA } }));
    // The sender's desktop reports the view 50 s after their phone loaded the pixel.
    await recordSenderViews(env.DB, [{ messageId: message.id, ipHash: null }], at + 50_000);
    await relabelSpans(env.DB, spansAroundView([message.id], at + 50_000), Date.now());
    expect((await storedEvents(message.id)).map((row) => row.label)).toEqual(["sender"]);
    expect(await corrections(account.accountId)).toEqual([]);
    const { rows, corrections: given } = await eventsAfter(
      env.DB,
      account.accountId,
      0,
      at + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS,
      100,
      null,
      0,
    );
    expect(rows.map((row) => [row.seq, row.label])).toEqual([[seq, "sender"]]);
    expect(given).toEqual([]);
  });

  it("writes one from the moment the feed may have released its event, by classify.ts's rule and clock margin", async () => {
    // Two opens through Gmail's proxy, then a sender view beside each (what POST /api/views records and relabels):
    // one the feed releases (releasedFrom) in a minute, one it releases within the clocks' margin from now: the feed's
    // clock may be that much ahead of D1's, which the trigger reads.
    const account = await createAccount();
    const message = await sentMessage(account);
    const now = Date.now();
    await registeredAt(message.id, now - HOUR);
    const openedAt = (releaseIn: number) => now + releaseIn - LABEL_FINAL_AFTER_MS - RELABEL_MARGIN_MS;
    const notYet = openedAt(MINUTE);
    const justNow = openedAt(RELEASE_CLOCK_MARGIN_MS - 100);
    const held = await storedAt(await hitAt(account, message.id, "open", notYet, { headers: { "user-agent": GMAIL_PROXY_UA } }));
    const released = await storedAt(await hitAt(account, message.id, "open", justNow, { headers: { "user-agent": GMAIL_PROXY_UA } }));
    for (const occurredAt of [notYet, justNow]) {
      const timing = { occurredAt, insertedAt: occurredAt + 300, registeredAt: now - HOUR };
      expect(releasedFrom(timing)).toBe(occurredAt + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS);
    }
    for (const at of [notYet, justNow]) {
      await recordSenderViews(env.DB, [{ messageId: message.id, ipHash: null }], at + 1_000);
      await relabelSpans(env.DB, spansAroundView([message.id], at + 1_000), Date.now());
    }
    expect((await storedEvents(message.id)).map((row) => [row.seq, row.label])).toEqual([
      [held, "sender"],
      [released, "sender"],
    ]);
    expect((await corrections(account.accountId)).map((c) => c.event_seq)).toEqual([released]);
  });

  it("costs rows written only when a released event's label changes: 4, its row, its two index entries and the sequence's", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await registeredAt(message.id, Date.now() - HOUR);
    const held = await storedAt(await hitAt(account, message.id, "open", Date.now(), { headers: { "user-agent": GMAIL_PROXY_UA } }));
    const released = await storedAt(
      await hitAt(account, message.id, "open", Date.now() - 120_000, { headers: { "user-agent": GMAIL_PROXY_UA } }),
    );
    // The same change to each (what relabelSpans writes), as one statement each.
    const relabel = (seq: number) => env.DB.prepare("UPDATE events SET label = 'sender' WHERE seq = ?").bind(seq).run();
    const unreleased = (await relabel(held)).meta.rows_written;
    const corrected = (await relabel(released)).meta.rows_written;
    expect(await corrections(account.accountId)).toMatchObject([{ event_seq: released }]);
    expect(corrected - unreleased).toBe(4);
    // Corrected again: the correction is replaced (deleted and written again under a new seq), the sequence row too.
    await env.DB.prepare("UPDATE events SET label = 'gmail-proxy' WHERE seq = ?").bind(released).run();
    expect((await corrections(account.accountId)).map((c) => c.event_seq)).toEqual([released]);
  });

  it("corrects a hit the feed released before its email was registered, once the registration relabels it", async () => {
    // The compose window's own load of the pixel, 6 min ago, before sending; the registration reaches the tracker
    // only now, after the feed released the hit without it (UNREGISTERED_HOLD_MS) as a reader's open not counted.
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const loadedAt = Date.now() - UNREGISTERED_HOLD_MS - MINUTE;
    const seq = await storedAt(await hitAt(account, id, "open", loadedAt));
    const first = await feed(account, "after=0&correctionsAfter=0");
    // Released unregistered, which the extension keeps: whatever its label becomes, it counts for nothing.
    expect(first.events.map((e) => [e.cursor, e.label, e.counted, e.notify, e.registered])).toEqual([
      [String(seq), "human", false, false, false],
    ]);
    expect(releasedFrom({ occurredAt: loadedAt, insertedAt: loadedAt + 300, registeredAt: Date.now() })).toBe(
      loadedAt + UNREGISTERED_HOLD_MS,
    );

    await account.json("PUT", `/api/messages/${id}`, registration({ sentAt: new Date(loadedAt + 5_000).toISOString() }));
    const second = await feed(account, `after=${first.cursor}&correctionsAfter=0`);
    expect(second.corrections?.map((c) => [c.event.cursor, c.event.label, c.event.counted])).toEqual([[String(seq), "sender", false]]);
  });

  it("an email registered in time and its hit relabelled by the registration: none, the feed held the hit for it", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const loadedAt = Date.now() - MINUTE;
    await storedAt(await hitAt(account, id, "open", loadedAt));
    await account.json("PUT", `/api/messages/${id}`, registration({ sentAt: new Date(loadedAt + 5_000).toISOString() }));
    expect((await storedEvents(id)).map((row) => row.label)).toEqual(["sender"]);
    expect(await corrections(account.accountId)).toEqual([]);
  });
});

describe("corrections go with their events", () => {
  /** A released open relabelled a scanner's by a late click stored through the consumer: one correction. */
  async function corrected(account?: TestAccount) {
    const sandbox = await releasedSandboxOpen(account);
    const { message, url, openedAt } = sandbox;
    const before = await corrections(sandbox.account.accountId);
    const click = await hitAt(sandbox.account, message.id, "click", openedAt + 20_000, {
      headers: { "cf-connecting-ip": SANDBOX_ADDRESS, referer: url },
      cf: MICROSOFT,
    });
    await storedAt(click, 3 * MINUTE);
    const after = await corrections(sandbox.account.accountId);
    expect(after.map((c) => c.event_seq)).toEqual([...before.map((c) => c.event_seq), sandbox.openSeq]);
    return { ...sandbox, correction: after.at(-1) };
  }

  it("deleting the email takes them, and the next one's cursor is still past the deleted one's", async () => {
    const deleted = await corrected();
    const { account } = deleted;
    expect((await account.json("DELETE", `/api/messages/${deleted.message.id}`)).status).toBe(204);
    expect(await corrections(account.accountId)).toEqual([]);
    // The deleted correction was the highest, and the extension's cursor is at it: the next is given after it.
    const next = await corrected(account);
    expect(Number(next.correction?.seq)).toBeGreaterThan(Number(deleted.correction?.seq));
    const { corrections: given } = await eventsAfter(env.DB, account.accountId, 0, Date.now(), 100, null, Number(deleted.correction?.seq));
    expect(given?.map((row) => [row.correction_seq, row.seq, row.label])).toEqual([[next.correction?.seq, next.openSeq, "scanner"]]);
  });

  it("deleting the email's only recipient as a contact takes them", async () => {
    const { account, message } = await corrected();
    const [recipient] = message.recipients;
    expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent(recipient?.email ?? "")}`)).status).toBe(204);
    expect(await storedEvents(message.id)).toEqual([]);
    expect(await corrections(account.accountId)).toEqual([]);
  });

  it("the retention purge takes them with their events", async () => {
    const { account, message } = await corrected();
    const kept = await corrected();
    await env.DB.prepare("UPDATE accounts SET retention_days = 1 WHERE id = ?").bind(account.accountId).run();
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now() + 2 * DAY);
    expect(await storedEvents(message.id)).toEqual([]);
    expect(await corrections(account.accountId)).toEqual([]);
    // Another account's, within its retention, stays.
    expect((await corrections(kept.account.accountId)).map((c) => c.event_seq)).toEqual([kept.openSeq]);
  });
});

describe("the extension's poller on the real route", () => {
  it("takes a released open that a late scanner's click corrects out of its totals and off the screen, once, across a restart", async () => {
    const { account, message, url, openedAt, openSeq } = await releasedSandboxOpen();
    const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const { credentials: _browserOnly, ...rest } = init as RequestInit & { credentials?: unknown };
      const ctx = createExecutionContext();
      const response = await worker.fetch(new Request(input, rest), { ...env, FEED_SETTLE_SECONDS: undefined }, ctx);
      const body = await response.text();
      await waitOnExecutionContext(ctx);
      return new Response(body, response);
    };
    const tracker = trackerApi(BASE, account.apiToken, fetch);
    const area = memoryArea();
    const shown: string[] = [];
    const withdrawn: string[] = [];
    let clock = Date.now();
    const poller = () =>
      new FeedPoller({
        area,
        account: async () => `${BASE} ${account.accountId}`,
        fetchEvents: (after, limit, correctionsAfter) => tracker.events(after, limit, correctionsAfter),
        muted: async () => false,
        show: async (note) => void shown.push(note.key),
        withdraw: async (note) => void withdrawn.push(note.key),
        news: () => undefined,
        pollAt: () => undefined,
        now: () => clock,
      });
    const state = async () => (await readFeedState(area, null)) as FeedState;
    expect(await poller().poll()).toBe(1);
    expect(shown).toEqual([`open:${message.id}`]);
    expect(summarize(await state(), openedAt).today).toEqual({ opens: 1, clicks: 0 });

    const click = await hitAt(account, message.id, "click", openedAt + 20_000, {
      headers: { "cf-connecting-ip": SANDBOX_ADDRESS, referer: url },
      cf: MICROSOFT,
    });
    await env.HITS.send(click, { contentType: "json" });
    await vi.waitFor(
      async () => {
        if ((await corrections(account.accountId)).length === 0) throw new Error("not corrected yet");
      },
      { timeout: 10_000, interval: 50 },
    );
    clock += MINUTE;
    const background = poller();
    await background.poll();
    expect(withdrawn).toEqual([`open:${message.id}`]);
    expect((await state()).activity.find((item) => item.cursor === String(openSeq))).toMatchObject({ label: "scanner", counted: false });
    expect(summarize(await state(), openedAt).today).toEqual({ opens: 0, clicks: 0 });
    const after = await state();

    // Restarted, and later polls: nothing applied, shown or withdrawn again.
    clock += MINUTE;
    await poller().poll();
    clock += MINUTE;
    await poller().poll();
    expect([shown, withdrawn]).toEqual([[`open:${message.id}`], [`open:${message.id}`]]);
    expect(await state()).toMatchObject({ correctionsCursor: after.correctionsCursor, days: after.days });
  });
});
