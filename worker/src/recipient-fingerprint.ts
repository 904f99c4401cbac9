// What stays of a contact deleted from an email it shared with others: keyed hashes of its address on that email
// (migration 0011). Keyed with the deployment's secret, so a copy of the database alone cannot test a guessed
// address; per email, so fingerprints of different emails cannot be linked.
import { toUnicode } from "punycode/";
import { foldAddress, mailboxKey, mailboxOf, normalizeEmail } from "../../shared/email";
import { base64UrlEncode } from "../../shared/encoding";
import { hmacSha256 } from "./keys";

/** The address as it was written: a repeated registration of the email listing it again does not bring it back. */
export async function recipientFingerprint(signingSecret: string, messageId: string, email: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(signingSecret, `mt-removed-recipient-v1:${messageId}:${email}`)));
}

/**
 * A mailbox's (mailboxKey): an opt-out typed in another spelling of it (`johndoe@` for `john.doe@gmail.com`, a
 * punycode domain for a Unicode one) still finds the email. Kept beside recipientFingerprint, with its own prefix, from
 * migration 0017's release on; contacts deleted before it left only the other, which an opt-out must spell as they were.
 */
async function mailboxFingerprint(signingSecret: string, messageId: string, mailbox: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(signingSecret, `mt-removed-mailbox-v1:${messageId}:${mailbox}`)));
}

/** The two fingerprints a deletion of `email` leaves on email `messageId`: a row holding either is that address's. */
export async function removedFingerprints(signingSecret: string, messageId: string, email: string): Promise<[string, string]> {
  return [
    await recipientFingerprint(signingSecret, messageId, email),
    await mailboxFingerprint(signingSecret, messageId, mailboxKey(email)),
  ];
}

/**
 * The fingerprints an opt-out by `email` looks for on email `messageId`: removedFingerprints, and those a deletion
 * made before migration 0023 may have left. Those keyed the mailbox without folding the address (foldAddress): the
 * domain as written and the local part in whatever Unicode form it came. A hash cannot be keyed again, so the typed
 * address's old keys are hashed too: as typed and with its domain in Unicode (its punycode labels decoded, which is
 * how a contact deleted under `münchen.de` is found by an opt-out typed `…@xn--mnchen-3ya.de`), each as typed, in NFC
 * and in NFD (the forms keyboards give), each with its domain as typed and folded, and only those that are not the
 * folded key, so an address all in ASCII with no punycode label costs no more hashes than before. Not found: a
 * domain typed then in a spelling that folding maps to another and decoding cannot give back (full-width letters, an
 * ideographic full stop); typed as the contact was written, it is found.
 */
export async function fingerprintsToFind(signingSecret: string, messageId: string, email: string): Promise<string[]> {
  const address = normalizeEmail(email);
  const folded = foldAddress(email);
  const foldedDomain = folded.slice(folded.indexOf("@"));
  const before0023 = new Set<string>();
  for (const spelling of new Set([address, withUnicodeDomain(address)])) {
    for (const form of new Set([spelling, spelling.normalize("NFC"), spelling.normalize("NFD")])) {
      before0023.add(mailboxOf(form));
      if (form.includes("@")) before0023.add(mailboxOf(form.slice(0, form.indexOf("@")) + foldedDomain));
    }
  }
  before0023.delete(mailboxKey(email));
  const older = await Promise.all([...before0023].map((key) => mailboxFingerprint(signingSecret, messageId, key)));
  return [...(await removedFingerprints(signingSecret, messageId, email)), ...older];
}

/**
 * `address` with its domain's punycode labels decoded (UTS #46 ToUnicode's decoding step), or as it is when it has
 * none or one does not decode: the Unicode domain a contact may have been written with, which foldAddress encodes
 * and a fingerprint of the address as written does not.
 */
export function withUnicodeDomain(address: string): string {
  const at = address.indexOf("@");
  if (at < 0 || !address.includes("xn--", at)) return address;
  try {
    return `${address.slice(0, at)}@${toUnicode(address.slice(at + 1))}`;
  } catch {
    return address;
  }
}
