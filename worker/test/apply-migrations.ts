import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// The real numbered migrations, applied to the test's own D1 before any test runs.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
