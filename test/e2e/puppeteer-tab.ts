// What the puppeteer-driven browsers share (Firefox over WebDriver BiDi; Chromium over CDP where real background
// tabs are needed): a Tab on a puppeteer Page, and answering Google's hosts from SimulatedGoogle.
import type { HTTPRequest, Page } from "puppeteer-core";
import type { SimulatedGoogle } from "./gmail-sim/google";
import { type Tab, WAIT_MS } from "./harness";

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
      // Over BiDi only fetchPostData() works (postData() is CDP-only).
      const postData = request.hasPostData() ? ((await request.fetchPostData()) ?? null) : null;
      const response = await google.handle(url, request.method(), postData);
      if (!response) return void (await request.continue());
      await request.respond({ status: response.status, contentType: response.contentType, body: response.body, headers: response.headers });
    } catch (error) {
      console.error("interception failed", error);
    }
  };
}
