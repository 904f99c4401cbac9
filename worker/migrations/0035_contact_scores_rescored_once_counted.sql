-- Every stored contact of an account with a recipient outside ASCII marked to be scored again. From 2026-12-06 (commit
-- 19bc8f7, one person whatever the spellings) to this migration, scoring summed a person's rows from every statement of
-- a rescoring that read them, so a person asked in two of them (two spellings of one address, a `+tag` address of the
-- same mailbox, an email stored before its mailbox was keyed: a listing rescores up to 360 contacts, 90 a statement) was
-- stored with sent and score doubled, or stored hidden behind its own spelling and so left off the people list
-- (worker/test/spellings.test.ts, "a person asked in more than one of scoredContacts' statements"). Which rows were hit
-- is not known, so all of such an account are marked: the listing rescores the marked rows a share at a time and the
-- dashboard asks again until none waits (db/contact-scores.ts refreshContactScores: 56 requests for 20,000 contacts),
-- each marked row computed from its emails until then. An account all in ASCII, nearly every one, was not hit and is
-- spared that: each statement read only the addresses it asked by name, every one its own folded form, asked in one
-- statement alone (db/contacts.ts scoredContactsSql reads other spellings only when the account wrote a recipient
-- outside ASCII, by migration 0024's partial index, as this does). A spelling whose emails are all gone since is no
-- recipient here, but its row is marked by the removal (contact_scores_recipient_removed), and its row's deletion marks
-- the row that showed it (contact_scores_hidden_deleted).
UPDATE contact_scores SET dirty = dirty + 1
  WHERE account_id IN (SELECT account_id FROM message_recipients WHERE length(email) <> length(CAST(email AS BLOB)));
-- A row hidden behind itself shows nobody: shown again at once, marked, with a hidden row's values (no score, no
-- activity: ranked last) until the listing rescores it.
UPDATE contact_scores SET shown_as = NULL WHERE shown_as = email;
