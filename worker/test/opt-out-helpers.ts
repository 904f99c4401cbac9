// Helpers the opt-out tests share (opt-outs.test.ts, opt-out-sweeps.test.ts): a hit through the real request path, the
// reader's answer on the opt-out page, and a contact deleted the way the worker deleted one before migration 0017 or 0023.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { mailboxOf } from "../../shared/email";
import { base64UrlEncode } from "../../shared/encoding";
import { hitFromRequest } from "../src/hits";
import { deriveSigningKey, hmacSha256 } from "../src/keys";
import { storeHits } from "../src/queue";
import { recipientFingerprint } from "../src/recipient-fingerprint";
import { BASE, CHROME_UA, call, sentMessage, type TestAccount } from "./helpers";

const SECRET = env.SIGNING_SECRET ?? "";

/** Builds an open (or click) of the message through the real request path and stores it as the queue consumer does. */
export async function hitNow(account: TestAccount, messageId: string, kind: "open" | "click" = "open"): Promise<number> {
  const accountKey = await deriveSigningKey(SECRET, account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA } });
  const target = { accountId: account.accountId, messageId, accountKey, kind, linkIndex: kind === "click" ? 0 : null };
  return storeHits(env.DB, [await hitFromRequest(request, target, Date.now())]);
}

/** The reader's answer on the opt-out page of email `id`, with the address typed when the page asks for one. */
export function optOut(id: string, email?: string): Promise<Response> {
  if (email === undefined) return call(`/u/${id}`, { method: "POST" });
  return call(`/u/${id}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email }).toString(),
  });
}

/** `person` opts out through a new email of the account to them alone, and the page answers 200. */
export async function optOutOfNewEmail(account: TestAccount, person: string): Promise<void> {
  const email = await sentMessage(account, { recipients: [{ email: person }], optOutLink: true });
  expect((await optOut(email.id)).status).toBe(200);
}

/**
 * A local part no other test uses: tests in a file share one database (the storage of a test file is not undone
 * between its tests), so a mailbox another test opted out would make a test pass without its own opt-out.
 */
export const ownLocalPart = () => crypto.randomUUID().slice(0, 8);

/** Lets the clock move on, so that what comes next is not in the same millisecond as what came before. */
export const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * Deletes the contact `written` from email `messageId` as the worker did before migration 0017: the one fingerprint
 * it left is of the address as written, with no mailbox's beside it.
 */
export async function deleteContactBefore0017(account: TestAccount, messageId: string, written: string): Promise<void> {
  await deleteContactLeaving(account, messageId, written, [await recipientFingerprint(SECRET, messageId, written)]);
}

/**
 * Deletes the contact `written` from email `messageId` as the worker did before migration 0023: beside the address as
 * written, the fingerprint of its mailbox keyed from the address unfolded (mailboxOf, not mailboxKey).
 */
export async function deleteContactBefore0023(account: TestAccount, messageId: string, written: string): Promise<void> {
  const mailbox = await hmacSha256(SECRET, `mt-removed-mailbox-v1:${messageId}:${mailboxOf(written)}`);
  await deleteContactLeaving(account, messageId, written, [
    await recipientFingerprint(SECRET, messageId, written),
    base64UrlEncode(new Uint8Array(mailbox)),
  ]);
}

/** Deletes the contact `written` as the worker does now, then leaves only `fingerprints` of it on email `messageId`. */
async function deleteContactLeaving(account: TestAccount, messageId: string, written: string, fingerprints: string[]): Promise<void> {
  expect((await account.json("DELETE", `/api/contacts/${encodeURIComponent(written)}`)).status).toBe(204);
  await env.DB.batch([
    env.DB.prepare("DELETE FROM removed_recipients WHERE message_id = ?").bind(messageId),
    env.DB.prepare("INSERT INTO removed_recipients (message_id, fingerprint) SELECT ?, value FROM json_each(?)").bind(
      messageId,
      JSON.stringify(fingerprints),
    ),
  ]);
}
