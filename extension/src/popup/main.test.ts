// @vitest-environment happy-dom
// The popup over a stood-in background whose digest fails: it says why, and does not also say it is still loading;
// its totals name the span they count.
import { expect, it, vi } from "vitest";
import type { ActivityState } from "../background/handlers";
import { trackerAccessOffAdvice } from "../words";

vi.mock("webextension-polyfill", () => {
  const event = { addListener: () => undefined, removeListener: () => undefined };
  return { default: { permissions: { onAdded: event, onRemoved: event } } };
});
vi.mock("../messaging", () => ({
  callFromPage: async (type: string) => {
    if (type === "getActivity") return ACTIVITY;
    throw new Error(type === "recentActivity" ? "the tracker answered 500: internal error" : `${type} is not stood in for`);
  },
}));

const ACTIVITY: ActivityState = {
  activity: [],
  today: { opens: 0, clicks: 0 },
  week: { opens: 3, clicks: 1 },
  state: {
    connection: {
      connected: true,
      trackerUrl: "https://t.example",
      accountId: "abcdefghijklmnop",
      lastAccountId: null,
      problem: null,
      notice: null,
    },
    outbox: [],
    tracker: { reachable: true, problem: null, refused: false },
  },
  reachable: true,
  problem: null,
  refused: false,
  notCounted: { listed: 2, unlisted: 1 },
};

it("a digest that could not be read shows its error alone, not Loading… beside it for ever", async () => {
  document.body.innerHTML = '<div id="app"></div>';
  await import("./main");
  const errors = () => [...document.querySelectorAll("p.error")].map((p) => p.textContent).filter(Boolean);
  await vi.waitFor(() => expect(errors()).toEqual(["the tracker answered 500: internal error"]));
  expect(document.body.textContent).not.toContain("Loading…");
});

it("counts the last 7 days by that name: they are not the calendar week", async () => {
  await vi.waitFor(() => expect(document.querySelector("[data-testid=totals]")).not.toBeNull());
  expect(document.querySelector("[data-testid=totals]")?.textContent).toBe("Today: 0 opens, 0 clicks · Last 7 days: 3 opens, 1 click");
});

it("says that replies or bounces were not counted, up to how many with some not listed, and where they are listed", async () => {
  await vi.waitFor(() => expect(document.querySelector("[data-testid=not-counted]")).not.toBeNull());
  expect(document.querySelector("[data-testid=not-counted]")?.textContent).toBe(
    "Up to 3 replies or bounce notices seen in Gmail were not counted by your tracker: the options page lists them.",
  );
});

it("says of a tracker whose site the browser withholds what gives it back, not that the tracker does not answer", async () => {
  const { notReachedLine } = await import("./main");
  // In the words of the call's failure (api.ts), which name the options page's button: the popup's own is below.
  const problem = `${trackerAccessOffAdvice("https://t.example")} (Failed to fetch)`;
  expect(notReachedLine({ reachable: false, problem, refused: false, accessWithdrawn: true }, "https://t.example")).toBe(
    "Not registering emails: Mailtracker's access to your tracker (t.example) is turned off in the browser's extension settings (the button below gives it back). Emails you send still carry their tracking, and the tracker is told of them once the access is given back.",
  );
  expect(
    notReachedLine(
      { reachable: false, problem: "cannot reach the tracker at https://t.example (Failed to fetch)", refused: false },
      "https://t.example",
    ),
  ).toBe(
    "The tracker does not answer: cannot reach the tracker at https://t.example (Failed to fetch). Emails you send still carry their tracking, and the tracker is told of them once it answers.",
  );
});
