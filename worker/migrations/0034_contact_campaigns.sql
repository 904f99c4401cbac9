-- A campaign's people, apart: a campaign's page of the people list read a window of contact_scores, four rows per row
-- asked (db/contact-scores.ts ROWS_READ_PER_ROW_ASKED), because a row's campaigns are a JSON list no index holds: 84 or
-- 85 rows read for a page of 20 of a campaign nearly every contact has, and a campaign of few people among many gave
-- pages short or empty until one reached them (worker tests in workerd, 2026-12-07). Here each shown row of
-- contact_scores (shown_as IS NULL) has one row per campaign it lists, with its keys: a page in score order is a range
-- of the primary key, one by latest activity a range of contact_campaigns_by_activity, each read in proportion to the
-- page.
--
-- Kept in step by contact_scores' own writes, whichever statement makes them: the rescoring and a contact's page
-- storing a row (db/contact-scores.ts storeContacts), an email's deletion taking its campaign from its people's rows
-- (db/messages.ts), the retention purge resetting their keys (db/retention.ts), a contact's deletion, and a hidden
-- row shown again (migration 0028). A mark (dirty) writes nothing here: a hit writes no row of contact_scores, and a
-- registration only inserts a row with no campaign and marks it; the people list reads every marked row apart and
-- computes it (contactPage). Each trigger on one physical line: D1's remote /query cuts a migration at every `;` that
-- ends a line (migration 0010).
--
-- What this costs a write, in rows written over the same write without campaigns (meta.rows_written of single statements
-- on contact_scores, worker tests in workerd, 2026-12-07): an entry written is 2 (its row and its by_activity index's),
-- one deleted 1. So a new person's first rescoring writes 2 per campaign; a rescoring of a person with k campaigns
-- whose score or latest activity moved 3k, and the purge 3k per person it resets; an email's deletion, to each other
-- recipient whose campaigns change, 1 per campaign they had and 2 per campaign left.
CREATE TABLE contact_campaigns (
  account_id TEXT NOT NULL,
  campaign TEXT NOT NULL,
  score_key REAL NOT NULL,
  email TEXT NOT NULL,
  activity_key INTEGER NOT NULL,
  PRIMARY KEY (account_id, campaign, score_key DESC, email)
) WITHOUT ROWID;
CREATE INDEX contact_campaigns_by_activity ON contact_campaigns (account_id, campaign, activity_key DESC, email);

INSERT OR IGNORE INTO contact_campaigns (account_id, campaign, score_key, email, activity_key) SELECT s.account_id, j.value, s.score_key, s.email, s.activity_key FROM contact_scores s, json_each(s.campaigns) j WHERE s.shown_as IS NULL AND s.campaigns <> '[]';

CREATE TRIGGER contact_campaigns_stored AFTER INSERT ON contact_scores WHEN NEW.shown_as IS NULL AND NEW.campaigns <> '[]' BEGIN INSERT OR IGNORE INTO contact_campaigns (account_id, campaign, score_key, email, activity_key) SELECT NEW.account_id, value, NEW.score_key, NEW.email, NEW.activity_key FROM json_each(NEW.campaigns); END;
-- A row's entries are keyed by its score: any change of what they hold takes them all and writes them again.
CREATE TRIGGER contact_campaigns_changed AFTER UPDATE OF campaigns, score_key, activity_key, shown_as ON contact_scores WHEN OLD.campaigns IS NOT NEW.campaigns OR OLD.score_key IS NOT NEW.score_key OR OLD.activity_key IS NOT NEW.activity_key OR OLD.shown_as IS NOT NEW.shown_as BEGIN DELETE FROM contact_campaigns WHERE account_id = OLD.account_id AND campaign IN (SELECT value FROM json_each(OLD.campaigns)) AND score_key = OLD.score_key AND email = OLD.email; INSERT OR IGNORE INTO contact_campaigns (account_id, campaign, score_key, email, activity_key) SELECT NEW.account_id, value, NEW.score_key, NEW.email, NEW.activity_key FROM json_each(NEW.campaigns) WHERE NEW.shown_as IS NULL; END;
CREATE TRIGGER contact_campaigns_deleted AFTER DELETE ON contact_scores WHEN OLD.campaigns <> '[]' BEGIN DELETE FROM contact_campaigns WHERE account_id = OLD.account_id AND campaign IN (SELECT value FROM json_each(OLD.campaigns)) AND score_key = OLD.score_key AND email = OLD.email; END;
