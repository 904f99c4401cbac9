import type { D1Migration } from "cloudflare:test";

// The bindings and the main module are declared by the generated worker/src/worker-configuration.d.ts; the tests
// add their migrations and a database for migration tests (worker/vitest.config.ts).
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      MIGRATION_TEST_DB: D1Database;
    }
  }
}
