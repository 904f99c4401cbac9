// Servers for `npm run bench`, all under the project's own `wrangler dev` (so one workerd build for everything):
// the tracker (scripts/tracker.mjs, exactly as `npm start` and the e2e tests run it), the bare baseline worker,
// and the tracker wrapped by bench/probe-worker.ts, which reports D1's rows read and written.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  applyLocalMigrations,
  freePort,
  howEnded,
  processEnded,
  ROOT,
  runWrangler,
  spawnWrangler,
  startTracker,
} from "../scripts/tracker.mjs";

export { freePort, ROOT };

const START_TIMEOUT_MS = 90_000;
const SHARED_MEMORY = "/dev/shm";
/**
 * Every `wrangler dev` of the benchmark runs without wrangler's local observability (`X_LOCAL_OBSERVABILITY`, on by
 * default in wrangler 4.155: `getLocalObservabilityEnabledFromEnv` in wrangler-dist/cli.js, miniflare's
 * `unsafeObservability`). It streams each request's trace to a collector worker in the same workerd, which stores it in
 * SQLite with an fsync. In a perf profile of the bare baseline under the click load (2026-11-30) that was about 40 %
 * of a request's CPU (the tail stream, its RPC and SQLite), the same fixed amount for the tracker: work neither does on
 * Cloudflare, where nothing of the kind runs in a Worker's process, which made every ratio look closer to 1 than the
 * workers' own work is (docs/benchmarks.md, twelfth pass).
 */
const NO_LOCAL_OBSERVABILITY = { X_LOCAL_OBSERVABILITY: "false" };

/**
 * Every server this process started and has not stopped yet. They run in process groups of their own (so that
 * stopping one ends its workerd), which a Ctrl-C in the terminal does not reach: bench/run.mjs stops them on
 * SIGINT and SIGTERM.
 */
const running = new Set();

function tracked(server) {
  const entry = {
    ...server,
    stop: async () => {
      await server.stop();
      running.delete(entry);
    },
  };
  running.add(entry);
  return entry;
}

export function stopAllServers() {
  // A stopped process would not act on the SIGTERM that ends it.
  for (const group of pausedGroups) signalGroup(group, "SIGCONT");
  pausedGroups.clear();
  return Promise.all([...running].map((server) => server.stop()));
}

/** A fresh signing secret per run (43 characters of base64url, like the one `npm start` writes). */
export function newSigningSecret() {
  return randomBytes(32).toString("base64url");
}

/**
 * A fresh folder for one run. `inMemory` puts it on Linux's tmpfs (/dev/shm) where there is one, for a session whose
 * disk writes must not land on the measured CPU (see benchHits); anywhere else, the system's temporary folder.
 */
export function tempDir(label, { inMemory = false } = {}) {
  const parent = inMemory && existsSync(SHARED_MEMORY) ? SHARED_MEMORY : tmpdir();
  return mkdtempSync(path.join(parent, `mailtracker-bench-${label}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

async function waitUntilServing(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processEnded(child)) throw new Error(`wrangler dev exited with ${howEnded(child)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`wrangler dev did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * `wrangler dev` on `script` with `config` (default: the project's wrangler.toml), in its own process group so
 * stop() ends workerd with it. Resolves to {url, stop, output()}.
 */
export async function startWrangler({ script, config, port, persistTo, vars = {} }) {
  // Its own inspector port: two wranglers starting at once would otherwise both take the default one.
  const inspectorPort = await freePort();
  const args = ["dev", script, "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)];
  args.push("--show-interactive-dev-session=false");
  if (config) args.push("--config", config);
  if (persistTo) args.push("--persist-to", persistTo);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawnWrangler(args, { env: NO_LOCAL_OBSERVABILITY, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const keep = (chunk) => {
    output = (output + String(chunk)).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopGroup(child);
  try {
    await waitUntilServing(url, child, START_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n${output}`);
  }
  return tracked({ url, stop, output: () => output });
}

function stopGroup(child) {
  return new Promise((resolve) => {
    if (processEnded(child)) return resolve(undefined);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      clearTimeout(timer);
      resolve(undefined);
    }
  });
}

/**
 * The tracker itself, started the way `npm start` starts it (but without local observability, as above), with its own
 * state and secret. `config` and `env` are for the request-path tracker below.
 */
export async function startRealTracker({ port, persistTo, signingSecret, config, env }) {
  let output = "";
  const tracker = await startTracker({
    port,
    persistTo,
    config,
    env: { ...NO_LOCAL_OBSERVABILITY, ...env },
    vars: { SIGNING_SECRET: signingSecret, FEED_SETTLE_SECONDS: "0" },
    log: (text) => {
      output = (output + text).slice(-20_000);
    },
  });
  return tracked({ ...tracker, output: () => output });
}

/**
 * A dev registry of the benchmark's own (wrangler's and miniflare's variables for its folder): the benchmark's
 * sessions find each other through it, and never a tracker the developer has running under `npm start`.
 */
export function privateDevRegistry(dir) {
  return { WRANGLER_REGISTRY_PATH: dir, CLOUDFLARE_DEV_REGISTRY_PATH: dir };
}

/**
 * The project's wrangler.toml for a tracker that answers hits but does not consume the hits queue: the same worker,
 * bindings and secret, under another name, with no `[[queues.consumers]]`. Its queue sends then leave its workerd
 * for the session that consumes the queue, through the dev registry (miniflare's `ExternalQueueProxy`, wrangler 4),
 * as in production a queue send leaves the Worker's isolate and the consumer and D1 run elsewhere. Written to `dir`,
 * with the paths made absolute. Throws if wrangler.toml no longer has the shape this relies on.
 */
export function writeRequestPathConfig(dir) {
  const template = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const absolute = (_, key, relative) => `${key} = ${JSON.stringify(path.join(ROOT, relative))}`;
  const config = template
    .replace(/^name = "mailtracker"$/m, 'name = "mailtracker-request-path"')
    .replace(/^(main|migrations_dir) = "([^"]+)"$/gm, absolute)
    // Each consumer table, up to the next table header.
    .replace(/^\[\[queues\.consumers\]\]\n(?:(?!\[)[^\n]*\n)*/gm, "");
  const shaped =
    config.includes('name = "mailtracker-request-path"') &&
    !config.includes("queues.consumers") &&
    config.includes("[[queues.producers]]") &&
    config.split(`= ${JSON.stringify(ROOT).slice(0, -1)}`).length === 3;
  if (!shaped) throw new Error("wrangler.toml changed shape: review writeRequestPathConfig in bench/servers.mjs");
  const file = path.join(dir, "wrangler.toml");
  writeFileSync(file, config);
  return file;
}

export function startBaseline({ port, persistTo }) {
  return startWrangler({ script: "bench/baseline-worker.ts", config: "bench/wrangler.baseline.toml", port, persistTo });
}

/** The tracker behind bench/probe-worker.ts (the project's wrangler.toml, another entry point), migrations applied. */
export async function startProbe({ port, persistTo, signingSecret }) {
  await applyLocalMigrations(persistTo);
  return startWrangler({
    script: "bench/probe-worker.ts",
    port,
    persistTo,
    vars: { SIGNING_SECRET: signingSecret, FEED_SETTLE_SECONDS: "0" },
  });
}

/**
 * Runs SQL on a local D1 with `wrangler d1 execute` (a file or one command); returns the first result's rows. The
 * tracker's own wrangler dev has the same SQLite file open, and a write of its own at that moment (its queue
 * consumer storing hits) makes the command fail with SQLITE_BUSY: that is tried again, up to ten times, 500 ms apart.
 */
export function d1Execute(persistTo, { command, file, timeoutMs = 120_000 }) {
  const args = ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--yes"];
  if (command) args.push("--command", command);
  if (file) args.push("--file", file);
  for (let attempt = 1; ; attempt++) {
    const result = runWrangler(args, { timeout: timeoutMs });
    if (result.status === 0) return JSON.parse(result.stdout)[0]?.results ?? [];
    const output = `${result.stdout}\n${result.stderr}`;
    if (!output.includes("SQLITE_BUSY") || attempt >= 10) throw new Error(`wrangler d1 execute failed:\n${output}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
}

// `wrangler dev` answers on its port through a proxy worker in a second workerd, which forwards every request
// to the workerd that runs the worker (in production nothing sits in between). The load figures go straight to
// that inner workerd: the one in the same process group listening on a port of its own that answers GET / as
// the public URL does. Linux only (reads /proc); elsewhere null, and the figures go through the proxy.

function listeningSockets() {
  const byInode = new Map();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue; // 0A: LISTEN
      byInode.set(fields[9], Number.parseInt(fields[1].split(":")[1], 16));
    }
  }
  return byInode;
}

function socketInodes(pid) {
  const inodes = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.push(match[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone or not ours
  }
  return inodes;
}

/** A process's /proc stat fields after its name: [0] is field 3 (state), so field n is at n - 3. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

function processGroup(pid) {
  const fields = statFields(pid);
  return fields ? Number(fields[2]) : null;
}

let clockTicksPerSecond = null;

/**
 * A reader of the CPU time, in µs (user and system, every thread), that the process listening on `url`'s port has
 * used so far; null off Linux or when no process listens there. /proc counts it in clock ticks (`getconf CLK_TCK`,
 * 100 on Linux), so a reading is good to 10 ms: a round of a few thousand requests gives it to a few per cent.
 */
export function cpuReaderFor(url) {
  if (process.platform !== "linux") return null;
  const { pid } = listenerOf(url);
  if (pid === undefined) return null;
  clockTicksPerSecond ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;
  return () => {
    const fields = statFields(pid);
    // utime and stime are fields 14 and 15.
    return fields ? ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / clockTicksPerSecond : null;
  };
}

function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

async function answer(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return `${response.status} ${await response.text()}`;
  } catch {
    return null;
  }
}

/** The process listening on a `wrangler dev` URL's port, its process group and every process on the machine. */
function sessionOf(publicUrl) {
  const { pid: proxyPid, pids, listening } = listenerOf(publicUrl);
  return { proxyPid, group: proxyPid ? processGroup(proxyPid) : null, pids, listening };
}

/** The process listening on a URL's port (undefined if none), with every process and listening socket found. */
function listenerOf(url) {
  const port = Number(new URL(url).port);
  const listening = listeningSockets();
  const pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  const pid = pids.find((candidate) => socketInodes(candidate).some((inode) => listening.get(inode) === port));
  return { pid, pids, listening };
}

/**
 * Keeps every process of a `wrangler dev` session (its workerds and their threads) on the given CPUs, with
 * util-linux's taskset. Linux only; false where it cannot.
 */
export function pinSession(publicUrl, cpus) {
  if (process.platform !== "linux") return false;
  const { group, pids } = sessionOf(publicUrl);
  if (!group) return false;
  const members = pids.filter((pid) => processGroup(pid) === group);
  return members.every((pid) => spawnSync("taskset", ["-a", "-p", "-c", cpus, pid], { stdio: "ignore" }).status === 0);
}

/** Process groups paused by pausableSession and not resumed yet: stopAllServers resumes them first. */
const pausedGroups = new Set();

/**
 * Pauses and resumes every process of a `wrangler dev` session (SIGSTOP and SIGCONT to its process group), or null
 * off Linux or when its processes cannot be found. A paused session holds what is sent to it until it resumes.
 */
export function pausableSession(publicUrl) {
  if (process.platform !== "linux") return null;
  const { group } = sessionOf(publicUrl);
  if (!group) return null;
  return {
    pause: () => {
      pausedGroups.add(group);
      signalGroup(group, "SIGSTOP");
    },
    resume: () => {
      pausedGroups.delete(group);
      signalGroup(group, "SIGCONT");
    },
  };
}

function signalGroup(group, signal) {
  try {
    process.kill(-group, signal);
  } catch {
    // gone
  }
}

/** The inner workerd's own URL for a `wrangler dev` URL, or null if it cannot be found. */
export async function directUrl(publicUrl) {
  if (process.platform !== "linux") return null;
  const { proxyPid, group, pids, listening } = sessionOf(publicUrl);
  if (!group) return null;
  // The session's own answer, to recognise its workerd by. A first request through the proxy can fail at once (the
  // tracker just seeded with 2,000,000 events, 2026-12-01), and without an answer every workerd was passed over and
  // its figures went through the proxy, about 4 ms a request more than the tracker they were set against.
  let expected = null;
  for (let attempt = 0; attempt < 5 && expected === null; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    expected = await answer(publicUrl);
  }
  if (expected === null) return null;
  for (const pid of pids) {
    if (pid === proxyPid || processGroup(pid) !== group) continue;
    const args = commandLine(pid);
    if (!args[0]?.endsWith("workerd") || !args.includes("--socket-addr=entry=127.0.0.1:0")) continue;
    for (const inode of socketInodes(pid)) {
      const port = listening.get(inode);
      if (port === undefined) continue;
      const url = `http://127.0.0.1:${port}`;
      if ((await answer(url)) === expected) return url;
    }
  }
  return null;
}
