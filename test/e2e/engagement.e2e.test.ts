// End to end in Chromium, replies, bounces, campaigns and opt-outs: tracked emails sent from the simulated Gmail with a campaign name and an opt-out
// link; then a reply from the recipient and a "Mail Delivery Subsystem" notice arrive in their threads. The extension
// finds both in the Sent list (the bounced row turns red) and in the opened conversation (nothing counted twice),
// the dashboard counts them in the campaign and the message list, exports CSV, and the compose window warns before
// writing to the bounced address again. Real tracker under wrangler dev; only Google is simulated (gmail-sim/).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module shared with `npm start`; its shape is documented there.
import { startTracker } from "../../scripts/tracker.mjs";
import type { MessageDetail } from "../../shared/api";
import { launchChromium } from "./chromium";
import type { SentRecord, SimulatedGoogle } from "./gmail-sim/google";
import {
  type BrowserHarness,
  connectFromOptions,
  pasteInto,
  receivedAndCounted,
  receiveInGmail,
  type Tab,
  trackLinksOutOfReach,
} from "./harness";
import { eventually, freePort } from "./wait";

const GMAIL = "https://mail.google.com/mail/u/0/#inbox";
const CAMPAIGN = "Q4 launch";
const PIXEL = (tracker: string) => new RegExp(`<img[^>]*src="${tracker.replaceAll(".", "\\.")}/o/([^"]+)\\.gif"`);
const SOFT_NOTICE = `Message not delivered
Your message couldn't be delivered to full@busy.example because the recipient's mailbox is full.
The response from the remote server was:
552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp`;
const HARD_NOTICE = `Address not found
Your message wasn't delivered to nobody@nowhere.example because the address couldn't be found, or is unable to receive mail.
The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.`;

describe("Chromium: replies, bounces, campaigns and the dashboard", () => {
  let harness: BrowserHarness;
  let google: SimulatedGoogle;
  let tracker: { url: string; stop(): Promise<void> };
  let persistTo: string;
  let apiToken = "";
  let gmail: Tab;

  const api = async <T>(pathname: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${tracker.url}${pathname}`, {
      ...init,
      headers: { Authorization: `Bearer ${apiToken}`, "Content-Type": "application/json", ...init.headers },
    });
    const text = await response.text();
    return { status: response.status, body: (text.startsWith("{") ? JSON.parse(text) : text) as T };
  };
  const detail = async (id: string) => (await api<MessageDetail>(`/api/messages/${id}`)).body;

  /** A new compose, filled like a user would; `extras` runs before the body is pasted (campaign, opt-out link). */
  const compose = async (to: string, subject: string, html: string, extras?: (scope: string) => Promise<void>) => {
    const before = await gmail.evaluate(() => document.querySelectorAll("#composes [role=dialog]").length, null);
    await gmail.click("[data-sim=compose]");
    await gmail.waitFor((n) => document.querySelectorAll("#composes [role=dialog]").length > n, before);
    const scope = `#composes [role=dialog]:nth-child(${before + 1})`;
    await gmail.waitFor((s) => document.querySelector(`${s} .mt-toolbar`), scope);
    await gmail.type(`${scope} [data-sim=to]`, to);
    await gmail.press(`${scope} [data-sim=to]`, "Enter");
    await gmail.type(`${scope} input[name=subjectbox]`, subject);
    if (extras) await extras(scope);
    await pasteInto(gmail, scope, html);
    await gmail.waitFor((s) => document.querySelector(`${s} .mt-toolbar[data-mt-ready=true]`), scope);
    return scope;
  };

  const send = async (scope: string): Promise<{ sent: SentRecord; id: string; message: MessageDetail }> => {
    const count = google.sent.length;
    await gmail.click(`${scope} [data-sim=send]`);
    const sent = await eventually("Gmail's /sync send", async () => google.sent[count]);
    const id = PIXEL(tracker.url).exec(sent.html)?.[1] ?? "";
    expect(id).not.toBe("");
    const message = await eventually(`registration of ${id}`, async () => {
      const { status, body } = await api<MessageDetail>(`/api/messages/${id}`);
      return status === 200 ? body : undefined;
    });
    return { sent, id, message };
  };

  /** A message arriving in a thread from someone else (simulated Gmail: `sim:receive`). */
  const receive = (thread: string, from: string, name: string, text: string, quote = false) =>
    receiveInGmail(gmail, { thread, from, name, text, quote });

  /** Starts the tracker, or starts it again on the same port and state after `tracker.stop()`. */
  let startOurTracker: () => Promise<void>;

  beforeAll(async () => {
    const port = await freePort();
    persistTo = mkdtempSync(path.join(tmpdir(), "mt-e2e-engagement-"));
    const vars = { SIGNING_SECRET: randomBytes(32).toString("base64url").slice(0, 43), FEED_SETTLE_SECONDS: "0" };
    startOurTracker = async () => {
      tracker = await startTracker({ port, persistTo, vars });
    };
    await startOurTracker();
    harness = await launchChromium();
    google = harness.google;

    const connected = await connectFromOptions(harness, tracker.url);
    expect(connected.error).toBeNull();
    apiToken = connected.apiToken;
    // The tracker is on this machine: its click links are asked for, as a rep trying Mailtracker here does.
    await trackLinksOutOfReach(connected.options);
    await connected.options.close();
    gmail = await harness.newTab(GMAIL);
  }, 180_000);

  afterAll(async () => {
    await harness?.close();
    await tracker?.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }, 60_000);

  let toCarol: { sent: SentRecord; id: string };
  let toNobody: { sent: SentRecord; id: string };

  it("sends with a campaign name and an opt-out link that stays the tracker's own page, not a click link", async () => {
    const scope = await compose(
      "carol@prospect.example",
      "Launch news",
      '<div>Hi Carol, <a href="https://shop.example/launch">see the launch</a></div>',
      async (s) => {
        await gmail.click(`${s} .mt-toggle-campaign`);
        await gmail.type(`${s} .mt-campaign`, CAMPAIGN);
        await gmail.click(`${s} .mt-toggle-optout`);
        expect(await gmail.evaluate((x) => document.querySelector(`${x} .mt-toggle-optout`)?.getAttribute("aria-pressed"), s)).toBe("true");
      },
    );
    const { sent, id, message } = await send(scope);
    expect(message.campaign).toBe(CAMPAIGN);
    expect(sent.html).toContain(`<a href="${tracker.url}/u/${id}" style="color:#777">Don't track my opens and clicks</a>`);
    expect(sent.html).toContain(`${tracker.url}/c/${id}/0?u=`);
    expect(message.links.map((l) => l.url)).toEqual(["https://shop.example/launch"]);
    // The opt-out page answers a GET with a confirmation form and records nothing.
    const page = await fetch(`${tracker.url}/u/${id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Stop tracking my opens and clicks");
    toCarol = { sent, id };

    const second = await compose("nobody@nowhere.example", "Launch news", "<div>Hello there</div>", async (s) => {
      await gmail.click(`${s} .mt-toggle-campaign`);
      await gmail.type(`${s} .mt-campaign`, CAMPAIGN);
    });
    const sentSecond = await send(second);
    expect(sentSecond.message.campaign).toBe(CAMPAIGN);
    expect(sentSecond.sent.html).not.toContain("/u/");
    toNobody = sentSecond;
  });

  it("a reply and a bounce notice in the tracked threads show in the Sent list: the bounced row turns red, each is recorded once", async () => {
    await receive(toCarol.sent.legacyThreadId, "carol@prospect.example", "Carol", "Sounds great, let's talk on Monday.");
    await receive(toNobody.sent.legacyThreadId, "mailer-daemon@googlemail.com", "Mail Delivery Subsystem", HARD_NOTICE);
    await gmail.evaluate(() => {
      location.hash = "#sent";
    }, null);
    await gmail.waitFor(
      (thread) => document.querySelector(`tr[data-sim-thread="${thread}"] .mt-mark-bounced`),
      toNobody.sent.legacyThreadId,
      30_000,
    );
    const carol = await eventually("the reply", async () => {
      const body = await detail(toCarol.id);
      return body.replyCount > 0 ? body : undefined;
    });
    expect(carol.replyCount).toBe(1);
    const nobody = await detail(toNobody.id);
    expect(nobody.state).toBe("bounced");
    expect(nobody.bounce).toMatchObject({ kind: "hard", recipients: ["nobody@nowhere.example"] });
    expect(
      await gmail.evaluate(
        (thread) => document.querySelector(`tr[data-sim-thread="${thread}"] .mt-mark-bounced`) === null,
        toCarol.sent.legacyThreadId,
      ),
    ).toBe(true);

    // Carol writes again, quoting the sender's email and its pixel, and the sender answers: the row's latest message is
    // the sender's own, but Gmail's answer to the list names every message of the thread, so Carol's second reply is
    // found on the list, the pixel in its quote not making it the sender's. The opened conversation finds it again
    // under the same key; re-rendering the list and reopening count nothing twice (Carol's third reply, in the
    // reopened conversation, is counted by a scan that read the first two open there, and the list as re-rendered).
    const pixelFetches = () => google.proxied.filter((url) => url.includes(`/o/${toCarol.id}.gif`)).length;
    const fetchedBefore = pixelFetches();
    const opensBefore = (await detail(toCarol.id)).opens.length;
    await receive(toCarol.sent.legacyThreadId, "carol@prospect.example", "Carol", "One more question: is there a trial?", true);
    await receive(toCarol.sent.legacyThreadId, "me@example.com", "Me", "Yes, 30 days.");
    await eventually("the second reply", async () => ((await detail(toCarol.id)).replyCount === 2 ? true : undefined));
    await gmail.evaluate((thread) => {
      location.hash = `#sent/${thread}`;
    }, toCarol.sent.legacyThreadId);
    await gmail.waitFor(() => document.querySelectorAll("h3.iw span.gD[email='carol@prospect.example']").length === 2, null);
    await gmail.evaluate(() => {
      location.hash = "#sent";
      document.dispatchEvent(new Event("sim:rerender-sent"));
    }, null);
    await gmail.evaluate((thread) => {
      location.hash = `#sent/${thread}`;
    }, toCarol.sent.legacyThreadId);
    // Read by now, her two are collapsed (gmail-sim.js showConversation): the rep opens them, and they show their ids.
    const collapsed = await eventually("Carol's messages collapsed", async () => {
      const ids = await gmail.evaluate(
        () =>
          [...document.querySelectorAll<HTMLElement>("[data-sim-open-message]")]
            .filter((m) => m.querySelector("[email='carol@prospect.example']"))
            .map((m) => m.dataset.simOpenMessage ?? ""),
        null,
      );
      return ids.length === 2 ? ids : undefined;
    });
    // Each click draws the conversation again (gmail-sim.js showConversation): the next is clicked in the new one.
    for (const message of collapsed) await gmail.click(`[data-sim-open-message="${message}"]`);
    await gmail.waitFor(() => document.querySelectorAll("h3.iw span.gD[email='carol@prospect.example']").length === 2, null);
    await receivedAndCounted(
      gmail,
      { thread: toCarol.sent.legacyThreadId, from: "carol@prospect.example", name: "Carol", text: "Thanks, we will try it." },
      async () => (await detail(toCarol.id)).lastReplyAt,
    );
    expect((await detail(toCarol.id)).replyCount).toBe(3);
    // The pixel in Carol's quote, shown through Google's proxy twice over, was never loaded: no open of the sender's.
    expect(pixelFetches()).toBe(fetchedBefore);
    expect((await detail(toCarol.id)).opens).toHaveLength(opensBefore);
    const events = await api<string>("/api/export/events.csv");
    expect(events.body.split("\r\n").filter((line) => /,reply,/.test(line))).toHaveLength(3);
  });

  it("the dashboard counts the reply and the bounce in the campaign and the message list, exports CSV, deletes a contact", async () => {
    const dashboard = await harness.newTab(
      harness.extensionUrl(`extension/src/dashboard/index.html#campaign/${encodeURIComponent(CAMPAIGN)}`),
    );
    try {
      await dashboard.waitFor(() => document.querySelector("[data-testid=campaign-metrics] td[data-col=sent]"), null);
      const metrics = await dashboard.evaluate(
        () =>
          Object.fromEntries(
            [...document.querySelectorAll("[data-testid=campaign-metrics] td[data-col]")].map((td) => [
              td.getAttribute("data-col"),
              td.textContent,
            ]),
          ),
        null,
      );
      // Three replies on one email: one replied message of two.
      expect(metrics).toMatchObject({ sent: "2", reply: "50% (1)", bounce: "50% (1)" });

      await dashboard.evaluate((name) => {
        location.hash = `#messages?campaign=${encodeURIComponent(name)}`;
      }, CAMPAIGN);
      await dashboard.waitFor(() => document.querySelectorAll("[data-testid=messages] tbody tr").length === 2, null);
      const rows = await dashboard.evaluate(
        () =>
          [...document.querySelectorAll("[data-testid=messages] tbody tr")].map((tr) => [
            tr.getAttribute("data-id"),
            tr.getAttribute("data-state"),
            tr.querySelector("[data-col=replies]")?.textContent,
            tr.querySelector("[data-col=bounce]")?.textContent,
          ]),
        null,
      );
      expect(rows).toContainEqual([toNobody.id, "bounced", "0", "hard: nobody@nowhere.example"]);
      expect(rows).toContainEqual([toCarol.id, expect.not.stringMatching(/bounced/), "3", ""]);

      // Filter by state: only the bounced one.
      await dashboard.evaluate(() => {
        location.hash = "#messages?state=bounced";
      }, null);
      await dashboard.waitFor((id) => {
        const trs = [...document.querySelectorAll("[data-testid=messages] tbody tr")];
        return trs.length === 1 && trs[0]?.getAttribute("data-id") === id;
      }, toNobody.id);

      // People: Carol (three replies) first by score; her timeline shows the email and her replies, the bounced
      // address is marked suppressed.
      await dashboard.evaluate(() => {
        location.hash = "#people";
      }, null);
      await dashboard.waitFor(() => document.querySelectorAll("[data-testid=people] tbody tr").length === 2, null);
      const people = await dashboard.evaluate(
        () => [...document.querySelectorAll("[data-testid=people] tbody tr")].map((tr) => [tr.getAttribute("data-email"), tr.textContent]),
        null,
      );
      expect(people[0]?.[0]).toBe("carol@prospect.example");
      expect(people[1]).toEqual(["nobody@nowhere.example", expect.stringContaining("suppressed")]);
      await dashboard.click("[data-testid=people] tbody tr[data-email='carol@prospect.example'] button.link");
      await dashboard.waitFor(() => document.querySelectorAll("[data-testid=timeline] li[data-kind=reply]").length === 3, null);
      expect(
        await dashboard.evaluate(() => document.querySelector("[data-testid=timeline] li[data-kind=sent]")?.textContent, null),
      ).toContain("Launch news");

      await dashboard.click("button[name=export-messages]");
      await dashboard.waitFor(() => document.documentElement.dataset.lastExport === "messages:2", null);

      // Deleting a contact's data from its page (two steps): back on the people list, it is gone.
      await dashboard.evaluate(() => {
        location.hash = `#contact/${encodeURIComponent("carol@prospect.example")}`;
      }, null);
      await dashboard.click("button[name=delete-contact]");
      await dashboard.click("button[name=delete-contact-confirm]");
      await dashboard.waitFor(
        () =>
          location.hash === "#people" &&
          [...document.querySelectorAll("[data-testid=people] tbody tr")].map((tr) => tr.getAttribute("data-email")).join() ===
            "nobody@nowhere.example",
        null,
      );
    } finally {
      await dashboard.close();
    }
  });

  it("the compose window warns before writing to the bounced address again, without blocking the send", async () => {
    const scope = await compose("nobody@nowhere.example", "Trying again", "<div>Hello?</div>");
    await gmail.waitFor(
      (s) => document.querySelector(`${s} .mt-warning:not([hidden])`)?.textContent?.includes("nobody@nowhere.example bounced"),
      scope,
    );
    const count = google.sent.length;
    await gmail.click(`${scope} [data-sim=send]`);
    await eventually("the send", async () => google.sent[count]);
  });

  it("a soft bounce notice found in the opened conversation is recorded as soft, and the compose warns of a temporary failure", async () => {
    const scope = await compose("full@busy.example", "Catalogue", "<div>Our catalogue</div>");
    const { sent, id } = await send(scope);
    await receive(sent.legacyThreadId, "mailer-daemon@googlemail.com", "Mail Delivery Subsystem", SOFT_NOTICE);
    // Straight to the conversation: only the message headers there show the notice.
    await gmail.evaluate((thread) => {
      location.hash = `#sent/${thread}`;
    }, sent.legacyThreadId);
    const message = await eventually("the soft bounce", async () => {
      const body = await detail(id);
      return body.bounce ? body : undefined;
    });
    expect(message.bounce).toMatchObject({ kind: "soft", recipients: ["full@busy.example"] });
    const again = await compose("full@busy.example", "Catalogue, again", "<div>Our catalogue</div>");
    await gmail.waitFor(
      (s) =>
        document
          .querySelector(`${s} .mt-warning:not([hidden])`)
          ?.textContent?.includes("full@busy.example bounced recently (temporary failure)"),
      again,
    );
    await gmail.click(`${again} [data-sim=discard]`);
  });

  // Follows the tests above: nobody@nowhere.example bounced hard (suppressed), full@busy.example soft, and the
  // background has the compose checks of both cached.
  it("lifting a suppression on the contact's dashboard page stops the compose warning at once", async () => {
    const dashboard = await harness.newTab(
      harness.extensionUrl(`extension/src/dashboard/index.html#contact/${encodeURIComponent("nobody@nowhere.example")}`),
    );
    await dashboard.click("button[name=lift-suppression]");
    // The page reads the contact again: no longer suppressed, so no button.
    await dashboard.waitFor(
      () => document.querySelector("[data-testid=contact-email]") && !document.querySelector("button[name=lift-suppression]"),
      null,
    );
    expect(await dashboard.evaluate(() => document.querySelector("section p")?.textContent ?? "", null)).not.toContain("suppressed");
    await dashboard.close();
    expect(
      (
        await api<{ contacts: { suppressed: boolean }[] }>("/api/contacts/check", {
          method: "POST",
          body: JSON.stringify({ emails: ["nobody@nowhere.example"] }),
        })
      ).body.contacts[0]?.suppressed,
    ).toBe(false);

    // The background had the address's check cached as suppressed (the compose above): the lift cleared it. The
    // second recipient's check comes after the first: its warning names the soft-bounced address only.
    const scope = await compose("nobody@nowhere.example", "Fixed address", "<div>Hello again</div>");
    await gmail.type(`${scope} [data-sim=to]`, "full@busy.example");
    await gmail.press(`${scope} [data-sim=to]`, "Enter");
    await gmail.waitFor((s) => document.querySelector(`${s} .mt-warning:not([hidden])`)?.textContent?.includes("full@busy.example"), scope);
    expect(await gmail.evaluate((s) => document.querySelector(`${s} .mt-warning`)?.textContent ?? "", scope)).not.toContain("nobody@");
    await gmail.click(`${scope} [data-sim=discard]`);
  });

  it("a reply seen while the tracker is down, before its email is registered, is kept and recorded once the tracker is back", async () => {
    await tracker.stop();
    const scope = await compose("ivy@prospect.example", "While you were away", "<div>Hello Ivy</div>");
    const count = google.sent.length;
    await gmail.click(`${scope} [data-sim=send]`);
    const sent = await eventually("Gmail's /sync send", async () => google.sent[count]);
    const id = PIXEL(tracker.url).exec(sent.html)?.[1] ?? "";
    expect(id).not.toBe("");
    const popup = await harness.newTab(harness.extensionUrl("extension/src/popup/index.html"));
    const stored = (key: string) =>
      popup.evaluate(async (k) => {
        type Ext = { storage: { local: { get(key: string): Promise<Record<string, unknown>> } } };
        const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
        return (await (g.browser ?? g.chrome)?.storage.local.get(k))?.[k];
      }, key);
    // Held for the outbox: not those kept while their thread is asked about again (held-signals.ts untracked).
    const held = async () =>
      (((await stored("heldSignals")) ?? []) as { signal: { threadId: string; kind: string }; untracked?: unknown }[])
        .filter((h) => h.untracked === undefined)
        .map((h) => `${h.signal.kind} ${h.signal.threadId}`);
    // The outbox entry has its Gmail thread id from Gmail's answer to the send (a reply takes longer than that).
    await eventually("the thread id in the outbox", async () => {
      const outbox = ((await stored("outbox")) ?? {}) as Record<string, { request: { threadId?: string } }>;
      return outbox[id]?.request.threadId === sent.legacyThreadId ? true : undefined;
    });
    await receive(sent.legacyThreadId, "ivy@prospect.example", "Ivy", "Thanks, I'll read it tonight.");
    await gmail.evaluate(() => {
      location.hash = "#sent";
      document.dispatchEvent(new Event("sim:rerender-sent"));
    }, null);

    // The Sent list shows the reply once; the background keeps it in extension storage, since the tracker cannot
    // take a reply for an email it does not know yet. Then the rep moves on: the page never reports it again.
    await eventually("the reply held", async () => ((await held()).length > 0 ? true : undefined));
    expect(await held()).toEqual([`reply ${sent.legacyThreadId}`]);
    await gmail.evaluate(() => {
      location.hash = "#inbox";
    }, null);

    await startOurTracker();
    // The popup, open, polls the feed every 3 s (popup/main.tsx REFRESH_MS, getActivity); the first poll the tracker
    // answers hurries the outbox (notifications.ts `answered`, outbox.ts hurry), whose registration then releases the
    // held reply (delivery.ts releaseHeld). The registration's bound is for the outbox's backoff (outbox.ts backoffMs),
    // were the hurry missed. Two waits, so a failure says which half did not come.
    await eventually("the registration", async () => ((await api(`/api/messages/${id}`)).status === 200 ? true : undefined), 90_000);
    const message = await eventually("the held reply", async () => {
      const body = await detail(id);
      return body.replyCount > 0 ? body : undefined;
    });
    expect(message.replyCount).toBe(1);
    await eventually("nothing held", async () => ((await held()).length === 0 ? true : undefined));
    await popup.close();
  }, 150_000);
});
