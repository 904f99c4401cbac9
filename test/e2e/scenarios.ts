// The end-to-end behaviours of the Gmail extension, run in each real browser (chromium.e2e.test.ts,
// firefox.e2e.test.ts) against the built extension and the real tracker under `wrangler dev`. Only Google is
// simulated (gmail-sim/): the Gmail page, its /sync endpoint and the image proxy.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module shared with `npm start`; its shape is documented there.
import { startTracker } from "../../scripts/tracker.mjs";
import type { MessageDetail } from "../../shared/api";
import { type SentRecord, SimulatedGoogle } from "./gmail-sim/google";
import { type BrowserHarness, connectFromOptions, type Tab } from "./harness";
import { eventually, freePort } from "./wait";

const GMAIL = "https://mail.google.com/mail/u/0/#inbox";
const EXCLUDED_RECIPIENT_DOMAIN = "mycompany.example";
const EXCLUDED_LINK_DOMAIN = "intranet.example";

interface Tracker {
  url: string;
  stop(): Promise<void>;
}

const PIXEL = (tracker: string) => new RegExp(`<img[^>]*src="(${tracker.replaceAll(".", "\\.")}/o/([^"]+)\\.gif)"`);

export function defineScenarios(browserName: string, launch: () => Promise<BrowserHarness>): void {
  describe(`${browserName}: tracked sending from Gmail`, () => {
    let harness: BrowserHarness;
    let google: SimulatedGoogle;
    let tracker: Tracker;
    let port: number;
    let persistTo: string;
    let apiToken = "";
    let gmail: Tab;
    const vars = { SIGNING_SECRET: randomBytes(32).toString("base64url").slice(0, 43), FEED_SETTLE_SECONDS: "0" };

    const startOurTracker = async () => {
      tracker = await startTracker({ port, persistTo, vars });
    };

    const api = async <T>(pathname: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
      const response = await fetch(`${tracker.url}${pathname}`, {
        ...init,
        headers: { Authorization: `Bearer ${apiToken}`, "Content-Type": "application/json", ...init.headers },
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
    };

    const registered = (trackingId: string) =>
      eventually(`registration of ${trackingId}`, async () => {
        const { status, body } = await api<MessageDetail>(`/api/messages/${trackingId}`);
        return status === 200 ? body : undefined;
      });

    /** Opens a new compose in the simulated Gmail and fills it like a user would (chips, subject, pasted body). */
    const compose = async (tab: Tab, { to, subject, html }: { to: string[]; subject: string; html: string }) => {
      const before = await tab.evaluate(() => document.querySelectorAll("#composes [role=dialog]").length, null);
      await tab.click("[data-sim=compose]");
      await tab.waitFor((n) => document.querySelectorAll("#composes [role=dialog]").length > n, before);
      const dialog = `#composes [role=dialog]:nth-child(${before + 1})`;
      await fill(tab, dialog, { to, subject, html });
      return dialog;
    };

    const fill = async (tab: Tab, scope: string, { to, subject, html }: { to: string[]; subject?: string; html: string }) => {
      await tab.waitFor((s) => document.querySelector(`${s} .mt-toolbar`), scope);
      for (const address of to) {
        await tab.type(`${scope} [data-sim=to]`, address);
        await tab.press(`${scope} [data-sim=to]`, "Enter");
      }
      if (subject !== undefined) await tab.type(`${scope} input[name=subjectbox]`, subject);
      // A paste into the body: a real editing command, so the page sees the same input events as from a user.
      await tab.evaluate(
        ({ s, h }) => {
          const body = document.querySelector(`${s} [g_editable]`) as HTMLElement;
          body.focus();
          const selection = getSelection();
          selection?.selectAllChildren(body);
          selection?.collapseToStart();
          document.execCommand("insertHTML", false, h);
        },
        { s: scope, h: html },
      );
    };

    /** Waits until the extension has signed every link of the compose (what a user's pause before sending gives). */
    const ready = (tab: Tab, scope: string) => tab.waitFor((s) => document.querySelector(`${s} .mt-toolbar[data-mt-ready=true]`), scope);

    const nextSend = async (count: number): Promise<SentRecord> => eventually("Gmail's /sync send", async () => google.sent[count]);

    beforeAll(async () => {
      port = await freePort();
      persistTo = mkdtempSync(path.join(tmpdir(), "mt-e2e-tracker-"));
      await startOurTracker();
      harness = await launch();
      google = harness.google;
    }, 120_000);

    afterAll(async () => {
      await harness?.close();
      await tracker?.stop();
      rmSync(persistTo, { recursive: true, force: true });
    }, 60_000);

    it("connects from the options page: creates an account on the tracker, tests the connection, saves exclusions", async () => {
      const connected = await connectFromOptions(harness, tracker.url);
      const options = connected.options;
      expect(connected.error).toBeNull();
      apiToken = connected.apiToken;
      const account = await api<{ accountId: string }>("/api/account");
      expect(account.status).toBe(200);
      await options.waitFor(
        (id) => document.querySelector("[data-testid=connection]")?.textContent?.includes(`account ${id}`),
        account.body.accountId,
      );

      await options.click("button[name=test]");
      await options.waitFor(() => document.querySelector("[data-testid=notice].ok"), null);
      expect(await options.evaluate(() => document.querySelector("[data-testid=notice]")?.textContent, null)).toBe(
        `connected to ${tracker.url} as account ${account.body.accountId}`,
      );

      const exclusions: [string, string][] = [
        ["excludedRecipientDomains", EXCLUDED_RECIPIENT_DOMAIN],
        ["excludedLinkDomains", EXCLUDED_LINK_DOMAIN],
      ];
      for (const [name, value] of exclusions) {
        await options.evaluate(
          ({ n, v }) => {
            const area = document.querySelector(`textarea[name=${n}]`) as HTMLTextAreaElement;
            area.value = v;
            area.dispatchEvent(new Event("change", { bubbles: true }));
          },
          { n: name, v: value },
        );
      }
      // Saved (not only typed) before the page closes: the compose reads the stored settings.
      const storedOptions = () =>
        options.evaluate(async () => {
          type Ext = { storage: { local: { get(key: string): Promise<Record<string, unknown>> } } };
          const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
          return ((await (g.browser ?? g.chrome)?.storage.local.get("options"))?.options ?? {}) as Record<string, unknown>;
        }, null);
      await eventually("the exclusions saved", async () => {
        const saved = await storedOptions();
        return exclusions.every(([name, value]) => JSON.stringify(saved[name]) === JSON.stringify([value])) ? true : undefined;
      });
      await options.close();
      gmail = await harness.newTab(GMAIL);
    });

    let first: { id: string; pixel: string; sent: SentRecord };

    it("compose -> send puts the pixel and signed links in the HTML Gmail sends, and registers it with its thread id", async () => {
      const dialog = await compose(gmail, {
        to: ["carol@prospect.example"],
        subject: "Pricing for Q3",
        html: `<div>Hi Carol, see <a href="https://shop.example/pricing?plan=pro&amp;x=1">our pricing</a>,
          <a href="mailto:sales@vendor.example">write to us</a>, <a href="tel:+15550100">call</a>,
          <a href="https://wiki.${EXCLUDED_LINK_DOMAIN}/page">the wiki</a> and <img src="https://images.vendor.example/logo.png" alt="logo"></div>`,
      });
      await ready(gmail, dialog);
      expect(await gmail.evaluate((d) => document.querySelector(`${d} .mt-toggle-open`)?.getAttribute("aria-pressed"), dialog)).toBe(
        "true",
      );
      const count = google.sent.length;
      await gmail.click(`${dialog} div[role=button][data-tooltip^="Send"]`);
      const sent = await nextSend(count);

      const pixel = PIXEL(tracker.url).exec(sent.html);
      expect(pixel, sent.html).not.toBeNull();
      const [, pixelUrl = "", id = ""] = pixel ?? [];
      // The tracked link keeps its text; its href is the signed click link the real worker redirects.
      const link = /<a href="([^"]+)">our pricing<\/a>/.exec(sent.html)?.[1]?.replaceAll("&amp;", "&") ?? "";
      expect(link.startsWith(`${tracker.url}/c/${id}/0?u=`)).toBe(true);
      const redirect = await fetch(link, {
        redirect: "manual",
        headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" },
      });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get("location")).toBe("https://shop.example/pricing?plan=pro&x=1");
      expect(sent.html).toContain('href="mailto:sales@vendor.example"');
      expect(sent.html).toContain('href="tel:+15550100"');
      expect(sent.html).toContain(`href="https://wiki.${EXCLUDED_LINK_DOMAIN}/page"`);

      const message = await registered(id);
      expect(message.threadId).toBe(sent.legacyThreadId);
      expect(message.gmailMessageId).toBe(sent.legacyMessageId);
      expect(message.subject).toBe("Pricing for Q3");
      expect(message.recipients).toEqual([{ email: "carol@prospect.example" }]);
      expect(message.links.map((l) => [l.index, l.url])).toEqual([[0, "https://shop.example/pricing?plan=pro&x=1"]]);
      expect(message.openTracking && message.clickTracking).toBe(true);
      first = { id, pixel: pixelUrl, sent };
    });

    it("a recipient's open through Google's image proxy records one counted open", async () => {
      // The recipient's Gmail: Google's proxy (simulated from Node, with its user agent) fetches the pixel.
      expect(await SimulatedGoogle.fetchThroughProxy(first.pixel)).toBe(200);
      const message = await eventually("the open", async () => {
        const { body } = await api<MessageDetail>(`/api/messages/${first.id}`);
        return body.opens.length > 0 ? body : undefined;
      });
      expect(message.openCount).toBe(1);
      expect(message.opens.map((o) => o.label)).toEqual(["gmail-proxy"]);
    });

    it("the sender opening the sent message: the pixel is neutralised before it loads, and hits from elsewhere are labelled sender", async () => {
      const dialog = await compose(gmail, { to: ["dave@prospect.example"], subject: "Follow-up", html: "<div>Just checking in.</div>" });
      await ready(gmail, dialog);
      const count = google.sent.length;
      await gmail.press(`${dialog} [g_editable]`, "Control+Enter");
      const sent = await nextSend(count);
      const [, pixel = "", id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
      await registered(id);

      await gmail.evaluate((thread) => {
        location.hash = `#sent/${thread}`;
      }, sent.legacyThreadId);
      await gmail.waitFor(() => {
        const images = [...document.querySelectorAll(".a3s img")] as HTMLImageElement[];
        return images.length > 0 && images.every((img) => img.complete);
      }, null);
      const shown = await gmail.evaluate(
        () => [...document.querySelectorAll(".a3s img")].map((img) => [img.getAttribute("src"), img.getAttribute("data-mt-pixel-id")]),
        null,
      );
      expect(shown).toEqual([[expect.stringMatching(/^data:image\/gif/), id]]);
      // Every image of the view has finished: had the pixel loaded, the proxy would have been asked for it.
      expect(google.proxied).not.toContain(pixel);

      await gmail.waitFor(() => Number(document.documentElement.dataset.mtViewsReported ?? 0) > 0, null);
      // The sender's other device (or a race) loads the pixel now: the tracker labels it the sender's own.
      await SimulatedGoogle.fetchThroughProxy(pixel);
      const message = await eventually("the sender's hit", async () => {
        const { body } = await api<MessageDetail>(`/api/messages/${id}`);
        return body.opens.length > 0 ? body : undefined;
      });
      expect(message.opens.map((o) => o.label)).toEqual(["sender"]);
      expect(message.openCount).toBe(0);
    });

    it("an inline reply strips the quoted email's pixel and tracked link, and carries its own", async () => {
      await gmail.evaluate((thread) => {
        location.hash = `#sent/${thread}`;
      }, first.sent.legacyThreadId);
      await gmail.waitFor(() => document.querySelector("[data-sim=reply]"), null);
      await gmail.click("[data-sim=reply]");
      const scope = "#main .ip";
      await gmail.waitFor((s) => document.querySelector(`${s} [g_editable] blockquote`), scope);
      expect(await gmail.evaluate((s) => document.querySelector(`${s} [role=dialog]`) === null, scope)).toBe(true);
      await fill(gmail, scope, { to: ["carol@prospect.example"], html: "<div>Any questions?</div>" });
      await ready(gmail, scope);
      const count = google.sent.length;
      await gmail.click(`${scope} div[role=button][data-tooltip^="Send"]`);
      const sent = await nextSend(count);
      expect(sent.html).toContain("blockquote");
      expect(sent.html).not.toContain(first.id);
      const [, , id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
      expect(id).not.toBe("");
      expect(id).not.toBe(first.id);
      const message = await registered(id);
      expect(message.threadId).toBe(first.sent.legacyThreadId);
      // The quoted link was unwrapped from the first email's click link and now counts for the reply.
      expect(message.links.map((l) => l.url)).toEqual(["https://shop.example/pricing?plan=pro&x=1"]);
      await gmail.evaluate(() => {
        location.hash = "#inbox";
      }, null);
    });

    it("an inline forward strips the quoted email's pixel and carries its own, for the new recipient", async () => {
      await gmail.evaluate((thread) => {
        location.hash = `#sent/${thread}`;
      }, first.sent.legacyThreadId);
      await gmail.waitFor(() => document.querySelector("[data-sim=forward]"), null);
      await gmail.click("[data-sim=forward]");
      const scope = "#main .ip";
      await gmail.waitFor(
        (s) => document.querySelector(`${s} [g_editable] .gmail_quote`)?.textContent?.includes("Forwarded message"),
        scope,
      );
      await fill(gmail, scope, { to: ["erin@partner.example"], html: "<div>Erin, see below.</div>" });
      await ready(gmail, scope);
      const count = google.sent.length;
      await gmail.press(`${scope} [g_editable]`, "Control+Enter");
      const sent = await nextSend(count);
      expect(sent.html).toContain("Forwarded message");
      expect(sent.html).not.toContain(first.id);
      const [, , id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
      expect(id).not.toBe("");
      expect(id).not.toBe(first.id);
      const message = await registered(id);
      expect(message.subject).toBe("Fwd: Pricing for Q3");
      expect(message.recipients).toEqual([{ email: "erin@partner.example" }]);
      await gmail.evaluate(() => {
        location.hash = "#inbox";
      }, null);
    });

    it("several composes open at once, one full screen: each send carries and registers its own id", async () => {
      const dialog = await compose(gmail, { to: ["frank@prospect.example"], subject: "First of two", html: "<div>One.</div>" });
      // Shift+click on Compose opens a full-screen compose ([role=dialog] div.aaZ) beside the first one.
      await gmail.evaluate(() => {
        document.querySelector("[data-sim=compose]")?.dispatchEvent(new MouseEvent("click", { bubbles: true, shiftKey: true }));
      }, null);
      const fullScreen = "#composes [role=dialog]:has(.aaZ)";
      await fill(gmail, fullScreen, {
        to: ["grace@prospect.example"],
        subject: "Second of two",
        html: '<div>Two, with <a href="https://shop.example/demo">a demo</a>.</div>',
      });
      await ready(gmail, dialog);
      await ready(gmail, fullScreen);
      const count = google.sent.length;
      // The one opened last goes first: nothing may depend on the order the composes were opened in.
      await gmail.click(`${fullScreen} div[role=button][data-tooltip^="Send"]`);
      const second = await nextSend(count);
      await gmail.click(`${dialog} div[role=button][data-tooltip^="Send"]`);
      const firstOfTwo = await nextSend(count + 1);
      const [, , secondId = ""] = PIXEL(tracker.url).exec(second.html) ?? [];
      const [, , firstId = ""] = PIXEL(tracker.url).exec(firstOfTwo.html) ?? [];
      expect(secondId).not.toBe("");
      expect(firstId).not.toBe("");
      expect(secondId).not.toBe(firstId);
      expect(second.html).toContain(`${tracker.url}/c/${secondId}/0?u=`);
      const [secondMessage, firstMessage] = await Promise.all([registered(secondId), registered(firstId)]);
      expect([secondMessage.subject, secondMessage.recipients]).toEqual(["Second of two", [{ email: "grace@prospect.example" }]]);
      expect(secondMessage.links.map((l) => l.url)).toEqual(["https://shop.example/demo"]);
      expect([firstMessage.subject, firstMessage.recipients]).toEqual(["First of two", [{ email: "frank@prospect.example" }]]);
      expect(secondMessage.threadId).toBe(second.legacyThreadId);
      expect(firstMessage.threadId).toBe(firstOfTwo.legacyThreadId);
    });

    it("a pop-out compose window sends tracked and registers the message", async () => {
      const popout = await harness.newTab("https://mail.google.com/mail/u/0/?view=cm&fs=1&tf=1");
      try {
        const scope = "#composes .aDh";
        await popout.waitFor((s) => document.querySelector(s), scope);
        await fill(popout, scope, {
          to: ["heidi@prospect.example"],
          subject: "From a pop-out",
          html: "<div>Sent from its own window.</div>",
        });
        await ready(popout, scope);
        const count = google.sent.length;
        await popout.press(`${scope} [g_editable]`, "Control+Enter");
        const sent = await nextSend(count);
        const [, , id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
        expect(id).not.toBe("");
        const message = await registered(id);
        expect(message.subject).toBe("From a pop-out");
        expect(message.threadId).toBe(sent.legacyThreadId);
      } finally {
        await popout.close();
      }
    });

    it("when Gmail's send button stops matching every selector, the email still goes out, untracked, and the extension says so", async () => {
      const changed = await harness.newTab("https://mail.google.com/mail/u/0/?sim=renamed-send#inbox");
      try {
        const dialog = await compose(changed, {
          to: ["ivan@prospect.example"],
          subject: "After a Gmail update",
          html: "<div>Hello.</div>",
        });
        await ready(changed, dialog);
        const count = google.sent.length;
        await changed.click(`${dialog} [data-sim=send]`);
        const sent = await nextSend(count);
        expect(sent.html).toContain("Hello.");
        expect(sent.html).not.toContain(`${tracker.url}/o/`);
        await changed.waitFor(
          () =>
            [...document.querySelectorAll(".mt-toast")].some((t) => /After a Gmail update.*went out untracked/.test(t.textContent ?? "")),
          null,
        );
      } finally {
        await changed.close();
      }
    });

    it("an excluded recipient domain turns tracking off visibly, and the email goes out untracked", async () => {
      const dialog = await compose(gmail, {
        to: [`erin@${EXCLUDED_RECIPIENT_DOMAIN}`],
        subject: "Lunch",
        html: '<div>See <a href="https://food.example/">this</a></div>',
      });
      await gmail.waitFor(
        (d) => document.querySelector(`${d} .mt-toolbar`)?.getAttribute("data-mt-status")?.includes("excluded domain"),
        dialog,
      );
      const toggles = await gmail.evaluate(
        (d) =>
          [...document.querySelectorAll(`${d} .mt-toggle`)].map((b) => [b.getAttribute("aria-pressed"), (b as HTMLButtonElement).disabled]),
        dialog,
      );
      // Opens, clicks, campaign, opt-out link, follow-up reminder: all off and locked.
      expect(toggles).toEqual([
        ["false", true],
        ["false", true],
        ["false", true],
        ["false", true],
        ["false", true],
      ]);
      const count = google.sent.length;
      await gmail.press(`${dialog} [g_editable]`, "Control+Enter");
      const sent = await nextSend(count);
      expect(sent.html).toContain('href="https://food.example/"');
      expect(sent.html).not.toContain(tracker.url);
    });

    it("plain-text mode says the email is not tracked and sends no tracking", async () => {
      const dialog = await compose(gmail, {
        to: ["frank@prospect.example"],
        subject: "Plain",
        html: '<div>Plain <a href="https://shop.example/">shop</a></div>',
      });
      await ready(gmail, dialog);
      await gmail.click(`${dialog} [data-sim=more]`);
      await gmail.click(`${dialog} [data-sim=plain]`);
      await gmail.waitFor(
        (d) => document.querySelector(`${d} .mt-status`)?.textContent === "Plain text mode: this email is not tracked",
        dialog,
      );
      const count = google.sent.length;
      // Keyboard send: Enter on the focused send button.
      await gmail.press(`${dialog} div[role=button][data-tooltip^="Send"]`, "Enter");
      const sent = await nextSend(count);
      expect(sent.html).toContain("Plain shop");
      expect(sent.html).not.toContain(tracker.url);
    });

    it("a send Gmail cancels with an alert dialog registers nothing", async () => {
      const dialog = await compose(gmail, { to: ["not-an-address"], subject: "Cancelled", html: "<div>Never sent</div>" });
      await ready(gmail, dialog);
      const count = google.sent.length;
      await gmail.click(`${dialog} div[role=button][data-tooltip^="Send"]`);
      await gmail.waitFor(() => document.querySelector("[role=alertdialog]"), null);
      await gmail.waitFor((d) => document.querySelector(`${d} .mt-status`)?.textContent?.includes("nothing was registered"), dialog);
      // The compose had been prepared (its pixel is in the body); remember its id, then give up on this email.
      const html = await gmail.evaluate((d) => document.querySelector(`${d} [g_editable]`)?.innerHTML ?? "", dialog);
      const [, , cancelledId = ""] = PIXEL(tracker.url).exec(html) ?? [];
      expect(cancelledId).not.toBe("");
      await gmail.click("[data-sim=alert-ok]");
      await gmail.click(`${dialog} [data-sim=discard]`);
      expect(google.sent.length).toBe(count);

      // A later email goes through the same outbox; once it is registered, nothing else is waiting or registered.
      const next = await compose(gmail, { to: ["gina@prospect.example"], subject: "Real one", html: "<div>Hello</div>" });
      await ready(gmail, next);
      await gmail.click(`${next} div[role=button][data-tooltip^="Send"]`);
      const sent = await nextSend(count);
      const [, , id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
      await registered(id);
      expect((await api(`/api/messages/${cancelledId}`)).status).toBe(404);
      const popup = await harness.newTab(harness.extensionUrl("extension/src/popup/index.html"));
      await popup.waitFor(() => document.querySelector("[data-testid=outbox-empty]"), null);
      await popup.close();
    });

    it("with the tracker down the email still sends, stays pending in the outbox, and is registered once the tracker is back", async () => {
      await tracker.stop();
      const options = await harness.newTab(harness.extensionUrl("extension/src/options/index.html"));
      await options.waitFor(() => document.querySelector("button[name=test]"), null);
      await options.click("button[name=test]");
      await options.waitFor(() => document.querySelector("[data-testid=notice].error")?.textContent?.startsWith("cannot reach"), null);
      await options.close();

      const dialog = await compose(gmail, {
        to: ["hank@prospect.example"],
        subject: "While down",
        html: '<div><a href="https://shop.example/down">offer</a></div>',
      });
      await ready(gmail, dialog);
      const count = google.sent.length;
      await gmail.click(`${dialog} div[role=button][data-tooltip^="Send"]`);
      const sent = await nextSend(count);
      const [, , id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
      expect(sent.html).toContain(`${tracker.url}/c/${id}/0?u=`);

      const popup = await harness.newTab(harness.extensionUrl("extension/src/popup/index.html"));
      await popup.waitFor(() => document.querySelector("[data-testid=outbox-count]")?.textContent?.startsWith("1 sent email"), null);
      await popup.waitFor(() => document.querySelector(".outbox li .muted")?.textContent?.includes("cannot reach"), null);

      await startOurTracker();
      const message = await registered(id);
      expect(message.threadId).toBe(sent.legacyThreadId);
      expect(message.links.map((l) => l.url)).toEqual(["https://shop.example/down"]);
      await popup.waitFor(() => document.querySelector("[data-testid=outbox-empty]"), null, 30_000);
      await popup.close();
    });

    it("read receipts: the Sent row goes grey, green 1, green 2, blue; one notification for the first open, one for the first click; Apple's prefetch and the sender's own view change nothing", async () => {
      const before = await compose(gmail, { to: [`sam@${EXCLUDED_RECIPIENT_DOMAIN}`], subject: "Untracked", html: "<div>Internal.</div>" });
      await gmail.waitFor(
        (d) => document.querySelector(`${d} .mt-toolbar`)?.getAttribute("data-mt-status")?.includes("excluded domain"),
        before,
      );
      const sentBefore = google.sent.length;
      await gmail.press(`${before} [g_editable]`, "Control+Enter");
      await nextSend(sentBefore);
      const dialog = await compose(gmail, {
        to: ["rita@prospect.example"],
        subject: "Quarterly review",
        html: '<div>Rita, the <a href="https://shop.example/review">review deck</a>.</div>',
      });
      await ready(gmail, dialog);
      const count = google.sent.length;
      await gmail.click(`${dialog} div[role=button][data-tooltip^="Send"]`);
      const sentAt = Date.now();
      const sent = await nextSend(count);
      const [, pixel = "", id = ""] = PIXEL(tracker.url).exec(sent.html) ?? [];
      const link = /<a href="([^"]+)">review deck<\/a>/.exec(sent.html)?.[1]?.replaceAll("&amp;", "&") ?? "";
      expect(link.startsWith(`${tracker.url}/c/${id}/0?u=`)).toBe(true);
      await registered(id);
      const legacy = sent.legacyThreadId;

      // What the background stored: read from one of the extension's own pages (the popup).
      const popupUrl = harness.extensionUrl("extension/src/popup/index.html");
      let popup = await harness.newTab(popupUrl);
      const stored = (messageId: string) =>
        popup.evaluate(async (m) => {
          type Ext = { storage: { local: { get(keys: string[]): Promise<Record<string, unknown>> } } };
          const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
          const ext = (g.browser ?? g.chrome) as Ext;
          const { notificationsShown = [], feed } = (await ext.storage.local.get(["notificationsShown", "feed"])) as {
            notificationsShown?: { key: string }[];
            feed?: { activity: { messageId: string; label: string }[] };
          };
          return {
            notified: notificationsShown.filter((n) => n.key.includes(m)).map((n) => n.key),
            labels: (feed?.activity ?? []).filter((a) => a.messageId === m).map((a) => a.label),
          };
        }, messageId);
      /** The Gmail tab gains focus (the background polls the feed) until the extension has read `n` events of the message. */
      const feedRead = (n: number) =>
        eventually(`${n} events of ${id} read from the feed`, async () => {
          await gmail.evaluate(() => window.dispatchEvent(new Event("focus")), null);
          const now = await stored(id);
          return now.labels.length >= n ? now : undefined;
        });
      const mark = () =>
        gmail.evaluate((l) => {
          const row = document.querySelector(`tr.zA [data-legacy-thread-id="${l}"]`)?.closest("tr");
          return [...(row?.querySelectorAll(".mt-mark") ?? [])].map((m) => `${m.getAttribute("data-mt-state")} ${m.textContent}`);
        }, legacy);
      const markBecomes = (expected: string) =>
        eventually(`the Sent row marked "${expected}"`, async () => {
          await gmail.evaluate(() => window.dispatchEvent(new Event("focus")), null);
          const now = await mark();
          return now.length === 1 && now[0] === expected ? now : undefined;
        });

      await gmail.evaluate(() => {
        location.hash = "#sent";
      }, null);
      await markBecomes("delivered ");
      const untracked = await gmail.evaluate(
        () =>
          [...document.querySelectorAll("tr.zA")]
            .filter((row) => !row.querySelector(".mt-mark"))
            .map((row) => row.textContent)
            .join()
            .includes("Untracked"),
        null,
      );
      // An email to an excluded domain (sent first) went out untracked: its row has no mark.
      expect(untracked).toBe(true);

      // Gmail re-renders the rows: the mark is back before the next task, once, and no request is made for it.
      const refreshes = await gmail.evaluate(() => document.documentElement.dataset.mtMarksRefreshed, null);
      const afterRerender = await gmail.evaluate(async (l) => {
        document.dispatchEvent(new Event("sim:rerender-sent"));
        await new Promise((resolve) => setTimeout(resolve, 0));
        const row = document.querySelector(`tr.zA [data-legacy-thread-id="${l}"]`)?.closest("tr");
        return [...(row?.querySelectorAll(".mt-mark") ?? [])].map((m) => m.getAttribute("data-mt-state"));
      }, legacy);
      expect(afterRerender).toEqual(["delivered"]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await gmail.evaluate(() => document.documentElement.dataset.mtMarksRefreshed, null)).toBe(refreshes);

      // Apple Mail Privacy Protection prefetches the pixel on delivery: stored, never counted or notified.
      await fetch(pixel, { headers: { "User-Agent": "Mozilla/5.0" } }).then((r) => r.arrayBuffer());
      expect((await feedRead(1)).labels).toEqual(["apple-mpp"]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await mark()).toEqual(["delivered "]);
      expect((await stored(id)).notified).toEqual([]);

      // The recipient opens it in Gmail (through Google's image proxy): green, 1, one notification.
      await SimulatedGoogle.fetchThroughProxy(pixel);
      await markBecomes("opened 1");
      expect((await feedRead(2)).notified).toEqual([`open:${id}`]);

      // A second open: 2, no new notification.
      await SimulatedGoogle.fetchThroughProxy(pixel);
      await markBecomes("opened 2");
      expect((await feedRead(3)).notified).toEqual([`open:${id}`]);

      // A click (later than the tracker's 10 s scanner window after sending): blue, and its own first notification.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, sentAt + 11_000 - Date.now())));
      const redirect = await fetch(link, {
        redirect: "manual",
        headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" },
      });
      expect(redirect.status).toBe(302);
      await markBecomes("clicked 2");
      expect((await feedRead(4)).notified).toEqual([`open:${id}`, `click:${id}:0`]);

      // The popup's digest: one entry for the message (two counted opens, the click, Apple's prefetch summed as a
      // machine hit, not listed) and today's totals.
      await popup.waitFor((m) => {
        const items = [...document.querySelectorAll(`[data-testid=digest] li[data-message-id="${m}"]`)];
        return (
          items.length === 1 &&
          items[0]?.getAttribute("data-opens") === "2" &&
          /clicked /.test(items[0]?.textContent ?? "") &&
          items[0]?.querySelector("[data-testid=machine-hits]")?.textContent?.includes("1 machine hit")
        );
      }, id);
      expect(await popup.evaluate(() => document.querySelector("[data-testid=reachable]")?.getAttribute("data-reachable"), null)).toBe(
        "true",
      );
      expect(await popup.evaluate(() => document.querySelector("[data-testid=totals]")?.textContent, null)).toMatch(
        /^Today: [2-9]\d* opens, [1-9]\d* clicks?/,
      );

      // The conversation: the panel shows the opens and the click. Opening it is the sender's own view (reported only
      // while the Gmail tab is visible: the popup's tab goes first).
      await popup.close();
      const viewsBefore = await gmail.evaluate(() => Number(document.documentElement.dataset.mtViewsReported ?? 0), null);
      await gmail.evaluate((l) => {
        location.hash = `#sent/${l}`;
      }, legacy);
      await gmail.waitFor((m) => document.querySelector(`.mt-panel[data-mt-for="${m}"]`)?.getAttribute("data-mt-open-count") === "2", id);
      const panel = await gmail.evaluate((m) => {
        const p = document.querySelector(`.mt-panel[data-mt-for="${m}"]`);
        return {
          count: p?.querySelector(".mt-panel-count")?.textContent,
          opens: [...(p?.querySelectorAll(".mt-open") ?? [])].map(
            (o) => `${o.getAttribute("data-label")}${o.classList.contains("mt-dim") ? " dim" : ""}`,
          ),
          link: p?.querySelector(".mt-link .mt-link-count")?.textContent,
          proxy: p?.querySelector('.mt-open[data-label="gmail-proxy"]')?.textContent,
        };
      }, id);
      expect(panel).toMatchObject({ count: "Opened 2 times", link: " — 1 click, 1 unique" });
      expect(panel.opens).toEqual(["gmail-proxy", "gmail-proxy", "apple-mpp dim"]);
      expect(panel.proxy).toContain("Opened through Gmail's image proxy");

      // The sender's other device loads the pixel while they look at it: labelled sender, no notification.
      await gmail.waitFor((n) => Number(document.documentElement.dataset.mtViewsReported ?? 0) > n, viewsBefore);
      await SimulatedGoogle.fetchThroughProxy(pixel);
      popup = await harness.newTab(popupUrl);
      expect((await feedRead(5)).labels[0]).toBe("sender");
      // (The tracker then relabels every hit of this message within 60 s of the view as the sender's, the recipient's
      // opens and click above included: the row's counts follow the tracker. Not the extension's to change.)
      expect((await stored(id)).notified).toEqual([`open:${id}`, `click:${id}:0`]);
      await popup.close();
      await gmail.evaluate(() => {
        location.hash = "#inbox";
      }, null);
    });
  });
}
