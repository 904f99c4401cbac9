import { Hono } from "hono";
import {
  COUNTED_LABELS,
  type LinkDetail,
  type MessageDetail,
  type MessageListItem,
  type MessageStatus,
  type MessagesResponse,
  messagesQuery,
  messageThreadRequest,
  registerMessageRequest,
  type StatusResponse,
  statusRequest,
} from "../../../shared/api";
import { requireAccount } from "../auth";
import { readableClient } from "../client-description";
import { encodeCursor, pageCursor } from "../cursor";
import { type EventRow, messageEvents, messageLinks, relabelMessages } from "../db/events";
import {
  deleteMessageData,
  getMessage,
  type MessageRow,
  messagePage,
  messagesByThread,
  moveToThread,
  stopTracking,
  upsertMessage,
} from "../db/messages";
import { settleOptOuts } from "../db/opt-outs";
import type { AppEnv } from "../env";
import { jsonError, validated } from "../http";
import { listItems, statuses } from "../status";
import { iso } from "../time";
import { verifiedTrackingId } from "../verify";

const NOT_FOUND = "no such message in this account";

async function currentStatus(db: D1Database, row: MessageRow): Promise<MessageStatus> {
  return (await statuses(db, [row]))[0] as MessageStatus;
}

function linkDetails(links: { link_index: number; url: string }[], events: EventRow[]): LinkDetail[] {
  return links.map(({ link_index, url }) => {
    const clicks = events.filter((e) => e.kind === "click" && e.link_index === link_index);
    const counted = clicks.filter((e) => COUNTED_LABELS.includes(e.label));
    return {
      index: link_index,
      url,
      clicks: counted.length,
      // Clicks without an address hash (none was sent) count as distinct readers.
      uniqueClicks: new Set(counted.map((e) => e.ip_hash ?? `seq:${e.seq}`)).size,
      clickTimes: counted.map((e) => new Date(e.occurred_at).toISOString()),
      otherClicks: clicks
        .filter((e) => !COUNTED_LABELS.includes(e.label))
        .map((e) => ({ at: new Date(e.occurred_at).toISOString(), label: e.label })),
    };
  });
}

/** Rows read at most per list request when filtering by state; the cursor lets the client continue past them. */
const MAX_SCANNED_ROWS = 2_000;

export const messagesRoute = new Hono<AppEnv>()
  .use(requireAccount)
  /** The dashboard's message list, newest first, filtered by campaign, state and text (docs/protocol.md §13). */
  .get("/", validated("query", messagesQuery), async (c) => {
    const { campaign, state, q, cursor, limit } = c.req.valid("query");
    const start = pageCursor(c, cursor, ["n", "s"]);
    if (start.error) return start.error;
    let after = start.values ? { sentAt: start.values[0], id: start.values[1] } : null;
    const batchSize = state === undefined ? limit : 200;
    const items: MessageListItem[] = [];
    let scanned = 0;
    let more = false;
    for (;;) {
      const rows = await messagePage(c.env.DB, c.get("account").id, { campaign, q }, after, batchSize);
      scanned += rows.length;
      const listed = await listItems(c.env.DB, rows);
      for (const [i, row] of rows.entries()) {
        after = { sentAt: row.sent_at ?? 0, id: row.id };
        const item = listed[i];
        if (item && (state === undefined || (state === "replied" ? item.replyCount > 0 : item.state === state))) items.push(item);
        if (items.length === limit) break;
      }
      const lastRead = after?.id === rows[rows.length - 1]?.id;
      if (items.length === limit) {
        more = !(lastRead && rows.length < batchSize);
        break;
      }
      if (rows.length < batchSize) break;
      if (scanned >= MAX_SCANNED_ROWS) {
        more = true;
        break;
      }
    }
    const body: MessagesResponse = { messages: items, nextCursor: more && after ? encodeCursor([after.sentAt, after.id]) : null };
    return c.json(body);
  })
  /** One page of the Sent list in one request: per-message counts for every tracked message in these threads. */
  .post("/status", validated("json", statusRequest), async (c) => {
    const rows = await messagesByThread(c.env.DB, c.get("account").id, c.req.valid("json").threadIds);
    const body: StatusResponse = { messages: await statuses(c.env.DB, rows) };
    return c.json(body);
  })
  /** Registers or updates a sent message. Idempotent; the id must be minted with this account's key. */
  .put("/:id", validated("json", registerMessageRequest), async (c) => {
    const account = c.get("account");
    const verified = await verifiedTrackingId(c.env, c.req.param("id"));
    if (!verified) return jsonError(c, 400, "the message id is not a tracking id issued with this tracker's keys");
    if (verified.id.accountId !== account.id) return jsonError(c, 404, NOT_FOUND);
    const outcome = await upsertMessage(
      c.env.DB,
      account.id,
      verified.id.value,
      c.req.valid("json"),
      Date.now(),
      c.env.SIGNING_SECRET ?? "",
    );
    if (outcome.deleted) return jsonError(c, 410, "this message's data was deleted; it is not tracked any more");
    // A reader who opted out from the email's page before this registration arrived: now known to be a recipient or not.
    await settleOptOuts(c.env.DB, c.env.SIGNING_SECRET ?? "", account.id, verified.id.value, outcome.pendingOptOuts);
    // The send time and links are known now: hits that arrived first get their final labels.
    await relabelMessages(c.env.DB, [verified.id.value], Date.now());
    const row = await getMessage(c.env.DB, account.id, verified.id.value);
    if (!row) return jsonError(c, 404, NOT_FOUND);
    return c.json(await currentStatus(c.env.DB, row));
  })
  .get("/:id", async (c) => {
    const account = c.get("account");
    const row = await getMessage(c.env.DB, account.id, c.req.param("id"));
    if (!row) return jsonError(c, 404, NOT_FOUND);
    const [events, links, status] = await Promise.all([
      messageEvents(c.env.DB, account.id, row.id),
      messageLinks(c.env.DB, row.id),
      currentStatus(c.env.DB, row),
    ]);
    const body: MessageDetail = {
      ...status,
      subject: row.subject,
      campaign: row.campaign,
      recipients: JSON.parse(row.recipients),
      sentAt: iso(row.sent_at),
      gmailMessageId: row.gmail_message_id,
      openTracking: row.open_tracking === 1,
      clickTracking: row.click_tracking === 1,
      opens: events
        .filter((e) => e.kind === "open")
        .map((e) => ({
          at: new Date(e.occurred_at).toISOString(),
          label: e.label,
          place: e.country || e.region ? { country: e.country, region: e.region } : null,
          ...readableClient(e.client, e.device, e.label),
        })),
      links: linkDetails(links, events),
    };
    return c.json(body);
  })
  /** Stops tracking: later hits store nothing, while the message's links keep redirecting. */
  .post("/:id/stop", async (c) => {
    const account = c.get("account");
    if (!(await stopTracking(c.env.DB, account.id, c.req.param("id"), Date.now()))) return jsonError(c, 404, NOT_FOUND);
    const row = await getMessage(c.env.DB, account.id, c.req.param("id"));
    if (!row) return jsonError(c, 404, NOT_FOUND);
    return c.json(await currentStatus(c.env.DB, row));
  })
  /**
   * The conversation the sender's Gmail shows an email in, for one registered without its legacy id (docs/protocol.md):
   * moved there once; 409 for an email whose legacy id is another, which stays.
   */
  .post("/:id/thread", validated("json", messageThreadRequest), async (c) => {
    const account = c.get("account");
    const { threadId } = c.req.valid("json");
    const before = await getMessage(c.env.DB, account.id, c.req.param("id"));
    if (!before) return jsonError(c, 404, NOT_FOUND);
    const row = before.thread_id === threadId ? before : await moveToThread(c.env.DB, account.id, before.id, threadId, Date.now());
    if (!row) return jsonError(c, 409, "this email's conversation is known already: it stays in that one");
    return c.json(await currentStatus(c.env.DB, row));
  })
  .delete("/:id", async (c) => {
    const deleted = await deleteMessageData(c.env.DB, c.get("account").id, c.req.param("id"), Date.now(), c.env.SIGNING_SECRET ?? "");
    if (!deleted) return jsonError(c, 404, NOT_FOUND);
    return c.body(null, 204);
  });
