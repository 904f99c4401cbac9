-- A recipient's opt-out holds whatever the spelling of their address: `jörg@münchen.de` and `jörg@xn--mnchen-3ya.de`
-- are one mailbox, and so are an "é" typed as one code point (NFC) and as "e" and a combining accent (NFD). The key
-- opt-outs are matched by (`mailbox`, migration 0017) now comes from mailboxKey over the address as foldAddress gives
-- it (shared/email.ts): its domain in IDNA's ASCII form, the address in NFC. SQL can do neither, so the worker
-- computes the key and writes it, in `mailbox_key`, on every row it stores from this migration on.
--
-- `mailbox` stays a generated column, now the worker's key when the row has one, else the key migration 0017 computed
-- from the address, unchanged. So a row without `mailbox_key` still has a key: one stored before this migration, and
-- one written by the previous release of the worker, which runs between this migration and the deploy of the next
-- (scripts/deploy.mjs applies migrations first) and knows nothing of `mailbox_key`. For an address all in ASCII the
-- two keys are the same (foldAddress leaves an ASCII domain as it is, and NFC leaves ASCII as it is), so those rows,
-- nearly all of them, need nothing more. A row whose address has any other character may be keyed differently: the
-- worker keys those again (db/mailboxes.ts keyStoredMailboxes), found through the partial indexes below, before it
-- stores any hit and at each purge, and deletes what their opt-outs would have kept from being stored.
--
-- Why not a re-key at read time (every check asking for both keys): a recipient's row and an opt-out's row are joined
-- in SQL on every stored hit (db/events.ts optedOutSince), where no worker code can add the other spelling, and a
-- Unicode domain cannot be recovered from its punycode without a decoder on every check. Keying the few old rows once
-- leaves one key per row and every query as it was.
--
-- A generated column cannot be altered, so it is dropped and added again; its indexes first, since SQLite drops no
-- indexed column ("The column is indexed", sqlite.org/lang_altertable.html#altertabdropcol). VIRTUAL, as in 0017:
-- ALTER TABLE adds no STORED column.

DROP INDEX opt_outs_by_mailbox;
DROP INDEX message_recipients_by_mailbox;
ALTER TABLE opt_outs DROP COLUMN mailbox;
ALTER TABLE message_recipients DROP COLUMN mailbox;

ALTER TABLE opt_outs ADD COLUMN mailbox_key TEXT;
ALTER TABLE message_recipients ADD COLUMN mailbox_key TEXT;

ALTER TABLE opt_outs ADD COLUMN mailbox TEXT GENERATED ALWAYS AS (coalesce(mailbox_key,
  CASE
    WHEN instr(email, '@') = 0 THEN email
    WHEN substr(email, instr(email, '@') + 1) IN ('gmail.com', 'googlemail.com') THEN
      replace(substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1), '.', '')
        || '@gmail.com'
    ELSE substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1)
      || substr(email, instr(email, '@'))
  END)) VIRTUAL;

ALTER TABLE message_recipients ADD COLUMN mailbox TEXT GENERATED ALWAYS AS (coalesce(mailbox_key,
  CASE
    WHEN instr(email, '@') = 0 THEN email
    WHEN substr(email, instr(email, '@') + 1) IN ('gmail.com', 'googlemail.com') THEN
      replace(substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1), '.', '')
        || '@gmail.com'
    ELSE substr(email, 1, (CASE WHEN instr(email, '+') BETWEEN 2 AND instr(email, '@') - 1 THEN instr(email, '+') ELSE instr(email, '@') END) - 1)
      || substr(email, instr(email, '@'))
  END)) VIRTUAL;

CREATE INDEX opt_outs_by_mailbox ON opt_outs (mailbox, created_at);
CREATE INDEX message_recipients_by_mailbox ON message_recipients (mailbox);

-- The rows the worker must key (keyStoredMailboxes): no key of its own, and an address with a character outside ASCII
-- (its length in characters is not its length in bytes). Partial, so finding them reads only them, and once they are
-- keyed the check costs nothing whatever the size of the tables; a row the worker writes has its key and never enters.
CREATE INDEX opt_outs_to_key ON opt_outs (account_id, email)
  WHERE mailbox_key IS NULL AND length(email) <> length(CAST(email AS BLOB));
CREATE INDEX message_recipients_to_key ON message_recipients (message_id, email)
  WHERE mailbox_key IS NULL AND length(email) <> length(CAST(email AS BLOB));
