// @vitest-environment happy-dom
// The options page's connection, over a stood-in background: the account's API token, shown once at its creation,
// is never thrown away or left behind with one click.
import { beforeAll, beforeEach, expect, it, vi } from "vitest";
import type { ExtensionState } from "../background/handlers";

/** The stood-in background: the connection it reports, and every call the page made. */
const background = vi.hoisted(() => ({
  connection: null as ExtensionState["connection"] | null,
  calls: [] as { type: string; input: unknown }[],
}));
vi.mock("webextension-polyfill", () => ({
  default: { permissions: { request: async () => true }, storage: { local: {}, onChanged: { addListener: () => {} } } },
}));
vi.mock("../options-store", async (original) => {
  const actual = await original<typeof import("../options-store")>();
  return { ...actual, loadOptions: async () => ({ ...actual.DEFAULT_OPTIONS }), saveOptions: async () => ({ ...actual.DEFAULT_OPTIONS }) };
});
vi.mock("../messaging", async () => {
  const { OTHER_ACCOUNT_NEEDS_CONFIRMATION } = await import("../background/handlers");
  return {
    callFromPage: async (type: string, input: unknown) => {
      background.calls.push({ type, input });
      if (type === "getState") return { connection: background.connection, outbox: [] };
      if (type === "storedApiToken") return { accountId: "abcdefghijklmnop", apiToken: "mt_the_only_key" };
      if (type === "connect") {
        const { apiToken, otherAccount } = input as { apiToken?: string; otherAccount?: boolean };
        if (apiToken === "mt_other" && !otherAccount) throw new Error(OTHER_ACCOUNT_NEEDS_CONFIRMATION);
        return { accountId: "qrstuvwxyzabcdef", apiToken, created: false };
      }
      return { ok: true };
    },
  };
});

const CONNECTED = {
  connected: true,
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  lastAccountId: null,
  problem: null,
};

const $ = <E extends Element = HTMLElement>(selector: string) => document.querySelector<E>(selector);
const calls = (type: string) => background.calls.filter((call) => call.type === type).map((call) => call.input);
const click = async (selector: string) => {
  await vi.waitFor(() => expect($(selector)).not.toBeNull());
  $<HTMLButtonElement>(selector)?.click();
};

beforeAll(async () => {
  background.connection = CONNECTED;
  document.body.innerHTML = '<div id="app"></div>';
  await import("./main");
  await vi.waitFor(() => expect($("[data-testid=connection]")?.textContent).toContain("abcdefghijklmnop"));
});

beforeEach(() => {
  background.calls = [];
});

it("a token of another account while connected is asked about, the current token offered, then connected as answered", async () => {
  const field = $<HTMLInputElement>("input[name=apiToken]");
  if (!field) throw new Error("no token field");
  field.value = "mt_other";
  field.dispatchEvent(new Event("input", { bubbles: true }));
  await click("button[name=connect]");
  await vi.waitFor(() => expect($("[data-testid=other-account-question]")).not.toBeNull());
  expect($("[data-testid=other-account-question]")?.textContent).toContain("another account");
  expect(calls("connect")).toEqual([expect.objectContaining({ apiToken: "mt_other", otherAccount: false })]);
  expect($("[data-testid=other-account-question] button[name=show-token]")).not.toBeNull();
  await click("button[name=connect-other-account]");
  await vi.waitFor(() => expect(calls("connect")).toHaveLength(2));
  expect(calls("connect")[1]).toMatchObject({ apiToken: "mt_other", otherAccount: true });
  await vi.waitFor(() => expect($("[data-testid=other-account-question]")).toBeNull());
});

it("Disconnect asks first, says the token is needed to come back, and shows it to copy before anything is removed", async () => {
  await click("button[name=disconnect]");
  await vi.waitFor(() => expect($("[data-testid=disconnect-question]")).not.toBeNull());
  expect($("[data-testid=disconnect-question]")?.textContent).toMatch(/removes this browser's API token.*you will need that token/);
  expect(calls("disconnect")).toEqual([]);
  expect(calls("storedApiToken")).toEqual([]);

  await click("button[name=show-token]");
  await vi.waitFor(() => expect($("[data-testid=stored-token]")?.textContent).toBe("mt_the_only_key"));
  expect($("button[name=copy-stored-token]")).not.toBeNull();
  await click("button[name=cancel-disconnect]");
  await vi.waitFor(() => expect($("[data-testid=disconnect-question]")).toBeNull());
  expect(calls("disconnect")).toEqual([]);

  await click("button[name=disconnect]");
  // What the background answers from now on (the page reads it again once the disconnect is done).
  background.connection = { ...CONNECTED, connected: false, accountId: null, lastAccountId: "abcdefghijklmnop", problem: "disconnected" };
  await click("button[name=confirm-disconnect]");
  await vi.waitFor(() => expect(calls("disconnect")).toEqual([{ confirmed: true }]));
});

it("after a disconnect, Connect with an empty token field asks before creating a new account", async () => {
  await vi.waitFor(() => expect($("[data-testid=connection]")?.textContent).toBe("Not connected: disconnected"));
  await click("button[name=connect]");
  await vi.waitFor(() => expect($("[data-testid=new-account-question]")?.textContent).toContain("abcdefghijklmnop"));
  expect(calls("connect")).toEqual([]);
  await click("button[name=cancel-new-account]");
});
