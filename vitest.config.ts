import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // After a run of every worker test file: the calls of `.prepare(` in worker/src no worker test makes, whose
    // statements the plan check (worker/test/statement-plans.ts) never sees.
    reporters: ["default", "./worker/test/unrun-statements-reporter.ts"],
    projects: [
      "worker/vitest.config.ts",
      {
        test: {
          name: "unit",
          include: [
            "shared/**/*.test.ts",
            "extension/**/*.test.ts",
            "scripts/**/*.test.ts",
            "bench/**/*.test.ts",
            "worker/test/**/*.node.test.ts",
            "test/unit/**/*.test.ts",
          ],
          environment: "node",
          // vi.waitFor's 5 s there, with room for the rest of the test: a wait that fails says why before the test's
          // own timeout does.
          setupFiles: ["test/unit/wait-for-timeout.ts"],
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: "deploy",
          include: ["test/deploy/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "load",
          include: ["test/load/**/*.test.ts"],
          environment: "node",
          // Each file starts its own wrangler dev; two at once on two cores only slow each other down.
          fileParallelism: false,
        },
      },
    ],
  },
});
