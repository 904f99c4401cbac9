// The tracker account this browser is connected to, and which of its keys signs what. Only the background holds
// them (kept by credential-store.ts): content scripts get a tracking id or signed links from the background, never the
// token or the signing key.
import { accountOf, type SigningKey } from "../../../shared/protocol";
import type { TrackerApi } from "./api";

export interface Credentials {
  trackerUrl: string;
  accountId: string;
  apiToken: string;
  /** The key new ids are minted with: the tracker's current one for this account. */
  signingKey: SigningKey;
  /**
   * Keys this browser minted ids with before the tracker's current one (a rotation, `POST /api/account/keys`, made
   * elsewhere and picked up here). A compose window opened before holds an id that names one of them, and its links
   * must be signed with that key: the tracker checks a link under the key its id names (docs/protocol.md §5), so a
   * link signed with another would send its reader to an error page.
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
