// /api/activity: the popup's digest, the follow-up list and the daily chart, on the real migrations and queue.
import { describe, expect, it } from "vitest";
import type { DailyActivityResponse, FollowUpsResponse, MessagesResponse, RecentActivityResponse } from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import { clickLink, createAccount, openPixel, reply, sentMessage, waitForEvents } from "./helpers";

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

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
    expect(body.messages[0]?.threadId).toBe(clicked.threadId);
    expect(body.messages.map((m) => m.id)).not.toContain(young.id);
    expect(body.messages.map((m) => m.id)).not.toContain(tooOld.id);
    // A longer wait leaves out the emails sent since.
    const week = await account.json<FollowUpsResponse>("GET", "/api/activity/follow-ups?days=7");
    expect(week.body.messages.map((m) => m.id)).toEqual([clicked.id]);
    expect(none.id).toBeTruthy();
    expect((await account.json("GET", "/api/activity/follow-ups?days=0")).status).toBe(400);
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
