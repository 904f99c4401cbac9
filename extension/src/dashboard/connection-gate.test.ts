// @vitest-environment happy-dom
// The dashboard while this browser is not connected: one notice with the way to the options page, not a red error in
// every view; once the rep connected (in the options' tab) and comes back, the views.
import { h, render } from "preact";
import { act } from "preact/test-utils";
import { expect, it, vi } from "vitest";
import type { ConnectionState } from "../background/handlers";

const background = vi.hoisted(() => ({
  connection: null as ConnectionState | null,
  optionsOpened: 0,
}));
vi.mock("webextension-polyfill", () => ({
  default: { runtime: { openOptionsPage: async () => void background.optionsOpened++ } },
}));
vi.mock("../messaging", () => ({
  callFromPage: async (type: string) => {
    if (type === "getState") return { connection: background.connection, outbox: [] };
    throw new Error(`${type} is not stood in for`);
  },
}));

import { ConnectionGate } from "./connection-gate";

const NEVER_CONNECTED: ConnectionState = {
  connected: false,
  trackerUrl: "http://127.0.0.1:8787",
  accountId: null,
  lastAccountId: null,
  problem: "not connected to a tracker yet",
  notice: null,
};

const root = document.createElement("div");
document.body.append(root);
const $ = (selector: string) => root.querySelector<HTMLElement>(selector);

it("offers the options page while not connected, and shows the views once the rep connected and came back", async () => {
  background.connection = NEVER_CONNECTED;
  await act(() => render(h(ConnectionGate, null, h("p", { "data-testid": "view" }, "the view")), root));
  await vi.waitFor(() => expect($("[data-testid=connect-offer]")).not.toBeNull());
  expect($("[data-testid=connect-offer]")?.textContent).toContain("Not connected yet: connect to your tracker in the options");
  expect($("[data-testid=view]")).toBeNull();
  await act(() => $("button[name=open-options]")?.click());
  await vi.waitFor(() => expect(background.optionsOpened).toBe(1));

  background.connection = { ...NEVER_CONNECTED, connected: true, accountId: "abcdefghijklmnop", problem: null };
  await act(() => {
    window.dispatchEvent(new Event("focus"));
  });
  await vi.waitFor(() => expect($("[data-testid=view]")?.textContent).toBe("the view"));
  expect($("[data-testid=connect-offer]")).toBeNull();
  render(null, root);
});
