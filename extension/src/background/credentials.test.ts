import { expect, it, vi } from "vitest";
import { type Credentials, connectedAgain, keysAnswered, signingKeyFor, withSigningKey } from "./credentials";

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

it("takes up the earlier keys the tracker answers, none from a tracker older than them, and leaves out what is no earlier key", () => {
  const answer = { accountId: connected.accountId, signingKey: { keyId: 3, secret: key(3).secret } };
  expect(keysAnswered(answer)).toEqual({ signingKey: key(3) });
  const earlierKeys = [key(1), key(2)].map(({ keyId, secret }) => ({ keyId, secret }));
  expect(keysAnswered({ ...answer, earlierKeys })).toEqual({ signingKey: key(3), earlierKeys: [key(1), key(2)] });
  // Not a key, a key id not before the current one, or no list: left out, the rest taken up.
  const odd = [
    { keyId: 1, secret: "short" },
    "junk",
    { keyId: 3, secret: key(4).secret },
    { keyId: 4, secret: key(4).secret },
    earlierKeys[1],
  ];
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  expect(keysAnswered({ ...answer, earlierKeys: odd })).toEqual({ signingKey: key(3), earlierKeys: [key(2)] });
  expect(keysAnswered({ ...answer, earlierKeys: { keyId: 1 } })).toEqual({ signingKey: key(3) });
  // What was left out is told, but no secret of the answer's (a key of this account's among them) is logged.
  expect(warn).toHaveBeenCalledTimes(2);
  expect(JSON.stringify(warn.mock.calls)).not.toContain(key(4).secret);
  warn.mockRestore();
});

it("a Connect to the account held keeps every key, and its pending token only while the rep connects with the token it was made to replace", () => {
  const pendingToken = { apiToken: "mt_pending", askedAt: 0 };
  const held: Credentials = { ...withSigningKey(connected, key(2)), pendingToken };
  const fresh = (apiToken: string): Credentials => ({
    ...connected,
    trackerUrl: "https://moved.example",
    apiToken,
    signingKey: key(3),
    earlierKeys: [key(1), key(2)],
  });
  // The token it was made to replace: the replacement may still land, and is settled as before.
  expect(connectedAgain(held, fresh("mt_token"))).toEqual({
    ...connected,
    trackerUrl: "https://moved.example",
    signingKey: key(3),
    earlierKeys: [key(1), key(2)],
    pendingToken,
  });
  // The pending one itself (in use now), or any other token the tracker took (the one it was to replace is gone): none pends.
  for (const apiToken of ["mt_pending", "mt_typed"])
    expect(connectedAgain(held, fresh(apiToken))).toEqual({ ...fresh(apiToken), earlierKeys: [key(1), key(2)] });
  // Keys of this browser's the tracker did not answer stay, and those it answered that this browser lacked are added.
  expect(connectedAgain({ ...connected, earlierKeys: [key(7)] }, fresh("mt_token")).earlierKeys).toEqual([key(7), key(1), key(2)]);
  // Another account, or none held: the tracker's answer alone.
  expect(connectedAgain({ ...held, accountId: "qrstuvwxyzabcdef" }, fresh("mt_typed"))).toEqual(fresh("mt_typed"));
  expect(connectedAgain(null, fresh("mt_typed"))).toEqual(fresh("mt_typed"));
});
