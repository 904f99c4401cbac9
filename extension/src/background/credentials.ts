// The tracker account this browser is connected to, and which of its keys signs what. Only the background holds
// them (kept by credential-store.ts): content scripts get a tracking id or signed links from the background, never the
// token or the signing key.
import { z } from "zod";
import { accountOf, type SigningKey } from "../../../shared/protocol";
import type { TrackerApi } from "./api";

export interface Credentials {
  trackerUrl: string;
  accountId: string;
  apiToken: string;
  /** The key new ids are minted with: the tracker's current one for this account. */
  signingKey: SigningKey;
  /**
   * Keys of the account's before the tracker's current one: those this browser minted ids with before a rotation
   * (`POST /api/account/keys`, made elsewhere and picked up here), and those the tracker answered at Connect
   * (keysAnswered). A compose window opened before holds an id that names one of them, and its links must be signed
   * with that key: the tracker checks a link under the key its id names (docs/protocol.md §5), so a link signed with
   * another would send its reader to an error page.
   */
  earlierKeys?: SigningKey[];
  /**
   * A new API token this browser made to replace `apiToken` (token-replacement.ts): kept before the tracker is asked,
   * so that an answer lost on its way back loses no token, until the answer, or a try of each token, settles it.
   */
  pendingToken?: PendingToken;
}

export interface PendingToken {
  apiToken: string;
  /** When the tracker was last asked for it (Date.now()): a request carrying it may be on its way for a while. */
  askedAt: number;
}

/** These credentials with `key` as the current signing key, the one it replaces kept among the earlier keys. */
export function withSigningKey(credentials: Credentials, key: SigningKey): Credentials {
  const previous = credentials.signingKey;
  if (previous.keyId === key.keyId && previous.secret === key.secret) return credentials;
  const earlier = (credentials.earlierKeys ?? []).filter((k) => k.keyId !== previous.keyId && k.keyId !== key.keyId);
  return { ...credentials, signingKey: key, earlierKeys: [...earlier, previous] };
}

/**
 * The credentials a Connect writes in place of `current` (as stored at the write) with `fresh`, made from the
 * tracker's answer: `fresh` for another account, or none; for the same account connected again (a new token, a
 * tracker moved), `fresh`'s token and address with every key `current` holds (compose windows may hold ids minted with
 * any of them, and one rotated meanwhile signs ids too), and its pending token only while it is of the token connected
 * with. A pending token is to take the place of the token it was made for (token-replacement.ts), asked with that
 * token; the tracker puts one only in place of the token it holds (worker/src/routes/accounts.ts `POST /token`). So
 * while the rep connects with that same token the replacement may still land, and is settled as before; any other
 * token the tracker took (the pending one itself, or one another browser's replacement made) is the account's one now:
 * the pending one is then in use or can never land, and kept it would still be sent by the next replacement and would
 * hide from the rep the tracker's refusals of the token (tellsOfStoredToken).
 */
export function connectedAgain(current: Credentials | null, fresh: Credentials, heldAtAsk?: string): Credentials {
  if (current?.accountId !== fresh.accountId) return fresh;
  // The token this browser held as the tracker was asked (`heldAtAsk`), typed again, and replaced here meanwhile
  // (token-replacement.ts adopt): the replacement is the account's token now, and the one typed opens nothing.
  const apiToken = fresh.apiToken === heldAtAsk ? current.apiToken : fresh.apiToken;
  const { pendingToken, ...held } = current;
  const stillPending = pendingToken && current.apiToken === apiToken ? { pendingToken } : {};
  const merged = withSigningKey({ ...held, ...stillPending, trackerUrl: fresh.trackerUrl, apiToken }, fresh.signingKey);
  const added = (fresh.earlierKeys ?? []).filter((key) => signingKeyFor(merged, key.keyId) === null);
  return added.length === 0 ? merged : { ...merged, earlierKeys: [...(merged.earlierKeys ?? []), ...added] };
}

const keyAnswered = z.object({ keyId: z.number().int().min(1).max(9999), secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });

/**
 * The keys of the tracker's answer to `GET /api/account`, as credentials hold them: its current one, and the earlier
 * ones it answers (`earlierKeys`, docs/protocol.md §2), checked here as the tracker's client reads its answers
 * unchecked (api.ts answer): a tracker older than that field answers none, and one that is no key, or that names no
 * key id before the current one, is left out, logged. The current key is written as before.
 */
export function keysAnswered(account: {
  accountId: string;
  signingKey: { keyId: number; secret: string };
  earlierKeys?: unknown;
}): Pick<Credentials, "signingKey" | "earlierKeys"> {
  const signingKey = { accountId: account.accountId, ...account.signingKey };
  const answered: unknown[] = Array.isArray(account.earlierKeys) ? account.earlierKeys : [];
  const earlierKeys = answered.flatMap((item): SigningKey[] => {
    const key = keyAnswered.safeParse(item);
    return key.success && key.data.keyId < signingKey.keyId ? [{ accountId: account.accountId, ...key.data }] : [];
  });
  // Counted, not shown: what the tracker answered holds the account's signing secrets, and the log is no place for them.
  if (earlierKeys.length < answered.length || (account.earlierKeys !== undefined && !Array.isArray(account.earlierKeys)))
    console.warn(
      `the tracker's earlier signing keys that are not keys of this account's were left out: ${answered.length - earlierKeys.length}`,
    );
  return earlierKeys.length === 0 ? { signingKey } : { signingKey, earlierKeys };
}

/** The key an id of this account names (by its key id), or null when this browser never held it. */
export function signingKeyFor(credentials: Credentials, keyId: number): SigningKey | null {
  return [credentials.signingKey, ...(credentials.earlierKeys ?? [])].find((key) => key.keyId === keyId) ?? null;
}

/**
 * Whether a tracking id was minted for another account than these credentials open: the rep connected to another
 * since its email was sent or its reminder set. That account's tracker and token are not these, and only the rep
 * connecting to it again reaches it. A string that is not a tracking id names no account.
 */
export function ofAnotherAccount(credentials: Credentials, trackingId: string): boolean {
  const owner = accountOf(trackingId);
  return owner !== undefined && owner !== credentials.accountId;
}

/** How a handler reaches the tracker: the connected account's credentials, and a client of the tracker for them. */
export interface TrackerAccess {
  /** Throws, in words, when this browser is not connected. */
  requireCredentials(): Promise<Credentials>;
  tracker(credentials: Credentials): TrackerApi;
}
