// @vitest-environment happy-dom
// The dashboard's follow-ups over a stood-in background: each reminder set from the compose window can be cancelled
// here once its email is sent, and one past its time says it is overdue, not that a notification came; a list the
// tracker cut at its limit says so.
import { h, render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, expect, it, vi } from "vitest";
import type { Reminder } from "../background/follow-ups";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const background = vi.hoisted(() => ({
  calls: [] as { type: string; input: unknown }[],
  reminders: [] as Reminder[],
  followUps: [] as unknown[],
  cut: null as { total: number | null } | null,
  cancelFails: null as string | null,
  /** Why a new reminder would not be kept (Reminders.whyFull), as the list and each cancel's answer say it. */
  remindersFull: null as string | null,
}));
vi.mock("webextension-polyfill", () => ({ default: { runtime: { openOptionsPage: async () => undefined } } }));
vi.mock("../messaging", () => ({
  callFromPage: async (type: string, input: unknown) => {
    background.calls.push({ type, input });
    if (type === "listFollowUps")
      return {
        followUps: background.followUps,
        days: 3,
        reminders: background.reminders,
        remindersFull: background.remindersFull,
        cut: background.cut,
      };
    if (type === "cancelReminder" && background.cancelFails) throw new Error(background.cancelFails);
    return { cancelled: true, remindersFull: background.remindersFull };
  },
}));

import { DAY, HOUR } from "../../../test/durations";
import { remindersFull, remindersFullOfRecipients } from "../words";
import { FollowUps } from "./follow-ups";

const reminder = (trackingId: string, subject: string, dueAt: number): Reminder => ({
  trackingId,
  days: 3,
  setAt: dueAt - 3 * DAY,
  dueAt,
  subject,
  recipients: ["Dana"],
});

const root = document.createElement("div");
document.body.append(root);
const $ = (selector: string) => root.querySelector<HTMLElement>(selector);
const items = () => [...root.querySelectorAll<HTMLElement>("[data-testid=reminders] li")];

afterEach(() => {
  render(null, root);
  vi.useRealTimers();
  background.reminders = [];
  background.followUps = [];
  background.cut = null;
  background.remindersFull = null;
});

it("each reminder has a Cancel that asks the background to drop it; one past its time reads overdue, not a notification in the past", async () => {
  // Date alone, set without fake timers: vi.waitFor moves faked timers (Date with them) on at each check.
  vi.setSystemTime(NOW);
  background.reminders = [reminder("waiting", "Proposal", NOW + 2 * DAY), reminder("late", "Contract draft", NOW - 3 * HOUR)];
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() => expect(items()).toHaveLength(2));
  const [waiting, late] = items();
  expect(waiting?.textContent).toBe("Proposal to Dana · if no reply, a notification in 2 days Cancel");
  expect(late?.textContent).toBe(
    "Contract draft to Dana · overdue (due 3 h ago): a notification comes once the tracker says nobody replied Cancel",
  );
  expect(late?.textContent).not.toContain("a notification 3 h ago");

  background.cancelFails = "the background did not answer cancelReminder";
  await act(() => late?.querySelector<HTMLButtonElement>("button[name=cancel-reminder]")?.click());
  await vi.waitFor(() => expect($("[data-testid=reminder-error]")?.textContent).toContain("Not cancelled: the background did not answer"));
  expect(items()).toHaveLength(2);

  background.cancelFails = null;
  await act(() => late?.querySelector<HTMLButtonElement>("button[name=cancel-reminder]")?.click());
  await vi.waitFor(() => expect(items().map((li) => li.dataset.id)).toEqual(["waiting"]));
  expect($("[data-testid=reminder-error]")).toBeNull();
  expect(background.calls.filter((call) => call.type === "cancelReminder").map((call) => call.input)).toEqual([
    { trackingId: "late" },
    { trackingId: "late" },
  ]);
});

it("a reminder whose recipients the background counted but could not name (no room) says how many, and why they are not named", async () => {
  vi.setSystemTime(NOW);
  background.reminders = [
    { ...reminder("unnamed", "Webinar follow-up", NOW + 2 * DAY), recipients: [], addresses: [], recipientsNotNamed: 200 },
  ];
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() => expect(items()).toHaveLength(1));
  expect(items()[0]?.textContent).toBe(
    "Webinar follow-up to 200 recipients (no room to keep their names with the reminder) · if no reply, a notification in 2 days Cancel",
  );
});

it("while as many reminders wait as the background keeps, the list says a new one is not kept, until one is cancelled", async () => {
  vi.setSystemTime(NOW);
  background.remindersFull = remindersFull(2);
  background.reminders = [reminder("a", "Proposal", NOW + 2 * DAY), reminder("b", "Contract draft", NOW + 3 * DAY)];
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() => expect(items()).toHaveLength(2));
  expect($("[data-testid=reminders-full]")?.textContent).toBe(
    "2 reminders are waiting, as many as Mailtracker keeps: a new one is not kept until one comes due or you cancel one on the dashboard's Follow-ups page.",
  );
  background.remindersFull = null;
  await act(() => items()[0]?.querySelector<HTMLButtonElement>("button[name=cancel-reminder]")?.click());
  await vi.waitFor(() => expect(items()).toHaveLength(1));
  expect($("[data-testid=reminders-full]")).toBeNull();
});

it("while fewer wait but their emails' recipients fill the room kept for reminders, the list says so, until a cancel makes room", async () => {
  vi.setSystemTime(NOW);
  const words =
    "3 reminders are waiting, whose emails name so many recipients that they fill the room Mailtracker keeps for reminders: a new one is not kept until one comes due or you cancel one on the dashboard's Follow-ups page.";
  background.remindersFull = remindersFullOfRecipients(3);
  background.reminders = ["a", "b", "c"].map((id, i) => reminder(id, `Campaign ${i}`, NOW + (i + 1) * DAY));
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() => expect(items()).toHaveLength(3));
  expect($("[data-testid=reminders-full]")?.textContent).toBe(words);
  // Emails described after the bound was reached took the reminders past it (Reminders.describe): one cancel may
  // still leave no room, as its answer says.
  background.remindersFull = remindersFullOfRecipients(2);
  await act(() => items()[0]?.querySelector<HTMLButtonElement>("button[name=cancel-reminder]")?.click());
  await vi.waitFor(() => expect(items()).toHaveLength(2));
  expect($("[data-testid=reminders-full]")?.textContent).toBe(words.replace("3 reminders", "2 reminders"));
  background.remindersFull = null;
  await act(() => items()[0]?.querySelector<HTMLButtonElement>("button[name=cancel-reminder]")?.click());
  await vi.waitFor(() => expect(items()).toHaveLength(1));
  expect($("[data-testid=reminders-full]")).toBeNull();
});

it("a list the tracker cut at its limit says how many were left out, or that more wait when it does not know", async () => {
  const sentAt = new Date(Date.now() - 10 * DAY).toISOString();
  background.followUps = Array.from({ length: 200 }, (_, i) => ({
    id: `m${i}`,
    subject: `Email ${i}`,
    recipients: [{ email: "dana@acme.example" }],
    sentAt,
    campaign: null,
    engagement: "none",
    lastActivityAt: null,
    threadUrl: "https://mail.google.com/mail/u/0/#all/1",
  }));
  background.cut = { total: 347 };
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() => expect($("[data-testid=follow-ups-cut]")).not.toBeNull());
  expect($("[data-testid=follow-ups-cut]")?.textContent).toBe(
    "Showing 200 of 347 emails that need a follow-up, the most engaged first: the other 147, the least engaged, are not listed.",
  );
  render(null, root);

  background.cut = { total: null };
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() =>
    expect($("[data-testid=follow-ups-cut]")?.textContent).toBe(
      "Showing 200 emails that need a follow-up, the most engaged first, and more wait: the least engaged are not listed.",
    ),
  );
  render(null, root);

  background.cut = null;
  await act(() => render(h(FollowUps, {}), root));
  await vi.waitFor(() => expect($("[data-testid=follow-ups]")).not.toBeNull());
  expect($("[data-testid=follow-ups-cut]")).toBeNull();
});
