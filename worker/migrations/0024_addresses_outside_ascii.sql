-- The account's stored spellings of an address, whatever spelling the rep or a notice gives (db/spellings.ts):
-- `jörg@münchen.de` and `jörg@xn--mnchen-3ya.de`, or an "é" stored as one code point (NFC) and as "e" and a combining
-- accent (NFD), are one address (foldAddress, shared/email.ts). SQL cannot fold an address, so the worker folds the
-- rows that may need it and compares in JavaScript. Only an address with a character outside ASCII can be folded into
-- another string: an ASCII one (stored trimmed and lower-cased) is already its folded form, and is found by an exact
-- match of the folded input. These partial indexes list the others, so finding them reads only them, nearly always
-- none, and needs nothing written on any row: the rows stored before this migration are found alike. The condition is
-- the one migration 0023 lists unkeyed rows by (its length in characters is not its length in bytes).
--
-- Recipients, one row per email per recipient, are found by the address's mailbox: every spelling that folds to an
-- address has that address's mailbox (mailboxKey folds first), and the worker writes that key, `mailbox_key`
-- (migration 0023), on every recipient it stores. A seek by account and key finds the candidates, one per email the
-- account sent to that mailbox in a spelling outside ASCII, which the worker then filters by folded address (the key
-- also drops Gmail's dots and +tag, which spellings keep); a row with no key yet (stored before 0023, until
-- db/mailboxes.ts keys it) is found under a NULL key. Not message_recipients_by_mailbox (0023): it holds every
-- recipient, ASCII ones too, so a seek there reads each email ever sent to the mailbox by any account of the tracker.
-- Covering (the address is in it), so the table is not read. Replies, bounces and suppressions (one row per reply,
-- bounce or address, not per email sent) are read per account and folded: no key is written on them.
CREATE INDEX message_recipients_outside_ascii_by_mailbox ON message_recipients (account_id, mailbox_key, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
CREATE INDEX signals_outside_ascii ON signals (account_id, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
CREATE INDEX suppressions_outside_ascii ON suppressions (account_id, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
