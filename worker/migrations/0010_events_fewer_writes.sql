-- Every stored hit wrote 7 rows (D1 bills rows written): the table row, the AUTOINCREMENT sequence row, and an entry
-- in each of five indexes. This rebuild keeps 4: the row and three indexes, each used by queries that need it
-- (docs/benchmarks.md, "Indexes on events", shows them with their query plans).
--  - No AUTOINCREMENT: seq is the rowid, max(seq) + 1. So that a seq is never handed out twice (feed cursors are
--    seqs), deleting the highest events records it in event_seq_floor (trigger below) and inserts start above it.
--  - The unique event_id (idempotent queue redelivery) moves into events_by_time as (occurred_at, event_id): a
--    redelivered hit has the same id and time, and the retention purge still reads occurred_at ranges from it.
--  - events_by_message_time (message_id, occurred_at) goes: relabelling reads the same ranges through
--    events_by_message (message_id, kind, label, occurred_at), one seek per kind and label.
CREATE TABLE events_rebuilt (
  seq INTEGER PRIMARY KEY,             -- rowid; never reused (event_seq_floor)
  event_id TEXT NOT NULL,              -- minted when the hit arrives; unique with occurred_at (events_by_time)
  account_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('open', 'click')),
  link_index INTEGER,
  occurred_at INTEGER NOT NULL,        -- when the request reached the tracker
  inserted_at INTEGER NOT NULL,        -- when the row was written (monotonic with seq)
  request_label TEXT NOT NULL,         -- what the request alone says (user agent, method, network)
  label TEXT NOT NULL,                 -- request_label refined with the message's context (send time, sender views, bursts)
  country TEXT,
  region TEXT,
  city TEXT,
  client TEXT,
  device TEXT,
  ip_hash TEXT                         -- keyed hash, for unique clicks only; the raw address is never stored
);
INSERT INTO events_rebuilt (seq, event_id, account_id, message_id, kind, link_index, occurred_at, inserted_at,
    request_label, label, country, region, city, client, device, ip_hash)
  SELECT seq, event_id, account_id, message_id, kind, link_index, occurred_at, inserted_at,
    request_label, label, country, region, city, client, device, ip_hash FROM events;

-- The highest seq ever handed out. AUTOINCREMENT kept it in sqlite_sequence; it may be above every stored event.
CREATE TABLE event_seq_floor (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  seq INTEGER NOT NULL
);
INSERT INTO event_seq_floor (only, seq)
  SELECT 1, max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), coalesce((SELECT max(seq) FROM events), 0));

DROP TABLE events;
ALTER TABLE events_rebuilt RENAME TO events;
CREATE INDEX events_by_message ON events (message_id, kind, label, occurred_at);
CREATE INDEX events_by_account ON events (account_id, seq);
CREATE UNIQUE INDEX events_by_time ON events (occurred_at, event_id);

-- Deleting the highest event (a deleted message, an opt-out, a purge of everything) raises the floor to it, so the
-- next insert does not take its seq: a feed cursor past it would skip the new event. Other deletes write nothing.
CREATE TRIGGER events_keep_seq_floor AFTER DELETE ON events
  WHEN OLD.seq > coalesce((SELECT max(seq) FROM events), 0)
BEGIN
  UPDATE event_seq_floor SET seq = max(seq, OLD.seq);
END;
