-- The stored spellings of one address among an account's recipients (db/spellings.ts storedSpellings), found by the
-- address's mailbox rather than by reading every recipient outside ASCII the account holds. Migration 0024's index
-- listed those per account, and each compose check, lift, deletion and bounce read them all and folded them in
-- JavaScript: for a team writing to Unicode or IDN addresses, one row per email per such recipient, thousands read
-- on every check.
--
-- Every spelling that folds to an address (foldAddress) has that address's mailbox (mailboxKey folds first), and the
-- worker writes that key, `mailbox_key` (migration 0023), on every recipient it stores. So a seek by account and key
-- finds the candidates, one per email the account sent to that mailbox in a spelling outside ASCII, which the worker
-- then filters by folded address (the key also drops Gmail's dots and +tag, which spellings keep). A row with no key
-- yet (stored before 0023, until db/mailboxes.ts keys it) is found by the same index under a NULL key, per account.
--
-- Why not message_recipients_by_mailbox (0023), with no migration: it holds every recipient, ASCII ones too, so a
-- seek there reads each email ever sent to the mailbox by any account of the tracker. An address all in ASCII, nearly
-- every address a check asks about, would go from no row read (0024's index holds none of its rows) to one per email
-- sent to it: this index, partial like 0024's, holds only the rows outside ASCII. Covering (the address is in it), so
-- the table is not read.
--
-- It also serves 0024's query (account_id first, then the address), so that index goes: the release before this one,
-- which runs between this migration and the next deploy (scripts/deploy.mjs applies migrations first), reads the same
-- rows through this one.
CREATE INDEX message_recipients_outside_ascii_by_mailbox ON message_recipients (account_id, mailbox_key, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
DROP INDEX message_recipients_outside_ascii;
