// The people list from stored scores (db/contact-scores.ts) must list exactly what scoring every contact from scratch
// lists (accountContacts, the scores docs/engagement.md defines), after every kind of change: new hits, replies, a
// sender view that stops a hit counting, a new email, a deleted contact, a deleted email.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ContactsResponse } from "../../shared/api";
import { RESCORED_PER_REQUEST } from "../src/db/contact-scores";
import { accountContacts } from "../src/db/contacts";
import worker from "../src/index";
import { FlakyD1 } from "./faults";
import { BASE, clickLink, createAccount, openPixel, sentMessage, type TestAccount, waitForEvents } from "./helpers";

/** Every contact by score as a from-scratch computation ranks them: score, then email. */
async function reference(account: TestAccount) {
  const now = Date.now();
  return (await accountContacts(env.DB, account.accountId, now))
    .sort((a, b) => b.exactScore - a.exactScore || (a.email < b.email ? -1 : 1))
    .map((c) => [c.email, c.score, c.sent]);
}

async function listed(account: TestAccount, query = "", limit = 2) {
  const all: (string | number)[][] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: ContactsResponse } = await account.json<ContactsResponse>(
      "GET",
      `/api/contacts?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(page.status).toBe(200);
    expect(page.body.pendingContacts).toBe(0);
    all.push(...page.body.contacts.map((c) => [c.email, c.score, c.sent]));
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

describe("the people list from stored scores", () => {
  it("stays what scoring every contact from scratch gives, through hits, replies, sender views and deletions", async () => {
    const account = await createAccount();
    const url = "https://example.com/offer";
    const first = await sentMessage(account, { threadId: "t-1", recipients: [{ email: "a@acme.example" }], links: [{ index: 0, url }] });
    const shared = await sentMessage(account, {
      threadId: "t-2",
      recipients: [{ email: "b@acme.example" }, { email: "c@acme.example" }],
    });
    await sentMessage(account, { threadId: "t-3", recipients: [{ email: "d@acme.example" }] });
    await openPixel(first.id);
    await waitForEvents(first.id, 1);
    expect(await listed(account)).toEqual(await reference(account)); // the first listing stores every contact

    // New hits after the stored rows were made: b and c go up, past a.
    for (let i = 0; i < 3; i++) await openPixel(shared.id);
    await waitForEvents(shared.id, 3);
    await clickLink(account, shared.id, 0, url);
    expect((await listed(account)).map((row) => row[0])).toEqual((await reference(account)).map((row) => row[0]));
    expect(await listed(account)).toEqual(await reference(account));

    // A reply from d (a signal, no event) puts d first.
    const reply = { kind: "reply", threadId: "t-3", gmailMessageId: "msg-f:300", at: new Date().toISOString(), from: "d@acme.example" };
    expect((await account.json("POST", "/api/signals", { self: ["rep@example.com"], signals: [reply] })).status).toBe(200);
    const afterReply = await listed(account);
    expect(afterReply[0]?.[0]).toBe("d@acme.example");
    expect(afterReply).toEqual(await reference(account));

    // The sender views the first email now: its fresh open becomes the sender's own and stops counting for a.
    expect((await account.json("POST", "/api/views", { messageIds: [first.id] })).status).toBe(200);
    const afterView = await listed(account);
    expect(afterView.find((row) => row[0] === "a@acme.example")?.[1]).toBe(0);
    expect(afterView).toEqual(await reference(account));

    // A new email to a new contact, with an open; then a deleted contact and a deleted email.
    const late = await sentMessage(account, { threadId: "t-4", recipients: [{ email: "e@acme.example" }] });
    await openPixel(late.id);
    await waitForEvents(late.id, 1);
    expect(await listed(account)).toEqual(await reference(account));
    expect((await account.json("DELETE", "/api/contacts/b%40acme.example")).status).toBe(204);
    expect((await account.json("DELETE", `/api/messages/${late.id}`)).status).toBe(204);
    const afterDeletes = await listed(account);
    expect(afterDeletes.map((row) => row[0])).not.toContain("b@acme.example");
    expect(afterDeletes.map((row) => row[0])).not.toContain("e@acme.example");
    expect(afterDeletes).toEqual(await reference(account));
    // Filters read the same stored rows.
    expect(await listed(account, "&minScore=0.4")).toEqual((await reference(account)).filter((row) => Number(row[1]) >= 0.4));
  });
});

/**
 * D1 queries one Worker invocation may make on the free plan ("Queries per Worker invocation", 50 on Workers Free,
 * 1,000 on Workers Paid: developers.cloudflare.com/d1/platform/limits, as of 2026-04-21). A binding call is one
 * query: a statement run, or a whole batch. workerd does not enforce it locally, so this test counts.
 */
const FREE_PLAN_D1_QUERIES = 50;

describe("the people list at more contacts than one request scores", () => {
  it("scores them over several requests, each within the free plan's D1 queries, and then lists what scoring from scratch gives", async () => {
    const account = await createAccount();
    const opened = await sentMessage(account, { threadId: "t-opened", recipients: [{ email: "opened@acme.example" }] });
    await openPixel(opened.id);
    await waitForEvents(opened.id, 1);
    // More contacts than the old one-request scoring could store in 50 queries (two per 90), one email each, seeded
    // as bench/database.mjs seeds a year of mail; then their stored rows are taken away, as an account from before
    // the stored scores (migration 0010) has none.
    const seeded = 7 * RESCORED_PER_REQUEST;
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO messages (id, account_id, thread_id, subject, recipients, sent_at, registered_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
         SELECT 'seeded-' || ?1 || '-' || i, ?1, 'seeded-thread-' || i, 'Proposal ' || i,
                json_array(json_object('email', 'reader' || i || '@example.org')), ?3 - i * 1000, ?3, ?3 FROM n`,
      ).bind(account.accountId, seeded, now - 86_400_000),
      env.DB.prepare(
        `INSERT INTO message_recipients (message_id, account_id, email)
         SELECT id, account_id, json_extract(recipients, '$[0].email') FROM messages WHERE account_id = ?1 AND id LIKE 'seeded-%'`,
      ).bind(account.accountId),
      env.DB.prepare("UPDATE messages SET recipient_count = 1 WHERE account_id = ?1 AND id LIKE 'seeded-%'").bind(account.accountId),
      env.DB.prepare("DELETE FROM contact_scores WHERE account_id = ?1").bind(account.accountId),
    ]);
    const contacts = seeded + 1;

    const pending: number[] = [];
    const queries: number[] = [];
    while (pending.at(-1) !== 0) {
      expect(pending.length, "requests before every contact was scored").toBeLessThan(20);
      const counted = new FlakyD1(env.DB, () => false);
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${BASE}/api/contacts?limit=50`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
        { ...env, DB: counted.asD1() },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(200);
      const body = await response.json<ContactsResponse>();
      expect(body.contacts.length).toBe(50);
      pending.push(body.pendingContacts);
      queries.push(counted.calls);
    }
    // Each request scores its share, and says how many are left.
    expect(pending).toEqual(
      Array.from({ length: Math.ceil(contacts / RESCORED_PER_REQUEST) }, (_, i) => Math.max(0, contacts - (i + 1) * RESCORED_PER_REQUEST)),
    );
    for (const made of queries) expect(made).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    expect(await listed(account, "", 200)).toEqual(await reference(account));
  });
});
