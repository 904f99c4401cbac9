-- Indexes for reads of one account's rows in a range of time, which had none: with no statistics (this project runs
-- no ANALYZE), SQLite planned each as a read of the account's every row by an index of which it used account_id alone
-- (EXPLAIN QUERY PLAN, local D1, 2026-12-07; worker/test/statement-plans.ts checks every statement's plan):
-- - the popup's recent activity (db/activity.ts recentlyActive) and the dashboard's chart (quarterHourCounts), events
--   and signals `WHERE occurred_at >= ? AND account_id = ?`: "SEARCH events USING INDEX events_by_account
--   (account_id=?)", and signals by signals_by_email, every event and reply of the account at each popup opened;
-- - the message list (db/messages.ts messagePage), newest first by `coalesce(sent_at, 0) DESC, id DESC`: "SEARCH
--   messages USING INDEX messages_by_sent (account_id=?)" then a sort, every message of the account for each page.
-- Each index costs a row written per event, reply or message stored.
CREATE INDEX events_by_account_time ON events (account_id, occurred_at);
CREATE INDEX signals_by_account_time ON signals (account_id, occurred_at);
CREATE INDEX messages_by_account_newest ON messages (account_id, coalesce(sent_at, 0) DESC, id DESC);
