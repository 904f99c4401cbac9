import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventsAfter } from "../src/db/events";
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
