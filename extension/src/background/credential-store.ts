// Where the credentials (credentials.ts) are kept: the background's private area (private-area.ts), out of content
// scripts' reach, never browser.storage.local, which every content script can read and whose every change reaches
// each Gmail tab's storage.onChanged. Every read and write of them goes through here, in the background only.
import browser from "webextension-polyfill";
import { serialRunner } from "../serial";
import type { Credentials } from "./credentials";
import { privateArea } from "./private-area";

const KEY = "credentials";
/**
 * Set once the credentials an earlier version kept in browser.storage.local were moved here (or there were none): from
 * then on a "credentials" key in storage.local is a leftover, or was put there by a content script, and is only removed.
 */
const MOVED_KEY = "credentialsMovedFromStorageLocal";

function usable(stored: unknown): Credentials | null {
  const credentials = stored as Credentials | undefined;
  return credentials?.apiToken && credentials.signingKey?.secret ? credentials : null;
}

/**
 * Moves the credentials an earlier version kept in browser.storage.local into the private area: written, read back
 * and compared, and only then removed from storage.local. A signing key must never be lost (ids minted with it name
 * it, and its links could be signed by nothing else): a failure or a crash at any step leaves the storage.local copy,
 * and the next start of the background moves it again.
 */
async function moveFromStorageLocal(): Promise<void> {
  if ((await privateArea.get(MOVED_KEY))[MOVED_KEY] === true) {
    if (KEY in (await browser.storage.local.get(KEY))) await browser.storage.local.remove(KEY);
    return;
  }
  const old = (await browser.storage.local.get(KEY))[KEY];
  if (old !== undefined) {
    await privateArea.set({ [KEY]: old });
    const copy = (await privateArea.get(KEY))[KEY];
    if (JSON.stringify(copy) !== JSON.stringify(old)) throw new Error("the credentials read back differ from those written");
  }
  await privateArea.set({ [MOVED_KEY]: true });
  if (old !== undefined) await browser.storage.local.remove(KEY);
}

let moved: Promise<void> | undefined;

/**
 * The move out of storage.local, once per start of the background (index.ts starts it; every read and write of the
 * credentials waits for it); tried again on the next call after a failure.
 */
export function movedFromStorageLocal(): Promise<void> {
  moved ??= moveFromStorageLocal().catch((error: unknown) => {
    moved = undefined;
    throw error;
  });
  return moved;
}

export async function loadCredentials(): Promise<Credentials | null> {
  try {
    await movedFromStorageLocal();
  } catch (error) {
    // Not moved (yet): the old copy, still where an earlier version left it, keeps this browser connected meanwhile.
    console.warn("credentials not moved out of storage.local", error);
    return usable((await browser.storage.local.get(KEY))[KEY]);
  }
  return usable((await privateArea.get(KEY))[KEY]);
}

/** The account this browser is connected to, if any. */
export async function loadAccountId(): Promise<string | null> {
  return (await loadCredentials())?.accountId ?? null;
}

const changeListeners = new Set<() => void>();

/**
 * Calls `listener` whenever the stored credentials change: connected, disconnected, keys rotated, token replaced. Only
 * this module writes them, and only in the background, so its own writes are all the changes there are.
 */
export function onCredentialsChanged(listener: () => void): void {
  changeListeners.add(listener);
}

function changed(): void {
  for (const listener of changeListeners) listener();
}

/**
 * Every write of the credentials, one after another: a change made to credentials read before (writeCredentials,
 * updateCredentials) reads them again in the same step, so no Connect, disconnect, key rotation or token replacement
 * landing meanwhile is written over.
 */
const oneWrite = serialRunner();

async function store(credentials: Credentials): Promise<void> {
  // After the move: a move made later would put the older credentials back over these.
  await movedFromStorageLocal();
  // Recorded when the account, or its tracker's address, is new here: a new token or signing key of the account
  // connected changes neither (it was recorded when connected, or is when left: removeCredentials). The account these
  // take the place of too: one connected to by an earlier version was never recorded.
  const before = await loadCredentials();
  if (before?.accountId !== credentials.accountId || before.trackerUrl !== credentials.trackerUrl)
    await recordHeldAccounts([before, credentials]);
  await privateArea.set({ [KEY]: credentials });
  changed();
}

/**
 * The stored credentials replaced by `change` of them as they are now (null: none), read again in the same step as the
 * write: a key rotation or a token taken up meanwhile is there to be kept. Returns those written (`change`'s answer).
 */
export function writeCredentials(change: (current: Credentials | null) => Credentials): Promise<Credentials> {
  return oneWrite(async () => {
    const current = await loadCredentials();
    const changed = change(current);
    if (changed !== current) await store(changed);
    return changed;
  });
}

/**
 * The stored credentials, still of `accountId`, `change` made to them as they are now (writeCredentials). For a change
 * worked out from a tracker's answer to credentials read before it: throws, and writes nothing, when this browser was
 * disconnected or connected to another account meanwhile, whose credentials the old ones must not come back over.
 */
export function updateCredentials(accountId: string, change: (current: Credentials) => Credentials): Promise<Credentials> {
  return writeCredentials((current) => {
    if (!current) throw new Error("this browser was disconnected meanwhile");
    if (current.accountId !== accountId) throw new Error("this browser was connected to another account meanwhile");
    return change(current);
  });
}

const HELD_ACCOUNTS_KEY = "heldAccounts";
/**
 * A bound on the accounts recorded (heldAccounts): far more than a rep switches between, each an account id of 16
 * characters. The ones connected to longest ago go first.
 */
export const MAX_HELD_ACCOUNTS = 20;

/** An account this browser has been connected to, at the tracker address it was last connected to it at. */
export interface HeldAccount {
  accountId: string;
  /** Null for one recorded before its address was (an account id alone). */
  trackerUrl: string | null;
}

/**
 * The accounts this browser has been connected to, the latest last, whether or not it is connected now. A compose
 * window opened before the rep connected to another account (or disconnected) sends with an id of the one before:
 * its registration is queued all the same, and waits for that account (handlers.ts heldAccountId). Kept in the
 * private area: a content script, which can write browser.storage.local, cannot add an account to it.
 */
export async function heldAccountRecords(): Promise<HeldAccount[]> {
  const stored = (await privateArea.get(HELD_ACCOUNTS_KEY))[HELD_ACCOUNTS_KEY];
  return (Array.isArray(stored) ? (stored as unknown[]) : []).flatMap((item): HeldAccount[] => {
    if (typeof item === "string") return [{ accountId: item, trackerUrl: null }];
    const held = item as Partial<HeldAccount> | null;
    return typeof held?.accountId === "string" ? [{ accountId: held.accountId, trackerUrl: held.trackerUrl ?? null }] : [];
  });
}

/** The ids of heldAccountRecords. */
export async function heldAccounts(): Promise<string[]> {
  return (await heldAccountRecords()).map((held) => held.accountId);
}

async function recordHeldAccounts(accounts: (Pick<Credentials, "accountId" | "trackerUrl"> | null)[]): Promise<void> {
  const fresh = [
    ...new Map(accounts.flatMap((a) => (a ? [[a.accountId, { accountId: a.accountId, trackerUrl: a.trackerUrl }] as const] : []))).values(),
  ];
  const kept = (await heldAccountRecords()).filter((held) => !fresh.some((a) => a.accountId === held.accountId));
  await privateArea.set({ [HELD_ACCOUNTS_KEY]: [...kept, ...fresh].slice(-MAX_HELD_ACCOUNTS) });
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

/** The account this browser holds: the one connected, or the one disconnected from (its mark kept), or none. */
export async function heldAccountId(): Promise<string | null> {
  return ((await loadCredentials()) ?? (await loadAccountMark()))?.accountId ?? null;
}

/**
 * Disconnects: removes the credentials, keeping the mark of the account they opened (loadAccountMark). Returns those
 * removed (null: none), read in the same step: a token replacement landing before it is in them.
 */
export function removeCredentials(): Promise<Credentials | null> {
  return oneWrite(forget);
}

async function forget(): Promise<Credentials | null> {
  const held = await loadCredentials();
  if (held) {
    await browser.storage.local.set({ [ACCOUNT_MARK_KEY]: { trackerUrl: held.trackerUrl, accountId: held.accountId } });
    await recordHeldAccounts([held]);
  }
  await privateArea.remove(KEY);
  // A copy not moved yet goes too: the rep asked for the token to be gone.
  await browser.storage.local.remove(KEY);
  changed();
  return held;
}
