-- An opt-out searches its account's newest emails that lost a recipient (db/opt-outs.ts ownRemovedEmailsSql), and
-- removed_recipients has no account: the read went through every email of the account by messages_by_sent, each looked
-- up in removed_recipients, and numbered them all before keeping the newest 100 ("SEARCH m USING INDEX messages_by_sent
-- (account_id=?)", EXPLAIN QUERY PLAN, local D1, 2026-12-07). Each email that lost a recipient is now marked on its row
-- (lost_recipients = 1, else NULL), and a partial index holds the marked ones alone by account and sending time: the
-- read seeks the account's newest and stops at its LIMIT. What it costs in writes: an index entry per email that lost a
-- recipient, written when it does and when its sending time changes, none for the others.
ALTER TABLE messages ADD COLUMN lost_recipients INTEGER;
UPDATE messages SET lost_recipients = 1 WHERE id IN (SELECT message_id FROM removed_recipients);
CREATE INDEX messages_that_lost_recipients_by_sent ON messages (account_id, sent_at) WHERE lost_recipients = 1;
-- Kept by removed_recipients' writes, whichever statement makes them: a contact's deletion adds fingerprints
-- (db/contacts.ts), an email's deletion removes its own (db/messages.ts deleteMessageStatements). An email's row is
-- written before any of its fingerprints and never deleted. Each on one physical line: D1's remote /query cuts a
-- migration at every `;` that ends a line (migration 0010).
CREATE TRIGGER messages_lost_recipient AFTER INSERT ON removed_recipients BEGIN UPDATE messages SET lost_recipients = 1 WHERE id = NEW.message_id AND lost_recipients IS NULL; END;
CREATE TRIGGER messages_lost_recipients_gone AFTER DELETE ON removed_recipients WHEN NOT EXISTS (SELECT 1 FROM removed_recipients WHERE message_id = OLD.message_id) BEGIN UPDATE messages SET lost_recipients = NULL WHERE id = OLD.message_id; END;
