// API tokens: `mt_<accountId>_<secret>`, the secret 32 random bytes in unpadded base64url (43 characters). The tracker
// makes one when it creates an account; the extension makes one when the rep replaces the account's token, keeps it
// before it asks, and sends it to the tracker (POST /api/account/token), so that an answer lost on its way back loses
// no token (extension/src/background/token-replacement.ts). The tracker stores only its SHA-256.
import { base64UrlEncode, randomBytes } from "./encoding";

export const API_TOKEN_PATTERN = /^mt_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * Fewer distinct characters than this among the secret's 43 ("AAAA…", a word repeated, a short alphabet) is not a
 * random secret: 43 characters drawn at random from base64url's 64 show fewer than 16 distinct ones with a probability
 * of about 5.5e-14 (31.5 on average), so the tracker refusing them refuses no token made by newApiToken, which draws
 * again in that case.
 */
const MIN_DISTINCT_CHARACTERS = 16;

/** The account the token names, or null when it is no API token. */
export function apiTokenAccount(token: string): string | null {
  return API_TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

/** Whether the token's secret looks drawn at random (MIN_DISTINCT_CHARACTERS); its format is API_TOKEN_PATTERN's. */
export function isRandomApiToken(token: string): boolean {
  const secret = API_TOKEN_PATTERN.exec(token)?.[2];
  return secret !== undefined && new Set(secret).size >= MIN_DISTINCT_CHARACTERS;
}

/** A new API token of `accountId`, from crypto.getRandomValues (encoding.ts randomBytes). */
export function newApiToken(accountId: string): string {
  for (;;) {
    const token = `mt_${accountId}_${base64UrlEncode(randomBytes(32))}`;
    if (isRandomApiToken(token)) return token;
  }
}
