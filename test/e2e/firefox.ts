// Firefox ESR (Debian's /usr/bin/firefox-esr) driven by puppeteer-core over WebDriver BiDi, with the built
// dist/firefox installed as a temporary add-on. Its moz-extension:// UUID is pinned by a pref so the tests can open
// the options page and popup. No browser is downloaded.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, installedBrowser, WAIT_MS } from "./harness";
import { answerFromGoogle, puppeteerTab as tab } from "./puppeteer-tab";
import { eventually } from "./wait";

export const FIREFOX_DIST = path.resolve(import.meta.dirname, "../../dist/firefox");
const ADDON_ID = "mailtracker@mailtracker.dev";

const firefoxPath = () => installedBrowser("FIREFOX_PATH", "/usr/bin/firefox-esr", "firefox-esr");

let installedVersion: number | undefined;

/** The installed Firefox's major version, asked of it once. */
function firefoxVersion(): number {
  if (installedVersion === undefined) {
    const said = execFileSync(firefoxPath(), ["--version"], { encoding: "utf8" });
    const version = /Firefox (\d+)\./.exec(said)?.[1];
    if (!version) throw new Error(`cannot read the Firefox version from "${said.trim()}"`);
    installedVersion = Number(version);
  }
  return installedVersion;
}

/**
 * Whether the installed Firefox enforces Trusted Types, as Gmail asks: from Firefox 148 (web-features
 * "trusted-types", Firefox 148 released 2026-02-24; Debian's firefox-esr 153.8 has `window.trustedTypes`, seen
 * 2026-12-05). Earlier ones ignore the simulated page's CSP, and the same code passes strings there.
 */
export function firefoxEnforcesTrustedTypes(): boolean {
  return firefoxVersion() >= 148;
}

/**
 * The first Firefox known to hand the driver a request's body (WebDriver BiDi `network.getData`, which the simulated
 * Google reads Gmail's send requests through: puppeteer-tab.ts answerFromGoogle). Debian's firefox-esr 153.8 does
 * (2026-12-05); ESR 140.12 did not ("unknown command network.getData", 2026-11-30). The first version between them
 * that does is not known here.
 */
const FIREFOX_WITH_REQUEST_BODIES = 153;

/**
 * Firefox as the tests drive it, the add-on not installed yet (browser.installExtension(FIREFOX_DIST) installs it as a
 * temporary add-on; installed again, it is updated): `uuid` is the moz-extension:// host it gets. With `proxy` (an
 * http: URL), every http: request goes through that HTTP proxy, loopback hosts too.
 */
export async function startFirefox(proxy?: URL): Promise<{ browser: Browser; uuid: string }> {
  // Without it every simulated send would hang until its test times out: say why at once instead.
  const version = firefoxVersion();
  if (version < FIREFOX_WITH_REQUEST_BODIES)
    throw new Error(
      `Firefox ${version} cannot hand the test driver a request's body (WebDriver BiDi network.getData): the e2e tests need Firefox ${FIREFOX_WITH_REQUEST_BODIES} or later (Debian's firefox-esr)`,
    );
  const uuid = randomUUID();
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: firefoxPath(),
    headless: true,
    // The same viewport as Chromium's default in playwright, so the fixed compose bar is fully on screen.
    defaultViewport: { width: 1280, height: 720 },
    // WebDriver BiDi refuses to navigate a tab to moz-extension:// pages (our options page and popup) unless the
    // driver is allowed system access; this flag only widens what the test driver may do, not the extension.
    args: ["--remote-allow-system-access"],
    extraPrefsFirefox: {
      "extensions.webextensions.uuids": JSON.stringify({ [ADDON_ID]: uuid }),
      // What a user does in the install prompt: grant the manifest's host permissions (mail.google.com, the local
      // tracker). Firefox MV3 otherwise leaves them optional, and the options page asks again at connect time.
      "extensions.originControls.grantByDefault": true,
      // What a user does when the extension asks again for a permission it may have (the popup's "Allow Mailtracker in
      // Gmail"): allow. A prompt would wait for a click the driver cannot give (it is browser chrome, not a page).
      // Firefox's own extension tests turn prompts off with this pref (ext-permissions.js reads it; ESR 140, 2026-12-05).
      "extensions.webextOptionalPermissionPrompts": false,
      // Quiet, offline-friendly profile: no update checks or telemetry pings from the test browser.
      "app.update.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "extensions.update.enabled": false,
      ...(proxy && {
        "network.proxy.type": 1,
        "network.proxy.http": proxy.hostname,
        "network.proxy.http_port": Number(proxy.port),
        // Firefox sends localhost, 127.0.0.1 and [::1] direct whatever a manually set proxy says (Mozilla's advisory
        // MFSA 2019-01, CVE-2018-18506: proxying localhost "is disallowed by default when a proxy is manually
        // configured") unless this is true: without it ESR 153.8 did not ask the proxy for [::1] (2026-12-07). Nothing
        // else is bypassed: network.proxy.no_proxies_on is empty by default (ESR 153.8's greprefs.js).
        "network.proxy.allow_hijacking_localhost": true,
      }),
    },
  });
  return { browser, uuid };
}

/**
 * Opens an extension page (moz-extension://) in `page`. BiDi reports no navigation events for moz-extension://
 * documents, so page.goto never settles: start it and wait for the document itself instead. An evaluation that lands
 * while the old document is torn down fails with a protocol error (seen in CI), so each probe is one evaluate and a
 * failed one is retried.
 */
export async function openExtensionPage(page: Page, url: string): Promise<void> {
  page.goto(url, { timeout: WAIT_MS }).catch(() => undefined);
  await eventually(
    `${url} to load`,
    async () => (await page.evaluate((u) => location.href === u && document.readyState === "complete", url)) || undefined,
    WAIT_MS,
  );
}

/** Firefox with the built extension installed; `proxy` as startFirefox takes it. */
export async function launchFirefox(proxy?: URL): Promise<BrowserHarness> {
  const { browser, uuid } = await startFirefox(proxy);
  await browser.installExtension(FIREFOX_DIST);
  const google = new SimulatedGoogle();
  const answer = answerFromGoogle(google);
  /**
   * The open tabs whose address starts with `prefix`. BiDi names moz-extension:// tabs about:blank (page.url() and
   * browser.pages() said about:blank of an options page whose location.href was its moz-extension:// address; seen
   * 2026-12-07, Firefox 153.8.0esr, puppeteer-core 25.16.0): each is asked its own.
   */
  const pagesAt = async (prefix: string): Promise<Page[]> => {
    const pages: Page[] = [];
    for (const page of await browser.pages()) {
      const href = await page.evaluate(() => location.href).catch(() => page.url());
      if (href.startsWith(prefix)) pages.push(page);
    }
    return pages;
  };
  return {
    name: "firefox",
    google,
    extensionUrl: (file) => `moz-extension://${uuid}/${file}`,
    newTab: async (url) => {
      // A new tab goes into the most recent window. After the extension's desktop notifications that is at times not
      // a browser window (we take it to be the alert window headless Firefox shows them in), and Firefox ESR 140.12's
      // BiDi then cannot open a tab ("getTabBrowser(...) is undefined", seen 2026-11-30): the page gets a window.
      const page = await browser.newPage().catch((error: unknown) => {
        if (!String(error).includes("getTabBrowser")) throw error;
        return browser.newPage({ type: "window" });
      });
      page.on("console", (message) => {
        if (process.env.E2E_DEBUG) console.log(`[firefox console] ${message.text()}`);
      });
      if (!url.startsWith("moz-extension:")) {
        await page.setRequestInterception(true);
        page.on("request", (request) => void answer(request));
      }
      if (url.startsWith("moz-extension:")) await openExtensionPage(page, url);
      else await page.goto(url);
      return tab(page);
    },
    tabUrls: async () => (await browser.pages()).map((page) => page.url()),
    openTab: async (prefix) => {
      const [page] = await pagesAt(prefix);
      return page ? tab(page) : undefined;
    },
    closeTabs: async (prefix) => {
      for (const page of await pagesAt(prefix)) await page.close();
    },
    close: () => browser.close(),
  };
}
