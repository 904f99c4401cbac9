// The background's watch over its access to Gmail and the tracker, across a background that is stopped and started
// again: Chrome stops an idle service worker after about 30 s and Firefox an event page, and either is woken again by
// the next event (a permission given back, a message). What the browser keeps meanwhile is modelled here, as Chrome
// documents it, as a unit test can at every step (the e2e scenario "with its access to Gmail and the tracker taken
// away…" runs the rest in Chromium and Firefox, and "…the background stopped between…" stops Chromium's service worker):
//   - the toolbar button's badge and title, the default one and each tab's, outlive the background (they belong to the
//     browser: chrome.action, developer.chrome.com/docs/extensions/reference/api/action, read 2026-12-05; a tab's
//     setting goes with the tab);
//   - storage.session outlives it too, until the extension is reloaded or updated (chrome.storage, "session");
//   - the module's memory does not (each start imports it afresh: vi.resetModules);
//   - tabs.sendMessage to a tab where no content script listens rejects ("Could not establish connection. Receiving
//     end does not exist.": Firefox's own test_ext_runtime_sendMessage_no_receiver.js asserts the words; both browsers
//     refused the reloaded tab's question so in the e2e scenario, Chromium 156 and Firefox ESR 140 and 153.8, 2026-12-05); to a
//     frozen tab it does not settle until the tab is thawed (gioxx/MarvellousSuspender pull
//     request 487, 2026-09-03); the content script answers the question content/features/gmail-health.ts answers
//     (isContentPing).
// Firefox also resets a tab's own badge when the tab loads a new page (MDN, action.setBadgeText, read 2026-12-05);
// Chrome documents a reset only when the tab closes, and that is what is modelled.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { isContentPing } from "../envelope";

type Listener = () => void;
const browserState = vi.hoisted(() => ({
  /** Host patterns the extension may reach. */
  granted: new Set<string>(),
  /** Badge text and title: "default" for the extension's own, else per tab. */
  badges: new Map<number | "default", string>(),
  titles: new Map<number | "default", string>(),
  session: {} as Record<string, unknown>,
  /** Open tabs, and whether the extension's content script runs in each (answers the ping), or the tab is frozen. */
  tabs: [] as { id: number; url: string; runs: boolean; frozen?: boolean; discarded?: boolean }[],
  permissionListeners: [] as Listener[],
  /** Every question put to a tab, by tab. */
  pings: [] as number[],
  /** Runs while a tab is being asked, before it answers: a page reporting meanwhile. */
  whileAsked: undefined as ((tabId: number) => Promise<void>) | undefined,
}));

vi.mock("webextension-polyfill", () => {
  const key = (details: { tabId?: number }) => details.tabId ?? "default";
  return {
    default: {
      runtime: { getManifest: () => ({ name: "Mailtracker", action: { default_title: "Mailtracker" } }) },
      action: {
        setBadgeText: async (details: { tabId?: number; text: string }) => void browserState.badges.set(key(details), details.text),
        setBadgeBackgroundColor: async () => undefined,
        setTitle: async (details: { tabId?: number; title: string }) => void browserState.titles.set(key(details), details.title),
        // A tab without a title of its own shows the default one (chrome.action.getTitle, read 2026-12-05).
        getTitle: async (details: { tabId?: number }) =>
          browserState.titles.get(key(details)) ?? browserState.titles.get("default") ?? "Mailtracker",
      },
      permissions: {
        contains: async ({ origins }: { origins: string[] }) => origins.every((origin) => browserState.granted.has(origin)),
        onAdded: { addListener: (listener: Listener) => void browserState.permissionListeners.push(listener) },
        onRemoved: { addListener: (listener: Listener) => void browserState.permissionListeners.push(listener) },
      },
      tabs: {
        onRemoved: { addListener: () => undefined },
        query: async ({ url }: { url: string }) =>
          browserState.tabs
            .filter((tab) => tab.url.startsWith(url.replace("*", "")))
            .map(({ id, url, discarded }) => ({ id, url, discarded: discarded === true })),
        sendMessage: async (tabId: number, message: unknown) => {
          browserState.pings.push(tabId);
          await browserState.whileAsked?.(tabId);
          const tab = browserState.tabs.find((candidate) => candidate.id === tabId);
          if (tab?.frozen) return new Promise(() => undefined);
          if (tab?.runs && isContentPing(message)) return true;
          throw new Error("Could not establish connection. Receiving end does not exist.");
        },
      },
      storage: {
        session: {
          get: async (name: string) => (name in browserState.session ? { [name]: structuredClone(browserState.session[name]) } : {}),
          set: async (items: Record<string, unknown>) => void Object.assign(browserState.session, structuredClone(items)),
        },
      },
    },
  };
});

// The same browser for the modules that use the browser's own promise API (options-store.ts, messaging.ts).
vi.mock("../web-ext", async () => ({ browser: (await import("webextension-polyfill")).default }));

const WITHDRAWN =
  "Nothing you send is tracked: Mailtracker's access to Gmail (mail.google.com) is turned off in the browser's extension settings.";
const RELOAD =
  "Reload this Gmail tab: it was open before Mailtracker was installed, updated or allowed into Gmail, so nothing in it is tracked.";
const INBOX = "https://mail.google.com/mail/u/0/#inbox";

const GMAIL = "https://mail.google.com/*";
const TRACKER_URL = "https://t.acme-sales.com";
const TRACKER = "https://t.acme-sales.com/*";
const NO_TRACKER =
  "Opens and clicks are not shown or notified, and your own views of tracked emails may count as opens: Mailtracker's access to your tracker (t.acme-sales.com) is turned off in the browser's extension settings. Emails you send still carry their tracking.";

/** A background starting, connected to TRACKER_URL: the module afresh, its watch begun, and its first check done. */
async function startBackground() {
  vi.resetModules();
  browserState.permissionListeners = [];
  const health = await import("./gmail-health");
  health.watchGmailHealth(async () => TRACKER_URL);
  await settle();
  return health;
}

/** The browser telling the background its permissions changed (it is woken for it if stopped): Gmail's, or those named. */
async function permissionsChanged(granted: boolean, origins = [GMAIL]) {
  for (const origin of origins) browserState.granted[granted ? "add" : "delete"](origin);
  for (const listener of browserState.permissionListeners) listener();
  await settle();
}

/**
 * Until the background's work for what just happened is done: the browser's stand-ins above answer in microtasks, all
 * run before the next task, so nothing depends on how long it takes (a 20 ms sleep here suggested it did).
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A Gmail tab's report, as its content script sends it, all recognised. */
async function report(health: typeof import("./gmail-health"), tabId: number) {
  const parts = Object.fromEntries(health.GMAIL_PARTS.map((part) => [part, "ok"])) as Record<(typeof health.GMAIL_PARTS)[number], "ok">;
  await health.gmailHealthGmailHandlers.reportGmailHealth.run(parts, { tab: { id: tabId }, url: INBOX } as never);
}

beforeEach(() => {
  Object.assign(browserState, {
    granted: new Set([GMAIL, TRACKER]),
    badges: new Map(),
    titles: new Map(),
    session: {},
    tabs: [],
    pings: [],
    whileAsked: undefined,
  });
});

describe("the background's watch over its access to Gmail and the tracker", () => {
  it("clears the '!' it drew when access comes back while it was stopped, and asks only the Gmail tabs that stopped running it to reload", async () => {
    browserState.tabs = [
      { id: 1, url: INBOX, runs: true },
      { id: 2, url: INBOX, runs: true },
      { id: 3, url: "https://example.com/", runs: false },
    ];
    const first = await startBackground();
    await report(first, 1);
    await report(first, 2);
    await permissionsChanged(false);
    expect(browserState.badges.get("default")).toBe("!");
    expect(browserState.titles.get("default")).toBe(`Mailtracker: ${WITHDRAWN}`);
    expect(browserState.badges.get(1)).toBe("!");

    // Stopped; tab 2 reloaded meanwhile, so nothing of the extension runs in it. Access given back wakes a new
    // background, which remembers nothing of what it drew, and which checks as it starts and again for the grant.
    browserState.tabs = browserState.tabs.map((tab) => (tab.id === 2 ? { ...tab, runs: false } : tab));
    browserState.granted.add(GMAIL);
    await startBackground();
    await permissionsChanged(true);
    // Each tab that reported asked once: the two checks ran one after the other, and the second found nothing to do.
    expect(browserState.pings.sort()).toEqual([1, 2]);
    expect(browserState.badges.get("default")).toBe("");
    expect(browserState.titles.get("default")).toBe("Mailtracker");
    expect(browserState.badges.get(1)).toBe("");
    expect(browserState.titles.get(1)).toBe("Mailtracker");
    expect(browserState.badges.get(2)).toBe("!");
    expect(browserState.titles.get(2)).toBe(`Mailtracker: ${RELOAD}`);
    // Its report is of the page before: dropped from storage.session too, so a later start does not bring it back.
    const kept = (await startBackground()).gmailHealthPageHandlers.gmailHealth.run({ tabId: 2 }, {} as never);
    expect(await kept).toMatchObject({ tabId: 1, front: false });
  });

  it("forgets a reloaded tab's report at once, but keeps one that came in while the tab was asked", async () => {
    browserState.tabs = [
      { id: 1, url: INBOX, runs: true },
      { id: 2, url: INBOX, runs: true },
    ];
    const health = await startBackground();
    await report(health, 1);
    await report(health, 2);
    await permissionsChanged(false);
    // Both reloaded while access was off; tab 1's new page, started once access is back, reports while it is asked.
    browserState.tabs = browserState.tabs.map((tab) => ({ ...tab, runs: false }));
    browserState.whileAsked = async (tabId) => {
      if (tabId === 1) await report(health, 1);
    };
    await permissionsChanged(true);
    expect(browserState.badges.get(1)).toBe("");
    expect(browserState.badges.get(2)).toBe("!");
    expect(await health.gmailHealthPageHandlers.gmailHealth.run({ tabId: 2 }, {} as never)).toMatchObject({ tabId: 1, front: false });
    expect(await health.gmailHealthPageHandlers.gmailHealth.run({ tabId: 1 }, {} as never)).toMatchObject({ tabId: 1, front: true });
  });

  it("does not wait on a frozen tab to mark the others, nor mark a discarded tab, which loads again when shown", async () => {
    browserState.tabs = [
      { id: 1, url: INBOX, runs: true },
      { id: 2, url: INBOX, runs: true },
      { id: 3, url: INBOX, runs: false, discarded: true },
    ];
    const health = await startBackground();
    await report(health, 1);
    await report(health, 2);
    await permissionsChanged(false);
    browserState.tabs = browserState.tabs.map((tab) =>
      tab.id === 1 ? { ...tab, frozen: true } : tab.id === 2 ? { ...tab, runs: false } : tab,
    );
    await permissionsChanged(true);
    await vi.waitFor(() => expect(browserState.badges.get(2)).toBe("!"), { timeout: 5_000 });
    expect(browserState.badges.get(1)).toBe("");
    expect(browserState.badges.get(3)).toBeUndefined();
    expect(browserState.pings).not.toContain(3);
  });

  it("leaves every button alone when it starts with access as it last saw it (a service worker wakes on every message)", async () => {
    browserState.tabs = [{ id: 1, url: INBOX, runs: true }];
    const first = await startBackground();
    await report(first, 1);
    // A tab's own sentence, drawn by its report: a missing part, say.
    browserState.badges.set(1, "!");
    browserState.titles.set(1, "Mailtracker: Sent marks are off: Gmail changed its rows.");
    const before = [new Map(browserState.badges), new Map(browserState.titles)];
    await startBackground();
    expect([browserState.badges, browserState.titles]).toEqual(before);
  });

  it("says on every tab that nothing is tracked when it starts with access already taken away", async () => {
    browserState.granted.delete(GMAIL);
    browserState.tabs = [{ id: 1, url: INBOX, runs: false }];
    await startBackground();
    expect(browserState.badges.get("default")).toBe("!");
    expect(browserState.titles.get("default")).toBe(`Mailtracker: ${WITHDRAWN}`);
  });

  it("says so on every tab while the tracker may not be reached, Gmail's own settings as they are, and stops once it may", async () => {
    browserState.tabs = [{ id: 1, url: INBOX, runs: true }];
    const health = await startBackground();
    await report(health, 1);
    // Chrome's "On specific sites" naming mail.google.com alone: the tracker's host is withheld.
    await permissionsChanged(false, [TRACKER]);
    expect(browserState.badges.get("default")).toBe("!");
    expect(browserState.titles.get("default")).toBe(`Mailtracker: ${NO_TRACKER}`);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${NO_TRACKER}`);
    // Chrome's "On click": both, Gmail's first.
    await permissionsChanged(false, [GMAIL]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${WITHDRAWN} ${NO_TRACKER}`);
    await permissionsChanged(true, [GMAIL, TRACKER]);
    expect(browserState.badges.get("default")).toBe("");
    expect(browserState.titles.get(1)).toBe("Mailtracker");
  });

  it("says on every tab, a Gmail tab's own sentences after it, that the tracker does not answer, until it does", async () => {
    browserState.tabs = [{ id: 1, url: INBOX, runs: true }];
    const health = await startBackground();
    await report(health, 1);
    const DOWN =
      "New opens and clicks are not shown or notified: Mailtracker cannot reach your tracker (t.acme-sales.com) since 10:42. Gmail's marks show what it said before.";
    await health.showTrackerTrouble(DOWN);
    expect(browserState.badges.get("default")).toBe("!");
    expect([browserState.titles.get("default"), browserState.titles.get(1)]).toEqual([`Mailtracker: ${DOWN}`, `Mailtracker: ${DOWN}`]);
    // With the access checks, which draw the same buttons: neither undoes the other.
    await permissionsChanged(false, [GMAIL]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${WITHDRAWN} ${DOWN}`);
    await permissionsChanged(true, [GMAIL]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${DOWN}`);
    await health.showTrackerTrouble(null);
    expect(browserState.badges.get("default")).toBe("");
    expect([browserState.titles.get("default"), browserState.titles.get(1)]).toEqual(["Mailtracker", "Mailtracker"]);
  });

  it("redraws a tab told to reload when access changes again, though it has no report", async () => {
    browserState.tabs = [{ id: 1, url: INBOX, runs: true }];
    const health = await startBackground();
    await report(health, 1);
    await permissionsChanged(false, [GMAIL, TRACKER]);
    browserState.tabs = [{ id: 1, url: INBOX, runs: false }];
    await permissionsChanged(true, [GMAIL]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${NO_TRACKER} ${RELOAD}`);
    await permissionsChanged(true, [TRACKER]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${RELOAD}`);
    expect(browserState.badges.get("default")).toBe("");
  });

  it("still redraws a tab told to reload when access changes after a restart, though it has no report", async () => {
    browserState.tabs = [{ id: 1, url: INBOX, runs: true }];
    const health = await startBackground();
    await report(health, 1);
    await permissionsChanged(false, [GMAIL, TRACKER]);
    browserState.tabs = [{ id: 1, url: INBOX, runs: false }];
    await permissionsChanged(true, [GMAIL, TRACKER]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${RELOAD}`);
    // Stopped, then woken by the tracker's access taken away: the tab still says both.
    await startBackground();
    await permissionsChanged(false, [TRACKER]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${NO_TRACKER} ${RELOAD}`);
    await permissionsChanged(true, [TRACKER]);
    expect(browserState.titles.get(1)).toBe(`Mailtracker: ${RELOAD}`);
  });

  it("asks no Gmail tab anything when only the tracker's access comes back, across a restart too", async () => {
    browserState.tabs = [{ id: 1, url: INBOX, runs: true }];
    await report(await startBackground(), 1);
    await permissionsChanged(false, [TRACKER]);
    await startBackground();
    await permissionsChanged(true, [TRACKER]);
    expect(browserState.pings).toEqual([]);
    expect(browserState.titles.get(1)).toBe("Mailtracker");
  });
});

describe("the withheld access in words, as the watch and the options page say it", () => {
  it("names Gmail first, then the tracker when there is one, and nothing while both are allowed", async () => {
    const { withheldAccessSentences } = await import("./gmail-health");
    expect(withheldAccessSentences(TRACKER_URL, { gmail: true, tracker: true })).toEqual([]);
    expect(withheldAccessSentences(TRACKER_URL, { gmail: false, tracker: false })).toEqual([WITHDRAWN, NO_TRACKER]);
    expect(withheldAccessSentences(TRACKER_URL, { gmail: true, tracker: false })).toEqual([NO_TRACKER]);
    // Not connected: no tracker to reach, whatever its access says.
    expect(withheldAccessSentences(null, { gmail: false, tracker: false })).toEqual([WITHDRAWN]);
  });
});
