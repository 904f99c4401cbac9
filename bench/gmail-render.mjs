// What the extension costs Gmail's own rendering: the same render in the simulated Gmail page
// (test/e2e/gmail-sim/, served as the end-to-end tests serve it) in two Chromium profiles side by side, one with the
// built extension loaded (page-world script and content script, with their observers) and one without.
//
// The render is Gmail's work, not ours: a 100-row thread list and a 20-message conversation inserted into the page's
// main area in one insertion each, with the markup the simulation uses for its Sent list and conversation view
// (gmail.md's attributes), here generated at scale. One timing is the insertion, the microtask checkpoint after it
// (where every MutationObserver callback, the extension's included, runs before the next paint) and the style and
// layout Chromium then computes for it (forced with offsetHeight, as the next frame would). The extension is
// connected, as a rep's is, to a stub of the tracker's status endpoint (status-stub.mjs) that knows every row of the
// list as tracked: after the first render it draws each row's read receipt in the insertion's mutation checkpoint,
// from what it knows, as it does whenever Gmail renders a list again (sent-list-marks.ts).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "./servers.mjs";
import { sentListThreadIds, statusStub } from "./status-stub.mjs";
import { fmt, median, percentile } from "./util.mjs";

const LIST_ROWS = 100;
const CONVERSATION_MESSAGES = 20;
/** Rounds run per turn in one browser before the other takes its turn. */
const TURN = 5;
/** Fresh pairs of browsers the rounds are split over (gmailRenderCost). */
const SESSIONS = 4;

/**
 * Connects the extension in `context` to the tracker at `trackerUrl` as a rep does: on its options page, with the
 * tracker's address and an API token (the end-to-end tests' connectFromOptions does the same through their harness).
 */
async function connectExtension(context, trackerUrl) {
  const extensionId = new URL(context.serviceWorkers()[0].url()).host;
  const options = await context.newPage();
  await options.goto(`chrome-extension://${extensionId}/extension/src/options/index.html`);
  await options.evaluate(() => {
    const fold = document.querySelector("[data-testid=change-connection]");
    if (fold) fold.open = true;
  });
  await options.fill("input[name=trackerUrl]", trackerUrl);
  await options.fill("input[name=apiToken]", "bench-token");
  await options.click("button[name=connect]");
  await options.waitForFunction(
    () => document.querySelector("[data-testid=notice]")?.textContent?.startsWith("Connected to account"),
    null,
    {
      timeout: 30_000,
    },
  );
  await options.close();
}

async function launch(extensionDir, trackerUrl) {
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
  await routeToSimulatedGoogle(context, new SimulatedGoogle());
  if (extensionDir && context.serviceWorkers().length === 0) await context.waitForEvent("serviceworker", { timeout: 30_000 });
  if (extensionDir) await connectExtension(context, trackerUrl);
  const page = await context.newPage();
  await page.goto("https://mail.google.com/mail/u/0/#inbox");
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
  await page.evaluate(installWorkload, { threadIds: sentListThreadIds(LIST_ROWS), messages: CONVERSATION_MESSAGES });
  if (extensionDir) {
    // The list's first render asks the tracker for its rows; every render timed after it draws their marks at once.
    await page.evaluate(() => globalThis.mtShowList());
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

/** Runs in the page: builds the two renders and `globalThis.mtRender(rounds)`, which times them. */
function installWorkload({ threadIds, messages }) {
  // A row as the one real capture of Gmail's list has it (test/fixtures/gmail/thread-list-classic-2014-12.html,
  // InboxSDK, 2014-12: 29 to 32 elements a row, cells PF, oZ-x3 checkbox, apU star, WA importance, yX people, a4W
  // subject, yf attachment, xW date, with their ids and ARIA), with what today's Sent rows carry instead of the
  // capture's: recipients after "To:" and the ids on the subject's span (gmail.md). Public code that drives or restyles
  // Gmail still names those cells (docs/benchmarks.md, nineteenth pass).
  const listHtml = `<div class="ae4 UI UJ" gh="tl"><div class="Cp"><div><table cellpadding="0" class="F cf zt"><colgroup><col class="k0vOLb"><col class="Ci"><col class="y5"><col class="WA"><col class="yY"><col class="null"><col class="yg"><col class="xX"></colgroup><tbody>${threadIds
    .map(
      (legacy, i) => `<tr class="zA yO" id=":r${i}" tabindex="-1" role="row" aria-labelledby=":a${i}">
      <td class="PF xY PE"></td>
      <td id=":c${i}" class="oZ-x3 xY aid"><div class="oZ-jc T-Jo J-J5-Ji" role="checkbox" aria-labelledby=":a${i}" dir="ltr" aria-checked="false" tabindex="-1"><div class="T-Jo-auh"></div></div></td>
      <td class="apU xY"><span id=":s${i}" class="aXw T-KT" title="Not starred" aria-label="Not starred"><img class="T-KT-JX" src="images/cleardot.gif" alt="Not starred"></span></td>
      <td class="WA xY"><div class="pG" data-tooltip-contained="true" data-tooltip-align="b,l" data-tooltip-delay="1500" aria-label="Not important" role="img" id=":i${i}"><div class="T-ays-a45">Not important<br><span class="aol">Click to teach Gmail this conversation is important.</span></div><div class="pH"></div><div class="UW"></div></div></td>
      <td class="yX xY"><div id=":a${i}" class="afn">To: reader${i}@example.org</div><div id=":p${i}" class="yW">To: <span class="yP" email="reader${i}@example.org" name="reader${i}">reader${i}</span></div></td>
      <td id=":t${i}" tabindex="-1" class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:${BigInt(`0x${legacy}`)}" data-legacy-thread-id="${legacy}" data-legacy-last-message-id="${legacy}">Proposal ${i} for the next quarter</span></span><span class="y2"> - Following up on our call about the numbers</span></div></div></div></td>
      <td class="yf xY">&nbsp;</td>
      <td class="xW xY"><span title="Sun, Nov 22, 2026, 7:56 PM" id=":d${i}" aria-label="Sun, Nov 22, 2026, 7:56 PM"><b>Nov 22</b></span></td></tr>`,
    )
    .join("")}</tbody></table></div></div></div>`;
  const body = (i) =>
    `<div dir="ltr"><p>Hello, message ${i} of the thread.</p><p>Here is <a href="https://www.example.com/page/${i}">a link</a> and a picture:</p>` +
    `<img src="https://ci3.googleusercontent.com/meips/x${i}=s0-d-e1-ft#https://images.example.com/${i}.png" width="1" height="1"><p>Regards</p></div>`;
  const conversationHtml = `<div class="nH"><h2 class="hP" data-thread-perm-id="thread-f:1800000000000000001" data-legacy-thread-id="18fb7e9c00000001">Proposal</h2>${Array.from(
    { length: messages },
    (
      _,
      i,
    ) => `<div class="adn ads" data-message-id="#msg-f:${1800000000000000001n + BigInt(i)}" data-legacy-message-id="${(0x18fb7e9c00000001n + BigInt(i)).toString(16)}"><div class="gs"><div class="gE iv gt"><table><tbody><tr>
      <td class="gF gK"><h3 class="iw"><span class="qu"><span email="${i % 2 ? "carol@example.org" : "me@example.com"}" name="${i % 2 ? "Carol" : "Me"}" class="gD">${i % 2 ? "Carol" : "Me"}</span></span></h3></td>
      <td class="gH"><span class="g3" title="Sun, Nov 22, 2026, 7:56 PM" alt="Sun, Nov 22, 2026, 7:56 PM">7:56 PM</span></td>
    </tr></tbody></table></div><div class="ii gt"><div class="a3s aiL">${body(i)}</div></div></div></div>`,
  ).join("")}</div>`;
  const main = document.getElementById("main");
  // The simulation is served with Gmail's Trusted Types CSP: HTML goes in as TrustedHTML from a policy of the page's
  // own, as Gmail's does, and the page-world script's policy wrapper sees it there (page-world/pixel-guard.ts).
  const policy = trustedTypes.createPolicy("gmail-render-bench", { createHTML: (html) => html });
  const settle = () => document.body.offsetHeight;
  globalThis.mtShowList = () => {
    main.innerHTML = policy.createHTML(listHtml);
  };
  globalThis.mtRender = async (rounds) => {
    const times = { list: [], conversation: [], marks: [] };
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
        await Promise.resolve(); // the checkpoint: mutation observers (the extension's too) run here
        settle();
        times[name].push(performance.now() - start);
        if (name === "list") times.marks.push(main.querySelectorAll(".mt-mark").length);
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
  const stub = await statusStub(sentListThreadIds(LIST_ROWS));
  try {
    for (let session = 0; session < SESSIONS; session++) {
      const launched = [];
      try {
        // Which browser starts first alternates, so neither side always has the machine to itself at launch.
        for (const dir of session % 2 === 0 ? [null, extensionDir] : [extensionDir, null]) launched.push(await launch(dir, stub.url));
        const [without, withExtension] = session % 2 === 0 ? launched : [...launched].reverse();
        const turn = async (name, browser, counted = true) => {
          const t = await browser.page.evaluate((n) => globalThis.mtRender(n), TURN);
          // Timed with every row's read receipt drawn in the render, as on a rep's connected Gmail; none without it.
          const expected = name === "with" ? LIST_ROWS : 0;
          if (t.marks.some((count) => count !== expected))
            throw new Error(`a list render ${name} the extension drew ${t.marks.join(", ")} marks, not ${expected}`);
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
      `${fmt(a)} ms to render ${what} in the simulated Gmail with the extension loaded and connected${name === "list" ? `, ${LIST_ROWS} read receipts drawn` : ""} (median, p99 ${fmt(percentile(times.with[name], 99))} ms; ` +
        `${fmt(median(pairs[name]))}x the same render without the extension (the median of ${pairs[name].length} back-to-back pairs of turns ` +
        `in ${SESSIONS} pairs of browsers, their middle half ${fmt(percentile(pairs[name], 25))}x to ${fmt(percentile(pairs[name], 75))}x): ${fmt(b)} ms, p99 ${fmt(percentile(times.without[name], 99))} ms; ` +
        `insertion, mutation observers and layout; Chromium${version ? ` ${version}` : ""}; ${times.with[name].length} rounds)`,
    );
  }
}
