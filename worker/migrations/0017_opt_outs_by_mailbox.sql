-- A recipient's opt-out holds for every account of the tracker (a team sharing it, a rep with a second account) and
-- for every spelling of the same mailbox (docs/protocol.md §11). Opt-outs are matched to recipients by `mailbox`, the
-- address as mailboxKey (shared/email.ts) gives it: at gmail.com and googlemail.com without dots or +tag, on
-- gmail.com; elsewhere without +tag. Both read the address as stored (trimmed and lower-cased), and the test
-- worker/test/opt-outs.test.ts holds this SQL to mailboxKey over the same addresses.
--
-- A generated column, computed from `email` when read: no row to backfill, nothing for the worker to write, and no row
-- of either table (those stored before this migration, or written by any later statement) without its key. VIRTUAL
-- because ALTER TABLE can add no STORED one to an existing table ("It is not possible to ALTER TABLE ADD COLUMN a
-- STORED column. One can add a VIRTUAL column, however.", sqlite.org/gencol.html); D1 supports generated columns and
-- indexes on them (developers.cloudflare.com/d1/reference/generated-columns/, read 2026-12-06). The key's parts:
--   at   = instr(email, '@'): none (0) keeps the address whole, as mailboxKey does;
--   base = the local part up to a '+' that is not its first character;
--   a Gmail domain gives replace(base, '.', '') || '@gmail.com', any other base || '@' || domain.

ALTER TABLE opt_outs ADD COLUMN mailbox TEXT GENERATED ALWAYS AS (
  CASE
    WHEN instr(email, '@') = 0 THEN email
    WHEN substr(email, instr(email, '@') + 1) IN ('gmail.com', 'googlemail.com') THEN
      replace(substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1), '.', '')
        || '@gmail.com'
    ELSE substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1)
      || substr(email, instr(email, '@'))
  END) VIRTUAL;

ALTER TABLE message_recipients ADD COLUMN mailbox TEXT GENERATED ALWAYS AS (
  CASE
    WHEN instr(email, '@') = 0 THEN email
    WHEN substr(email, instr(email, '@') + 1) IN ('gmail.com', 'googlemail.com') THEN
      replace(substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1), '.', '')
        || '@gmail.com'
    ELSE substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1)
      || substr(email, instr(email, '@'))
  END) VIRTUAL;

-- Every check of an email's hits (the queue consumer's, per batch, and each insert's: db/events.ts optedOutSince) looks
-- its recipients' mailboxes up here, with the opt-out's time in the index: one seek each, whatever the account.
-- message_recipients needs no index on its key: it is read by message, and its key computed per row read.
CREATE INDEX opt_outs_by_mailbox ON opt_outs (mailbox, created_at);

-- An address nothing can check (a deleted email's, one registered with no readable recipients) is recorded only while
-- its email has recorded fewer than a few (db/opt-outs.ts MAX_AS_GIVEN_PER_EMAIL): one seek counts them, not a scan.
CREATE INDEX opt_outs_by_message ON opt_outs (message_id);
