-- The label an event was released with, on its correction (GET /api/events?correctionsAfter=, FeedCorrection.released):
-- an extension that no longer keeps the event (past its last 200 activity items) tells from it whether the event
-- counted in its day's totals, and corrects them. The first change after the release writes the label it replaces;
-- a later one (INSERT OR REPLACE, a new seq) keeps it. NULL in corrections written before this migration: the
-- extension then leaves such an event's totals, as before.
ALTER TABLE event_corrections ADD COLUMN released_label TEXT;

-- Migration 0022's trigger, its condition unchanged (worker/test/corrections.test.ts checks it against classify.ts),
-- now writing released_label: the one already on the event's correction, else the label replaced. One more seek of
-- event_corrections_by_event, only when a correction is written. On one physical line (migration 0010).
DROP TRIGGER events_label_corrected;
CREATE TRIGGER events_label_corrected AFTER UPDATE OF label ON events WHEN OLD.label IS NOT NEW.label AND CAST(unixepoch('subsec') * 1000 AS INTEGER) >= (SELECT CASE WHEN r.at IS NULL OR r.at > max(NEW.occurred_at + 300000, NEW.inserted_at) THEN max(NEW.occurred_at + 300000, NEW.inserted_at) ELSE max(NEW.occurred_at + 65000, NEW.inserted_at, r.at) + 2000 END FROM (SELECT (SELECT m.registered_at FROM messages m WHERE m.id = NEW.message_id) AS at) r) - 1000 BEGIN INSERT OR REPLACE INTO event_corrections (account_id, event_seq, released_label) VALUES (NEW.account_id, NEW.seq, CASE WHEN EXISTS (SELECT 1 FROM event_corrections WHERE event_seq = NEW.seq) THEN (SELECT released_label FROM event_corrections WHERE event_seq = NEW.seq) ELSE OLD.label END); END;
