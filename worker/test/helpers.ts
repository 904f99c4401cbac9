// Helpers for worker tests: they drive the real worker through its fetch handler, on the real migrations.
import { applyD1Migrations, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { type TrackerApi, trackerApi } from "../../extension/src/background/api";
import type { CreateAccountResponse, RegisterMessageRequest } from "../../shared/api";
import { mintTrackingId, type SigningKey, signedClickUrl } from "../../shared/protocol";
import { DAY, HOUR, MINUTE } from "../../test/durations";
import worker from "../src/index";
import { FlakyD1 } from "./faults";

export const BASE = "https://t.example.test";

export { DAY, HOUR, MINUTE };

/** The moment `ms` before now (or before the given `now`, for times that must keep their gaps), as the API writes times. */
export const ago = (ms: number, now = Date.now()): string => new Date(now - ms).toISOString();

/**
 * `promise`, or a failure naming `what` once `ms` have passed without it: a test that holds a request (a gated queue,
 * a stalled hash) fails, saying what it waited for, when a change leaves that wait unanswered, instead of hanging the
 * run on it. A bound on a wait, far above what it takes, not a measure. Its timer is the platform's
 * (AbortSignal.timeout), which vi.useFakeTimers does not hold.
 */
export function within<T>(what: string, promise: T | Promise<T>, ms = 5_000): Promise<T> {
  const deadline = AbortSignal.timeout(ms);
  return new Promise<T>((resolve, reject) => {
    const late = () => reject(new Error(`${what}: not within ${ms} ms`));
    deadline.addEventListener("abort", late, { once: true });
    Promise.resolve(promise)
      .then(resolve, reject)
      .finally(() => deadline.removeEventListener("abort", late));
  });
}

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/**
 * The network between the extension's tracker client (extension/src/background/api.ts) and the worker: its fetch
 * handler. `credentials` is a browser's option that workerd refuses rather than ignores, so it stays behind.
 */
export function workerFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const { credentials: _browserOnly, ...rest } = init as RequestInit & { credentials?: unknown };
  return exports.default.fetch(new Request(input, rest));
}

/** The extension's own client of the tracker, calling this worker. */
export function trackerClient(token?: string): TrackerApi {
  return trackerApi(BASE, token, workerFetch);
}

export interface TestAccount extends CreateAccountResponse {
  key: SigningKey;
  /** The extension's client, with this account's token: for calls the extension makes. */
  tracker: TrackerApi;
  api(path: string, init?: RequestInit): Promise<Response>;
  json<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function createAccount(name = "Test rep"): Promise<TestAccount> {
  const created = await trackerClient().createAccount({ name });
  const api = (path: string, init: RequestInit = {}) =>
    call(path, { ...init, headers: { authorization: `Bearer ${created.apiToken}`, "content-type": "application/json", ...init.headers } });
  return {
    ...created,
    key: { accountId: created.accountId, keyId: created.signingKey.keyId, secret: created.signingKey.secret },
    tracker: trackerClient(created.apiToken),
    api,
    async json<T>(method: string, path: string, body?: unknown) {
      const res = await api(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: (res.status === 204 ? null : await res.json()) as T };
    },
  };
}

export function registration(overrides: Partial<RegisterMessageRequest> = {}): RegisterMessageRequest {
  return {
    subject: "Proposal for Acme",
    recipients: [{ email: "buyer@acme.example", name: "Bea Buyer" }],
    sentAt: ago(HOUR),
    threadId: `thread-${crypto.randomUUID().slice(0, 8)}`,
    links: [],
    ...overrides,
  };
}

/** Mints an id and registers the message as sent an hour ago (so hits now are after the send). */
export async function sentMessage(account: TestAccount, overrides: Partial<RegisterMessageRequest> = {}) {
  const id = await mintTrackingId(account.key);
  const body = registration(overrides);
  await account.tracker.registerMessage(id, body);
  return { id, ...body };
}

export function openPixel(id: string, headers: Record<string, string> = {}, cf?: Record<string, unknown>) {
  const request = new Request(`${BASE}/o/${id}.gif`, { headers: { "user-agent": CHROME_UA, ...headers } });
  return exports.default.fetch(cf ? new Request(request, { cf } as RequestInit) : request);
}

export async function clickLink(account: TestAccount, id: string, index: number, url: string, init: RequestInit = {}) {
  const link = await signedClickUrl(BASE, account.key, id, index, url);
  return exports.default.fetch(new Request(link, { redirect: "manual", ...init, headers: { "user-agent": CHROME_UA, ...init.headers } }));
}

export const CHROME_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
export const GMAIL_PROXY_UA = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

/** A reply from `from` in the thread, now, as the extension reports one. */
export function reply(account: TestAccount, threadId: string, from: string, gmailMessageId: string) {
  const at = new Date().toISOString();
  return account.json("POST", "/api/signals", { signals: [{ kind: "reply", threadId, gmailMessageId, at, from }] });
}

export async function storedEvents(messageId: string) {
  const { results } = await env.DB.prepare("SELECT * FROM events WHERE message_id = ? ORDER BY seq")
    .bind(messageId)
    .all<Record<string, unknown>>();
  return results;
}

/** Waits for the real queue to deliver hits to the consumer and for `count` events of the message to be stored. */
export async function waitForEvents(messageId: string, count: number) {
  return vi.waitFor(
    async () => {
      const rows = await storedEvents(messageId);
      if (rows.length < count) throw new Error(`${rows.length} of ${count} events stored so far`);
      return rows;
    },
    { timeout: 10_000, interval: 50 },
  );
}

export async function eventCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM events").first<{ n: number }>();
  return row?.n ?? 0;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same text with a different MAC at its end (a significant bit of the second-to-last character flipped). */
export function forged(b64: string): string {
  const i = B64URL.indexOf(b64.slice(-2, -1));
  return b64.slice(0, -2) + B64URL[i ^ 32] + b64.slice(-1);
}

/** Another spelling of the same 16 bytes: flips one of the 4 unused low bits of the last base64url character. */
export function respelled(b64: string): string {
  const last = B64URL.indexOf(b64.slice(-1));
  return b64.slice(0, -1) + B64URL[last ^ 1];
}

/** D1 queries one invocation may make on the free plan, with its source (worker/src/db/sql.ts): countedCall counts them. */
export { FREE_PLAN_D1_QUERIES } from "../src/db/sql";

/**
 * A request to the worker with the account's token (and `json` as its body), how many calls it made on the D1 binding (a batch is one), how
 * many rows those calls handed back to it and read, the SQL of each statement it ran, and each call's statements with
 * the rows each read (FlakyD1's log).
 */
export async function countedCall(
  account: TestAccount,
  path: string,
  method = "GET",
  json?: unknown,
): Promise<{
  response: Response;
  d1Queries: number;
  d1RowsReturned: number;
  d1RowsRead: number;
  d1Statements: string[];
  d1Log: FlakyD1["log"];
}> {
  const counted = new FlakyD1(env.DB, () => false);
  const ctx = createExecutionContext();
  const headers = { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" };
  const response = await worker.fetch(
    new Request(`${BASE}${path}`, { method, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) }),
    { ...env, DB: counted.asD1() },
    ctx,
  );
  // The body may be a stream that queries as it is read: read it before counting.
  const body = await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return {
    response: new Response(body, response),
    d1Queries: counted.calls,
    d1RowsReturned: counted.rowsReturned,
    d1RowsRead: counted.rowsRead,
    d1Statements: counted.statements,
    d1Log: counted.log,
  };
}

/**
 * What a countedCall cost D1, to compare between two sizes of an account: its queries, the rows they read, and each
 * statement with its reads (rowsReadByStatement), so that a difference names the statement.
 */
export function d1Cost(counted: Awaited<ReturnType<typeof countedCall>>) {
  return { queries: counted.d1Queries, rowsRead: counted.d1RowsRead, statements: rowsReadByStatement(counted.d1Log) };
}

/**
 * Each statement of a FlakyD1 log, in order, as "<rows read> <its SQL on one line>": compared between two runs, a
 * statement that reads more in one is named where the test fails.
 */
function rowsReadByStatement(log: FlakyD1["log"]): string[] {
  return log.flatMap((call) => call.sql.map((sql, i) => `${call.rowsRead[i]} ${sql.replace(/\s+/g, " ")}`));
}

/**
 * `count` registered emails of the account sent a day ago, one recipient each (reader<i>@example.org), written
 * straight to D1 as bench/database.mjs seeds a year of mail: the API would take minutes for thousands.
 */
export async function seedMessages(account: TestAccount, count: number): Promise<void> {
  const sentAt = Date.now() - DAY;
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO messages (id, account_id, thread_id, subject, recipients, sent_at, registered_at, updated_at)
       WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
       SELECT 'seeded-' || ?1 || '-' || i, ?1, 'seeded-thread-' || i, 'Proposal ' || i,
              json_array(json_object('email', 'reader' || i || '@example.org')), ?3 - i * 1000, ?3, ?3 FROM n`,
    ).bind(account.accountId, count, sentAt),
    env.DB.prepare(
      `INSERT INTO message_recipients (message_id, account_id, email)
       SELECT id, account_id, json_extract(recipients, '$[0].email') FROM messages WHERE account_id = ?1 AND id LIKE 'seeded-%'`,
    ).bind(account.accountId),
    env.DB.prepare("UPDATE messages SET recipient_count = 1 WHERE account_id = ?1 AND id LIKE 'seeded-%'").bind(account.accountId),
  ]);
}

/** `count` human opens spread over the account's seeded emails, the last at `before`, written straight to D1. */
export async function seedOpens(account: TestAccount, count: number, before = Date.now() - HOUR): Promise<void> {
  const first = before - count;
  await env.DB.prepare(
    `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label, client)
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1),
       seeded AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM messages WHERE account_id = ?1 AND id LIKE 'seeded-%'),
       total(n) AS (SELECT count(*) FROM seeded)
     SELECT 'seeded-open-' || ?1 || '-' || i, ?1, m.id, 'open', ?3 + i, ?3 + i, 'human', 'human', 'Chrome 131'
     FROM n, total JOIN seeded m ON m.k = n.i % total.n`,
  )
    .bind(account.accountId, count, first)
    .run();
}

/**
 * Each seeded email of the account given what a tracked email gathers beside its recipient and opens: a campaign, a
 * click, two links, a reply, a sender view, a recipient removed from it, and its recipient's row of the people list
 * listing the campaign (as a rescoring stores it). And for each, the people-list rows of a person written two ways, one
 * hidden behind the other (migration 0027), rows alone (no email of theirs), for what reads the account's hidden rows.
 * Written straight to D1, as seedMessages writes the emails.
 */
export async function seedEmailActivity(account: TestAccount): Promise<void> {
  const emails = `SELECT m.id AS message_id, m.account_id, r.email, m.sent_at FROM messages m JOIN message_recipients r ON r.message_id = m.id
    WHERE m.account_id = ?1 AND m.id LIKE 'seeded-%'`;
  await env.DB.batch(
    [
      "UPDATE messages SET campaign = 'Renewal' WHERE account_id = ?1 AND id LIKE 'seeded-%'",
      `INSERT INTO events (event_id, account_id, message_id, kind, link_index, occurred_at, inserted_at, request_label, label, client)
         SELECT 'seeded-click-' || message_id, account_id, message_id, 'click', 0, sent_at + 60000, sent_at + 60000, 'human', 'human', 'Chrome 131'
         FROM (${emails})`,
      `INSERT INTO links (message_id, link_index, url) SELECT message_id, i.value, 'https://example.com/' || i.value FROM (${emails}), json_each('[0, 1]') i`,
      `INSERT INTO signals (account_id, message_id, kind, source_id, email, occurred_at, inserted_at)
         SELECT account_id, message_id, 'reply', 'seeded-reply-' || message_id, email, sent_at + 120000, sent_at + 120000 FROM (${emails})`,
      `INSERT INTO sender_views (message_id, viewed_at) SELECT message_id, sent_at + 1000 FROM (${emails})`,
      `INSERT INTO removed_recipients (message_id, fingerprint) SELECT message_id, 'seeded-removed-' || email FROM (${emails})`,
      `UPDATE contact_scores SET campaigns = '["Renewal"]' WHERE account_id = ?1`,
      `INSERT INTO contact_scores (account_id, email, shown_as)
         SELECT account_id, replace(email, '@example.org', '@exämple.org'), NULL FROM (${emails})
         UNION ALL SELECT account_id, replace(email, '@example.org', '@xn--exmple-cua.org'), replace(email, '@example.org', '@exämple.org') FROM (${emails})`,
    ].map((sql) => env.DB.prepare(sql).bind(account.accountId)),
  );
}

/**
 * An account's row with nothing but its id (no name, no token: every schema since 0001 takes it so), for a test that
 * writes an account's rows into a database itself, as an earlier schema had them (migrateRowsAcross). Prepared on the
 * migration test database unless `db` is given.
 */
export function blankAccount(id: string, db: D1Database = env.MIGRATION_TEST_DB): D1PreparedStatement {
  return db.prepare("INSERT INTO accounts (id, token_hash, created_at) VALUES (?, '', 0)").bind(id);
}

/**
 * For a test of what migration `file` does to rows stored before it: applies to the migration test database
 * (env.MIGRATION_TEST_DB) every migration before `file`, `file` being the next one (checked), writes `rowsBefore` as
 * that schema had them, then applies `file` and every later one. The rows are statements prepared on that database
 * before it has their tables: D1 reads a statement only when it runs.
 */
export async function migrateRowsAcross(file: string, rowsBefore: D1PreparedStatement[]): Promise<void> {
  const db = env.MIGRATION_TEST_DB;
  const number = file.slice(0, 4);
  expect(env.TEST_MIGRATIONS.find((m) => m.name >= number)?.name).toBe(file);
  await applyD1Migrations(
    db,
    env.TEST_MIGRATIONS.filter((m) => m.name < number),
  );
  await db.batch(rowsBefore);
  await applyD1Migrations(db, env.TEST_MIGRATIONS);
}

/**
 * What `fn` gives back and the keyed hashes (HMACs, each a `crypto.subtle.sign`) made while it ran: the measure of a
 * keyed-hash budget (the opt-out sweep's share, the fingerprints an opt-out looks for).
 */
export async function keyedHashesDuring<T>(fn: () => Promise<T>): Promise<{ result: T; hashes: number }> {
  const sign = vi.spyOn(crypto.subtle, "sign");
  try {
    const result = await fn();
    return { result, hashes: sign.mock.calls.length };
  } finally {
    sign.mockRestore();
  }
}
