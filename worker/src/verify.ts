import { parseTrackingId, type TrackingId, verifyTrackingId } from "../../shared/protocol";
import type { Bindings } from "./env";
import { deriveSigningKey, hasUsableSigningSecret } from "./keys";

export interface VerifiedId {
  id: TrackingId;
  /** The account key the id was minted with: it also verifies the message's link signatures. */
  accountKey: string;
}

/** Checks an id's shape and MAC with CPU work only: no storage is read for a forged or malformed id. */
export async function verifiedTrackingId(env: Bindings, text: string): Promise<VerifiedId | null> {
  const id = parseTrackingId(text);
  if (!id || !hasUsableSigningSecret(env.SIGNING_SECRET)) return null;
  const derived = deriveSigningKey(env.SIGNING_SECRET, id.accountId, id.keyId);
  const accountKey = typeof derived === "string" ? derived : await derived;
  return (await verifyTrackingId(id, accountKey)) ? { id, accountKey } : null;
}
