import { Hono } from "hono";
import { z } from "zod";
import {
  type CampaignDetail,
  type CampaignMetrics,
  type CampaignSummary,
  type CampaignsResponse,
  campaignName,
  campaignsQuery,
} from "../../../shared/api";
import { requireAccount } from "../auth";
import { encodeCursor, pageCursor } from "../cursor";
import { type CampaignRow, campaignMetrics, campaignPage, getCampaign, topLinks } from "../db/campaigns";
import type { AppEnv } from "../env";
import { jsonError, validated } from "../http";
import { iso } from "../time";

function summary(row: CampaignRow, metrics: CampaignMetrics | undefined): CampaignSummary {
  const zero = { sent: row.sent, opened: 0, clicked: 0, replied: 0, bounced: 0, unsubscribed: 0 };
  const rates = { openRate: 0, clickRate: 0, replyRate: 0, bounceRate: 0, unsubscribeRate: 0 };
  return { name: row.name, ...zero, ...rates, ...metrics, firstSentAt: iso(row.first_sent_at), lastSentAt: iso(row.last_sent_at) };
}

/** `/api/campaigns`: campaigns with their metrics (docs/protocol.md §12). */
export const campaignsRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .get("/", validated("query", campaignsQuery), async (c) => {
    const accountId = c.get("account").id;
    const { cursor, limit } = c.req.valid("query");
    const { values: after, error } = pageCursor(c, cursor, ["n", "s"]);
    if (error) return error;
    const rows = await campaignPage(c.env.DB, accountId, after ? { lastSentAt: after[0], name: after[1] } : null, limit + 1);
    const page = rows.slice(0, limit);
    const metrics = await campaignMetrics(c.env.DB, accountId, page);
    const last = page[page.length - 1];
    const body: CampaignsResponse = {
      campaigns: page.map((row) => summary(row, metrics.get(row.name))),
      nextCursor: rows.length > limit && last ? encodeCursor([last.last_sent_at ?? 0, last.name]) : null,
    };
    return c.json(body);
  })
  .get("/:name", validated("param", z.object({ name: campaignName })), async (c) => {
    const accountId = c.get("account").id;
    const row = await getCampaign(c.env.DB, accountId, c.req.valid("param").name);
    if (!row) return jsonError(c, 404, "no such campaign in this account");
    const [metrics, links] = await Promise.all([campaignMetrics(c.env.DB, accountId, [row]), topLinks(c.env.DB, accountId, row.name)]);
    const body: CampaignDetail = { ...summary(row, metrics.get(row.name)), topLinks: links };
    return c.json(body);
  });
