-- A reply recorded or deleted marks the people-list rows of its sender and of its email's recipients (migration 0010).
-- Written `email = NEW.email OR email IN (…)`, the mark read every row of the account's people list: SQLite planned
-- it as "SEARCH contact_scores USING COVERING INDEX sqlite_autoindex_contact_scores_1 (account_id=?)" (EXPLAIN QUERY
-- PLAN, local D1, 2026-12-07). In an account of 300 emails, each with a reply, recording a reply read 909 rows and
-- deleting an email 910 for its reply. One list of the addresses, the sender's first, is a seek per address,
-- "(account_id=? AND email=?)": 11 and 14 rows, whatever the account's size (worker/test/signals.test.ts,
-- api.test.ts). The rows marked are the same; a reply naming no sender has '', which is no row's address.
-- Each trigger is on one physical line: D1's remote /query cuts a migration at every `;` that ends a line (0010).
DROP TRIGGER contact_scores_reply_added;
CREATE TRIGGER contact_scores_reply_added AFTER INSERT ON signals WHEN NEW.kind = 'reply' BEGIN UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = NEW.account_id AND email IN (SELECT NEW.email UNION ALL SELECT email FROM message_recipients WHERE message_id = NEW.message_id); END;

DROP TRIGGER contact_scores_reply_removed;
CREATE TRIGGER contact_scores_reply_removed AFTER DELETE ON signals WHEN OLD.kind = 'reply' BEGIN UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = OLD.account_id AND email IN (SELECT OLD.email UNION ALL SELECT email FROM message_recipients WHERE message_id = OLD.message_id); END;
