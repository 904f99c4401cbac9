// What the extension costs Gmail's own rendering: the same render in the simulated Gmail page
// (test/e2e/gmail-sim/, served as the end-to-end tests serve it) in two Chromium profiles side by side, one with the
// built extension loaded (page-world script and content script, with their observers) and one without.
//
// The render is Gmail's work, not ours: a 100-row thread list and a 20-message conversation inserted into the page's
// main area in one insertion each. Both are the simulation's own views (gmail-sim.js), drawn by it from 100 sent
// threads the simulated Google knows (the first of them holds 20 messages) and taken from the page. One timing is
// the insertion, the microtask checkpoint after it (where every MutationObserver callback, the extension's included,
// runs before the next paint) and the style and layout Chromium then computes for it (forced with offsetHeight, as
// the next frame would). The extension is connected, as a rep's is, to a stub of the tracker's status endpoint
// (status-stub.ts) that knows every row of the list as tracked: after the first render it draws each row's read
// receipt in the insertion's mutation checkpoint, from what it knows, as it does whenever Gmail renders a list again
// (sent-list-marks.ts).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "./servers.mjs";
import { STUB_SIGNING_KEY, sentListThreadIds, statusStub } from "./status-stub.ts";
import { fmt, importTs, median, percentile } from "./util.mjs";

const LIST_ROWS = 100;
const CONVERSATION_MESSAGES = 20;
/**
 * The conversation's tracked emails: every other message, the rep's sends. The others stand for the reader's replies
 * (the simulated Google holds a thread's sent messages only, so they carry the rep's name) and have no pixel.
 */
const TRACKED_MESSAGES = CONVERSATION_MESSAGES / 2;
/** Rounds run per turn in one browser before the other takes its turn. */
const TURN = 5;
/** Fresh pairs of browsers the rounds are split over (gmailRenderCost). */
const SESSIONS = 4;

/**
 * Connects the extension in `context` to the tracker at `trackerUrl` as a rep does: the end-to-end tests'
 * connectFromOptions (the options page, the tracker's address and an API token), through a tab of the shape their
 * harness gives it.
 */
async function connectExtension(context, trackerUrl) {
  const { connectFromOptions } = await import(path.join(ROOT, "test", "e2e", "harness.ts"));
  const origin = context.serviceWorkers()[0].url().split("/").slice(0, 3).join("/");
  const harness = {
    extensionUrl: (file) => `${origin}/${file}`,
    newTab: async (url) => {
      const page = await context.newPage();
      await page.goto(url);
      return {
        click: (selector) => page.click(selector),
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        waitFor: async (fn, arg, timeout = 30_000) => void (await page.waitForFunction(fn, arg, { timeout })),
        close: () => page.close(),
      };
    },
  };
  const { options, error } = await connectFromOptions(harness, trackerUrl, "bench-token");
  if (error) throw new Error(`the extension did not connect to the bench's stub tracker: ${error}`);
  await options.close();
}

async function launch(extensionDir, trackerUrl, threadIds, bodies) {
  const { chromium } = await import("playwright-core");
  const { SimulatedGoogle } = await import(path.join(ROOT, "test", "e2e", "gmail-sim", "google.ts"));
  const { CHROMIUM_FLAGS, extensionFlags, routeToSimulatedGoogle } = await import(path.join(ROOT, "test", "e2e", "chromium-flags.ts"));
  const profile = mkdtempSync(path.join(tmpdir(), "mt-bench-render-"));
  // The end-to-end tests' flags; --expose-gc: each render starts from a collected heap (installWorkload).
  const args = ["--js-flags=--expose-gc", "--headless=new", ...(extensionDir ? extensionFlags(extensionDir) : CHROMIUM_FLAGS)];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: false,
    args,
  });
  const google = new SimulatedGoogle();
  // The threads of the Sent list, as if sent earlier from another tab: the simulation lists what Gmail's server knows.
  // The first thread is the conversation: an email and its follow-ups, as the rep sent them with the extension.
  const sent = (i, legacyThreadId, legacyMessageId, html) =>
    google.sent.push({
      threadId: `thread-a:r${i}`,
      messageId: `msg-a:${legacyMessageId}`,
      legacyThreadId,
      legacyMessageId,
      subject: `Proposal ${i} for the next quarter`,
      recipients: [`reader${i}@example.org`],
      html,
      labels: ["^pfg"],
      path: "/sync/u/0/i/s",
      at: Date.now(),
      plainText: false,
    });
  for (const [m, body] of bodies.entries()) sent(0, threadIds[0], (BigInt(`0x${threadIds[0]}`) + BigInt(m)).toString(16), body);
  for (const [i, legacy] of threadIds.entries())
    if (i > 0) sent(i, legacy, legacy, '<div dir="ltr">Following up on our call about the numbers</div>');
  await routeToSimulatedGoogle(context, google);
  if (extensionDir && context.serviceWorkers().length === 0) await context.waitForEvent("serviceworker", { timeout: 30_000 });
  if (extensionDir) await connectExtension(context, trackerUrl);
  const page = await context.newPage();
  // Every message of the conversation open, as after Gmail's "Expand all": its 20 bodies are what is rendered, and
  // the panels of its 10 tracked emails drawn (Gmail shows a conversation's read messages collapsed, gmail-sim.js).
  await page.goto("https://mail.google.com/mail/u/0/?sim=expand-all#sent");
  if (extensionDir) {
    // The content script marks the page once its options are read: the features are running from then on.
    await page.waitForFunction(() => document.documentElement.hasAttribute("data-mt-tracker"), null, { timeout: 30_000 });
  }
  // The extension's first run opens its options page in a tab of its own (background/index.ts), which can end up in
  // front of Gmail's: a hidden tab's renderer runs at a lower priority and gets no animation frames, and the ratio
  // measured that instead of the extension. Gmail is the tab in front, in both browsers, as for a rep.
  for (const other of context.pages()) if (other !== page) await other.close();
  // The options tab can also open after this point (the first run's onInstalled has no order with the content
  // script's start): closed as it comes, or Gmail's tab would be hidden and get no animation frames, and a render
  // waiting for one would wait for ever (seen: a run stalled for minutes).
  context.on("page", (other) => void other.close().catch(() => undefined));
  await page.bringToFront();
  await page.waitForFunction((rows) => document.querySelectorAll("#main tr.zA").length === rows, LIST_ROWS, { timeout: 30_000 });
  if (extensionDir) {
    // The list's first render asked the tracker for its rows; every render timed after it draws their marks at once.
    await page.waitForFunction((rows) => document.querySelectorAll("#main .mt-mark").length === rows, LIST_ROWS, { timeout: 30_000 });
  }
  return {
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The conversation's messages as Gmail's server keeps them, each with a link and a picture; every other one a tracked
 * email (`trackingIds`, in order) as the extension sends it (content/rewrite.ts): its link signed through the tracker
 * and its pixel last, both made by shared/protocol.ts.
 */
async function conversationBodies({ pixelUrl, signedClickUrl }, trackerUrl, trackingIds) {
  return Promise.all(
    Array.from({ length: CONVERSATION_MESSAGES }, async (_, m) => {
      const destination = `https://www.example.com/page/${m}`;
      const trackingId = m % 2 === 0 ? trackingIds[m / 2] : null;
      const href = trackingId ? await signedClickUrl(trackerUrl, STUB_SIGNING_KEY, trackingId, 0, destination) : destination;
      const pixel = trackingId ? `<img src="${pixelUrl(trackerUrl, trackingId)}" alt="" width="1" height="1">` : "";
      return (
        `<div dir="ltr"><p>Hello, message ${m} of the thread.</p><p>Here is <a href="${href.replaceAll("&", "&amp;")}">a link</a> and a picture:</p>` +
        `<img src="https://images.example.com/${m}.png" width="1" height="1"><p>Regards</p>${pixel}</div>`
      );
    }),
  );
}

/**
 * The list and the conversation as the simulation draws them, in a browser without the extension: the markup Gmail
 * inserts, the same for both browsers (the extension's browser would hand back its own marks and neutralised pixels).
 */
async function simulatedViews(page, threadIds) {
  const shown = () => page.evaluate(() => document.getElementById("main").innerHTML);
  const show = (hash) =>
    page.evaluate((h) => {
      location.hash = h;
    }, hash);
  const listHtml = await shown();
  // The conversation is drawn a frame after the hash changes.
  await show(`#sent/${threadIds[0]}`);
  await page.waitForFunction((count) => document.querySelectorAll("#main .adn").length === count, CONVERSATION_MESSAGES, {
    timeout: 30_000,
  });
  const conversationHtml = await shown();
  await show("#sent");
  return { listHtml, conversationHtml };
}

/** Runs in the page: `globalThis.mtRender(rounds)`, which times the two renders. */
function installWorkload({ listHtml, conversationHtml }) {
  const main = document.getElementById("main");
  // The simulation is served with Gmail's Trusted Types CSP: HTML goes in as TrustedHTML from a policy of the page's
  // own, as Gmail's does, and the page-world script's policy wrapper sees it there (page-world/pixel-guard.ts).
  const policy = trustedTypes.createPolicy("gmail-render-bench", { createHTML: (html) => html });
  const settle = () => document.body.offsetHeight;
  /** Microtask turns the timing waits after an insertion: more than any chain of the extension's. */
  const CHECKPOINT_TURNS = 10;
  /** Shows the conversation untimed: the extension's first sight of it asks the tracker about its emails. */
  globalThis.mtShowConversation = () => {
    main.innerHTML = policy.createHTML(conversationHtml);
  };
  globalThis.mtRender = async (rounds) => {
    const times = { list: [], conversation: [], marks: [], panels: [] };
    if (document.visibilityState !== "visible") throw new Error("the simulated Gmail tab is hidden: its renders would be throttled");
    for (let round = 0; round < rounds; round++) {
      for (const [name, html] of [
        ["list", listHtml],
        ["conversation", conversationHtml],
      ]) {
        main.replaceChildren();
        settle();
        // Whatever the extension does about the emptied view happens before the timing starts.
        await new Promise((resolve) => setTimeout(resolve, 0));
        // The previous render's garbage (a replaced 100-row list) is collected here in both browsers, not at a
        // random point of some later timing, and its frames are drawn (two animation frames, then a task): the
        // compositor's threads otherwise still work during the next timing, on the same two cores.
        globalThis.gc?.();
        // A hidden tab gets no animation frames: a wait of ten seconds says so instead of hanging.
        await new Promise((resolve, reject) => {
          const hidden = setTimeout(() => reject(new Error("the simulated Gmail tab went hidden: no animation frame came")), 10_000);
          requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => resolve(clearTimeout(hidden)), 0)));
        });
        const start = performance.now();
        main.innerHTML = policy.createHTML(html);
        // The checkpoint: every MutationObserver callback, the extension's too, and the microtasks those queue in
        // turn (a feature's one run after all of the checkpoint's listeners, oncePerCheckpoint in
        // extension/src/content/feature.ts) run here, before the next paint. Each await lets every microtask queued
        // before it run, so the chain ends after any shorter chain of theirs. (A single await ended the timing before
        // work the extension queued from its observer: twenty-second pass.)
        for (let turn = 0; turn < CHECKPOINT_TURNS; turn++) await null;
        settle();
        times[name].push(performance.now() - start);
        if (name === "list") times.marks.push(main.querySelectorAll(".mt-mark").length);
        else times.panels.push(main.querySelectorAll(".mt-panel").length);
      }
    }
    return times;
  };
}

/**
 * `gmail-render-list-100`, `gmail-render-conversation-20`: the render time with the extension loaded over the same
 * render without it: interleaved turns of TURN rounds in the two browsers, the ratio taken per back-to-back pair of
 * turns (so that a change in the machine's load between pairs cancels out), its median reported. The rounds are
 * split over SESSIONS fresh pairs of browsers, launched in turn order: one browser can run a few percent faster or
 * slower than another for its whole life (0.97x to 1.01x between two browsers without the extension, each against
 * the same third), and one pair's luck would otherwise be the figure.
 */
export async function gmailRenderCost({ report, log, rounds, extensionDir }) {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium) || !extensionDir) {
    report("gmail-render-list-100", `not measured (${extensionDir ? "no Chromium found" : "no extension build"})`);
    return;
  }
  log(`timing Gmail's own rendering in the simulated Gmail with and without the extension (${rounds} rounds each)…`);
  const times = { without: { list: [], conversation: [] }, with: { list: [], conversation: [] } };
  /** Per pair of turns (one in each browser, back to back): the with/without ratio of the pair's medians. */
  const pairs = { list: [], conversation: [] };
  let version = "";
  const threadIds = sentListThreadIds(LIST_ROWS);
  const protocol = await importTs("shared/protocol.ts", "protocol");
  const trackingIds = await Promise.all(Array.from({ length: TRACKED_MESSAGES }, () => protocol.mintTrackingId(STUB_SIGNING_KEY)));
  const stub = await statusStub(threadIds, { ids: trackingIds, threadId: threadIds[0] });
  const bodies = await conversationBodies(protocol, stub.url, trackingIds);
  try {
    for (let session = 0; session < SESSIONS; session++) {
      const launched = [];
      try {
        // Which browser starts first alternates, so neither side always has the machine to itself at launch.
        for (const dir of session % 2 === 0 ? [null, extensionDir] : [extensionDir, null])
          launched.push(await launch(dir, stub.url, threadIds, bodies));
        const [without, withExtension] = session % 2 === 0 ? launched : [...launched].reverse();
        const views = await simulatedViews(without.page, threadIds);
        for (const browser of launched) await browser.page.evaluate(installWorkload, views);
        // Every render timed with the extension draws each tracked email's panel from what it knows, as in a rep's
        // Gmail that showed the conversation before.
        await withExtension.page.evaluate(() => globalThis.mtShowConversation());
        await withExtension.page.waitForFunction(
          (count) => document.querySelectorAll("#main .mt-panel:not([data-mt-pending])").length === count,
          TRACKED_MESSAGES,
          { timeout: 30_000 },
        );
        const turn = async (name, browser, counted = true) => {
          const t = await browser.page.evaluate((n) => globalThis.mtRender(n), TURN);
          // Timed with every row's read receipt and every tracked email's panel drawn in the render, as on a rep's
          // connected Gmail; none without it.
          for (const [drawn, expected, what] of [
            [t.marks, name === "with" ? LIST_ROWS : 0, "list render, read receipts"],
            [t.panels, name === "with" ? TRACKED_MESSAGES : 0, "conversation render, panels"],
          ])
            if (drawn.some((count) => count !== expected))
              throw new Error(`in a ${what} drawn ${name} the extension: ${drawn.join(", ")}, not ${expected}`);
          if (counted) {
            times[name].list.push(...t.list);
            times[name].conversation.push(...t.conversation);
          }
          return t;
        };
        await turn("without", without, false); // warm-up turns, not counted
        await turn("with", withExtension, false);
        for (let i = 0; i * TURN * SESSIONS < rounds; i++) {
          const [a, b] =
            i % 2 === 0
              ? [await turn("without", without), await turn("with", withExtension)]
              : [await turn("with", withExtension), await turn("without", without)].reverse();
          for (const name of ["list", "conversation"]) pairs[name].push(median(b[name]) / median(a[name]));
        }
        version = withExtension.page.context().browser()?.version() ?? "";
      } finally {
        for (const browser of launched) await browser.close();
      }
    }
  } finally {
    await stub.close();
  }
  for (const [name, what] of [
    ["list", `a ${LIST_ROWS}-row thread list`],
    ["conversation", `a ${CONVERSATION_MESSAGES}-message conversation`],
  ]) {
    const a = median(times.with[name]);
    const b = median(times.without[name]);
    report(
      name === "list" ? `gmail-render-list-${LIST_ROWS}` : `gmail-render-conversation-${CONVERSATION_MESSAGES}`,
      `${fmt(a)} ms to render ${what} in the simulated Gmail with the extension loaded and connected${name === "list" ? `, ${LIST_ROWS} read receipts drawn` : `, ${TRACKED_MESSAGES} of its emails tracked and their panels drawn`} (median, p99 ${fmt(percentile(times.with[name], 99))} ms; ` +
        `${fmt(median(pairs[name]))}x the same render without the extension (the median of ${pairs[name].length} back-to-back pairs of turns ` +
        `in ${SESSIONS} pairs of browsers, their middle half ${fmt(percentile(pairs[name], 25))}x to ${fmt(percentile(pairs[name], 75))}x): ${fmt(b)} ms, p99 ${fmt(percentile(times.without[name], 99))} ms; ` +
        `insertion, mutation observers and layout; Chromium${version ? ` ${version}` : ""}; ${times.with[name].length} rounds)`,
    );
  }
}
