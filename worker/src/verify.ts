import { parseTrackingId, type TrackingId, verifyLinkSignature, verifyTrackingId } from "../../shared/protocol";
import type { Bindings } from "./env";
import { deriveSigningKey, hasUsableSigningSecret } from "./keys";

export interface VerifiedId {
  id: TrackingId;
  /** The account key the id was minted with: it also verifies the message's link signatures. */
  accountKey: string;
}

/**
 * The id's shape and the account key it names, nothing verified yet; null for a malformed id or no usable secret. A
 * key derived before comes as it is, not as a promise: each await is a turn of workerd's promise machinery (keys.ts).
 */
function namedKey(env: Bindings, text: string): VerifiedId | Promise<VerifiedId> | null {
  const id = parseTrackingId(text);
  if (!id || !hasUsableSigningSecret(env.SIGNING_SECRET)) return null;
  const derived = deriveSigningKey(env.SIGNING_SECRET, id.accountId, id.keyId);
  return typeof derived === "string" ? { id, accountKey: derived } : derived.then((accountKey) => ({ id, accountKey }));
}

/** Checks an id's shape and MAC with CPU work only: no storage is read for a forged or malformed id. */
export async function verifiedTrackingId(env: Bindings, text: string): Promise<VerifiedId | null> {
  const pending = namedKey(env, text);
  const named = pending instanceof Promise ? await pending : pending;
  return named && (await verifyTrackingId(named.id, named.accountKey)) ? named : null;
}

/**
 * A click link's id, verified by the link's signature alone: one MAC where checking the id too would take two. The
 * signature covers the id's whole text, its MAC included, under the key the id names (docs/protocol.md §5), so
 * only that key's holder could have signed it, and a forged or altered id fails it; the holder of that key can mint
 * valid ids anyway, so the id's own MAC would prove nothing more.
 */
export async function verifiedLinkId(
  env: Bindings,
  text: string,
  linkIndex: number,
  destination: string,
  signature: string,
): Promise<VerifiedId | null> {
  const pending = namedKey(env, text);
  const named = pending instanceof Promise ? await pending : pending;
  return named && (await verifyLinkSignature(named.accountKey, named.id.value, linkIndex, destination, signature)) ? named : null;
}
