// Firefox ESR (Debian's /usr/bin/firefox-esr) driven by puppeteer-core over WebDriver BiDi, with the built
// dist/firefox installed as a temporary add-on. Its moz-extension:// UUID is pinned by a pref so the tests can open
// the options page and popup. No browser is downloaded.
import { randomUUID } from "node:crypto";
import path from "node:path";
import puppeteer, { type HTTPRequest, type Page } from "puppeteer-core";
import { SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, type Tab, WAIT_MS } from "./harness";
import { eventually } from "./wait";

const DIST = path.resolve(import.meta.dirname, "../../dist/firefox");
export const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
const ADDON_ID = "mailtracker@mailtracker.dev";

function tab(page: Page): Tab {
  return {
    goto: async (url) => void (await page.goto(url)),
    click: async (selector) => {
      await page.waitForSelector(selector, { timeout: WAIT_MS });
      // Composes sit in a fixed bottom bar: bring the element into view as a user would before clicking.
      await page.$eval(selector, (element) => element.scrollIntoView({ block: "center" }));
      try {
        await page.click(selector);
      } catch (error) {
        // BiDi sometimes finds no clickable point on elements of the fixed bottom bar; a DOM click is the same event.
        if (!String(error).includes("not clickable")) throw error;
        await page.$eval(selector, (element) => (element as HTMLElement).click());
      }
    },
    type: async (selector, text) => {
      await page.waitForSelector(selector, { timeout: WAIT_MS });
      await page.type(selector, text);
    },
    press: async (selector, key) => {
      await page.waitForSelector(selector, { timeout: WAIT_MS });
      await page.focus(selector);
      const parts = key === "+" ? ["+"] : key.split("+");
      const main = parts.pop() as Parameters<Page["keyboard"]["press"]>[0];
      const modifiers = parts as Parameters<Page["keyboard"]["down"]>[0][];
      for (const modifier of modifiers) await page.keyboard.down(modifier);
      await page.keyboard.press(main === " " ? "Space" : main);
      for (const modifier of modifiers.reverse()) await page.keyboard.up(modifier);
    },
    evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
    waitFor: async (fn, arg, timeoutMs = WAIT_MS) =>
      void (await page.waitForFunction(fn as never, { timeout: timeoutMs, polling: 100 }, arg)),
    close: () => page.close(),
  };
}

export async function launchFirefox(): Promise<BrowserHarness> {
  const uuid = randomUUID();
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
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
      // Quiet, offline-friendly profile: no update checks or telemetry pings from the test browser.
      "app.update.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "extensions.update.enabled": false,
    },
  });
  await browser.installExtension(DIST);
  const google = new SimulatedGoogle();
  // Only Google's hosts are simulated; the tracker (127.0.0.1) is the real worker under wrangler dev.
  const answer = async (request: HTTPRequest) => {
    if (request.isInterceptResolutionHandled()) return;
    try {
      const url = request.url();
      if (!/^https:\/\/(mail\.google\.com|ci\d+\.googleusercontent\.com)\//.test(url)) return void (await request.continue());
      // Over BiDi only fetchPostData() works (postData() is CDP-only).
      const postData = request.hasPostData() ? ((await request.fetchPostData()) ?? null) : null;
      const response = await google.handle(url, request.method(), postData);
      if (!response) return void (await request.continue());
      await request.respond({ status: response.status, contentType: response.contentType, body: response.body, headers: response.headers });
    } catch (error) {
      console.error("interception failed", error);
    }
  };
  return {
    name: "firefox",
    google,
    extensionUrl: (file) => `moz-extension://${uuid}/${file}`,
    newTab: async (url) => {
      const page = await browser.newPage();
      page.on("console", (message) => {
        if (process.env.E2E_DEBUG) console.log(`[firefox console] ${message.text()}`);
      });
      if (!url.startsWith("moz-extension:")) {
        await page.setRequestInterception(true);
        page.on("request", (request) => void answer(request));
      }
      if (url.startsWith("moz-extension:")) {
        // BiDi reports no navigation events for moz-extension:// documents, so page.goto never settles: start it
        // and wait for the document itself instead. An evaluation that lands while the old document is torn down
        // fails with a protocol error (seen in CI), so each probe is one evaluate and a failed one is retried.
        page.goto(url, { timeout: WAIT_MS }).catch(() => undefined);
        await eventually(
          `${url} to load`,
          async () => (await page.evaluate((u) => location.href === u && document.readyState === "complete", url)) || undefined,
          WAIT_MS,
        );
      } else await page.goto(url);
      return tab(page);
    },
    close: () => browser.close(),
  };
}
