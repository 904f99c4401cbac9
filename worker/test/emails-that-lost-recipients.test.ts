// Migration 0033: each email that lost a recipient is marked on its row (messages.lost_recipients), for the opt-out's
// read of an account's newest ones by a partial index (db/opt-outs.ts ownRemovedEmailsSql). In a file of its own: the
// migration test database takes one migration test per file. Its triggers take an email's row to be written before
// any of its fingerprints and never deleted: the worker's paths that delete or rewrite an email keep to that (below).
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ONE_ACCOUNT_REMOVED_EMAILS_SQL } from "../src/db/opt-outs";
import worker from "../src/index";
import { blankAccount, createAccount, HOUR, migrateRowsAcross, registration, sentMessage, type TestAccount } from "./helpers";
import { hitNow, optOut, ownLocalPart } from "./opt-out-helpers";

describe("migration 0033", () => {
  it("marks the emails that lost a recipient before it, and its triggers keep the mark as fingerprints come and go", async () => {
    const db = env.MIGRATION_TEST_DB;
    const insertMessage = "INSERT INTO messages (id, account_id, updated_at, sent_at) VALUES (?, 'acct-a', 1, 1)";
    await migrateRowsAcross("0033_emails_that_lost_a_recipient_by_account.sql", [
      blankAccount("acct-a"),
      ...["m-lost", "m-kept", "m-later"].map((id) => db.prepare(insertMessage).bind(id)),
      db.prepare("INSERT INTO removed_recipients (message_id, fingerprint) VALUES ('m-lost', 'f-1'), ('m-lost', 'f-2')"),
    ]);
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

/** The account's emails the opt-out's own search reads (ownRemovedEmailsSql): those marked as having lost a recipient. */
async function readByOptOut(account: TestAccount): Promise<string[]> {
  const { results } = await env.DB.prepare(ONE_ACCOUNT_REMOVED_EMAILS_SQL).bind(account.accountId).all<{ message_id: string }>();
  return results.map((row) => row.message_id);
}

describe("the mark of an email that lost a recipient, through the worker's writes", () => {
  it("stays through the retention purge and the email registered again, so the person's later opt-out still reaches it", async () => {
    const account = await createAccount();
    const person = `${ownLocalPart()}@wingtip.example`;
    const body = registration({ recipients: [{ email: person }, { email: "stays@wingtip.example" }] });
    const shared = await sentMessage(account, body);
    expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent(person)}`)).status).toBe(204);
    expect(await readByOptOut(account)).toEqual([shared.id]);
    // The purge deletes events and signals past the retention, never an email's row (migration 0033's triggers need it).
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + 200 * 24 * HOUR, cron: "23 * * * *" }), env);
    // The outbox's registration sent again, as it was before the deletion: the person stays deleted, the mark stays.
    expect((await account.json("PUT", `/api/messages/${shared.id}`, body)).status).toBe(200);
    expect(await readByOptOut(account)).toEqual([shared.id]);
    expect(await hitNow(account, shared.id)).toBe(1);
    const other = await sentMessage(account, { recipients: [{ email: person }], optOutLink: true });
    expect((await optOut(other.id)).status).toBe(200);
    expect(await hitNow(account, shared.id)).toBe(0);
  });

  it("goes with the email's data, deleted by the sender or with its last recipient, whose row stays: a deleted email takes no place of the opt-out's read", async () => {
    const account = await createAccount();
    const [first, second] = [`${ownLocalPart()}@wingtip.example`, `${ownLocalPart()}@wingtip.example`];
    const bySender = await sentMessage(account, { recipients: [{ email: first }, { email: "stays@wingtip.example" }] });
    const byContacts = await sentMessage(account, { recipients: [{ email: second }, { email: "leaves@wingtip.example" }] });
    for (const person of [first, second]) {
      expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent(person)}`)).status).toBe(204);
    }
    expect((await readByOptOut(account)).sort()).toEqual([bySender.id, byContacts.id].sort());
    expect((await account.json("DELETE", `/api/messages/${bySender.id}`)).status).toBe(204);
    expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent("leaves@wingtip.example")}`)).status).toBe(204);
    expect(await readByOptOut(account)).toEqual([]);
    const rows = await env.DB.prepare(
      "SELECT id, deleted_at IS NOT NULL AS deleted, lost_recipients FROM messages WHERE id IN (?, ?) ORDER BY id",
    )
      .bind(bySender.id, byContacts.id)
      .all();
    expect(rows.results).toEqual([bySender.id, byContacts.id].sort().map((id) => ({ id, deleted: 1, lost_recipients: null })));
  });
});
