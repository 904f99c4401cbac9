-- The people list shows a person once, whatever the spellings the account wrote their address in: `jörg@münchen.de`
-- and `jörg@xn--mnchen-3ya.de`, or an "é" in NFC and in NFD, are one mailbox (foldAddress, shared/email.ts; migration
-- 0024). contact_scores keeps one row per spelling, as the triggers of migrations 0010 and 0012 write and mark them,
-- but the worker stores a person's counts and score on one of them (db/contacts.ts readableFirst: the spelling a
-- person reads, `münchen.de` rather than its punycode, NFC rather than NFD) and hides the others, each naming in
-- `shown_as` the spelling whose row shows the person. NULL, as on every row stored before and on every address all in ASCII (already its one spelling), is a row
-- shown in the list. SQL cannot fold an address, so only the worker hides a row, when it rescores it.
ALTER TABLE contact_scores ADD COLUMN shown_as TEXT;

-- The hidden rows shown by a row: partial, so the rows all in ASCII, nearly every row, are not in it.
CREATE INDEX contact_scores_hidden ON contact_scores (account_id, shown_as) WHERE shown_as IS NOT NULL;

-- A mark on a hidden row (a new email, a reply, a label, the retention purge) is not passed to the row that shows it
-- by a trigger on `dirty`: one there made every mark of every row read two rows more (local D1, 2026-12-06), ASCII
-- rows too. A listing rescores the marked rows, hidden ones among them, before it reads a page, and a contact's page
-- reads the person's every row (db/contact-scores.ts contactAt). A row deleted is rare, and these pass it on.
-- Each trigger is on one physical line: D1's remote /query cuts a migration at every `;` that ends a line (0010).

-- A hidden row deleted (its spelling is on no email left): the person it counted in changed.
CREATE TRIGGER contact_scores_hidden_deleted AFTER DELETE ON contact_scores WHEN OLD.shown_as IS NOT NULL BEGIN UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = OLD.account_id AND email = OLD.shown_as; END;

-- A shown row deleted (an email deleted, a contact deleted): the rows it showed are shown again, marked, until the
-- worker rescores them, so a person whose other spellings still have emails never drops out of the list.
CREATE TRIGGER contact_scores_shown_deleted AFTER DELETE ON contact_scores WHEN OLD.shown_as IS NULL BEGIN UPDATE contact_scores SET shown_as = NULL, dirty = dirty + 1 WHERE account_id = OLD.account_id AND shown_as = OLD.email; END;

-- The rows stored before that may be one of several spellings of a person, marked: each, rescored, gathers its
-- person's spellings on one row. Those outside ASCII, and those with a punycode label (`joe@xn--mnchen-3ya.de` beside
-- `joe@münchen.de`): left unmarked, such a row stayed shown with its own counts while a listing that rescores only
-- part of the marked rows (db/contact-scores.ts RESCORED_PER_REQUEST) computed its person, listed a second time, from
-- the row outside ASCII. A scan of the table, once; a label's `xn--` matched anywhere in the address marks at worst a
-- row more, rescored to what it was.
UPDATE contact_scores SET dirty = dirty + 1 WHERE length(email) <> length(CAST(email AS BLOB)) OR email LIKE '%xn--%';
