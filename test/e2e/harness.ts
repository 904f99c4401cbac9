// What the scenarios need from a browser, implemented once for Chromium (playwright-core) and once for Firefox
// (puppeteer-core). Both load the built extension unpacked and answer Google's hosts from SimulatedGoogle.
import { existsSync } from "node:fs";
import type { SimulatedGoogle } from "./gmail-sim/google";
import { eventually } from "./wait.ts";

/**
 * The executable of a browser the tests drive: `variable` from the environment, or Debian's path. A browser that is
 * not there stops the tests with one line saying how to get it, not a driver's stack trace.
 */
export function installedBrowser(variable: string, debianPath: string, debianPackage: string): string {
  // An empty variable is an unset one, as .ci/run reads it (${CHROMIUM_PATH:-…}).
  const executable = process.env[variable] || debianPath;
  if (existsSync(executable)) return executable;
  throw new Error(
    `${executable} not found: install ${debianPackage} (Debian: sudo apt-get install ${debianPackage}), or set ${variable} to the browser's executable`,
  );
}

export interface Tab {
  goto(url: string): Promise<void>;
  click(selector: string): Promise<void>;
  type(selector: string, text: string): Promise<void>;
  /** Focuses `selector` and presses a key, e.g. "Enter", " ", or "Control+Enter". */
  press(selector: string, key: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Resolves once `fn` returns something truthy in the page; rejects after `timeoutMs`. */
  waitFor<A>(fn: (arg: A) => unknown, arg: A, timeoutMs?: number): Promise<void>;
  /**
   * Brings the tab to the front of its window, as the user's click on it does: its document becomes visible and the
   * tab shown before it hidden (where the driver does not emulate focus: Firefox, and Chromium under puppeteer).
   */
  bringToFront(): Promise<void>;
  /** Saves a PNG of the whole page to `file` (the e2e run keeps them under .cache/ for reviewers). */
  screenshot(file: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Ctrl+clicks `selector` (a link) and returns the tab it opened: a real background tab, its document hidden (the
   * drivers' focus emulation does not apply to it; the scenario checks `document.visibilityState`). Only where the
   * driver can follow the new tab (Chromium).
   */
  openInBackground?(selector: string): Promise<Tab>;
}

export interface BrowserHarness {
  name: string;
  google: SimulatedGoogle;
  /** The URL of a file of the built extension, e.g. "extension/src/options/index.html". */
  extensionUrl(file: string): string;
  newTab(url: string): Promise<Tab>;
  /** The addresses of every open tab, including those the extension opened itself. */
  tabUrls(): Promise<string[]>;
  /** A tab already open whose address starts with `prefix` (one the extension opened itself, say), if any. */
  openTab(prefix: string): Promise<Tab | undefined>;
  /** Closes every tab whose address starts with `prefix`, as the user would. */
  closeTabs(prefix: string): Promise<void>;
  /**
   * Stops the extension's background now, as the browser stops it once it idles, its memory lost (Chromium: its
   * service worker; only where the driver can: scenarios.ts BrowserAbilities.stopsBackground). Resolves once the
   * browser reports it stopped; `restarts` then counts the times it started again since (woken by an alarm, a
   * message, a permission change): a scenario checks it to know what it saw came from a background started afresh.
   */
  stopBackground?(): Promise<{ restarts(): number }>;
  close(): Promise<void>;
}

export const WAIT_MS = 20_000;

/**
 * Opens the extension's options page, enters the tracker URL and connects: with `apiToken`, to that existing account
 * (what a rep does in a second browser), else creating an account there. Returns the page (still open), the API
 * token (the one shown once for a new account), and the error notice if connecting failed.
 */
export async function connectFromOptions(
  harness: Pick<BrowserHarness, "newTab" | "extensionUrl">,
  trackerUrl: string,
  apiToken?: string,
): Promise<{ options: Tab; apiToken: string; error: string | null }> {
  const options = await harness.newTab(harness.extensionUrl("extension/src/options/index.html"));
  await options.waitFor(() => document.querySelector("input[name=trackerUrl]"), null);
  // While connected, the options page tucks the connection form away behind a fold: open it, as a rep would.
  await options.evaluate(() => {
    const fold = document.querySelector<HTMLDetailsElement>("[data-testid=change-connection]");
    if (fold) fold.open = true;
  }, null);
  await options.evaluate(
    ({ url, token }) => {
      const fill = (name: string, value: string) => {
        const input = document.querySelector(`input[name=${name}]`) as HTMLInputElement;
        input.value = value;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      };
      fill("trackerUrl", url);
      if (token) fill("apiToken", token);
    },
    { url: trackerUrl, token: apiToken ?? "" },
  );
  /** Connected, created, or refused; `orAsked`: or the question below. */
  const answered = (orAsked: boolean) =>
    options.waitFor(
      (asked) =>
        document.querySelector("[data-testid=new-token], [data-testid=notice].error") ||
        document.querySelector("[data-testid=notice]")?.textContent?.startsWith("Connected to account") ||
        (asked && document.querySelector("[data-testid=other-account-question]")),
      orAsked,
    );
  await options.click("button[name=connect]");
  await answered(true);
  // Connected to another account already (an earlier scenario's): the page asks before the token takes its place.
  if (await options.evaluate(() => !!document.querySelector("[data-testid=other-account-question]"), null)) {
    await options.click("button[name=connect-other-account]");
    await answered(false);
  }
  const error = await options.evaluate(() => document.querySelector("[data-testid=notice].error")?.textContent ?? null, null);
  const shown = await options.evaluate(() => document.querySelector("[data-testid=new-token]")?.textContent ?? "", null);
  return { options, apiToken: apiToken ?? shown, error };
}

/**
 * The extension's stored options, read in one of its pages (`tab`): as they were, with `change` merged in after when
 * one is given.
 */
export function storedOptions(tab: Tab, change: Record<string, unknown> | null = null): Promise<Record<string, unknown>> {
  return tab.evaluate(async (next) => {
    type Ext = { storage: { local: { get(key: string): Promise<Record<string, unknown>>; set(items: object): Promise<void> } } };
    const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
    const area = (g.browser ?? g.chrome)?.storage.local;
    const now = ((await area?.get("options"))?.options ?? {}) as Record<string, unknown>;
    if (next) await area?.set({ options: { ...now, ...next } });
    return now;
  }, change);
}

/**
 * Sets "Track links even though recipients cannot reach this tracker" on the options page `options`, connected to a
 * tracker on this machine, as a rep trying Mailtracker here does: links are otherwise left as written
 * (options-store.ts linksTracked). Resolves once saved, since a compose reads the stored settings.
 */
export async function trackLinksOutOfReach(options: Tab, on = true): Promise<void> {
  const box = "input[name=trackLinksOutOfReach]";
  // Shown once the page has read that the tracker is out of reach, which it does again after connecting.
  await options.waitFor((selector) => document.querySelector(selector), box);
  if ((await options.evaluate((selector) => document.querySelector<HTMLInputElement>(selector)?.checked, box)) !== on)
    await options.click(box);
  await eventually("links tracked or not, saved", async () =>
    (await storedOptions(options)).trackLinksOutOfReach === on ? true : undefined,
  );
}

/**
 * Pastes `html` into the body of the compose at `scope`, as a real editing command (the page sees the same input
 * events as from a user); `atStart`: before what the body holds (a reply's quote). The simulated Gmail enforces
 * Trusted Types like Gmail, so the HTML goes in as TrustedHTML where the browser has them.
 */
export function pasteInto(tab: Tab, scope: string, html: string, atStart = false): Promise<void> {
  return tab.evaluate(
    ({ s, h, start }) => {
      const body = document.querySelector(`${s} [g_editable]`) as HTMLElement;
      body.focus();
      if (start) {
        const selection = getSelection();
        selection?.selectAllChildren(body);
        selection?.collapseToStart();
      }
      type Policy = { createHTML(html: string): unknown };
      const w = window as unknown as { trustedTypes?: { createPolicy(n: string, r: object): Policy }; e2ePaste?: Policy };
      w.e2ePaste ??= w.trustedTypes?.createPolicy("e2e-paste", { createHTML: (text: string) => text });
      document.execCommand("insertHTML", false, (w.e2ePaste ? w.e2ePaste.createHTML(h) : h) as string);
    },
    { s: scope, h: html, start: atStart },
  );
}

/** A message from someone else in a sent thread of the simulated Gmail (`sim:receive`, gmail-sim.js). */
export interface ReceivedMessage {
  thread: string;
  from: string;
  name: string;
  text: string;
  quote?: boolean;
}

/**
 * Delivers `message` in the simulated Gmail, and resolves once the view on screen was drawn again with it
 * (`window.simReceived`): a test that went on to another view sooner would see that view emptied and drawn again.
 */
export function receiveInGmail(gmail: Tab, message: ReceivedMessage): Promise<unknown> {
  return gmail.evaluate((detail) => {
    document.dispatchEvent(new CustomEvent("sim:receive", { detail }));
    return (window as unknown as { simReceived: Promise<null> }).simReceived;
  }, JSON.stringify(message));
}

/**
 * Delivers `message` in the simulated Gmail and waits until the tracker counts it as a reply to its email: the email's
 * latest reply (`lastReplyAt`, read from the tracker) is then one that came no sooner than the delivery (a reply's time
 * is its Gmail id's, which the simulation mints from the time it arrives, gmail-sim.js `sim:receive`). A "nothing more
 * was counted" check waits for this, not for a fixed time: the scan that reported it also read everything on screen
 * before it came.
 */
export async function receivedAndCounted(gmail: Tab, message: ReceivedMessage, lastReplyAt: () => Promise<string | null>): Promise<void> {
  const since = Date.now();
  await receiveInGmail(gmail, message);
  await eventually(`the reply of ${message.from} counted`, async () => {
    const at = await lastReplyAt();
    return at !== null && Date.parse(at) >= since ? true : undefined;
  });
}

/** Reloads the simulated Gmail in `gmail`, and resolves once the new page is complete with its compose button. */
export async function reloadGmail(gmail: Tab): Promise<void> {
  await gmail.evaluate(() => {
    document.documentElement.dataset.beforeReload = "1";
    setTimeout(() => location.reload(), 0);
  }, null);
  await gmail.waitFor(
    () =>
      !document.documentElement.dataset.beforeReload && document.readyState === "complete" && document.querySelector("[data-sim=compose]"),
    null,
  );
}
