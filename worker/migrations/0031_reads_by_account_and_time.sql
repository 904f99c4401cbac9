-- Indexes for reads of one account's rows in a range of time, which had none: with no statistics (this project runs
-- no ANALYZE), SQLite planned each as a read of the account's every row by an index of which it used account_id alone
-- (EXPLAIN QUERY PLAN, local D1, 2026-12-07; worker/test/statement-plans.ts checks every statement's plan):
-- - the popup's recent activity (db/activity.ts recentlyActive), signals `WHERE occurred_at >= ? AND account_id = ?`:
--   by signals_by_email, every reply, bounce and opt-out of the account at each popup opened.
-- - the message list (db/messages.ts messagePage), newest first by `coalesce(sent_at, 0) DESC, id DESC`: "SEARCH
--   messages USING INDEX messages_by_sent (account_id=?)" then a sort, every message of the account for each page.
-- What they cost in writes is on signals and messages, not events: a row per reply, bounce or opt-out stored, and per
-- message stored (two when its registration changes sent_at), each written once or a few times per email. The same
-- reads of events keep account_id off every index and read the window by events_by_time instead (db/activity.ts), so a
-- stored hit still writes 4 rows (docs/benchmarks.md, d1-rows-written-per-event).
CREATE INDEX signals_by_account_time ON signals (account_id, occurred_at);
CREATE INDEX messages_by_account_newest ON messages (account_id, coalesce(sent_at, 0) DESC, id DESC);
