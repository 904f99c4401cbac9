// Runs the tracker locally under `wrangler dev` (workerd with local D1, KV and Queues), migrations applied first.
// Used by `npm start` and by the end-to-end tests, so both run the tracker the same way.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";

export const ROOT = path.resolve(import.meta.dirname, "..");
const WINDOWS = process.platform === "win32";
/** Keeps wrangler from stalling on its version check and telemetry where the network is closed. */
const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: process.env.CI ?? "true",
};

/**
 * wrangler's own launcher (its package.json `bin`), run by the Node running this script. `node_modules/.bin/wrangler`
 * is not spawnable everywhere: on Windows npm makes it `wrangler.cmd`, which Node spawns only through a shell
 * (nodejs.org/api/child_process.html, "Spawning .bat and .cmd files on Windows"; EINVAL without one since Node
 * 18.20.2/20.12.2, CVE-2024-27980, 2024-04-10), and a shell splits paths with spaces; elsewhere its `#!/usr/bin/env
 * node` runs whichever `node` comes first on PATH, which may be older than the one that passed require-node.mjs.
 */
const WRANGLER_BIN = (() => {
  const manifest = createRequire(import.meta.url).resolve("wrangler/package.json");
  return path.join(path.dirname(manifest), JSON.parse(readFileSync(manifest, "utf8")).bin.wrangler);
})();

/** `wrangler <args>`, waited for; `options.env` adds to WRANGLER_ENV. */
export function runWrangler(args, options = {}) {
  return spawnSync(process.execPath, [WRANGLER_BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    ...options,
    env: { ...WRANGLER_ENV, ...options.env },
  });
}

/** `wrangler <args>` started, not waited for; `options.env` adds to WRANGLER_ENV. */
export function spawnWrangler(args, options = {}) {
  return spawn(process.execPath, [WRANGLER_BIN, ...args], { cwd: ROOT, ...options, env: { ...WRANGLER_ENV, ...options.env } });
}

/** A local SIGNING_SECRET in .dev.vars (git-ignored), made once so local ids stay valid across restarts, and the development-only DEV_REQUEST_CF. */
export function ensureDevVars() {
  const file = path.join(ROOT, ".dev.vars");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  const lines = [];
  if (!/^SIGNING_SECRET=.{32,}$/m.test(current)) lines.push(`SIGNING_SECRET=${randomBytes(32).toString("base64url")}`);
  // Lets a local request carry request.cf properties (worker/src/dev-request-cf.ts); .dev.vars is never deployed.
  if (!/^DEV_REQUEST_CF=/m.test(current)) lines.push("DEV_REQUEST_CF=1");
  if (lines.length === 0) return;
  const added = `${lines.join("\n")}\n`;
  writeFileSync(file, current && !current.endsWith("\n") ? `${current}\n${added}` : current + added, { mode: 0o600 });
}

/** What ends a program when its user stops it: Ctrl+C, a kill, a closed terminal. */
const STOPPING_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The tracker was stopped while it was starting (not a failure: nothing to report). */
export class StoppedError extends Error {}

/**
 * The child process `spawnChild()` starts, run to its end without blocking this process; resolves with its output,
 * rejects with StoppedError when `signal` ended it (by `end`, a SIGTERM unless given) or it was stopped (a Ctrl+C
 * reaches a child in this process's group too), else with an error saying `what` failed.
 */
export function runUntilDone(spawnChild, what, signal, end = (child) => child.kill("SIGTERM")) {
  return new Promise((resolve, reject) => {
    // Aborted before this was called (during startTracker's ensurePortFree): no "abort" event comes any more.
    if (signal?.aborted) return reject(new StoppedError(`${what} was stopped before it began`));
    const child = spawnChild();
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const abort = () => void end(child);
    signal?.addEventListener("abort", abort, { once: true });
    child.once("error", (error) => {
      signal?.removeEventListener("abort", abort);
      reject(new Error(`${what} failed: it did not start: ${error.message}`));
    });
    child.once("close", (code, ended) => {
      signal?.removeEventListener("abort", abort);
      // Ctrl+C in a terminal goes to its whole foreground process group, so with `npm start` this child gets it too.
      if (signal?.aborted || STOPPING_SIGNALS.includes(ended)) reject(new StoppedError(`${what} was stopped (${ended})`));
      else if (code !== 0) reject(new Error(`${what} failed (${ended ?? `code ${code}`}):\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `wrangler <args>` run by runUntilDone, in this process's group. */
const runWranglerUntilDone = (args, what, signal) =>
  runUntilDone(() => spawnWrangler(args, { stdio: ["ignore", "pipe", "pipe"] }), what, signal);

/**
 * The migrations folder of `config`'s D1, or null, leaving the config to wrangler's own apply, when there is no such
 * config (wrangler says so) or it is not in the one shape read here: wrangler.toml's, one D1 database whose one
 * migrations_dir line is a plain double-quoted path, and wrangler's own table. A regex, not wrangler's config reader:
 * that is all of wrangler (experimental_readRawConfig, as deploy.mjs uses it), 4.6 to 5.2 s to import on 2026-12-07 at
 * a load average of 9, against the 0.1 s Node takes to start. So a comment or an escape on that line, single quotes,
 * several databases (an environment's too: any second mention of d1_databases or migrations_dir), another table,
 * wrangler.json or .jsonc all go to wrangler, which reads them itself.
 */
export function migrationsFolderReadHere(config) {
  if (!existsSync(config)) return null;
  const text = readFileSync(config, "utf8");
  const dir = /^migrations_dir = "([^"\\]+)"$/m.exec(text)?.[1];
  const once = (word) => text.split(word).length === 2;
  if (!dir || !once("d1_databases") || !once("migrations_dir") || text.includes("migrations_table")) return null;
  return path.resolve(path.dirname(config), dir);
}

/**
 * Every migration of `config`'s D1 as the SQL `wrangler d1 migrations apply` runs for them, one after the other: its
 * d1_migrations table, then each migration followed by the row that records it (wrangler 4.155.0's
 * getCreateMigrationsTableQuery and buildMigrationQuery in packages/wrangler/src/d1/migrations/helpers.ts of
 * github.com/cloudflare/workers-sdk, read 2026-12-07; scripts/tracker.test.ts compares the result with its own apply),
 * so a later `wrangler d1 migrations apply --local` finds them applied. Null where migrationsFolderReadHere is.
 */
function everyMigrationAsSql(config) {
  const migrations = migrationsFolderReadHere(config);
  if (migrations === null) return null;
  const names = readdirSync(migrations)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  const table = `CREATE TABLE IF NOT EXISTS "d1_migrations"(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;
  const applied = names.map(
    (name) =>
      `${readFileSync(path.join(migrations, name), "utf8")}\nINSERT INTO "d1_migrations" (name)\nvalues ('${name.replace(/'/g, "''")}');`,
  );
  return [table, ...applied].join("\n");
}

/**
 * Applies the migrations to the local D1 in `persistTo`; resolves once wrangler has. Asynchronous: a wait of its own
 * blocked the calling process (an e2e test's timers and browser connections, npm start's signal handlers) for as long
 * as wrangler took, 47 s once on a loaded machine. An abort of `signal` ends this wrangler and rejects with StoppedError;
 * so does one before the call, without starting wrangler.
 *
 * Where there is no local D1 yet (miniflare keeps them under <persistTo>/v3/d1), every migration is pending, and they
 * go in one `wrangler d1 execute --file`: `d1 migrations apply` starts a Miniflare for each migration, about 1 s each
 * (wrangler 4.155.0: packages/wrangler/src/d1/migrations/apply.ts runs d1/execute.ts's executeLocally once per
 * migration, read 2026-12-07), 35 s of a fresh `npm start` and of every e2e file's tracker. That run applies all of the
 * file or none of it (d1/execute.ts's executeLocally runs its statements in one `db.batch`, one transaction that rolls
 * back, same version and date; a stop ends wrangler before the commit). Should it fail or be stopped, the local D1 it
 * made is removed (none existed before it) so that the next start, finding none, takes the one-file path again rather
 * than `d1 migrations apply`'s one Miniflare per migration; after a failure `d1 migrations apply` then applies them
 * itself and names the one that fails.
 */
export async function applyLocalMigrations(persistTo, config = path.join(ROOT, "wrangler.toml"), signal = undefined) {
  const local = ["DB", "--local", "--persist-to", persistTo, "--config", config];
  const sql = existsSync(path.join(persistTo, "v3", "d1")) ? null : everyMigrationAsSql(config);
  if (sql !== null && !signal?.aborted) {
    const dir = mkdtempSync(path.join(tmpdir(), "mailtracker-migrations-"));
    const file = path.join(dir, "every-migration.sql");
    writeFileSync(file, sql);
    try {
      await runWranglerUntilDone(["d1", "execute", ...local, "--file", file], "applying migrations", signal);
      return;
    } catch (error) {
      rmSync(path.join(persistTo, "v3", "d1"), { recursive: true, force: true });
      if (error instanceof StoppedError) throw error;
      // Wrangler's reason follows its "[ERROR]", coloured (e.g. "no such table: ..."); its own apply then names the migration.
      const lines = stripVTControlCharacters(error.message).split("\n");
      const why = (lines.find((line) => line.includes("[ERROR]")) ?? lines[0]).replace(/^.*\[ERROR\]/, "").trim();
      console.warn(`applying every migration in one d1 execute failed (${why}): applying them one at a time instead`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await runWranglerUntilDone(["d1", "migrations", "apply", ...local], "applying migrations", signal);
}

export class PortInUseError extends Error {
  constructor(port) {
    super(`port ${port} on 127.0.0.1 is already in use`);
    this.port = port;
  }
}

/** Whether 127.0.0.1:port can be listened on now (false when something listens there). */
function portIsFree(port) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error)));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** Resolves when nothing listens on 127.0.0.1:port, so a tracker started there is ours; else PortInUseError. */
export async function ensurePortFree(port) {
  if (!(await portIsFree(port))) throw new PortInUseError(port);
}

/**
 * The first port of the kernel's range for ports bound to 0 (Linux: /proc/sys/net/ipv4/ip_local_port_range), or
 * null where it cannot be read.
 */
function ephemeralRangeStart() {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : null;
  } catch {
    return null;
  }
}

/** Picked ports start here: above the ports well-known servers use by default. */
const LOWEST_PICKED_PORT = 10_000;

/**
 * A TCP port free on 127.0.0.1 right now, below the kernel's range for ports bound to 0. A port from that range,
 * free when picked, can be taken by any process binding port 0 before wrangler binds it, or while a tracker is
 * stopped and started again on it (an e2e scenario does that); workerd binds several such ports for each wrangler
 * dev, so parallel test files and checkouts took each other's ports ("Address already in use"). Below the range, only
 * another pick like this one can take it. Where the range cannot be read, any free port.
 */
export async function freePort() {
  const rangeStart = ephemeralRangeStart();
  if (rangeStart !== null && rangeStart > LOWEST_PICKED_PORT + 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOWEST_PICKED_PORT + (randomBytes(2).readUInt16BE(0) % (rangeStart - LOWEST_PICKED_PORT));
      if (await portIsFree(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether a child process has ended: with an exit code, or by a signal (then its exitCode stays null). */
export const processEnded = (child) => child.exitCode !== null || child.signalCode !== null;
/**
 * Process `pid`, its parent, its process group and whether it is a zombie (ended, its exit not yet read by its parent),
 * from proc(5)'s /proc/<pid>/stat (Linux only); throws when there is no such process. After the command's name in
 * parentheses (which may hold spaces and parentheses): state (Z for a zombie), ppid, pgrp.
 */
export function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pid, ppid: Number(ppid), pgid: Number(pgid), zombie: state === "Z" };
}

/** How a child process ended, for an error: "code 1", or the signal that ended it. */
export const howEnded = (child) => (child.exitCode === null ? child.signalCode : `code ${child.exitCode}`);

/**
 * Spawn options that make a child the leader of a process group of its own (nodejs.org/api/child_process.html,
 * options.detached), so endProcessTree ends every process it starts with it, and no terminal's Ctrl+C or closed
 * terminal reaches them. Windows has no process groups to signal (a negative pid), and a detached child there gets a
 * console window of its own, so there it stays attached and endProcessTree ends its tree.
 */
export const OWN_PROCESS_GROUP = { detached: !WINDOWS, windowsHide: true };

/** Ends a child spawned with OWN_PROCESS_GROUP and every process it started; resolves once the child has exited. */
export function endProcessTree(child) {
  return new Promise((resolve) => {
    if (processEnded(child)) return resolve(undefined);
    child.once("exit", () => resolve(undefined));
    try {
      // taskkill /T ends the process and every process it started (learn.microsoft.com, "taskkill"), as a signal to
      // the group does here; /F because a console program cannot be asked to close otherwise.
      if (WINDOWS) spawnSync("taskkill", ["/pid", String(child.pid), "/T", "/F"], { windowsHide: true });
      else process.kill(-child.pid, "SIGTERM");
    } catch {
      resolve(undefined);
    }
  });
}

/** Waits until the tracker itself answers GET / (its own greeting, from the wrangler dev we started). */
async function waitUntilServing(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processEnded(child)) throw new Error(`wrangler dev exited with ${howEnded(child)}`);
    try {
      const response = await fetch(url);
      if (response.ok && (await response.text()).startsWith("mailtracker:") && !processEnded(child)) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the tracker did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * Starts the tracker. `vars` become `--var` bindings (tests pass their own SIGNING_SECRET); `log` receives
 * wrangler's output; `config` is another wrangler config (tests use one with a test-only entry point); `env` adds
 * environment variables for wrangler (the benchmark gives its sessions a dev registry of their own).
 * Rejects with PortInUseError before starting anything when the port is taken. Resolves once the tracker answers
 * GET /; `stop()` ends wrangler and its workerd. An abort of `signal` ends them too, also while the tracker is still
 * starting: wrangler runs in a process group of its own, which no Ctrl+C or closed terminal reaches, so only this can
 * end it. A stop while starting rejects, once what was started has ended: with StoppedError when it came while the
 * port was checked or the migrations ran (applyLocalMigrations; so does a Ctrl+C that ended the migrations' wrangler,
 * which runs in this process's group, before the signal was aborted), else with the signal's reason. Callers that
 * stop it take either as stopped (start.mjs).
 */
export async function startTracker({
  port = 8787,
  persistTo = path.join(ROOT, ".wrangler", "state"),
  vars = {},
  log = () => {},
  config = path.join(ROOT, "wrangler.toml"),
  env = {},
  signal = undefined,
} = {}) {
  signal?.throwIfAborted();
  await ensurePortFree(port);
  await applyLocalMigrations(persistTo, config, signal);
  const args = [
    "dev",
    "--config",
    config,
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    persistTo,
    "--show-interactive-dev-session=false",
    // A port of its own for the inspector: wrangler otherwise checks that 9229 is free and then binds it, and two
    // trackers starting at once (test files in parallel, two checkouts' tests) both took it and one exited.
    "--inspector-port",
    String(await freePort()),
  ];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  // An abort while the inspector's port was picked (one before or during the migrations has ended them, rejecting with
  // StoppedError).
  signal?.throwIfAborted();
  // Its own process group, so stop() ends workerd with it.
  const child = spawnWrangler(args, { env, stdio: ["ignore", "pipe", "pipe"], ...OWN_PROCESS_GROUP });
  // The end of wrangler's output goes into the error if it does not start.
  let tail = "";
  const keep = (chunk) => {
    tail = (tail + String(chunk)).slice(-4_000);
    log(String(chunk));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = () => endProcessTree(child);
  signal?.addEventListener("abort", () => void stop(), { once: true });
  try {
    await waitUntilServing(url, child, 60_000);
    signal?.throwIfAborted();
  } catch (error) {
    await stop();
    signal?.throwIfAborted();
    throw new Error(`${error.message}\n${tail}`);
  }
  return { url, stop };
}
