-- How many recipients each message was sent to, set at registration. Deleting a contact removes its
-- message_recipients rows but not this count, so the other recipients of a shared email keep their share of it and
-- never look like its only recipient (soft-bounce clearing, unnamed bounces, one-click opt-out).
ALTER TABLE messages ADD COLUMN recipient_count INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET recipient_count = (SELECT count(*) FROM message_recipients r WHERE r.message_id = messages.id);
