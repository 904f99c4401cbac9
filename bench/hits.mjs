// Pixel and click throughput: the tracker against a bare worker that answers the same bytes, both under the project's
// `wrangler dev`, loaded by wrk in interleaved rounds, then every answered hit checked stored in D1 (by a second
// session of the tracker, which consumes the queue: see benchHits).
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runWrk } from "./load.mjs";
import {
  cpuReaderFor,
  d1Execute,
  directUrl,
  freePort,
  newSigningSecret,
  pausableSession,
  pinSession,
  privateDevRegistry,
  removeDir,
  startBaseline,
  startRealTracker,
  tempDir,
  writeRequestPathConfig,
} from "./servers.mjs";
import { api, CACHE, createAccount, eachLimit, fmt, importTs, median, sleep, threadIdFor } from "./util.mjs";

/** What a Gmail recipient's open looks like: Google's image proxy fetches the pixel. */
const GMAIL_PROXY_UA = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
/** A person clicking in a desktop browser (the tracker parses it into client and device). */
const DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const DRAIN_TIMEOUT_MS = 180_000;
/**
 * How the bench waits, between runs, for the storing session to have stored what it was sent (settleStoring): until
 * it uses less than QUIET_CPU_SHARE of a CPU over a window, for at most SETTLE_TIMEOUT_MS.
 */
const SETTLE_WINDOW_MS = 250;
const QUIET_CPU_SHARE = 0.1;
const SETTLE_TIMEOUT_MS = 30_000;

/** Compares what the two servers answer to the same request: status, headers (but Date) and body. */
async function sameAnswer(realUrl, baseUrl, pathname) {
  const describe = async (url) => {
    const response = await fetch(url + pathname, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
    const headers = [...response.headers].filter(([name]) => name !== "date").sort();
    const body = Buffer.from(await response.arrayBuffer()).toString("base64");
    return JSON.stringify({ status: response.status, headers, body });
  };
  const [real, base] = await Promise.all([describe(realUrl), describe(baseUrl)]);
  if (real !== base)
    throw new Error(`the baseline does not answer ${pathname} as the tracker does:\n  tracker:  ${real}\n  baseline: ${base}`);
  return JSON.parse(real);
}

async function storedByKind(persistTo) {
  const rows = d1Execute(persistTo, { command: "SELECT kind, count(*) AS n FROM events GROUP BY kind" });
  const counts = { open: 0, click: 0 };
  for (const row of rows) counts[row.kind] = row.n;
  return counts;
}

/**
 * @param {{report: (name: string, text: string) => void, log: (text: string) => void, fail: (text: string) => void,
 *          seconds: number, rounds: number, connections: number}} options
 */
export async function benchHits({ report, log, fail, seconds, rounds, connections }) {
  const { mintTrackingId, pixelUrl, signedClickUrl } = await importTs("shared/protocol.ts", "protocol");
  // The storing session's D1 is kept in memory: on disk, SQLite's writes came back as completion interrupts that this
  // machine's kernel delivers to the measured CPU, in the tracker's rounds alone; on Cloudflare, D1's storage never
  // interrupts the Worker that answers (measurements in docs/benchmarks.md, "The storing session's D1 in memory").
  const trackerDir = tempDir("hits", { inMemory: true });
  const requestPathDir = tempDir("request-path");
  const registryDir = tempDir("registry");
  const baselineDir = tempDir("baseline");
  const started = [];
  try {
    // Two sessions of the tracker, as production splits its work: one answers the hits and sends them to the queue
    // (the one measured), the other consumes the queue into D1, in a workerd of its own (see writeRequestPathConfig).
    // Under one `wrangler dev`, the queue's broker, the consumer and D1's SQLite all ran on the one thread that
    // answers hits, and storing took about 40 % of the throughput; on Cloudflare none of them runs in the Worker's
    // isolate. The storing session's own figures are cpu-per-event-consumer and d1-rows-*.
    log("starting the tracker (a session answering hits, one storing them) and the bare baseline worker (wrangler dev)…");
    const registry = privateDevRegistry(registryDir);
    const signingSecret = newSigningSecret();
    const storing = await startRealTracker({ port: await freePort(), persistTo: trackerDir, signingSecret, env: registry });
    started.push(storing);
    const tracker = await startRealTracker({
      port: await freePort(),
      persistTo: requestPathDir,
      signingSecret,
      config: writeRequestPathConfig(requestPathDir),
      env: registry,
    });
    started.push(tracker);
    const baseline = await startBaseline({ port: await freePort(), persistTo: baselineDir });
    started.push(baseline);

    // 300 registered messages sent an hour ago, 3 links each: wrk rotates over 300 pixels and 900 click links.
    const account = await createAccount(storing.url);
    const messageCount = 300;
    const linksPerMessage = 3;
    const ids = await Promise.all(Array.from({ length: messageCount }, () => mintTrackingId(account.key)));
    const destination = (i, n) => `https://www.example.com/pricing/${i}?utm_source=email&ref=${n}`;
    const sentAt = new Date(Date.now() - 3_600_000).toISOString();
    log(`registering ${messageCount} messages…`);
    await eachLimit(ids, 4, (id, i) =>
      api(storing.url, "PUT", `/api/messages/${id}`, {
        token: account.token,
        body: {
          subject: `Proposal ${i}`,
          recipients: [{ email: `reader${i}@example.org` }],
          sentAt,
          threadId: threadIdFor(i),
          links: Array.from({ length: linksPerMessage }, (_, n) => ({ index: n, url: destination(i, n) })),
        },
      }),
    );
    const pixelPaths = ids.map((id) => pixelUrl("", id));
    const clickPaths = [];
    for (const [i, id] of ids.entries()) {
      for (let n = 0; n < linksPerMessage; n++) clickPaths.push(await signedClickUrl("", account.key, id, n, destination(i, n)));
    }
    const files = { pixel: path.join(CACHE, "pixel-paths.txt"), click: path.join(CACHE, "click-paths.txt") };
    writeFileSync(files.pixel, `${pixelPaths.join("\n")}\n`);
    writeFileSync(files.click, `${clickPaths.join("\n")}\n`);

    // Straight to the workerd that runs each worker, past wrangler dev's proxy (see servers.mjs).
    const [trackerDirect, baselineDirect] = await Promise.all([directUrl(tracker.url), directUrl(baseline.url)]);
    const direct = trackerDirect !== null && baselineDirect !== null;
    const targets = { tracker: direct ? trackerDirect : tracker.url, baseline: direct ? baselineDirect : baseline.url };
    log(
      direct
        ? `loading each worker's own workerd directly (tracker ${targets.tracker}, baseline ${targets.baseline})`
        : "could not find the inner workerd ports: loading through wrangler dev's proxy",
    );
    // The measured workerds (the tracker answering hits, the baseline; one runs at a time) get a CPU of their own,
    // and wrk and the storing session share the others: on Cloudflare the consumer and D1 never take the CPU of
    // the Worker that answers. Without it, on two cores, the storing session's bursts took turns with the measured
    // thread.
    const cores = os.cpus().length;
    const measuredCpu = String(cores - 1);
    const otherCpus = cores > 2 ? `0-${cores - 2}` : "0";
    const pinned =
      cores >= 2 && [tracker, baseline].every((server) => pinSession(server.url, measuredCpu)) && pinSession(storing.url, otherCpus);
    log(
      pinned
        ? `measured workerds on CPU ${measuredCpu}; wrk and the storing session on CPU ${otherCpus}`
        : "could not pin the workerds to CPUs",
    );
    // The storing session is paused (SIGSTOP) while a worker is measured, and between runs it is resumed until it has
    // stored what it was sent (settleStoring): running, it slowed the measured workerd from the other CPU, and on
    // Cloudflare neither the consumer nor D1 shares the Worker's machine (measurements in docs/benchmarks.md, "The
    // storing session is paused while a worker is measured"). Paused, it holds the queue sends it is given: the
    // request-path session's sendBatch calls wait, after their responses, until it resumes; a pause lasts one run, and
    // the dev registry counts a session gone only after 90 s without a heartbeat (WORKER_STALE_MS in the miniflare of
    // wrangler 4.155, read 2026-12-01). Paused only if its CPU can be read too, which tells when it has settled.
    const storingDirect = await directUrl(storing.url);
    const storingCpu = storingDirect ? cpuReaderFor(storingDirect) : null;
    const storingPause = storingCpu ? pausableSession(storing.url) : null;
    log(
      storingPause
        ? "the storing session is paused while a worker is measured"
        : "could not pause the storing session: it stores hits while the workers are measured",
    );
    const settleStoring = async () => {
      if (!storingPause) return;
      storingPause.resume();
      const quietMicros = SETTLE_WINDOW_MS * 1_000 * QUIET_CPU_SHARE;
      for (let waited = 0; waited < SETTLE_TIMEOUT_MS; waited += SETTLE_WINDOW_MS) {
        const before = storingCpu();
        await sleep(SETTLE_WINDOW_MS);
        if (before === null || storingCpu() - before < quietMicros) return;
      }
      log(`the storing session was still busy after ${SETTLE_TIMEOUT_MS / 1_000} s; measuring anyway`);
    };
    const wrkCpus = pinned ? otherCpus : undefined;

    // The baseline must answer exactly what the tracker answers (this also stores one open and one click).
    const pixelAnswer = await sameAnswer(targets.tracker, targets.baseline, pixelPaths[0]);
    const clickAnswer = await sameAnswer(targets.tracker, targets.baseline, clickPaths[0]);
    const gifBytes = Buffer.from(pixelAnswer.body, "base64").length;
    // Those two hits crossed from one session to the other: if the dev registry dropped them, stop here.
    for (let waited = 0; ; waited += 1_000) {
      const first = await storedByKind(trackerDir);
      if (first.open >= 1 && first.click >= 1) break;
      if (waited > 60_000) throw new Error("hits answered by the request-path session never reached the storing session's D1");
      await sleep(1_000);
    }
    const sent = { open: 1, click: 1 };
    const answered = { open: 1, click: 1 };
    let socketErrors = 0;
    let statusErrors = 0;
    const tally = (kind, result) => {
      sent[kind] += result.sent;
      answered[kind] += result.ok;
      socketErrors += result.socketErrors;
      statusErrors += result.statusErrors;
    };

    const kinds = [
      { name: "pixel", kind: "open", file: files.pixel, userAgent: GMAIL_PROXY_UA, what: `GET /o/<id>.gif, ${gifBytes}-byte GIF` },
      { name: "click", kind: "click", file: files.click, userAgent: DESKTOP_UA, what: `GET /c/<id>/<n>?u=…&s=…, ${clickAnswer.status}` },
    ];
    // wrangler dev reloads a worker whose sources change (someone editing while the benchmark runs), on a new
    // inner port: a run that saw a reload is measured again.
    const servers = { tracker, baseline };
    // The CPU each measured workerd spends in a round, read from /proc (only when loaded directly: through the proxy
    // the listener is wrangler's proxy, not the worker's workerd).
    const cpuReaders = {};
    const readCpuOf = (server) => {
      cpuReaders[server] = direct ? cpuReaderFor(targets[server]) : null;
    };
    readCpuOf("tracker");
    readCpuOf("baseline");
    const reloads = (server) => (servers[server].output().match(/Reloading local server/g) ?? []).length;
    const measure = async (server, kind, run) => {
      for (let attempt = 1; ; attempt++) {
        const before = reloads(server);
        const cpuBefore = cpuReaders[server]?.() ?? null;
        let result = null;
        storingPause?.pause();
        try {
          result = await run();
        } catch (error) {
          if (!/unable to connect/.test(error.message) || attempt >= 3) throw error;
        } finally {
          await settleStoring();
        }
        const cpuAfter = cpuReaders[server]?.() ?? null;
        if (result && cpuBefore !== null && cpuAfter !== null && result.completed > 0) {
          result.cpuMicrosPerRequest = (cpuAfter - cpuBefore) / result.completed;
        }
        if (result && server === "tracker") tally(kind, result);
        if (result && reloads(server) === before) return result;
        if (attempt >= 3) throw new Error(`the ${server} kept reloading (its sources are being edited); run the benchmark again`);
        log(`the ${server} reloaded during a run (its sources changed); measuring again`);
        await sleep(3_000);
        // Both workers are measured the same way or not at all: through wrangler dev's proxy a bare worker does about
        // a quarter of its direct throughput, so one worker behind it would make the ratio the proxy's.
        const again = direct ? await directUrl(servers[server].url) : servers[server].url;
        if (again === null)
          throw new Error(`the ${server} reloaded, and its own workerd could not be found again; run the benchmark again`);
        targets[server] = again;
        readCpuOf(server);
      }
    };
    for (const { name, kind, file, userAgent, what } of kinds) {
      const load = (server, secs) =>
        measure(server, kind, () =>
          runWrk({ url: targets[server], pathsFile: file, seconds: secs, connections, userAgent, cpus: wrkCpus }),
        );
      log(`${name}: warming up both workers…`);
      await load("tracker", 2);
      await load("baseline", 2);
      const results = { tracker: [], baseline: [] };
      for (let round = 0; round < rounds; round++) {
        // Alternate who goes first, so a drift in background load hits both alike.
        const order = round % 2 === 0 ? ["baseline", "tracker"] : ["tracker", "baseline"];
        for (const server of order) {
          const result = await load(server, seconds);
          if (server === "baseline" && result.statusErrors > 0) throw new Error(`the baseline answered ${result.statusErrors} errors`);
          results[server].push(result);
          log(
            `  ${name} round ${round + 1} ${server.padEnd(8)} ${fmt(result.rps)} req/s  p50 ${fmt(result.p50Ms)} ms  p99 ${fmt(result.p99Ms)} ms`,
          );
        }
      }
      const ratios = (metric) => results.tracker.map((r, i) => r[metric] / results.baseline[i][metric]);
      const paired = (metric) => median(ratios(metric));
      const both = (metric) => [median(results.tracker.map((r) => r[metric])), median(results.baseline.map((r) => r[metric]))];
      const [rps, baseRps] = both("rps");
      const [p50, baseP50] = both("p50Ms");
      const [p99, baseP99] = both("p99Ms");
      const note = `${what}; ${rounds} round${rounds === 1 ? "" : "s"} of ${seconds} s, ${connections} connections`;
      // The spread of the rounds' ratios beside their median: on a shared machine one run's median moves by more
      // than a target's margin (docs/benchmarks.md, tenth pass), and a reader should see by how much.
      const rpsRatios = ratios("rps");
      const spread = `rounds ${fmt(Math.min(...rpsRatios))}x to ${fmt(Math.max(...rpsRatios))}x`;
      report(
        `${name}-rps`,
        `${fmt(rps)} req/s (${fmt(paired("rps"))}x baseline, ${spread}; the baseline did ${fmt(baseRps)} req/s; ${note})`,
      );
      report(`${name}-p50`, `${fmt(p50)} ms (${fmt(paired("p50Ms"))}x baseline, which took ${fmt(baseP50)} ms)`);
      report(`${name}-p99`, `${fmt(p99)} ms (${fmt(paired("p99Ms"))}x baseline, which took ${fmt(baseP99)} ms)`);
      if ([...results.tracker, ...results.baseline].every((r) => r.cpuMicrosPerRequest !== undefined)) {
        const [cpu, baseCpu] = both("cpuMicrosPerRequest");
        // What a hit adds, from the same pairs as the ratio: the difference of the two medians is not paired, and on
        // a loaded machine it came out below zero beside a ratio of 1.12x (2026-12-01).
        const added = median(results.tracker.map((r, i) => r.cpuMicrosPerRequest - results.baseline[i].cpuMicrosPerRequest));
        report(
          `${name}-cpu`,
          `${fmt(cpu)} µs of the measured workerd's CPU per request (${fmt(paired("cpuMicrosPerRequest"))}x baseline, ` +
            `which took ${fmt(baseCpu)} µs; the tracker's own work about ${fmt(added)} µs a hit, the median of the rounds' differences; from /proc over each round, ` +
            "so it includes the gatherings' sends and the runtime's share of every request)",
        );
      }
    }

    // Every answered hit must reach D1 through the queue. Requests wrk abandoned in flight when a run ended may
    // or may not have been served, so stored must lie between answered and sent.
    log("waiting for the queue to drain into D1…");
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let stored = await storedByKind(trackerDir);
    for (;;) {
      const inRange = stored.open >= answered.open && stored.click >= answered.click;
      if (inRange || Date.now() > deadline) {
        // One more look a few seconds on: the consumer may still be writing the abandoned ones.
        await sleep(3_000);
        const again = await storedByKind(trackerDir);
        const settled = again.open === stored.open && again.click === stored.click;
        stored = again;
        if ((inRange && settled) || Date.now() > deadline) break;
        continue;
      }
      await sleep(2_000);
      stored = await storedByKind(trackerDir);
    }
    const totalAnswered = answered.open + answered.click;
    const totalSent = sent.open + sent.click;
    const totalStored = stored.open + stored.click;
    const ok = stored.open >= answered.open && stored.open <= sent.open && stored.click >= answered.click && stored.click <= sent.click;
    const abandoned = totalSent - totalAnswered;
    const detail =
      `opens ${stored.open} stored / ${answered.open} answered, clicks ${stored.click} / ${answered.click}; ` +
      `wrk also abandoned ${abandoned} requests in flight when its runs ended, ${totalStored - totalAnswered} of which were stored` +
      (statusErrors + socketErrors > 0 ? `; ${statusErrors} error statuses and ${socketErrors} socket errors from the tracker` : "");
    if (ok) report("hits-stored", `${totalAnswered} of ${totalAnswered} answered hits (${detail})`);
    else fail(`hits-stored: FAILED, ${totalStored} stored for ${totalAnswered} answered and ${totalSent} sent (${detail})`);
  } finally {
    for (const server of started.reverse()) await server.stop();
    for (const dir of [trackerDir, requestPathDir, registryDir, baselineDir]) removeDir(dir);
  }
}
