import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { trackerApi } from "../../extension/src/background/api";
import type { Credentials } from "../../extension/src/background/credentials";
import { outboxDelivery } from "../../extension/src/background/delivery";
import type { FeedState, Note } from "../../extension/src/background/feed-state";
import { memoryArea } from "../../extension/src/background/memory-area";
import { FeedPoller, readFeedState } from "../../extension/src/background/notifications";
import type { EventsResponse } from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import { LABEL_FINAL_AFTER_MS, RELABEL_MARGIN_MS, UNREGISTERED_HOLD_MS } from "../src/classify";
import { eventsAfter, insertHitStatements, recordSenderViews, relabelSpans, spansAroundView } from "../src/db/events";
import { type Hit, hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { FlakyD1 } from "./faults";
import {
  BASE,
  CHROME_UA,
  clickLink,
  createAccount,
  GMAIL_PROXY_UA,
  MINUTE,
  openPixel,
  registration,
  seedMessages,
  seedOpens,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
} from "./helpers";

/** Stores an open that happened at `at`, written at `insertedAt`, through the real hit builder and consumer. */
async function openAt(account: TestAccount, messageId: string, at: number, userAgent = GMAIL_PROXY_UA, insertedAt = at + 300) {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": userAgent } });
  const hit = await hitFromRequest(request, { accountId: account.accountId, messageId, accountKey, kind: "open", linkIndex: null }, at);
  await storeHits(env.DB, [hit]);
  await env.DB.prepare("UPDATE events SET inserted_at = ? WHERE event_id = ?").bind(insertedAt, hit.eventId).run();
}

describe("the events feed's settle rule", () => {
  it("releases an event once no sender-view report can relabel it; one final behind it goes ahead of it meanwhile", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const at = Date.now();
    await openAt(account, message.id, at);
    await openAt(account, message.id, at - 120_000); // stored after, happened before: final at once, behind the first
    const finalAt = at + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS;
    // Held, and the answer says until when: the extension looks again then, not at its next minute.
    const held = await eventsAfter(env.DB, account.accountId, 0, finalAt - 1, 100);
    expect(held).toMatchObject({ rows: [], nextAt: finalAt });
    expect(held.ahead.map((r) => [r.occurred_at, r.label, r.notify])).toEqual([[at - 120_000, "gmail-proxy", true]]);
    const { rows: released, ahead, nextAt } = await eventsAfter(env.DB, account.accountId, 0, finalAt, 100);
    expect([ahead, nextAt]).toEqual([[], null]);
    expect(released.map((r) => [r.occurred_at, r.label, r.notify])).toEqual([
      [at, "gmail-proxy", true],
      [at - 120_000, "gmail-proxy", true],
    ]);
  });

  it("relabels a hit as the sender's from a report 50 s later, before the feed releases it", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const at = Date.now();
    await openAt(account, message.id, at);
    expect((await eventsAfter(env.DB, account.accountId, 0, at + 50_000, 100)).rows).toEqual([]);
    // The sender's desktop reports the view 50 s after their phone loaded the pixel (what POST /api/views does).
    await recordSenderViews(env.DB, [{ messageId: message.id, ipHash: null }], at + 50_000);
    await relabelSpans(env.DB, spansAroundView([message.id], at + 50_000), Date.now());
    const [row] = (await eventsAfter(env.DB, account.accountId, 0, at + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS, 100)).rows;
    expect(row?.label).toBe("sender");
  });

  it("holds the sender's own click until their report of it, sent as they clicked and stored after the click, makes it the sender's", async () => {
    // The extension reports the rep's click on their own tracked link as it happens (sent-views-report.ts); the click
    // itself may reach the tracker and be stored first. The report comes from the same browser, so the same address.
    const account = await createAccount();
    const url = "https://calendly.com/rep/30min";
    const message = await sentMessage(account, { links: [{ index: 0, url }], sentAt: new Date(Date.now() - 600_000).toISOString() });
    const senderAddress = "198.51.100.21";
    await clickLink(account, message.id, 0, url, { headers: { "cf-connecting-ip": senderAddress } });
    const [stored] = await waitForEvents(message.id, 1);
    expect(stored?.label).toBe("human");
    const finalAt = Number(stored?.occurred_at) + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS;
    expect((await eventsAfter(env.DB, account.accountId, 0, Date.now(), 100)).rows).toEqual([]);
    const report = await account.api("/api/views", {
      method: "POST",
      headers: { "cf-connecting-ip": senderAddress },
      body: JSON.stringify({ messageIds: [message.id], threadIds: [] }),
    });
    expect(report.status).toBe(200);
    const [row] = (await eventsAfter(env.DB, account.accountId, 0, finalAt, 100)).rows;
    expect(row).toMatchObject({ kind: "click", label: "sender" });
  });

  it("holds a hit of an unregistered email until the registration, which gives it its final label", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const sentAt = Date.now();
    await openAt(account, id, sentAt - 5_000, CHROME_UA); // the compose window's own load, before sending
    expect((await eventsAfter(env.DB, account.accountId, 0, sentAt + 120_000, 100)).rows).toEqual([]);
    await account.json("PUT", `/api/messages/${id}`, registration({ sentAt: new Date(sentAt).toISOString() }));
    const [row] = (await eventsAfter(env.DB, account.accountId, 0, sentAt + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS + 5_000, 100)).rows;
    expect(row).toMatchObject({ label: "sender", notify: true });
  });

  it("releases a hit of an email never registered after UNREGISTERED_HOLD_MS, never to be notified", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const at = Date.now();
    await openAt(account, id, at, CHROME_UA);
    expect((await eventsAfter(env.DB, account.accountId, 0, at + UNREGISTERED_HOLD_MS - 1, 100)).rows).toEqual([]);
    const [row] = (await eventsAfter(env.DB, account.accountId, 0, at + UNREGISTERED_HOLD_MS, 100)).rows;
    expect(row).toMatchObject({ label: "human", notify: false });
  });

  it("GET /api/events holds a fresh open by the rules when FEED_SETTLE_SECONDS is unset, and answers notify", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    const feed = async (settle: string | undefined) => {
      const response = await worker.fetch(
        new Request(`${BASE}/api/events?after=0`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
        { ...env, FEED_SETTLE_SECONDS: settle },
        createExecutionContext(),
      );
      return (await response.json()) as EventsResponse;
    };
    const held = await feed(undefined);
    expect(held.events).toEqual([]);
    const [stored] = await storedEvents(message.id);
    const finalAt = Number(stored?.occurred_at) + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS;
    expect(held.nextAt).toBe(new Date(Math.max(finalAt, Number(stored?.inserted_at) + RELABEL_MARGIN_MS)).toISOString());
    const { events, nextAt } = await feed("0");
    expect(nextAt).toBeNull();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ label: "human", counted: true, notify: true });
  });
});

/**
 * The extension's feed poller (background/notifications.ts) on the tracker's real route with the deployed hold rules
 * (FEED_SETTLE_SECONDS unset), at the times the test sets the clock to, and the route's answers.
 */
function extensionAgainstRoute(account: TestAccount) {
  const answers: EventsResponse[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const { credentials: _browserOnly, ...rest } = init as RequestInit & { credentials?: unknown };
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request(input, rest), { ...env, FEED_SETTLE_SECONDS: undefined }, ctx);
    const body = await response.text();
    await waitOnExecutionContext(ctx);
    answers.push(JSON.parse(body) as EventsResponse);
    return new Response(body, response);
  };
  const tracker = trackerApi(BASE, account.apiToken, fetch);
  const area = memoryArea();
  const shown: { key: string; at: number }[] = [];
  const followUps: number[] = [];
  const poller = () =>
    new FeedPoller({
      area,
      account: async () => `${BASE} ${account.accountId}`,
      fetchEvents: (after, limit) => tracker.events(after, limit),
      muted: async () => false,
      show: async (note: Note) => void shown.push({ key: note.key, at: Date.now() }),
      news: () => undefined,
      pollAt: (at) => void followUps.push(at),
      detail: (messageId) => tracker.detail(messageId),
    });
  let background = poller();
  /** What the latest delivery's registration handed the poller (FeedPoller.registered), to await. */
  let registered: Promise<void> = Promise.resolve();
  return {
    answers,
    shown,
    /** The outbox's delivery of a registration (delivery.ts), with the clock at `now`, its poller's work after it awaited. */
    async deliverAt(now: number, trackingId: string, request: ReturnType<typeof registration>, queuedAt: number) {
      vi.setSystemTime(now);
      const deliver = outboxDelivery({
        credentials: async () => ({ trackerUrl: BASE, accountId: account.accountId, apiToken: account.apiToken }) as Credentials,
        api: () => tracker,
        news: () => undefined,
        releaseHeld: () => undefined,
        registered: (entry, status) => {
          registered = background.registered(entry.trackingId, entry.createdAt, status);
        },
      });
      const entry = { trackingId, request, state: "pending" as const, attempts: 0, createdAt: queuedAt, nextAttemptAt: 0, lastError: null };
      const result = await deliver(entry);
      await registered;
      return result;
    },
    /** When the poller asked to poll again (the feed's nextAt). */
    followUps,
    state: async () => (await readFeedState(area, null)) as FeedState,
    /** Polls with the clock at `now`. */
    async pollAt(now: number): Promise<number> {
      vi.setSystemTime(now);
      return background.poll();
    },
    /** The service worker is stopped and started again: a new poller on the same storage. */
    restart() {
      background = poller();
    },
  };
}

/** GET `path` with the deployed hold rules (or FEED_SETTLE_SECONDS=`settle`), counting the D1 rows it read. */
async function countedFeed(account: TestAccount, path: string, settle?: string) {
  const counted = new FlakyD1(env.DB, () => false);
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
    { ...env, DB: counted.asD1(), FEED_SETTLE_SECONDS: settle },
    ctx,
  );
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return { response: new Response(body, response), d1RowsRead: counted.rowsRead };
}

describe("a registration that reaches the tracker after its email's first open was released", () => {
  afterEach(() => void vi.useRealTimers());

  it("the open the feed released without a notification is notified once the outbox delivers the registration, and once only", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const sentAt = Date.now();
    const openedAt = sentAt + MINUTE;
    await openAt(account, id, openedAt, CHROME_UA);
    vi.useFakeTimers({ toFake: ["Date"], now: sentAt });
    const extension = extensionAgainstRoute(account);

    // 5 min after the open, still not registered (the tracker refused the token, the rep was offline): released, unnotified.
    expect(await extension.pollAt(openedAt + UNREGISTERED_HOLD_MS)).toBe(1);
    expect(extension.answers.at(-1)?.events.map((e) => [e.messageId, e.label, e.counted, e.notify])).toEqual([[id, "human", false, false]]);
    expect(extension.shown).toEqual([]);

    // The registration reaches the tracker 10 minutes after the send.
    const registeredAt = sentAt + 10 * MINUTE;
    const request = registration({ sentAt: new Date(sentAt).toISOString() });
    expect(await extension.deliverAt(registeredAt, id, request, sentAt)).toBe("delivered");
    expect(extension.shown).toEqual([{ key: `open:${id}`, at: registeredAt }]);

    // The next polls, and the same registration delivered again (better Gmail ids): nothing more.
    expect(await extension.pollAt(registeredAt + MINUTE)).toBe(0);
    expect(await extension.deliverAt(registeredAt + 90_000, id, request, sentAt)).toBe("delivered");
    extension.restart();
    expect(await extension.pollAt(registeredAt + 120_000)).toBe(0);
    expect(extension.shown).toEqual([{ key: `open:${id}`, at: registeredAt }]);
  });
});

describe("a held event delays only itself", () => {
  afterEach(() => void vi.useRealTimers());

  it("a hit on an unregistered email does not hold back a real first open of another: notified at its time, each once", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const forwarded = await mintTrackingId(account.key); // an old email forwarded, or one whose registration failed
    const at = Date.now();
    await openAt(account, forwarded, at, CHROME_UA);
    await openAt(account, message.id, at + 1_000);
    const realFinalAt = at + 1_000 + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS;
    const forwardedAt = at + UNREGISTERED_HOLD_MS;
    vi.useFakeTimers({ toFake: ["Date"], now: at });
    const extension = extensionAgainstRoute(account);

    expect(await extension.pollAt(realFinalAt - 10_000)).toBe(0);
    // The earliest release among those held, not the first held one's 5 min: the extension polls again then.
    expect(extension.answers.at(-1)).toEqual({ events: [], ahead: [], cursor: "0", nextAt: new Date(realFinalAt).toISOString() });
    expect(extension.followUps).toEqual([realFinalAt]);

    expect(await extension.pollAt(realFinalAt)).toBe(1);
    expect(extension.answers.at(-1)).toMatchObject({ events: [], cursor: "0", nextAt: new Date(forwardedAt).toISOString() });
    expect(extension.answers.at(-1)?.ahead).toMatchObject([{ messageId: message.id, label: "gmail-proxy", notify: true }]);
    expect(extension.shown).toEqual([{ key: `open:${message.id}`, at: realFinalAt }]);

    // A poll between (the minute alarm), then the background restarts, then the forwarded email's hit is released.
    expect(await extension.pollAt(realFinalAt + MINUTE)).toBe(0);
    extension.restart();
    expect(await extension.pollAt(forwardedAt)).toBe(1);
    const last = extension.answers.at(-1);
    expect(last?.events.map((e) => [e.messageId, e.label, e.counted, e.notify])).toEqual([
      [forwarded, "human", false, false],
      [message.id, "gmail-proxy", true, true],
    ]);
    expect([last?.ahead, last?.nextAt, last?.cursor]).toEqual([[], null, last?.events.at(-1)?.cursor]);
    expect(await extension.pollAt(forwardedAt + MINUTE)).toBe(0);

    // Notified once, at its own time; each event taken once; the cursor past both.
    expect(extension.shown).toEqual([{ key: `open:${message.id}`, at: realFinalAt }]);
    expect((await extension.state()).activity.map((a) => a.messageId)).toEqual([forwarded, message.id]);
    // Its totals count the registered email's open only, as the tracker's own daily counts do.
    expect(Object.values((await extension.state()).days)).toEqual([{ opens: 1, clicks: 0 }]);
    expect(await extension.state()).toMatchObject({ cursor: last?.cursor, ahead: [] });
    // Each request read at most its page (100 rows) and the account: here 2 events and their messages, and the token.
  });

  it("an event whose label is not final yet does not hold back a final one behind it", async () => {
    const account = await createAccount();
    const pending = await sentMessage(account);
    const final = await sentMessage(account);
    const at = Date.now();
    await openAt(account, pending.id, at);
    // Opened two minutes ago, written now (the queue retried it): final at once, behind the pending one.
    await openAt(account, final.id, at - 120_000, GMAIL_PROXY_UA, at + 300);
    const finalNowAt = at + 300 + RELABEL_MARGIN_MS;
    const pendingAt = at + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS;
    vi.useFakeTimers({ toFake: ["Date"], now: at });
    const extension = extensionAgainstRoute(account);

    expect(await extension.pollAt(finalNowAt)).toBe(1);
    expect(extension.answers.at(-1)?.ahead?.map((e) => [e.messageId, e.notify])).toEqual([[final.id, true]]);
    expect(extension.answers.at(-1)?.nextAt).toBe(new Date(pendingAt).toISOString());
    extension.restart();
    expect(await extension.pollAt(pendingAt)).toBe(1);
    expect(extension.answers.at(-1)?.events.map((e) => [e.messageId, e.notify])).toEqual([
      [pending.id, true],
      [final.id, true],
    ]);
    expect(await extension.pollAt(pendingAt + MINUTE)).toBe(0);
    expect(extension.shown).toEqual([
      { key: `open:${final.id}`, at: finalNowAt },
      { key: `open:${pending.id}`, at: pendingAt },
    ]);
    expect((await extension.state()).activity.map((a) => a.messageId)).toEqual([pending.id, final.id]);
  });
});

describe("the feed's reads", () => {
  it("a page reads its `limit` events and their emails, as many with one held in front as without", async () => {
    const account = await createAccount();
    await seedMessages(account, 20);
    const forwarded = await mintTrackingId(account.key);
    await openAt(account, forwarded, Date.now(), CHROME_UA, Date.now() - 1_000);
    await seedOpens(account, 150);
    // An isolate's first feed request also checks whether the retention purge is overdue (its row read, after the
    // answer), and the next ones in the following minutes do not: both measured requests come after that first one.
    await countedFeed(account, "/api/events?after=0&limit=1");
    // The forwarded email's hit is held 5 min: the 99 final opens read behind it go ahead of it.
    const held = await countedFeed(account, "/api/events?after=0&limit=100");
    const { ahead = [], events, cursor } = (await held.response.json()) as EventsResponse;
    expect([events.length, ahead.length, cursor]).toEqual([0, 99, "0"]);
    // Released (FEED_SETTLE_SECONDS=0 releases it at once): the same one read, the whole page in `events`.
    const released = await countedFeed(account, "/api/events?after=0&limit=100", "0");
    expect(((await released.response.json()) as EventsResponse).events).toHaveLength(100);
    // 199 both (and before `ahead` existed, when the same query was cut at the held event after it was read): the
    // 100 events and the 99 emails they join (the forwarded one has none). The account is read once, then cached.
    expect(held.d1RowsRead).toBe(released.d1RowsRead);
    expect(held.d1RowsRead).toBeLessThanOrEqual(2 * 100);
  });
});

describe("what the feed says of a click", () => {
  it("names a click's destination as its email registered the link, none for an open, and reads one link row per click", async () => {
    const account = await createAccount();
    const calendly = "https://calendly.com/rep/30min?utm_source=email";
    const pricing = "https://example.com/pricing";
    const message = await sentMessage(account, {
      links: [
        { index: 0, url: pricing },
        { index: 1, url: calendly },
      ],
    });
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    await clickLink(account, message.id, 1, calendly);
    await waitForEvents(message.id, 2);
    await clickLink(account, message.id, 0, pricing);
    await waitForEvents(message.id, 3);
    const { response } = await countedFeed(account, "/api/events?after=0", "0");
    const { events } = (await response.json()) as EventsResponse;
    expect(events.map((e) => [e.kind, e.linkIndex, e.linkUrl])).toEqual([
      ["open", null, null],
      ["click", 1, calendly],
      ["click", 0, pricing],
    ]);
    // The page is still one read: each event, its email, and a click's link by its key (an open reads no link), and
    // the index entry after the account's last event when another account's comes next (the seek's end).
    const counted = new FlakyD1(env.DB, () => false);
    await eventsAfter(counted.asD1(), account.accountId, 0, Date.now() + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS, 100);
    expect(counted.statements).toHaveLength(1);
    expect(counted.rowsRead).toBeLessThanOrEqual(3 + 3 + 2 + 1);
  });
});

describe("event seqs (feed cursors)", () => {
  it("never hands out a deleted event's seq again, even when it was the highest", async () => {
    const account = await createAccount();
    const first = await sentMessage(account);
    const second = await sentMessage(account);
    await openPixel(first.id);
    await waitForEvents(first.id, 1);
    await openPixel(second.id);
    const [latest] = await waitForEvents(second.id, 1);
    // The feed has handed out the latest event's seq as a cursor; then that event is deleted with its message.
    // Read the feed as it stands once every label is final.
    const final = () => Date.now() + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS;
    const cursor = (await eventsAfter(env.DB, account.accountId, 0, final(), 100)).rows.at(-1)?.seq ?? 0;
    expect(cursor).toBe(latest?.seq);
    expect((await account.json("DELETE", `/api/messages/${second.id}`)).status).toBe(204);
    await openPixel(first.id);
    await waitForEvents(first.id, 2);
    // Without the floor, the new event would take the deleted seq and sit at the cursor, never after it.
    expect((await eventsAfter(env.DB, account.accountId, cursor, final(), 100)).rows.map((r) => r.message_id)).toEqual([first.id]);
  });

  it("writes 4 rows per stored event: the row and its three indexes, no sequence row", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const hit = (eventId: string): Hit => ({
      eventId,
      accountId: account.accountId,
      messageId: message.id,
      kind: "open",
      linkIndex: null,
      occurredAt: Date.now(),
      requestLabel: "human",
      country: null,
      region: null,
      client: null,
      device: null,
      ipHash: null,
    });
    const [inserted] = await env.DB.batch(insertHitStatements(env.DB, [hit(crypto.randomUUID())], ["human"]));
    expect(inserted?.meta.rows_written).toBe(4);
  });
});
