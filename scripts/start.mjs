// `npm start`: runs the tracker on http://127.0.0.1:8787 with local state and builds the extension.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureDevVars, ROOT, startTracker } from "./tracker.mjs";

const workerOnly = process.argv.includes("--worker-only");

if (!workerOnly) {
  const build = spawnSync("npm", ["run", "build:extension"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
ensureDevVars();
const tracker = await startTracker({ log: (text) => process.stdout.write(text) });
console.log(`
The tracker is running at ${tracker.url} (local D1/KV/Queues in ${path.join(".wrangler", "state")}).
${
  workerOnly
    ? ""
    : `The extension is built: load ${path.join("dist", "chrome")} (chrome://extensions, Developer mode, Load unpacked)
or ${path.join("dist", "firefox")} (about:debugging, This Firefox, Load Temporary Add-on), then connect it in its options.
`
}Press Ctrl+C to stop.`);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await tracker.stop();
    process.exit(0);
  });
}
