-- Gmail's own id of an email's thread, as its send answer names it: "thread-a:r…" for a thread the rep started,
-- which no arithmetic turns into the legacy hex id kept in thread_id (2022-09-09-cvOnSend_response.json pairs
-- thread-a:r263523620390330024 with 183234ce86ffa010; InboxSDK asks Gmail to convert one, getOldGmailThreadIdFromSyncThreadId,
-- a8a6fe2). A Sent row that carries only `data-thread-id` names its thread by this id, so a status or a reply asked
-- for by it is found here (db/messages.ts messagesByThread).
ALTER TABLE messages ADD COLUMN sync_thread_id TEXT;
CREATE INDEX messages_by_sync_thread ON messages (account_id, sync_thread_id) WHERE sync_thread_id IS NOT NULL;
