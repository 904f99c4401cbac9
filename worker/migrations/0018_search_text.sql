-- What the dashboard's search compares (messagePage, worker/src/db/messages.ts): a message's subject, and each
-- recipient's name and address as one string, folded by foldForSearch (shared/search.ts) when written: lower-cased,
-- accents taken off. The search folds its query the same way, so "Émilie", "émilie" and "emilie" all find
-- "Émilie Durand". It used to compare lower(subject) with the query lower-cased in JavaScript, and SQLite's lower()
-- folds ASCII letters only (D1 has no ICU): lower('Émilie Durand') is 'Émilie durand', which "émilie" never matched.
-- Written by the worker rather than generated, as 0017's mailbox is, because SQL cannot fold a character beyond ASCII.
ALTER TABLE messages ADD COLUMN search_text TEXT;
ALTER TABLE message_recipients ADD COLUMN search_text TEXT;

-- The rows stored before: an all-ASCII text folds to its lower() (no decomposition, no accent to take off, ASCII case
-- only; shared/search.test.ts holds foldForSearch to it), so those are folded here. A text is all ASCII when its
-- length in characters equals its length in bytes of UTF-8 (a NUL, before which length() stops counting, makes it
-- look otherwise: it is left to the worker, which folds any text). A recipient's text is recipientSearchText's,
-- worker/src/db/search-text.ts: the name and the address joined by a space, or the address alone when there is no name.
UPDATE messages SET search_text = lower(subject)
  WHERE subject IS NOT NULL AND length(subject) = length(CAST(subject AS BLOB));
UPDATE message_recipients SET search_text = lower(coalesce(nullif(name, '') || ' ', '') || email)
  WHERE length(coalesce(name, '') || email) = length(CAST(coalesce(name, '') || email AS BLOB));

-- The rest, texts with other characters, the worker folds a few hundred at a time each hour (foldStoredSearchText,
-- after the retention purge): these list them, and stay empty once that is done, as every row written after this
-- migration has its text.
CREATE INDEX messages_without_search_text ON messages (id) WHERE search_text IS NULL AND subject IS NOT NULL;
CREATE INDEX message_recipients_without_search_text ON message_recipients (message_id) WHERE search_text IS NULL;
