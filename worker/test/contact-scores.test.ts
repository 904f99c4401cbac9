// The people list and a contact's page show stored rows (db/contact-scores.ts), and must show exactly what scoring
// every contact from scratch gives (accountContacts, the scores docs/engagement.md defines), after every kind of
// change: new hits, replies, a sender view that stops a hit counting, a new email, a deleted contact, a deleted email,
// changes written straight to D1, and the retention purge.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ContactDetail, ContactSummary, ContactsResponse } from "../../shared/api";
import { roundedScore } from "../../shared/engagement";
import { RESCORED_PER_REQUEST } from "../src/db/contact-scores";
import { accountContacts, type ContactAggregate } from "../src/db/contacts";
import worker from "../src/index";
import { iso } from "../src/time";
import {
  clickLink,
  countedCall,
  createAccount,
  FREE_PLAN_D1_QUERIES,
  openPixel,
  seedMessages,
  seedOpens,
  sentMessage,
  type TestAccount,
  waitForEvents,
} from "./helpers";

const DAY = 86_400_000;

/** What the list and a contact's page show of a contact, and what a from-scratch computation gives, alike. */
function shown(c: ContactSummary | ContactAggregate, score = c.score) {
  const at = (value: string | number | null) => (typeof value === "number" ? iso(value) : value);
  return [c.email, score, c.sent, c.name, at(c.lastActivityAt), at(c.lastSentAt)];
}
type Shown = ReturnType<typeof shown>;

/**
 * Every contact by score as a from-scratch computation ranks them (score, then email), with its score before rounding:
 * expectShownAs compares it with what the tracker shows.
 */
async function reference(account: TestAccount) {
  const now = Date.now();
  return (await accountContacts(env.DB, account.accountId, now))
    .sort((a, b) => b.exactScore - a.exactScore || (a.email < b.email ? -1 : 1))
    .map((c) => shown(c, c.exactScore));
}

/**
 * A shown score comes from a stored key (scoreAt: a grid of 5 in 10^9 and 7 significant digits) a moment before or
 * after the reference was computed (2^(−1 s / 14 days) is 1 − 6 × 10^-7). So within a hundred-thousandth of the
 * exact score it may round either way: the new recipients of a shared email score exactly 2.375, and 2.37 or 2.38
 * are both right a second later. Anything else must be what the reference rounds to.
 */
const SCORE_TOLERANCE = 1e-5;
function expectShownAs(actual: Shown[], expected: Shown[]) {
  const withoutScore = (rows: Shown[]) => rows.map(([email, , ...rest]) => [email, ...rest]);
  expect(withoutScore(actual)).toEqual(withoutScore(expected));
  const expectedScores = expected.map(([, exact], i) => {
    const either = [roundedScore(Number(exact) * (1 - SCORE_TOLERANCE)), roundedScore(Number(exact) * (1 + SCORE_TOLERANCE))];
    const score = actual[i]?.[1];
    return typeof score === "number" && either.includes(score) ? score : roundedScore(Number(exact));
  });
  expect(actual.map(([, score]) => score)).toEqual(expectedScores);
}

/** Each contact's own page, in the reference's order: asked before any listing, it brings the contact up to date itself. */
async function detailed(account: TestAccount) {
  const all: Shown[] = [];
  for (const [email] of await reference(account)) {
    const page = await account.json<ContactDetail>("GET", `/api/contacts/${encodeURIComponent(String(email))}?limit=1`);
    expect(page.status).toBe(200);
    all.push(shown(page.body.contact));
  }
  return all;
}

async function listed(account: TestAccount, query = "", limit = 2) {
  const all: Shown[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: ContactsResponse } = await account.json<ContactsResponse>(
      "GET",
      `/api/contacts?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(page.status).toBe(200);
    expect(page.body.pendingContacts).toBe(0);
    all.push(...page.body.contacts.map((c) => shown(c)));
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
    expectShownAs(await listed(account), await reference(account)); // the first listing stores every contact

    // New hits after the stored rows were made: b and c go up, past a.
    for (let i = 0; i < 3; i++) await openPixel(shared.id);
    await waitForEvents(shared.id, 3);
    await clickLink(account, shared.id, 0, url);
    // A contact's page asked before any listing brings its own row up to date.
    expectShownAs(await detailed(account), await reference(account));
    expect((await listed(account)).map((row) => row[0])).toEqual((await reference(account)).map((row) => row[0]));
    expectShownAs(await listed(account), await reference(account));

    // A reply from d (a signal, no event) puts d first.
    const reply = { kind: "reply", threadId: "t-3", gmailMessageId: "msg-f:300", at: new Date().toISOString(), from: "d@acme.example" };
    expect((await account.json("POST", "/api/signals", { self: ["rep@example.com"], signals: [reply] })).status).toBe(200);
    expectShownAs(await detailed(account), await reference(account));
    const afterReply = await listed(account);
    expect(afterReply[0]?.[0]).toBe("d@acme.example");
    expectShownAs(afterReply, await reference(account));

    // The sender views the first email now: its fresh open becomes the sender's own and stops counting for a.
    expect((await account.json("POST", "/api/views", { messageIds: [first.id] })).status).toBe(200);
    expectShownAs(await detailed(account), await reference(account));
    const afterView = await listed(account);
    expect(afterView.find((row) => row[0] === "a@acme.example")?.[1]).toBe(0);
    expectShownAs(afterView, await reference(account));

    // A new email to a new contact, with an open; then a deleted contact and a deleted email.
    const late = await sentMessage(account, { threadId: "t-4", recipients: [{ email: "e@acme.example" }] });
    await openPixel(late.id);
    await waitForEvents(late.id, 1);
    expectShownAs(await listed(account), await reference(account));
    expect((await account.json("DELETE", "/api/contacts/b%40acme.example")).status).toBe(204);
    expect((await account.json("DELETE", `/api/messages/${late.id}`)).status).toBe(204);
    expectShownAs(await detailed(account), await reference(account));
    expect((await account.json("GET", "/api/contacts/e%40acme.example")).status).toBe(404);
    const afterDeletes = await listed(account);
    expect(afterDeletes.map((row) => row[0])).not.toContain("b@acme.example");
    expect(afterDeletes.map((row) => row[0])).not.toContain("e@acme.example");
    expectShownAs(afterDeletes, await reference(account));
    // Filters read the same stored rows.
    expectShownAs(
      await listed(account, "&minScore=0.4"),
      (await reference(account)).filter((row) => roundedScore(Number(row[1])) >= 0.4),
    );

    // Changes written straight to D1, not through the worker's own statements: a recipient's name, an email's send
    // time, an email deleted by its tombstone alone (migration 0012's triggers).
    await env.DB.batch([
      env.DB.prepare("UPDATE message_recipients SET name = 'Dee' WHERE message_id IN (SELECT id FROM messages WHERE thread_id = 't-3')"),
      env.DB.prepare("UPDATE messages SET sent_at = sent_at - ?2 WHERE id = ?1").bind(shared.id, 3 * DAY),
      env.DB.prepare("UPDATE messages SET deleted_at = ?2 WHERE id = ?1").bind(first.id, Date.now()),
    ]);
    expectShownAs(await listed(account), await reference(account));
    expect((await listed(account)).map((row) => [row[0], row[3]])).toContainEqual(["d@acme.example", "Dee"]);
  });
});

describe("the people list after the retention purge", () => {
  it("shows a contact whose counted events expired without their share or their time", async () => {
    const account = await createAccount();
    const old = await sentMessage(account, {
      recipients: [{ email: "faded@acme.example" }],
      sentAt: new Date(Date.now() - 120 * DAY).toISOString(),
      links: [{ index: 0, url: "https://example.com/old" }],
    });
    await clickLink(account, old.id, 0, "https://example.com/old");
    await waitForEvents(old.id, 1);
    // The click happened 91 days ago: past the default 90 days' retention, and still worth 3 × 2^(−91/14) ≈ 0.03.
    await env.DB.prepare("UPDATE events SET occurred_at = ?2 WHERE message_id = ?1")
      .bind(old.id, Date.now() - 91 * DAY)
      .run();
    await env.DB.prepare("DELETE FROM contact_scores WHERE account_id = ?").bind(account.accountId).run();
    const before = await listed(account);
    expect(before.map((row) => row.slice(0, 2))).toEqual([["faded@acme.example", 0.03]]);
    expectShownAs(before, await reference(account));

    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    const after = await listed(account);
    expect(after.map((row) => [row[0], row[1], row[4]])).toEqual([["faded@acme.example", 0, null]]);
    expectShownAs(after, await reference(account));
  });
});

describe("a people page and a contact's page of a contact of many emails", () => {
  it("read the contact's stored row, not its emails, until it changes", async () => {
    const account = await createAccount();
    const emails = 400;
    await seedMessages(account, emails);
    await env.DB.prepare("UPDATE message_recipients SET email = 'big@acme.example' WHERE account_id = ?").bind(account.accountId).run();
    await seedOpens(account, 2 * emails);
    const list = "/api/contacts?limit=1";
    const page = "/api/contacts/big%40acme.example?limit=1";
    // The first listings score the contact from its 400 emails and their 800 opens, and store it (and the 400 seeded
    // addresses, gone from the account: they take two requests).
    while ((await account.json<ContactsResponse>("GET", list)).body.pendingContacts > 0);
    expect((await listed(account)).map((row) => row.slice(0, 3))).toEqual([["big@acme.example", expect.any(Number), emails]]);
    expectShownAs(await listed(account), await reference(account));
    // Then a page of one contact takes a few rows from D1, where scoring it from its emails took a few per email.
    const listRows = (await countedCall(account, list)).d1RowsReturned;
    const pageRows = (await countedCall(account, page)).d1RowsReturned;
    expect(listRows).toBeLessThan(20);
    expect(pageRows).toBeLessThan(20);
    // A new email to it, opened: the contact's page marks and rescores it, and the list then reads its row again.
    const late = await sentMessage(account, { recipients: [{ email: "big@acme.example" }] });
    await openPixel(late.id);
    await waitForEvents(late.id, 1);
    const rescored = await countedCall(account, page);
    expect(rescored.d1RowsReturned).toBeGreaterThan(emails);
    expectShownAs([shown(((await rescored.response.json()) as ContactDetail).contact)], (await reference(account)).slice(0, 1));
    expect((await countedCall(account, list)).d1RowsReturned).toBeLessThan(20);
    expectShownAs(await listed(account), await reference(account));
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
    expectShownAs(await listed(account, "", 200), await reference(account));
  });
});
