// Migration 0033: each email that lost a recipient is marked on its row (messages.lost_recipients), for the opt-out's
// read of an account's newest ones by a partial index (db/opt-outs.ts ownRemovedEmailsSql). In a file of its own: the
// migration test database takes one migration test per file.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { migratedUpTo } from "./helpers";

describe("migration 0033", () => {
  it("marks the emails that lost a recipient before it, and its triggers keep the mark as fingerprints come and go", async () => {
    const db = await migratedUpTo("0033_emails_that_lost_a_recipient_by_account.sql");
    const insertMessage = "INSERT INTO messages (id, account_id, updated_at, sent_at) VALUES (?, 'acct-a', 1, 1)";
    await db.batch([
      db.prepare("INSERT INTO accounts (id, token_hash, created_at) VALUES ('acct-a', '', 0)"),
      ...["m-lost", "m-kept", "m-later"].map((id) => db.prepare(insertMessage).bind(id)),
      db.prepare("INSERT INTO removed_recipients (message_id, fingerprint) VALUES ('m-lost', 'f-1'), ('m-lost', 'f-2')"),
    ]);
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const marked = async () =>
      (await db.prepare("SELECT id FROM messages WHERE lost_recipients = 1 ORDER BY id").all<{ id: string }>()).results.map(
        (row) => row.id,
      );
    expect(await marked()).toEqual(["m-lost"]);
    // A contact deleted from an email after it: marked.
    await db.prepare("INSERT INTO removed_recipients (message_id, fingerprint) VALUES ('m-later', 'f-3')").run();
    expect(await marked()).toEqual(["m-later", "m-lost"]);
    // Its fingerprints deleted (the email's deletion): the mark stays while one is left, and goes with the last.
    await db.prepare("DELETE FROM removed_recipients WHERE message_id = 'm-lost' AND fingerprint = 'f-1'").run();
    expect(await marked()).toEqual(["m-later", "m-lost"]);
    await db.prepare("DELETE FROM removed_recipients WHERE message_id = 'm-lost'").run();
    expect(await marked()).toEqual(["m-later"]);
  });
});
