import { Hono } from "hono";
import { senderViewRequest } from "../../../shared/api";
import { requireAccount } from "../auth";
import { recordSenderViews, relabelSpans, spansAroundView } from "../db/events";
import { messagesByThread } from "../db/messages";
import type { AppEnv } from "../env";
import { addressHash } from "../hits";
import { clientAddress, validated } from "../http";
import { verifiedTrackingId } from "../verify";

/**
 * `POST /api/views`: "the sender is displaying these messages now". Hits within the sender window around a
 * report are the sender's own, whichever arrives first: the report is stored and the messages relabelled.
 */
export const viewsRoute = new Hono<AppEnv>().use(requireAccount).post("/", validated("json", senderViewRequest), async (c) => {
  const account = c.get("account");
  const { messageIds, threadIds } = c.req.valid("json");
  // Each message with the key its id was minted with, the key its hits' addresses are hashed with.
  const keys = new Map<string, string | null>();
  // A message may be viewed before the extension has registered it, so ids are checked by their MAC, not by lookup.
  for (const text of messageIds) {
    const verified = await verifiedTrackingId(c.env, text);
    if (verified?.id.accountId === account.id) keys.set(verified.id.value, verified.accountKey);
  }
  if (threadIds.length > 0) {
    for (const row of await messagesByThread(c.env.DB, account.id, threadIds)) {
      if (!keys.has(row.id)) keys.set(row.id, (await verifiedTrackingId(c.env, row.id))?.accountKey ?? null);
    }
  }
  // The report comes from the sender's browser: its address, hashed exactly as a hit's, tells its own direct hits apart.
  const address = clientAddress(c.req.raw);
  const views = await Promise.all(
    [...keys].map(async ([messageId, accountKey]) => ({
      messageId,
      ipHash: accountKey === null ? null : await addressHash(address, accountKey),
    })),
  );
  const viewedAt = Date.now();
  await recordSenderViews(c.env.DB, views, viewedAt);
  await relabelSpans(c.env.DB, spansAroundView([...keys.keys()], viewedAt), viewedAt);
  return c.json({ recorded: keys.size });
});
