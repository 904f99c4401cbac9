// Migration 0034: each shown row of contact_scores gets one row of contact_campaigns per campaign it lists. In a file
// of its own: the migration test database takes one migration test per file. The backfill matters: a clean row stored
// before 0034 is rescored only once something marks it, so a row it missed would be absent from its campaign's pages.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { blankAccount, migrateRowsAcross } from "./helpers";

describe("migration 0034", () => {
  it("gives each shown row stored before it one entry per campaign, with its keys, and none to a hidden row or one without a campaign", async () => {
    const db = env.MIGRATION_TEST_DB;
    await migrateRowsAcross("0034_contact_campaigns.sql", [
      blankAccount("acct-a"),
      db.prepare(
        `INSERT INTO contact_scores (account_id, email, dirty, campaigns, score_key, activity_key, shown_as) VALUES
           ('acct-a', 'shown@example.org', 0, '["Pilot","Renewal"]', 3.5, 1700, NULL),
           ('acct-a', 'hidden@xn--exmple-cua.org', 0, '["Pilot"]', 2.5, 1600, 'hidden@exämple.org'),
           ('acct-a', 'none@example.org', 0, '[]', 1.5, 1500, NULL)`,
      ),
    ]);
    const { results } = await db
      .prepare("SELECT account_id, campaign, score_key, email, activity_key FROM contact_campaigns ORDER BY campaign, email")
      .all();
    expect(results).toEqual([
      { account_id: "acct-a", campaign: "Pilot", score_key: 3.5, email: "shown@example.org", activity_key: 1700 },
      { account_id: "acct-a", campaign: "Renewal", score_key: 3.5, email: "shown@example.org", activity_key: 1700 },
    ]);
  });
});
