-- Per-account retention of events (days), enforced by the daily scheduled purge.
ALTER TABLE accounts ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90;
CREATE INDEX events_by_time ON events (occurred_at);
CREATE INDEX sender_views_by_time ON sender_views (viewed_at);
