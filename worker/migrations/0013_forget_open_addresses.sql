-- An open's address hash is needed only while the sender's own views of its email are kept (7 days): the hourly purge
-- now clears it after that, reading only the day before its cutoff (db/retention.ts, forgetOpenAddresses). Opens
-- stored before are cleared here once, so that none older than that day keeps its hash.
UPDATE events SET ip_hash = NULL
WHERE kind = 'open' AND ip_hash IS NOT NULL AND occurred_at < unixepoch('now') * 1000 - 7 * 86400000;
