// @vitest-environment happy-dom
// The options page's connection, over a stood-in background: the account's API token, shown once at its creation,
// is never thrown away or left behind with one click.
import { render } from "preact";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from "vitest";
import type { ExtensionState } from "../background/handlers";
import type { UnmatchedListing } from "../background/held-signals";
import type { OutboxEntry } from "../background/outbox";
import type { WaitingAccount } from "../background/waiting-accounts";
import { ALLOW_TRACKER_ACCESS, TOKEN_REFUSED, trackerAccessOffAbove } from "../words";

/** The stood-in background: the connection it reports, and every call the page made. */
const background = vi.hoisted(() => ({
  connection: null as ExtensionState["connection"] | null,
  /** Whether the tracker answers this browser, as the background last heard. */
  tracker: { reachable: true, problem: null, refused: false } as ExtensionState["tracker"],
  calls: [] as { type: string; input: unknown }[],
  /** The changes the page saved, in turn. */
  saves: [] as Record<string, unknown>[],
  /** What the background answers a token replacement: whether it switched to the new token, and how its answer came. */
  replacement: { apiToken: "mt_the_new_token", kept: true, problem: null, answerLost: null } as {
    apiToken: string;
    kept: boolean;
    problem: string | null;
    answerLost: string | null;
  },
  /** The tokens the background holds (storedApiToken): the account's, and one a replacement left unsettled. */
  held: {
    accountId: "abcdefghijklmnop",
    apiToken: "mt_the_only_key",
    replaced: false,
    unsettled: null as { apiToken: string; why: string } | null,
  },
  /** What a disconnect hands back to be kept (a replacement settled, or not known, at it). */
  disconnectKeep: null as unknown,
  /** The replies and notices the tracker never counted (held-signals.ts). */
  unmatched: { signals: [], unlisted: 0 } as UnmatchedListing,
  /** The outbox as getState answers it. */
  outbox: [] as OutboxEntry[],
  /** The accounts other than the connected one that emails wait for (waiting-accounts.ts). */
  waitingFor: [] as WaitingAccount[],
  /** What happens in the browser as the background's probe of the tracker leaves (the test's to set). */
  asProbed: null as (() => void) | null,
}));
/** The stood-in browser's site access: the sites withheld from the extension, and the page's listeners to changes. */
const access = vi.hoisted(() => ({
  withheld: new Set<string>(),
  listeners: new Set<() => void>(),
  /**
   * While set, each answer to contains waits here until the test releases it. Set from the start: the page's first
   * paint is seen before the browser answered.
   */
  held: [] as (() => void)[] | null,
  /** The sites the page asked for (permissions.request), in turn. */
  requested: [] as string[][],
  contains: ({ origins }: { origins: string[] }): Promise<boolean> => {
    // As the browser answers: what is granted when asked.
    const answer = origins.every((origin) => !access.withheld.has(origin));
    const held = access.held;
    return held ? new Promise((resolve) => held.push(() => resolve(answer))) : Promise.resolve(answer);
  },
  /** The rep allows what the page asks for, and the browser tells every listening page of the grant. */
  request: async ({ origins }: { origins: string[] }): Promise<boolean> => {
    access.requested.push(origins);
    if (origins.some((origin) => access.withheld.delete(origin))) for (const listener of access.listeners) listener();
    return true;
  },
}));
const listened = {
  addListener: (l: () => void) => void access.listeners.add(l),
  removeListener: (l: () => void) => void access.listeners.delete(l),
};
vi.mock("webextension-polyfill", () => ({
  default: {
    permissions: { request: access.request, onAdded: listened, onRemoved: listened },
    storage: { local: {}, onChanged: { addListener: () => {} } },
  },
}));
// options-store.ts asks the browser's own object (web-ext.ts) whether a site is granted.
vi.mock("../web-ext", () => ({ browser: { permissions: { contains: access.contains } } }));
vi.mock("../options-store", async (original) => {
  const actual = await original<typeof import("../options-store")>();
  let stored = { ...actual.DEFAULT_OPTIONS };
  return {
    ...actual,
    loadOptions: async () => stored,
    saveOptions: async (changes: Partial<typeof stored>) => {
      background.saves.push(changes);
      stored = actual.migrate({ ...stored, ...changes, version: actual.OPTIONS_VERSION });
      return stored;
    },
  };
});
vi.mock("../messaging", async () => {
  const { OTHER_ACCOUNT_NEEDS_CONFIRMATION } = await import("../background/handlers");
  const { trackerAccessOffAbove } = await import("../words");
  /**
   * The probe testConnection and connect start with (api.ts probeTracker, GET /): while the browser withholds the
   * tracker's site, the background answers so (handlers.ts TrackerAccessWithheld), and nothing else is done.
   */
  const probe = (trackerUrl: string) => {
    background.asProbed?.();
    const url = new URL(trackerUrl);
    if (access.withheld.has(`${url.protocol}//${url.hostname}/*`))
      return { accessWithheld: true as const, trackerUrl, problem: trackerAccessOffAbove(trackerUrl) };
  };
  return {
    callFromPage: async (type: string, input: unknown) => {
      background.calls.push({ type, input });
      if (type === "testConnection") {
        const withheld = probe(background.connection?.trackerUrl ?? "");
        if (withheld) return withheld;
        return { ok: true, message: `connected to ${background.connection?.trackerUrl} as account abcdefghijklmnop` };
      }
      if (type === "getState") return { connection: background.connection, outbox: background.outbox, tracker: background.tracker };
      if (type === "storedApiToken") return background.held;
      if (type === "unmatchedSignals") return background.unmatched;
      if (type === "accountsWaiting") return background.waitingFor;
      if (type === "stopWaitingForAccount") {
        const { accountId } = input as { accountId: string };
        background.waitingFor = background.waitingFor.filter((account) => account.accountId !== accountId);
        return background.waitingFor;
      }
      if (type === "clearUnmatchedSignals") {
        background.unmatched = { signals: [], unlisted: 0 };
        return background.unmatched;
      }
      if (type === "disconnect") return { ok: true, keep: background.disconnectKeep };
      if (type === "replaceApiToken") return { accountId: "abcdefghijklmnop", ...background.replacement };
      if (type === "connect") {
        const { apiToken, otherAccount, trackerUrl } = input as { apiToken?: string; otherAccount?: boolean; trackerUrl: string };
        const withheld = probe(trackerUrl);
        if (withheld) return withheld;
        if (apiToken === "mt_other" && !otherAccount) throw new Error(OTHER_ACCOUNT_NEEDS_CONFIRMATION);
        // A new account, created while another tab connected to a third one, which stays connected (handlers.ts connect).
        if (!apiToken)
          return { accountId: "created000000001", apiToken: "mt_created000000001", created: true, connectedMeanwhile: "otheraccountwxyz" };
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
  notice: null,
};

const CONNECTED_TO = "Connected to https://t.example (account abcdefghijklmnop)";
const GMAIL = "https://mail.google.com/*";

const $ = <E extends Element = HTMLElement>(selector: string) => document.querySelector<E>(selector);
const calls = (type: string) => background.calls.filter((call) => call.type === type).map((call) => call.input);
const line = () => [$("[data-testid=connection]")?.textContent, $("[data-testid=connection]")?.className];
/** The browser tells every listening page that a permission came or went (the settings changed). */
const announce = () => {
  for (const listener of access.listeners) listener();
};
const click = async (selector: string) => {
  await vi.waitFor(() => expect($(selector)).not.toBeNull());
  $<HTMLButtonElement>(selector)?.click();
};

/**
 * The page's poll of the connection (its setInterval, the page's only one), made now: its timer is held from the start,
 * so that a test waits on the poll's answer, not on its period. Held, not faked: vi.waitFor moves faked timers on by
 * its interval at every check (vitest 5.1.1, waitFor's checkCallback), which fired the poll whenever a test's waits
 * added up to its period.
 */
const polls: (() => void)[] = [];
const poll = () => {
  for (const run of polls) run();
};

beforeAll(async () => {
  vi.spyOn(globalThis, "setInterval").mockImplementation(((run: () => void) => polls.push(run)) as typeof setInterval);
  vi.spyOn(globalThis, "clearInterval").mockImplementation(() => undefined);
  background.connection = CONNECTED;
  document.body.innerHTML = '<div id="app"></div>';
  await import("./main");
  await vi.waitFor(() => expect($("[data-testid=connection]")?.textContent).toContain("abcdefghijklmnop"));
  expect(polls).toHaveLength(1);
});

afterAll(() => {
  vi.restoreAllMocks();
});

beforeEach(() => {
  background.calls = [];
  background.saves = [];
  // The browser's last answer the page remembers for its next first paint (allow-access.tsx): each test's own.
  localStorage.clear();
});

afterEach(() => {
  // A test that failed midway leaves no answer held and no site withheld to the next.
  for (const answer of access.held ?? []) answer();
  access.held = null;
  background.asProbed = null;
  if (access.withheld.size > 0) {
    access.withheld.clear();
    announce();
  }
});

/** Types `text` into the field named `name` and leaves it, as the rep does. */
const typeInto = (name: string, text: string) => {
  const field = $<HTMLInputElement | HTMLTextAreaElement>(`[name=${name}]`);
  if (!field) throw new Error(`no field ${name}`);
  field.value = text;
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.dispatchEvent(new Event("change", { bubbles: true }));
  return field;
};

it("until the browser says whether the extension may reach the tracker, the connection line claims nothing, green or not", async () => {
  // The page's first paint, the browser's answer held (access.held).
  expect(line()).toEqual([`${CONNECTED_TO}; asking the browser whether Mailtracker may reach it…`, "muted"]);
  expect($("[data-testid=withheld-access]")).toBeNull();
  const held = access.held ?? [];
  access.held = null;
  for (const answer of held) answer();
  await vi.waitFor(() => expect(line()).toEqual([CONNECTED_TO, "ok"]));
});

it("says that the tracker refuses the token, or does not answer, instead of a green Connected", async () => {
  /** The page reads the state again after each action of the rep's: Test connection, here. */
  const shown = async (tracker: ExtensionState["tracker"]) => {
    background.tracker = tracker;
    await click("button[name=test]");
    await vi.waitFor(() => expect(calls("getState").length).toBeGreaterThan(0));
    background.calls = [];
  };
  await shown({ reachable: false, problem: TOKEN_REFUSED, refused: true });
  await vi.waitFor(() => expect(line()).toEqual([`${CONNECTED_TO}, but ${TOKEN_REFUSED}`, "error"]));
  const unreachable = "cannot reach the tracker at https://t.example (Failed to fetch)";
  await shown({ reachable: false, problem: unreachable, refused: false });
  await vi.waitFor(() => expect(line()).toEqual([`${CONNECTED_TO}, but the tracker does not answer: ${unreachable}`, "error"]));
  await shown({ reachable: true, problem: null, refused: false });
  await vi.waitFor(() => expect(line()).toEqual([CONNECTED_TO, "ok"]));
});

it("says that the browser withholds the tracker's site instead of a green Connected, and Connected once it is given back", async () => {
  // Withdrawn in the browser's settings: the background, hearing no call, still holds the tracker as answering.
  background.tracker = { reachable: true, problem: null, refused: false };
  access.withheld.add("https://t.example/*");
  announce();
  await vi.waitFor(() => expect(line()).toEqual([`${CONNECTED_TO}, but ${trackerAccessOffAbove("https://t.example")}`, "error"]));
  expect($("[data-testid=withheld-access] button[name=allow-access]")).not.toBeNull();
  access.withheld.clear();
  announce();
  await vi.waitFor(() => expect(line()).toEqual([CONNECTED_TO, "ok"]));
  expect($("[data-testid=withheld-access]")).toBeNull();
});

it("lists the replies and bounce notices the tracker never counted, newest first, with why, and clears what it showed", async () => {
  const at = "2026-11-22T10:00:00.000Z";
  background.unmatched = {
    signals: [
      { signal: { kind: "reply", threadId: "t1", gmailMessageId: "r1", at, from: "carol@prospect.example" }, times: 5, givenUpAt: 1 },
      {
        signal: { kind: "bounce", threadId: "t2", gmailMessageId: "b1", at, bounce: { kind: "hard", recipients: ["x@y.example"] } },
        times: 5,
        givenUpAt: 2,
      },
    ],
    unlisted: 3,
  };
  // The page reads it again after each action of the rep's: Test connection, here.
  await click("button[name=test]");
  const items = () =>
    [...document.querySelectorAll("[data-testid=unmatched-signals] li")].map((li) => {
      const text = li.textContent ?? "";
      return [text.split(",")[0], text.slice(text.indexOf(": ") + 2)];
    });
  await vi.waitFor(() =>
    expect(items()).toEqual([
      ["Bounce notice for x@y.example", "it matched no tracked email of its thread sent before it"],
      ["Reply from carol@prospect.example", "it matched no tracked email of its thread sent before it"],
    ]),
  );
  expect($("[data-testid=unmatched-signals] p")?.textContent).toBe(
    "Up to 5 replies or bounce notices seen in Gmail were not counted by your tracker:",
  );
  expect($("[data-testid=unlisted-signals]")?.textContent).toBe("3 others are not listed, and may have been counted since.");

  await click("button[name=clear-unmatched-signals]");
  await vi.waitFor(() => expect($("[data-testid=unmatched-signals]")).toBeNull());
  // What the page showed, so that one recorded since stays listed.
  const listed = [
    { gmailMessageId: "r1", givenUpAt: 1 },
    { gmailMessageId: "b1", givenUpAt: 2 },
  ];
  expect(calls("clearUnmatchedSignals")).toEqual([{ listed, unlisted: 3 }]);
});

it("keeps the list of signals not counted current while it is open, without an action of the rep's", async () => {
  const at = "2026-11-22T10:00:00.000Z";
  const recorded = {
    signal: { kind: "reply", threadId: "t1", gmailMessageId: "r1", at, from: "carol@prospect.example" },
    times: 5,
    givenUpAt: 1,
  };
  // Recorded by the background while the page is open.
  background.unmatched = { signals: [recorded] as UnmatchedListing["signals"], unlisted: 0 };
  poll();
  await vi.waitFor(() => expect($("[data-testid=unmatched-signals] li")?.textContent).toContain("Reply from carol@prospect.example"));
  // Taken by the tracker after all (a Gmail tab reported it again): no longer listed.
  background.unmatched = { signals: [], unlisted: 0 };
  poll();
  await vi.waitFor(() => expect($("[data-testid=unmatched-signals]")).toBeNull());
});

it("Test connection while the browser withholds the tracker's site says so, with the button that gives it back, not that the tracker may be down", async () => {
  access.withheld.add("https://t.example/*");
  announce();
  await click("button[name=test]");
  const notice = "[data-testid=access-withheld-notice]";
  await vi.waitFor(() => expect($(`${notice} [data-testid=notice]`)?.textContent).toBe(trackerAccessOffAbove("https://t.example")));
  expect($(`${notice} [data-testid=notice]`)?.className).toBe("error");
  // One Allow button, the notice's: the withheld-access section above says the same without its own.
  expect(document.querySelectorAll("button[name=allow-access]")).toHaveLength(1);
  expect($("[data-testid=withheld-access]")?.textContent).toContain("t.example");
  // The rep allows it there: the notice goes with the withheld access, and Test connection tests.
  await click(`${notice} button[name=allow-access]`);
  expect(access.requested.at(-1)).toEqual([GMAIL, "https://t.example/*"]);
  await vi.waitFor(() => expect($(notice)).toBeNull());
  await click("button[name=test]");
  await vi.waitFor(() => expect($("[data-testid=notice]")?.textContent).toBe("connected to https://t.example as account abcdefghijklmnop"));
  expect($("[data-testid=notice]")?.className).toBe("ok");
});

it("Connect to a new tracker asks the browser for its site within the click, then connects", async () => {
  access.withheld.add("https://new.example/*");
  access.requested = [];
  typeInto("trackerUrl", "https://new.example");
  typeInto("apiToken", "mt_same_account");
  // The page draws what was typed (its click handler reads it) before the rep clicks.
  await new Promise((resolve) => setTimeout(resolve, 0));
  $<HTMLButtonElement>("button[name=connect]")?.click();
  // Within the click itself, before any await: Firefox prompts only inside the user's gesture.
  expect(access.requested).toEqual([[GMAIL, "https://new.example/*"]]);
  await vi.waitFor(() =>
    expect($("[data-testid=notice]")?.textContent).toBe("Connected to account qrstuvwxyzabcdef on https://new.example."),
  );
  expect(calls("connect")).toEqual([expect.objectContaining({ trackerUrl: "https://new.example", apiToken: "mt_same_account" })]);
});

it("Connect whose tracker's site the browser took away on the way says so, with the button that gives it back", async () => {
  typeInto("trackerUrl", "https://new.example");
  typeInto("apiToken", "mt_same_account");
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Withdrawn in the browser's settings after the grant, as the background's probe leaves.
  background.asProbed = () => access.withheld.add("https://new.example/*");
  await click("button[name=connect]");
  const notice = "[data-testid=access-withheld-notice]";
  await vi.waitFor(() => expect($(`${notice} [data-testid=notice]`)?.textContent).toBe(trackerAccessOffAbove("https://new.example")));
  expect($(`${notice} button[name=allow-access]`)?.textContent).toBe(ALLOW_TRACKER_ACCESS);
  background.asProbed = null;
  access.withheld.clear();
  announce();
  await vi.waitFor(() => expect($(notice)).toBeNull());
});

it("while connected, Show the API token asks the background for it, once asked, and shows it to copy", async () => {
  expect(calls("storedApiToken")).toEqual([]);
  await click("button[name=show-token]");
  await vi.waitFor(() => expect($("[data-testid=stored-token]")?.textContent).toBe("mt_the_only_key"));
  expect(calls("storedApiToken")).toEqual([null]);
  expect($("button[name=copy-stored-token]")).not.toBeNull();
  expect($("[data-testid=unsettled-token]")).toBeNull();
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
  expect(calls("connect")[1]).toMatchObject({ apiToken: "mt_other", otherAccount: true, leaving: "abcdefghijklmnop" });
  await vi.waitFor(() => expect($("[data-testid=other-account-question]")).toBeNull());
});

it("a new account created while another tab connected to another one says which stays connected, and shows the new token once", async () => {
  typeInto("trackerUrl", "https://t.example");
  typeInto("apiToken", "");
  await new Promise((resolve) => setTimeout(resolve, 0));
  await click("button[name=connect]");
  await click("button[name=create-new-account]");
  await vi.waitFor(() =>
    expect($("[data-testid=notice]")?.textContent).toBe(
      "Created account created000000001 on https://t.example, but this browser stays connected to account otheraccountwxyz, connected from another tab meanwhile. Keep the new account's API token below: connect with it to switch to the new account.",
    ),
  );
  expect($("[data-testid=new-token]")?.textContent).toBe("mt_created000000001");
  // The question named the account connected: the background asks again should another be connected by then.
  expect(calls("connect")).toEqual([expect.objectContaining({ newAccount: true, leaving: "abcdefghijklmnop" })]);
});

it("before the account is left, its emails still in the outbox are named: they stay, and go to its own tracker alone", async () => {
  const waiting = (accountId: string, nonce = "a"): OutboxEntry => ({
    trackingId: `${accountId}.1.${nonce.repeat(22)}.${"b".repeat(22)}`,
    request: {
      subject: "Proposal",
      recipients: [],
      sentAt: "2026-11-22T10:00:00.000Z",
      links: [],
      openTracking: true,
      clickTracking: true,
    },
    state: "pending",
    attempts: 1,
    createdAt: 0,
    nextAttemptAt: 0,
    lastError: "the tracker answered 503",
  });
  const said =
    "1 email of account abcdefghijklmnop waits in the outbox to reach its tracker: it goes there once you connect to this account again, and to no other account.";
  // One of this account's, and one of an account before, which is not this one's to name; nor are a registration the
  // tracker refused, which waits on the rep's retry, and a withdrawal, which is no email reaching the tracker.
  background.outbox = [
    waiting("abcdefghijklmnop"),
    waiting("qrstuvwxyzabcdef"),
    { ...waiting("abcdefghijklmnop", "c"), state: "failed" },
    { ...waiting("abcdefghijklmnop", "d"), withdraw: true },
  ];
  poll();
  await vi.waitFor(() => expect(document.body.textContent).toContain("the tracker answered 503"));
  await click("button[name=disconnect]");
  await vi.waitFor(() => expect($("[data-testid=disconnect-question] [data-testid=waiting-emails]")?.textContent).toBe(said));
  await click("button[name=cancel-disconnect]");
  typeInto("apiToken", "mt_other");
  await click("button[name=connect]");
  await vi.waitFor(() => expect($("[data-testid=other-account-question] [data-testid=waiting-emails]")?.textContent).toBe(said));
  await click("button[name=cancel-other-account]");
  typeInto("apiToken", "");
  // Nothing waiting: nothing said.
  background.outbox = [];
  poll();
  await vi.waitFor(() => expect(document.body.textContent).not.toContain("the tracker answered 503"));
  await click("button[name=disconnect]");
  await vi.waitFor(() => expect($("[data-testid=disconnect-question]")).not.toBeNull());
  expect($("[data-testid=waiting-emails]")).toBeNull();
  await click("button[name=cancel-disconnect]");
});

it("names the other account emails wait for, with what waits, and connects to it or stops waiting for it only once asked", async () => {
  const left: WaitingAccount = {
    accountId: "qrstuvwxyzabcdef",
    trackerUrl: "https://old.example",
    emails: 1,
    takenBack: 1,
    reminders: 1,
    replies: 2,
  };
  // An account of which only replies wait, their emails registered already (its tracker down as they were sent).
  const repliesOnly: WaitingAccount = {
    accountId: "zyxwvutsrqponmlk",
    trackerUrl: null,
    emails: 0,
    takenBack: 0,
    reminders: 0,
    replies: 1,
  };
  background.waitingFor = [left, repliesOnly];
  poll();
  await vi.waitFor(() =>
    expect([...document.querySelectorAll("[data-testid=waiting-account] p")].map((p) => p.textContent)).toEqual([
      "Waiting for account qrstuvwxyzabcdef at https://old.example until you connect to it again: 1 email to register, 1 email taken back in Gmail, the follow-up reminders of 1 email registered already, and 2 replies seen in Gmail.",
      "Waiting for account zyxwvutsrqponmlk (its tracker's address was not recorded) until you connect to it again: 1 reply seen in Gmail.",
    ]),
  );
  // Connect: the form, with its address, for its token; nothing is sent before the rep presses Connect.
  await click("button[name=connect-waiting-account]");
  await vi.waitFor(() => expect($<HTMLInputElement>("input[name=trackerUrl]")?.value).toBe("https://old.example"));
  expect($<HTMLDetailsElement>("[data-testid=change-connection]")?.open).toBe(true);
  expect(document.activeElement?.getAttribute("name")).toBe("apiToken");
  expect(calls("connect")).toEqual([]);
  typeInto("trackerUrl", "https://t.example");
  // Stop waiting: asked first, and Cancel changes nothing.
  await click("button[name=stop-waiting]");
  await vi.waitFor(() =>
    expect($("[data-testid=stop-waiting-question] p")?.textContent).toBe(
      "Stop waiting for account qrstuvwxyzabcdef? Its 1 email waiting (never tracked), its 1 email taken back in Gmail (never withdrawn from that tracker), the reminders of 1 email registered already, and the 2 replies seen for its emails (never counted) will be removed from this browser and never reach any tracker.",
    ),
  );
  await click("button[name=cancel-stop-waiting]");
  await vi.waitFor(() => expect($("[data-testid=stop-waiting-question]")).toBeNull());
  expect(calls("stopWaitingForAccount")).toEqual([]);
  // Its email taken back: asked again, by their count, what stays sent on that tracker and what withdraws it instead.
  await click("button[name=stop-waiting]");
  await click("button[name=confirm-stop-waiting]");
  await vi.waitFor(() =>
    expect($("[data-testid=drop-withdrawals-question] p")?.textContent).toBe(
      'Drop the withdrawal? 1 email of account qrstuvwxyzabcdef taken back in Gmail was never withdrawn from that account\'s tracker, which keeps it as sent. To withdraw it, connect to account qrstuvwxyzabcdef again instead: its withdrawal goes at once. If you stop waiting now, it stays as sent there until you connect to account qrstuvwxyzabcdef and press "Delete tracking data" on its page in the dashboard.',
    ),
  );
  expect($("[data-testid=stop-waiting-question]")).toBeNull();
  await click("button[name=cancel-stop-waiting]");
  await vi.waitFor(() => expect($("[data-testid=drop-withdrawals-question]")).toBeNull());
  expect(calls("stopWaitingForAccount")).toEqual([]);
  await click("button[name=stop-waiting]");
  await click("button[name=confirm-stop-waiting]");
  await click("button[name=confirm-drop-withdrawals]");
  await vi.waitFor(() => expect(document.querySelectorAll("[data-testid=waiting-account]")).toHaveLength(1));
  expect(calls("stopWaitingForAccount")).toEqual([{ accountId: "qrstuvwxyzabcdef", confirmed: true, takenBack: 1 }]);
  expect($("[data-testid=notice]")?.textContent).toBe(
    "Stopped waiting for account qrstuvwxyzabcdef: what waited for it is removed from this browser.",
  );
  // The account of which only replies wait: its question names them.
  await click("button[name=stop-waiting]");
  await vi.waitFor(() =>
    expect($("[data-testid=stop-waiting-question] p")?.textContent).toBe(
      "Stop waiting for account zyxwvutsrqponmlk? The 1 reply seen for its emails (never counted) will be removed from this browser and never reach any tracker.",
    ),
  );
  // Nothing taken back: asked once.
  await click("button[name=confirm-stop-waiting]");
  await vi.waitFor(() => expect(document.querySelectorAll("[data-testid=waiting-account]")).toHaveLength(0));
  expect(calls("stopWaitingForAccount").at(-1)).toEqual({ accountId: "zyxwvutsrqponmlk", confirmed: true, takenBack: 0 });
});

it("Stop waiting names apart the emails waiting, the reminders of emails registered already and the replies, singular or plural", async () => {
  const account = (accountId: string, parts: Partial<WaitingAccount>): WaitingAccount => ({
    accountId,
    trackerUrl: "https://old.example",
    emails: 0,
    takenBack: 0,
    reminders: 0,
    replies: 0,
    ...parts,
  });
  background.waitingFor = [
    account("emailsonlyabcdef", { emails: 2 }),
    account("remindersonlyabc", { reminders: 1 }),
    account("repliesonlyabcde", { replies: 2 }),
    account("allthreeabcdefgh", { emails: 1, reminders: 2, replies: 1 }),
    account("takenbackabcdefg", { takenBack: 2 }),
  ];
  poll();
  await vi.waitFor(() => expect(document.querySelectorAll("[data-testid=waiting-account]")).toHaveLength(5));
  const where = "at https://old.example until you connect to it again";
  expect([...document.querySelectorAll("[data-testid=waiting-account] p")].map((p) => p.textContent)).toEqual([
    `Waiting for account emailsonlyabcdef ${where}: 2 emails to register.`,
    `Waiting for account remindersonlyabc ${where}: the follow-up reminders of 1 email registered already.`,
    `Waiting for account repliesonlyabcde ${where}: 2 replies seen in Gmail.`,
    `Waiting for account allthreeabcdefgh ${where}: 1 email to register, the follow-up reminders of 2 emails registered already, and 1 reply seen in Gmail.`,
    `Waiting for account takenbackabcdefg ${where}: 2 emails taken back in Gmail.`,
  ]);
  for (const button of document.querySelectorAll<HTMLButtonElement>("button[name=stop-waiting]")) button.click();
  const goes = "will be removed from this browser and never reach any tracker.";
  await vi.waitFor(() =>
    expect([...document.querySelectorAll("[data-testid=stop-waiting-question] p")].map((p) => p.textContent)).toEqual([
      `Stop waiting for account emailsonlyabcdef? Its 2 emails waiting (never tracked) ${goes}`,
      `Stop waiting for account remindersonlyabc? The reminders of 1 email registered already ${goes}`,
      `Stop waiting for account repliesonlyabcde? The 2 replies seen for its emails (never counted) ${goes}`,
      `Stop waiting for account allthreeabcdefgh? Its 1 email waiting (never tracked), the reminders of 2 emails registered already, and the 1 reply seen for its emails (never counted) ${goes}`,
      `Stop waiting for account takenbackabcdefg? Its 2 emails taken back in Gmail (never withdrawn from that tracker) ${goes}`,
    ]),
  );
  // Those taken back, asked again by their count, plural.
  for (const button of document.querySelectorAll<HTMLButtonElement>("button[name=confirm-stop-waiting]"))
    if (button.closest("li")?.textContent?.includes("takenbackabcdefg")) button.click();
  await vi.waitFor(() =>
    expect($("[data-testid=drop-withdrawals-question]")?.textContent).toBe(
      'Drop the 2 withdrawals? 2 emails of account takenbackabcdefg taken back in Gmail were never withdrawn from that account\'s tracker, which keeps them as sent. To withdraw them, connect to account takenbackabcdefg again instead: their withdrawals go at once. If you stop waiting now, they stay as sent there until you connect to account takenbackabcdefg and press "Delete tracking data" on their pages in the dashboard.Drop the 2 withdrawals and stop waitingCancel',
    ),
  );
  expect(calls("stopWaitingForAccount")).toEqual([]);
  // Another taken back in Gmail while asked (or a refusal for that): the question closes, to be asked anew by the count.
  background.waitingFor = [account("takenbackabcdefg", { takenBack: 3 })];
  poll();
  await vi.waitFor(() => expect(document.querySelectorAll("[data-testid=waiting-account]")).toHaveLength(1));
  expect($("[data-testid=drop-withdrawals-question]")).toBeNull();
  expect($<HTMLButtonElement>("button[name=stop-waiting]")?.disabled).toBe(false);
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

it("a field not understood says what, next to it, saves nothing, says no 'Saved' and keeps the rep's text", async () => {
  const waits = typeInto("followUpDaysByCampaign", "Q4: 2\nWebinar 5");
  await vi.waitFor(() => expect($("[data-testid=followUpDaysByCampaign-problems]")?.textContent).toContain('"Webinar 5" has no colon'));
  const days = typeInto("followUpDays", "400");
  await vi.waitFor(() => expect($("[data-testid=followUpDays-problems]")?.textContent).toContain('"400" is not a whole number of days'));
  const domains = typeInto("excludedRecipientDomains", "acme.org\nbob@acme.com");
  await vi.waitFor(() =>
    expect($("[data-testid=excludedRecipientDomains-problems]")?.textContent).toContain('"bob@acme.com" is an email address'),
  );
  expect(background.saves).toEqual([]);
  expect($("[data-testid=saved]")).toBeNull();
  expect([waits.value, days.value, domains.value]).toEqual(["Q4: 2\nWebinar 5", "400", "acme.org\nbob@acme.com"]);
  expect(waits.getAttribute("aria-describedby")).toBe("followUpDaysByCampaign-problems");

  // Corrected, it saves, says so, and the problem goes.
  typeInto("followUpDaysByCampaign", "Q4: 2\nWebinar: 5");
  await vi.waitFor(() => expect(background.saves).toEqual([{ followUpDaysByCampaign: { Q4: 2, Webinar: 5 } }]));
  await vi.waitFor(() => expect($("[data-testid=saved]")).not.toBeNull());
  expect($("[data-testid=followUpDaysByCampaign-problems]")).toBeNull();
  await vi.waitFor(() => expect($<HTMLTextAreaElement>("[name=followUpDaysByCampaign]")?.value).toBe("Q4: 2\nWebinar: 5"));
  // The others still say what they did not understand and show what the rep typed.
  expect($("[data-testid=followUpDays-problems]")).not.toBeNull();
  expect($<HTMLInputElement>("[name=followUpDays]")?.value).toBe("400");
});

it("connected to a tracker its recipients cannot reach, the page says what it costs, and offers to track links all the same", async () => {
  const notice = "Recipients cannot reach your tracker at 127.0.0.1:8787 (this computer or a private network): …";
  const trackLinks = "input[name=trackLinksOutOfReach]";
  expect($(trackLinks)).toBeNull();
  background.connection = { ...CONNECTED, trackerUrl: "http://127.0.0.1:8787", notice };
  // The page reads the connection again every 3 s.
  poll();
  await vi.waitFor(() => expect($("[data-testid=tracker-notice]")?.textContent).toBe(notice));
  // Off until the rep turns it on, as a rep would: a click on its checkbox, saved.
  expect($<HTMLInputElement>(trackLinks)?.checked).toBe(false);
  expect($(trackLinks)?.closest("label")?.textContent).toContain("Track links even though recipients cannot reach this tracker");
  await click(trackLinks);
  await vi.waitFor(() => expect(background.saves).toEqual([{ trackLinksOutOfReach: true }]));
  background.connection = CONNECTED;
  poll();
  await vi.waitFor(() => expect($("[data-testid=tracker-notice]")).toBeNull());
  expect($(trackLinks)).toBeNull();
});

it("connected to a tracker with a tailnet's name, the option to track its links says it is for one published with Tailscale Funnel", async () => {
  const tailnet = "https://box.tail1234.ts.net";
  background.connection = {
    ...CONNECTED,
    trackerUrl: tailnet,
    notice: "Recipients cannot reach your tracker at box.tail1234.ts.net unless …",
  };
  poll();
  const trackLinks = "input[name=trackLinksOutOfReach]";
  await vi.waitFor(() => expect($(trackLinks)).not.toBeNull());
  const label = $(trackLinks)?.closest("label")?.textContent ?? "";
  expect(label).toContain("this tracker is published with Tailscale Funnel, so recipients reach it");
  expect(label).not.toContain("for trying Mailtracker on this computer");
});

it("Replace the API token asks first, saying what it does and does not change, then shows the new token once", async () => {
  background.connection = CONNECTED;
  await click("button[name=replace-token]");
  await vi.waitFor(() => expect($("[data-testid=replace-token-question]")).not.toBeNull());
  const question = $("[data-testid=replace-token-question]")?.textContent ?? "";
  expect(question).toContain("refuses the old one from then on");
  expect(question).toContain("Your other browsers connected with the old token must connect again with the new one.");
  expect(question).toContain("This browser makes a new token, shown here once");
  expect(question).toContain("The tracker's cache can let the old token in for about a minute more.");
  expect(question).toContain("Emails you already sent stay tracked");
  expect(question).toContain("signing key, which is not replaced");
  await click("button[name=cancel-replace-token]");
  await vi.waitFor(() => expect($("[data-testid=replace-token-question]")).toBeNull());
  expect(calls("replaceApiToken")).toEqual([]);

  await click("button[name=replace-token]");
  await click("button[name=confirm-replace-token]");
  await vi.waitFor(() => expect($("[data-testid=new-token]")?.textContent).toBe("mt_the_new_token"));
  expect(calls("replaceApiToken")).toEqual([{ confirmed: true }]);
  expect($("[data-testid=replace-token-question]")).toBeNull();
  expect($("button[name=copy-token]")).not.toBeNull();
  expect($("[data-testid=notice]")?.className).toBe("ok");
  expect($("[data-testid=notice]")?.textContent).toBe(
    "Replaced the API token of account abcdefghijklmnop: the old one no longer works. Connect your other browsers with the new one below.",
  );
});

it("a replacement whose answer was lost but whose new token works is said so, and the token shown once", async () => {
  background.replacement = {
    apiToken: "mt_tried_and_working",
    kept: true,
    problem: null,
    answerLost: "cannot reach the tracker at https://t.example (signal timed out)",
  };
  await click("button[name=replace-token]");
  await click("button[name=confirm-replace-token]");
  await vi.waitFor(() => expect($("[data-testid=new-token]")?.textContent).toBe("mt_tried_and_working"));
  expect($("[data-testid=notice]")?.className).toBe("ok");
  expect($("[data-testid=notice]")?.textContent).toBe(
    "Replaced the API token of account abcdefghijklmnop: the old one no longer works. The tracker's answer did not arrive (cannot reach the tracker at https://t.example (signal timed out)), so the new token was tried: it works, and this browser uses it. Connect your other browsers with the new one below.",
  );
});

it("a replaced token this browser could not switch to is shown once, and the page says so and what to do", async () => {
  background.replacement = { apiToken: "mt_kept_nowhere", kept: false, problem: "QuotaExceededError: the disk is full", answerLost: null };
  await click("button[name=replace-token]");
  await click("button[name=confirm-replace-token]");
  await vi.waitFor(() => expect($("[data-testid=notice]")?.className).toBe("error"));
  expect($("[data-testid=notice]")?.textContent).toBe(
    'The tracker replaced the API token, but this browser could not switch to the new one (QuotaExceededError: the disk is full), and the tracker refuses the one it uses. Copy the new token below now: this browser tries again when it restarts, or connect with it under "Connect to another account or tracker".',
  );
  expect($("[data-testid=new-token]")?.textContent).toBe("mt_kept_nowhere");
});

it("a replacement left unsettled: Show the API token shows both tokens and why, to be kept until Test connection says which", async () => {
  background.connection = CONNECTED;
  background.held = {
    ...background.held,
    unsettled: { apiToken: "mt_maybe_in_place", why: "the tracker did not answer (cannot reach the tracker at https://t.example)" },
  };
  // A replacement since the token was shown: the page asks again rather than show the token of before.
  await vi.waitFor(() => expect($("button[name=show-token]")).not.toBeNull());
  await click("button[name=show-token]");
  await vi.waitFor(() => expect($("[data-testid=pending-token]")?.textContent).toBe("mt_maybe_in_place"));
  expect($("[data-testid=stored-token]")?.textContent).toBe("mt_the_only_key");
  expect($("[data-testid=unsettled-token]")?.textContent).toContain(
    "A replacement of this token you asked for is not settled: the tracker did not answer (cannot reach the tracker at https://t.example). The tracker may take this new token in place of the one above, or has already: keep both until Test connection says which.",
  );
  expect($("button[name=copy-pending-token]")).not.toBeNull();
});

it("a disconnect that settled a replacement, or could not, shows the tokens to keep once the credentials are gone", async () => {
  background.disconnectKeep = {
    accountId: "abcdefghijklmnop",
    apiToken: "mt_the_only_key",
    replaced: false,
    unsettled: { apiToken: "mt_maybe_in_place", why: "the tracker did not answer (cannot reach the tracker at https://t.example)" },
  };
  await click("button[name=disconnect]");
  background.connection = { ...CONNECTED, connected: false, accountId: null, lastAccountId: "abcdefghijklmnop", problem: "disconnected" };
  await click("button[name=confirm-disconnect]");
  await vi.waitFor(() => expect(calls("disconnect")).toEqual([{ confirmed: true }]));
  await vi.waitFor(() =>
    expect($("[data-testid=notice]")?.textContent).toContain("keep the one below, it may not be the one shown before"),
  );
  expect($("[data-testid=pending-token]")?.textContent).toBe("mt_maybe_in_place");
  expect($("[data-testid=stored-token]")?.textContent).toBe("mt_the_only_key");
});

it("the browser's answer for the tracker connected before does not speak for the one connected now", async () => {
  access.withheld.add("https://other.example/*");
  access.held = [];
  // Connected to another tracker elsewhere (another tab): the page reads the connection again every 3 s.
  background.connection = { ...CONNECTED, trackerUrl: "https://other.example" };
  const other = "Connected to https://other.example (account abcdefghijklmnop)";
  poll();
  await vi.waitFor(() => expect(line()[0]).toContain("https://other.example"));
  expect(line()).toEqual([`${other}; asking the browser whether Mailtracker may reach it…`, "muted"]);
  const held = access.held;
  access.held = null;
  for (const answer of held) answer();
  await vi.waitFor(() => expect(line()).toEqual([`${other}, but ${trackerAccessOffAbove("https://other.example")}`, "error"]));
  access.withheld.clear();
  background.connection = CONNECTED;
  poll();
  await vi.waitFor(() => expect(line()).toEqual([CONNECTED_TO, "ok"]));
});

it("opened again, the page paints the connection line from the browser's last answer at once, marked so until this page's own answer", async () => {
  background.connection = CONNECTED;
  poll();
  await vi.waitFor(() => expect(line()).toEqual([CONNECTED_TO, "ok"]));
  // The browser answers this page (asked again on a permission change heard), which remembers it for the next.
  announce();
  await vi.waitFor(() => expect(localStorage.length).toBe(1));
  // The rep closes the page, withholds the tracker's site in the browser's settings, and opens the page again; this
  // time the browser's answer is slow to come.
  const app = $("#app");
  if (app) render(null, app);
  access.withheld.add("https://t.example/*");
  access.held = [];
  vi.resetModules();
  document.body.innerHTML = '<div id="app"></div>';
  await import("./main");
  await vi.waitFor(() => expect(line()).toEqual([CONNECTED_TO, "ok"]));
  expect($("[data-testid=connection]")?.getAttribute("aria-busy")).toBe("true");
  // The answer to this page, the site withheld, replaces the remembered one.
  const held = access.held;
  access.held = null;
  for (const answer of held) answer();
  await vi.waitFor(() => expect(line()).toEqual([`${CONNECTED_TO}, but ${trackerAccessOffAbove("https://t.example")}`, "error"]));
  expect($("[data-testid=connection]")?.getAttribute("aria-busy")).toBe("false");
});
