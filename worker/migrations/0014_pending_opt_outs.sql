-- A reader may open an email's opt-out page before the sender's extension has registered the email (seconds after
-- the send; longer while the sender's browser retries). The email stops being tracked at once: a messages row without
-- registered_at carries the opt-out's time (opted_out_at, which every hit's insert checks). The address the reader
-- gave waits here until the registration says whether the email went to it, and is then recorded as any opt-out is,
-- at its own time (db/opt-outs.ts, settlePendingOptOuts). An address whose email is never registered is purged after
-- 30 days (db/retention.ts); the email stays untracked.
CREATE TABLE pending_opt_outs (
  message_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, email)
) WITHOUT ROWID;
