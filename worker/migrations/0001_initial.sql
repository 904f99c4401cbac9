-- Initial schema. Migrations are numbered and never edited once they ship: add a new file instead.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,                 -- 16 chars of lowercase base32 (docs/protocol.md)
  name TEXT,
  token_hash TEXT NOT NULL,            -- base64url SHA-256 of the API token; the token itself is never stored
  current_key_id INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);

-- One row per tracked email, keyed by its tracking id. A row can exist before the extension registers the
-- message (hits may arrive first), and stays as a tombstone after its data is deleted so later hits store nothing.
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  thread_id TEXT,
  gmail_message_id TEXT,
  subject TEXT,
  recipients TEXT NOT NULL DEFAULT '[]', -- JSON array of {email, name?}
  sent_at INTEGER,
  open_tracking INTEGER NOT NULL DEFAULT 1,
  click_tracking INTEGER NOT NULL DEFAULT 1,
  registered_at INTEGER,
  updated_at INTEGER NOT NULL,
  stopped_at INTEGER,                  -- hits at or after this time store nothing
  deleted_at INTEGER                   -- data deleted; the row is a tombstone
);
CREATE INDEX messages_by_thread ON messages (account_id, thread_id);
CREATE INDEX messages_by_sent ON messages (account_id, sent_at);

CREATE TABLE links (
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  link_index INTEGER NOT NULL,
  url TEXT NOT NULL,
  PRIMARY KEY (message_id, link_index)
);

-- Every authentic hit, labelled but never deleted for being a machine. `seq` orders the events feed:
-- D1 runs one writer at a time, so a reader that has seen seq N has seen every committed row below N.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,       -- minted when the hit arrives; makes queue redelivery idempotent
  account_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('open', 'click')),
  link_index INTEGER,
  occurred_at INTEGER NOT NULL,        -- when the request reached the tracker
  inserted_at INTEGER NOT NULL,        -- when the row was written (monotonic with seq)
  request_label TEXT NOT NULL,         -- what the request alone says (user agent, method, network)
  label TEXT NOT NULL,                 -- request_label refined with the message's context (send time, sender views, bursts)
  country TEXT,
  region TEXT,
  city TEXT,
  client TEXT,
  device TEXT,
  ip_hash TEXT                         -- keyed hash, for unique clicks only; the raw address is never stored
);
CREATE INDEX events_by_message ON events (message_id, kind, label, occurred_at);
CREATE INDEX events_by_account ON events (account_id, seq);

-- "The sender is displaying this message now", reported by the extension.
CREATE TABLE sender_views (
  message_id TEXT NOT NULL,
  viewed_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, viewed_at)
);
