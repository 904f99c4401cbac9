import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventsAfter, insertHitStatements } from "../src/db/events";
import type { Hit } from "../src/hits";
import { createAccount, openPixel, sentMessage, waitForEvents } from "./helpers";

describe("eventsAfter (the feed query)", () => {
  it("holds back events written after settledBefore, and everything behind them", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    for (let i = 0; i < 3; i++) await openPixel(message.id);
    await waitForEvents(message.id, 3);
    const all = await eventsAfter(env.DB, account.accountId, 0, Date.now(), 100);
    expect(all).toHaveLength(3);
    // Pretend the second row was written late (a clock step): the feed stops before it, not around it.
    await env.DB.prepare("UPDATE events SET inserted_at = inserted_at + 600000 WHERE seq = ?").bind(all[1]?.seq).run();
    const settled = await eventsAfter(env.DB, account.accountId, 0, Date.now(), 100);
    expect(settled.map((r) => r.seq)).toEqual([all[0]?.seq]);
    expect(await eventsAfter(env.DB, account.accountId, 0, Date.now() - 600_000, 100)).toEqual([]);
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
    const cursor = (await eventsAfter(env.DB, account.accountId, 0, Date.now(), 100)).at(-1)?.seq ?? 0;
    expect(cursor).toBe(latest?.seq);
    expect((await account.json("DELETE", `/api/messages/${second.id}`)).status).toBe(204);
    await openPixel(first.id);
    await waitForEvents(first.id, 2);
    // Without the floor, the new event would take the deleted seq and sit at the cursor, never after it.
    expect((await eventsAfter(env.DB, account.accountId, cursor, Date.now(), 100)).map((r) => r.message_id)).toEqual([first.id]);
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
    const [inserted] = await env.DB.batch(insertHitStatements(env.DB, [hit(crypto.randomUUID())]));
    expect(inserted?.meta.rows_written).toBe(4);
  });
});
