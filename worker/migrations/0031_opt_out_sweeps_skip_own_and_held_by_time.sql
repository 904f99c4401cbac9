-- The purge reads the addresses held longer than a day (pending_opt_outs created_at < ?, oldest first, 50 at most) and
-- the accounts of those due (db/opt-outs.ts HELD_DUE_SQL, HELD_DUE_ACCOUNTS_SQL): without an index both scanned every
-- held address, and the first sorted them too ("SCAN pending_opt_outs", "USE TEMP B-TREE FOR ORDER BY": EXPLAIN QUERY
-- PLAN, local D1, 2026-12-07). Every other read of the table is by its key (message_id, email).
CREATE INDEX pending_opt_outs_by_time ON pending_opt_outs (created_at);
