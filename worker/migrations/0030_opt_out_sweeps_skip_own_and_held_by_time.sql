-- An opt-out searches its own account's newest emails the address was deleted from at once (db/opt-outs.ts
-- OWN_SEARCH_HASHES), and its sweep (migration 0026) then searched them again among the tracker's. The request now
-- records the emails it searched (db/opt-outs.ts keepOnOwnEmails), as a JSON array of message ids, with the opt-out time
-- it searched for, once that search has ended and what it found is kept: one whose search failed records none. Only
-- when it read them in the batch that stored the opt-out, so that a contact deleted from one of them since was deleted
-- seeing the opt-out (db/contacts.ts keeps it on the email). The sweep skips them only while its row has that time: an
-- earlier opt-out of the address moves the time earlier and starts the sweep again (0026's triggers, which leave these
-- columns as they were), and the emails are then searched for the earlier time. NULL on every row stored before.
ALTER TABLE opt_out_sweeps ADD COLUMN own_searched TEXT;
ALTER TABLE opt_out_sweeps ADD COLUMN own_searched_at INTEGER;

-- The purge reads the addresses held longer than a day (pending_opt_outs created_at < ?, oldest first, 50 at most) and
-- the accounts of those due (db/opt-outs.ts HELD_DUE_SQL, HELD_DUE_ACCOUNTS_SQL): without an index both scanned every
-- held address, and the first sorted them too ("SCAN pending_opt_outs", "USE TEMP B-TREE FOR ORDER BY": EXPLAIN QUERY
-- PLAN, local D1, 2026-12-07). Every other read of the table is by its key (message_id, email).
CREATE INDEX pending_opt_outs_by_time ON pending_opt_outs (created_at);
