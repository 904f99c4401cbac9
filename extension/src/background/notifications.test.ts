// The events feed poller's rules with an in-memory storage area standing in for browser.storage.local: the feed
// cursor survives restarts, only the first counted open (and first counted click of each link) notifies, machine
// and sender events never do, and a mute records without notifying.
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { type MessageDetail, UNREGISTERED_HOLD_MS } from "../../../shared/api";
import { MINUTE } from "../../../test/durations";
import { settled } from "../../../test/fake-clock";
import { detailOf } from "../message-detail.test-support";
import { inTimeZone } from "../time-zone.test-support";
import { event, feed, NOW, poller, storedFeed } from "./feed.test-support";
import { MAX_SEPARATE_NOTES } from "./feed-corrections";
import { MAX_NOTIFIED, storedNotificationKey } from "./feed-state";
import { memoryArea } from "./memory-area";
import {
  applyEvents,
  applyPage,
  emptyFeedState,
  FEED_KEY,
  FeedPoller,
  MAX_ACTIVITY,
  MAX_AHEAD,
  MIN_POLL_GAP_MS,
  NEWS_KEY,
  notificationId,
  notificationTarget,
  summarize,
} from "./notifications";

describe("notifications from the events feed", () => {
  it("polls again when the feed releases the event it still holds, not at the next minute", async () => {
    const held = poller(memoryArea(), [event({ cursor: "1" })], { nextAt: new Date(NOW + 41_500).toISOString() });
    await held.instance.poll();
    expect(held.pollsAt).toEqual([NOW + 41_500]);
    // A release time already past (the tracker's clock is ahead): a poll gap later, so it is really asked again.
    const late = poller(memoryArea(), [], { nextAt: new Date(NOW - 5_000).toISOString() });
    await late.instance.poll();
    expect(late.pollsAt).toEqual([NOW + MIN_POLL_GAP_MS]);
    // Nothing held: no extra poll.
    const idle = poller(memoryArea(), [event({ cursor: "1" })]);
    await idle.instance.poll();
    expect(idle.pollsAt).toEqual([]);
  });

  it("notifies the first counted open of a message and the first counted click of each link, never machines, senders or re-opens", () => {
    const events = [
      event({ label: "apple-mpp", counted: false }),
      event({ label: "sender", counted: false }),
      event({}),
      event({ label: "human" }),
      event({ kind: "click", linkIndex: 0, label: "scanner", counted: false }),
      event({ kind: "click", linkIndex: 0, label: "human" }),
      event({ kind: "click", linkIndex: 0, label: "human" }),
      event({ kind: "click", linkIndex: 1, linkUrl: "https://calendly.com/rep/30min", label: "human" }),
      event({ messageId: "m2", subject: null, recipients: [{ email: "a@x.example" }, { email: "b@x.example" }, { email: "c@x.example" }] }),
    ];
    const page = { events, cursor: events.at(-1)?.cursor ?? "0" };
    const { state, notes } = applyPage(emptyFeedState("acct"), page, { muted: false, now: NOW });
    expect(notes.map((n) => n.key)).toEqual(["open:m1", "click:m1:0", "click:m1:1", "open:m2"]);
    expect(notes[0]).toMatchObject({ title: "Opened: Pricing", message: "Carol opened “Pricing”.", threadId: "16f4aa" });
    expect(notes[2]?.message).toBe("Carol clicked calendly.com/rep/30min in “Pricing”.");
    // An email to several people: one pixel and the same links for all of them, so whom it went to, not who opened.
    expect(notes[3]?.message).toBe("Someone on “(no subject)” (to a@x.example, b@x.example +1) opened it.");
    expect(state.cursor).toBe(events.at(-1)?.cursor);
    expect(state.activity[0]?.messageId).toBe("m2");
    expect(state.activity).toHaveLength(events.length);
    expect(summarize(state, NOW)).toMatchObject({ today: { opens: 3, clicks: 3 }, week: { opens: 3, clicks: 3 } });
  });

  it("names no recipient as the one who opened or clicked an email sent to several", () => {
    const team = [{ email: "alice@prospect.example", name: "Alice" }, { email: "bob@prospect.example" }];
    const events = [
      event({ messageId: "m2", recipients: team }),
      event({ messageId: "m2", recipients: team, kind: "click", linkIndex: 0, linkUrl: "https://calendly.com/rep/30min", label: "human" }),
      event({ messageId: "m3", recipients: [] }),
    ];
    const { notes } = applyEvents(emptyFeedState("acct"), events, { muted: false, now: NOW });
    expect(notes.map((n) => n.message)).toEqual([
      "Someone on “Pricing” (to Alice, bob@prospect.example) opened it.",
      "Someone on “Pricing” (to Alice, bob@prospect.example) clicked calendly.com/rep/30min.",
      "Someone opened “Pricing”.",
    ]);
  });

  it("names a clicked link by its destination, short, and by no number; 'a link' when the tracker gave none", () => {
    const team = [
      { email: "alice@prospect.example", name: "Alice" },
      { email: "bob@prospect.example", name: "Bob" },
      { email: "cy@x.example" },
    ];
    const events = [
      // Scheme, "www.", query and fragment left out: the host and path are what the rep recognises.
      event({ kind: "click", linkIndex: 2, linkUrl: "https://www.calendly.com/rep/30min?utm_source=email#book", label: "human" }),
      event({
        kind: "click",
        linkIndex: 0,
        linkUrl: "https://docs.example.com/proposals/acme-2027/pricing-tiers-and-discounts.pdf",
        label: "human",
      }),
      event({ messageId: "m2", recipients: team, kind: "click", linkIndex: 4, linkUrl: "http://example.com/", label: "human" }),
      // A tracker older than linkUrl, and a click of a link its email did not register.
      event({ messageId: "m3", kind: "click", linkIndex: 1, label: "human" }),
      event({ messageId: "m4", recipients: team, kind: "click", linkIndex: 1, linkUrl: null, label: "human" }),
    ];
    const { notes } = applyEvents(emptyFeedState("acct"), events, { muted: false, now: NOW });
    expect(notes.map((n) => n.message)).toEqual([
      "Carol clicked calendly.com/rep/30min in “Pricing”.",
      "Carol clicked docs.example.com/proposals/acme-2027/pr… in “Pricing”.",
      "Someone on “Pricing” (to Alice, Bob +1) clicked example.com.",
      "Carol clicked a link in “Pricing”.",
      "Someone on “Pricing” (to Alice, Bob +1) clicked a link.",
    ]);
  });

  it("never notifies an event the tracker released with notify false, and still notifies the next one that may", () => {
    // An open of an email the tracker could not finish labelling (never registered in time): counted, not notified.
    const events = [event({ notify: false }), event({ notify: true })];
    const { notes, state } = applyEvents(emptyFeedState("acct"), events, { muted: false, now: NOW });
    expect(notes).toHaveLength(1);
    expect(notes[0]?.key).toBe("open:m1");
    expect(state.activity).toHaveLength(2);
    expect(applyEvents(emptyFeedState("acct"), [event({ notify: false })], { muted: false, now: NOW }).notes).toEqual([]);
  });

  it("remembers what it notified for 10,000 emails and links, keys stored short, and reads keys stored whole before", () => {
    const opened = (n: number) => event({ messageId: `m${n}` });
    // A state written by the version that kept whole keys: m0 was notified then.
    const before = { ...emptyFeedState("acct"), notified: ["open:m0"] };
    const many = Array.from({ length: MAX_NOTIFIED - 1 }, (_, n) => opened(n + 1));
    const { state, notes } = applyEvents(before, many, { muted: false, now: NOW });
    expect(notes).toHaveLength(MAX_NOTIFIED - 1);
    expect(state.notified).toHaveLength(MAX_NOTIFIED);
    expect(state.notified.every((key) => /^[0-9a-f]{16}$/.test(key))).toBe(true);
    expect(new Set(state.notified).size).toBe(MAX_NOTIFIED);
    // Every one of them, the oldest included, opened again: no notification.
    expect(applyEvents(state, [opened(0), opened(1), opened(MAX_NOTIFIED - 1)], { muted: false, now: NOW }).notes).toEqual([]);
    expect(storedNotificationKey("open:m0")).toBe(state.notified[0]);
    expect(storedNotificationKey(state.notified[0] ?? "")).toBe(state.notified[0]);
  });

  it("keeps the activity bounded, newest first", () => {
    const events = Array.from({ length: MAX_ACTIVITY + 20 }, () => event({ label: "apple-mpp", counted: false }));
    const { state } = applyEvents(emptyFeedState("acct"), events, { muted: false, now: NOW });
    expect(state.activity).toHaveLength(MAX_ACTIVITY);
    expect(state.activity[0]?.cursor).toBe(events.at(-1)?.cursor);
  });

  it("persists the cursor: a restarted background (a new poller on the same storage) neither repeats nor skips", async () => {
    const area = memoryArea();
    const events = [event({ messageId: "a" }), event({ messageId: "b" })];
    const first = poller(area, events);
    expect(await first.instance.poll()).toBe(2);
    expect(first.shown.map((n) => n.key)).toEqual(["open:a", "open:b"]);
    expect(first.news).toEqual([["16f4aa"]]);

    events.push(event({ messageId: "a" }), event({ messageId: "c" }));
    const restarted = poller(area, events);
    expect(await restarted.instance.poll()).toBe(2);
    expect(restarted.calls[0]).toBe(events[1]?.cursor);
    // "a" opened again: no second notification; "c" is new.
    expect(restarted.shown.map((n) => n.key)).toEqual(["open:c"]);
    expect(await restarted.instance.poll()).toBe(0);
    expect(restarted.shown).toHaveLength(1);
    expect((await storedFeed(area)).cursor).toBe(events.at(-1)?.cursor);
  });

  it("a message whose data the rep deleted leaves the activity and the totals, even while the tracker does not answer", async () => {
    const area = memoryArea();
    const events = [
      event({ messageId: "kept" }),
      event({ messageId: "deleted" }),
      event({ messageId: "deleted", kind: "click", linkIndex: 0 }),
      event({ messageId: "deleted", label: "apple-mpp", counted: false }),
    ];
    const working = feed(events);
    let answering = true;
    const source = {
      calls: working.calls,
      fetchEvents: async (after: string, limit: number) => {
        if (!answering) throw new Error("cannot reach the tracker");
        return working.fetchEvents(after, limit);
      },
    };
    const { instance } = poller(area, events, { source });
    expect(await instance.poll()).toBe(4);
    expect(summarize(await storedFeed(area), NOW).today).toEqual({ opens: 2, clicks: 1 });
    // The tracker stops answering right after the deletion went through.
    answering = false;
    await instance.forget("deleted");
    const state = await storedFeed(area);
    expect(state.activity.map((a) => a.messageId)).toEqual(["kept"]);
    expect(summarize(state, NOW).today).toEqual({ opens: 1, clicks: 0 });
  });

  it("two deletions at once poll one at a time: nothing is notified twice, and both messages leave the activity", async () => {
    const area = memoryArea();
    const events = [event({ cursor: "1", messageId: "a" }), event({ cursor: "2", messageId: "b" })];
    const working = feed(events);
    // The tracker answers after a moment, as over the network: a moment of vitest's fake clock (test/fake-clock.ts).
    const source = {
      calls: working.calls,
      fetchEvents: async (after: string, limit: number) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return working.fetchEvents(after, limit);
      },
    };
    let clock = NOW;
    const { instance, shown } = poller(area, events, { source, now: () => clock });
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    await settled(instance.poll());
    clock += MINUTE;
    events.push(event({ cursor: "3", messageId: "c" }));
    // The rep deletes two emails' data in a row (two conversation panels): two forgets at once.
    await settled(Promise.all([instance.forget("a"), instance.forget("b")]));
    expect(shown.map((n) => n.messageId)).toEqual(["a", "b", "c"]);
    expect((await storedFeed(area)).activity.map((a) => a.messageId)).toEqual(["c"]);
    // A deletion while a poll runs: taken out by that poll or by one after it, never beside it.
    events.push(event({ cursor: "4", messageId: "d" }));
    clock += MINUTE;
    await settled(Promise.all([instance.poll(), instance.forget("c")]));
    expect(shown.map((n) => n.messageId)).toEqual(["a", "b", "c", "d"]);
    expect((await storedFeed(area)).activity.map((a) => a.messageId)).toEqual(["d"]);
  });

  it("the notifications switch mutes: events are recorded (and not notified later when unmuted)", async () => {
    const area = memoryArea();
    const events = [event({ messageId: "muted" })];
    const muted = poller(area, events, { muted: true });
    await muted.instance.poll();
    expect(muted.shown).toEqual([]);
    expect((await storedFeed(area)).activity).toHaveLength(1);
    events.push(event({ messageId: "muted", label: "human" }), event({ messageId: "loud" }));
    const unmuted = poller(area, events);
    await unmuted.instance.poll();
    expect(unmuted.shown.map((n) => n.key)).toEqual(["open:loud"]);
  });

  it("the first poll of an account does not notify old history; another account starts its own cursor", async () => {
    const area = memoryArea();
    const events = [event({ messageId: "old", at: new Date(NOW - 3 * 3600_000).toISOString() }), event({ messageId: "fresh" })];
    const first = poller(area, events);
    await first.instance.poll();
    expect(first.shown.map((n) => n.key)).toEqual(["open:fresh"]);
    const other = poller(area, events, { account: "http://t acct2" });
    await other.instance.poll();
    expect(other.calls[0]).toBe("0");
  });

  it("old history longer than one poll can read is not notified on the next polls either", async () => {
    const area = memoryArea();
    const old = new Date(NOW - 3 * 3600_000).toISOString();
    const events = Array.from({ length: 1050 }, (_, i) => event({ messageId: `old${i}`, at: old }));
    let now = NOW;
    const first = poller(area, events, { now: () => now });
    expect(await first.instance.poll()).toBe(1000);
    expect(first.shown).toEqual([]);
    now += MINUTE;
    events.push(event({ messageId: "fresh", at: new Date(now).toISOString() }));
    expect(await first.instance.poll()).toBe(51);
    expect(first.shown.map((n) => n.key)).toEqual(["open:fresh"]);
    expect((await storedFeed(area)).newsAfter).toBe(NOW);
    // A state stored before `newsAfter` existed gets it at its next poll: its old history stays quiet too.
    const legacy = memoryArea();
    legacy.data[FEED_KEY] = { ...emptyFeedState("http://t acct1"), cursor: events[200]?.cursor };
    const upgraded = poller(legacy, events, { now: () => now });
    await upgraded.instance.poll();
    expect(upgraded.shown.map((n) => n.key)).toEqual(["open:fresh"]);
  });

  it("stores a poll of several pages in one write, with the news for the Gmail tabs, before notifying; a failed page keeps the ones read", async () => {
    const area = memoryArea();
    const events = Array.from({ length: 250 }, (_, i) => event({ messageId: `p${i}`, threadId: `t${i % 3}` }));
    let writesAtFirstNote = -1;
    const instance = new FeedPoller({
      area,
      account: async () => "acct",
      fetchEvents: feed(events).fetchEvents,
      muted: async () => false,
      show: async () => {
        if (writesAtFirstNote < 0) writesAtFirstNote = area.writes.length;
      },
      news: () => undefined,
      pollAt: () => undefined,
      now: () => NOW,
    });
    expect(await instance.poll()).toBe(250);
    // One set: the state's head and chunks (feed-storage.ts) and the news.
    expect(area.writes).toHaveLength(1);
    expect(area.writes[0]).toEqual(expect.arrayContaining([FEED_KEY, NEWS_KEY]));
    expect(writesAtFirstNote).toBe(1);
    expect((area.data[NEWS_KEY] as { threadIds: string[] }).threadIds.sort()).toEqual(["t0", "t1", "t2"]);

    const broken = memoryArea();
    let pages = 0;
    const source = feed(events);
    const failing = new FeedPoller({
      area: broken,
      account: async () => "acct",
      fetchEvents: async (after, limit) => {
        if (++pages === 2) throw new Error("cannot reach the tracker");
        return source.fetchEvents(after, limit);
      },
      muted: async () => false,
      show: async () => undefined,
      news: () => undefined,
      pollAt: () => undefined,
      now: () => NOW,
    });
    await expect(failing.poll()).rejects.toThrow("cannot reach the tracker");
    expect((await storedFeed(broken)).cursor).toBe(events[99]?.cursor);
  });

  it("a failed notification does not stop the poll, and concurrent polls share one run", async () => {
    const area = memoryArea();
    const source = feed([event({ messageId: "x" }), event({ messageId: "y" })]);
    const shown: string[] = [];
    const instance = new FeedPoller({
      area,
      account: async () => "acct",
      fetchEvents: source.fetchEvents,
      muted: async () => false,
      show: async (note) => {
        if (note.messageId === "x") throw new Error("no permission");
        shown.push(note.key);
      },
      news: () => undefined,
      pollAt: () => undefined,
      now: () => NOW,
    });
    const [a, b] = await Promise.all([instance.poll(), instance.poll()]);
    expect([a, b]).toEqual([2, 2]);
    expect(source.calls).toEqual(["0"]);
    expect(shown).toEqual(["open:y"]);
  });
});

describe("many notifications at once", () => {
  it("a poll that brings more than a few (a weekend closed) shows one summary, and nothing of it again at the next poll", async () => {
    const area = memoryArea();
    const subjects = ["Pricing", "Demo", "Renewal", "Intro", "Contract"];
    const events = [
      ...Array.from({ length: 10 }, (_, i) => event({ messageId: `m${i}`, subject: subjects[i % 5] as string })),
      event({ messageId: "m0", kind: "click", linkIndex: 0, label: "human" }),
      event({ messageId: "m9", kind: "click", linkIndex: 2, label: "human", subject: "Contract" }),
    ];
    const source = feed(events);
    const first = poller(area, events, { source });
    await first.instance.poll();
    expect(first.shown).toEqual([
      {
        key: "summary:12:click:m9:2",
        threadId: null, // a click on it opens the Sent list (gmailThreadUrl)
        messageId: "m9",
        title: "10 emails opened, 2 links clicked",
        message: "“Contract”, “Pricing” and 3 other emails.",
      },
    ]);
    // Every event is in the activity, and each counts as notified: the next poll brings only what is new.
    expect((await storedFeed(area)).activity).toHaveLength(12);
    events.push(event({ messageId: "m10", subject: "Follow-up" }));
    const next = poller(area, events, { source, now: () => NOW + MINUTE });
    await next.instance.poll();
    expect(next.shown.map((n) => n.title)).toEqual(["Opened: Follow-up"]);
  });

  it("up to MAX_SEPARATE_NOTES from one poll are each shown on their own", async () => {
    const events = Array.from({ length: MAX_SEPARATE_NOTES }, (_, i) => event({ messageId: `s${i}` }));
    const { instance, shown } = poller(memoryArea(), events);
    await instance.poll();
    expect(shown.map((n) => n.key)).toEqual(["open:s0", "open:s1", "open:s2"]);
  });

  it("a summary of one kind names only it, and two emails by their subjects", async () => {
    const events = Array.from({ length: 4 }, (_, i) => event({ messageId: `o${i}`, subject: i % 2 ? "Demo" : null }));
    const { instance, shown } = poller(memoryArea(), events);
    await instance.poll();
    expect(shown.map(({ title, message }) => ({ title, message }))).toEqual([
      { title: "4 emails opened", message: "“Demo”, “(no subject)”." },
    ]);
  });
});

describe("events the tracker still holds", () => {
  it("notifies what is released behind a held event at once, and nothing twice when the held one comes and the cursor passes both", async () => {
    const area = memoryArea();
    // An open of an email not registered (yet), then a real first open of another one.
    const unregistered = event({ messageId: "forwarded", notify: false });
    const real = event({ messageId: "proposal", notify: true });
    const events = [unregistered, real];
    const held = new Set([unregistered.cursor]);
    const source = feed(events, null, held);
    let now = NOW;
    const { instance, shown } = poller(area, [], { source, now: () => now });
    // Two Gmail tabs gaining focus at once: one poll.
    expect(await Promise.all([instance.poll(), instance.poll()])).toEqual([1, 1]);
    expect(shown.map((n) => n.key)).toEqual(["open:proposal"]);
    const stored = () => storedFeed(area);
    expect(await stored()).toMatchObject({ cursor: "0", ahead: [real.cursor] });
    expect(summarize(await stored(), NOW).today.opens).toBe(1);

    // The next poll (the minute alarm): the same answer, nothing new.
    now += MINUTE;
    expect(await instance.poll()).toBe(0);
    expect(shown).toHaveLength(1);
    expect((await stored()).activity).toHaveLength(1);

    // The held one is released (its email stayed unregistered: notify false); both come in `events`.
    held.clear();
    now += MINUTE;
    expect(await instance.poll()).toBe(1);
    expect(shown).toHaveLength(1);
    expect(await stored()).toMatchObject({ cursor: real.cursor, ahead: [] });
    expect((await stored()).activity.map((a) => a.messageId)).toEqual(["forwarded", "proposal"]);
    expect(summarize(await stored(), NOW).today.opens).toBe(2);
    expect(source.calls).toEqual(["0", "0", "0"]);
  });

  it("a restarted background resumes from the stored cursor and what it took ahead: a label-pending event, then final ones", async () => {
    const area = memoryArea();
    const pending = event({ messageId: "a", kind: "click", linkIndex: 0, label: "human" });
    const final = [event({ messageId: "b" }), event({ messageId: "c", kind: "click", linkIndex: 1, label: "human" })];
    const events = [pending, ...final];
    const held = new Set([pending.cursor]);
    const source = feed(events, null, held);
    const before = poller(area, [], { source });
    expect(await before.instance.poll()).toBe(2);
    expect(before.shown.map((n) => n.key)).toEqual(["open:b", "click:c:1"]);

    // The service worker is stopped and started again; the click's label is final now, and a new open comes.
    held.clear();
    events.push(event({ messageId: "d" }));
    const after = poller(area, [], { source });
    expect(await after.instance.poll()).toBe(2);
    expect(after.shown.map((n) => n.key)).toEqual(["click:a:0", "open:d"]);
    expect(source.calls).toEqual(["0", "0"]);
    const state = await storedFeed(area);
    expect(state).toMatchObject({ cursor: events.at(-1)?.cursor, ahead: [] });
    // Newest taken first.
    expect(state.activity.map((a) => a.messageId)).toEqual(["d", "a", "c", "b"]);
    expect(summarize(state, NOW).today).toEqual({ opens: 2, clicks: 2 });
    // And again: nothing new, nothing shown.
    const again = poller(area, [], { source });
    expect(await again.instance.poll()).toBe(0);
    expect(again.shown).toEqual([]);
  });

  it("takes at most MAX_AHEAD events ahead; the rest wait for the cursor, later but never twice", () => {
    const state = { ...emptyFeedState("acct"), ahead: Array.from({ length: MAX_AHEAD }, (_, i) => String(1000 + i)) };
    const extra = event({ cursor: String(5000), messageId: "late" });
    const full = applyPage(state, { events: [], ahead: [extra], cursor: "0" }, { muted: false, now: NOW });
    expect(full.fresh).toEqual([]);
    expect(full.state.ahead).toHaveLength(MAX_AHEAD);
    // The cursor passes what was taken: forgotten, and the one left behind comes once through `events`.
    const passed = applyPage(full.state, { events: [extra], cursor: extra.cursor }, { muted: false, now: NOW });
    expect(passed.fresh).toEqual([extra]);
    expect(passed.state.ahead).toEqual([]);
    expect(passed.notes.map((n) => n.key)).toEqual(["open:late"]);
  });
});

describe("a registration that reached the tracker after the feed released its hits", () => {
  const sentAt = NOW - 20 * MINUTE;
  const openedAt = sentAt + MINUTE;
  /** The feed's release of the open 5 min after it, its email not registered then: counted and notified for nothing. */
  const released = () => event({ cursor: "1", label: "human", counted: false, notify: false, at: new Date(openedAt).toISOString() });
  /** The email's detail once registered: the open, and a click on its one link, both before the registration. */
  const registeredDetail = (clickedAt: number | null = null) =>
    detailOf("m1", {
      threadId: "16f4aa",
      subject: "Pricing",
      recipients: [{ email: "carol@prospect.example", name: "Carol" }],
      openCount: 1,
      opens: [
        { at: new Date(openedAt).toISOString(), label: "human", place: null, client: null, device: null },
        { at: new Date(openedAt - 30_000).toISOString(), label: "scanner", place: null, client: null, device: null },
      ],
      links: [
        {
          index: 0,
          url: "https://calendly.com/rep/30min",
          clicks: clickedAt === null ? 0 : 1,
          uniqueClicks: clickedAt === null ? 0 : 1,
          clickTimes: clickedAt === null ? [] : [new Date(clickedAt).toISOString()],
          otherClicks: [],
        },
      ],
    });

  it("notifies the first counted open the feed gave without a notification, once: not again at the next poll, nor after a restart", async () => {
    const area = memoryArea();
    let now = openedAt + UNREGISTERED_HOLD_MS;
    const details: string[] = [];
    const detail = async (id: string) => {
      details.push(id);
      return registeredDetail();
    };
    const events = [released()];
    const source = feed(events);
    const background = () => poller(area, events, { now: () => now, source, detail });
    const first = background();
    expect(await first.instance.poll()).toBe(1);
    expect(first.shown).toEqual([]);

    // The outbox delivers the registration 20 minutes after the send (a tracker down, a refusal retried).
    now = NOW;
    await first.instance.registered("m1", sentAt, { openCount: 1, clickCount: 0 });
    expect(details).toEqual(["m1"]);
    expect(first.shown.map((n) => [n.key, n.title, n.message])).toEqual([["open:m1", "Opened: Pricing", "Carol opened “Pricing”."]]);

    // The next poll, a later open (no re-open notifies), the same delivery told again, a restarted background: nothing more.
    now += MIN_POLL_GAP_MS;
    events.push(event({ cursor: "2", at: new Date(now).toISOString(), notify: true }));
    expect(await first.instance.poll()).toBe(1);
    await first.instance.registered("m1", sentAt, { openCount: 2, clickCount: 0 });
    const restarted = background();
    now += MIN_POLL_GAP_MS;
    await restarted.instance.registered("m1", sentAt, { openCount: 2, clickCount: 0 });
    expect(await restarted.instance.poll()).toBe(0);
    expect([...first.shown, ...restarted.shown].map((n) => n.key)).toEqual(["open:m1"]);
  });

  it("notifies a click released before the registration too; a hit the feed still holds is left to it, and a registration in time reads nothing", async () => {
    const area = memoryArea();
    const registeredAt = NOW;
    // Clicked 4 minutes before the registration: the feed held it for the registration, and notifies it itself.
    const { instance, shown } = poller(area, [], {
      now: () => registeredAt,
      detail: async () => registeredDetail(registeredAt - 4 * MINUTE),
    });
    await instance.registered("m1", sentAt, { openCount: 1, clickCount: 1 });
    expect(shown.map((n) => n.key)).toEqual(["open:m1"]);
    const clicked = poller(memoryArea(), [], { now: () => registeredAt, detail: async () => registeredDetail(openedAt + 1_000) });
    await clicked.instance.registered("m1", sentAt, { openCount: 1, clickCount: 1 });
    expect(clicked.shown.map((n) => [n.key, n.message])).toEqual([
      ["open:m1", "Carol opened “Pricing”."],
      ["click:m1:0", "Carol clicked calendly.com/rep/30min in “Pricing”."],
    ]);

    // Registered within the hold after the send, or with nothing counted: the feed notifies all, the detail is not read.
    const unread = async (): Promise<MessageDetail> => {
      throw new Error("the detail was read");
    };
    const inTime = poller(memoryArea(), [], { now: () => registeredAt, detail: unread });
    await inTime.instance.registered("m1", registeredAt - UNREGISTERED_HOLD_MS + 1, { openCount: 1, clickCount: 0 });
    await inTime.instance.registered("m1", sentAt, { openCount: 0, clickCount: 0 });
    expect(inTime.shown).toEqual([]);
  });

  it("a poll the tracker answers says so (the outbox is hurried then); a failed one does not", async () => {
    let answered = 0;
    const count = () => {
      answered += 1;
    };
    const { instance } = poller(memoryArea(), [event({ cursor: "1" })], { answered: count });
    await instance.poll();
    expect(answered).toBe(1);
    const failing = new FeedPoller({
      area: memoryArea(),
      account: async () => "acct",
      fetchEvents: async () => {
        throw new Error("cannot reach the tracker");
      },
      muted: async () => false,
      show: async () => undefined,
      news: () => undefined,
      pollAt: () => undefined,
      answered: count,
    });
    await expect(failing.poll()).rejects.toThrow("cannot reach the tracker");
    expect(answered).toBe(1);
  });
});

describe("poll gap", () => {
  it("a poll within the gap answers from the last one without a request; after it, asks again; a failure is answered again", async () => {
    const area = memoryArea();
    let now = NOW;
    const events = [event({ messageId: "g1" })];
    const { instance, calls } = poller(area, events, { now: () => now });
    expect(await instance.poll()).toBe(1);
    now += MIN_POLL_GAP_MS - 1;
    events.push(event({ messageId: "g2" }));
    expect(await instance.poll()).toBe(0);
    expect(calls).toHaveLength(1);
    now += 1;
    expect(await instance.poll()).toBe(1);
    expect(calls).toHaveLength(2);

    let fail = true;
    const failing = new FeedPoller({
      area: memoryArea(),
      account: async () => "acct",
      fetchEvents: async () => {
        if (fail) throw new Error("cannot reach the tracker");
        return { events: [], cursor: "0" };
      },
      muted: async () => false,
      show: async () => undefined,
      news: () => undefined,
      pollAt: () => undefined,
      now: () => now,
    });
    await expect(failing.poll()).rejects.toThrow("cannot reach the tracker");
    fail = false;
    await expect(failing.poll()).rejects.toThrow("cannot reach the tracker");
    now += MIN_POLL_GAP_MS;
    expect(await failing.poll()).toBe(0);
  });
});

describe("totals", () => {
  it("the week counts seven calendar days, also across a daylight saving change", async () => {
    await inTimeZone("Europe/Berlin", () => {
      // 2026-03-30 00:30 in Berlin: the day before (the 29th, when clocks went forward) was 23 hours long.
      const now = new Date(2026, 2, 30, 0, 30).getTime();
      const state = {
        ...emptyFeedState("acct"),
        days: { "2026-03-30": { opens: 1, clicks: 0 }, "2026-03-29": { opens: 2, clicks: 1 }, "2026-03-24": { opens: 4, clicks: 0 } },
      };
      expect(summarize(state, now)).toMatchObject({ today: { opens: 1, clicks: 0 }, week: { opens: 7, clicks: 1 } });
    });
  });
});

describe("notification ids", () => {
  it("carry the thread and the sending account, and read back those of notifications shown before either was kept", () => {
    const account = { path: "/mail/u/1/", address: "rep@acme.example" };
    const id = notificationId({ threadId: "16f4", key: "open:abc.1.def" }, account);
    expect(notificationTarget(id)).toEqual({ threadId: "16f4", account });
    expect(notificationTarget(notificationId({ threadId: null, key: "summary:4:open:x" }, { path: "/mail/u/0/", address: null }))).toEqual({
      threadId: null,
      account: { path: "/mail/u/0/", address: null },
    });
    // Shown before the address was kept ("mt|<thread>|<key>|<path>"), and before the account was ("mt|<thread>|<key>").
    expect(notificationTarget("mt|16f4|open:abc|/mail/u/2/")).toEqual({ threadId: "16f4", account: { path: "/mail/u/2/", address: null } });
    expect(notificationTarget("mt|16f4|open:abc")).toEqual({ threadId: "16f4", account: { path: "/mail/u/0/", address: null } });
    expect(notificationTarget("mailtracker-outbox")).toBeNull();
  });
});
