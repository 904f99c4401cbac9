// A Gmail tab open across an update of the extension, in real Chromium and Firefox.
//
// Chrome puts a manifest's content scripts only into pages loaded after the extension is installed or updated
// (stackoverflow.com/questions/10994324, 2012, still so in Manifest V3), so nothing in such a tab is tracked until it is
// reloaded; the background marks it on the toolbar button at once (markGmailTabsOpenBefore, background/gmail-health.ts),
// which is what the Chromium test checks, and it shows Chromium's behaviour too: the tab gets no new content script.
// The extension is installed through CDP (`Extensions.loadUnpacked`, puppeteer's installExtension), not with
// --load-extension: installing the same unpacked folder again is then an update (same id, `runtime.onInstalled` with
// reason "update"). `runtime.reload()` of an extension loaded from the command line left it unloaded here (Chromium
// 150, 2026-12-02: its pages answered ERR_BLOCKED_BY_CLIENT).
//
// Firefox puts both of the update's content scripts into the open tab, the page-world one (world: "MAIN") after Gmail's
// own scripts ran, so it marks the page "late" (events.ts markPageWorldStart) and the rep is told to reload (Firefox ESR
// 153.8, 2026-12-06, a temporary add-on and a permanent one alike; an audit had reported the page-world one left out,
// which this test would show). The earlier copy's toolbar in an open compose, its controls dead, must be gone
// (ui.ts removeEarlierCopyDrawing), and what the rep chose in it kept by the new one (compose-tracking.ts
// keepEarlierChoices). An update is a copy of the built add-on installed over it as a temporary add-on.
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_PING } from "../../extension/src/envelope";
// @ts-expect-error: plain JavaScript module shared with `npm start`; its shape is documented there.
import { startTracker } from "../../scripts/tracker.mjs";
import { chromiumExecutable } from "./chromium";
import { CHROMIUM_FLAGS } from "./chromium-flags";
import { FIREFOX_DIST, openExtensionPage, startFirefox } from "./firefox";
import { SimulatedGoogle } from "./gmail-sim/google";
import { connectFromOptions, pasteInto, trackLinksOutOfReach, WAIT_MS } from "./harness";
import { answerFromGoogle, puppeteerTab } from "./puppeteer-tab";
import { eventually, freePort } from "./wait";

const DIST = path.resolve(import.meta.dirname, "../../dist/chrome");
const GMAIL = "https://mail.google.com/mail/u/0/#inbox";
/** What the button's title says of such a tab (NOT_RUNNING_SENTENCE in background/gmail-health.ts). */
const RELOAD_THIS_TAB =
  "Reload this Gmail tab: it was open before Mailtracker was installed, updated or allowed into Gmail, so nothing in it is tracked.";
/** What it says of a tab whose page-world script started after Gmail's (MISSING_PART_SENTENCE.pageScript). */
const STARTED_LATE = "Reload this Gmail tab: Mailtracker started after Gmail did, so your own views of tracked emails may count as opens.";

/**
 * The toolbar button's badge and title on the Gmail tab, read from an extension page `open` loads in a new page of
 * `browser` (Chromium's `chrome`, Firefox's `browser` namespace).
 */
async function gmailTabButton(browser: Browser, open: (page: Page) => Promise<unknown>) {
  const page = await browser.newPage();
  try {
    await open(page);
    return await page.evaluate(async (url) => {
      type Ext = {
        tabs: { query(query: object): Promise<{ id?: number }[]> };
        action: { getBadgeText(tab: { tabId: number }): Promise<string>; getTitle(tab: { tabId: number }): Promise<string> };
      };
      const scope = globalThis as unknown as { browser?: Ext; chrome: Ext };
      const api = scope.browser ?? scope.chrome;
      const [tab] = await api.tabs.query({ url });
      if (tab?.id === undefined) return null;
      return { text: await api.action.getBadgeText({ tabId: tab.id }), title: await api.action.getTitle({ tabId: tab.id }) };
    }, "https://mail.google.com/*");
  } finally {
    await page.close();
  }
}

describe("Chromium: a Gmail tab open before the extension was updated", () => {
  let browser: Browser;
  let profile: string;
  let extensionId: string;

  beforeAll(async () => {
    profile = mkdtempSync(path.join(tmpdir(), "mt-chromium-update-"));
    browser = await puppeteer.launch({
      executablePath: chromiumExecutable(),
      headless: true,
      userDataDir: profile,
      pipe: true,
      enableExtensions: true,
      args: CHROMIUM_FLAGS,
    });
    extensionId = await browser.installExtension(DIST);
  });
  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const popupUrl = () => `chrome-extension://${extensionId}/extension/src/popup/index.html`;

  /** The toolbar button's badge and title on the Gmail tab, read from the popup's page. */
  const gmailButton = () => gmailTabButton(browser, (page) => page.goto(popupUrl()));

  /**
   * What a content script of the extension in the Gmail tab answers CONTENT_PING, asked from the popup's page: "true"
   * while one runs there, "no receiving end" when none listens ("Could not establish connection. Receiving end does not
   * exist.", Chromium 156, 2026-12-05, as background/gmail-health.ts runsIn notes).
   */
  const contentScriptAnswers = async () => {
    const page = await browser.newPage();
    try {
      await page.goto(popupUrl());
      return await page.evaluate(
        async (url, ping) => {
          type Ext = {
            tabs: { query(query: object): Promise<{ id?: number }[]>; sendMessage(tabId: number, message: unknown): Promise<unknown> };
          };
          const api = (globalThis as unknown as { chrome: Ext }).chrome;
          const [tab] = await api.tabs.query({ url });
          if (tab?.id === undefined) return "no Gmail tab";
          return api.tabs.sendMessage(tab.id, ping).then(
            (answer) => String(answer),
            (error: Error) => (/Receiving end does not exist/.test(error.message) ? "no receiving end" : error.message),
          );
        },
        "https://mail.google.com/*",
        CONTENT_PING,
      );
    } finally {
      await page.close();
    }
  };

  /** Opens the simulated Gmail and waits for the content script's first report of what it recognises. */
  const openGmail = async (): Promise<Page> => {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    const answer = answerFromGoogle(new SimulatedGoogle());
    page.on("request", (request) => void answer(request));
    await page.goto(GMAIL);
    await page.waitForFunction(() => document.documentElement.dataset.mtHealth, { timeout: WAIT_MS, polling: 100 });
    return page;
  };

  it("is marked on the toolbar button with the reason to reload it, until it is reloaded", async () => {
    const gmail = await openGmail();
    expect(await gmailButton()).toEqual({ text: "", title: "Mailtracker" });

    // The extension is updated: the same unpacked folder installed again.
    expect(await browser.installExtension(DIST)).toBe(extensionId);
    const marked = await eventually("the Gmail tab marked", async () => {
      const button = await gmailButton().catch(() => undefined);
      return button?.text ? button : undefined;
    });
    expect(marked).toEqual({ text: "!", title: `Mailtracker: ${RELOAD_THIS_TAB}` });
    // Chrome put no new content script into the tab: none of the updated extension's answers it (the background's own
    // question, CONTENT_PING in envelope.ts, asked from the popup's page), so none is there to report, and the mark
    // stays. The earlier copy's, cut off from the extension, hears nothing of it.
    expect(await contentScriptAnswers()).toBe("no receiving end");
    expect(await gmailButton()).toEqual(marked);

    // Reloaded, the tab runs the extension again and reports, and the button is back to its own title.
    await gmail.reload();
    await gmail.waitForFunction(() => document.documentElement.dataset.mtHealth, { timeout: WAIT_MS, polling: 100 });
    const cleared = await eventually("the mark gone", async () => {
      const button = await gmailButton().catch(() => undefined);
      return button?.text === "" ? button : undefined;
    });
    expect(cleared).toEqual({ text: "", title: "Mailtracker" });
    // The question above reaches a content script that runs there: the reloaded tab's answers it.
    expect(await contentScriptAnswers()).toBe("true");
  });
});

describe("Firefox: a Gmail tab open while the extension is updated", () => {
  let browser: Browser;
  let uuid: string;
  let copies: string;

  beforeAll(async () => {
    ({ browser, uuid } = await startFirefox());
    await browser.installExtension(FIREFOX_DIST);
    copies = mkdtempSync(path.join(tmpdir(), "mt-firefox-update-"));
  });
  afterAll(async () => {
    await browser?.close();
    if (copies) rmSync(copies, { recursive: true, force: true });
  });

  /** The toolbar button's badge and title on the Gmail tab, read from the popup's page. */
  const gmailButton = () =>
    gmailTabButton(browser, (page) => openExtensionPage(page, `moz-extension://${uuid}/extension/src/popup/index.html`));

  /**
   * The button once it shows a badge saying `sentence`. The background marks the tab as the update starts
   * (markGmailTabsOpenBefore), and the update's content script's report redraws it: what shows in between is not waited
   * for.
   */
  const buttonSaying = (sentence: string) =>
    eventually(`the Gmail tab's button to say "${sentence}"`, async () => {
      const button = await gmailButton().catch(() => undefined);
      if (button?.text === "!" && button.title === `Mailtracker: ${sentence}`) return button;
      throw new Error(`the button shows ${JSON.stringify(button)}`);
    });

  /**
   * The simulated Gmail with a compose open, once the content script reported: its toolbar is marked, to be told from
   * one the next copy of the script draws.
   */
  const openGmailComposing = async () => {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    const google = new SimulatedGoogle();
    const answer = answerFromGoogle(google);
    page.on("request", (request) => void answer(request));
    await page.goto(GMAIL);
    const gmail = puppeteerTab(page);
    await gmail.waitFor(() => document.documentElement.dataset.mtHealth, null);
    await gmail.click("[data-sim=compose]");
    await gmail.waitFor(() => document.querySelector(".mt-toolbar"), null);
    await gmail.evaluate(() => document.querySelector(".mt-toolbar")?.setAttribute("data-drawn-before-update", ""), null);
    return { page, gmail, google };
  };

  /** The page-world script's mark on the page, and what the content script last reported of it. */
  const pageWorldSeen = (gmail: ReturnType<typeof puppeteerTab>) =>
    gmail.evaluate(() => {
      const html = document.documentElement;
      const { pageScript } = JSON.parse(html.dataset.mtHealth ?? "{}") as Record<string, string>;
      return { start: html.getAttribute("data-mt-page-world"), pageScript };
    }, null);

  /** The toolbars in the page: drawn before the update or not, and what each says. */
  const toolbars = (gmail: ReturnType<typeof puppeteerTab>) =>
    gmail.evaluate(
      () =>
        [...document.querySelectorAll<HTMLElement>(".mt-toolbar")].map((toolbar) => ({
          drawnBeforeUpdate: toolbar.hasAttribute("data-drawn-before-update"),
          status: toolbar.dataset.mtStatus,
        })),
      null,
    );

  /** Installs over the add-on a copy of the built one: an update, as Firefox takes it (same id, another folder). */
  const update = async () => {
    const copy = mkdtempSync(path.join(copies, "copy-"));
    cpSync(FIREFOX_DIST, copy, { recursive: true });
    await browser.installExtension(copy);
  };

  it("gets both scripts of the update, the page-world one late: told to reload, no dead toolbar left; reloaded, all is well", async () => {
    const { page, gmail } = await openGmailComposing();
    expect(await pageWorldSeen(gmail)).toEqual({ start: "early", pageScript: "ok" });
    expect(await gmailButton()).toEqual({ text: "", title: "Mailtracker" });

    await update();
    // Firefox ESR 153.8 put the update's page-world script into the tab as well as its content script (2026-12-06):
    // it marked the page as started late, which the rep is told to reload for.
    await gmail.waitFor(() => document.documentElement.dataset.mtHealth?.includes('"pageScript":"missing"'), null);
    expect(await pageWorldSeen(gmail)).toEqual({ start: "late", pageScript: "missing" });
    await buttonSaying(STARTED_LATE);
    // The compose has one toolbar, the update's; the earlier copy's, its controls dead, is gone.
    // The update's toolbar says its state once its id was asked for (a round trip to the background of its own).
    const shown = await eventually("the compose's toolbars after the update", async () => {
      const now = await toolbars(gmail);
      if (now.some((toolbar) => toolbar.drawnBeforeUpdate) || now.every((toolbar) => !toolbar.status)) throw new Error(JSON.stringify(now));
      return now;
    });
    expect(shown).toEqual([{ drawnBeforeUpdate: false, status: expect.stringContaining("Not tracked: not connected") }]);

    await page.reload();
    await gmail.waitFor(() => document.documentElement.dataset.mtHealth, null);
    expect(await pageWorldSeen(gmail)).toEqual({ start: "early", pageScript: "ok" });
    const cleared = await eventually("the mark gone", async () => {
      const button = await gmailButton().catch(() => undefined);
      return button?.text === "" ? button : undefined;
    });
    expect(cleared).toEqual({ text: "", title: "Mailtracker" });
    await page.close();
  });

  it("keeps the rep's choice in the open compose: Opens turned off before the update, the email is sent without its pixel", async () => {
    // Connected, so that the compose is tracked unless the rep says otherwise: a tracker, an account created from the
    // options page.
    const persistTo = mkdtempSync(path.join(copies, "tracker-"));
    const tracker: { url: string; stop(): Promise<void> } = await startTracker({
      port: await freePort(),
      persistTo,
      vars: { SIGNING_SECRET: randomBytes(32).toString("base64url").slice(0, 43) },
    });
    try {
      const extensionUrl = (file: string) => `moz-extension://${uuid}/${file}`;
      const connected = await connectFromOptions(
        {
          extensionUrl,
          newTab: async (url) => {
            const page = await browser.newPage();
            await openExtensionPage(page, url);
            return puppeteerTab(page);
          },
        },
        tracker.url,
      );
      expect(connected.error).toBeNull();
      // The tracker is on this machine: its click links are asked for, so that Clicks is the rep's to choose.
      await trackLinksOutOfReach(connected.options);
      await connected.options.close();

      const { page, gmail, google } = await openGmailComposing();
      const scope = "#composes [role=dialog]";
      await gmail.type(`${scope} [data-sim=to]`, "ivy@prospect.example");
      await gmail.press(`${scope} [data-sim=to]`, "Enter");
      await gmail.type(`${scope} input[name=subjectbox]`, "Not to be tracked");
      await pasteInto(gmail, scope, "<div>Hi Ivy.</div>", true);
      /** The toolbar's Opens and Clicks toggles, once its email has an id (the compose is tracked unless they say not). */
      const toggles = (drawnBeforeUpdate: boolean) =>
        eventually(`the ${drawnBeforeUpdate ? "earlier" : "update's"} toolbar's toggles`, async () =>
          gmail.evaluate((before) => {
            const toolbar = [...document.querySelectorAll(".mt-toolbar[data-mt-tracking-id]")].find(
              (t) => t.hasAttribute("data-drawn-before-update") === before,
            );
            const pressed = (name: string) => toolbar?.querySelector(`.mt-toggle-${name}:not([disabled])`)?.getAttribute("aria-pressed");
            return toolbar ? { open: pressed("open"), click: pressed("click") } : undefined;
          }, drawnBeforeUpdate),
        );
      expect(await toggles(true)).toEqual({ open: "true", click: "true" });
      await gmail.click(".mt-toolbar .mt-toggle-open");
      expect(await toggles(true)).toEqual({ open: "false", click: "true" });

      await update();
      // The update's toolbar alone, in the same compose, with the rep's choice.
      expect(await toggles(false)).toEqual({ open: "false", click: "true" });
      expect(await toolbars(gmail)).toEqual([{ drawnBeforeUpdate: false, status: expect.any(String) }]);
      await gmail.click(`${scope} [data-sim=send]`);
      const sent = await eventually("Gmail's /sync send", async () => google.sent[0]);
      expect(sent.subject).toBe("Not to be tracked");
      expect(sent.html).toContain("Hi Ivy.");
      expect(sent.html).not.toContain(`${tracker.url}/o/`);
      await page.close();
    } finally {
      await tracker.stop();
      rmSync(persistTo, { recursive: true, force: true });
    }
  });
});
