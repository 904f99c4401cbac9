// The feed poller's tests' events and feed (notifications.test.ts, feed-corrections.test.ts): a tracker's feed as
// worker/src/db/events.ts answers it, and a poller over an in-memory storage area standing in for
// browser.storage.local.
import type { FeedEvent, MessageDetail } from "../../../shared/api";
import { MINUTE } from "../../../test/durations";
import type { Withdrawal } from "./feed-corrections";
import type { FeedState, Note } from "./feed-state";
import type { FeedArea } from "./feed-storage";
import { FeedPoller, readFeedState } from "./notifications";

/**
 * Noon on this machine's clock: the totals count the rep's local days, and events a second before a NOW of noon UTC
 * would fall on the day before in UTC−12.
 */
export const NOW = new Date(2026, 10, 22, 12, 0, 0).getTime();
let seq = 0;
export function event(partial: Partial<FeedEvent>): FeedEvent {
  seq += 1;
  return {
    cursor: String(seq),
    messageId: "m1",
    threadId: "16f4aa",
    subject: "Pricing",
    recipients: [{ email: "carol@prospect.example", name: "Carol" }],
    kind: "open",
    linkIndex: null,
    label: "gmail-proxy",
    counted: true,
    at: new Date(NOW - 1000).toISOString(),
    ...partial,
  };
}

/**
 * A tracker feed: events after a cursor, in order, each released once, while it holds the events whose cursors are in
 * `held` (worker/src/db/events.ts eventsAfter): of the `limit` after the cursor, the released ones up to the first
 * held in `events`, the released ones after it in `ahead`.
 */
export function feed(events: FeedEvent[], nextAt: string | null = null, held = new Set<string>()) {
  const calls: string[] = [];
  return {
    calls,
    fetchEvents: async (after: string, limit: number) => {
      calls.push(after);
      const window = events.filter((e) => Number(e.cursor) > Number(after)).slice(0, limit);
      const firstHeld = window.findIndex((e) => held.has(e.cursor));
      const prefix = firstHeld < 0 ? window : window.slice(0, firstHeld);
      const ahead = firstHeld < 0 ? [] : window.slice(firstHeld).filter((e) => !held.has(e.cursor));
      return {
        events: prefix,
        ahead,
        cursor: prefix.at(-1)?.cursor ?? after,
        nextAt: held.size > 0 ? new Date(NOW + MINUTE).toISOString() : nextAt,
      };
    },
  };
}

/** The feed state as stored (in its parts: feed-storage.ts), whoever's. */
export async function storedFeed(area: FeedArea): Promise<FeedState> {
  const state = await readFeedState(area, null);
  if (!state) throw new Error("no feed state stored");
  return state;
}

export function poller(
  area: FeedArea,
  events: FeedEvent[],
  options: {
    muted?: boolean;
    account?: string;
    now?: () => number;
    nextAt?: string | null;
    source?: ReturnType<typeof feed>;
    detail?: (messageId: string) => Promise<MessageDetail>;
    answered?: () => void;
    withdraw?: (note: Withdrawal) => Promise<void>;
    update?: (note: Note) => Promise<void>;
  } = {},
) {
  const shown: Note[] = [];
  const news: string[][] = [];
  const pollsAt: number[] = [];
  // A feed of its own, or one shared by pollers that stand for one background started again.
  const source = options.source ?? feed(events, options.nextAt);
  const instance = new FeedPoller({
    area,
    account: async () => options.account ?? "http://t acct1",
    fetchEvents: source.fetchEvents,
    muted: async () => options.muted ?? false,
    show: async (note) => void shown.push(note),
    news: (ids) => void news.push(ids),
    pollAt: (at) => void pollsAt.push(at),
    now: options.now ?? (() => NOW),
    detail: options.detail,
    answered: options.answered,
    withdraw: options.withdraw,
    update: options.update,
  });
  return { instance, shown, news, pollsAt, calls: source.calls };
}
