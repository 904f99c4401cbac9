// @vitest-environment happy-dom
// The popup over a stood-in background whose digest fails: it says why, and does not also say it is still loading.
import { expect, it, vi } from "vitest";
import type { ActivityState } from "../background/handlers";

vi.mock("webextension-polyfill", () => ({ default: {} }));
vi.mock("../messaging", () => ({
  callFromPage: async (type: string) => {
    if (type === "getActivity") return ACTIVITY;
    throw new Error(type === "recentActivity" ? "the tracker answered 500: internal error" : `${type} is not stood in for`);
  },
}));

const ACTIVITY: ActivityState = {
  activity: [],
  today: { opens: 0, clicks: 0 },
  week: { opens: 0, clicks: 0 },
  state: {
    connection: { connected: true, trackerUrl: "https://t.example", accountId: "abcdefghijklmnop", lastAccountId: null, problem: null },
    outbox: [],
  },
  reachable: true,
  problem: null,
  refused: false,
};

it("a digest that could not be read shows its error alone, not Loading… beside it for ever", async () => {
  document.body.innerHTML = '<div id="app"></div>';
  await import("./main");
  const errors = () => [...document.querySelectorAll("p.error")].map((p) => p.textContent).filter(Boolean);
  await vi.waitFor(() => expect(errors()).toEqual(["the tracker answered 500: internal error"]));
  expect(document.body.textContent).not.toContain("Loading…");
});
