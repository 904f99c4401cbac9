import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import { forgetKeyedMailboxes } from "../src/db/mailboxes";
import { forgetOverdueCheck } from "../src/db/retention";

// The real numbered migrations, applied to the test's own D1 before any test runs.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// Each test starts as a new isolate would, not knowing when the purge last ran: a scheduled purge that one test runs at
// a clock months ahead would otherwise keep the next test's purge from traffic from ever being claimed.
// So with the mailbox keys: a test that stores a row as the worker before migration 0023 did needs it keyed again.
beforeEach(() => {
  forgetOverdueCheck();
  forgetKeyedMailboxes();
});
