// The feed state kept in parts (feed-storage.ts), with an in-memory storage area standing in for browser.storage.local:
// read back as written, a steady poll writing its head and the chunks it changed rather than the whole state, a state
// stored whole by the version before read and kept (no notification twice after the update), and a read that a write
// came between read again.
import { describe, expect, it } from "vitest";
import type { FeedEvent } from "../../../shared/api";
import { DAY, MINUTE } from "../../../test/durations";
import { event, feed, NOW, poller, storedFeed } from "./feed.test-support";
import { dayKey, type FeedState, MAX_COUNTED_PAST, MAX_NOTIFIED, notificationKey, storedNotificationKey } from "./feed-state";
import { chunkKey, chunksOf, FEED_KEY, type FeedArea, feedWrite, LAYOUT_VERSION, readStoredFeed } from "./feed-storage";
import { memoryArea } from "./memory-area";
import { applyEvents, emptyFeedState, MAX_ACTIVITY, NEWS_KEY, readFeedState, summarize } from "./notifications";

const ACCOUNT = "http://t acct1";
/** A tracking id's length (shared/protocol.ts TRACKING_ID_PATTERN): the activity's items as large as the rep's. */
const trackingId = (n: number) => `abcdefghijklmnop.1.${String(n).padStart(22, "0")}.AAAAAAAAAAAAAAAAAAAAAA`;

/** The keys of the chunks in the area, and those its head names. */
function chunksStored(area: ReturnType<typeof memoryArea>): string[] {
  return Object.keys(area.data).filter((key) => key.startsWith(`${FEED_KEY}.`));
}
function chunksNamed(stored: Awaited<ReturnType<typeof readStoredFeed>>): string[] {
  return Object.entries(stored?.layout?.parts ?? {}).flatMap(([name, place]) =>
    (place?.slots ?? []).map((slot) => chunkKey(name as Parameters<typeof chunkKey>[0], slot)),
  );
}

/** A memory area that also counts the bytes of JSON each set was given. */
function measuredArea() {
  const area = memoryArea();
  const bytes: number[] = [];
  const set = area.set;
  area.set = async (items) => {
    bytes.push(JSON.stringify(items).length);
    await set(items);
  };
  return Object.assign(area, { bytes });
}

/**
 * A rep's state after months of steady opens: 10,000 notified keys, the last 1,000 events past the activity's 200
 * counted, 35 days of totals; its feed answered up to the newest activity item.
 */
function fullState(): { state: FeedState; next: number } {
  const activityEvents = Array.from({ length: MAX_ACTIVITY }, (_, i) =>
    event({
      cursor: String(MAX_COUNTED_PAST + i + 1),
      messageId: trackingId(i),
      subject: `Proposal for the Q${(i % 4) + 1} rollout`,
      recipients: [{ email: `buyer${i}@prospect.example`, name: `Buyer ${i}` }],
    }),
  );
  const state: FeedState = {
    ...applyEvents(emptyFeedState(ACCOUNT, NOW - 90 * DAY), activityEvents, { muted: true, now: NOW }).state,
    cursor: String(MAX_COUNTED_PAST + MAX_ACTIVITY),
    correctionsCursor: "0",
    notified: Array.from({ length: MAX_NOTIFIED }, (_, i) => storedNotificationKey(`open:${trackingId(i)}`)),
    countedByCursor: Object.fromEntries(
      Array.from({ length: MAX_COUNTED_PAST }, (_, i) => [String(i + 1), { counted: i % 3 > 0, day: dayKey(NOW - DAY) }]),
    ),
    days: Object.fromEntries(Array.from({ length: 35 }, (_, i) => [dayKey(NOW - i * DAY), { opens: 40, clicks: 9 }])),
  };
  return { state, next: MAX_COUNTED_PAST + MAX_ACTIVITY + 1 };
}

describe("the feed state kept in parts", () => {
  it("reads back what it wrote, its optional fields absent as they were", async () => {
    const area = memoryArea();
    const bare = emptyFeedState(ACCOUNT);
    await area.set(feedWrite(bare, null).items);
    expect(await storedFeed(area)).toStrictEqual(bare);

    const { state } = fullState();
    const full: FeedState = {
      ...state,
      ahead: ["1300", "1302"],
      rearmed: [storedNotificationKey("open:x")],
      summaries: [{ key: "summary:4:open:x", messageId: "x", subjects: ["Pricing"], notes: [{ key: "k", open: true, subject: 0 }] }],
    };
    const previous = await readStoredFeed(area);
    const write = feedWrite(full, previous?.layout ?? null);
    await area.set(write.items);
    await area.remove(write.stale);
    expect(await storedFeed(area)).toStrictEqual(full);
    // Nothing but the head and the chunks it names is left in the area.
    expect(chunksStored(area).sort()).toEqual(chunksNamed(await readStoredFeed(area)).sort());
    const again = feedWrite(full, (await readStoredFeed(area))?.layout ?? null);
    expect(Object.keys(again.items)).toEqual([FEED_KEY]);
    expect(again.stale).toEqual([]);
  });

  it("a steady poll with one new open writes the head and one chunk of each list it changed, not the whole state", async () => {
    const { state, next } = fullState();
    const area = measuredArea();
    await area.set(feedWrite(state, null).items);
    const opened = event({ cursor: String(next), messageId: trackingId(50_000), subject: "A new proposal" });
    const { instance, shown } = poller(area, [opened], { now: () => NOW });
    area.writes.length = 0;
    area.bytes.length = 0;
    expect(await instance.poll()).toBe(1);
    expect(shown.map((note) => note.key)).toEqual([notificationKey(opened)]);

    // What the version before wrote for the same poll: the whole state in one key, and the news.
    const after = await storedFeed(area);
    const whole = JSON.stringify({ [FEED_KEY]: after, [NEWS_KEY]: { at: NOW, threadIds: [opened.threadId] } }).length;
    expect(area.writes).toHaveLength(1);
    const written = area.writes[0] ?? [];
    // The open is notified (notified), the oldest activity item falls off (activity, countedByCursor): the last chunk
    // of each; their oldest elements are skipped in the head, not rewritten.
    for (const list of ["notified", "countedByCursor", "activity"]) {
      expect(written.filter((key) => key.startsWith(`${FEED_KEY}.${list}.`))).toHaveLength(1);
    }
    expect(written.filter((key) => key.startsWith(`${FEED_KEY}.`))).toHaveLength(3);
    expect(area.bytes[0]).toBeLessThan(whole / 10);
    // And the state is the whole state still, bounded as before.
    expect(after.notified).toHaveLength(MAX_NOTIFIED);
    expect(after.notified.at(-1)).toBe(storedNotificationKey(notificationKey(opened)));
    expect(Object.keys(after.countedByCursor ?? {})).toHaveLength(MAX_COUNTED_PAST);
    expect(after.activity).toHaveLength(MAX_ACTIVITY);
    expect(after.activity[0]?.cursor).toBe(opened.cursor);
  });

  it("chunks a list by its elements, not their positions: one dropped at the start or the middle changes one chunk", () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => storedNotificationKey(`open:${i}`));
    const of = { chunkLength: 100, id: (key: string) => key };
    const chunks = chunksOf(keys, of).map((chunk) => JSON.stringify(chunk));
    expect(chunks.length).toBeGreaterThan(5);
    const middle = keys.filter((_, i) => i !== 1_000);
    for (const changed of [[...keys.slice(1), "0123456789abcdef"], middle]) {
      const after = chunksOf(changed, of).map((chunk) => JSON.stringify(chunk));
      expect(after.filter((chunk) => !chunks.includes(chunk)).length).toBeLessThanOrEqual(2);
    }
  });

  it("a state stored whole by the version before is kept: no notification twice, its totals and cursor, then stored in parts", async () => {
    const { state, next } = fullState();
    // The earlier version's one key, a few of its keys stored whole (older still).
    const legacy: FeedState = { ...state, notified: ["open:m-whole", ...state.notified.slice(1)] };
    const area = memoryArea();
    area.data[FEED_KEY] = structuredClone(legacy);
    const reopened = [
      event({ cursor: String(next), messageId: trackingId(9_999) }),
      event({ cursor: String(next + 1), messageId: "m-whole" }),
      event({ cursor: String(next + 2), messageId: trackingId(1) }),
    ];
    const source = feed(reopened);
    const upgraded = poller(area, [], { source });
    expect(await upgraded.instance.poll()).toBe(3);
    expect(upgraded.shown).toEqual([]);
    expect(source.calls).toEqual([legacy.cursor]);
    const stored = await storedFeed(area);
    expect(stored.cursor).toBe(reopened.at(-1)?.cursor);
    expect(summarize(stored, NOW).today).toEqual({ opens: 40 + 3, clicks: 9 });
    // Its keys stored whole read as their hash, as applyEvents reads them.
    expect(stored.notified).toEqual(legacy.notified.map(storedNotificationKey));
    expect(area.data[FEED_KEY]).toHaveProperty("parts");
    // Restarted on the new layout: nothing notified again, a new email's open notified once.
    const fresh = event({ cursor: String(next + 3), messageId: "new" });
    const restarted = poller(area, [], { source: feed([...reopened, fresh]) });
    expect(await restarted.instance.poll()).toBe(1);
    expect(restarted.shown.map((note) => note.key)).toEqual(["open:new"]);
  });

  it("a state stored by a later version in a layout this one cannot read is read as none: the poll starts over, not fails at every poll", async () => {
    const area = memoryArea();
    const before = applyEvents(emptyFeedState(ACCOUNT, NOW), [event({ messageId: "one" })], { muted: false, now: NOW }).state;
    await area.set(feedWrite(before, null).items);
    // The later version's head: its lists' places under another name, which this version's `parts` does not hold.
    const { parts, ...head } = area.data[FEED_KEY] as Record<string, unknown>;
    area.data[FEED_KEY] = { ...head, layoutVersion: LAYOUT_VERSION + 1, parts: {}, lists: parts };
    expect(await readFeedState(area, ACCOUNT)).toBeNull();
    const later = event({ messageId: "two" });
    const source = feed([later]);
    const downgraded = poller(area, [], { source });
    expect(await downgraded.instance.poll()).toBe(1);
    expect(source.calls).toEqual(["0"]);
    expect(downgraded.shown.map((note) => note.key)).toEqual([notificationKey(later)]);
    // Its own layout written over the head: the next poll (a background started again) goes on from it.
    expect(area.data[FEED_KEY]).toMatchObject({ layoutVersion: LAYOUT_VERSION, cursor: later.cursor });
    expect(await poller(area, [], { source }).instance.poll()).toBe(0);
    expect(source.calls).toEqual(["0", later.cursor]);
  });

  it("the head reads, to the version before the parts, which takes it for the whole state, as a state with empty lists: that version goes on polling", async () => {
    const area = memoryArea();
    const before = applyEvents(emptyFeedState(ACCOUNT, NOW), [event({ messageId: "one" })], { muted: false, now: NOW }).state;
    await area.set(feedWrite(before, null).items);
    // What that version did with it at each poll (notifications.ts as of commit 1ab6441): applyEvents on the head as
    // it is stored, reading `notified` and `activity` as this version's applyEvents does.
    const later = event({ messageId: "two" });
    const applied = applyEvents(structuredClone(area.data[FEED_KEY]) as FeedState, [later], { muted: false, now: NOW });
    expect(applied.notes.map((note) => note.key)).toEqual([notificationKey(later)]);
    // It stores the whole state in the head. This version, installed again, reads its cursor and totals, and the lists
    // from the parts, as they were left.
    area.data[FEED_KEY] = { ...applied.state, cursor: later.cursor };
    const again = await storedFeed(area);
    expect([again.cursor, again.days]).toEqual([later.cursor, applied.state.days]);
    expect([again.notified, again.activity]).toEqual([before.notified, before.activity]);
  });

  it("a write between reading the head and its chunks is read again, never mixed", async () => {
    const base = memoryArea();
    const first = applyEvents(emptyFeedState(ACCOUNT, NOW), [event({ messageId: "one" })], { muted: false, now: NOW }).state;
    await base.set(feedWrite(first, null).items);
    const many = Array.from({ length: 40 }, (_, i) => event({ messageId: `later${i}` }));
    const second = applyEvents(first, many, { muted: false, now: NOW }).state;
    let gets = 0;
    const racing: FeedArea = {
      ...base,
      get: async (keys) => {
        // A poll's write (and its removal of the chunks it replaced) lands just after the reader read the head.
        if (++gets === 2) {
          const write = feedWrite(second, (await readStoredFeed(base))?.layout ?? null);
          await base.set(write.items);
          await base.remove(write.stale);
        }
        return base.get(keys);
      },
    };
    expect(await readFeedState(racing, ACCOUNT)).toStrictEqual(second);
  });

  it("removes the chunks it replaced after its write; left by a stop in between, the state reads as written", async () => {
    const area = memoryArea();
    const opens: FeedEvent[] = [];
    let clock = NOW;
    const source = feed(opens);
    const { instance } = poller(area, [], { source, now: () => clock });
    const poll = async (messageId: string) => {
      opens.push(event({ messageId }));
      clock += MINUTE;
      await instance.poll();
    };
    for (let i = 0; i < 30; i++) await poll(`m${i}`);
    expect(chunksStored(area).sort()).toEqual(chunksNamed(await readStoredFeed(area)).sort());
    // The removal fails (the service worker stopped after the write): the state reads as written, and the next write
    // goes on from it.
    const remove = area.remove;
    area.remove = async () => {
      throw new Error("stopped");
    };
    await poll("removal-lost");
    expect((await storedFeed(area)).activity[0]?.messageId).toBe("removal-lost");
    const left = chunksStored(area).length;
    expect(left).toBeGreaterThan(chunksNamed(await readStoredFeed(area)).length);
    // Their keys, which no head names, are free for the next writes' chunks: they do not pile up.
    area.remove = remove;
    await poll("after");
    expect((await storedFeed(area)).activity.map((item) => item.messageId).slice(0, 3)).toEqual(["after", "removal-lost", "m29"]);
    expect(chunksStored(area).length).toBeLessThanOrEqual(left);
  });

  it("writes a changed chunk under a key the stored head does not name: a set cut short before the head changes nothing", async () => {
    const area = memoryArea();
    const before = applyEvents(emptyFeedState(ACCOUNT, NOW), [event({ messageId: "one" })], { muted: false, now: NOW }).state;
    await area.set(feedWrite(before, null).items);
    const after = applyEvents(before, [event({ messageId: "two" })], { muted: false, now: NOW }).state;
    const { items } = feedWrite(after, (await readStoredFeed(area))?.layout ?? null);
    // What a browser that wrote the set's keys one by one, and stopped before the head, would have stored.
    const { [FEED_KEY]: head, ...chunks } = items;
    expect(head).toBeDefined();
    await area.set(chunks);
    expect(await storedFeed(area)).toStrictEqual(before);
  });
});
