// Migration 0023 and the worker's keying of the rows it leaves (db/mailboxes.ts), on rows stored before it. Its own
// file: the migration test database of a file can be migrated up to one point only once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mailboxKey, mailboxOf } from "../../shared/email";
import { optedOutSince } from "../src/db/events";
import { FORBIDDEN_EVENTS_SQL, keyStoredMailboxes } from "../src/db/mailboxes";
import { migrateRowsAcross } from "./helpers";

const nfd = (text: string) => text.normalize("NFD");

/** Addresses as the worker stored them before 0023 (trimmed and lower-cased, in whatever form they came). */
const ADDRESSES = [
  "john.doe+work@gmail.com",
  "anne.smith+news@wingtip.example",
  "user@xn--80ak6aa92e.xn--p1ai",
  "root@[192.0.2.1]",
  "no-at-sign",
  "jörg+x@münchen.de",
  "jörg@xn--mnchen-3ya.de",
  nfd("rené@acme.example"),
  "rené@acme.example",
  "anne@ｅｘａｍｐｌｅ.com",
  "jörg@xn--zz.münchen.de",
];

describe("migration 0023", () => {
  it("keeps 0017's key on the rows stored before it until the worker keys those with other characters than ASCII", async () => {
    const db = env.MIGRATION_TEST_DB;
    await migrateRowsAcross(
      "0023_folded_mailboxes.sql",
      ADDRESSES.flatMap((email, i) => [
        db.prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES ('acct-a', ?, 'm-a', ?)").bind(email, i),
        db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES (?, 'acct-b', ?)").bind(`m-${i}`, email),
      ]),
    );
    const stored = async (table: string) =>
      new Map(
        (await db.prepare(`SELECT email, mailbox FROM ${table}`).all<{ email: string; mailbox: string }>()).results.map((r) => [
          r.email,
          r.mailbox,
        ]),
      );
    for (const table of ["opt_outs", "message_recipients"])
      expect(await stored(table), table).toEqual(new Map(ADDRESSES.map((email) => [email, mailboxOf(email)])));
    // An ASCII address's old key is already mailboxKey's: those rows are not listed for the worker.
    const ascii = ADDRESSES.filter((email) => /^[\x20-\x7e]*$/.test(email));
    for (const email of ascii) expect(mailboxOf(email), email).toBe(mailboxKey(email));
    const toKey = await db
      .prepare(
        "SELECT count(*) AS n FROM opt_outs INDEXED BY opt_outs_to_key WHERE mailbox_key IS NULL AND length(email) <> length(CAST(email AS BLOB))",
      )
      .first("n");
    expect(toKey).toBe(ADDRESSES.length - ascii.length);

    // The worker keys them: each is mailboxKey's now, and the old Unicode opt-out reaches the punycode recipient.
    expect(await keyStoredMailboxes(db, 4)).toBe(false);
    expect(await keyStoredMailboxes(db, 4)).toBe(true);
    for (const table of ["opt_outs", "message_recipients"])
      expect(await stored(table), table).toEqual(new Map(ADDRESSES.map((email) => [email, mailboxKey(email)])));
    const punycodeRecipient = `'m-${ADDRESSES.indexOf("jörg@xn--mnchen-3ya.de")}'`;
    expect(await db.prepare(`SELECT ${optedOutSince(punycodeRecipient)} AS t`).first("t")).toBe(ADDRESSES.indexOf("jörg+x@münchen.de"));
    const nfdRecipient = `'m-${ADDRESSES.indexOf("rené@acme.example")}'`;
    expect(await db.prepare(`SELECT ${optedOutSince(nfdRecipient)} AS t`).first("t")).toBe(ADDRESSES.indexOf(nfd("rené@acme.example")));

    // Once none is left, a check reads the partial indexes alone, and finds nothing.
    const { results: plan } = await db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT account_id, email FROM opt_outs WHERE mailbox_key IS NULL AND length(email) <> length(CAST(email AS BLOB)) LIMIT 1",
      )
      .all<{ detail: string }>();
    expect(plan.map((row) => row.detail)).toEqual([expect.stringMatching(/^SCAN opt_outs USING (COVERING )?INDEX opt_outs_to_key$/)]);
    // A row written with no key (by the worker released before 0023, while it is deployed) gets 0017's.
    await db.prepare("INSERT INTO opt_outs (account_id, email, created_at) VALUES ('acct-c', 'x.y+z@googlemail.com', 0)").run();
    expect(await db.prepare("SELECT mailbox FROM opt_outs WHERE account_id = 'acct-c'").first("mailbox")).toBe("xy@gmail.com");
  });

  it("finds the events the keyed rows' opt-outs forbid by index, never by a scan of events", async () => {
    const { results: plan } = await env.DB.prepare(`EXPLAIN QUERY PLAN DELETE FROM events WHERE seq IN (${FORBIDDEN_EVENTS_SQL})`)
      .bind("[]", "[]")
      .all<{ detail: string }>();
    const details = plan.map((row) => row.detail);
    expect(details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SEARCH e USING (COVERING )?INDEX events_by_message \(message_id=\?\)$/),
        expect.stringMatching(/^SEARCH r USING (COVERING )?INDEX message_recipients_by_mailbox \(mailbox=\?\)$/),
      ]),
    );
    expect(details.filter((detail) => /^SCAN (e|events|r|message_recipients)\b/.test(detail))).toEqual([]);
  });
});
