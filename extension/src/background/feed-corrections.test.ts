// The feed's corrections of released events (feed-corrections.ts), alone and through the poller, with an in-memory
// storage area standing in for browser.storage.local: labels and totals corrected once, notifications withdrawn,
// given again or updated in place, and the corrections' cursor kept across restarts.
import { describe, expect, it } from "vitest";
import type { FeedCorrection, FeedEvent } from "../../../shared/api";
import { DAY, MINUTE } from "../../../test/durations";
import { event, feed, NOW, poller, storedFeed } from "./feed.test-support";
import { applyCorrections, MAX_SEPARATE_NOTES, type Withdrawal } from "./feed-corrections";
import { dayKey, MAX_COUNTED_PAST, NEWS_WINDOW_MS, type Note } from "./feed-state";
import { memoryArea } from "./memory-area";
import { applyEvents, applyPage, emptyFeedState, FEED_KEY, MAX_ACTIVITY, summarize } from "./notifications";

describe("corrections from the feed", () => {
  /** The event as the tracker gives it again in a correction: the same event, its label now `label`. */
  function corrected(of: FeedEvent, label: FeedEvent["label"], cursor: string, partial: Partial<FeedEvent> = {}): FeedCorrection {
    const counted = label === "human" || label === "gmail-proxy";
    return { cursor, event: { ...of, label, counted, notify: counted, ...partial } };
  }

  it("an open notified as a reader's that turns out a scanner's: out of the totals, its label in the activity, its notification withdrawn", () => {
    const open = event({ messageId: "sandboxed", label: "human" });
    const other = event({ messageId: "read" });
    const first = applyEvents(emptyFeedState("acct"), [open, other], { muted: false, now: NOW });
    expect(first.notes.map((n) => n.key)).toEqual(["open:sandboxed", "open:read"]);
    expect(summarize(first.state, NOW).today).toEqual({ opens: 2, clicks: 0 });

    const { state, notes, withdrawn } = applyCorrections(first.state, [corrected(open, "scanner", "1")], { muted: false, now: NOW });
    expect(withdrawn).toEqual([{ key: "open:sandboxed", threadId: open.threadId, messageId: "sandboxed" }]);
    expect(notes).toEqual([]);
    expect(summarize(state, NOW).today).toEqual({ opens: 1, clicks: 0 });
    expect(state.activity.map((a) => [a.messageId, a.label, a.counted])).toEqual([
      ["read", "gmail-proxy", true],
      ["sandboxed", "scanner", false],
    ]);
    // The same correction again (a poll repeated after a crash before its write): nothing more moves.
    const again = applyCorrections(state, [corrected(open, "scanner", "1")], { muted: false, now: NOW });
    expect([again.state, again.notes, again.withdrawn]).toEqual([state, [], []]);
    // The withdrawn key notifies again: the reader's own open later is the email's first real one.
    const real = event({ messageId: "sandboxed", label: "gmail-proxy" });
    const later = applyEvents(state, [real], { muted: false, now: NOW });
    expect(later.notes.map((n) => n.message)).toEqual(["Carol opened “Pricing”."]);
    expect(summarize(later.state, NOW).today).toEqual({ opens: 2, clicks: 0 });
    // Withdrawn a second time (relabelled back and forth), the key stays notified: at most two, never a stream.
    const again2 = applyCorrections(later.state, [corrected(real, "scanner", "2")], { muted: false, now: NOW });
    expect(again2.withdrawn.map((w) => w.key)).toEqual(["open:sandboxed"]);
    const third = applyEvents(again2.state, [event({ messageId: "sandboxed", label: "human" })], { muted: false, now: NOW });
    expect(third.notes).toEqual([]);
  });

  it("a withdrawn first open hands its notification to a real open already counted, in the same page too, and survives a restart", async () => {
    const scanned = event({ messageId: "handover", label: "human" });
    const { state } = applyEvents(emptyFeedState("acct"), [scanned], { muted: false, now: NOW });
    // The reader's open comes in the same page as the correction: applied first, not notified (the key was).
    const real = event({ messageId: "handover" });
    const page = applyPage(
      { ...state, cursor: scanned.cursor },
      { events: [real], cursor: real.cursor, corrections: [corrected(scanned, "scanner", "4")], correctionsCursor: "4" },
      { muted: false, now: NOW },
    );
    expect(page.withdrawn.map((w) => w.key)).toEqual(["open:handover"]);
    expect(page.notes.map((n) => n.key)).toEqual(["open:handover"]);
    expect(page.state.activity.map((a) => [a.cursor, a.notified ?? false])).toEqual([
      [real.cursor, true],
      [scanned.cursor, false],
    ]);
    // In the one stored key: a poller started again on it notifies nothing of it twice.
    const area = memoryArea();
    area.data[FEED_KEY] = { ...page.state, account: "http://t acct1", newsAfter: NOW };
    const restarted = poller(area, [scanned, real, event({ messageId: "handover" })]);
    await restarted.instance.poll();
    expect(restarted.shown).toEqual([]);
  });

  it("a summary whose event stops counting is updated in place, and withdrawn when none of its events counts", async () => {
    const area = memoryArea();
    const opens = Array.from({ length: MAX_SEPARATE_NOTES + 1 }, (_, i) => event({ messageId: `merge${i}`, subject: `Merge ${i}` }));
    const corrections: FeedCorrection[] = [];
    const source = correctingFeed(opens, corrections);
    const withdrawn: Withdrawal[] = [];
    const updated: Note[] = [];
    let clock = NOW;
    const start = () =>
      poller(area, opens, {
        source,
        now: () => clock,
        withdraw: async (note) => void withdrawn.push(note),
        update: async (note) => void updated.push(note),
      });
    const first = start();
    await first.instance.poll();
    const summary = first.shown[0] as Note;
    expect(summary.title).toBe("4 emails opened");

    corrections.push(corrected(opens[0] as FeedEvent, "scanner", "1"));
    clock += MINUTE;
    await start().instance.poll();
    expect(withdrawn).toEqual([]);
    expect(updated).toEqual([
      {
        key: summary.key,
        threadId: null,
        messageId: summary.messageId,
        title: "3 emails opened",
        message: "“Merge 3”, “Merge 2” and 1 other email.",
      },
    ]);

    corrections.push(...opens.slice(1).map((open, i) => corrected(open, "scanner", String(2 + i))));
    clock += MINUTE;
    updated.length = 0;
    await start().instance.poll();
    expect(updated).toEqual([]);
    expect(withdrawn).toEqual([{ key: summary.key, threadId: null, messageId: summary.messageId }]);
    expect((await storedFeed(area)).summaries).toEqual([]);
  });

  it("corrects the totals of an event past the kept activity by how the extension counted it, once, never below 0", () => {
    const options = { muted: false, now: NOW };
    const yesterday = new Date(NOW - DAY).toISOString();
    // Read late (the browser closed for hours): the open was already a reader's, its email registered, and counted;
    // the click already a scanner's, not counted; the tracker's judgement of how its feed released them may differ.
    const open = event({ messageId: "old", label: "human", at: yesterday });
    const click = event({ messageId: "old", kind: "click", linkIndex: 0, label: "scanner", counted: false, at: yesterday });
    const unregistered = event({ messageId: "early", label: "human", counted: false, registered: false, at: yesterday });
    const newer = Array.from({ length: MAX_ACTIVITY }, () => event({ messageId: "busy", label: "sender", counted: false }));
    const { state } = applyEvents(emptyFeedState("acct"), [open, click, unregistered, ...newer], options);
    expect(state.activity.some((a) => [open.cursor, click.cursor].includes(a.cursor))).toBe(false);
    const day = dayKey(NOW - DAY);
    expect(state.countedByCursor).toEqual({ [open.cursor]: { counted: true, day }, [click.cursor]: { counted: false, day } });
    expect(state.days[day]).toEqual({ opens: 1, clicks: 0 });
    const toScanner = applyCorrections(state, [corrected(open, "scanner", "1"), corrected(click, "human", "2")], options);
    expect(toScanner.state.days[day]).toEqual({ opens: 0, clicks: 1 });
    expect([toScanner.notes, toScanner.withdrawn, toScanner.corrected]).toEqual([[], [], []]);
    // Again (a repeated poll): nothing more. Back to a reader's: counted again, from what the last correction set.
    expect(applyCorrections(toScanner.state, [corrected(open, "scanner", "1")], options).state).toEqual(toScanner.state);
    const back = applyCorrections(toScanner.state, [corrected(open, "gmail-proxy", "3")], options);
    expect(back.state.days[day]).toEqual({ opens: 1, clicks: 1 });
    // A change that leaves it counted (a reader's to Gmail's proxy) moves nothing.
    expect(applyCorrections(state, [corrected(open, "gmail-proxy", "3")], options).state.days).toEqual(state.days);
    // Released before its email's registration: counts for nothing, whatever its label now; not kept.
    expect(applyCorrections(state, [corrected(unregistered, "gmail-proxy", "4")], options).state.days).toEqual(state.days);
    // Never below 0: the day's totals already lost it (another way).
    const emptied = { ...state, days: { [day]: { opens: 0, clicks: 0 } } };
    expect(applyCorrections(emptied, [corrected(open, "scanner", "1")], options).state.days).toEqual(emptied.days);
    // An event it no longer knows (dropped from the bound, or not taken yet) is left alone.
    const forgotten = { ...state, countedByCursor: {} };
    expect(applyCorrections(forgotten, [corrected(open, "scanner", "1")], options).state).toEqual(forgotten);
    const notTaken = event({ messageId: "later", label: "human" });
    expect(applyCorrections(state, [corrected(notTaken, "scanner", "5")], options).state).toEqual(state);
  });

  it("keeps how the newest MAX_COUNTED_PAST events past the activity counted, the oldest dropped, in the poller's one write", async () => {
    const events = Array.from({ length: MAX_ACTIVITY + MAX_COUNTED_PAST + 2 }, () => event({ messageId: "busy", label: "human" }));
    const { state } = applyEvents(emptyFeedState("acct"), events, { muted: true, now: NOW });
    const kept = Object.keys(state.countedByCursor ?? {});
    expect(kept).toEqual(events.slice(2, MAX_COUNTED_PAST + 2).map((e) => e.cursor));
    // Through the poller: what fell off is in the stored state, before anything is shown.
    const area = memoryArea();
    await poller(area, events.slice(0, MAX_ACTIVITY + 1), { muted: true }).instance.poll();
    expect((await storedFeed(area)).countedByCursor).toEqual({
      [events[0]?.cursor as string]: { counted: true, day: dayKey(NOW) },
    });
  });

  it("a counted event that did not notify (not the first open) is corrected without withdrawing anything", () => {
    const firstOpen = event({ messageId: "m" });
    const reopen = event({ messageId: "m" });
    const { state } = applyEvents(emptyFeedState("acct"), [firstOpen, reopen], { muted: false, now: NOW });
    const applied = applyCorrections(state, [corrected(reopen, "sender", "1")], { muted: false, now: NOW });
    expect(applied.withdrawn).toEqual([]);
    expect(summarize(applied.state, NOW).today).toEqual({ opens: 1, clicks: 0 });
  });

  it("a click that turns out a reader's counts, and notifies as a new one would: the first of its link, once", () => {
    const click = event({
      kind: "click",
      linkIndex: 0,
      linkUrl: "https://calendly.com/rep/30min",
      label: "scanner",
      counted: false,
      notify: false,
    });
    const { state } = applyEvents(emptyFeedState("acct"), [click], { muted: false, now: NOW });
    expect(summarize(state, NOW).today).toEqual({ opens: 0, clicks: 0 });
    const applied = applyCorrections(state, [corrected(click, "human", "1")], { muted: false, now: NOW });
    expect(applied.notes.map((n) => n.message)).toEqual(["Carol clicked calendly.com/rep/30min in “Pricing”."]);
    expect(summarize(applied.state, NOW).today).toEqual({ opens: 0, clicks: 1 });
    expect(applied.state.activity[0]).toMatchObject({ label: "human", counted: true, notified: true });
    expect(applyCorrections(applied.state, [corrected(click, "human", "1")], { muted: false, now: NOW }).notes).toEqual([]);
    // Back to a scanner's: out of the totals again, and its notification withdrawn.
    const back = applyCorrections(applied.state, [corrected(click, "scanner", "2")], { muted: false, now: NOW });
    expect(back.withdrawn.map((w) => w.key)).toEqual(["click:m1:0"]);
    expect(summarize(back.state, NOW).today).toEqual({ opens: 0, clicks: 0 });
  });

  it("counts without notifying what was notified before, what is muted, and what is older than the news window", () => {
    const scanned = (messageId: string, at = NOW - 1000) =>
      event({ messageId, label: "scanner", counted: false, notify: false, at: new Date(at).toISOString() });
    const notifiedBefore = scanned("opened-before");
    const muted = scanned("muted");
    const old = scanned("old", NOW - NEWS_WINDOW_MS - MINUTE);
    const { state } = applyEvents(emptyFeedState("acct"), [event({ messageId: "opened-before" }), notifiedBefore, muted, old], {
      muted: false,
      now: NOW,
    });
    const options = { muted: false, now: NOW };
    expect(applyCorrections(state, [corrected(notifiedBefore, "human", "1"), corrected(old, "human", "2")], options).notes).toEqual([]);
    expect(applyCorrections(state, [corrected(muted, "human", "3")], { ...options, muted: true }).notes).toEqual([]);
    const counted = applyCorrections(
      state,
      [corrected(notifiedBefore, "human", "1"), corrected(muted, "human", "3"), corrected(old, "human", "2")],
      {
        ...options,
        muted: true,
      },
    );
    expect(counted.state.activity.map((a) => [a.messageId, a.counted])).toEqual([
      ["old", true],
      ["muted", true],
      ["opened-before", true],
      ["opened-before", true],
    ]);
    // The old open an hour before noon, the same local day.
    expect(counted.state.days).toEqual({ [dayKey(NOW)]: { opens: 4, clicks: 0 } });
  });

  it("an event released before its email's registration counts for nothing whatever its corrections say, stored before the flag too", () => {
    const unregistered = event({ messageId: "late", label: "human", counted: false, notify: false });
    const { state } = applyEvents(emptyFeedState("acct"), [unregistered], { muted: false, now: NOW });
    expect(state.activity[0]?.unregistered).toBe(true);
    const toSender = applyCorrections(state, [corrected(unregistered, "sender", "1")], { muted: false, now: NOW });
    const toReader = applyCorrections(toSender.state, [corrected(unregistered, "gmail-proxy", "2")], { muted: false, now: NOW });
    expect(toReader.state.activity.map((a) => [a.label, a.counted])).toEqual([["gmail-proxy", false]]);
    expect([toReader.notes, toReader.state.days]).toEqual([[], {}]);
    // An item stored before `unregistered` existed: a person's label, not counted, says the same.
    const { unregistered: _flag, ...stored } = state.activity[0] as NonNullable<(typeof state.activity)[0]>;
    const before = { ...state, activity: [stored] };
    expect(
      applyCorrections(before, [corrected(unregistered, "gmail-proxy", "2")], { muted: false, now: NOW }).state.activity[0]?.counted,
    ).toBe(false);
    // A scanner's hit released so: the tracker says it (`registered`), its label cannot.
    const scanned = event({ messageId: "late-scan", label: "scanner", counted: false, notify: false, registered: false });
    const released = applyEvents(emptyFeedState("acct"), [scanned], { muted: false, now: NOW });
    const toHuman = applyCorrections(released.state, [corrected(scanned, "human", "3", { registered: true })], { muted: false, now: NOW });
    expect(toHuman.state.activity.map((a) => [a.label, a.counted])).toEqual([["human", false]]);
    expect([toHuman.notes, toHuman.state.days]).toEqual([[], {}]);
  });

  it("a correction of an event not taken (yet) changes nothing: the event comes with its new label", () => {
    const later = event({ messageId: "later" });
    const applied = applyCorrections(emptyFeedState("acct"), [corrected(later, "scanner", "1")], { muted: false, now: NOW });
    expect(applied.state).toEqual(emptyFeedState("acct"));
    expect(applied.corrected).toEqual([]);
  });

  /** The tracker's feed with corrections: `corrections` after a cursor, as GET /api/events?correctionsAfter= gives them. */
  function correctingFeed(events: FeedEvent[], corrections: FeedCorrection[], options: { older?: boolean } = {}) {
    const plain = feed(events);
    const asked: (string | undefined)[] = [];
    return {
      calls: plain.calls,
      asked,
      fetchEvents: async (after: string, limit: number, correctionsAfter?: string) => {
        asked.push(correctionsAfter);
        const page = await plain.fetchEvents(after, limit);
        if (options.older || correctionsAfter === undefined) return page;
        const given = corrections.filter((c) => Number(c.cursor) > Number(correctionsAfter)).slice(0, limit);
        return { ...page, corrections: given, correctionsCursor: given.at(-1)?.cursor ?? correctionsAfter };
      },
    };
  }

  it("the poller applies them in its one write, withdraws after it, resumes from their cursor after a restart, and applies none twice", async () => {
    const area = memoryArea();
    const open = event({ messageId: "sandboxed", label: "human" });
    const click = event({ messageId: "sandboxed", kind: "click", linkIndex: 0, label: "scanner", counted: false });
    const events = [open, click];
    const corrections: FeedCorrection[] = [];
    const source = correctingFeed(events, corrections);
    const withdrawn: string[] = [];
    const writesBeforeWithdrawal: unknown[] = [];
    let clock = NOW;
    const start = () =>
      poller(area, events, {
        source,
        now: () => clock,
        withdraw: async (note) => {
          writesBeforeWithdrawal.push(await storedFeed(area));
          withdrawn.push(note.key);
        },
      });
    const first = start();
    expect(await first.instance.poll()).toBe(2);
    expect(first.shown.map((n) => n.key)).toEqual(["open:sandboxed"]);
    expect((await storedFeed(area)).correctionsCursor).toBe("0");

    // The tracker corrects the open: a scanner's (the sandbox's click came late).
    corrections.push(corrected(open, "scanner", "7"));
    first.news.length = 0;
    clock += MINUTE;
    expect(await first.instance.poll()).toBe(0);
    expect(withdrawn).toEqual(["open:sandboxed"]);
    const state = await storedFeed(area);
    expect(writesBeforeWithdrawal).toEqual([state]);
    expect(state).toMatchObject({ correctionsCursor: "7" });
    expect(summarize(state, NOW).today).toEqual({ opens: 0, clicks: 0 });
    expect(first.news).toEqual([["16f4aa"]]);

    // Restarted: asks from the stored corrections' cursor, and nothing is applied or withdrawn again.
    clock += MINUTE;
    const restarted = start();
    expect(await restarted.instance.poll()).toBe(0);
    expect(source.asked.at(-1)).toBe("7");
    expect(withdrawn).toEqual(["open:sandboxed"]);
    expect(restarted.shown).toEqual([]);
    expect(await storedFeed(area)).toEqual(state);
  });

  it("a state from before corrections starts their cursor at 0; a tracker older than them leaves it as it was", async () => {
    const area = memoryArea();
    const open = event({ messageId: "m" });
    const { state } = applyEvents(emptyFeedState("http://t acct1", NOW), [open], { muted: false, now: NOW });
    area.data[FEED_KEY] = { ...state, cursor: open.cursor };
    const source = correctingFeed([open], [corrected(open, "sender", "3")]);
    const { instance } = poller(area, [], { source });
    await instance.poll();
    expect(source.asked).toEqual(["0"]);
    expect(await storedFeed(area)).toMatchObject({ correctionsCursor: "3", activity: [{ label: "sender", counted: false }] });

    const olderArea = memoryArea();
    olderArea.data[FEED_KEY] = { ...state, cursor: open.cursor };
    const older = correctingFeed([open], [corrected(open, "sender", "3")], { older: true });
    await poller(olderArea, [], { source: older }).instance.poll();
    expect(await storedFeed(olderArea)).not.toHaveProperty("correctionsCursor");
    expect(await storedFeed(olderArea)).toMatchObject({ activity: [{ label: "gmail-proxy", counted: true }] });
  });
});
