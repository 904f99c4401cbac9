// Email addresses as the tracker compares and stores them. Without zod: the Gmail content script may import it.

/** An address as the tracker compares and stores it: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * An address as the tracker matches it: opt-outs by its mailbox (mailboxKey), and contacts, replies, bounces and
 * suppressions by this itself (worker/src/db/spellings.ts). Normalised (normalizeEmail), in Unicode NFC, and with a domain
 * in its ASCII (IDNA, punycode) form, so that every spelling a person may type or Gmail may hand over of one address
 * is one string. `jörg@münchen.de` typed on one side and `jörg@xn--mnchen-3ya.de` on the other, or an "é" typed as
 * one code point (NFC) and as "e" and a combining accent (NFD, as macOS input often gives it), are the same mailbox.
 *
 * - The local part is only put in NFC, the form RFC 6532 §3.1 asks internationalised addresses to be in. Not NFKC:
 *   that would also fold full-width letters and other compatibility look-alikes, and only the receiving server says
 *   whether `ｊｏｅ@` and `joe@` are one mailbox. Case stays as normalizeEmail has it (all lower case), the same at
 *   every provider: no new per-provider rule.
 * - The domain goes through WHATWG URL's host parser, whose "domain to ASCII" is UTS #46 processing (non-
 *   transitional, so `straße.de` is `xn--strae-oqa.de`, not `strasse.de`): the same algorithm in workerd and in
 *   both browsers (url.spec.whatwg.org/#concept-domain-to-ascii). It lower-cases, maps full-width
 *   letters and the ideographic full stop, and encodes each label. A domain it refuses (an invalid `xn--` label, a
 *   forbidden character) is kept as it is rather than thrown on: an address Gmail sends to must never break a
 *   registration or an opt-out. So is an ASCII domain (already all IDNA would make of it once lower-cased), an
 *   address literal such as `[192.0.2.1]` among them, and so every key of an ASCII address stays what it was before
 *   migration 0023: only rows with other characters needed keying again (db/mailboxes.ts).
 */
export function foldAddress(email: string): string {
  const address = normalizeEmail(email).normalize("NFC");
  const at = address.indexOf("@");
  return at < 0 ? address : `${address.slice(0, at)}@${asciiDomain(address.slice(at + 1))}`;
}

/** Characters URL would read as another part of a URL than its host (a user, a port, a path): no domain of ours. */
const NOT_IN_HOST = /[\s/\\?#@:%[\]]/;

/** Whether every character of `s` is in ASCII (U+0000 to U+007F, controls included). */
export function isAscii(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range, controls included, is what is tested.
  return /^[\x00-\x7f]*$/.test(s);
}

function asciiDomain(domain: string): string {
  if (isAscii(domain) || NOT_IN_HOST.test(domain)) return domain;
  try {
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return domain;
  }
}

/**
 * Gmail's domains: googlemail.com is the same mailbox as gmail.com, the name Google had to give Gmail in the UK (until
 * 2010) and Germany (until 2012), and mail to either reaches it.
 */
const GMAIL_DOMAINS: ReadonlySet<string> = new Set(["gmail.com", "googlemail.com"]);

/**
 * The mailbox an address delivers to, as opt-outs compare addresses: one typed as `John.Doe+work@googlemail.com` is the
 * mailbox `johndoe@gmail.com`, so an opt-out by either spelling covers emails to the other (docs/protocol.md §11). Only
 * opt-outs compare by it; addresses are shown and stored as they were written. The address is folded first
 * (foldAddress), so every spelling of an international address is one key. The worker writes the key beside each
 * recipient and opt-out (`mailbox_key`, migration 0023); a row without one is keyed by migration 0017's SQL, these same
 * rules over the unfolded address, which is this key for an address all in ASCII (worker/test/opt-outs.test.ts and
 * mailboxes.test.ts hold the two to each other). A change to the rules needs the stored keys changed with it.
 *
 * - At Gmail, the dots and everything from a `+` on are ignored: Google's "Dots don't matter in Gmail addresses"
 *   (support.google.com/mail/answer/7436150, read 2026-12-06) and its `+` addresses (support.google.com/mail/answer/12096).
 * - Elsewhere only a `+tag` goes. Dots stay: the same help page says that they do matter for an address at work or at
 *   school, Google's own Workspace included, and `j.smith@company` and `jsmith@company` may well be two people. `+` is
 *   the subaddress separator of Gmail and Outlook.com, and Exchange Online turned it on for every organisation from
 *   April 2022 ("Plus addressing in Exchange Online", learn.microsoft.com, read 2026-12-06). So a `+tag` spelling of a
 *   company address is, nearly always, the same person. Where it is not (an organisation that turned it off and gave
 *   `sales+eu@` its own mailbox: Exchange tries the whole address first), an opt-out by `sales@` leaves `sales+eu@`
 *   untracked too. That error costs the rep a reading; the other one would track someone who asked not to be, and
 *   break what the opt-out page promised. Other separators (Yahoo's `-`) are not cut: `anne-marie@` is a name.
 * - A local part that starts with `+` is kept whole: nothing would be left of it.
 */
export function mailboxKey(email: string): string {
  return mailboxOf(foldAddress(email));
}

/** mailboxKey's rules for an address already normalised: db/mailboxes.ts also applies them to the spelling before 0023. */
export function mailboxOf(address: string): string {
  const at = address.indexOf("@");
  if (at < 0) return address;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const plus = local.indexOf("+");
  const base = plus > 0 ? local.slice(0, plus) : local;
  return GMAIL_DOMAINS.has(domain) ? `${base.replace(/\./g, "")}@gmail.com` : `${base}@${domain}`;
}

/** RFC 5321's longest: 64 characters before the @, 255 after it. */
export const MAX_EMAIL_LENGTH = 64 + 1 + 255;

/**
 * An address as Gmail sends to it: something, an @, something, no spaces, at most 320 characters. Wider than zod's
 * `z.email()` on purpose: that one refuses addresses Gmail delivers every day (internationalised ones such as
 * `jörg@münchen.de`, punycode domains such as `.xn--p1ai`, `&` or `=` in the local part, single-label intranet
 * domains), and a single such recipient would make the tracker refuse the whole email's registration.
 */
export function isEmailAddress(email: string): boolean {
  return email.length <= MAX_EMAIL_LENGTH && /^[^@\s]+@[^@\s]+$/.test(email);
}
