-- Relabelling after new hits reads only the events near them in time (db/events.ts relabelSpans), not every event
-- of the message: this index finds them by message and time.
CREATE INDEX events_by_message_time ON events (message_id, occurred_at);
