-- An email that was answered stays answered. Its reply signals go with the account's retention (as short as a day)
-- and with the replier's deletion as a contact, and the follow-up list and the reminders read "no reply signal" as
-- "nobody replied": an email answered on its second day was listed for a follow-up again once the purge took the
-- reply. The time of its latest reply is kept on the email itself, as an opt-out's is (migration 0008), with no
-- address: the status's replyCount and lastReplyAt, the follow-up list and the campaigns' replied counts read it.
ALTER TABLE messages ADD COLUMN last_reply_at INTEGER;

-- Every reply recorded sets it, whichever code records it: also the worker still running the code before this one,
-- between this migration and the deploy that follows it (scripts/deploy.mjs applies migrations first), which knows
-- nothing of the column. The latest reply's time, whatever the order replies are found in (the extension reports a
-- conversation's older replies when it is opened). Not on a deleted email, whose tombstone keeps none
-- (db/messages.ts, deleteMessageStatements). On one physical line: D1's remote /query cuts a migration at every `;`
-- that ends a line (migration 0010).
CREATE TRIGGER messages_last_reply AFTER INSERT ON signals WHEN NEW.kind = 'reply' BEGIN UPDATE messages SET last_reply_at = max(coalesce(last_reply_at, NEW.occurred_at), NEW.occurred_at) WHERE id = NEW.message_id AND account_id = NEW.account_id AND deleted_at IS NULL; END;

-- The replies recorded before it, those the purge has not taken yet.
UPDATE messages SET last_reply_at = (SELECT max(s.occurred_at) FROM signals s WHERE s.message_id = messages.id AND s.kind = 'reply')
  WHERE deleted_at IS NULL AND EXISTS (SELECT 1 FROM signals s WHERE s.message_id = messages.id AND s.kind = 'reply');

-- A deleted email's tombstone keeps neither its reply's time nor its campaign (db/messages.ts, deleteMessageStatements,
-- which clears both). The worker still running the code before this one, between this migration and the deploy that
-- follows it, deletes emails without clearing them: this clears them as it does. The new code's deletion leaves
-- neither, so this never fires for it. On one physical line, as above.
CREATE TRIGGER messages_deleted_keep_no_reply_nor_campaign AFTER UPDATE OF deleted_at ON messages WHEN NEW.deleted_at IS NOT NULL AND (NEW.last_reply_at IS NOT NULL OR NEW.campaign IS NOT NULL) BEGIN UPDATE messages SET last_reply_at = NULL, campaign = NULL WHERE id = NEW.id; END;
