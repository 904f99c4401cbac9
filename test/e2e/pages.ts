// The rep's day on the extension's own pages, end to end in a real browser against the real tracker under
// `wrangler dev`: first run (options open on install with a guide, the popup offers Connect, an address without a
// scheme, the token's copy button, a visible Saved), Connect while connected asking first, the popup's digest, the
// dashboard's message page, sorting and filtering, the follow-up list, a big account's people list scored over
// several requests, and a compose reminder coming due (the reminders' clock moved through storage,
// background/follow-ups.ts CLOCK_SKEW_KEY). A few days of activity are seeded through the tracker's own API
// (registrations, pixel and click requests with real mail-client user agents, reply and bounce signals), as the
// extension and mail clients would make them. Screenshots of each page are saved under .cache/screenshots/ at the end
// (CI keeps them as artifacts).
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outOfReachNotice } from "../../extension/src/words";
// @ts-expect-error: plain JavaScript module shared with `npm start`; its shape is documented there.
import { startTracker } from "../../scripts/tracker.mjs";
import type { AccountResponse, MessageDetail, RegisterMessageRequest } from "../../shared/api";
import { ENGAGEMENT_WEIGHTS } from "../../shared/engagement";
import { mintTrackingId, type SigningKey, signedClickUrl } from "../../shared/protocol";
import { DAY } from "../durations";
import type { SentRecord, SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, pasteInto, receiveInGmail, type Tab } from "./harness";
import { eventually, freePort } from "./wait";

const GMAIL = "https://mail.google.com/mail/u/0/#inbox";
const SCREENSHOTS = path.resolve(import.meta.dirname, "../../.cache/screenshots");
const PIXEL = (tracker: string) => new RegExp(`<img[^>]*src="${tracker.replaceAll(".", "\\.")}/o/([^"]+)\\.gif"`);

// Real user agents (sources in worker/src/client-description.ts).
const IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const OUTLOOK_WINDOWS = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)";
const GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const APPLE_MPP = "Mozilla/5.0";
const BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const HARD_REASON = "The email account that you tried to reach does not exist.";

/** Reads one key of the extension's storage from one of its pages. */
const storageOf = (page: Tab, key: string) =>
  page.evaluate(async (k) => {
    type Ext = { storage: { local: { get(keys: string[]): Promise<Record<string, unknown>> } } };
    const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
    return (await (g.browser ?? g.chrome)?.storage.local.get([k]))?.[k];
  }, key);

/** Everything in the extension's storage.local, as a content script could read it. */
const allStorage = (page: Tab) =>
  page.evaluate(async () => {
    type Ext = { storage: { local: { get(keys: null): Promise<Record<string, unknown>> } } };
    const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
    return (await (g.browser ?? g.chrome)?.storage.local.get(null)) ?? {};
  }, null);

const setStorage = (page: Tab, key: string, value: unknown) =>
  page.evaluate(
    async ({ k, v }) => {
      type Ext = { storage: { local: { set(items: Record<string, unknown>): Promise<void> } } };
      const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
      await (g.browser ?? g.chrome)?.storage.local.set({ [k]: v });
    },
    { k: key, v: value },
  );

/**
 * How many tabs show `url`: the driver's count (Chromium) or the extension's own (Firefox's WebDriver BiDi reports
 * moz-extension:// tabs as about:blank; tabs.query shows an extension its own pages), whichever sees more.
 */
async function tabsShowing(harness: BrowserHarness, from: Tab, url: string): Promise<number> {
  const own = await from.evaluate(async () => {
    type Ext = { tabs: { query(q: object): Promise<{ url?: string }[]> } };
    const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
    return ((await (g.browser ?? g.chrome)?.tabs.query({})) ?? []).map((t) => t.url ?? "");
  }, null);
  const count = (urls: string[]) => urls.filter((u) => u.startsWith(url)).length;
  if (process.env.E2E_DEBUG) console.log("tabs", url, await harness.tabUrls(), own);
  return Math.max(count(await harness.tabUrls()), count(own));
}

const text = (page: Tab, selector: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);

/**
 * The options page's connection line once it says Connected to this account, and the browser answered whether the
 * extension may reach the tracker: until then the line is muted and claims nothing of it (options/main.tsx
 * connectionProblem). The account is waited for because a switch of accounts passes through a line that says
 * Connected to the other one.
 */
const connectedLine = async (options: Tab, accountId: string) => {
  await options.waitFor((id) => {
    const line = document.querySelector("[data-testid=connection]");
    return !!line?.textContent?.startsWith("Connected to") && line.textContent.includes(`(account ${id})`) && line.className !== "muted";
  }, accountId);
  return text(options, "[data-testid=connection]");
};

/** Sets an input's value as typing would (one input event), for inputs a test fills whole. */
const fillInput = (page: Tab, selector: string, value: string) =>
  page.evaluate(
    ({ s, v }) => {
      const input = document.querySelector(s) as HTMLInputElement;
      input.value = v;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    },
    { s: selector, v: value },
  );

export function definePageScenarios(browserName: string, launch: () => Promise<BrowserHarness>, options: { gmail: boolean }): void {
  describe(`${browserName}: the rep's day on the extension's pages`, () => {
    let harness: BrowserHarness;
    let google: SimulatedGoogle;
    let tracker: { url: string; stop(): Promise<void> };
    let persistTo: string;
    let apiToken = "";
    let key: SigningKey;
    const ids: Record<string, string> = {};
    const threads: Record<string, string> = {};
    const shots: [string, string][] = [];

    const api = async <T>(pathname: string, init: RequestInit = {}, token = apiToken): Promise<{ status: number; body: T }> => {
      const response = await fetch(`${tracker.url}${pathname}`, {
        ...init,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...init.headers },
      });
      const body = await response.text();
      return { status: response.status, body: (body.startsWith("{") ? JSON.parse(body) : body) as T };
    };
    const page = (file: string) => harness.newTab(harness.extensionUrl(file));
    const dashboard = (hash: string) => page(`extension/src/dashboard/index.html#${hash}`);

    /** Registers an email as the extension would, sent `daysAgo` days ago. */
    const register = async (name: string, daysAgo: number, request: Partial<RegisterMessageRequest>) => {
      const id = await mintTrackingId(key);
      threads[name] = `thread-f:${BigInt(`0x${randomBytes(7).toString("hex")}`)}`;
      const body: RegisterMessageRequest = {
        subject: name,
        recipients: [{ email: "someone@acme.example" }],
        sentAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
        threadId: threads[name],
        links: [],
        ...request,
      };
      const { status } = await api(`/api/messages/${id}`, { method: "PUT", body: JSON.stringify(body) });
      expect(status).toBe(200);
      ids[name] = id;
      return id;
    };
    const open = (id: string, userAgent: string) => fetch(`${tracker.url}/o/${id}.gif`, { headers: { "User-Agent": userAgent } });
    const click = async (id: string, index: number, url: string) =>
      fetch(await signedClickUrl(tracker.url, key, id, index, url), { redirect: "manual", headers: { "User-Agent": BROWSER } });
    const signal = (body: unknown) => api("/api/signals", { method: "POST", body: JSON.stringify({ signals: [body] }) });
    const detail = async (id: string) => (await api<MessageDetail>(`/api/messages/${id}`)).body;

    beforeAll(async () => {
      const port = await freePort();
      persistTo = mkdtempSync(path.join(tmpdir(), "mt-e2e-pages-"));
      const vars = { SIGNING_SECRET: randomBytes(32).toString("base64url").slice(0, 43), FEED_SETTLE_SECONDS: "0" };
      tracker = await startTracker({ port, persistTo, vars });
      harness = await launch();
      google = harness.google;
      mkdirSync(SCREENSHOTS, { recursive: true });
    }, 180_000);

    afterAll(async () => {
      // Screenshots of each page, for a reviewer to look at (CI keeps .cache/screenshots as artifacts).
      for (const [name, hash] of shots) {
        const tab =
          name === "popup"
            ? await page("extension/src/popup/index.html")
            : name === "options"
              ? await page("extension/src/options/index.html")
              : await dashboard(hash);
        await new Promise((resolve) => setTimeout(resolve, 1200));
        await tab
          .screenshot(path.join(SCREENSHOTS, `${harness.name}-${name}.png`))
          .catch((error: unknown) => console.warn("screenshot", name, error));
        await tab.close();
      }
      await harness?.close();
      await tracker?.stop();
      rmSync(persistTo, { recursive: true, force: true });
    }, 120_000);

    it("first run: the options page opens by itself with a guide, the popup offers Connect, an address without a scheme connects", async () => {
      const optionsUrl = harness.extensionUrl("extension/src/options/index.html");
      // An extension page that stays open to look at the tabs from (the popup closes itself after Connect).
      const observer = await page("extension/src/dashboard/index.html");
      const optionsTabs = () => tabsShowing(harness, observer, optionsUrl);
      await eventually("the options page opened on install", async () => ((await optionsTabs()) > 0 ? true : undefined));
      const popup = await page("extension/src/popup/index.html");

      await popup.waitFor(() => document.querySelector("button[name=connect]"), null);
      expect(await text(popup, "[data-testid=connection]")).toContain("Not connected yet");
      await popup.screenshot(path.join(SCREENSHOTS, `${harness.name}-first-run-popup.png`));
      // Nothing was sent yet: the outbox says only what it knows.
      expect(await text(popup, "[data-testid=outbox-empty]")).toBe("No email is waiting to be registered with the tracker.");
      // With the tab opened on install closed (by the user), the popup's Connect opens the options page again. The
      // extension has no "tabs" permission, so its tabs.query gives no URLs to pick the tab by (Chromium 150).
      await harness.closeTabs(optionsUrl);
      await eventually("the options tab closed", async () => ((await optionsTabs()) === 0 ? true : undefined));
      await popup.click("button[name=connect]");
      await eventually("Connect opened the options page", async () => ((await optionsTabs()) === 1 ? true : undefined));
      await popup.close().catch(() => undefined); // closed itself already where the browser lets it
      await observer.close();

      const options = await page("extension/src/options/index.html");
      await options.waitFor(() => document.querySelector("[data-testid=guide]"), null);
      await options.screenshot(path.join(SCREENSHOTS, `${harness.name}-first-run-options.png`));
      expect(await text(options, "[data-testid=guide]")).toMatch(/Connect to your tracker.*Send an email from Gmail.*See who opened/s);
      expect(await text(options, "[data-testid=connection]")).toBe("Not connected yet: enter your tracker's address and press Connect.");
      // The address as `npm start` prints it, without http://.
      await fillInput(options, "input[name=trackerUrl]", tracker.url.replace(/^http:\/\//, ""));
      await options.click("button[name=connect]");
      await options.waitFor(
        () => document.querySelector("[data-testid=new-token]") || document.querySelector("[data-testid=notice].error"),
        null,
      );
      expect(await options.evaluate(() => document.querySelector("[data-testid=notice].error")?.textContent ?? null, null)).toBeNull();
      apiToken = (await text(options, "[data-testid=new-token]")) ?? "";
      const account = await api<AccountResponse>("/api/account");
      expect(account.status).toBe(200);
      key = { accountId: account.body.accountId, keyId: account.body.signingKey.keyId, secret: account.body.signingKey.secret };
      expect(await connectedLine(options, key.accountId)).toBe(`Connected to ${tracker.url} (account ${key.accountId})`);
      // The test's tracker is on this machine: the page says recipients cannot reach it, and that its links go out as
      // written, unless the rep asks for them tracked all the same: off until then.
      expect(await text(options, "[data-testid=tracker-notice]")).toBe(outOfReachNotice(tracker.url, false));
      expect(
        await options.evaluate(() => document.querySelector<HTMLInputElement>("input[name=trackLinksOutOfReach]")?.checked, null),
      ).toBe(false);
      // The token and the signing key stay with the background (its IndexedDB, background/private-area.ts): nothing a
      // content script can read from extension storage holds either.
      const readable = JSON.stringify(await allStorage(options));
      expect(readable).not.toContain(apiToken);
      expect(readable).not.toContain(key.secret);
      expect(await options.evaluate(() => document.querySelector("[data-testid=guide]"), null)).toBeNull();

      // The token shown once can be copied, and the page says it was.
      await options.click("button[name=copy-token]");
      await options.waitFor(() => document.querySelector("[data-testid=copy-token-done]"), null);

      // A setting saved on change says "Saved", and is stored.
      await fillInput(options, "input[name=followUpDays]", "4");
      await options.waitFor(() => document.querySelector("[data-testid=saved]")?.textContent === "Saved", null);
      expect(((await storageOf(options, "options")) as { followUpDays: number }).followUpDays).toBe(4);
      await fillInput(options, "input[name=followUpDays]", "3");
      await options.waitFor(() => Number(document.querySelector("[data-testid=saved]")?.getAttribute("data-count")) >= 2, null);
      await options.close();
      shots.push(["options", ""]);
    });

    it("Connect while connected asks first; reconnecting with a token keeps the account, a new account only when confirmed", async () => {
      const options = await page("extension/src/options/index.html");
      expect(await connectedLine(options, key.accountId)).toBe(`Connected to ${tracker.url} (account ${key.accountId})`);
      // While connected, the connection form is tucked away behind a summary that says what it is for.
      await options.click("[data-testid=change-connection] summary");
      await options.click("button[name=connect]");
      await options.waitFor(() => document.querySelector("[data-testid=new-account-question]"), null);
      expect(await text(options, "[data-testid=new-account-question]")).toContain(
        "This creates a new account; your earlier emails stay with the old one",
      );
      // Nothing happened yet: still the same account.
      expect(await text(options, "[data-testid=connection]")).toContain(key.accountId);
      await options.click("button[name=cancel-new-account]");
      await options.waitFor(() => !document.querySelector("[data-testid=new-account-question]"), null);

      // The background refuses an unconfirmed new account from any page, too.
      const refused = await options.evaluate(async (url) => {
        type Ext = { runtime: { sendMessage(m: unknown): Promise<{ ok: boolean; error?: string }> } };
        const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
        return (g.browser ?? g.chrome)?.runtime.sendMessage({ mt: 1, type: "connect", input: { trackerUrl: url } });
      }, tracker.url);
      expect(refused).toMatchObject({ ok: false, error: expect.stringContaining("confirm creating a new one") });

      // Reconnect with the existing token: the same account.
      await options.click("button[name=connect]");
      await options.waitFor(() => document.querySelector("input[name=reconnectToken]"), null);
      await fillInput(options, "input[name=reconnectToken]", apiToken);
      await options.click("button[name=reconnect]");
      await options.waitFor(() => document.querySelector("[data-testid=notice].ok")?.textContent?.startsWith("Connected to account"), null);
      expect(await text(options, "[data-testid=notice]")).toBe(`Connected to account ${key.accountId} on ${tracker.url}.`);
      expect(await options.evaluate(() => document.querySelector("[data-testid=new-token]"), null)).toBeNull();

      // Confirmed: a new account, with its own token; then back to the first one with its token, which takes the new
      // one's place only once the rep said so, its token offered to keep first.
      await options.click("button[name=connect]");
      await options.click("button[name=create-new-account]");
      await options.waitFor(() => document.querySelector("[data-testid=new-token]"), null);
      const otherToken = (await text(options, "[data-testid=new-token]")) ?? "";
      const other = await api<AccountResponse>("/api/account", {}, otherToken);
      expect(other.body.accountId).not.toBe(key.accountId);
      await fillInput(options, "input[name=apiToken]", apiToken);
      await options.click("button[name=connect]");
      await options.waitFor(() => document.querySelector("[data-testid=other-account-question]"), null);
      expect(await text(options, "[data-testid=connection]")).toContain(other.body.accountId);
      await options.click("[data-testid=other-account-question] button[name=show-token]");
      await options.waitFor(() => document.querySelector("[data-testid=stored-token]"), null);
      expect(await text(options, "[data-testid=stored-token]")).toBe(otherToken);
      await options.click("button[name=connect-other-account]");
      expect(await connectedLine(options, key.accountId)).toBe(`Connected to ${tracker.url} (account ${key.accountId})`);

      // Disconnect asks first and offers the token; after it, Connect with an empty token field asks again before
      // creating an account, naming the one left.
      await options.click("button[name=disconnect]");
      await options.waitFor(() => document.querySelector("[data-testid=disconnect-question]"), null);
      expect(await text(options, "[data-testid=disconnect-question]")).toContain("you will need that token");
      expect(await text(options, "[data-testid=connection]")).toContain(key.accountId);
      await options.click("[data-testid=disconnect-question] button[name=show-token]");
      await options.waitFor(() => document.querySelector("[data-testid=stored-token]"), null);
      expect(await text(options, "[data-testid=stored-token]")).toBe(apiToken);
      await options.click("button[name=confirm-disconnect]");
      await options.waitFor(
        () => document.querySelector("[data-testid=connection]")?.textContent?.startsWith("Not connected: disconnected"),
        null,
      );
      await fillInput(options, "input[name=apiToken]", "");
      await options.click("button[name=connect]");
      await options.waitFor(() => document.querySelector("[data-testid=new-account-question]"), null);
      expect(await text(options, "[data-testid=new-account-question]")).toContain(`(account ${key.accountId})`);
      // The way back: its token.
      await fillInput(options, "input[name=reconnectToken]", apiToken);
      await options.click("button[name=reconnect]");
      // "Not connected: disconnected from account <id>" names it too: wait for the connection itself.
      expect(await connectedLine(options, key.accountId)).toBe(`Connected to ${tracker.url} (account ${key.accountId})`);
      await options.close();
    });

    it("the popup is a digest: one entry per email with opens, clicked links, replies and bounce reasons, machines summed, within 600 px", async () => {
      const calendly = "https://calendly.com/rep/30min";
      const pricing = "https://acme-tools.example/pricing";
      const webinar = await register("Webinar recording", 5, {
        recipients: [{ email: "ann.kowalski@northwind.example", name: "Ann Kowalski" }],
        campaign: "Webinar follow-up",
        links: [{ index: 0, url: calendly }],
      });
      for (const ua of [IPHONE_MAIL, IPHONE_MAIL, OUTLOOK_WINDOWS, APPLE_MPP]) await open(webinar, ua);
      expect((await click(webinar, 0, calendly)).status).toBe(302);
      const proposal = await register("Proposal for Contoso", 6, {
        recipients: [{ email: "raj@contoso.example", name: "Raj Patel" }],
        campaign: "Q4 launch",
        links: [{ index: 0, url: pricing }],
      });
      await open(proposal, GMAIL_PROXY);
      await signal({
        kind: "reply",
        threadId: threads["Proposal for Contoso"],
        gmailMessageId: "msg-f:9001",
        at: new Date().toISOString(),
        from: "raj@contoso.example",
      });
      await register("Intro to Fabrikam", 4, { recipients: [{ email: "nobody@fabrikam.example" }], campaign: "Q4 launch" });
      await signal({
        kind: "bounce",
        threadId: threads["Intro to Fabrikam"],
        gmailMessageId: "msg-f:9002",
        at: new Date().toISOString(),
        bounce: { kind: "hard", recipients: ["nobody@fabrikam.example"], reason: HARD_REASON },
      });
      const opened = await register("Pricing question", 8, {
        recipients: [{ email: "lee@tailspin.example", name: "Lee Chen" }],
        campaign: "Q4 launch",
      });
      await open(opened, BROWSER);
      await register("Checking in", 9, { recipients: [{ email: "kim@litware.example", name: "Kim Diaz" }] });
      for (let i = 0; i < 6; i++) await register(`Older note ${i}`, 20 + i, { recipients: [{ email: `p${i}@adatum.example` }] });
      await eventually("hits stored", async () =>
        (await detail(webinar)).openCount === 3 && (await detail(opened)).openCount === 1 ? true : undefined,
      );

      const popup = await page("extension/src/popup/index.html");
      await popup.waitFor((id) => document.querySelector(`[data-testid=digest] li[data-message-id="${id}"]`), webinar);
      const entries = await popup.evaluate(
        () =>
          Object.fromEntries(
            [...document.querySelectorAll("[data-testid=digest] li")].map((li) => [
              li.querySelector(".subject")?.textContent,
              {
                what: li.querySelector(".what")?.textContent,
                meta: li.querySelector(".muted")?.textContent,
                href: li.querySelector("a")?.getAttribute("href"),
              },
            ]),
          ),
        null,
      );
      // One entry per email however many hits; the Apple prefetch is summed, not listed.
      expect(Object.keys(entries).filter((s) => s === "Webinar recording")).toHaveLength(1);
      expect(entries["Webinar recording"]?.what).toMatch(/^Opened 3×, last (just now|\d+ min ago) · clicked calendly\.com\/rep\/30min$/);
      expect(entries["Webinar recording"]?.meta).toContain("1 machine hit not counted");
      expect(entries["Webinar recording"]?.href).toMatch(/^https:\/\/mail\.google\.com\/mail\/u\/0\/#all\/[0-9a-f]+$/);
      expect(entries["Proposal for Contoso"]?.what).toMatch(/^Replied just now · opened 1×/);
      expect(entries["Intro to Fabrikam"]?.what).toBe(`Bounced: ${HARD_REASON}`);
      expect(entries["Checking in"]).toBeUndefined(); // nothing happened to it
      // Fits the 600 px a popup shows, the buttons in view.
      const size = await popup.evaluate(
        () => ({ height: document.body.scrollHeight, footer: document.querySelector("footer")?.getBoundingClientRect().bottom ?? 9999 }),
        null,
      );
      expect(size.height).toBeLessThanOrEqual(600);
      expect(size.footer).toBeLessThanOrEqual(600);
      await popup.close();
      shots.push(["popup", ""]);
    });

    it("the dashboard's message page: opens with clients in words, machine hits dimmed, clicks per link, the thread one click away", async () => {
      const tab = await dashboard(`message/${encodeURIComponent(ids["Webinar recording"] ?? "")}`);
      await tab.waitFor(() => document.querySelectorAll("[data-testid=opens] li").length === 4, null);
      const opens = await tab.evaluate(
        () =>
          [...document.querySelectorAll("[data-testid=opens] li")].map((li) => [
            li.getAttribute("data-counted"),
            li.className,
            li.querySelector("[data-col=client]")?.textContent,
          ]),
        null,
      );
      expect(opens).toEqual(
        expect.arrayContaining([
          ["true", "", "iPhone Mail"],
          ["true", "", "Outlook for Windows"],
          ["false", "dim", "Apple Mail (privacy prefetch)"],
        ]),
      );
      expect(await tab.evaluate(() => document.querySelector("[data-testid=opens] time")?.getAttribute("title"), null)).toMatch(/\d{4}/);
      expect(
        await tab.evaluate(() => [...document.querySelectorAll("[data-testid=links] td[data-col]")].map((td) => td.textContent), null),
      ).toEqual(["1", "1"]);
      expect(await text(tab, "[data-testid=message-state]")).toMatch(/^clicked · 3 opens, 1 click, 0 replies/);
      expect(await tab.evaluate(() => document.querySelector("[data-testid=thread-link]")?.getAttribute("href"), null)).toMatch(
        /^https:\/\/mail\.google\.com\//,
      );
      await tab.evaluate((id) => {
        location.hash = `#message/${encodeURIComponent(id)}`;
      }, ids["Intro to Fabrikam"] ?? "");
      await tab.waitFor(() => document.querySelector("[data-testid=bounce]"), null);
      expect(await text(tab, "[data-testid=bounce]")).toContain(HARD_REASON);
      await tab.close();
      shots.push(["message", `message/${encodeURIComponent(ids["Webinar recording"] ?? "")}`]);
    });

    it("the message list sorts by column, filters as the rep types (names too), picks a campaign, and says replied", async () => {
      const tab = await dashboard("messages");
      const subjects = () =>
        tab.evaluate(
          () => [...document.querySelectorAll("[data-testid=messages] tbody tr td:first-child button")].map((b) => b.textContent),
          null,
        );
      await tab.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 11, null);
      await tab.waitFor(() => document.querySelector("[data-testid=chart]"), null);
      expect(Number(await tab.evaluate(() => document.querySelector("[data-testid=chart]")?.getAttribute("data-opens"), null))).toBe(5);
      // Newest first by default; a click on Opens sorts by it, most first; again, least first.
      await tab.click("th[data-sort=opens] button");
      expect((await subjects()).slice(0, 2)).toEqual(["Webinar recording", "Proposal for Contoso"]);
      expect(await tab.evaluate(() => document.querySelector("th[data-sort=opens]")?.getAttribute("aria-sort"), null)).toBe("descending");
      await tab.click("th[data-sort=opens] button");
      expect((await subjects()).at(-1)).toBe("Webinar recording");
      await tab.click("th[data-sort=subject] button");
      expect((await subjects())[0]).toBe("Checking in");
      // Relative times, the exact time on hover.
      const sentCell = await tab.evaluate((id) => {
        const time = document.querySelector(`[data-testid=messages] tbody tr[data-id="${id}"] time`);
        return [time?.textContent, time?.getAttribute("title")];
      }, ids["Webinar recording"] ?? "");
      expect(sentCell[0]).toBe("5 days ago");
      expect(sentCell[1]).toMatch(/\d{4}.*\d{1,2}:\d{2}/);
      // Typing filters with no Enter: a recipient's name.
      await tab.type("input[name=q]", "kowal");
      await tab.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 1, null);
      expect(await subjects()).toEqual(["Webinar recording"]);
      await fillInput(tab, "input[name=q]", "");
      await tab.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 11, null);
      // The campaign picker lists the campaigns: no exact, case-sensitive typing.
      await tab.waitFor(() => document.querySelectorAll("select[name=campaign] option").length === 3, null);
      await tab.evaluate(() => {
        const select = document.querySelector("select[name=campaign]") as HTMLSelectElement;
        select.value = "Q4 launch";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }, null);
      await tab.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 3, null);
      // "replied" is a state to filter on and to read.
      await tab.evaluate(() => {
        const select = document.querySelector("select[name=state]") as HTMLSelectElement;
        select.value = "replied";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }, null);
      await tab.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 1, null);
      expect(await text(tab, "[data-testid=messages] td[data-col=state]")).toBe("replied");
      await tab.evaluate(() => {
        location.hash = "#messages";
      }, null);
      await tab.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 11, null);
      const states = await tab.evaluate(
        () => [...document.querySelectorAll("[data-testid=messages] td[data-col=state]")].map((td) => td.textContent),
        null,
      );
      expect(states).toContain("no open yet");
      expect(states).not.toContain("delivered");
      // People: the score says its scale.
      await tab.evaluate(() => {
        location.hash = "#people";
      }, null);
      await tab.waitFor(() => document.querySelector("[data-testid=people] tbody tr"), null);
      expect(await text(tab, "[data-testid=score-explained]")).toMatch(/a reply 10.*halves every 14 days/);
      // The export notice goes with the view.
      await tab.click("button[name=export-events]");
      await tab.waitFor(() => document.querySelector("[data-testid=export-notice]"), null);
      await tab.evaluate(() => {
        location.hash = "#campaigns";
      }, null);
      await tab.waitFor(
        () => document.querySelector("[data-testid=campaigns]") && !document.querySelector("[data-testid=export-notice]"),
        null,
      );
      await tab.close();
      shots.push(["messages", "messages"], ["people", "people"], ["campaigns", "campaigns"]);
    });

    it("needs a follow-up: no reply after the wait, clicked first, then opened, then nothing, each one click from its thread", async () => {
      const tab = await dashboard("follow-ups");
      await tab.waitFor(() => document.querySelector("[data-testid=follow-ups] .follow-up-group"), null);
      const groups = await tab.evaluate(
        () =>
          [...document.querySelectorAll(".follow-up-group")].map((g) => [
            g.getAttribute("data-engagement"),
            [...g.querySelectorAll("a.thread")].map((a) => [
              a.textContent,
              a.getAttribute("href")?.startsWith("https://mail.google.com/mail/u/0/#all/"),
            ]),
          ]),
        null,
      );
      expect(groups[0]).toEqual(["clicked", [["Webinar recording", true]]]);
      expect(groups[1]).toEqual(["opened", [["Pricing question", true]]]);
      expect(groups[2]?.[0]).toBe("none");
      const quiet = ((groups[2]?.[1] ?? []) as [string, boolean][]).map(([s]) => s);
      expect(quiet).toContain("Checking in");
      // Replied and bounced emails are not chased.
      expect(quiet).not.toContain("Proposal for Contoso");
      expect(quiet).not.toContain("Intro to Fabrikam");
      await tab.close();
      shots.push(["follow-ups", "follow-ups"]);
    });

    it("a big account's people list: the tracker scores its contacts over several requests and the dashboard asks again until every one is in place", async () => {
      // 40 more new contacts than one listing rescores (RESCORED_PER_REQUEST in worker/src/db/contact-scores.ts, 360,
      // in the order they were added; not imported, as its module needs the Workers types): the last one, who
      // replied, is scored only by a second request.
      const recipients = Array.from({ length: 400 }, (_, i) => ({ email: `staff${i}@northwind.example` }));
      const replier = recipients.at(-1)?.email ?? "";
      await register("All-hands invite", 1, { recipients });
      expect(
        (
          await signal({
            kind: "reply",
            threadId: threads["All-hands invite"],
            gmailMessageId: "msg-f:9003",
            at: new Date().toISOString(),
            from: replier,
          })
        ).status,
      ).toBe(200);
      const tab = await dashboard("people");
      // Without asking again, the list would stay as the first answer left it: "Still scoring 40 contacts", and the
      // replier unscored, below the first page. A reply just now scores its full weight.
      await tab.waitFor(
        ({ email, score }) =>
          document.querySelector(`[data-testid=people] tr[data-email="${email}"] [data-col=score]`)?.textContent?.startsWith(score) &&
          !document.querySelector("[data-testid=people-pending]"),
        { email: replier, score: ENGAGEMENT_WEIGHTS.reply.toFixed(1) },
      );
      const top = await tab.evaluate(
        () => [...document.querySelectorAll("[data-testid=people] tbody tr")].slice(0, 3).map((tr) => tr.getAttribute("data-email")),
        null,
      );
      expect(top).toContain(replier);
      await tab.close();
    });

    // Chromium only (options.gmail): the compose window is the simulated Gmail's, which the Firefox suite covers elsewhere.
    if (options.gmail)
      it("a compose reminder comes due with no reply (clock moved ahead): one notification names the email; a reply settles another at once", async () => {
        const gmail = await harness.newTab(GMAIL);
        const composeWithReminder = async (to: string, subject: string, days: string) => {
          const before = await gmail.evaluate(() => document.querySelectorAll("#composes [role=dialog]").length, null);
          await gmail.click("[data-sim=compose]");
          await gmail.waitFor((n) => document.querySelectorAll("#composes [role=dialog]").length > n, before);
          const scope = `#composes [role=dialog]:nth-child(${before + 1})`;
          await gmail.waitFor((s) => document.querySelector(`${s} .mt-toggle-remind`), scope);
          await gmail.type(`${scope} [data-sim=to]`, to);
          await gmail.press(`${scope} [data-sim=to]`, "Enter");
          await gmail.type(`${scope} input[name=subjectbox]`, subject);
          // As TrustedHTML: the simulated Gmail enforces Trusted Types like Gmail.
          await pasteInto(gmail, scope, "<div>Any news on this?</div>");
          await gmail.click(`${scope} .mt-toggle-remind`);
          await fillInput(gmail, `${scope} .mt-remind-days`, days);
          await gmail.waitFor((s) => document.querySelector(`${s} .mt-remind`)?.getAttribute("data-mt-state") === "set", scope);
          await gmail.waitFor((s) => document.querySelector(`${s} .mt-toolbar[data-mt-ready=true]`), scope);
          const count = google.sent.length;
          await gmail.click(`${scope} div[role=button][data-tooltip^="Send"]`);
          const sent: SentRecord = await eventually("Gmail's /sync send", async () => google.sent[count]);
          const id = PIXEL(tracker.url).exec(sent.html)?.[1] ?? "";
          await eventually(`registration of ${id}`, async () => ((await api(`/api/messages/${id}`)).status === 200 ? true : undefined));
          return { id, sent };
        };
        const due = await composeWithReminder("dana@wingtip.example", "Contract draft", "2");
        const answered = await composeWithReminder("eli@woodgrove.example", "Meeting next week", "2");

        const options = await page("extension/src/options/index.html");
        const reminders = async () =>
          ((await storageOf(options, "followUpReminders")) as { trackingId: string }[] | undefined)?.map((r) => r.trackingId) ?? [];
        expect(await reminders()).toEqual([due.id, answered.id]);

        // Eli replies in Gmail: the extension reports it, and his email's reminder is settled before it is due.
        await receiveInGmail(gmail, {
          thread: answered.sent.legacyThreadId,
          from: "eli@woodgrove.example",
          name: "Eli",
          text: "Tuesday works.",
        });
        await gmail.evaluate(() => {
          location.hash = "#sent";
        }, null);
        await eventually("the reply recorded", async () => ((await detail(answered.id)).replyCount === 1 ? true : undefined));
        await eventually("the answered reminder settled", async () => ((await reminders()).join() === due.id ? true : undefined));

        // The dashboard's list of reminders names the email that waits, as sent.
        const waiting = await dashboard("follow-ups");
        await waiting.waitFor(() => document.querySelector("[data-testid=reminders]"), null);
        expect(await waiting.evaluate(() => document.querySelector("[data-testid=reminders]")?.textContent ?? "", null)).toMatch(
          /^Contract draft to dana · if no reply, a notification in 2 days/,
        );
        await waiting.close();

        // Nothing is due yet.
        const shown = async () =>
          ((await storageOf(options, "notificationsShown")) as { key: string; title: string; message: string; id: string }[] | undefined) ??
          [];
        expect((await shown()).filter((n) => n.key.startsWith("remind:"))).toEqual([]);
        // Two days and a minute later (the reminders' clock moved), the follow-up view looks at due reminders.
        await setStorage(options, "clockSkewMs", 2 * DAY + 60_000);
        const view = await dashboard("follow-ups");
        const note = await eventually("the reminder's notification", async () => (await shown()).find((n) => n.key === `remind:${due.id}`));
        expect(note.title).toBe("No reply in 2 days: Contract draft");
        // The recipient as Gmail names them: the chip's data-name ("dana" in the simulated Gmail), read at send time.
        expect(note.message).toContain("To dana:");
        // Its notification opens the thread (the click handler reads the thread from the notification id).
        expect(note.id).toContain(`|${(await detail(due.id)).threadId}|`);
        expect(await reminders()).toEqual([]);
        await view.close();
        await setStorage(options, "clockSkewMs", 0);
        await options.close();
        await gmail.close();
      });
  });
}
