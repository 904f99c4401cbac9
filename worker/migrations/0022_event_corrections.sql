-- Corrections to the events feed (GET /api/events, `correctionsAfter`; docs/protocol.md, "Corrections"). The feed
-- releases an event once no later write can change its label under the rules, but a hit can be written long after
-- it happened (a queue batch retried, delivered out of order, a consumer running late), and relabelling then changes
-- an event the extension already counted and notified: an open it took for a reader's turns out a scanner's. A
-- correction names such an event once, in the order written, behind its own cursor; the feed gives the event as it
-- is when read, so the last correction of an event always carries its current label.
--  - seq is AUTOINCREMENT, so never handed out twice even when the highest correction goes with its event (the
--    events' floor, migration 0010, does the same for them without the sequence row; corrections are rare, and the
--    sequence row is written only with one).
--  - One row per event (event_corrections_by_event is unique): a second change replaces the first with a later seq,
--    the extension reads the event's current label from it either way.
CREATE TABLE event_corrections (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the corrections' feed cursor
  account_id TEXT NOT NULL,
  event_seq INTEGER NOT NULL              -- the event whose label changed after the feed may have released it
);
CREATE INDEX event_corrections_by_account ON event_corrections (account_id, seq);
CREATE UNIQUE INDEX event_corrections_by_event ON event_corrections (event_seq);

-- A label changed once the feed may have released its event (classify.ts, releasedFrom, the feed's own rule in
-- db/events.ts eventsAfter): at occurred_at + UNREGISTERED_HOLD_MS (5 min) or its write, whichever is later, when its
-- message was not registered by then; else at its label's final time, the latest of occurred_at +
-- LABEL_FINAL_AFTER_MS (65 s), its write and the registration, + RELABEL_MARGIN_MS (2 s). Less
-- RELEASE_CLOCK_MARGIN_MS (1 s): the feed judges by the Worker's clock, this by D1's. A change before then writes
-- nothing: the feed still holds the event and gives it with its new label (so does the relabel that follows a write,
-- within RELABEL_MARGIN_MS of it). In a trigger, so that the statement that
-- changes a label writes its correction, whichever relabelling runs it (also the worker still running the code
-- before this one until the deploy that follows), and a stored hit's insert writes no more rows than before.
-- worker/test/corrections.test.ts checks these numbers against classify.ts's. On one physical line: D1's remote
-- /query cuts a migration at every `;` that ends a line (migration 0010).
CREATE TRIGGER events_label_corrected AFTER UPDATE OF label ON events WHEN OLD.label IS NOT NEW.label AND CAST(unixepoch('subsec') * 1000 AS INTEGER) >= (SELECT CASE WHEN r.at IS NULL OR r.at > max(NEW.occurred_at + 300000, NEW.inserted_at) THEN max(NEW.occurred_at + 300000, NEW.inserted_at) ELSE max(NEW.occurred_at + 65000, NEW.inserted_at, r.at) + 2000 END FROM (SELECT (SELECT m.registered_at FROM messages m WHERE m.id = NEW.message_id) AS at) r) - 1000 BEGIN INSERT OR REPLACE INTO event_corrections (account_id, event_seq) VALUES (NEW.account_id, NEW.seq); END;

-- A correction goes with its event, whatever deletes it (the retention purge, an email's or a contact's deletion, an
-- opt-out, tracking turned off): one seek of event_corrections_by_event per deleted event, a row written only when
-- it had a correction. On one physical line, as above.
CREATE TRIGGER events_deleted_take_corrections AFTER DELETE ON events BEGIN DELETE FROM event_corrections WHERE event_seq = OLD.seq; END;
