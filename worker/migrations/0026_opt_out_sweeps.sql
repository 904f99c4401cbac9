-- A recipient's opt-out holds on every email of the tracker they were on, also another account's email the contact
-- was deleted from (docs/protocol.md §11). Such an email keeps only keyed fingerprints of the address (migration 0011),
-- keyed per email: finding it costs a few HMACs for every email of the tracker that lost a recipient, too many for the
-- opt-out's own request. The opt-out searches its own account's at once (db/opt-outs.ts); the rest is swept here, a
-- few emails at a time by the hourly purge (db/opt-out-sweeps.ts).
--
-- One row per opted-out address still to sweep: the address as the opt-out recorded it (its fingerprints are hashed
-- from it), the opt-out's time, and a cursor over removed_recipients in its key's order (message_id): the emails up to
-- after_message_id are searched, those up to through_message_id, the last one that had lost a recipient when the
-- opt-out was recorded, are to be. An email that loses a recipient later is the deletion's to mark: it reads the
-- mailbox's opt-outs as it removes the address (db/contacts.ts). The row goes once the cursor reaches the end.
CREATE TABLE opt_out_sweeps (
  email TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  after_message_id TEXT NOT NULL DEFAULT '',
  through_message_id TEXT NOT NULL
);
-- The purge sweeps the newest opt-out first, with those at its cursor, newest first: one index finds the newest, one
-- seek the others at its cursor in that order (after every opt-out recorded before this migration, many may wait at
-- the start).
CREATE INDEX opt_out_sweeps_by_time ON opt_out_sweeps (created_at);
CREATE INDEX opt_out_sweeps_by_cursor ON opt_out_sweeps (after_message_id, created_at);

-- Every opt-out recorded before this migration: none searched another account's emails.
INSERT INTO opt_out_sweeps (email, created_at, through_message_id)
  SELECT email, min(created_at), (SELECT max(message_id) FROM removed_recipients) FROM opt_outs
  WHERE EXISTS (SELECT 1 FROM removed_recipients) GROUP BY email;

-- From then on each new one, whichever statement writes it (also the release before this one's, while the deploy
-- applies this migration before the worker: scripts/deploy.mjs), and one whose time moves earlier (an opt-out held for
-- an email not registered yet, recorded at the time it was typed): the emails swept at the later time are swept again.
-- Not when the same address, as written, has an earlier opt-out through another account, which swept or sweeps them
-- already (only the same `email`: another spelling of the mailbox hashes other fingerprints, and a contact deleted
-- before migration 0017 left only the one of the address as written, so `john.doe@gmail.com` must be swept for even
-- after `johndoe@gmail.com` was; `mailbox` only leads to the index); nor while no email of the tracker has lost a
-- recipient (nothing to search: no row read). Each on one physical line: D1's remote /query cuts a migration at every
-- `;` that ends a line (migration 0010).
CREATE TRIGGER opt_out_sweep_added AFTER INSERT ON opt_outs WHEN EXISTS (SELECT 1 FROM removed_recipients) AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.mailbox = NEW.mailbox AND o.email = NEW.email AND o.created_at < NEW.created_at) BEGIN INSERT INTO opt_out_sweeps (email, created_at, through_message_id) VALUES (NEW.email, NEW.created_at, (SELECT max(message_id) FROM removed_recipients)) ON CONFLICT (email) DO UPDATE SET created_at = excluded.created_at, after_message_id = '', through_message_id = excluded.through_message_id WHERE excluded.created_at < opt_out_sweeps.created_at; END;

CREATE TRIGGER opt_out_sweep_backdated AFTER UPDATE OF created_at ON opt_outs WHEN NEW.created_at < OLD.created_at AND EXISTS (SELECT 1 FROM removed_recipients) AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.mailbox = NEW.mailbox AND o.email = NEW.email AND o.created_at < NEW.created_at) BEGIN INSERT INTO opt_out_sweeps (email, created_at, through_message_id) VALUES (NEW.email, NEW.created_at, (SELECT max(message_id) FROM removed_recipients)) ON CONFLICT (email) DO UPDATE SET created_at = excluded.created_at, after_message_id = '', through_message_id = excluded.through_message_id WHERE excluded.created_at < opt_out_sweeps.created_at; END;
