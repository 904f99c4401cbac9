// The hourly retention purge (worker/src/db/retention.ts) with a backlog: an account that shortened its retention,
// or a tracker upgraded with old events. In a file of its own, so that no other test's accounts and events make each
// DELETE's per-account index walk longer.
import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { FlakyD1 } from "./faults";
import { createAccount, DAY, FREE_PLAN_D1_QUERIES, reply, seedMessages, seedOpens, sentMessage } from "./helpers";

describe("the retention purge", () => {
  it("a backlog bigger than one run goes over several, each within the free plan's D1 queries and purging replies too", async () => {
    const account = await createAccount();
    // Past the old cap's reach: 200 DELETEs of 5,000 a run made 53 queries for this backlog, and failed at the 51st.
    const expired = 260_000;
    await seedMessages(account, 100);
    await seedOpens(account, expired, Date.now() - 100 * DAY);
    await sentMessage(account, {
      threadId: "t-old",
      recipients: [{ email: "old@acme.example" }],
      sentAt: new Date(Date.now() - 100 * DAY).toISOString(),
    });
    await reply(account, "t-old", "old@acme.example", "msg-f:old-reply");
    await env.DB.prepare("UPDATE signals SET occurred_at = ? WHERE account_id = ?")
      .bind(Date.now() - 95 * DAY, account.accountId)
      .run();
    const left = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM events WHERE account_id = ?").bind(account.accountId).first<{ n: number }>())?.n;

    const runs: { queries: number; left: number | undefined }[] = [];
    while (runs.at(-1)?.left !== 0) {
      expect(runs.length, "runs").toBeLessThan(10);
      const counted = new FlakyD1(env.DB, () => false);
      await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), { ...env, DB: counted.asD1() });
      runs.push({ queries: counted.calls, left: await left() });
      // The first run purges the old reply, whatever the events' backlog.
      const replies = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE account_id = ?")
        .bind(account.accountId)
        .first<{ n: number }>();
      expect(replies?.n).toBe(0);
    }
    expect(runs.length).toBeGreaterThan(1);
    for (const run of runs) expect(run.queries).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
  }, 120_000);
});
