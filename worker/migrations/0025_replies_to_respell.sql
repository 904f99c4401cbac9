-- A reply is its recipient's when it comes from an address the email was sent to, in any spelling (foldAddress,
-- shared/email.ts): the worker records it under the recipient's spelling as the email lists it (db/signals.ts), and the
-- people list, a contact's page and the retention then tell a recipient's reply from someone else's by an exact match
-- of the address. A reply stored before, under its sender's spelling as Gmail gave it (`jörg@xn--mnchen-3ya.de` for
-- the `jörg@münchen.de` the rep wrote, or an "é" in NFD for one in NFC), matches no recipient and counts as a reply
-- from someone not on the email, shared among them all. SQL cannot fold an address, so the worker respells those rows
-- (db/spellings.ts respellStoredReplies); this table lists the ones it must look at, and goes empty as it does.
--
-- Only a reply that matches no recipient exactly, and that is, or was sent on an email to, an address with a character
-- outside ASCII, can be another spelling of a recipient: an ASCII address (stored trimmed and lower-cased) is already
-- its folded form, so two ASCII spellings fold alike only when they are one string. Nearly always none.
CREATE TABLE replies_to_respell (seq INTEGER PRIMARY KEY);

INSERT INTO replies_to_respell (seq)
  SELECT s.seq FROM signals s
  WHERE s.kind = 'reply' AND s.email <> ''
    AND NOT EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = s.message_id AND r.email = s.email)
    AND (length(s.email) <> length(CAST(s.email AS BLOB))
      OR EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = s.message_id AND length(r.email) <> length(CAST(r.email AS BLOB))));

-- The release before this one keeps writing replies as Gmail spells them between this migration and the deploy of
-- the next (scripts/deploy.mjs applies migrations first): those are listed as they come. The worker released with it
-- writes the recipient's spelling, which this skips; a reply from someone else on such an email is listed, looked
-- at once and dropped from the list. Two seeks of the email's recipients (their primary key) a reply. On one physical
-- line: D1's remote /query cuts a migration at every `;` that ends a line (migration 0010).
-- Needed only while a deploy is under way: a later migration may drop it once no earlier release can write replies.
CREATE TRIGGER replies_to_respell_added AFTER INSERT ON signals WHEN NEW.kind = 'reply' AND NEW.email <> '' AND NOT EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = NEW.message_id AND r.email = NEW.email) AND (length(NEW.email) <> length(CAST(NEW.email AS BLOB)) OR EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = NEW.message_id AND length(r.email) <> length(CAST(r.email AS BLOB)))) BEGIN INSERT OR IGNORE INTO replies_to_respell (seq) VALUES (NEW.seq); END;
