import { expect, it } from "vitest";
import { type Credentials, signingKeyFor, withSigningKey } from "./credentials";

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
