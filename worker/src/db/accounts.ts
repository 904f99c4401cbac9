import { chunked, placeholders } from "./sql";

export interface AccountRecord {
  id: string;
  name: string | null;
  tokenHash: string;
  currentKeyId: number;
  createdAt: number;
  retentionDays: number;
}

interface AccountRow {
  id: string;
  name: string | null;
  token_hash: string;
  current_key_id: number;
  created_at: number;
  retention_days: number;
}

function toRecord(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.token_hash,
    currentKeyId: row.current_key_id,
    createdAt: row.created_at,
    retentionDays: row.retention_days,
  };
}

export async function insertAccount(db: D1Database, account: AccountRecord): Promise<void> {
  await db
    .prepare("INSERT INTO accounts (id, name, token_hash, current_key_id, created_at, retention_days) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(account.id, account.name, account.tokenHash, account.currentKeyId, account.createdAt, account.retentionDays)
    .run();
}

export async function setRetention(db: D1Database, accountId: string, retentionDays: number): Promise<AccountRecord | null> {
  const row = await db
    .prepare("UPDATE accounts SET retention_days = ? WHERE id = ? RETURNING *")
    .bind(retentionDays, accountId)
    .first<AccountRow>();
  return row ? toRecord(row) : null;
}

export async function getAccount(db: D1Database, accountId: string): Promise<AccountRecord | null> {
  const row = await db.prepare("SELECT * FROM accounts WHERE id = ?").bind(accountId).first<AccountRow>();
  return row ? toRecord(row) : null;
}

/**
 * Puts `newHash` in place of `oldHash` in one statement: only while `oldHash` is still the account's, so of two
 * replacements made with one token only the first takes (the second finds another hash and changes nothing).
 */
export async function replaceTokenHash(db: D1Database, accountId: string, oldHash: string, newHash: string): Promise<boolean> {
  const row = await db
    .prepare("UPDATE accounts SET token_hash = ? WHERE id = ? AND token_hash = ? RETURNING id")
    .bind(newHash, accountId, oldHash)
    .first<{ id: string }>();
  return row !== null;
}

/** Moves the account to a new signing key; older key ids stay valid so emails already sent keep working. */
export async function rotateKey(db: D1Database, accountId: string): Promise<AccountRecord | null> {
  const row = await db
    .prepare("UPDATE accounts SET current_key_id = current_key_id + 1 WHERE id = ? AND current_key_id < 9999 RETURNING *")
    .bind(accountId)
    .first<AccountRow>();
  return row ? toRecord(row) : null;
}

export async function existingAccountIds(db: D1Database, accountIds: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const ids of chunked(accountIds)) {
    const { results } = await db
      .prepare(`SELECT id FROM accounts WHERE id IN (${placeholders(ids.length)})`)
      .bind(...ids)
      .all<{ id: string }>();
    for (const row of results) found.add(row.id);
  }
  return found;
}
