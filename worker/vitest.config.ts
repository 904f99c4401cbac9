import { readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { cutAsD1Remote } from "../test/deploy/d1-remote-cut.ts";

// Each migration in the pieces D1's remote API runs it in, not as wrangler's parser splits it locally: a migration that
// works only whole (a trigger written over several lines) then fails every worker test, as it would fail
// `npm run deploy` on every account, instead of passing here and in `npm start`.
const migrationsDir = path.join(import.meta.dirname, "migrations");
const migrations = (await readD1Migrations(migrationsDir)).map(({ name }) => ({
  name,
  queries: cutAsD1Remote(readFileSync(path.join(migrationsDir, name), "utf8")),
}));

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: path.join(import.meta.dirname, "../wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          SIGNING_SECRET: "test-signing-secret-0123456789abcdef0123456789",
          FEED_SETTLE_SECONDS: "0",
        },
        // A database of its own for migration tests, which apply the migrations up to one and write rows as its
        // schema had them before applying the rest (opt-outs.test.ts). The tracker's DB comes from wrangler.toml.
        d1Databases: ["MIGRATION_TEST_DB"],
        // Deliver queued hits at once instead of after the deployed 2 s batching window.
        queueConsumers: { "mailtracker-hits": { maxBatchTimeout: 0 } },
      },
    }),
  ],
  test: {
    name: "worker",
    testTimeout: 20_000,
    include: ["test/**/*.test.ts"],
    // Tests of what runs in Node beside the worker tests (unrun-statements-reporter.ts): the unit project's.
    exclude: ["test/**/*.node.test.ts"],
    setupFiles: ["test/apply-migrations.ts", "test/statement-plans.ts"],
  },
});
