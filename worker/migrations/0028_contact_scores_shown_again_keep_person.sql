-- A person's row deleted (db/messages.ts deleteMessageStatements: the last email to the spelling it is stored under)
-- showed the rows of the person's other spellings again holding what a hidden row holds (migration 0027,
-- db/contact-scores.ts HIDDEN_ROW_VALUES): no score, no activity, until a listing rescored them. A listing leaves
-- marked rows for later requests when more are marked than one request rescores, and until then the person was out of
-- a minScore's listing, and last by score and by activity.
--
-- The rows shown again now take the person's score and latest-activity keys as the deleted row held them. Those still
-- count the emails that went with it, so they are what the person had at most: a listing ranks the row where the
-- person was and lets it past a minScore, computes it from its emails (it stays marked), and shows it only if it still
-- meets the filters. Its campaigns stay the hidden row's none: a marked row is always computed from its emails (in
-- db/contact-scores.ts, contactPage's `dirty > 0`; contactAt shows stored rows only when none is marked), a campaign's
-- listing lets it through whatever it stored, and no other reader shows stored campaigns (the CSV export computes
-- its contacts from their emails). Its name, sent count and send time stay empty too until it is rescored, keeping no
-- name from an email deleted.
--
-- One statement, as before: a row that hides none (every row in ASCII, nearly every row deleted) costs the seek of an
-- empty range of contact_scores_hidden.
-- The trigger is on one physical line: D1's remote /query cuts a migration at every `;` that ends a line (0010).
DROP TRIGGER contact_scores_shown_deleted;
CREATE TRIGGER contact_scores_shown_deleted AFTER DELETE ON contact_scores WHEN OLD.shown_as IS NULL BEGIN UPDATE contact_scores SET score_key = OLD.score_key, activity_key = OLD.activity_key, shown_as = NULL, dirty = dirty + 1 WHERE account_id = OLD.account_id AND shown_as = OLD.email; END;
