// `npm start [-- --port N]`: builds the extension and runs the tracker on http://127.0.0.1:8787 (or port N) with local
// D1, KV and Queues. Prints only where the tracker is, what to load and how to connect; wrangler's own output goes to
// .wrangler/tracker.log. `--worker-only` skips the extension build.
import "./require-node.mjs";
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureDevVars, PortInUseError, ROOT, StoppedError, startTracker } from "./tracker.mjs";

/**
 * The process that started this script, read first: it may end (see below) while the extension is built. One that ends
 * before Node has read it (while Node starts) is missed: this script's parent is then already its new one.
 */
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

if (!values["worker-only"]) {
  // One command line through the system shell: npm is npm.cmd on Windows, which Node spawns only through a shell (see
  // WRANGLER_BIN in tracker.mjs), and Node 24 deprecates an argument list beside a shell (DEP0190).
  const build = spawnSync("npm run --silent build:extension", { cwd: ROOT, encoding: "utf8", shell: true });
  if (build.status !== 0) stop(`Building the extension failed:\n${build.stdout}\n${build.stderr}`);
}
ensureDevVars();
const logFile = path.join(".wrangler", "tracker.log");
mkdirSync(path.join(ROOT, ".wrangler"), { recursive: true });
const log = createWriteStream(path.join(ROOT, logFile));
// Ctrl+C (SIGINT), a kill (SIGTERM) and a closed terminal (SIGHUP) end the tracker with this script, from before it is
// started: wrangler runs in a process group of its own (tracker.mjs), which none of them reaches, and Node's default for
// them ends this script alone, which left wrangler and workerd running, holding the port.
const stopping = new AbortController();
let tracker;
async function stopEverything() {
  if (stopping.signal.aborted) return;
  stopping.abort();
  // Still starting: startTracker ends wrangler, then rejects, and the catch below exits.
  if (!tracker) return;
  await tracker.stop();
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, stopEverything);
// Run by npm (npm start, npm run dev:worker), this script's parent is the shell npm runs scripts in, and a SIGINT or
// SIGTERM sent to npm alone (`kill <npm's pid>`, anything that stops a program by its pid; a terminal's Ctrl+C goes to
// every process of its group, this one too) reaches only that shell: npm passes them to its child (@npmcli/run-script's
// signal-manager.js, npm 11.19.1, read 2026-12-07), and dash, Debian's and Ubuntu's sh, ends on them without passing
// them on (it forks `node` rather than becoming it: seen 2026-12-07), which left this script starting or running the
// tracker on its own. So here the shell's end stops everything as a signal would. Only where npm runs it: a script
// started directly may outlive its parent on purpose. (Windows keeps a process's parent id when the parent ends.)
if (process.env.npm_lifecycle_event !== undefined) {
  const stopIfLauncherEnded = () => {
    if (process.ppid !== launcher) void stopEverything();
  };
  stopIfLauncherEnded();
  setInterval(stopIfLauncherEnded, 200).unref();
}
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
