// A Gmail tab open across an update of the extension, in real Chromium. Chrome puts a manifest's content scripts only
// into pages loaded after the extension is installed or updated (stackoverflow.com/questions/10994324, 2012, still so
// in Manifest V3), so nothing in such a tab is tracked until it is reloaded; the background marks it on the toolbar
// button at once (markGmailTabsOpenBefore, background/gmail-health.ts), which is what this test checks, and it shows
// Chromium's behaviour too: the tab gets no new content script.
//
// The extension is installed through CDP (`Extensions.loadUnpacked`, puppeteer's installExtension), not with
// --load-extension: installing the same unpacked folder again is then an update (same id, `runtime.onInstalled` with
// reason "update"). `runtime.reload()` of an extension loaded from the command line left it unloaded here (Chromium
// 150, 2026-12-02: its pages answered ERR_BLOCKED_BY_CLIENT). Firefox injects content scripts into open tabs on an
// update, so this file is Chromium's only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumExecutable } from "./chromium";
import { CHROMIUM_FLAGS } from "./chromium-flags";
import { SimulatedGoogle } from "./gmail-sim/google";
import { WAIT_MS } from "./harness";
import { answerFromGoogle } from "./puppeteer-tab";
import { eventually } from "./wait";

const DIST = path.resolve(import.meta.dirname, "../../dist/chrome");
const GMAIL = "https://mail.google.com/mail/u/0/#inbox";
/** What the button's title says of such a tab (NOT_RUNNING_SENTENCE in background/gmail-health.ts). */
const RELOAD_THIS_TAB =
  "Reload this Gmail tab: it was open before Mailtracker was installed, updated or allowed into Gmail, so nothing in it is tracked.";

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

  /** The toolbar button's badge and title on the Gmail tab, read from an extension page opened for it. */
  const gmailButton = async () => {
    const page = await browser.newPage();
    try {
      await page.goto(popupUrl());
      return await page.evaluate(async (url) => {
        type Ext = {
          tabs: { query(query: object): Promise<{ id?: number }[]> };
          action: { getBadgeText(tab: { tabId: number }): Promise<string>; getTitle(tab: { tabId: number }): Promise<string> };
        };
        const api = (globalThis as unknown as { chrome: Ext }).chrome;
        const [tab] = await api.tabs.query({ url });
        if (tab?.id === undefined) return null;
        return { text: await api.action.getBadgeText({ tabId: tab.id }), title: await api.action.getTitle({ tabId: tab.id }) };
      }, "https://mail.google.com/*");
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
    // Chrome put no new content script into the tab: nothing reports for it, and the mark stays.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await gmailButton()).toEqual(marked);

    // Reloaded, the tab runs the extension again and reports, and the button is back to its own title.
    await gmail.reload();
    await gmail.waitForFunction(() => document.documentElement.dataset.mtHealth, { timeout: WAIT_MS, polling: 100 });
    const cleared = await eventually("the mark gone", async () => {
      const button = await gmailButton().catch(() => undefined);
      return button?.text === "" ? button : undefined;
    });
    expect(cleared).toEqual({ text: "", title: "Mailtracker" });
  });
});
