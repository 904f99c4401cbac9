-- The keyed hash of the address a sender-view report came from (the extension's browser), so a direct hit from
-- another address within the sender window (a recipient's click, a non-proxied open) is not taken for the sender's.
ALTER TABLE sender_views ADD COLUMN ip_hash TEXT;
