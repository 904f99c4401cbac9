// The tracker account this browser is connected to. Only the background reads or writes this key: content scripts
// get a tracking id or signed links from the background, never the token or the signing key.
import browser from "webextension-polyfill";
import type { SigningKey } from "../../../shared/protocol";
import type { TrackerApi } from "./api";

export interface Credentials {
  trackerUrl: string;
  accountId: string;
  apiToken: string;
  signingKey: SigningKey;
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

export async function saveCredentials(credentials: Credentials | null): Promise<void> {
  if (credentials) await browser.storage.local.set({ [KEY]: credentials });
  else await browser.storage.local.remove(KEY);
}
