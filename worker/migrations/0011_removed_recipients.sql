-- Deleting a contact from an email sent to several people removes its address from that email. What stays is a
-- keyed fingerprint of the address (HMAC under the deployment's SIGNING_SECRET, recipient-fingerprint.ts), which
-- reveals no address without the secret, so that person can still opt out through that email's link afterwards,
-- and a repeated registration of the email does not bring the address back (docs/protocol.md §11, §13).
CREATE TABLE removed_recipients (
  message_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  PRIMARY KEY (message_id, fingerprint)
) WITHOUT ROWID;
