import { beforeEach, expect, it, vi } from "vitest";

/** browser.storage.local, which content scripts read too; and the background's private area (private-area.ts). */
const { local, privateArea } = await vi.hoisted(async () => {
  const { memoryArea } = await import("./memory-area");
  const local = memoryArea();
  const getOne = local.get;
  // get(null) answers every item, as it would a content script asking for them all.
  const get = async (key: string | null) => (key === null ? structuredClone(local.data) : getOne(key));
  return { local: { ...local, get }, privateArea: memoryArea() };
});
const stored = local.data;
vi.mock("webextension-polyfill", () => ({ default: { storage: { local } } }));
vi.mock("./private-area", () => ({ privateArea }));

import {
  heldAccountRecords,
  heldAccounts,
  loadAccountMark,
  loadCredentials,
  MAX_HELD_ACCOUNTS,
  removeCredentials,
  updateCredentials,
  writeCredentials,
} from "./credential-store";
import { type Credentials, signingKeyFor, withSigningKey } from "./credentials";

/** The credential store as a new start of the background loads it (the move out of storage.local not made yet). */
async function restartedBackground(): Promise<typeof import("./credential-store")> {
  vi.resetModules();
  return import("./credential-store");
}

beforeEach(() => {
  for (const area of [local, privateArea]) for (const key of Object.keys(area.data)) delete area.data[key];
  vi.restoreAllMocks();
});

/** Connects with `credentials`, whatever was stored before. */
const saveCredentials = (credentials: Credentials) => writeCredentials(() => credentials);

const key = (keyId: number) => ({ accountId: "abcdefghijklmnop", keyId, secret: String(keyId).repeat(43) });
const connected: Credentials = { trackerUrl: "https://t.example", accountId: "abcdefghijklmnop", apiToken: "mt_token", signingKey: key(1) };

it("a disconnect removes the token and keeps which account it opened, which no later connect forgets", async () => {
  expect(await loadAccountMark()).toBeNull();
  await saveCredentials(connected);
  await removeCredentials();
  expect(await loadCredentials()).toBeNull();
  expect(JSON.stringify([stored, privateArea.data])).not.toContain(connected.apiToken);
  expect(JSON.stringify([stored, privateArea.data])).not.toContain(connected.signingKey.secret);
  expect(await loadAccountMark()).toEqual({ trackerUrl: "https://t.example", accountId: "abcdefghijklmnop" });
  // Connected to another account and disconnected again: the mark names the one left last.
  await saveCredentials({ ...connected, accountId: "qrstuvwxyzabcdef", apiToken: "other" });
  expect(await loadAccountMark()).toEqual({ trackerUrl: "https://t.example", accountId: "abcdefghijklmnop" });
  await removeCredentials();
  expect(await loadAccountMark()).toEqual({ trackerUrl: "https://t.example", accountId: "qrstuvwxyzabcdef" });
});

it("records each account this browser held, one an earlier version connected to too, out of content scripts' reach and bounded", async () => {
  // Connected by an earlier version, which recorded nothing.
  privateArea.data.credentials = connected;
  const [second, third] = ["qrstuvwxyzabcdef", "zyxwvutsrqponmlk"];
  await saveCredentials({ ...connected, accountId: second });
  expect(await heldAccounts()).toEqual([connected.accountId, second]);
  // Removed at a disconnect too: one an earlier version connected to, disconnected by this one.
  privateArea.data.credentials = { ...connected, accountId: third };
  await removeCredentials();
  expect(await heldAccounts()).toEqual([connected.accountId, second, third]);
  // Where a content script could write, it could add an account.
  expect(JSON.stringify(local.data)).not.toContain(second);
  // The latest last; the one connected to longest ago goes first.
  // Valid account ids (base32: a-z, 2-7), as many as the bound is, whatever it is set to (up to 32 * 32).
  const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
  for (let i = 0; i < MAX_HELD_ACCOUNTS; i++)
    await saveCredentials({ ...connected, accountId: `xxxxxxxxxxxxxx${BASE32[Math.floor(i / 32)]}${BASE32[i % 32]}` });
  await saveCredentials(connected);
  const held = await heldAccounts();
  expect(held).toHaveLength(MAX_HELD_ACCOUNTS);
  expect(held.at(-1)).toBe(connected.accountId);
  expect(held).not.toContain(second);
});

it("records the account only when it, or its tracker's address, is new: a new token or signing key of it writes no record", async () => {
  await saveCredentials(connected);
  expect(await heldAccountRecords()).toEqual([{ accountId: connected.accountId, trackerUrl: "https://t.example" }]);
  privateArea.writes.length = 0;
  await saveCredentials({ ...connected, apiToken: "mt_replaced_token" });
  await saveCredentials(withSigningKey(connected, key(2)));
  expect(privateArea.writes).toEqual([["credentials"], ["credentials"]]);
  // The tracker moved: the address the account is shown at follows it.
  await saveCredentials({ ...connected, trackerUrl: "https://moved.example" });
  expect(await heldAccountRecords()).toEqual([{ accountId: connected.accountId, trackerUrl: "https://moved.example" }]);
  // One recorded by an earlier version, an id alone, is read without an address.
  privateArea.data.heldAccounts = ["qrstuvwxyzabcdef"];
  expect(await heldAccountRecords()).toEqual([{ accountId: "qrstuvwxyzabcdef", trackerUrl: null }]);
});

/** Everything in browser.storage.local, as any content script can read it. */
const readableByContentScripts = async () => JSON.stringify(await local.get(null));
/** Credentials as an earlier version left them in storage.local: a key rotated since, the earlier one kept. */
const earlierVersions: Credentials = { ...withSigningKey(connected, key(2)), apiToken: "mt_token_of_an_earlier_version" };

it("keeps the API token and the signing keys out of browser.storage.local, which content scripts can read", async () => {
  const background = await restartedBackground();
  let changes = 0;
  background.onCredentialsChanged(() => changes++);
  await background.writeCredentials(() => connected);
  await background.writeCredentials(() => withSigningKey(connected, key(2)));
  expect(changes).toBe(2);
  expect(await background.loadCredentials()).toEqual(withSigningKey(connected, key(2)));
  const readable = await readableByContentScripts();
  for (const secret of [connected.apiToken, key(1).secret, key(2).secret]) expect(readable).not.toContain(secret);
});

it("moves credentials an earlier version kept in storage.local at the next start, token and every key still usable", async () => {
  stored.credentials = structuredClone(earlierVersions);
  const background = await restartedBackground();
  await background.movedFromStorageLocal();
  expect(privateArea.data.credentials).toEqual(earlierVersions);
  expect(stored.credentials).toBeUndefined();
  expect(await readableByContentScripts()).not.toContain(earlierVersions.apiToken);
  const held = await background.loadCredentials();
  expect(held).toEqual(earlierVersions);
  for (const keyId of [1, 2]) expect(held && signingKeyFor(held, keyId)).toEqual(key(keyId));

  // Later starts keep them; credentials put into storage.local since (a content script can write there) are removed,
  // never taken for the account's.
  stored.credentials = { ...connected, trackerUrl: "https://elsewhere.example", apiToken: "mt_planted" };
  const later = await restartedBackground();
  expect(await later.loadCredentials()).toEqual(earlierVersions);
  expect(stored.credentials).toBeUndefined();
});

it("a failed write to the private area leaves the storage.local copy, still used, and the next start moves it", async () => {
  stored.credentials = structuredClone(earlierVersions);
  const failing = vi.spyOn(privateArea, "set").mockRejectedValue(new Error("QuotaExceededError"));
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  const background = await restartedBackground();
  await expect(background.movedFromStorageLocal()).rejects.toThrow("QuotaExceededError");
  expect(stored.credentials).toEqual(earlierVersions);
  // Each read tries the move again, and meanwhile answers the old copy.
  expect(await background.loadCredentials()).toEqual(earlierVersions);
  expect(stored.credentials).toEqual(earlierVersions);
  failing.mockRestore();

  // A write that seemed to go through but reads back otherwise: the copy in storage.local stays too.
  const lost = vi.spyOn(privateArea, "set").mockImplementation(async () => undefined);
  const unread = await restartedBackground();
  await expect(unread.movedFromStorageLocal()).rejects.toThrow("read back");
  expect(stored.credentials).toEqual(earlierVersions);
  lost.mockRestore();

  const next = await restartedBackground();
  expect(await next.loadCredentials()).toEqual(earlierVersions);
  expect(stored.credentials).toBeUndefined();
});

it("stopped between the copy and the removal, the next start only removes the old copy", async () => {
  stored.credentials = structuredClone(earlierVersions);
  vi.spyOn(local, "remove").mockRejectedValueOnce(new Error("the service worker stopped"));
  const background = await restartedBackground();
  await expect(background.movedFromStorageLocal()).rejects.toThrow("stopped");
  expect(privateArea.data.credentials).toEqual(earlierVersions);
  expect(stored.credentials).toEqual(earlierVersions);

  const next = await restartedBackground();
  expect(await next.loadCredentials()).toEqual(earlierVersions);
  expect(stored.credentials).toBeUndefined();
});

it("credentials saved at a start before the move ran are kept: the old copy never goes back over them", async () => {
  stored.credentials = structuredClone(earlierVersions);
  const background = await restartedBackground();
  // A key rotation picked up by the first message after the update, say.
  const rotated = withSigningKey(earlierVersions, key(3));
  await background.writeCredentials(() => rotated);
  expect(await background.loadCredentials()).toEqual(rotated);
  expect(stored.credentials).toBeUndefined();
  expect(await (await restartedBackground()).loadCredentials()).toEqual(rotated);
});

it("a change to the credentials read before (updateCredentials) is made to them as they are now, or not at all", async () => {
  const other: Credentials = {
    ...connected,
    accountId: "otheraccountwxyz",
    apiToken: "mt_other",
    signingKey: { ...key(1), accountId: "otheraccountwxyz" },
  };
  const rotate = (current: Credentials) => withSigningKey(current, key(2));
  await saveCredentials(connected);
  // Another account connected just as the change read the credentials: written after it, never over it with the account
  // of before.
  const get = privateArea.get;
  let meanwhile: Promise<unknown> | undefined;
  vi.spyOn(privateArea, "get").mockImplementation(async (keys) => {
    const read = await get(keys);
    if (keys === "credentials" && !meanwhile) {
      meanwhile = saveCredentials(other);
      // Every step the Connect can take before the change goes on (each a memory area's promise): all of it, unless it waits.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return read;
  });
  await updateCredentials(connected.accountId, rotate);
  await meanwhile;
  vi.restoreAllMocks();
  expect(await loadCredentials()).toEqual(other);
  // Still of another account, or none: refused, nothing written.
  await expect(updateCredentials(connected.accountId, rotate)).rejects.toThrow("this browser was connected to another account meanwhile");
  expect(await loadCredentials()).toEqual(other);
  await removeCredentials();
  await expect(updateCredentials(other.accountId, rotate)).rejects.toThrow("this browser was disconnected meanwhile");
  expect(await loadCredentials()).toBeNull();
  // Of the same account: made to what is stored now (its token taken up meanwhile kept).
  await saveCredentials({ ...connected, apiToken: "mt_new" });
  expect(await updateCredentials(connected.accountId, rotate)).toEqual({ ...rotate(connected), apiToken: "mt_new" });
  expect(await loadCredentials()).toEqual({ ...rotate(connected), apiToken: "mt_new" });
});
