import { parseTrackingId, type TrackingId, verifyLinkSignature, verifyTrackingId } from "../../shared/protocol";
import type { Bindings } from "./env";
import { deriveSigningKey, hasUsableSigningSecret } from "./keys";

export interface VerifiedId {
  id: TrackingId;
  /** The account key the id was minted with: it also verifies the message's link signatures. */
  accountKey: string;
}

/**
 * The id with the account key it names if `check` passes with them; null for a malformed id, no usable secret or a
 * failed check. A key derived before is taken without an await: each await is a turn of workerd's promise machinery
 * (keys.ts).
 */
async function verifiedWith(env: Bindings, text: string, check: (named: VerifiedId) => Promise<boolean>): Promise<VerifiedId | null> {
  const id = parseTrackingId(text);
  if (!id || !hasUsableSigningSecret(env.SIGNING_SECRET)) return null;
  const derived = deriveSigningKey(env.SIGNING_SECRET, id.accountId, id.keyId);
  const named = { id, accountKey: typeof derived === "string" ? derived : await derived };
  return (await check(named)) ? named : null;
}

/** Checks an id's shape and MAC with CPU work only: no storage is read for a forged or malformed id. */
export function verifiedTrackingId(env: Bindings, text: string): Promise<VerifiedId | null> {
  return verifiedWith(env, text, ({ id, accountKey }) => verifyTrackingId(id, accountKey));
}

/**
 * A click link's id, verified by the link's signature alone: one MAC where checking the id too would take two. The
 * signature covers the id's whole text, its MAC included, under the key the id names (docs/protocol.md §5), so
 * only that key's holder could have signed it, and a forged or altered id fails it; the holder of that key can mint
 * valid ids anyway, so the id's own MAC would prove nothing more.
 */
export function verifiedLinkId(
  env: Bindings,
  text: string,
  linkIndex: number,
  destination: string,
  signature: string,
): Promise<VerifiedId | null> {
  return verifiedWith(env, text, ({ id, accountKey }) => verifyLinkSignature(accountKey, id.value, linkIndex, destination, signature));
}
