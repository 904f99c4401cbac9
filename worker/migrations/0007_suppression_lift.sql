-- A rep can lift a suppression (the address was fixed, or the bounce notice was wrong). The row stays, with the time
-- it was lifted: soft-bounce notices from before then no longer count, and a new hard bounce (or two new soft ones)
-- suppresses the address again.
ALTER TABLE suppressions ADD COLUMN lifted_at INTEGER;
