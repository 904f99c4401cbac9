// Helpers for worker tests: they drive the real worker through its fetch handler, on the real migrations.
import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import { type TrackerApi, trackerApi } from "../../extension/src/background/api";
import type { CreateAccountResponse, RegisterMessageRequest } from "../../shared/api";
import { mintTrackingId, type SigningKey, signedClickUrl } from "../../shared/protocol";

export const BASE = "https://t.example.test";

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
    sentAt: new Date(Date.now() - 3_600_000).toISOString(),
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
