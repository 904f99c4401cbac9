-- Every stored contact marked to be scored again. From 2026-12-06 (commit 19bc8f7, one person whatever the spellings)
-- to this migration, scoring summed a person's rows from every statement of a rescoring that read them, so a person
-- asked in two of them (two spellings of one address, a `+tag` address of the same mailbox, an email stored before its
-- mailbox was keyed: a listing rescores up to 360 contacts, 90 a statement) was stored with sent and score doubled, or
-- stored hidden behind its own spelling and so left off the people list (worker/test/spellings.test.ts, "a person asked
-- in more than one of scoredContacts' statements"). Which rows were hit is not known, so all are marked: the listing
-- rescores the marked rows a share at a time and the dashboard asks again until none waits (db/contact-scores.ts
-- refreshContactScores), each marked row computed from its emails until then.
UPDATE contact_scores SET dirty = dirty + 1;
-- A row hidden behind itself shows nobody: shown again at once, with what it holds, until it is scored again.
UPDATE contact_scores SET shown_as = NULL WHERE shown_as = email;
