// Extension figures: the content scripts' gzipped size (from the project's own production build), the time the
// send-time rewrite adds to a send (in Chromium), the time to mark 100 Sent list rows (in Chromium), what the extension
// costs Gmail's own rendering (gmail-render.mjs) and what Gmail's thread lists cost on their way to the background
// (gmail-list.mjs).

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { listToBackgroundCost } from "./gmail-list.mjs";
import { gmailRenderCost } from "./gmail-render.mjs";
import { ROOT } from "./servers.mjs";
import { sentListThreadIds, statusStub } from "./status-stub.ts";
import { bundleForBrowser, CACHE, fmt, importTs, median, percentile } from "./util.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const STUB = { "webextension-polyfill": path.join(ROOT, "bench", "webextension-stub.mjs") };
const TRACKER = "https://t.example.com";
const LINKS = 20;
const EARLIER_LINKS = 3;

/** Builds the Chrome extension as `npm run build:extension` does, but into .cache/bench (dist/ is left alone). */
function buildExtension(log) {
  const outDir = path.join(CACHE, "extension-chrome");
  rmSync(outDir, { recursive: true, force: true });
  log("building the Chrome extension (vite build --mode chrome) into .cache/bench…");
  const result = spawnSync(
    path.join(ROOT, "node_modules", ".bin", "vite"),
    ["build", "--mode", "chrome", "--outDir", outDir, "--emptyOutDir"],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 180_000,
    },
  );
  if (result.status !== 0) throw new Error(`the extension build failed:\n${result.stdout}\n${result.stderr}`);
  return outDir;
}

function contentScriptSizes(report, log) {
  const outDir = buildExtension(log);
  sizesOf(report, outDir);
  return outDir;
}

function sizesOf(report, outDir) {
  const manifest = JSON.parse(readFileSync(path.join(outDir, "manifest.json"), "utf8"));
  for (const script of manifest.content_scripts ?? []) {
    for (const file of script.js ?? []) {
      const bytes = readFileSync(path.join(outDir, file));
      const gzipped = gzipSync(bytes, { level: 9 }).length;
      const name = script.world === "MAIN" ? "page-world-script-gzip" : "content-script-gzip";
      report(
        name,
        `${fmt(gzipped / 1024)} KiB (${fmt(gzipped / bytes.length)}x its ${fmt(bytes.length / 1024)} KiB as shipped, whitespace removed and names kept: ${file}; ` +
          `loaded into every Gmail tab${script.world === "MAIN" ? ", page world" : ""})`,
      );
    }
  }
}

/** A realistic reply being sent: 20 links in the new text, and a quoted earlier email with its pixel and 3 tracked links. */
async function rewriteFixture() {
  const { mintTrackingId, newKeySecret, pixelUrl, signedClickUrl } = await importTs("shared/protocol.ts", "protocol");
  const key = { accountId: "abcdefghijklmnop", keyId: 1, secret: newKeySecret() };
  const trackingId = await mintTrackingId(key);
  const earlierId = await mintTrackingId(key);
  const destinations = Array.from(
    { length: LINKS },
    (_, i) => `https://www.site${i}.example.com/products/item-${i}?utm_source=newsletter&ref=${i}`,
  );
  const earlier = Array.from({ length: EARLIER_LINKS }, (_, i) => `https://docs.example.org/guide/${i}#section-${i}`);
  const text =
    "Thanks for your time on the call today. As promised, here are the materials we discussed, with the pricing " +
    "for the team plan and the onboarding schedule. Let me know if anything is unclear.";
  const paragraphs = destinations.map(
    (url, i) => `<div>${text.slice(0, 60 + ((i * 37) % 120))} <a href="${url}" target="_blank">see item ${i}</a>.</div>`,
  );
  const earlierPixel = `https://ci3.googleusercontent.com/meips/ADKq_NbExampleProxyPath=s0-d-e1-ft#${pixelUrl(TRACKER, earlierId)}`;
  const earlierLinks = await Promise.all(earlier.map((url, i) => signedClickUrl(TRACKER, key, earlierId, i, url)));
  const quoted =
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 3 Nov 2026 at 10:12, Alex Seller &lt;alex@example.com&gt; wrote:<br></div>' +
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">' +
    `<div dir="ltr">${text}<br>${earlierLinks.map((href, i) => `<a href="${href}">guide part ${i}</a>`).join(" · ")}</div>` +
    `<div>${text} ${text}</div><img src="${earlierPixel}" width="1" height="1" alt="">` +
    "</blockquote></div>";
  const html = `<div dir="ltr">Hi Sam,<br><br>${paragraphs.join("")}<br><div>Best,<br>Alex</div></div><br>${quoted}`;
  const clickUrls = [];
  for (const [i, url] of [...destinations, ...earlier].entries())
    clickUrls.push([new URL(url).href, await signedClickUrl(TRACKER, key, trackingId, i, url)]);
  return { html, trackerUrl: TRACKER, trackingId, pixelUrl: pixelUrl(TRACKER, trackingId), clickUrls };
}

/** Headless Chromium as both Chromium figures use it: quiet (no background traffic), no GPU. */
async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    timeout: 60_000,
  });
}

async function inChromium(fixture, rounds, batch) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setContent("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>");
    await page.addScriptTag({ content: await bundleForBrowser("bench/rewrite-bench.ts", { alias: STUB, globalName: "mtRewriteBench" }) });
    const timings = await page.evaluate(
      ([f, r, b]) => globalThis.mtRewriteBench.runRewriteBench(document, f, r, b),
      [fixture, rounds, batch],
    );
    return { timings, where: `Chromium ${browser.version()}` };
  } finally {
    await browser.close();
  }
}

async function inHappyDom(fixture, rounds, batch) {
  const { Window } = await import("happy-dom");
  const { runRewriteBench } = await importTs("bench/rewrite-bench.ts", "rewrite-bench", { alias: STUB });
  const window = new Window();
  try {
    return { timings: runRewriteBench(window.document, fixture, rounds, batch), where: "happy-dom in Node (no Chromium found)" };
  } finally {
    await window.happyDOM.close();
  }
}

async function sendRewrite(report, log, rounds) {
  const fixture = await rewriteFixture();
  const batch = 20;
  const haveChromium = existsSync(CHROMIUM);
  log(`timing the send-time rewrite in ${haveChromium ? CHROMIUM : "happy-dom"} (${rounds} rounds of ${batch} bodies)…`);
  const { timings, where } = haveChromium ? await inChromium(fixture, rounds, batch) : await inHappyDom(fixture, rounds, batch);
  const { check } = timings;
  if (check.links !== LINKS + EARLIER_LINKS || check.unsigned !== 0 || !check.pixel || check.earlierPixelsLeft !== 0) {
    throw new Error(`the rewrite did not do what a send needs: ${JSON.stringify(check)}`);
  }
  const added = timings.rewrite.map((ms, i) => ms - timings.baseline[i]);
  const base = median(timings.baseline);
  const total = median(timings.rewrite);
  report(
    "send-rewrite-added",
    `${fmt(median(added))} ms per send (median, p99 ${fmt(percentile(added, 99))} ms; ${fmt(total / base)}x the baseline, ` +
      `serialising the same body: ${fmt(base)} ms; ${where}, a ${fmt(check.htmlBytes / 1024)} KiB reply with ${LINKS} links and a quoted ` +
      `earlier email with its pixel and ${EARLIER_LINKS} tracked links; ${rounds} rounds)`,
  );
}

/**
 * Marking 100 rows of the Sent list: the extension's own ThreadListMarks in Chromium, 100 tracked rows inserted at once,
 * their one batched status request answered by a stub server over HTTP; from the insertion to the 100th mark in the
 * document, against the same status request alone.
 */
async function sentRowsMark(report, log, rounds) {
  if (!existsSync(CHROMIUM)) {
    report("sent-rows-mark-100", "not measured (no Chromium found)");
    return;
  }
  const legacyIds = sentListThreadIds(100);
  const stub = await statusStub(legacyIds);
  const browser = await launchChromium();
  const n = Math.max(20, Math.round(rounds / 3));
  log(`timing the Sent list marks in ${CHROMIUM} (${n} rounds of 100 rows)…`);
  try {
    const page = await browser.newPage();
    await page.goto(`${stub.url}/marks`);
    await page.addScriptTag({ content: await bundleForBrowser("bench/marks-bench.ts", { alias: STUB, globalName: "mtMarksBench" }) });
    const timings = await page.evaluate(
      ([url, ids, r]) => globalThis.mtMarksBench.runMarksBench(document, url, ids, r),
      [`${stub.url}/api/messages/status`, legacyIds, n],
    );
    const { check } = timings;
    if (check.marks !== 100 || check.requests !== 1 || check.opened === 0 || check.clicked === 0)
      throw new Error(`the marks were not what the page needs: ${JSON.stringify(check)}`);
    const total = median(timings.marks);
    const fetchOnly = median(timings.fetchOnly);
    report(
      "sent-rows-mark-100",
      `${fmt(total)} ms from 100 rows inserted to 100 marks drawn (median, p99 ${fmt(percentile(timings.marks, 99))} ms; ` +
        `${fmt(total / fetchOnly)}x the baseline, the same status request alone: ${fmt(fetchOnly)} ms; of the marks' time, ` +
        `${fmt(median(timings.scans))} ms scanning the rows and ${fmt(median(timings.requests))} ms their request; timed from ` +
        `the rows in the document, after Gmail's own insertion of them (${fmt(median(timings.insertions))} ms); the request leaves ` +
        `when the insertion's mutation checkpoint ends, with no batching wait; one request for the page; Chromium ${browser.version()}, stub status server over HTTP on 127.0.0.1; ${n} rounds)`,
    );
  } finally {
    await browser.close();
    await stub.close();
  }
}

export async function benchExtension({ report, log, rounds }) {
  const extensionDir = contentScriptSizes(report, log);
  await sendRewrite(report, log, rounds);
  await sentRowsMark(report, log, rounds);
  await gmailRenderCost({ report, log, rounds, extensionDir });
  await listToBackgroundCost({ report, log, rounds, extensionDir });
}
