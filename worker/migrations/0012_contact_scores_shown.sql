-- The people list and a contact's page show a contact's stored row (contact_scores, migration 0010), the decay applied
-- at read time (db/contact-scores.ts), so every change to what a row holds marks it for rescoring. The triggers of
-- 0010 mark recipients added or removed, replies and labels; the retention purge marks the contacts of the events it
-- deletes (db/retention.ts). These mark the rest.

-- Each trigger is on one physical line: D1's remote /query cuts a migration at every `;` that ends a line, so a body
-- spread over lines failed the first deploy with "incomplete input" (test/deploy/cloudflare-api.ts has the reports).
-- Rewrapped so on 2026-12-05, the statements unchanged: a database that applied the earlier layout has the same triggers.
-- An email's deletion (its sends and events stop counting), campaign, send time or recipient count (the share of a
-- reply from outside the email) change its recipients' rows. Registering an email again sets these columns each time:
-- only a real change marks.
CREATE TRIGGER contact_scores_message_changed AFTER UPDATE OF deleted_at, campaign, sent_at, recipient_count ON messages WHEN OLD.deleted_at IS NOT NEW.deleted_at OR OLD.campaign IS NOT NEW.campaign OR OLD.sent_at IS NOT NEW.sent_at OR OLD.recipient_count IS NOT NEW.recipient_count BEGIN UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = NEW.account_id AND email IN (SELECT email FROM message_recipients WHERE message_id = NEW.id); END;

-- A recipient's address or name changed in place (the worker replaces rows, which 0010's triggers mark; this keeps a
-- row right whatever writes it).
CREATE TRIGGER contact_scores_recipient_changed AFTER UPDATE OF email, name ON message_recipients BEGIN INSERT OR IGNORE INTO contact_scores (account_id, email) VALUES (NEW.account_id, NEW.email); UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = NEW.account_id AND email IN (OLD.email, NEW.email); END;
