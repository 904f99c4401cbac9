// What stays of a contact deleted from an email it shared with others: keyed hashes of its address on that email
// (migration 0011). Keyed with the deployment's secret, so a copy of the database alone cannot test a guessed
// address; per email, so fingerprints of different emails cannot be linked.
import { toUnicode } from "punycode/";
import { foldAddress, mailboxKey, mailboxOf, normalizeEmail } from "../../shared/email";
import { base64UrlEncode } from "../../shared/encoding";
import { hmacSha256 } from "./keys";

/**
 * The address as it was written: a repeated registration of the email listing it again does not bring it back. The
 * only fingerprint a contact deleted before migration 0017's release left, so an opt-out hashes it over every
 * spelling of the address it can recover (spellingsToTry), not only the one typed.
 */
export async function recipientFingerprint(signingSecret: string, messageId: string, email: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(signingSecret, `mt-removed-recipient-v1:${messageId}:${email}`)));
}

/**
 * A mailbox's (mailboxKey): an opt-out typed in another spelling of it (`johndoe@` for `john.doe@gmail.com`, a
 * punycode domain for a Unicode one) still finds the email. Kept beside recipientFingerprint, with its own prefix, from
 * migration 0017's release on.
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
 * The spellings of `email` a contact deleted as it was written may have had, as far as they can be recovered from
 * this one: a hash cannot be keyed again, so it is the typed address that is hashed in each. As typed
 * (normalizeEmail) and with its domain in Unicode (its punycode labels decoded, withUnicodeDomain: a contact written
 * `jörg@münchen.de` named `jörg@xn--mnchen-3ya.de`), each as typed, in NFC and in NFD (the forms keyboards give), each
 * with its domain as typed and folded (foldAddress). One spelling, the address itself, for an address all in ASCII with
 * no punycode label. Not recovered: a domain written in a spelling that folding maps to another and decoding cannot
 * give back (full-width letters, an ideographic full stop), nor one mixing NFC and NFD; named as it was written, it is
 * found.
 */
export function spellingsToTry(email: string): Set<string> {
  const address = normalizeEmail(email);
  const folded = foldAddress(email);
  const foldedDomain = folded.slice(folded.indexOf("@"));
  const spellings = new Set<string>();
  for (const spelling of [address, withUnicodeDomain(address)]) {
    for (const form of [spelling, spelling.normalize("NFC"), spelling.normalize("NFD")]) {
      spellings.add(form);
      if (form.includes("@")) spellings.add(form.slice(0, form.indexOf("@")) + foldedDomain);
    }
  }
  return spellings;
}

/**
 * The fingerprints an opt-out by `email` looks for on email `messageId`: removedFingerprints, and those a deletion
 * made under another spelling of the address (spellingsToTry) may have left where neither of those is kept. A
 * deletion made before migration 0017 left only the address as written (recipientFingerprint), so each spelling is
 * hashed as that; one made before migration 0023 keyed the mailbox without folding the address (mailboxOf over the
 * spelling as written), so each spelling's mailbox is hashed too. Only those that removedFingerprints does not hash
 * already: an address all in ASCII with no punycode label costs its two hashes and no more.
 */
export async function fingerprintsToFind(signingSecret: string, messageId: string, email: string): Promise<string[]> {
  const { spellings, mailboxes } = olderSpellings(email);
  const older = await Promise.all([
    ...[...spellings].map((spelling) => recipientFingerprint(signingSecret, messageId, spelling)),
    ...[...mailboxes].map((mailbox) => mailboxFingerprint(signingSecret, messageId, mailbox)),
  ]);
  return [...(await removedFingerprints(signingSecret, messageId, email)), ...older];
}

/** How many fingerprints fingerprintsToFind hashes for `email`, on any email (they depend on the address alone). */
export function fingerprintsToFindCount(email: string): number {
  const { spellings, mailboxes } = olderSpellings(email);
  return 2 + spellings.size + mailboxes.size;
}

/** The spellings and mailbox keys fingerprintsToFind hashes beside removedFingerprints' two. */
function olderSpellings(email: string): { spellings: Set<string>; mailboxes: Set<string> } {
  const spellings = spellingsToTry(email);
  const mailboxes = new Set([...spellings].map(mailboxOf));
  spellings.delete(email);
  mailboxes.delete(mailboxKey(email));
  return { spellings, mailboxes };
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
