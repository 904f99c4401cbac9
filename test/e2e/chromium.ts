// Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with the built dist/chrome loaded unpacked.
// Flags from ../../shared/notes/toolchain.md; headless=new runs extensions. No browser is downloaded.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, type CDPSession, chromium, type Page } from "playwright-core";
import { extensionFlags, routeToSimulatedGoogle } from "./chromium-flags";
import { SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, installedBrowser, type Tab, WAIT_MS } from "./harness";
import { eventually } from "./wait";

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

/** A version of a service worker as CDP's ServiceWorker domain reports it (ServiceWorkerVersion). */
interface WorkerVersion {
  versionId: string;
  scriptURL: string;
  runningStatus: "stopped" | "starting" | "running" | "stopping";
}

/**
 * Stops the service worker at `scriptUrl` as Chrome does once it idles (harness stopBackground). Chrome stops an
 * extension's idle worker after 30 s, but never while a DevTools session is attached to it, and playwright attaches to
 * every service worker of the context (`context.serviceWorkers()`): in this harness it would run for the whole suite.
 * So it is stopped on purpose, with CDP's ServiceWorker.stopWorker (chromedevtools.github.io/devtools-protocol/tot/
 * ServiceWorker): its handler calls ServiceWorkerVersion::StopWorker (content/browser/devtools/protocol/
 * service_worker_handler.cc), the call Chrome's idle timeout ends in too. Chrome's guide closes the worker's target
 * instead ("Test service worker termination with Puppeteer", developer.chrome.com/docs/extensions/how-to/test/
 * test-serviceworker-termination-with-puppeteer), which waits for every session attached to it to go: playwright's
 * stays. The domain is asked from a blank tab of its own, in the same storage partition as the extension; its
 * workerVersionUpdated events say when the worker stopped and each time it starts again.
 */
function serviceWorkerStopper(context: BrowserContext, scriptUrl: string): () => Promise<{ restarts(): number }> {
  let watching: Promise<CDPSession> | undefined;
  let latest: WorkerVersion | undefined;
  /** Times it stopped, and started again since it last stopped. */
  let stops = 0;
  let restarts = 0;
  const watch = async () => {
    const session = await context.newCDPSession(await context.newPage());
    session.on("ServiceWorker.workerVersionUpdated", ({ versions }: { versions: WorkerVersion[] }) => {
      for (const version of versions) {
        if (version.scriptURL !== scriptUrl) continue;
        if (version.runningStatus !== latest?.runningStatus && version.runningStatus === "stopped") {
          stops += 1;
          restarts = 0;
        }
        if (version.runningStatus !== latest?.runningStatus && version.runningStatus === "running") restarts += 1;
        latest = version;
      }
    });
    await session.send("ServiceWorker.enable");
    return session;
  };
  return async () => {
    watching ??= watch();
    const session = await watching;
    const { versionId } = await eventually("the extension's service worker", async () => latest);
    const before = stops;
    await session.send("ServiceWorker.stopWorker", { versionId });
    await eventually("the extension's service worker stopped", async () => (stops > before ? true : undefined));
    return { restarts: () => restarts };
  };
}

export async function launchChromium(): Promise<BrowserHarness> {
  const profile = mkdtempSync(path.join(tmpdir(), "mt-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    headless: false,
    args: ["--headless=new", ...EXTENSION_FLAGS],
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
