// The load generator: wrk (https://github.com/wg/wrk), driven by bench/wrk-rotate.lua so that each request is the
// next of many valid hits. Every run is bounded by wrk's own duration and a hard kill a little after it.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "./servers.mjs";

const LUA = path.join(ROOT, "bench", "wrk-rotate.lua");

/** Finds wrk; installs it with apt-get when running as root on Debian/Ubuntu, else says how to. */
export function ensureWrk(log) {
  if (hasWrk()) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).status === 0;
  if (root && apt) {
    log("wrk is not installed; installing it with apt-get (Debian package `wrk`)…");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env, timeout: 300_000 });
    spawnSync("apt-get", ["install", "-y", "-qq", "wrk"], { stdio: "inherit", env, timeout: 300_000 });
    if (hasWrk()) return;
  }
  throw new Error(
    "npm run bench needs the wrk load generator (https://github.com/wg/wrk). Install it with\n" +
      "  sudo apt-get install wrk      (Debian, Ubuntu)\n" +
      "  brew install wrk              (macOS)\n" +
      "  sudo dnf install wrk          (Fedora)\n" +
      "or build it from source, then run `npm run bench` again.",
  );
}

function hasWrk() {
  return spawnSync("wrk", ["--version"], { encoding: "utf8" }).error === undefined;
}

export function wrkVersion() {
  const result = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  return (
    `${result.stdout}${result.stderr}`
      .split("\n")[0]
      ?.replace(/\s*Copyright.*$/, "")
      .trim() ?? "unknown"
  );
}

/**
 * One wrk run against `url`, rotating over the paths in `pathsFile`. Resolves to
 * {sent, completed, ok, rps, p50Ms, p99Ms, errors}: `ok` is the answered requests with a 2xx/3xx status.
 */
export function runWrk({ url, pathsFile, seconds, connections, threads = 1, userAgent, cpus }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "--latency", "-s", LUA, url, "--", pathsFile];
  if (userAgent) args.push(userAgent);
  // On the given CPUs (taskset), when the caller keeps the measured server on others.
  const [command, argv] = cpus ? ["taskset", ["-c", cpus, "wrk", ...args]] : ["wrk", args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), (seconds + 20) * 1000);
    child.on("error", (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(killer);
      const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (exit ${code}):\n${out}`));
      const r = JSON.parse(line.slice("BENCH_JSON ".length));
      const socketErrors = r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
      resolve({
        sent: r.sent,
        completed: r.completed,
        ok: r.completed - r.errors.status,
        statusErrors: r.errors.status,
        socketErrors,
        rps: (r.completed - r.errors.status) / (r.duration_us / 1e6),
        p50Ms: r.p50_us / 1000,
        p90Ms: r.p90_us / 1000,
        p99Ms: r.p99_us / 1000,
        maxMs: r.max_us / 1000,
        raw: out,
      });
    });
  });
}
