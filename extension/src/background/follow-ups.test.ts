// Reminders with an injected clock and an in-memory storage area: due only after N days from the send, one
// notification naming the email, settled silently by a reply (at once, or found when due), kept while the tracker
// is down.
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import type { MessageDetail } from "../../../shared/api";
import { mintTrackingId } from "../../../shared/protocol";
import { DAY } from "../../../test/durations";
import { detailOf } from "../message-detail.test-support";
import { inTimeZone } from "../time-zone.test-support";
import { recipientsNotNamed, remindersFull, remindersFullOfRecipients } from "../words";
import { TrackerError } from "./api";
import type { Credentials } from "./credentials";
import {
  bytesChanged,
  daysAfter,
  followUpDays,
  MAX_REMINDERS,
  REMINDERS_KEY,
  REMINDERS_MAX_BYTES,
  type Reminder,
  Reminders,
  reminderNote,
  storedBytes,
} from "./follow-ups";
import { memoryArea } from "./memory-area";

const CREDENTIALS: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};

function setup() {
  let now = 0;
  const details = new Map<string, MessageDetail | Error>();
  const notified: { reminder: Reminder; detail: MessageDetail }[] = [];
  const scheduled: (number | null)[] = [];
  const area = memoryArea();
  const reminders = new Reminders({
    area,
    now: async () => now,
    requireCredentials: async () => CREDENTIALS,
    detail: async (_c, id) => {
      const found = details.get(id);
      if (!found) throw new TrackerError("the tracker answered 404", 404);
      if (found instanceof Error) throw found;
      return found;
    },
    inOutbox: async () => false,
    notify: async (reminder, detail) => void notified.push({ reminder, detail }),
    schedule: (at) => void scheduled.push(at),
  });
  return { reminders, details, notified, scheduled, area, advance: (ms: number) => (now += ms) };
}

describe("follow-up reminders", () => {
  it("comes due N days after the send, notifies once naming the email, then is gone", async () => {
    const t = setup();
    t.details.set("m1", detailOf("m1", { openCount: 2 }));
    await t.reminders.set("m1", 3);
    expect(t.scheduled.at(-1)).toBe(3 * DAY + 1000);
    t.advance(3 * DAY - 1);
    expect(await t.reminders.check()).toEqual({ notified: [], settled: [] });
    t.advance(1);
    expect(await t.reminders.check()).toEqual({ notified: ["m1"], settled: [] });
    expect(t.notified[0]?.detail.subject).toBe("Subject m1");
    expect(reminderNote(detailOf("m1", { openCount: 2 }), 3)).toEqual({
      title: "No reply in 3 days: Subject m1",
      message: "To Ann: opened it 2×. Click to open the thread and follow up.",
    });
    // Without an open, what the Sent list and the panel say of it too (words.ts noOpenWords).
    expect(reminderNote(detailOf("m1", { openCount: 0 }), 3).message).toBe("To Ann: no open yet. Click to open the thread and follow up.");
    expect(reminderNote(detailOf("m1", { openCount: 0, openTracking: false }), 3).message).toBe(
      "To Ann: opens not tracked. Click to open the thread and follow up.",
    );
    expect(await t.reminders.check()).toEqual({ notified: [], settled: [] });
    expect(t.notified).toHaveLength(1);
    expect(t.scheduled.at(-1)).toBeNull();
  });

  it("is named by its email's registration at send time, kept when the rep changes the wait", async () => {
    const t = setup();
    await t.reminders.set("m1", 2);
    expect((await t.reminders.all())[0]?.subject).toBeUndefined();
    const sent = {
      subject: "Contract draft",
      recipients: [{ email: "dana@wingtip.example", name: "Dana" }, { email: "eli@woodgrove.example" }],
    };
    expect(await t.reminders.describe("m1", sent)).toBe(true);
    expect(await t.reminders.all()).toMatchObject([
      { trackingId: "m1", subject: "Contract draft", recipients: ["Dana", "eli@woodgrove.example"] },
    ]);
    await t.reminders.set("m1", 5);
    expect(await t.reminders.all()).toMatchObject([{ days: 5, subject: "Contract draft", recipients: ["Dana", "eli@woodgrove.example"] }]);
    // An email with no reminder stores nothing; a registration that does not validate still names what it can.
    expect(await t.reminders.describe("m2", sent)).toBe(false);
    expect(await t.reminders.all()).toHaveLength(1);
    expect(await t.reminders.describe("m1", { subject: 42, recipients: [null, { email: "fay@acme.example" }] })).toBe(true);
    expect(await t.reminders.all()).toMatchObject([{ subject: null, recipients: ["fay@acme.example"] }]);
  });

  it("counts the wait from the send, not from when the rep ticked the box", async () => {
    const t = setup();
    await t.reminders.set("m1", 2);
    t.details.set("m1", detailOf("m1", { sentAt: new Date(1 * DAY).toISOString() }));
    t.advance(2 * DAY);
    expect((await t.reminders.check()).notified).toEqual([]);
    expect((await t.reminders.all())[0]?.dueAt).toBe(3 * DAY);
    t.advance(DAY);
    expect((await t.reminders.check()).notified).toEqual(["m1"]);
  });

  it("a reply settles it silently: at once from news, or when found at the due time", async () => {
    const t = setup();
    await t.reminders.set("m1", 1);
    await t.reminders.set("m2", 1);
    expect(await t.reminders.settleAnswered([detailOf("m1", { replyCount: 1 }), detailOf("m2")])).toBe(1);
    expect((await t.reminders.all()).map((r) => r.trackingId)).toEqual(["m2"]);
    t.details.set("m2", detailOf("m2", { bounce: { kind: "hard", recipients: [], at: new Date(0).toISOString() } }));
    t.advance(DAY);
    expect(await t.reminders.check()).toEqual({ notified: [], settled: ["m2"] });
    expect(t.notified).toEqual([]);
  });

  it("keeps due reminders while the tracker does not answer, and drops one whose email was never sent", async () => {
    const t = setup();
    await t.reminders.set("down", 1);
    t.details.set("down", new TrackerError("cannot reach the tracker", null));
    t.advance(DAY);
    expect(await t.reminders.check()).toEqual({ notified: [], settled: [] });
    expect(await t.reminders.all()).toHaveLength(1);
    await t.reminders.set("unsent", 1);
    t.details.delete("down");
    t.details.set("down", detailOf("down"));
    t.advance(DAY);
    expect((await t.reminders.check()).notified).toEqual(["down"]);
    expect((await t.reminders.all()).map((r) => r.trackingId)).toEqual(["unsent"]);
    t.advance(8 * DAY);
    expect((await t.reminders.check()).settled).toEqual(["unsent"]);
    expect(t.area.data[REMINDERS_KEY]).toEqual([]);
  });

  it("one of another account than the connected one is not looked at, however long past due: kept for when its account is back", async () => {
    const t = setup();
    const before = await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) });
    const own = await mintTrackingId(CREDENTIALS.signingKey);
    t.details.set(own, detailOf(own));
    await t.reminders.set(before, 1);
    await t.reminders.set(own, 1);
    // Past the grace after which a reminder whose email this tracker does not have (404) is dropped.
    t.advance(10 * DAY);
    expect(await t.reminders.check()).toEqual({ notified: [own], settled: [] });
    expect((await t.reminders.all()).map((r) => r.trackingId)).toEqual([before]);
    expect(await t.reminders.check()).toEqual({ notified: [], settled: [] });
    expect((await t.reminders.all()).map((r) => r.trackingId)).toEqual([before]);
  });

  it("a notification the browser fails to show costs that one reminder: the others are notified once, not every minute", async () => {
    const t = setup();
    const shown: string[] = [];
    let now = 0;
    const reminders = new Reminders({
      area: t.area,
      now: async () => now,
      requireCredentials: async () => CREDENTIALS,
      detail: async (_c, id) => detailOf(id),
      inOutbox: async () => false,
      notify: async (reminder) => {
        if (reminder.trackingId === "broken") throw new Error("Unable to download all specified images.");
        shown.push(reminder.trackingId);
      },
      schedule: () => undefined,
    });
    await reminders.set("first", 1);
    await reminders.set("broken", 1);
    await reminders.set("last", 1);
    now = DAY;
    await reminders.check().catch(() => undefined);
    // The next minute's look.
    await reminders.check().catch(() => undefined);
    expect(shown).toEqual(["first", "last"]);
    expect(await reminders.all()).toEqual([]);
  });

  it("a background stopped while it notifies does not notify the same reminder again when it starts", async () => {
    const area = memoryArea();
    const shown: string[] = [];
    let now = 0;
    const background = (notify: (reminder: Reminder) => Promise<void>) =>
      new Reminders({
        area,
        now: async () => now,
        requireCredentials: async () => CREDENTIALS,
        detail: async (_c, id) => detailOf(id),
        inOutbox: async () => false,
        notify,
        schedule: () => undefined,
      });
    // The first background shows the notification, then is stopped before its look ends (here: never ends).
    const first = background(async (reminder) => {
      shown.push(reminder.trackingId);
      await new Promise(() => undefined);
    });
    await first.set("m1", 1);
    now = DAY;
    void first.check();
    await vi.waitFor(() => expect(shown).toEqual(["m1"]));
    const restarted = background(async (reminder) => void shown.push(reminder.trackingId));
    await restarted.check();
    expect(shown).toEqual(["m1"]);
  });

  it("past its bound a new reminder is refused in words, and none that waits is pushed out", async () => {
    const t = setup();
    for (let i = 0; i < MAX_REMINDERS; i++) await t.reminders.set(`m${i}`, 3);
    await expect(t.reminders.set("one-more", 3)).rejects.toThrow(remindersFull(MAX_REMINDERS));
    // The dashboard says the same above its list.
    expect(await t.reminders.whyFull()).toBe(remindersFull(MAX_REMINDERS));
    const kept = (await t.reminders.all()).map((r) => r.trackingId);
    expect(kept).toHaveLength(MAX_REMINDERS);
    expect(kept[0]).toBe("m0");
    expect(kept).not.toContain("one-more");
    // One that waits can still be changed, and one cancelled makes room.
    expect((await t.reminders.set("m0", 5)).days).toBe(5);
    await t.reminders.cancel(["m1"]);
    expect(await t.reminders.whyFull()).toBeNull();
    await t.reminders.set("one-more", 3);
    expect((await t.reminders.all()).map((r) => r.trackingId)).toContain("one-more");
    expect(await t.reminders.all()).toHaveLength(MAX_REMINDERS);
  });

  it("counts another account's reminders toward its bound, which the dashboard does not list, and says how many there are", async () => {
    const t = setup();
    const otherKey = { accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) };
    for (let i = 0; i < 2; i++) await t.reminders.set(await mintTrackingId(otherKey), 3);
    for (let i = 2; i < MAX_REMINDERS; i++) await t.reminders.set(`m${i}`, 3);
    const said = `${MAX_REMINDERS} reminders are waiting (2 of them for another account's emails, listed once you connect to it again), as many as Mailtracker keeps: a new one is not kept until one comes due or you cancel one on the dashboard's Follow-ups page`;
    expect(remindersFull(MAX_REMINDERS, 2)).toBe(said);
    await expect(t.reminders.set("one-more", 3)).rejects.toThrow(said);
    expect(await t.reminders.whyFull()).toBe(said);
  });

  /** The addresses of an email to 200 recipients. */
  const recipients = Array.from({ length: 200 }, (_, i) => `buyer${i}@prospect-company.example`);
  /** A reminder of an email to 200 recipients, as describe keeps it. */
  const described = (i: number, subject = "Q4 pricing"): Reminder => ({
    trackingId: `m${i}`,
    days: 3,
    setAt: 0,
    dueAt: 3 * DAY,
    subject,
    recipients,
    addresses: recipients,
  });
  /** Reminders of emails to 200 recipients each, `short` bytes short of the bound, the first one's subject padded to it. */
  function filledBut(short: number): Reminder[] {
    const waiting = Array.from({ length: Math.floor(REMINDERS_MAX_BYTES / storedBytes(described(100))) }, (_, i) => described(i));
    const room = REMINDERS_MAX_BYTES - storedBytes({ [REMINDERS_KEY]: waiting });
    waiting[0] = described(0, `Q4 pricing${" ".repeat(room - short)}`);
    expect(storedBytes({ [REMINDERS_KEY]: waiting })).toBe(REMINDERS_MAX_BYTES - short);
    return waiting;
  }

  it("past its bound in bytes (emails with many recipients) a new reminder is refused in words, and none that waits is pushed out", async () => {
    const t = setup();
    // Fewer than MAX_REMINDERS, and no room for one more.
    const waiting = filledBut(50);
    const count = waiting.length;
    // One of another account's emails: counted, and said to be.
    waiting[1] = { ...described(1), trackingId: await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) }) };
    await t.area.set({ [REMINDERS_KEY]: waiting });
    expect(count).toBeLessThan(MAX_REMINDERS);

    await expect(t.reminders.set("one-more", 3)).rejects.toThrow(remindersFullOfRecipients(count, 1));
    // The dashboard says the same above its list, not that fewer than MAX_REMINDERS leave room.
    expect(await t.reminders.whyFull()).toBe(remindersFullOfRecipients(count, 1));
    expect((await t.reminders.all()).map((r) => r.trackingId)).toEqual(waiting.map((r) => r.trackingId));
    // One that waits can still be changed, and one cancelled makes room.
    expect((await t.reminders.set("m0", 5)).days).toBe(5);
    await t.reminders.cancel(["m2"]);
    expect(await t.reminders.whyFull()).toBeNull();
    await t.reminders.set("one-more", 3);
    expect((await t.reminders.all()).map((r) => r.trackingId)).toContain("one-more");
  });

  it("a Follow-ups page load and a cancel measure what changed, not every reminder (up to 2 MB) again", async () => {
    const t = setup();
    await t.area.set({ [REMINDERS_KEY]: filledBut(50) });
    // The first look of a background measures them all, once.
    expect(await t.reminders.whyFull()).not.toBeNull();
    const encode = vi.spyOn(TextEncoder.prototype, "encode");
    try {
      const measured = () => encode.mock.calls.reduce((sum, [text]) => sum + (text?.length ?? 0), 0);
      expect(await t.reminders.whyFull()).not.toBeNull(); // the page loads
      await t.reminders.cancel(["m2"]); // a cancel on it, and the page's answer
      expect(await t.reminders.whyFull()).toBeNull();
      expect(await t.reminders.set("one-more", 3)).toMatchObject({ trackingId: "one-more" });
      // The cancelled reminder and the new one, each measured once or twice: nothing near the 2 MB.
      expect(measured()).toBeLessThan(4 * storedBytes(described(2)));
    } finally {
      encode.mockRestore();
    }
  });

  it("keeps the reminders' size from what each write changes, to the byte storage counts", () => {
    const a: Reminder = { trackingId: "m1", days: 3, setAt: 0, dueAt: 3 * DAY };
    const b: Reminder = { ...a, trackingId: "m2", subject: "Café", recipients: ["Zoë"], addresses: ["zoe@a.example"] };
    const c: Reminder = { ...a, days: 5 };
    const lists = [[], [a], [a, b], [b], [c, b], [b, c], [c], [a, b, c]];
    for (const before of lists)
      for (const after of lists)
        expect(storedBytes({ [REMINDERS_KEY]: before }) + bytesChanged(before, after)).toBe(storedBytes({ [REMINDERS_KEY]: after }));
  });

  it("a reminder whose recipients would take the reminders past the bound keeps its subject and counts them without naming them; never dropped", async () => {
    const t = setup();
    await t.area.set({ [REMINDERS_KEY]: filledBut(1_000) });
    await t.reminders.set("new", 3);
    const sent = { subject: "Webinar follow-up", recipients: recipients.map((email) => ({ email })) };
    expect(await t.reminders.describe("new", sent)).toBe(true);
    const stored = () => t.area.data[REMINDERS_KEY] as Reminder[];
    expect(stored().find((r) => r.trackingId === "new")).toMatchObject({
      subject: "Webinar follow-up",
      recipients: [],
      addresses: [],
      recipientsNotNamed: 200,
    });
    expect(storedBytes({ [REMINDERS_KEY]: stored() })).toBeLessThanOrEqual(REMINDERS_MAX_BYTES);
    // What the dashboard's list says after "to".
    expect(recipientsNotNamed(200)).toBe("200 recipients (no room to keep their names with the reminder)");
    // A subject that would pass the bound too: the reminder is kept as it was, "An email" on the dashboard.
    await t.reminders.set("long", 3);
    expect(await t.reminders.describe("long", { subject: "x".repeat(1_000), recipients: [] })).toBe(true);
    expect(stored().find((r) => r.trackingId === "long")).toEqual({ trackingId: "long", days: 3, setAt: 0, dueAt: 3 * DAY });
    expect(storedBytes({ [REMINDERS_KEY]: stored() })).toBeLessThanOrEqual(REMINDERS_MAX_BYTES);
    // With room, one is named in full.
    await t.reminders.cancel(["m1", "m2"]);
    expect(await t.reminders.describe("new", sent)).toBe(true);
    expect(stored().find((r) => r.trackingId === "new")).toMatchObject({ recipients, addresses: recipients });
    expect(stored().find((r) => r.trackingId === "new")).not.toHaveProperty("recipientsNotNamed");
  });

  it("measures a reminder as storage counts it: its JSON in UTF-8 bytes", () => {
    expect(storedBytes({ subject: "Café" })).toBe('{"subject":"Café"}'.length + 1);
  });

  it("uses a campaign's own wait when the options name one", () => {
    const options = { followUpDays: 3, followUpDaysByCampaign: { Webinar: 7 } };
    expect(followUpDays(options, "Webinar")).toBe(7);
    expect(followUpDays(options, "Other")).toBe(3);
    expect(followUpDays(options, null)).toBe(3);
  });
});

describe("a reminder's time", () => {
  it("is the same local time so many calendar days later, across a daylight saving change", async () => {
    // Europe/London left summer time on 2026-10-25 at 2:00: 9:00 BST on Saturday, 9:00 GMT on Tuesday is 73 h on.
    const saturdayNine = Date.parse("2026-10-24T08:00:00Z");
    const tuesdayNine = "2026-10-27T09:00:00.000Z";
    expect(await inTimeZone("Europe/London", () => new Date(daysAfter(saturdayNine, 3)).toISOString())).toBe(tuesdayNine);
    const t = setup();
    t.advance(saturdayNine);
    const reminder = await inTimeZone("Europe/London", () => t.reminders.set("m1", 3));
    expect(new Date(reminder.dueAt).toISOString()).toBe(tuesdayNine);
  });
});
