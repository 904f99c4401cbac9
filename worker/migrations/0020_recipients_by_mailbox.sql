-- An opt-out recorded after it was made (an address held for an email not registered yet, db/opt-outs.ts) deletes the
-- hits stored since on every email of the tracker to the opted-out mailbox (db/signals.ts optOutStatements). Those
-- emails are found by their recipients' mailbox, the generated column of migration 0017, whichever account sent them:
-- without this index that is a scan of every recipient row of the tracker, at each opt-out.
CREATE INDEX message_recipients_by_mailbox ON message_recipients (mailbox);
