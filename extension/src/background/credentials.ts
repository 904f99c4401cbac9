// The tracker account this browser is connected to. Only the background reads or writes this key: content scripts
// get a tracking id or signed links from the background, never the token or the signing key.
import browser from "webextension-polyfill";
import type { SigningKey } from "../../../shared/protocol";
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

/** How a handler reaches the tracker: the connected account's credentials, and a client of the tracker for them. */
export interface TrackerAccess {
  /** Throws, in words, when this browser is not connected. */
  requireCredentials(): Promise<Credentials>;
  tracker(credentials: Credentials): TrackerApi;
}

const KEY = "credentials";

export async function loadCredentials(): Promise<Credentials | null> {
  const stored = (await browser.storage.local.get(KEY))[KEY] as Credentials | undefined;
  return stored?.apiToken && stored.signingKey?.secret ? stored : null;
}

/** Calls `listener` whenever the stored credentials change: connected, disconnected, keys rotated. */
export function onCredentialsChanged(listener: () => void): void {
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && KEY in changes) listener();
  });
}

export async function saveCredentials(credentials: Credentials): Promise<void> {
  await browser.storage.local.set({ [KEY]: credentials });
}

/**
 * The account this browser was connected to before a disconnect: not a secret, and kept. The API token that opens it
 * was shown once, at its creation, and is gone with the credentials, so Connect without a token asks before creating
 * another account even then (handlers.ts connect): a new account silently put in its place would leave every earlier
 * email's opens, clicks and follow-ups out of reach.
 */
export interface AccountMark {
  trackerUrl: string;
  accountId: string;
}

const ACCOUNT_MARK_KEY = "disconnectedAccount";

export async function loadAccountMark(): Promise<AccountMark | null> {
  const mark = (await browser.storage.local.get(ACCOUNT_MARK_KEY))[ACCOUNT_MARK_KEY] as AccountMark | undefined;
  return mark?.accountId ? mark : null;
}

/** Disconnects: removes the credentials, keeping the mark of the account they opened (loadAccountMark). */
export async function removeCredentials(): Promise<void> {
  const held = await loadCredentials();
  if (held) await browser.storage.local.set({ [ACCOUNT_MARK_KEY]: { trackerUrl: held.trackerUrl, accountId: held.accountId } });
  await browser.storage.local.remove(KEY);
}
