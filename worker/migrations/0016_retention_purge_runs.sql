-- When the retention purge last ran, whether from its hourly Cron Trigger or, on an account that has none left for it,
-- from the tracker's own traffic (db/retention.ts, purgeIfOverdue). One row: a run claims it by moving last_run_at, so
-- two invocations that find the purge overdue at once do not both run it. `unfinished` is 1 when the last run left
-- expired rows behind (it stopped at its cap, or failed), so the next comes sooner. `open_addresses_forgotten_before`
-- is the last run's sender-view cutoff, so a run after days without one clears the address hash of every open that
-- went past its 7 days meanwhile, not only of the last day's (forgetOpenAddresses).
-- Seeded as if a run had just happened: the purge from traffic waits its full interval after this migration.
CREATE TABLE retention_purge (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_run_at INTEGER NOT NULL,
  unfinished INTEGER NOT NULL DEFAULT 0,
  open_addresses_forgotten_before INTEGER NOT NULL
);
INSERT INTO retention_purge (id, last_run_at, open_addresses_forgotten_before)
VALUES (1, unixepoch('now') * 1000, unixepoch('now') * 1000 - 7 * 86400000);
-- A tracker deployed without its Cron Trigger never ran the purge, and kept the address hashes of opens past 7 days
-- since migration 0013 cleared them: cleared here once, as 0013 did.
UPDATE events SET ip_hash = NULL
WHERE kind = 'open' AND ip_hash IS NOT NULL AND occurred_at < unixepoch('now') * 1000 - 7 * 86400000;
