-- Issue 5: replies, bounces, opt-outs, campaigns and contacts (docs/protocol.md §10-13).

ALTER TABLE messages ADD COLUMN campaign TEXT;
ALTER TABLE messages ADD COLUMN opt_out_link INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_by_campaign ON messages (account_id, campaign, sent_at);

-- One row per recipient of a registered message: the contacts. Addresses lower-cased and trimmed.
CREATE TABLE message_recipients (
  message_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  email TEXT NOT NULL,
  name TEXT,
  PRIMARY KEY (message_id, email)
);
CREATE INDEX message_recipients_by_email ON message_recipients (account_id, email);

INSERT OR IGNORE INTO message_recipients (message_id, account_id, email, name)
  SELECT m.id, m.account_id, lower(trim(json_extract(r.value, '$.email'))), json_extract(r.value, '$.name')
  FROM messages m, json_each(m.recipients) r
  WHERE m.deleted_at IS NULL AND json_valid(m.recipients) AND json_type(r.value, '$.email') = 'text';

-- Replies, bounces and unsubscribes: not hits, so not in events (whose kind is open or click).
-- A bounce notice naming several addresses is one row per address, all with the notice's source_id.
CREATE TABLE signals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('reply', 'bounce', 'unsubscribe')),
  source_id TEXT NOT NULL,             -- reply/bounce: the Gmail message id (dedupe key); unsubscribe: 'u:' || message id
  email TEXT NOT NULL DEFAULT '',      -- replier, bounced or unsubscribed address (lower-cased); '' when none is known
  bounce_kind TEXT CHECK (bounce_kind IN ('hard', 'soft')),
  reason TEXT,
  occurred_at INTEGER NOT NULL,
  inserted_at INTEGER NOT NULL,
  UNIQUE (account_id, source_id, email)
);
CREATE INDEX signals_by_message ON signals (message_id, kind);
CREATE INDEX signals_by_email ON signals (account_id, email, kind);
CREATE INDEX signals_by_time ON signals (occurred_at);

-- Addresses not to send to (hard bounce, or repeated soft bounces). Never lifted automatically.
CREATE TABLE suppressions (
  account_id TEXT NOT NULL,
  email TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('hard', 'repeated-soft')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, email)
);

-- Recipients who opted out: hits of any of the account's messages to them store nothing from created_at on.
CREATE TABLE opt_outs (
  account_id TEXT NOT NULL,
  email TEXT NOT NULL,
  message_id TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, email)
);
