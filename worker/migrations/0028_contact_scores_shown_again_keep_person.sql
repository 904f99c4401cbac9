-- A person's row deleted (db/messages.ts deleteMessageStatements: the last email to the spelling it is stored under)
-- showed the rows of the person's other spellings again holding what a hidden row holds (migration 0027,
-- db/contact-scores.ts HIDDEN_ROW_VALUES): no campaign, no score, no activity, until a listing rescored them. A listing
-- leaves marked rows for later requests when more are marked than one request rescores, and until then the person
-- was out of a campaign's listing and of a minScore's, and last by score and by activity.
--
-- The rows shown again now take at once the person's campaigns left (those of the emails not deleted to the spellings
-- of the rows the deleted one showed; deleting an email marks it deleted first) and the person's score and
-- latest-activity keys as the deleted row held them. Those two still count the emails that went with it, so they are
-- what the person had at most: a listing ranks the row where the person was and lets it past a minScore, computes it
-- from its emails (it stays marked), and shows it only if it still meets the filters. A marked row's name, sent count
-- and send time are never shown, so they stay empty until it is rescored, keeping no name from an email deleted.
--
-- Two statements, the values first: each finds the rows by their `shown_as`, which the second clears. A row that hides
-- none (every row in ASCII, nearly every row deleted) costs the two seeks of an empty range of contact_scores_hidden,
-- and as many rows read as the one statement before it (local D1, 2026-12-07).
-- The trigger is on one physical line: D1's remote /query cuts a migration at every `;` that ends a line (0010).
DROP TRIGGER contact_scores_shown_deleted;
CREATE TRIGGER contact_scores_shown_deleted AFTER DELETE ON contact_scores WHEN OLD.shown_as IS NULL BEGIN UPDATE contact_scores SET score_key = OLD.score_key, activity_key = OLD.activity_key, campaigns = (SELECT json_group_array(DISTINCT m.campaign) FILTER (WHERE m.campaign IS NOT NULL) FROM message_recipients r JOIN messages m ON m.id = r.message_id WHERE r.account_id = OLD.account_id AND m.deleted_at IS NULL AND r.email IN (SELECT h.email FROM contact_scores h WHERE h.account_id = OLD.account_id AND h.shown_as = OLD.email)) WHERE account_id = OLD.account_id AND shown_as = OLD.email; UPDATE contact_scores SET shown_as = NULL, dirty = dirty + 1 WHERE account_id = OLD.account_id AND shown_as = OLD.email; END;
