-- A recipient's opt-out is found through the email's recipient rows, which deleting that contact removes. Before
-- they go, the opt-out's time is copied onto each email the contact shared with others, so hits of those emails
-- keep storing nothing from then on, whatever the sender deletes (docs/protocol.md §11).
ALTER TABLE messages ADD COLUMN opted_out_at INTEGER;
