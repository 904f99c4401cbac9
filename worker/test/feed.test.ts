import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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
  createAccount,
  GMAIL_PROXY_UA,
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
    await relabelSpans(env.DB, spansAroundView([message.id], at + 50_000));
    const [row] = (await eventsAfter(env.DB, account.accountId, 0, at + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS, 100)).rows;
    expect(row?.label).toBe("sender");
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

describe("the feed's reads", () => {
  it("a page reads its `limit` events and their emails, as many with one held in front as without", async () => {
    const account = await createAccount();
    await seedMessages(account, 20);
    const forwarded = await mintTrackingId(account.key);
    await openAt(account, forwarded, Date.now(), CHROME_UA, Date.now() - 1_000);
    await seedOpens(account, 150);
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
      city: null,
      client: null,
      device: null,
      ipHash: null,
    });
    const [inserted] = await env.DB.batch(insertHitStatements(env.DB, [hit(crypto.randomUUID())], ["human"]));
    expect(inserted?.meta.rows_written).toBe(4);
  });
});
