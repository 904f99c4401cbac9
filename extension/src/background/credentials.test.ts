import { expect, it, vi } from "vitest";

/** browser.storage.local. */
const stored = vi.hoisted(() => ({}) as Record<string, unknown>);
vi.mock("webextension-polyfill", () => ({
  default: {
    storage: {
      local: {
        get: async (key: string) => (key in stored ? { [key]: structuredClone(stored[key]) } : {}),
        set: async (items: Record<string, unknown>) => void Object.assign(stored, structuredClone(items)),
        remove: async (key: string) => void delete stored[key],
      },
    },
  },
}));

import {
  type Credentials,
  loadAccountMark,
  loadCredentials,
  removeCredentials,
  saveCredentials,
  signingKeyFor,
  withSigningKey,
} from "./credentials";

const key = (keyId: number) => ({ accountId: "abcdefghijklmnop", keyId, secret: String(keyId).repeat(43) });
const connected: Credentials = { trackerUrl: "https://t.example", accountId: "abcdefghijklmnop", apiToken: "mt_token", signingKey: key(1) };

it("keeps every key the browser minted ids with when the tracker's current key changes, and finds each by its id", () => {
  expect(withSigningKey(connected, key(1))).toBe(connected);
  const twice = withSigningKey(withSigningKey(connected, key(2)), key(3));
  expect(twice.signingKey).toEqual(key(3));
  expect(twice.earlierKeys).toEqual([key(1), key(2)]);
  for (const keyId of [1, 2, 3]) expect(signingKeyFor(twice, keyId)).toEqual(key(keyId));
  expect(signingKeyFor(twice, 4)).toBeNull();
  // Picking up the same rotation twice keeps one copy of each key.
  expect(withSigningKey(twice, key(3))).toBe(twice);
  expect(withSigningKey(twice, key(2)).earlierKeys).toEqual([key(1), key(3)]);
});

it("a disconnect removes the token and keeps which account it opened, which no later connect forgets", async () => {
  expect(await loadAccountMark()).toBeNull();
  await saveCredentials(connected);
  await removeCredentials();
  expect(await loadCredentials()).toBeNull();
  expect(JSON.stringify(stored)).not.toContain(connected.apiToken);
  expect(JSON.stringify(stored)).not.toContain(connected.signingKey.secret);
  expect(await loadAccountMark()).toEqual({ trackerUrl: "https://t.example", accountId: "abcdefghijklmnop" });
  // Connected to another account and disconnected again: the mark names the one left last.
  await saveCredentials({ ...connected, accountId: "qrstuvwxyzabcdef", apiToken: "other" });
  expect(await loadAccountMark()).toEqual({ trackerUrl: "https://t.example", accountId: "abcdefghijklmnop" });
  await removeCredentials();
  expect(await loadAccountMark()).toEqual({ trackerUrl: "https://t.example", accountId: "qrstuvwxyzabcdef" });
});
