// What the popup and the dashboard read to glance at the day: the digest of recent activity (one entry per message),
// one message's whole story for the dashboard's message page, and counted opens and clicks per day for its chart.
// Each entry carries the Gmail address of its thread, in the account that sent it, so a page opens it in one click.
import { z } from "zod";
import { type DailyActivity, type DigestItem, dailyActivityQuery, type MessageDetail } from "../../../shared/api";
import { accountOf } from "../../../shared/protocol";
import type { Credentials, TrackerAccess } from "./credentials";
import { dayKey, type FeedState } from "./feed-state";
import { handler, noInput } from "./handler";
import type { ActivitySummary } from "./notifications";

export interface DigestDeps extends TrackerAccess {
  /** Each email's thread address in the Gmail account that sent it (SentAccounts.threadUrls). */
  threadUrls(): Promise<(trackingId: string, threadId: string | null) => string>;
}

/** The popup's digest covers this many days. */
export const DIGEST_DAYS = 7;

/** A time zone the tracker knows, or undefined for one it would refuse (the offset then counts alone). */
const knownZone = dailyActivityQuery.shape.zone.catch(undefined);

type Totals = Pick<ActivitySummary, "today" | "week">;

/**
 * Today's and the last seven days' counted opens and clicks as the tracker counts them, in this browser's local days:
 * the popup's totals. The tracker's count leaves out what the rep deleted (an email's data, a contact), which the
 * extension's own daily totals cannot once the events are older than the activity it keeps.
 */
async function trackerTotals(access: TrackerAccess, credentials: Credentials): Promise<Totals> {
  const zone = knownZone.parse(Intl.DateTimeFormat().resolvedOptions().timeZone);
  const { days } = await access.tracker(credentials).dailyActivity(7, new Date().getTimezoneOffset(), zone);
  const week = { opens: 0, clicks: 0 };
  for (const day of days) {
    week.opens += day.opens;
    week.clicks += day.clicks;
  }
  // Oldest first: the last day is today.
  const today = days.at(-1);
  return { today: { opens: today?.opens ?? 0, clicks: today?.clicks ?? 0 }, week };
}

/** The tracker's totals are asked again after this long even when nothing the extension knows of has changed. */
export const TOTALS_MAX_AGE_MS = 60_000;

/**
 * The tracker's totals as the popup shows them, asked again only when they may have changed: the popup refreshes every
 * few seconds while open, and each refresh asked the tracker for the same counts. They are kept while the account, the
 * local day and the feed state are the same (its cursor, or the events it took ahead of the cursor, change when events
 * arrive), until the rep deletes an email's data or a contact here (forget), and for at most TOTALS_MAX_AGE_MS, which
 * bounds what the extension cannot see: a hit relabelled on the tracker after the feed released it, a deletion made in
 * another browser. A failure is not kept: the next refresh asks again, and the extension's own count stands in meanwhile.
 */
export class TrackerTotals {
  private kept: { key: string; at: number; totals: Totals } | null = null;

  async read(access: TrackerAccess, credentials: Credentials, feed: FeedState | null, now: number): Promise<Totals> {
    const key = JSON.stringify([credentials.trackerUrl, credentials.accountId, dayKey(now), feed?.cursor, feed?.ahead]);
    if (this.kept?.key === key && now - this.kept.at < TOTALS_MAX_AGE_MS) return this.kept.totals;
    const totals = await trackerTotals(access, credentials);
    this.kept = { key, at: now, totals };
    return totals;
  }

  /** Data was deleted: the next read asks the tracker (the feed's own per-day counts miss events older than it keeps). */
  forget(): void {
    this.kept = null;
  }
}

/** A whole number within [min, max]; anything else is the fallback (a page's stray value must not fail it). */
const wholeWithin = (min: number, max: number, fallback: number) =>
  z
    .number()
    .catch(fallback)
    .transform((n) => Math.min(max, Math.max(min, Math.trunc(n) || fallback)));

export function digestPageHandlers(deps: DigestDeps) {
  return {
    /** The popup: messages with counted activity in the last week, latest first, one entry each. */
    recentActivity: handler(noInput, async (): Promise<{ messages: (DigestItem & { threadUrl: string })[] }> => {
      const c = await deps.requireCredentials();
      const [{ messages }, threadUrl] = await Promise.all([deps.tracker(c).recentActivity(DIGEST_DAYS), deps.threadUrls()]);
      return { messages: messages.map((m) => ({ ...m, threadUrl: threadUrl(m.id, m.threadId) })) };
    }),

    /** The dashboard's message page. Only this account's tracking ids are asked for. */
    messagePage: handler(z.object({ trackingId: z.string() }), async (input): Promise<MessageDetail & { threadUrl: string }> => {
      const c = await deps.requireCredentials();
      if (accountOf(input.trackingId) !== c.accountId) throw new Error("no such message in this account");
      const [detail, threadUrl] = await Promise.all([deps.tracker(c).detail(input.trackingId), deps.threadUrls()]);
      return { ...detail, threadUrl: threadUrl(input.trackingId, detail.threadId) };
    }),

    /**
     * The dashboard's chart: the last `days` (7 to 90) by the browser's local day, `offset` its UTC offset in minutes
     * now and `zone` its time zone, which also knows the daylight saving changes (a zone the tracker refuses is left
     * out, and the offset counts alone).
     */
    dailyActivity: handler(
      z.object({
        days: wholeWithin(7, 90, 30),
        offset: wholeWithin(-840, 840, 0),
        zone: knownZone,
      }),
      async (input): Promise<{ days: DailyActivity[] }> => {
        const c = await deps.requireCredentials();
        return deps.tracker(c).dailyActivity(input.days, input.offset, input.zone);
      },
    ),
  };
}
