// What stays of a contact deleted from an email it shared with others: keyed hashes of its address on that email
// (migration 0011). Keyed with the deployment's secret, so a copy of the database alone cannot test a guessed
// address; per email, so fingerprints of different emails cannot be linked.
import { mailboxKey } from "../../shared/email";
import { base64UrlEncode } from "../../shared/encoding";
import { hmacSha256 } from "./keys";

/** The address as it was written: a repeated registration of the email listing it again does not bring it back. */
export async function recipientFingerprint(signingSecret: string, messageId: string, email: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(signingSecret, `mt-removed-recipient-v1:${messageId}:${email}`)));
}

/**
 * The address's mailbox (mailboxKey): an opt-out typed in another spelling of it (`johndoe@` for `john.doe@gmail.com`)
 * still finds the email. Kept beside recipientFingerprint, with its own prefix, from migration 0017's release on;
 * contacts deleted before it left only the other, which an opt-out must spell as they were.
 */
async function mailboxFingerprint(signingSecret: string, messageId: string, email: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(signingSecret, `mt-removed-mailbox-v1:${messageId}:${mailboxKey(email)}`)));
}

/** The two fingerprints a deletion of `email` leaves on email `messageId`: a row holding either is that address's. */
export async function removedFingerprints(signingSecret: string, messageId: string, email: string): Promise<[string, string]> {
  return [await recipientFingerprint(signingSecret, messageId, email), await mailboxFingerprint(signingSecret, messageId, email)];
}
