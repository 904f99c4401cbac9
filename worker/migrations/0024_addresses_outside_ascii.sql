-- The account's stored spellings of an address, whatever spelling the rep or a notice gives (db/spellings.ts):
-- `jörg@münchen.de` and `jörg@xn--mnchen-3ya.de`, or an "é" stored as one code point (NFC) and as "e" and a combining
-- accent (NFD), are one address (foldAddress, shared/email.ts). SQL cannot fold an address, so the worker folds the
-- rows that may need it and compares in JavaScript. Only an address with a character outside ASCII can be folded into
-- another string: an ASCII one (stored trimmed and lower-cased) is already its folded form, and is found by an exact
-- match of the folded input. These partial indexes list the others per account, so finding them reads only them,
-- nearly always none, and needs nothing written on any row: the rows stored before this migration are found alike.
-- The condition is the one migration 0023 lists unkeyed rows by (its length in characters is not its length in bytes).
CREATE INDEX message_recipients_outside_ascii ON message_recipients (account_id, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
CREATE INDEX signals_outside_ascii ON signals (account_id, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
CREATE INDEX suppressions_outside_ascii ON suppressions (account_id, email)
  WHERE length(email) <> length(CAST(email AS BLOB));
