// `/api/activity`: what a rep glances at between calls. The popup's digest (one entry per message, however many
// hits), the emails that wait for a reply ranked by engagement (clicked, opened, nothing), and counted opens and
// clicks per day for the dashboard's chart. Counted events only; machines are summed, never listed.
import { Hono } from "hono";
import {
  type DailyActivityResponse,
  type DigestItem,
  dailyActivityQuery,
  type FollowUpEngagement,
  type FollowUpItem,
  type FollowUpsResponse,
  followUpsQuery,
  type RecentActivityResponse,
  recentActivityQuery,
} from "../../../shared/api";
import { DAY_MS } from "../../../shared/durations";
import { requireAccount } from "../auth";
import { awaitingReply, clickedLinks, machineHitCounts, QUARTER_HOUR_MS, quarterHourCounts, recentlyActive } from "../db/activity";
import type { AppEnv } from "../env";
import { validated } from "../http";
import { localDays } from "../local-days";
import { listItems, statuses } from "../status";
import { iso } from "../time";

/** Emails older than this are not chased any more: the follow-up list looks back this far. */
export const FOLLOW_UP_LOOKBACK_DAYS = 90;

/**
 * The newest emails the follow-up list looks at, at most: each costs its status. Past it, the response says their
 * number is not known rather than give a count short of the truth.
 */
export const FOLLOW_UP_ROWS = 500;

const RANK: Record<FollowUpEngagement, number> = { clicked: 0, opened: 1, none: 2 };

export const activityRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .get("/recent", validated("query", recentActivityQuery), async (c) => {
    const { days, limit } = c.req.valid("query");
    const db = c.env.DB;
    const active = await recentlyActive(db, c.get("account").id, Date.now() - days * DAY_MS, limit);
    const rows = active.map((a) => a.row);
    const ids = rows.map((r) => r.id);
    const [status, links, machines] = await Promise.all([statuses(db, rows), clickedLinks(db, ids), machineHitCounts(db, ids)]);
    const messages: DigestItem[] = active.map(({ row, lastActivityAt }, i) => {
      const s = status[i];
      return {
        id: row.id,
        threadId: row.thread_id,
        subject: row.subject,
        recipients: JSON.parse(row.recipients),
        sentAt: iso(row.sent_at),
        campaign: row.campaign,
        lastActivityAt: new Date(lastActivityAt).toISOString(),
        openCount: s?.openCount ?? 0,
        lastOpenAt: s?.lastOpenAt ?? null,
        clickedLinks: links.get(row.id) ?? [],
        replyCount: s?.replyCount ?? 0,
        lastReplyAt: s?.lastReplyAt ?? null,
        bounce: s?.bounce ?? null,
        unsubscribed: s?.unsubscribed ?? false,
        machineHits: machines.get(row.id) ?? 0,
      };
    });
    const body: RecentActivityResponse = { messages };
    return c.json(body);
  })
  .get("/follow-ups", validated("query", followUpsQuery), async (c) => {
    const { days, defaultDays, campaignDays, limit } = c.req.valid("query");
    const now = Date.now();
    // No wait is shorter than `days`: the shortest, as the extension sends it.
    const waits = {
      defaultDays: Math.max(defaultDays ?? days, days),
      campaignDays: Object.fromEntries(Object.entries(campaignDays ?? {}).map(([name, wait]) => [name, Math.max(wait, days)])),
    };
    const rows = await awaitingReply(c.env.DB, c.get("account").id, now - FOLLOW_UP_LOOKBACK_DAYS * DAY_MS, now, waits, FOLLOW_UP_ROWS + 1);
    const items = await listItems(c.env.DB, rows.slice(0, FOLLOW_UP_ROWS));
    const waiting: FollowUpItem[] = items
      .filter((m) => m.bounce === null && !m.unsubscribed && m.replyCount === 0)
      .map((m) => {
        const engagement: FollowUpEngagement = m.clickCount > 0 ? "clicked" : m.openCount > 0 ? "opened" : "none";
        const times = [m.lastOpenAt, m.lastClickAt].filter((t): t is string => t !== null).sort();
        return { ...m, engagement, lastActivityAt: times[times.length - 1] ?? null };
      })
      .sort(
        (a, b) =>
          RANK[a.engagement] - RANK[b.engagement] ||
          (b.lastActivityAt ?? b.sentAt ?? "").localeCompare(a.lastActivityAt ?? a.sentAt ?? "") ||
          (a.id < b.id ? -1 : 1),
      );
    // Past FOLLOW_UP_ROWS the older emails were not looked at: how many in all is not known.
    const body: FollowUpsResponse = { messages: waiting.slice(0, limit), total: rows.length > FOLLOW_UP_ROWS ? null : waiting.length };
    return c.json(body);
  })
  .get("/daily", validated("query", dailyActivityQuery), async (c) => {
    const { days, offset, zone } = c.req.valid("query");
    // getTimezoneOffset is minutes west of UTC; a zone, where the extension sends one, also knows its changes.
    const spans = localDays(days, Date.now(), zone ? { zone } : { offsetMinutes: offset });
    const body: DailyActivityResponse = { days: spans.map(({ day }) => ({ day, opens: 0, clicks: 0 })) };
    let i = 0;
    for (const { quarter, opens, clicks } of await quarterHourCounts(c.env.DB, c.get("account").id, spans[0]?.start ?? 0)) {
      const at = quarter * QUARTER_HOUR_MS;
      while (i < spans.length && at >= (spans[i]?.end ?? 0)) i++;
      const total = body.days[i];
      if (!total) break;
      total.opens += opens;
      total.clicks += clicks;
    }
    return c.json(body);
  });
