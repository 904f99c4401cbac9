// How D1's remote `/query` runs a migration that wrangler sends it whole, as one string [wrangler 4.155.0:
// buildMigrationQuery; observed: cloudflare/workers-sdk issue 15178, 2026-08-13, "migrations apply sends combined SQL
// to /query"]: cut into statements at each `;` that ends a line, each run apart, all in one transaction ("D1 runs your
// SQL in a transaction for you": wrangler's trimSqlQuery). So a trigger whose body spans lines reaches SQLite cut after
// its first inner statement and fails with "incomplete input" [observed, the cut's exact rule assumed: multi-line
// CREATE TRIGGER bodies fail through /query with "incomplete input: SQLITE_ERROR [code: 7500]" while one physical line
// works, nuxt-hub/core issue 372, 2024-11-07; botiverse/hands PR 327, 2026-07-21, "known remote parser issue";
// cloudflare/workers-sdk issue 15178, 2026-08-13; alchemy-run/alchemy issue 1673, 2026-09-17; read 2026-12-05].
//
// One rule for both places that apply migrations here: the model of Cloudflare's API (cloudflare-api.ts) and the
// worker tests (worker/vitest.config.ts), so a migration that only works whole fails every worker test, not only the
// deploy test and not the first `npm run deploy` on a real account.

/** `sql`'s pieces as D1's remote API runs them, leaving out pieces of nothing but comments and blank lines. */
export function cutAsD1Remote(sql: string): string[] {
  return sql.split(/;\s*(?:\n|$)/).filter((part) => part.trim() && !/^\s*(--[^\n]*\s*)+$/.test(part));
}
