// Migration 0025 and the worker's respelling of the replies it lists (db/spellings.ts), on rows stored before it. Its
// own file: the migration test database of a file can be migrated up to one point only once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { respellStoredReplies } from "../src/db/spellings";
import { migrateRowsAcross } from "./helpers";

const nfd = (text: string) => text.normalize("NFD");

describe("migration 0025", () => {
  it("lists the replies stored before it that may be a recipient in another spelling, and the worker respells those that are", async () => {
    const db = env.MIGRATION_TEST_DB;
    const recipients: [string, string][] = [
      ["m-idn", "jörg@münchen.de"],
      ["m-idn", "other@acme.example"],
      ["m-nfc", "rené@acme.example"],
      ["m-ascii", "buyer@acme.example"],
      ["m-twice", "zoë@acme.example"],
    ];
    // As the worker stored them before: under the sender's spelling as Gmail gave it.
    const replies: [number, string, string, string][] = [
      [1, "m-idn", "r1", "jörg@xn--mnchen-3ya.de"], // the punycode of a recipient written in Unicode
      [2, "m-idn", "r2", "cc@acme.example"], // someone not on the email, on an email to an address outside ASCII
      [3, "m-nfc", "r3", nfd("rené@acme.example")], // NFD for a recipient written in NFC
      [4, "m-nfc", "r4", "rené@acme.example"], // the recipient as written
      [5, "m-ascii", "r5", "cc@acme.example"], // ASCII on an email to ASCII addresses: never another spelling
      [6, "m-twice", "r6", nfd("zoë@acme.example")], // reported again since under the recipient's spelling (7)
      [7, "m-twice", "r6", "zoë@acme.example"],
    ];
    await migrateRowsAcross("0025_replies_to_respell.sql", [
      ...recipients.map(([message, email]) =>
        db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES (?, 'acct', ?)").bind(message, email),
      ),
      ...replies.map(([seq, message, source, email]) =>
        db
          .prepare(
            "INSERT INTO signals (seq, account_id, message_id, kind, source_id, email, occurred_at, inserted_at) VALUES (?, 'acct', ?, 'reply', ?, ?, 0, 0)",
          )
          .bind(seq, message, source, email),
      ),
    ]);
    const listed = async () =>
      (await db.prepare("SELECT seq FROM replies_to_respell ORDER BY seq").all<{ seq: number }>()).results.map((r) => r.seq);
    expect(await listed()).toEqual([1, 2, 3, 6]);

    expect(await respellStoredReplies(db)).toBe(true);
    expect(await listed()).toEqual([]);
    const { results } = await db.prepare("SELECT seq, email FROM signals ORDER BY seq").all<{ seq: number; email: string }>();
    expect(results).toEqual([
      { seq: 1, email: "jörg@münchen.de" },
      { seq: 2, email: "cc@acme.example" },
      { seq: 3, email: "rené@acme.example" },
      { seq: 4, email: "rené@acme.example" },
      { seq: 5, email: "cc@acme.example" },
      { seq: 7, email: "zoë@acme.example" },
    ]);
  });
});
