// `npm start [-- --port N]`: builds the extension and runs the tracker on http://127.0.0.1:8787 (or port N) with local
// D1, KV and Queues. Prints only where the tracker is, what to load and how to connect; wrangler's own output goes to
// .wrangler/tracker.log. `--worker-only` skips the extension build.
import "./require-node.mjs";
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  endProcessTree,
  ensureDevVars,
  OWN_PROCESS_GROUP,
  PortInUseError,
  procStat,
  ROOT,
  runUntilDone,
  StoppedError,
  startTracker,
} from "./tracker.mjs";

/** The process that started this script, read first: it may end (see below) while this script runs. */
const launcher = process.ppid;

function stop(message) {
  console.error(message);
  process.exit(1);
}

let values;
try {
  ({ values } = parseArgs({ options: { port: { type: "string", default: "8787" }, "worker-only": { type: "boolean", default: false } } }));
} catch (error) {
  stop(`${error.message}\nUsage: npm start [-- --port N] [-- --worker-only]`);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) stop(`--port takes a port number (1-65535), not "${values.port}".`);

// Ctrl+C (SIGINT), a kill (SIGTERM) and a closed terminal (SIGHUP) end the extension's build and the tracker with this
// script, from its start: both run in a process group of their own (OWN_PROCESS_GROUP), which none of them reaches, and
// Node's default for them ends this script alone, which left the build, or wrangler and workerd holding the port,
// running.
const stopping = new AbortController();
let tracker;
async function stopEverything() {
  if (stopping.signal.aborted) return;
  stopping.abort();
  // Building or starting: the abort ends the build (below) or wrangler (startTracker), and what waited for it exits.
  if (!tracker) return;
  await tracker.stop();
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, stopEverything);

/**
 * The process group of process `pid` (proc(5)'s /proc/<pid>/stat on Linux, `ps` elsewhere); "ended" when there is no
 * such process, null when this cannot be told (no `ps`).
 */
function processGroupOf(pid) {
  if (process.platform === "linux") {
    try {
      return procStat(pid).pgid;
    } catch {
      return "ended";
    }
  }
  const ps = spawnSync("ps", ["-o", "pgid=", "-p", String(pid)], { encoding: "utf8" });
  if (ps.error) return null;
  return ps.status === 0 ? Number(ps.stdout.trim()) : "ended";
}

// Run by npm (npm start, npm run dev:worker), this script's parent is the shell npm runs scripts in, and a SIGINT or
// SIGTERM sent to npm alone (`kill <npm's pid>`, anything that stops a program by its pid; a terminal's Ctrl+C goes to
// every process of its group, this one too) reaches only that shell: npm passes them to its child (@npmcli/run-script's
// signal-manager.js, npm 11.19.1, read 2026-12-07), and dash, Debian's and Ubuntu's sh, ends on them without passing
// them on (it forks `node` rather than becoming it: seen 2026-12-07), which left this script building, starting or
// running the tracker on its own. So here the shell's end stops everything as a signal would. Only where npm runs this
// script itself (npm_lifecycle_script is its command line; npm_lifecycle_event alone is also that of every program that
// any npm script or npx runs, tests included): a script started otherwise may outlive its parent on purpose. (Windows
// keeps a process's parent id when the parent ends.)
//
// Node tells a process of its parent's end in no other way: process.ppid is only the parent's id now
// (nodejs.org/api/process.html, "process.ppid"), and the 'disconnect' of an IPC channel, or the end of stdin, needs a
// channel or a pipe that npm does not give a script (it runs them with stdio "inherit": @npmcli/run-script's
// run-script-pkg.js, npm 11.19.1). And a shell that ends while Node is still starting this script (0.08 s before any of
// it runs at a load average of 5, 2026-12-07) makes the process that adopts it its parent before `launcher` is read.
// The process group tells them apart: npm spawns the shell, and the shell this script, in npm's own group (neither is
// `detached`, which alone gives a child a group of its own: nodejs.org/api/child_process.html, options.detached), while
// the process that adopts an orphan (init, or a subreaper such as systemd --user) is in another.
if (/^node scripts[\\/]start\.mjs\b/.test(process.env.npm_lifecycle_script ?? "") && process.platform !== "win32") {
  const ownGroup = processGroupOf(process.pid);
  const launcherGroup = processGroupOf(launcher);
  const endedAtStart = launcherGroup === "ended" || (ownGroup !== null && launcherGroup !== null && launcherGroup !== ownGroup);
  const stopIfLauncherEnded = () => {
    if (endedAtStart || process.ppid !== launcher) void stopEverything();
  };
  stopIfLauncherEnded();
  setInterval(stopIfLauncherEnded, 200).unref();
}

if (!values["worker-only"]) {
  // One command line through the system shell: npm is npm.cmd on Windows, which Node spawns only through a shell (see
  // WRANGLER_BIN in tracker.mjs), and Node 24 deprecates an argument list beside a shell (DEP0190). Not spawnSync: that
  // blocks this script, its signal handlers and the watch above included, until the build ends (3 s on two idle cores,
  // 12 s at a load average of 9: 2026-12-07).
  const build = () =>
    spawn("npm run --silent build:extension", { cwd: ROOT, shell: true, stdio: ["ignore", "pipe", "pipe"], ...OWN_PROCESS_GROUP });
  try {
    await runUntilDone(build, "Building the extension", stopping.signal, endProcessTree);
  } catch (error) {
    // A stopped build leaves dist/ part-written, which the next build replaces whole (vite.config.ts: emptyOutDir).
    if (error instanceof StoppedError) process.exit(0);
    stop(error.message);
  }
}
ensureDevVars();
const logFile = path.join(".wrangler", "tracker.log");
mkdirSync(path.join(ROOT, ".wrangler"), { recursive: true });
const log = createWriteStream(path.join(ROOT, logFile));
try {
  tracker = await startTracker({ port, log: (text) => log.write(text), signal: stopping.signal });
} catch (error) {
  // Stopped while starting: startTracker has ended wrangler (or the signal ended the migrations' wrangler first).
  if (stopping.signal.aborted || error instanceof StoppedError) process.exit(0);
  if (error instanceof PortInUseError) {
    stop(
      `Port ${port} is already in use (another tracker, or another program). Stop it, or pick another port: npm start -- --port ${port + 1}`,
    );
  }
  stop(`The tracker did not start: ${error.message}. See ${logFile}.`);
}
const lines = [`Tracker: ${tracker.url} (log: ${logFile})`];
if (!values["worker-only"]) {
  lines.push(
    `Load the extension: ${path.join("dist", "chrome")} in chrome://extensions (Developer mode, Load unpacked),`,
    `  or ${path.join("dist", "firefox")} in about:debugging (This Firefox, Load Temporary Add-on).`,
    `Connect: in the extension's options, set Tracker address to ${tracker.url} and press Connect.`,
  );
}
lines.push("Ctrl+C stops it.");
console.log(lines.join("\n"));
