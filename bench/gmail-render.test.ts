// `npm run bench` loads the end-to-end tests' simulated Google and browser helpers in plain Node (gmail-render.mjs),
// which strips TypeScript's types but finds a module only by its whole name: an import without its `.ts` anywhere
// below them breaks the bench's render figures, and nothing else. Checked here, where every change is tested.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

it("the modules gmail-render.mjs imports load in plain Node", () => {
  for (const file of ["test/e2e/gmail-sim/google.ts", "test/e2e/chromium-flags.ts", "test/e2e/harness.ts"]) {
    const url = JSON.stringify(path.join(ROOT, file));
    const loaded = execFileSync(process.execPath, [
      "--experimental-strip-types",
      "--no-warnings",
      "--input-type=module",
      "-e",
      `await import(${url}); console.log("loaded")`,
    ]);
    expect(`${file}: ${loaded.toString().trim()}`).toBe(`${file}: loaded`);
  }
});
