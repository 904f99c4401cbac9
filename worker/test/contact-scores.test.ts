// The people list and a contact's page show stored rows (db/contact-scores.ts), and must show exactly what scoring
// every contact from scratch gives (referenceContacts, the scores docs/engagement.md defines), after every kind of
// change: new hits, replies, a sender view that stops a hit counting, a new email, a deleted contact, a deleted email,
// changes written straight to D1, and the retention purge.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ContactDetail, ContactsResponse } from "../../shared/api";
import { roundedScore } from "../../shared/engagement";
import { mintTrackingId } from "../../shared/protocol";
import { type ContactPageQuery, contactPage, RESCORED_PER_REQUEST, ROWS_READ_PER_ROW_ASKED } from "../src/db/contact-scores";
import { type ContactAggregate, scoredContacts } from "../src/db/contacts";
import { campaignsLeftStatement, deleteMessageStatements } from "../src/db/messages";
import worker from "../src/index";
import { iso } from "../src/time";
import { FlakyD1 } from "./faults";
import {
  ago,
  clickLink,
  countedCall,
  createAccount,
  DAY,
  FREE_PLAN_D1_QUERIES,
  HOUR,
  openPixel,
  registration,
  reply,
  seedMessages,
  seedOpens,
  sentMessage,
  type TestAccount,
  waitForEvents,
} from "./helpers";
import { hitNow, optOut } from "./opt-out-helpers";
import { expectShownAs, reference, referenceContacts, type Shown, shown } from "./reference-contacts";

/**
 * The contact's own page of each address, by default every contact's in the reference's order: asked before any
 * listing, it brings the contact up to date itself.
 */
async function detailed(account: TestAccount, addresses?: string[]) {
  const all: Shown[] = [];
  for (const email of addresses ?? (await reference(account)).map(([email]) => String(email))) {
    const page = await account.json<ContactDetail>("GET", `/api/contacts/${encodeURIComponent(email)}?limit=1`);
    expect(page.status, email).toBe(200);
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

/** The first page of 20 of `campaign` by score, as contactPage reads it with `left`: the addresses, and the rows read. */
async function firstPage(
  account: TestAccount,
  campaign: string,
  left: { count: number; asciiFolds: string[] } = { count: 0, asciiFolds: [] },
) {
  const counted = new FlakyD1(env.DB, () => false);
  const { contacts } = await contactPage(counted.asD1(), account.accountId, Date.now(), { sort: "score", campaign, limit: 20 }, left);
  return { listed: contacts.map((contact) => contact.email), read: counted.rowsRead };
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

describe("the people list's stored rows at the retention purge", () => {
  it("keep nothing derived from the expired events and replies, and list as scoring from scratch does after", async () => {
    const account = await createAccount();
    const url = "https://example.com/old";
    // faded: an expired click alone. mixed: an expired click, a click of the last hour. replied: an expired reply alone.
    const faded = await sentMessage(account, {
      recipients: [{ email: "faded@acme.example" }],
      sentAt: new Date(Date.now() - 120 * DAY).toISOString(),
      links: [{ index: 0, url }],
    });
    const mixed = await sentMessage(account, {
      recipients: [{ email: "mixed@acme.example" }],
      sentAt: new Date(Date.now() - 120 * DAY).toISOString(),
      links: [{ index: 0, url }],
    });
    const replied = await sentMessage(account, {
      threadId: "t-replied",
      recipients: [{ email: "replied@acme.example" }],
      sentAt: new Date(Date.now() - 120 * DAY).toISOString(),
    });
    for (const message of [faded, mixed, mixed]) await clickLink(account, message.id, 0, url);
    await waitForEvents(faded.id, 1);
    await waitForEvents(mixed.id, 2);
    expect((await reply(account, "t-replied", "replied@acme.example", "msg-f:old-reply")).status).toBe(200);
    const expired = Date.now() - 91 * DAY;
    const recent = Date.now() - HOUR;
    await env.DB.batch([
      env.DB.prepare("UPDATE events SET occurred_at = ?2 WHERE message_id = ?1").bind(faded.id, expired),
      env.DB.prepare(
        "UPDATE events SET occurred_at = CASE WHEN seq = (SELECT min(seq) FROM events WHERE message_id = ?1) THEN ?2 ELSE ?3 END WHERE message_id = ?1",
      ).bind(mixed.id, expired, recent),
      env.DB.prepare("UPDATE signals SET occurred_at = ?2 WHERE message_id = ?1").bind(replied.id, expired),
    ]);
    const stored = async () =>
      (
        await env.DB.prepare("SELECT email, dirty, activity_key, score_key FROM contact_scores WHERE account_id = ? ORDER BY email")
          .bind(account.accountId)
          .all<{ email: string; dirty: number; activity_key: number; score_key: number }>()
      ).results.map((row) => [row.email, row.dirty > 0, row.activity_key, row.score_key > -1e300]);
    // The rows as a listing stores them, from every activity.
    await env.DB.prepare("DELETE FROM contact_scores WHERE account_id = ?").bind(account.accountId).run();
    await listed(account);
    expect(await stored()).toEqual([
      ["faded@acme.example", false, expired, true],
      ["mixed@acme.example", false, recent, true],
      ["replied@acme.example", false, expired, true],
    ]);

    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    // Read before any listing rescores them: no score (it summed the expired ones) and no expired time; mixed's latest
    // activity is its recent click, still stored.
    expect(await stored()).toEqual([
      ["faded@acme.example", true, -1, false],
      ["mixed@acme.example", true, recent, false],
      ["replied@acme.example", true, -1, false],
    ]);
    const after = await listed(account);
    expect(after.map((row) => [row[0], row[4]])).toEqual([
      ["mixed@acme.example", iso(recent)],
      ["faded@acme.example", null],
      ["replied@acme.example", null],
    ]);
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
    // Then the list reads a few rows in D1, where scoring the contact from its emails reads a few per email, and its
    // page hands the Worker a few (D1 reads more for the page: its timeline's sort counts as read).
    expect((await countedCall(account, list)).d1RowsRead).toBeLessThan(20);
    const stored = await countedCall(account, page);
    expect(stored.d1RowsReturned).toBeLessThan(20);
    // A new email to it, opened: the contact's page marks and rescores it, and the list then reads its row again.
    const late = await sentMessage(account, { recipients: [{ email: "big@acme.example" }] });
    await openPixel(late.id);
    await waitForEvents(late.id, 1);
    const rescored = await countedCall(account, page);
    expect(rescored.d1RowsRead).toBeGreaterThan(stored.d1RowsRead + emails);
    // Scored in D1: the Worker is handed the contact's sums, not a row per email and event (scoredContacts).
    expect(rescored.d1RowsReturned).toBeLessThan(20);
    expectShownAs([shown(((await rescored.response.json()) as ContactDetail).contact)], (await reference(account)).slice(0, 1));
    expect((await countedCall(account, list)).d1RowsRead).toBeLessThan(20);
    expectShownAs(await listed(account), await reference(account));
  });
});

describe("a contact scored in D1", () => {
  it("sums exactly what the reference sums in JavaScript: repeats past the tenth, both counted labels, shares, replies, names and campaigns", async () => {
    const account = await createAccount();
    const now = Date.now();
    const hours = (n: number) => now - n * HOUR;
    const x = "x@acme.example";
    const y = "y@acme.example";
    const z = "z@acme.example";
    const shared = await sentMessage(account, {
      recipients: [{ email: x, name: "Xavier" }, { email: y }, { email: z }],
      campaign: "Q4",
      sentAt: new Date(hours(30 * 24)).toISOString(),
    });
    const own = await sentMessage(account, {
      recipients: [{ email: x, name: "X. Ray" }],
      campaign: "Q1",
      sentAt: new Date(hours(48)).toISOString(),
    });
    const gone = await sentMessage(account, { recipients: [{ email: x }, { email: y }], sentAt: new Date(hours(24)).toISOString() });
    // Thirteen opens of the shared email, alternating between the two counted labels, a click, and hits that do not
    // count; opens of the other two emails.
    const event = (messageId: string, kind: string, label: string, at: number, n: number) =>
      env.DB.prepare(
        `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?6)`,
      ).bind(`e-${messageId}-${n}`, account.accountId, messageId, kind, at, label);
    await env.DB.batch([
      ...Array.from({ length: 13 }, (_, n) => event(shared.id, "open", n % 2 ? "gmail-proxy" : "human", hours(29 * 24 - n * 7), n)),
      event(shared.id, "click", "human", hours(20 * 24), 20),
      event(shared.id, "open", "scanner", hours(1), 21),
      event(shared.id, "click", "sender", hours(1), 22),
      event(own.id, "open", "human", hours(40), 30),
      event(own.id, "open", "human", hours(39), 31),
      event(gone.id, "open", "human", hours(2), 40),
    ]);
    // Replies: x's own, y's own, and one from someone else in the thread, shared.
    const replyFrom = (messageId: string, email: string, at: number) =>
      env.DB.prepare(
        `INSERT INTO signals (account_id, message_id, kind, source_id, email, occurred_at, inserted_at)
         VALUES (?1, ?2, 'reply', ?3, ?4, ?5, ?5)`,
      ).bind(account.accountId, messageId, `msg-f:${email}-${at}`, email, at);
    await env.DB.batch([
      replyFrom(shared.id, x, hours(25 * 24)),
      replyFrom(shared.id, y, hours(3)),
      replyFrom(shared.id, "colleague@acme.example", hours(5 * 24)),
      replyFrom(own.id, x, hours(30)),
    ]);
    // A deleted email counts for no one; a deleted contact leaves the others their share.
    expect((await account.json("DELETE", `/api/messages/${gone.id}`)).status).toBe(204);
    expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent(z)}`)).status).toBe(204);

    const exact = (contacts: ContactAggregate[]) =>
      contacts
        .filter((c) => [x, y, z].includes(c.email))
        .sort((a, b) => (a.email < b.email ? -1 : 1))
        .map(({ campaigns, exactScore, score, ...rest }) => ({
          ...rest,
          campaigns: [...campaigns].sort(),
          exactScore: exactScore.toPrecision(12),
        }));
    const scored = exact(await scoredContacts(env.DB, account.accountId, now, [x, y, z, "nobody@acme.example"]));
    expect(scored).toEqual(exact(await referenceContacts(account.accountId, now)));
    expect(scored.map((c) => [c.email, c.name, c.sent, c.campaigns])).toEqual([
      [x, "X. Ray", 2, ["Q1", "Q4"]],
      [y, null, 1, ["Q4"]],
    ]);
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

describe("the people list of an account that wrote one address in several spellings", () => {
  it("lists the person once, as scoring every spelling's emails from scratch gives, and on each spelling's page", async () => {
    const account = await createAccount();
    const unicode = "jörg@münchen.de";
    const punycode = "jörg@xn--mnchen-3ya.de";
    const first = await sentMessage(account, {
      threadId: "t-unicode",
      recipients: [{ email: unicode, name: "Jörg" }, { email: "ann@acme.example" }],
      campaign: "Pilot",
      sentAt: ago(30 * HOUR),
    });
    const second = await sentMessage(account, {
      threadId: "t-punycode",
      recipients: [{ email: punycode }],
      campaign: "Webinar",
      sentAt: ago(20 * HOUR),
    });
    const third = await sentMessage(account, {
      threadId: "t-nfd",
      recipients: [{ email: unicode.normalize("NFD") }, { email: "ann@acme.example" }],
      sentAt: ago(10 * HOUR),
    });
    for (const message of [first, first, second, third]) await openPixel(message.id);
    await waitForEvents(first.id, 2);
    await waitForEvents(second.id, 1);
    await waitForEvents(third.id, 1);
    // A reply from the person in another spelling than the email's, and one from someone not on the email, shared.
    expect((await reply(account, "t-unicode", punycode, "msg-f:from-punycode")).status).toBe(200);
    expect((await reply(account, "t-nfd", "colleague@acme.example", "msg-f:from-colleague")).status).toBe(200);

    const truth = await reference(account);
    expect(truth.map((row) => [row[0], row[2]])).toEqual([
      [unicode, 3],
      ["ann@acme.example", 2],
    ]);
    expectShownAs(await listed(account), truth);
    expectShownAs(await detailed(account), await reference(account));
    // Asked in each spelling, a contact's page shows the one person.
    const person = (await reference(account)).slice(0, 1);
    const spellings = [unicode, punycode, unicode.normalize("NFD")];
    expectShownAs(
      await detailed(account, spellings),
      spellings.flatMap(() => person),
    );
    const inWebinar = (await referenceContacts(account.accountId, Date.now())).filter((c) => c.campaigns.has("Webinar"));
    expect((await listed(account, "&campaign=Webinar")).map((row) => row[0])).toEqual(inWebinar.map((c) => c.email));
  });
});

describe("a people page after the previous one", () => {
  /**
   * Every page of the account's people list from the first, as contactPage reads them (no rows left marked): the
   * addresses listed, and the rows D1 read for each page.
   */
  async function pages(account: TestAccount, query: Omit<ContactPageQuery, "after">) {
    const listed: string[] = [];
    const reads: number[] = [];
    const now = Date.now();
    for (let after: ContactPageQuery["after"], page = 0; page < 100; page++) {
      const counted = new FlakyD1(env.DB, () => false);
      const { contacts, next } = await contactPage(
        counted.asD1(),
        account.accountId,
        now,
        { ...query, after },
        { count: 0, asciiFolds: [] },
      );
      reads.push(counted.rowsRead);
      listed.push(...contacts.map((contact) => contact.email));
      if (!next) break;
      after = next;
    }
    return { listed, reads };
  }

  /** 300 contacts, `reader0@example.org` on, none opened: one tie of the same score and of the same (no) activity. */
  async function tiedAccount() {
    const account = await createAccount();
    await seedMessages(account, 300);
    while ((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.pendingContacts > 0);
    return account;
  }

  const readers = (indexes: number[]) => indexes.map((i) => `reader${i}@example.org`).sort();

  it("starts right after the previous page's last row within a tie, reading a page's rows, not the tie's from its start", async () => {
    const account = await tiedAccount();
    const every = readers(Array.from({ length: 300 }, (_, i) => i));
    for (const sort of ["score", "lastActivity"] as const) {
      const { listed, reads } = await pages(account, { sort, limit: 20 });
      expect(listed).toEqual(every);
      // The page's 20 rows and the next one, which says a page follows, and one more where the tie's seek ends. From the
      // tie's start, the 15th page read 300.
      expect(Math.max(...reads), `rows read by each page: ${reads}`).toBeLessThanOrEqual(20 + 2);
    }
  });

  it("by latest activity over a minScore lists every contact that passes, on pages that read a window of the index at most", async () => {
    const account = await tiedAccount();
    // Contact i last opened i seconds before the latest open: the activity order is reader0, reader1, ... Every tenth
    // from reader5 is opened 3 times, reader1 twice, every other once: in activity order, the contacts over minScore
    // are spread among those under it, and reader1, on the first page, is just under it.
    const opens = (i: number) => (i % 10 === 5 ? 3 : i === 1 ? 2 : 1);
    const latest = Date.now() - HOUR;
    await env.DB.prepare(
      `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label, client)
       SELECT 'activity-open-' || ?1 || '-' || c.value || '-' || o.value, ?1, 'seeded-' || ?1 || '-' || c.value, 'open',
              ?3 - c.value * 1000 - o.value, ?3 - c.value * 1000 - o.value, 'human', 'human', 'Chrome 131'
       FROM json_each(?2) c, json_each('[0, 1, 2]') o WHERE o.value < CASE WHEN c.value % 10 = 5 THEN 3 WHEN c.value = 1 THEN 2 ELSE 1 END`,
    )
      .bind(account.accountId, JSON.stringify(Array.from({ length: 300 }, (_, i) => i)), latest)
      .run();
    while ((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.pendingContacts > 0);
    const now = Date.now();
    const scores = new Map(
      (await scoredContacts(env.DB, account.accountId, now, readers(Array.from({ length: 300 }, (_, i) => i)))).map((c) => [
        c.email,
        c.exactScore,
      ]),
    );
    // A minScore that reader1's score passes in SQL's coarse check (score_key >= minScore − 0.005) but not exactly.
    const minScore = roundedScore(scores.get("reader1@example.org") ?? 0) + 0.001;
    const passing = Array.from({ length: 300 }, (_, i) => i).filter((i) => opens(i) === 3);
    for (const [email, score] of scores)
      expect(roundedScore(score) >= minScore, email).toBe(passing.some((i) => email === `reader${i}@example.org`));
    const { listed, reads } = await pages(account, { sort: "lastActivity", minScore, limit: 20 });
    expect(listed).toEqual(passing.map((i) => `reader${i}@example.org`));
    // The window's rows, and one more where the seek of the tie with the previous page's last row ends. Unbounded, a
    // page read on until 21 rows passed: 196 for the first.
    const window = ROWS_READ_PER_ROW_ASKED * 21;
    expect(Math.max(...reads), `rows read by each page: ${reads}`).toBeLessThanOrEqual(window + 1);
  });

  it("of a campaign reads a window of the index at most, and the campaign's pages list each of its people once", async () => {
    const account = await tiedAccount();
    // 7 people of the campaign among the 300, spread out: most pages end short, or empty.
    const inCampaign = [3, 50, 51, 120, 199, 250, 299];
    await env.DB.prepare(
      "UPDATE messages SET campaign = 'Pilot' WHERE account_id = ?1 AND id IN (SELECT 'seeded-' || ?1 || '-' || value FROM json_each(?2))",
    )
      .bind(account.accountId, JSON.stringify(inCampaign))
      .run();
    while ((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.pendingContacts > 0);
    const { listed, reads } = await pages(account, { sort: "score", campaign: "Pilot", limit: 20 });
    expect(listed).toEqual(readers(inCampaign));
    // The window's rows, and for each its campaigns' (json_each's rows count as read): unbounded, the first page read
    // every row of the account, 301.
    const window = ROWS_READ_PER_ROW_ASKED * 21;
    expect(Math.max(...reads), `rows read by each page: ${reads}`).toBeLessThanOrEqual(window + window / 2);
  });

  /** `campaign` on the seeded emails of readers `indexes`, every contact rescored after. */
  async function inCampaign(account: TestAccount, campaign: string, indexes: number[]) {
    await env.DB.prepare(
      "UPDATE messages SET campaign = ?3 WHERE account_id = ?1 AND id IN (SELECT 'seeded-' || ?1 || '-' || value FROM json_each(?2))",
    )
      .bind(account.accountId, JSON.stringify(indexes), campaign)
      .run();
    while ((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.pendingContacts > 0);
  }

  it("of a campaign nearly every contact has reads the page's rows, in either order, not a window of the index", async () => {
    const account = await tiedAccount();
    const members = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 30 !== 0);
    await inCampaign(account, "Launch", members);
    for (const sort of ["score", "lastActivity"] as const) {
      const { listed, reads } = await pages(account, { sort, campaign: "Launch", limit: 20 });
      expect(listed).toEqual(readers(members));
      // Each of the page's 20 people and the next one, which says a page follows, read twice: its row of the campaign
      // (contact_campaigns) and its stored row; and up to 3 more where the seeks stop (43 for the first page, 45 for
      // the others). By a window of contact_scores, 84 or 85 (ROWS_READ_PER_ROW_ASKED × 21).
      expect(Math.max(...reads), `rows read by each page: ${reads}`).toBeLessThanOrEqual(2 * 21 + 3);
    }
  });

  it("of a campaign few contacts have gives full pages while people of it are left", async () => {
    const account = await tiedAccount();
    const members = Array.from({ length: 25 }, (_, i) => 12 * i);
    await inCampaign(account, "Few", members);
    // By a window of 84 rows of contact_scores, the first page held the 7 people of it among them.
    expect((await firstPage(account, "Few")).listed).toEqual(readers(members).slice(0, 20));
    const { listed } = await pages(account, { sort: "score", campaign: "Few", limit: 20 });
    expect(listed).toEqual(readers(members));
  });

  it("of a campaign read just after an email to others marked their rows is full, and computes none of them", async () => {
    const account = await tiedAccount();
    const members = Array.from({ length: 25 }, (_, i) => 12 * i);
    await inCampaign(account, "Few", members);
    // After the listing's refresh: an email to 50 people not of the campaign, whose rows it marks.
    await sentMessage(account, { recipients: Array.from({ length: 50 }, (_, i) => ({ email: `reader${12 * i + 1}@example.org` })) });
    const { listed, read } = await firstPage(account, "Few");
    // Each marked row computed from its emails and left out in a place of the page, it showed 10 and read 983 rows.
    // Now a marked row is read with its emails' rows of recipients and messages, none of the campaign: 293.
    expect(listed).toEqual(readers(members).slice(0, 20));
    expect(read).toBeLessThanOrEqual(300);
  });

  it("of a campaign while rows are left marked shows the campaign's people of its window, not marked rows left out", async () => {
    const account = await tiedAccount();
    const members = Array.from({ length: 25 }, (_, i) => 12 * i);
    await inCampaign(account, "Few", members);
    await env.DB.prepare("UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ?").bind(account.accountId).run();
    const { listed } = await firstPage(account, "Few", { count: 300, asciiFolds: [] });
    // The people of it among the window's rows (the first ROWS_READ_PER_ROW_ASKED × 21 addresses of the tie), 8; 2
    // when the marked rows took the page's places, each computed and left out.
    const window = readers(Array.from({ length: 300 }, (_, i) => i)).slice(0, ROWS_READ_PER_ROW_ASKED * 21);
    expect(listed).toEqual(readers(members).filter((email) => window.includes(email)));
    expect(listed.length).toBe(8);
  });
});

describe("a campaign's people (contact_campaigns, migration 0034)", () => {
  /**
   * contact_campaigns holds a row for each campaign of each shown stored row (shown_as IS NULL), with its keys, and
   * nothing else.
   */
  async function expectInStep(account: TestAccount) {
    const [entries, rows] = await env.DB.batch([
      env.DB.prepare(
        "SELECT campaign, email, score_key, activity_key FROM contact_campaigns WHERE account_id = ?1 ORDER BY campaign, email",
      ).bind(account.accountId),
      env.DB.prepare(
        `SELECT j.value AS campaign, s.email, s.score_key, s.activity_key FROM contact_scores s, json_each(s.campaigns) j
         WHERE s.account_id = ?1 AND s.shown_as IS NULL ORDER BY campaign, s.email`,
      ).bind(account.accountId),
    ]);
    expect(entries?.results).toEqual(rows?.results);
  }

  /** The campaign's listing, in both orders, is the reference's people of it, and contact_campaigns is in step. */
  async function expectListed(account: TestAccount, campaign: string, people: string[]) {
    const inCampaign = (await referenceContacts(account.accountId, Date.now()))
      .filter((c) => c.campaigns.has(campaign))
      .sort((a, b) => b.exactScore - a.exactScore || (a.email < b.email ? -1 : 1));
    expect(inCampaign.map((c) => c.email)).toEqual(people);
    const byScore = await listed(account, `&campaign=${campaign}`);
    expectShownAs(
      byScore,
      inCampaign.map((c) => shown(c, c.exactScore)),
    );
    expect(byScore.map((row) => row[0])).toEqual(people);
    expect((await listed(account, `&campaign=${campaign}&sort=lastActivity`)).map((row) => row[0]).sort()).toEqual([...people].sort());
    await expectInStep(account);
  }

  it("follows a score change, a new email of it, that email's deletion, the purge and a deleted contact", async () => {
    const account = await createAccount();
    await sentMessage(account, {
      campaign: "Pilot",
      recipients: [{ email: "ann@acme.example" }, { email: "bo@acme.example" }],
    });
    const other = await sentMessage(account, { campaign: "Other", recipients: [{ email: "cy@acme.example" }] });
    await expectListed(account, "Pilot", ["ann@acme.example", "bo@acme.example"]);

    // An open of cy's email: cy's score changes, not Pilot's people's.
    await openPixel(other.id);
    await waitForEvents(other.id, 1);
    await expectListed(account, "Pilot", ["ann@acme.example", "bo@acme.example"]);

    // cy gains the campaign by a new email, and an open of it puts cy first.
    const gained = await sentMessage(account, { campaign: "Pilot", recipients: [{ email: "cy@acme.example" }] });
    await openPixel(gained.id);
    await waitForEvents(gained.id, 1);
    await expectListed(account, "Pilot", ["cy@acme.example", "ann@acme.example", "bo@acme.example"]);

    // That email deleted, cy loses the campaign; cy's other email keeps cy in the list.
    expect((await account.json("DELETE", `/api/messages/${gained.id}`)).status).toBe(204);
    await expectListed(account, "Pilot", ["ann@acme.example", "bo@acme.example"]);

    // An open of an email of Pilot's to bo alone, then the purge of it: bo goes first, and back behind ann (a tie at
    // no score, by address) after the purge.
    const toBo = await sentMessage(account, { campaign: "Pilot", recipients: [{ email: "bo@acme.example" }] });
    await openPixel(toBo.id);
    await waitForEvents(toBo.id, 1);
    await expectListed(account, "Pilot", ["bo@acme.example", "ann@acme.example"]);
    await env.DB.prepare("UPDATE events SET occurred_at = ?2 WHERE message_id = ?1")
      .bind(toBo.id, Date.now() - 91 * DAY)
      .run();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    await expectInStep(account);
    await expectListed(account, "Pilot", ["ann@acme.example", "bo@acme.example"]);

    // A deleted contact is gone from the campaign.
    expect((await account.json("DELETE", "/api/contacts/bo%40acme.example")).status).toBe(204);
    await expectListed(account, "Pilot", ["ann@acme.example"]);
  });

  it("writes no entry of a person whose campaigns an email's deletion leaves the same, whichever of their emails came first", async () => {
    const account = await createAccount();
    const people = ["ann", "bo", "cy", "di"].map((name) => `${name}@acme.example`);
    // The email deleted below is each person's first of Zeta; the later ones keep Zeta, and Alpha, each to one person,
    // in one order or the other.
    const first = await sentMessage(account, { campaign: "Zeta", recipients: people.map((email) => ({ email })) });
    for (const [i, email] of people.entries())
      for (const campaign of i % 2 ? ["Alpha", "Zeta"] : ["Zeta", "Alpha"])
        await sentMessage(account, { campaign, recipients: [{ email }] });
    await expectListed(account, "Alpha", people);
    // The deletion's tombstone, then what it leaves of its recipients' campaigns: each person's row written once (the
    // same two campaigns), and none of their 8 entries of contact_campaigns. Listed in the order of their emails, the
    // campaigns of the people whose first email was Zeta's changed order, and their entries were written again, 3 a
    // campaign: 4 + 2 × 6 = 16 rows written.
    const statements = deleteMessageStatements(env.DB, account.accountId, first.id, Date.now());
    await statements[0]?.run();
    const left = await campaignsLeftStatement(env.DB, account.accountId, first.id).run();
    expect(left.meta.rows_written).toBe(people.length);
    await env.DB.batch(statements.slice(1));
    await expectListed(account, "Alpha", people);
    await expectListed(account, "Zeta", people);
  });

  it("takes out of a campaign's listing over a minScore a person whose opt-out took the hits that put them there", async () => {
    const account = await createAccount();
    // Opt-outs are the tracker's, every account's: an address of this test alone.
    const person = `opted-${crypto.randomUUID().slice(0, 8)}@wingtip.example`;
    const pilot = await sentMessage(account, { campaign: "Pilot", recipients: [{ email: person }, { email: "bo@acme.example" }] });
    const held = await mintTrackingId(account.key);
    expect((await optOut(held, person)).status).toBe(200);
    // Stored while the opt-out is held for an email not registered yet: it counts until the registration names the person.
    expect(await hitNow(account, pilot.id)).toBe(1);
    // In both orders: by latest activity, a window of the campaign's people, the score checked on each.
    const overMinScore = async () => {
      const byScore = (await listed(account, "&campaign=Pilot&minScore=0.01")).map((row) => row[0]);
      const byActivity = (await listed(account, "&campaign=Pilot&minScore=0.01&sort=lastActivity")).map((row) => row[0]);
      expect(byActivity.sort()).toEqual([...byScore].sort());
      return byScore;
    };
    expect(await overMinScore()).toEqual(["bo@acme.example", person]);
    await expectInStep(account);
    expect((await account.json("PUT", `/api/messages/${held}`, registration({ recipients: [{ email: person }] }))).status).toBe(200);
    // The opt-out recorded at the time it was made takes the hit: the email's open no longer counts for either.
    expect(await overMinScore()).toEqual([]);
    await expectListed(account, "Pilot", ["bo@acme.example", person]);
  });

  it("lists a person marked since the listing's refresh from their emails: one who gained the campaign, and not one who lost it", async () => {
    const account = await createAccount();
    const pilot = await sentMessage(account, { campaign: "Pilot", recipients: [{ email: "ann@acme.example" }] });
    await sentMessage(account, { recipients: [{ email: "bo@acme.example" }] });
    await expectListed(account, "Pilot", ["ann@acme.example"]);
    // Written after the refresh the page below is read without: bo's and ann's rows are marked, not rescored.
    await sentMessage(account, { campaign: "Pilot", recipients: [{ email: "bo@acme.example" }] });
    await env.DB.prepare("UPDATE messages SET campaign = 'Renamed' WHERE id = ?").bind(pilot.id).run();
    expect((await firstPage(account, "Pilot")).listed).toEqual(["bo@acme.example"]);
    // Ann's row, marked and stored without it, gains the campaign's new name: her email of it is sought by its campaign.
    expect((await firstPage(account, "Renamed")).listed).toEqual(["ann@acme.example"]);
  });
  it("pages a tie of a marked row and clean rows of the campaign in address order, one page each, across both sources", async () => {
    const account = await createAccount();
    await sentMessage(account, { campaign: "Pilot", recipients: [{ email: "ann@acme.example" }, { email: "cy@acme.example" }] });
    await sentMessage(account, { recipients: [{ email: "bo@acme.example" }] });
    await expectListed(account, "Pilot", ["ann@acme.example", "cy@acme.example"]);
    // After the refresh: bo gains the campaign, marked, with the key of no score that ann and cy hold too.
    await sentMessage(account, { campaign: "Pilot", recipients: [{ email: "bo@acme.example" }] });
    const listedByPages: string[] = [];
    let after: readonly [number, string] | undefined;
    for (let page = 0; page < 4; page++) {
      const { contacts, next } = await contactPage(
        env.DB,
        account.accountId,
        Date.now(),
        { sort: "score", campaign: "Pilot", limit: 1, after },
        { count: 0, asciiFolds: [] },
      );
      listedByPages.push(...contacts.map((contact) => contact.email));
      if (!next) break;
      after = next;
    }
    expect(listedByPages).toEqual(["ann@acme.example", "bo@acme.example", "cy@acme.example"]);
  });
});
