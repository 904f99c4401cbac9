// /api/activity: the popup's digest, the follow-up list and the daily chart, on the real migrations and queue.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DailyActivityResponse, FollowUpsResponse, MessageStatus, MessagesResponse, RecentActivityResponse } from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import { awaitingReply } from "../src/db/activity";
import { purgeExpiredEvents } from "../src/db/retention";
import { localDays } from "../src/local-days";
import { FOLLOW_UP_ROWS } from "../src/routes/activity";
import {
  ago,
  blankAccount,
  call,
  clickLink,
  createAccount,
  DAY,
  HOUR,
  MINUTE,
  migrateRowsAcross,
  openPixel,
  reply,
  sentMessage,
  waitForEvents,
} from "./helpers";

describe("recent activity digest", () => {
  it("gives one entry per message with its counts, clicked links, replies, bounce reason, and machines summed", async () => {
    const account = await createAccount();
    const url = "https://calendly.com/rep/30min";
    const opened = await sentMessage(account, { subject: "Opened a lot", links: [{ index: 0, url }] });
    for (let i = 0; i < 3; i++) await openPixel(opened.id);
    await openPixel(opened.id, { "user-agent": "Mozilla/5.0" }); // Apple's prefetch: a machine
    await clickLink(account, opened.id, 0, url);
    await waitForEvents(opened.id, 5);
    const bounced = await sentMessage(account, { subject: "Bounced", recipients: [{ email: "gone@nowhere.example" }] });
    const reason = "The email account that you tried to reach does not exist.";
    await account.json("POST", "/api/signals", {
      signals: [
        {
          kind: "bounce",
          threadId: bounced.threadId,
          gmailMessageId: "msg-f:b1",
          at: ago(0),
          bounce: { kind: "hard", recipients: ["gone@nowhere.example"], reason },
        },
      ],
    });
    const quiet = await sentMessage(account, { subject: "Nothing yet" });

    const { status, body } = await account.json<RecentActivityResponse>("GET", "/api/activity/recent");
    expect(status).toBe(200);
    expect(body.messages.map((m) => m.subject)).toEqual(["Bounced", "Opened a lot"]);
    expect(body.messages.find((m) => m.id === quiet.id)).toBeUndefined();
    expect(body.messages[1]).toMatchObject({ openCount: 3, clickedLinks: [{ index: 0, url, clicks: 1 }], machineHits: 1, replyCount: 0 });
    expect(body.messages[0]?.bounce).toMatchObject({ kind: "hard", reason });
    // The message list shows the reason too.
    const list = await account.json<MessagesResponse>("GET", "/api/messages?state=bounced");
    expect(list.body.messages[0]?.bounce?.reason).toBe(reason);
    expect((await account.json("GET", "/api/activity/recent?days=40")).status).toBe(400);
  });
});

describe("follow-ups", () => {
  it("lists emails without a reply after N days, clicked first, then opened, then nothing; replies, bounces and young emails out", async () => {
    const account = await createAccount();
    const url = "https://example.com/pricing";
    const old = (days: number) => ago(days * DAY);
    const none = await sentMessage(account, { subject: "No reaction", sentAt: old(5) });
    const opened = await sentMessage(account, { subject: "Opened", sentAt: old(6) });
    const clicked = await sentMessage(account, { subject: "Clicked", sentAt: old(7), links: [{ index: 0, url }] });
    const replied = await sentMessage(account, { subject: "Replied", sentAt: old(5) });
    const young = await sentMessage(account, { subject: "Sent yesterday", sentAt: old(1) });
    const tooOld = await sentMessage(account, { subject: "Last quarter", sentAt: old(120) });
    await openPixel(opened.id);
    await clickLink(account, clicked.id, 0, url);
    await waitForEvents(opened.id, 1);
    await waitForEvents(clicked.id, 1);
    await reply(account, replied.threadId ?? "", "buyer@acme.example", "msg-f:r1");

    const { body } = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=3");
    expect(body.messages.map((m) => [m.subject, m.engagement])).toEqual([
      ["Clicked", "clicked"],
      ["Opened", "opened"],
      ["No reaction", "none"],
    ]);
    expect(body.messages.map((m) => m.id)).toEqual([clicked.id, opened.id, none.id]);
    expect(body.messages[0]?.threadId).toBe(clicked.threadId);
    expect(body.messages.map((m) => m.id)).not.toContain(young.id);
    expect(body.messages.map((m) => m.id)).not.toContain(tooOld.id);
    // A longer wait leaves out the emails sent since.
    const week = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=7");
    expect(week.body.messages.map((m) => m.id)).toEqual([clicked.id]);
    expect((await account.json("GET", "/api/activity/follow-ups?days=0")).status).toBe(400);
  });

  it("applies each campaign's wait before the limit, and says how many need a follow-up in all", async () => {
    const account = await createAccount();
    const old = (days: number) => ago(days * DAY + MINUTE);
    const webinar = await sentMessage(account, { subject: "Webinar, 4 days", campaign: "Webinar", sentAt: old(4) });
    const plain = await sentMessage(account, { subject: "Plain, 5 days", sentAt: old(5) });
    const q4 = await sentMessage(account, { subject: "Q4, 2 days", campaign: "Q4", sentAt: old(2) });
    const young = await sentMessage(account, { subject: "Plain, 2 days", sentAt: old(2) });
    const waits = encodeURIComponent(JSON.stringify({ Webinar: 7, Q4: 2 }));
    const path = `/api/activity/follow-ups?days=2&defaultDays=3&campaignDays=${waits}`;

    // The Webinar email is within its 7 days and the young one within the default 3: neither takes a place.
    const all = await account.json<FollowUpsResponse>("GET", path);
    expect(all.body.messages.map((m) => m.id)).toEqual([q4.id, plain.id]);
    expect(all.body.total).toBe(2);
    const first = await account.json<FollowUpsResponse>("GET", `${path}&limit=1`);
    expect(first.body.messages.map((m) => m.id)).toEqual([q4.id]);
    expect(first.body.total).toBe(2);
    expect([webinar.id, young.id].some((id) => all.body.messages.some((m) => m.id === id))).toBe(false);

    // Asked as an extension before the waits did (its shortest wait only): every email past it.
    const shortest = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=2");
    expect(shortest.body.total).toBe(4);
    expect((await account.json("GET", `/api/activity/follow-ups?campaignDays=${encodeURIComponent("Webinar: 7")}`)).status).toBe(400);
    expect((await account.json("GET", `/api/activity/follow-ups?campaignDays=${encodeURIComponent('{"Webinar":0}')}`)).status).toBe(400);
  });

  it("leaves out an email a recipient opted out of after its unsubscribe signal is purged or its contact deleted", async () => {
    const account = await createAccount();
    expect((await account.json("PATCH", "/api/account", { retentionDays: 1 })).status).toBe(200);
    const sentAt = ago(5 * DAY);
    const purged = await sentMessage(account, { subject: "Opted out, purged", sentAt, recipients: [{ email: "gone@acme.example" }] });
    const shared = await sentMessage(account, {
      subject: "Opted out, contact deleted",
      sentAt,
      recipients: [{ email: "leaver@acme.example" }, { email: "stays@acme.example" }],
    });
    const control = await sentMessage(account, { subject: "Waiting", sentAt });
    const optOut = (id: string, email: string) =>
      call(`/u/${id}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ email }).toString(),
      });
    expect((await optOut(purged.id, "gone@acme.example")).status).toBe(200);
    expect((await optOut(shared.id, "leaver@acme.example")).status).toBe(200);
    // The purge, two days on, takes the unsubscribe signal (retention: a day); deleting the contact takes its own.
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now() + 2 * DAY);
    expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent("leaver@acme.example")}`)).status).toBe(204);
    const signals = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE account_id = ?").bind(account.accountId).first();
    expect(signals).toEqual({ n: 0 });

    const { body } = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=3");
    expect(body.messages.map((m) => m.id)).toEqual([control.id]);
    expect(body.total).toBe(1);
    for (const id of [purged.id, shared.id])
      expect((await account.json<{ unsubscribed: boolean }>("GET", `/api/messages/${id}`)).body.unsubscribed).toBe(true);
    expect((await account.json<{ unsubscribed: boolean }>("GET", `/api/messages/${control.id}`)).body.unsubscribed).toBe(false);
    // The query leaves them out itself: kept to its 500 newest, the list would otherwise lose older emails to them.
    const waiting = await awaitingReply(env.DB, account.accountId, 0, Date.now(), { defaultDays: 3, campaignDays: {} }, 10);
    expect(waiting.map((row) => row.id)).toEqual([control.id]);
  });

  it("leaves out an answered email after its replies are purged or their sender deleted as a contact, and its status says replied", async () => {
    const account = await createAccount();
    expect((await account.json("PATCH", "/api/account", { retentionDays: 1 })).status).toBe(200);
    const sentAt = ago(5 * DAY);
    const answered = await sentMessage(account, { subject: "Answered twice", sentAt, recipients: [{ email: "buyer@acme.example" }] });
    const shared = await sentMessage(account, {
      subject: "Answered, contact deleted",
      sentAt,
      recipients: [{ email: "answerer@acme.example" }, { email: "colleague@acme.example" }],
    });
    const control = await sentMessage(account, { subject: "Waiting", sentAt });
    // Through the real route, answered two days after the send: the later reply first, as a conversation opened late
    // reports its replies.
    const firstAt = ago(3 * DAY);
    const lastAt = ago(HOUR);
    const replyTo = (threadId: string | undefined, gmailMessageId: string, at: string, from: string) =>
      account.json("POST", "/api/signals", { signals: [{ kind: "reply", threadId, gmailMessageId, at, from }] });
    await replyTo(answered.threadId, "msg-f:later", lastAt, "buyer@acme.example");
    await replyTo(answered.threadId, "msg-f:first", firstAt, "buyer.assistant@acme.example");
    await replyTo(shared.threadId, "msg-f:answerer", lastAt, "answerer@acme.example");
    const detail = (id: string) => account.json<MessageStatus>("GET", `/api/messages/${id}`);
    expect((await detail(answered.id)).body).toMatchObject({ replyCount: 2, lastReplyAt: lastAt });

    // The purge, two days on, takes the replies (retention: a day); deleting the contact takes its own.
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now() + 2 * DAY);
    expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent("answerer@acme.example")}`)).status).toBe(204);
    const signals = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE account_id = ?").bind(account.accountId).first();
    expect(signals).toEqual({ n: 0 });

    const { body } = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=3");
    expect(body.messages.map((m) => m.id)).toEqual([control.id]);
    expect(body.total).toBe(1);
    // Still answered, when last: one reply at least, the reminders' and the marks' "replied".
    for (const id of [answered.id, shared.id]) expect((await detail(id)).body).toMatchObject({ replyCount: 1, lastReplyAt: lastAt });
    expect((await detail(control.id)).body).toMatchObject({ replyCount: 0, lastReplyAt: null });
    const replied = await account.json<MessagesResponse>("GET", "/api/messages?state=replied");
    expect(replied.body.messages.map((m) => m.id).sort()).toEqual([answered.id, shared.id].sort());
    // The query leaves them out itself: kept to its 500 newest, the list would otherwise lose older emails to them.
    const waiting = await awaitingReply(env.DB, account.accountId, 0, Date.now(), { defaultDays: 3, campaignDays: {} }, 10);
    expect(waiting.map((row) => row.id)).toEqual([control.id]);
  });

  it("past the newest emails it looks at, says their number is not known", async () => {
    const account = await createAccount();
    const sentAt = Date.now() - 10 * DAY;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${FOLLOW_UP_ROWS + 1})
       INSERT INTO messages (id, account_id, subject, sent_at, registered_at, updated_at) SELECT ?1 || i, ?2, 'Bulk', ?3 - i, ?3, ?3 FROM n`,
    )
      .bind(`${account.key.accountId}-bulk-`, account.key.accountId, sentAt)
      .run();
    const { body } = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=3&limit=200");
    expect(body.messages).toHaveLength(200);
    expect(body.total).toBeNull();
  });
});

describe("daily activity", () => {
  it("counts counted opens and clicks per local day, a zero for each quiet day", async () => {
    const account = await createAccount();
    const url = "https://example.com/a";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    await openPixel(message.id);
    await openPixel(message.id);
    await openPixel(message.id, { "user-agent": "Mozilla/5.0" }); // not counted
    await clickLink(account, message.id, 0, url);
    await waitForEvents(message.id, 4);
    // An email never registered (its registration refused, or still in the extension's outbox): its hits are kept
    // for when it is, but not counted before, as the digest and the campaigns do not count them.
    const unregistered = await mintTrackingId(account.key);
    await openPixel(unregistered);
    await openPixel(unregistered);
    await waitForEvents(unregistered, 2);
    const offset = new Date().getTimezoneOffset();
    const { body } = await account.json<DailyActivityResponse>("GET", `/api/activity/daily?days=7&offset=${offset}`);
    expect(body.days).toHaveLength(7);
    expect(body.days[6]).toMatchObject({ opens: 2, clicks: 1 });
    expect(body.days.slice(0, 6).every((d) => d.opens === 0 && d.clicks === 0)).toBe(true);
    expect(body.days[6]?.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe("the rep's local days", () => {
  const utc = (iso: string) => Date.parse(iso);

  it("follow the time zone's daylight saving changes: the day summer time ends lasts 25 hours", () => {
    // Europe/London left summer time on 2026-10-25 at 2:00 (01:00 UTC).
    const days = localDays(3, utc("2026-10-26T12:00:00Z"), { zone: "Europe/London" });
    expect(days).toEqual([
      { day: "2026-10-24", start: utc("2026-10-23T23:00:00Z"), end: utc("2026-10-24T23:00:00Z") },
      { day: "2026-10-25", start: utc("2026-10-24T23:00:00Z"), end: utc("2026-10-26T00:00:00Z") },
      { day: "2026-10-26", start: utc("2026-10-26T00:00:00Z"), end: utc("2026-10-27T00:00:00Z") },
    ]);
    // America/New_York began summer time on 2026-03-08 at 2:00: a day of 23 hours.
    const [march8] = localDays(1, utc("2026-03-08T20:00:00Z"), { zone: "America/New_York" });
    expect(march8 && [march8.day, (march8.end - march8.start) / HOUR]).toEqual(["2026-03-08", 23]);
  });

  it("start at a zone's midnight on either side of UTC's date, and at a fixed offset without a zone", () => {
    // Kathmandu is 5:45 ahead: at 20:00 UTC it is already the next day there.
    expect(localDays(1, utc("2026-12-04T20:00:00Z"), { zone: "Asia/Kathmandu" })).toEqual([
      { day: "2026-12-05", start: utc("2026-12-04T18:15:00Z"), end: utc("2026-12-05T18:15:00Z") },
    ]);
    expect(localDays(2, utc("2026-10-26T12:00:00Z"), { offsetMinutes: -60 }).map((d) => (d.end - d.start) / HOUR)).toEqual([24, 24]);
  });
});

describe("daily activity by time zone", () => {
  it("counts each hit on the local day it fell in, a day that a daylight saving change lengthens included", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { sentAt: new Date(Date.now() - 3 * DAY).toISOString() });
    // Kathmandu's midnight, a quarter past a UTC hour, splits today from yesterday there.
    const [yesterday, today] = localDays(2, Date.now(), { zone: "Asia/Kathmandu" });
    const at = [(yesterday?.end ?? 0) - MINUTE, (yesterday?.end ?? 0) + MINUTE, Math.min(Date.now(), (today?.start ?? 0) + 1)];
    await env.DB.batch(
      at.map((occurred, n) =>
        env.DB.prepare(
          `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label)
           VALUES (?1, ?2, ?3, 'open', ?4, ?4, 'human', 'human')`,
        ).bind(`e-day-${n}`, account.accountId, message.id, occurred),
      ),
    );
    const { status, body } = await account.json<DailyActivityResponse>("GET", "/api/activity/daily?days=7&zone=Asia/Kathmandu");
    expect(status).toBe(200);
    expect(body.days.map((d) => d.day)).toEqual(localDays(7, Date.now(), { zone: "Asia/Kathmandu" }).map((d) => d.day));
    expect(body.days.slice(-2).map((d) => d.opens)).toEqual([1, 2]);
    expect((await account.json("GET", "/api/activity/daily?zone=Mars/Olympus_Mons")).status).toBe(400);
  });
});

describe("message list filters the dashboard uses", () => {
  it("finds a message by a recipient's name, and filters the replied ones", async () => {
    const account = await createAccount();
    const ann = await sentMessage(account, { subject: "Intro", recipients: [{ email: "a.k@acme.example", name: "Ann Kowalski" }] });
    const other = await sentMessage(account, { subject: "Other", recipients: [{ email: "bob@acme.example", name: "Bob" }] });
    await reply(account, other.threadId ?? "", "bob@acme.example", "msg-f:bob");
    const ids = async (query: string) =>
      (await account.json<MessagesResponse>("GET", `/api/messages?${query}`)).body.messages.map((m) => m.id);
    expect(await ids("q=kowal")).toEqual([ann.id]);
    expect(await ids("state=replied")).toEqual([other.id]);
  });
});

describe("migration 0021", () => {
  it("keeps on each email the time of its latest reply, found before it and recorded after it, and none on a deleted email", async () => {
    const db = env.MIGRATION_TEST_DB;
    const signal = (messageId: string, kind: string, sourceId: string, at: number) =>
      db
        .prepare(
          "INSERT INTO signals (account_id, message_id, kind, source_id, email, occurred_at, inserted_at) VALUES ('acct-r', ?, ?, ?, 'a@acme.example', ?, ?)",
        )
        .bind(messageId, kind, sourceId, at, at);
    // Rows as the schema up to 0020 wrote them: two replies, an unsubscribe alone, nothing, and a deleted email's
    // tombstone with a reply recorded as it was being deleted.
    await migrateRowsAcross("0021_message_last_reply.sql", [
      blankAccount("acct-r"),
      ...["answered", "unsubscribed", "quiet", "deleted"].map((id) =>
        db
          .prepare("INSERT INTO messages (id, account_id, registered_at, updated_at, deleted_at) VALUES (?1, 'acct-r', 0, 0, ?2)")
          .bind(id, id === "deleted" ? 1 : null),
      ),
      signal("answered", "reply", "msg-f:1", 200),
      signal("answered", "reply", "msg-f:2", 100),
      signal("unsubscribed", "unsubscribe", "u:unsubscribed", 100),
      signal("deleted", "reply", "msg-f:3", 100),
    ]);
    const kept = async () => {
      const { results } = await db
        .prepare("SELECT id, last_reply_at FROM messages WHERE account_id = 'acct-r'")
        .all<{ id: string; last_reply_at: number | null }>();
      return Object.fromEntries(results.map((row) => [row.id, row.last_reply_at]));
    };
    expect(await kept()).toEqual({ answered: 200, unsubscribed: null, quiet: null, deleted: null });

    // Replies recorded since, by any code: the latest time stays, whatever the order they come in.
    await db.batch([
      signal("answered", "reply", "msg-f:4", 150),
      signal("quiet", "reply", "msg-f:5", 300),
      signal("quiet", "reply", "msg-f:6", 250),
      signal("unsubscribed", "bounce", "msg-f:7", 400),
      signal("deleted", "reply", "msg-f:8", 500),
    ]);
    expect(await kept()).toEqual({ answered: 200, unsubscribed: null, quiet: 300, deleted: null });

    // The code before this one deletes an email as it did (its tombstone's UPDATE without the new columns): its reply's
    // time and its campaign go all the same.
    await db.prepare("UPDATE messages SET campaign = 'Q3' WHERE id = 'quiet'").run();
    await db.prepare("UPDATE messages SET subject = NULL, deleted_at = 600, updated_at = 600 WHERE id = 'quiet'").run();
    const { results } = await db.prepare("SELECT last_reply_at, campaign FROM messages WHERE id = 'quiet'").all();
    expect(results).toEqual([{ last_reply_at: null, campaign: null }]);
  });
});
