// What Gmail's thread lists cost on their way to the background: Gmail answers a list (`/sync/u/N/i/bv`), the
// page-world script passes the answer on as a page event (page-world/sync-xhr.ts), the content script hands it to the
// background (content/features/replies-bounces.ts, a runtime message), and the background parses it
// (background/gmail-traffic.ts readGmailList) and answers with the threads. Timed in Chromium with the built
// extension in the simulated Gmail of the end-to-end tests (test/e2e/gmail-sim/), from the answer's load event in the
// page to the parsed threads back in the content script, for lists of 1, 50 and 500 threads built from the one real
// capture of such an answer (test/fixtures/gmail/list-answer-2020-04-27.json), and with the extension's service
// worker stopped first, as Chrome stops it after 30 s idle, for a 50-thread list.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "./servers.mjs";
import { fmt, importTs, median, percentile, sleep } from "./util.mjs";

const SIZES = [1, 50, 500];
/** The list size whose wake case is timed: a page of Gmail's list (50 threads, its default page size). */
const WAKE_SIZE = 50;
/** After each round: the content script's scan of what the list named runs 400 ms after it came (SCAN_DELAY_MS). */
const SETTLE_MS = 600;

/**
 * Gmail's answer to a list of `count` threads: the capture's two threads (in today's array form, counted from 0:
 * sync-answer.test-support.ts fromObjectForm) repeated, each copy's hex ids (thread's and messages') moved so that
 * no two threads share one, around the capture's own other fields (its label counts among them).
 */
function listAnswer(fromObjectForm, count) {
  const capture = fromObjectForm(JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/gmail/list-answer-2020-04-27.json"), "utf8")));
  const [first, second] = capture[2];
  const threads = Array.from({ length: count }, (_, i) =>
    JSON.parse(
      JSON.stringify(i % 2 === 0 ? first : second).replace(
        /"([0-9a-f]{16})"/g,
        (_, hex) => `"${(BigInt(`0x${hex}`) + BigInt(i) * 0x100000n).toString(16)}"`,
      ),
    ),
  );
  return JSON.stringify([...capture.slice(0, 2), threads, ...capture.slice(3)]);
}

/**
 * In the content script's world (its isolated world in Gmail's tab, found through CDP): every readGmailList message is
 * recorded as it goes (`sent`, and how long the call itself held the tab, `call`) and when its threads come back
 * (`done`), on the page's clock (one clock for both worlds of a document).
 */
function recordListMessages() {
  const runtime = globalThis.chrome.runtime;
  const original = runtime.sendMessage;
  globalThis.mtListMessages = [];
  runtime.sendMessage = (message, ...rest) => {
    if (message?.type !== "readGmailList") return original.call(runtime, message, ...rest);
    const entry = { sent: performance.now(), bytes: message.input.text.length };
    globalThis.mtListMessages.push(entry);
    const reply = original.call(runtime, message, ...rest);
    entry.call = performance.now() - entry.sent;
    reply.then(
      (answer) => {
        entry.done = performance.now();
        entry.threads = answer?.ok ? answer.value.length : -1;
      },
      (error) => {
        entry.error = String(error);
      },
    );
    return reply;
  };
}

/** In the page: Gmail's request for a list, answered by the bench's route; resolves with the answer's load time. */
function requestList(size) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    // Added before open(), so it runs before the page-world script's own listener (sync-xhr.ts): the timing starts
    // as Gmail's handling of the answer would.
    xhr.addEventListener("load", () => {
      const loaded = performance.now();
      globalThis.mtListText = xhr.responseText;
      resolve(loaded);
    });
    xhr.addEventListener("error", () => reject(new Error("the list request failed")));
    xhr.open("POST", `/sync/u/0/i/bv?rt=r&pt=ji&bench=${size}`);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.send(JSON.stringify([[null, size, null, "in:inbox"]]));
  });
}

/** In the page: the baseline, Gmail's own JSON.parse of the same answer (the median of 5, clocks being coarse). */
function pageParse() {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    JSON.parse(globalThis.mtListText);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[2];
}

async function launch(extensionDir) {
  const { chromium } = await import("playwright-core");
  const { SimulatedGoogle } = await import(path.join(ROOT, "test", "e2e", "gmail-sim", "google.ts"));
  const { extensionFlags, routeToSimulatedGoogle } = await import(path.join(ROOT, "test", "e2e", "chromium-flags.ts"));
  const profile = mkdtempSync(path.join(tmpdir(), "mt-bench-lists-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: false,
    args: ["--headless=new", ...extensionFlags(extensionDir)],
  });
  await routeToSimulatedGoogle(context, new SimulatedGoogle());
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 30_000 }));
  const page = await context.newPage();
  await page.goto("https://mail.google.com/mail/u/0/#inbox");
  // The content script marks the page once its options are read: its features (replies-bounces.ts) listen from then on.
  await page.waitForFunction(() => document.documentElement.hasAttribute("data-mt-tracker"), null, { timeout: 30_000 });
  for (const other of context.pages()) if (other !== page) await other.close();
  // Its blank tab opened before any later tab is closed as it comes (the extension's first-run options tab).
  // The end-to-end harness's own (test/e2e/service-worker-watch.ts says why the worker is stopped on purpose).
  const { watchServiceWorker } = await importTs("test/e2e/service-worker-watch.ts", "service-worker-watch");
  const stopper = await watchServiceWorker(context, worker.url());
  context.on("page", (other) => void other.close().catch(() => undefined));
  await page.bringToFront();
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, stopper, close };
}

/** The content script's world in `page`, through CDP: the isolated world the extension's origin owns. */
async function contentScriptWorld(page) {
  const cdp = await page.context().newCDPSession(page);
  const worlds = [];
  cdp.on("Runtime.executionContextCreated", ({ context }) => {
    if (context.origin.startsWith("chrome-extension://") && context.auxData?.type === "isolated") worlds.push(context.id);
  });
  await cdp.send("Runtime.enable");
  await sleep(200);
  if (worlds.length !== 1) throw new Error(`the extension's content script world: ${worlds.length} found, not 1`);
  const evaluate = async (expression) => {
    const { result, exceptionDetails } = await cdp.send("Runtime.evaluate", { expression, contextId: worlds[0], returnByValue: true });
    if (exceptionDetails)
      throw new Error(`in the content script's world: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  };
  return { evaluate };
}

/**
 * `gmail-list-to-background-50`, `-500`, `-wake`: the time from a list's answer arriving in Gmail's page to its threads
 * parsed by the background and back in the content script, against the page's own JSON.parse of the same answer.
 */
export async function listToBackgroundCost({ report, log, rounds, extensionDir }) {
  if (!existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium")) {
    for (const name of ["50", "500", "wake"]) report(`gmail-list-to-background-${name}`, "not measured (no Chromium found)");
    return;
  }
  const { fromObjectForm } = await importTs("extension/src/page-world/sync-answer.test-support.ts", "sync-answer");
  const answers = new Map([...SIZES].map((size) => [size, listAnswer(fromObjectForm, size)]));
  const n = Math.max(10, Math.round(rounds / 10));
  log(
    `timing Gmail's thread lists on their way to the extension's background (${n} rounds of lists of ${SIZES.join(", ")} threads, and a woken worker)…`,
  );
  const browser = await launch(extensionDir);
  const times = new Map([...SIZES, "wake"].map((key) => [key, { total: [], hop: [], call: [], parse: [] }]));
  let woken = 0;
  try {
    const { page, context, stopper } = browser;
    await page.route(
      (url) => url.pathname === "/sync/u/0/i/bv" && url.searchParams.has("bench"),
      (route) =>
        route.fulfill({
          status: 200,
          contentType: "application/json; charset=utf-8",
          body: answers.get(Number(new URL(route.request().url()).searchParams.get("bench"))),
        }),
    );
    const world = await contentScriptWorld(page);
    await world.evaluate(`(${recordListMessages})()`);
    const round = async (key, size) => {
      await world.evaluate("globalThis.mtListMessages.length = 0");
      const loaded = await page.evaluate(requestList, size);
      let entry;
      for (let waited = 0; !entry?.done; waited += 10) {
        if (entry?.error || waited > 30_000)
          throw new Error(`a ${size}-thread list never came back from the background: ${entry?.error ?? "no answer"}`);
        await sleep(10);
        [entry] = await world.evaluate("globalThis.mtListMessages");
      }
      if (entry.threads !== size || entry.bytes !== answers.get(size).length)
        throw new Error(`the background read ${entry.threads} threads of a ${size}-thread list (${entry.bytes} characters sent)`);
      const t = times.get(key);
      t.total.push(entry.done - loaded);
      t.hop.push(entry.sent - loaded);
      t.call.push(entry.call);
      t.parse.push(await page.evaluate(pageParse));
      await sleep(SETTLE_MS);
    };
    for (let i = -1; i < n; i++) {
      // Round -1 warms every path up, uncounted.
      for (const size of SIZES) await round(size, size);
      await stopper.stop();
      await round("wake", WAKE_SIZE);
      woken += stopper.restarts() > 0 ? 1 : 0;
      if (i === -1) for (const t of times.values()) for (const list of Object.values(t)) list.length = 0;
    }
    if (woken !== n + 1) throw new Error(`the list woke the stopped worker in ${woken} rounds of ${n + 1}`);
    const version = context.browser()?.version() ?? page.context().browser()?.version() ?? "";
    const where = `Chromium${version ? ` ${version}` : ""}, the built extension in the simulated Gmail; ${n} rounds`;
    const tiny = median(times.get(1).total);
    for (const size of SIZES.filter((s) => s > 1)) {
      const t = times.get(size);
      report(
        `gmail-list-to-background-${size}`,
        `${fmt(median(t.total))} ms from Gmail's answer to a ${size}-thread list (${fmt(answers.get(size).length / 1024)} KiB) arriving in the page ` +
          `to its threads parsed by the background and back in the content script (median, p99 ${fmt(percentile(t.total, 99))} ms; ` +
          `${fmt(median(t.total) / median(t.parse))}x the baseline, the page's own JSON.parse of the same answer: ${fmt(median(t.parse))} ms; ` +
          `of it ${fmt(median(t.hop))} ms from the answer to the content script's message, the page-world script's task and the page event, ` +
          `and ${fmt(median(t.call))} ms the message's call in Gmail's tab; a 1-thread list's: ${fmt(tiny)} ms; ${where})`,
      );
    }
    const wake = times.get("wake");
    report(
      "gmail-list-to-background-wake",
      `${fmt(median(wake.total))} ms for the same with the background's service worker stopped first, as Chrome stops it after 30 s idle, ` +
        `for a ${WAKE_SIZE}-thread list (median, p99 ${fmt(percentile(wake.total, 99))} ms; ${fmt(median(wake.total) / median(times.get(WAKE_SIZE).total))}x ` +
        `the same list to a running worker: ${fmt(median(times.get(WAKE_SIZE).total))} ms); every list woke it (${woken} of ${woken}); ${where})`,
    );
  } finally {
    await browser.close();
  }
}
