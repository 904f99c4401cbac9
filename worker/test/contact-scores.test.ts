// The people list from stored scores (db/contact-scores.ts) must list exactly what scoring every contact from scratch
// lists (accountContacts, the scores docs/engagement.md defines), after every kind of change: new hits, replies, a
// sender view that stops a hit counting, a new email, a deleted contact, a deleted email.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ContactsResponse } from "../../shared/api";
import { RESCORED_PER_REQUEST } from "../src/db/contact-scores";
import { accountContacts } from "../src/db/contacts";
import {
  clickLink,
  countedCall,
  createAccount,
  FREE_PLAN_D1_QUERIES,
  openPixel,
  seedMessages,
  sentMessage,
  type TestAccount,
  waitForEvents,
} from "./helpers";

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

describe("the people list at more contacts than one request scores", () => {
  it("scores them over several requests, each within the free plan's D1 queries, and then lists what scoring from scratch gives", async () => {
    const account = await createAccount();
    const opened = await sentMessage(account, { threadId: "t-opened", recipients: [{ email: "opened@acme.example" }] });
    await openPixel(opened.id);
    await waitForEvents(opened.id, 1);
    // More contacts than the old one-request scoring could store in 50 queries (two per 90); then their stored rows
    // are taken away, as an account from before the stored scores (migration 0010) has none.
    const seeded = 7 * RESCORED_PER_REQUEST;
    await seedMessages(account, seeded);
    await env.DB.prepare("DELETE FROM contact_scores WHERE account_id = ?1").bind(account.accountId).run();
    const contacts = seeded + 1;

    const pending: number[] = [];
    const queries: number[] = [];
    while (pending.at(-1) !== 0) {
      expect(pending.length, "requests before every contact was scored").toBeLessThan(20);
      const { response, d1Queries } = await countedCall(account, "/api/contacts?limit=50");
      expect(response.status).toBe(200);
      const body = await response.json<ContactsResponse>();
      expect(body.contacts.length).toBe(50);
      pending.push(body.pendingContacts);
      queries.push(d1Queries);
    }
    // Each request scores its share, and says how many are left.
    expect(pending).toEqual(
      Array.from({ length: Math.ceil(contacts / RESCORED_PER_REQUEST) }, (_, i) => Math.max(0, contacts - (i + 1) * RESCORED_PER_REQUEST)),
    );
    for (const made of queries) expect(made).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    expect(await listed(account, "", 200)).toEqual(await reference(account));
  });
});
