// What the puppeteer-driven browsers share (Firefox over WebDriver BiDi; Chromium over CDP where real background
// tabs are needed): a Tab on a puppeteer Page, and answering Google's hosts from SimulatedGoogle.
import type { HTTPRequest, Page } from "puppeteer-core";
import type { SimulatedGoogle } from "./gmail-sim/google";
import { type Tab, WAIT_MS } from "./harness";
import { eventually } from "./wait";

export function puppeteerTab(page: Page, extra: Partial<Tab> = {}): Tab {
  return {
    goto: async (url) => void (await page.goto(url)),
    click: async (selector) => {
      await page.waitForSelector(selector, { timeout: WAIT_MS });
      // Composes sit in a fixed bottom bar: bring the element into view as a user would before clicking.
      await page.$eval(selector, (element) => element.scrollIntoView({ block: "center" }));
      try {
        await page.click(selector);
      } catch (error) {
        // A page that closes itself on the click (the popup after Connect) can be gone before Firefox reports the
        // click done ("no such frame … BrowsingContext does no longer exist", Firefox ESR 140.12, CI 2026-11-30): the
        // click happened, and the caller checks what it did.
        if (String(error).includes("DiscardedBrowsingContextError")) return;
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
    // Polled with evaluate, not waitForFunction: over BiDi, puppeteer builds the predicate with Function() inside the
    // page, and Firefox ESR 140.12 (Debian's firefox-esr 140.12.0esr-1~deb12u1, installed 2026-11-30) refuses that
    // under the page's CSP ("call to Function() blocked by CSP") on extension pages and the simulated Gmail alike.
    // The result stays in the page (a handle) and only its truthiness comes back, as with waitForFunction: an element
    // does not serialize. An evaluation that lands while a document is replaced fails; the next poll tries again.
    waitFor: async (fn, arg, timeoutMs = WAIT_MS) => {
      const holds = async () => {
        const result = await page.evaluateHandle(fn as (arg: unknown) => unknown, arg);
        try {
          return (await result.evaluate((value) => Boolean(value))) || undefined;
        } finally {
          await result.dispose();
        }
      };
      await eventually(`${String(fn).slice(0, 120)} in ${page.url()}`, holds, timeoutMs, 100);
    },
    // Over BiDi, browsingContext.activate (puppeteer-core 25.16.0, bidi/Page.js); over CDP, Page.bringToFront.
    bringToFront: () => page.bringToFront(),
    screenshot: async (file) => void (await page.screenshot({ path: file as `${string}.png`, fullPage: true })),
    close: () => page.close(),
    ...extra,
  };
}

/** A request handler for pages with request interception on: Google's hosts answered by `google`, the rest let through. */
export function answerFromGoogle(google: SimulatedGoogle): (request: HTTPRequest) => Promise<void> {
  // Only Google's hosts are simulated; the tracker (127.0.0.1) is the real worker under wrangler dev.
  return async (request: HTTPRequest) => {
    if (request.isInterceptResolutionHandled()) return;
    try {
      const url = request.url();
      if (!google.answers(url)) return void (await request.continue());
      // The body as it leaves the page, after the extension's page-world send hook. Over BiDi fetchPostData reads it
      // with `network.getData`, for which puppeteer adds a data collector at launch (puppeteer-core 25.16.0,
      // bidi/Browser.js), in a Firefox that has it (firefox.ts FIREFOX_WITH_REQUEST_BODIES).
      const postData = request.hasPostData() ? ((await request.fetchPostData()) ?? null) : null;
      const response = await google.handle(url, request.method(), postData);
      if (!response) return void (await request.continue());
      await request.respond({ status: response.status, contentType: response.contentType, body: response.body, headers: response.headers });
    } catch (error) {
      console.error("interception failed", error);
      // A request left unanswered would hang the page until its test times out: it fails at once instead.
      if (!request.isInterceptResolutionHandled()) await request.abort().catch(() => undefined);
    }
  };
}
