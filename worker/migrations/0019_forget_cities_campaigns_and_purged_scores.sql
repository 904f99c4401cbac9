-- A reader's place is kept as a country and a region only: a city, beside an open's time and the email it opened, can
-- name the person (one recipient in a small town), where a country or a region names many. The worker no longer reads
-- a request's city nor stores a queued one (worker/src/hits.ts). The column stays, always empty: dropping it would
-- rebuild the events table and its indexes (as 0010 did) for no gain. One pass over the table: 1.2 s for 2,000,000
-- events, every one with a city, in SQLite 3.51.3 (Node 22's node:sqlite) on the bench's machine, 2026-12-06.
UPDATE events SET city = NULL WHERE city IS NOT NULL;

-- Between this migration and the deploy that follows it (scripts/deploy.mjs applies migrations first), the worker
-- still running the code before stores each hit's city: it is cleared as it is written. The new code writes none, so
-- this never fires for it and costs its inserts no row written. On one physical line: D1's remote /query cuts a
-- migration at every `;` that ends a line (migration 0010).
CREATE TRIGGER events_keep_no_city AFTER INSERT ON events WHEN NEW.city IS NOT NULL BEGIN UPDATE events SET city = NULL WHERE seq = NEW.seq; END;

-- A deleted email's tombstone kept its campaign, text the rep typed; deleting an email now clears it
-- (db/messages.ts, deleteMessageStatements), and with it the name from the people list's stored rows of its other
-- recipients, where no other email of theirs has it. These clear what deletions left before.
UPDATE messages SET campaign = NULL WHERE deleted_at IS NOT NULL AND campaign IS NOT NULL;
UPDATE contact_scores SET campaigns = (SELECT json_group_array(DISTINCT m.campaign) FILTER (WHERE m.campaign IS NOT NULL) FROM message_recipients r JOIN messages m ON m.id = r.message_id WHERE r.account_id = contact_scores.account_id AND r.email = contact_scores.email AND m.deleted_at IS NULL) WHERE dirty > 0 AND campaigns <> '[]';

-- The retention purge marked the people list's stored rows of the contacts whose activity it deleted, and a row kept
-- the score and the latest-activity time it derived from that activity until a listing rescored it. The purge now
-- clears them as it deletes (db/contact-scores.ts, forgetPurgedActivitySql); this does the same for the rows still
-- marked, whatever marked them: each is rescored before it is listed, and a time past the account's retention goes.
UPDATE contact_scores SET score_key = -1e300, activity_key = CASE WHEN activity_key < CAST(strftime('%s', 'now') AS INTEGER) * 1000 - (SELECT a.retention_days FROM accounts a WHERE a.id = contact_scores.account_id) * 86400000 THEN -1 ELSE activity_key END WHERE dirty > 0;
