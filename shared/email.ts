// Email addresses as the tracker compares and stores them. Without zod: the Gmail content script may import it.

/** An address as the tracker compares and stores it: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** RFC 5321's longest: 64 characters before the @, 255 after it. */
const MAX_EMAIL_LENGTH = 64 + 1 + 255;

/**
 * An address as Gmail sends to it: something, an @, something, no spaces, at most 320 characters. Wider than zod's
 * `z.email()` on purpose: that one refuses addresses Gmail delivers every day (internationalised ones such as
 * `jörg@münchen.de`, punycode domains such as `.xn--p1ai`, `&` or `=` in the local part, single-label intranet
 * domains), and a single such recipient would make the tracker refuse the whole email's registration.
 */
export function isEmailAddress(email: string): boolean {
  return email.length <= MAX_EMAIL_LENGTH && /^[^@\s]+@[^@\s]+$/.test(email);
}
