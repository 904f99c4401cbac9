// What stays of a contact deleted from an email it shared with others: a keyed hash of its address on that email
// (migration 0011). Keyed with the deployment's secret, so a copy of the database alone cannot test a guessed
// address; per email, so fingerprints of different emails cannot be linked.
import { base64UrlEncode } from "../../shared/encoding";
import { hmacSha256 } from "./keys";

export async function recipientFingerprint(signingSecret: string, messageId: string, email: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(signingSecret, `mt-removed-recipient-v1:${messageId}:${email}`)));
}
