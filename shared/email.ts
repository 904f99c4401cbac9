// Email addresses as the tracker compares and stores them. Without zod: the Gmail content script may import it.

/** An address as the tracker compares and stores it: trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
