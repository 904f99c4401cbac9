// Migration 0035: every stored contact of an account with a recipient outside ASCII is marked to be scored again, and
// a row hidden behind its own spelling is shown again. In a file of its own: the migration test database takes one migration test per file.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { blankAccount, migrateRowsAcross } from "./helpers";

describe("migration 0035", () => {
  it("marks every stored contact of an account with a recipient outside ASCII, clean or marked, shows again a row hidden behind itself, and leaves an account all in ASCII as it was", async () => {
    const db = env.MIGRATION_TEST_DB;
    await migrateRowsAcross("0035_contact_scores_rescored_once_counted.sql", [
      blankAccount("acct-a"),
      blankAccount("acct-b"),
      db.prepare(
        `INSERT INTO contact_scores (account_id, email, dirty, campaigns, score_key, activity_key, shown_as) VALUES
           ('acct-a', 'clean@example.org', 0, '[]', 3.5, 1700, NULL),
           ('acct-a', 'marked@example.org', 2, '[]', 2.5, 1600, NULL),
           ('acct-a', 'jörg@xn--mnchen-3ya.de', 0, '[]', -1e300, -1, 'jörg@münchen.de'),
           ('acct-a', 'jörg@münchen.de', 0, '[]', -1e300, -1, 'jörg@münchen.de')`,
      ),
      // Added after its row, which it marks (contact_scores_recipient_added): once, before the migration's own mark.
      db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES ('m-1', 'acct-a', 'jörg@münchen.de')"),
      // None of its people was asked in two statements: each statement read only the addresses it asked.
      db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES ('m-2', 'acct-b', 'joe@example.org')"),
      db.prepare("UPDATE contact_scores SET dirty = 0, campaigns = '[]', score_key = 3.5, activity_key = 1700 WHERE account_id = 'acct-b'"),
    ]);
    const { results } = await db.prepare("SELECT email, dirty, shown_as FROM contact_scores ORDER BY account_id, email").all();
    expect(results).toEqual([
      { email: "clean@example.org", dirty: 1, shown_as: null },
      { email: "jörg@münchen.de", dirty: 2, shown_as: null },
      { email: "jörg@xn--mnchen-3ya.de", dirty: 1, shown_as: "jörg@münchen.de" },
      { email: "marked@example.org", dirty: 3, shown_as: null },
      { email: "joe@example.org", dirty: 0, shown_as: null },
    ]);
  });
});
