// Chromium driven by puppeteer-core over CDP, only for what playwright cannot give: a real background tab.
// Playwright enables focus emulation on every page it attaches to (Emulation.setFocusEmulationEnabled), which makes
// even a background tab report `document.visibilityState === "visible"` (checked 2026-11 with this Chromium);
// puppeteer does not, so a tab Chromium creates in the background is really hidden there. The same built extension,
// flags and simulated Google as chromium.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { chromiumExecutable, EXTENSION_FLAGS } from "./chromium";
import { SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, type Tab, WAIT_MS } from "./harness";
import { answerFromGoogle, puppeteerTab } from "./puppeteer-tab";

export async function launchChromiumWithBackgroundTabs(): Promise<BrowserHarness> {
  const profile = mkdtempSync(path.join(tmpdir(), "mt-chromium-bg-"));
  const browser = await puppeteer.launch({
    executablePath: chromiumExecutable(),
    headless: true,
    userDataDir: profile,
    defaultViewport: { width: 1280, height: 720 },
    ignoreDefaultArgs: ["--disable-extensions"],
    args: EXTENSION_FLAGS,
  });
  const google = new SimulatedGoogle();
  const answer = answerFromGoogle(google);
  const worker = await browser.waitForTarget((t) => t.type() === "service_worker" && t.url().startsWith("chrome-extension://"), {
    timeout: WAIT_MS,
  });
  const extensionOrigin = worker.url().split("/").slice(0, 3).join("/");
  // On install the extension opens its options page in a tab of its own, in front, whenever the background gets to
  // it: close it first, as a rep would, or it can come up over a tab a test drives (a page in the background never
  // settles puppeteer's clicks, which wait for an IntersectionObserver).
  const welcome = await browser.waitForTarget(
    (t) => t.type() === "page" && t.url().startsWith(`${extensionOrigin}/extension/src/options/`),
    {
      timeout: WAIT_MS,
    },
  );
  await (await welcome.page())?.close();

  const prepare = async (page: Page, url: string): Promise<Tab> => {
    if (!url.startsWith("chrome-extension:")) {
      await page.setRequestInterception(true);
      page.on("request", (request) => void answer(request));
    }
    await page.goto(url);
    return puppeteerTab(page, { openInBackground: (selector) => openInBackground(browser, page, selector, prepare) });
  };
  return {
    name: "chromium",
    google,
    extensionUrl: (file) => `${extensionOrigin}/${file}`,
    newTab: async (url) => prepare(await browser.newPage(), url),
    tabUrls: async () => (await browser.pages()).map((page) => page.url()),
    openTab: async (prefix) => {
      const page = (await browser.pages()).find((candidate) => candidate.url().startsWith(prefix));
      return page && puppeteerTab(page, { openInBackground: (selector) => openInBackground(browser, page, selector, prepare) });
    },
    closeTabs: async (prefix) => {
      for (const page of await browser.pages()) if (page.url().startsWith(prefix)) await page.close();
    },
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The link's target opened the way Ctrl+click opens it: in a new tab Chromium creates in the background
 * (Target.createTarget background: true), which then loads the link's address while the opener stays in front.
 * (The tab is created blank and then navigated so Google's hosts can be answered from its first request.)
 */
async function openInBackground(
  browser: Browser,
  opener: Page,
  selector: string,
  prepare: (page: Page, url: string) => Promise<Tab>,
): Promise<Tab> {
  const href = await opener.$eval(selector, (link) => (link as HTMLAnchorElement).href);
  const known = new Set(browser.targets());
  const session = await browser.target().createCDPSession();
  await session.send("Target.createTarget", { url: "about:blank", background: true });
  const target = await browser.waitForTarget((t) => t.type() === "page" && !known.has(t), { timeout: WAIT_MS });
  const page = await target.page();
  if (!page) throw new Error("the background tab has no page");
  return prepare(page, href);
}
