// What storing an email's row costs in D1's rows written, which D1 bills by and counts once for the table and once for
// each index entry the write touches ("Indexes will add an additional written row when writes include the indexed
// column": developers.cloudflare.com/d1/platform/pricing/, read 2026-12-07). Each index of messages must serve a read
// no other serves: migration 0032 dropped messages_by_sent, whose reads messages_by_account_newest serves.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { createAccount } from "./helpers";

it("store an email's row with one entry in each index that serves a read, and no index repeating another's", async () => {
  const account = await createAccount();
  const id = crypto.randomUUID();
  const now = Date.now();
  const inserted = await env.DB.prepare(
    `INSERT INTO messages (id, account_id, thread_id, subject, search_text, sent_at, registered_at, updated_at)
     VALUES (?1, ?2, 'thread-1', 'Renewal', 'renewal', ?3, ?3, ?3)`,
  )
    .bind(id, account.accountId, now)
    .run();
  // The row; its id (the primary key); by thread; by campaign; newest first. No sync thread id, a search text: the two
  // partial indexes hold no entry of it.
  expect(inserted.meta.rows_written).toBe(5);
  // Its time changed (a registration that corrects sent_at): the row, and its entries in the two indexes that hold the
  // time, by campaign and newest first.
  const moved = await env.DB.prepare("UPDATE messages SET sent_at = ?2 WHERE id = ?1")
    .bind(id, now + 1)
    .run();
  expect(moved.meta.rows_written).toBe(3);
});
