// Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with the built dist/chrome loaded unpacked.
// Flags from ../../shared/notes/toolchain.md; headless=new runs extensions. No browser is downloaded.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { extensionFlags, routeToSimulatedGoogle } from "./chromium-flags";
import { SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, installedBrowser, type Tab, WAIT_MS } from "./harness";
import { type ServiceWorkerWatch, watchServiceWorker } from "./service-worker-watch";

const DIST = path.resolve(import.meta.dirname, "../../dist/chrome");
/** The Chromium executable (CHROMIUM_PATH, or Debian's); also chromium-background.ts. */
export const chromiumExecutable = () => installedBrowser("CHROMIUM_PATH", "/usr/bin/chromium", "chromium");
/** The built extension loaded unpacked (also chromium-background.ts). */
export const EXTENSION_FLAGS = extensionFlags(DIST);

/**
 * The user agent the rep's own Chromium of this version sends. Headless Chromium names itself "HeadlessChrome", which
 * the tracker, like anything using isbot, takes for a bot: a link the rep follows in the test browser would be a
 * scanner's click, never the rep's.
 */
function desktopUserAgent(): string {
  const said = execFileSync(chromiumExecutable(), ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const version = /\b(\d+)\.\d+\.\d+\.\d+\b/.exec(said)?.[1];
  if (!version) throw new Error(`cannot read the Chromium version from "${said.trim()}"`);
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version}.0.0.0 Safari/537.36`;
}

function tab(page: Page): Tab {
  return {
    goto: async (url) => void (await page.goto(url)),
    click: (selector) => page.click(selector, { timeout: WAIT_MS }),
    type: (selector, text) => page.locator(selector).pressSequentially(text, { timeout: WAIT_MS }),
    press: (selector, key) => page.press(selector, key, { timeout: WAIT_MS }),
    evaluate: (fn, arg) => page.evaluate(fn as never, arg),
    waitFor: async (fn, arg, timeoutMs = WAIT_MS) =>
      void (await page.waitForFunction(fn as never, arg, { timeout: timeoutMs, polling: 100 })),
    bringToFront: () => page.bringToFront(),
    screenshot: async (file) => void (await page.screenshot({ path: file, fullPage: true })),
    close: () => page.close(),
    openInBackground: async (selector) => {
      const [opened] = await Promise.all([
        page.context().waitForEvent("page", { timeout: WAIT_MS }),
        page.click(selector, { modifiers: ["Control"], timeout: WAIT_MS }),
      ]);
      await opened.waitForLoadState("domcontentloaded");
      return tab(opened);
    },
  };
}

/**
 * Stops the service worker at `scriptUrl` as Chrome does once it idles (harness stopBackground; service-worker-watch.ts
 * says why it must be done on purpose). Its blank tab opens at the first stop, so that a test that never stops the
 * worker has no tab more.
 */
function serviceWorkerStopper(context: BrowserContext, scriptUrl: string): () => Promise<{ restarts(): number }> {
  let watching: Promise<ServiceWorkerWatch> | undefined;
  return async () => {
    watching ??= watchServiceWorker(context, scriptUrl);
    const watch = await watching;
    await watch.stop();
    return { restarts: watch.restarts };
  };
}

/**
 * Chromium with the extension built at `dist` (the built dist/chrome unless a test loads a copy it changed). With
 * `proxy` (an http: URL), every request goes through that HTTP proxy, loopback hosts too: Chromium sends localhost,
 * 127.0.0.1/8 and [::1] direct whatever the proxy unless the bypass list subtracts those implicit rules with
 * "<-loopback>" (Chromium's net/docs/proxy.md, "Implicit bypass rules", read 2026-12-07).
 */
export async function launchChromium(dist = DIST, proxy?: URL): Promise<BrowserHarness> {
  const profile = mkdtempSync(path.join(tmpdir(), "mt-chromium-"));
  const proxyFlags = proxy ? [`--proxy-server=${proxy.origin}`, "--proxy-bypass-list=<-loopback>"] : [];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    headless: false,
    args: ["--headless=new", ...extensionFlags(dist), ...proxyFlags],
    userAgent: desktopUserAgent(),
  });
  const google = new SimulatedGoogle();
  // Only Google's hosts are simulated; the tracker (127.0.0.1) is the real worker under wrangler dev.
  await routeToSimulatedGoogle(context, google);
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: WAIT_MS }));
  // Node parses chrome-extension: URLs as opaque (origin "null"): take scheme and host by hand.
  const extensionOrigin = worker.url().split("/").slice(0, 3).join("/");
  return {
    name: "chromium",
    google,
    extensionUrl: (file) => `${extensionOrigin}/${file}`,
    newTab: async (url) => {
      const page = await context.newPage();
      page.on("console", (message) => {
        if (process.env.E2E_DEBUG) console.log(`[chromium console] ${message.text()}`);
      });
      await page.goto(url);
      return tab(page);
    },
    tabUrls: async () => context.pages().map((page) => page.url()),
    openTab: async (prefix) => {
      const page = context.pages().find((candidate) => candidate.url().startsWith(prefix));
      return page && tab(page);
    },
    closeTabs: async (prefix) => {
      for (const page of context.pages()) if (page.url().startsWith(prefix)) await page.close();
    },
    stopBackground: serviceWorkerStopper(context, worker.url()),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
