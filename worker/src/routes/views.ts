import { Hono } from "hono";
import { senderViewRequest } from "../../../shared/api";
import { parseTrackingId } from "../../../shared/protocol";
import { requireAccount } from "../auth";
import { recordSenderViews, relabelMessages } from "../db/events";
import { messagesByThread } from "../db/messages";
import type { AppEnv } from "../env";
import { validated } from "../http";
import { deriveSigningKey, hashClientAddress, hasUsableSigningSecret } from "../keys";
import { verifiedTrackingId } from "../verify";

/** The same keyed hash a hit on this message from `address` gets (hits.ts): keyed by the id's own key. */
async function addressHashFor(signingSecret: string | undefined, messageId: string, address: string): Promise<string | null> {
  const id = parseTrackingId(messageId);
  return id && hasUsableSigningSecret(signingSecret)
    ? hashClientAddress(await deriveSigningKey(signingSecret, id.accountId, id.keyId), address)
    : null;
}

/**
 * `POST /api/views`: "the sender is displaying these messages now". Hits within the sender window around a
 * report are the sender's own, whichever arrives first: the report is stored and the messages relabelled.
 */
export const viewsRoute = new Hono<AppEnv>().use(requireAccount).post("/", validated("json", senderViewRequest), async (c) => {
  const account = c.get("account");
  const { messageIds, threadIds } = c.req.valid("json");
  const ids = new Set<string>();
  // A message may be viewed before the extension has registered it, so ids are checked by their MAC, not by lookup.
  for (const text of messageIds) {
    const verified = await verifiedTrackingId(c.env, text);
    if (verified?.id.accountId === account.id) ids.add(verified.id.value);
  }
  if (threadIds.length > 0) for (const row of await messagesByThread(c.env.DB, account.id, threadIds)) ids.add(row.id);
  // The report comes from the sender's browser: its address (hashed like a hit's) tells its own direct hits apart.
  const address = c.req.header("cf-connecting-ip");
  const views = await Promise.all(
    [...ids].map(async (messageId) => ({
      messageId,
      ipHash: address ? await addressHashFor(c.env.SIGNING_SECRET, messageId, address) : null,
    })),
  );
  await recordSenderViews(c.env.DB, views, Date.now());
  await relabelMessages(c.env.DB, [...ids]);
  return c.json({ recorded: ids.size });
});
