// `npm run bench`: the benchmarks of docs/benchmarks.md. Not part of the tests.
// Prints one line per figure, `name: value unit (ratio to baseline)`, on stdout; progress goes to stderr.
//   npm run bench                     every figure (about 6 minutes)
//   npm run bench -- --quick          fewer and shorter rounds, for trying changes to the benchmark itself
//   npm run bench -- --only=hits,db   some sections: hits, cpu, db, extension
//   npm run bench -- --record         also writes the output and the machine into docs/benchmarks.md
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchCpu } from "./cpu.mjs";
import { benchDatabase } from "./database.mjs";
import { benchExtension } from "./extension.mjs";
import { benchHits } from "./hits.mjs";
import { ensureWrk, wrkVersion } from "./load.mjs";
import { ROOT, stopAllServers } from "./servers.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const record = args.includes("--record");
const only = args
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const SECTIONS = ["hits", "cpu", "db", "extension"];
for (const name of only ?? []) {
  if (!SECTIONS.includes(name)) {
    console.error(`unknown section ${name}; the sections are ${SECTIONS.join(", ")}`);
    process.exit(2);
  }
}
const runs = (section) => !only || only.includes(section);

const lines = [];
let failed = false;
const report = (name, text) => {
  const line = `${name}: ${text}`;
  lines.push(line);
  console.log(line);
};
const fail = (line) => {
  failed = true;
  lines.push(line);
  console.log(line);
};
const log = (text) => console.error(`  … ${text}`);

function machine() {
  const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  const version = (name) => JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  const memory = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
  return [
    `${os.cpus().length} cores (${cpu}), ${memory}, ${os.type()} ${os.release()} ${os.arch()}`,
    `load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
    `node ${process.version}, wrangler ${version("wrangler")}, workerd ${version("workerd")}, ${wrkVersion()}`,
  ];
}

// Interrupted (Ctrl-C, a timeout): stop the servers first, or their workerds outlive the run.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    console.error(`  … ${signal}: stopping the servers`);
    stopAllServers().finally(() => process.exit(130));
  });
}

const started = Date.now();
const machineAtStart = record ? machine() : [];
const sectionsRun = [];
try {
  if (runs("hits")) {
    ensureWrk(log);
    sectionsRun.push("hits");
    await benchHits({ report, log, fail, seconds: 2, rounds: quick ? 1 : 8, connections: 8 });
  }
  if (runs("cpu")) {
    sectionsRun.push("cpu");
    await benchCpu({ report, log, fail, rounds: quick ? 50 : 200 });
  }
  if (runs("db")) {
    sectionsRun.push("db");
    await benchDatabase({ report, log, fail, rounds: quick ? 30 : 200 });
  }
  if (runs("extension")) {
    sectionsRun.push("extension");
    await benchExtension({ report, log, fail, rounds: quick ? 50 : 300 });
  }
} catch (error) {
  fail(`bench: FAILED, ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
const seconds = Math.round((Date.now() - started) / 1000);
console.error(`  … done in ${seconds} s`);

if (record) {
  const file = path.join(ROOT, "docs", "benchmarks.md");
  const text = readFileSync(file, "utf8");
  const begin = "<!-- bench:last-run -->";
  const end = "<!-- /bench:last-run -->";
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from === -1 || to === -1) throw new Error(`docs/benchmarks.md has no ${begin} … ${end} section`);
  const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const block = [
    begin,
    `Run on ${when} (${sectionsRun.join(", ")}; ${seconds} s${quick ? "; --quick" : ""}) on:`,
    "",
    ...machineAtStart.map((line) => `- ${line}`),
    "",
    "```",
    ...lines,
    "```",
    end,
  ].join("\n");
  writeFileSync(file, text.slice(0, from) + block + text.slice(to + end.length));
  console.error("  … recorded in docs/benchmarks.md");
}
process.exit(failed ? 1 : 0);
