// A message's status (counts, replies, bounce, state) for the Sent list, the dashboard and exports: one helper.
import type { MessageListItem, MessageStatus } from "../../shared/api";
import { type OpenClickSummary, summarize } from "./db/events";
import { type MessageRow, messageState } from "./db/messages";
import { type SignalSummary, signalSummaries } from "./db/signals";
import { iso } from "./time";

export function toStatus(row: MessageRow, summary: OpenClickSummary | undefined, signals: SignalSummary | undefined): MessageStatus {
  const openCount = summary?.openCount ?? 0;
  const clickCount = summary?.clickCount ?? 0;
  const bounce = signals?.bounce ?? null;
  return {
    id: row.id,
    threadId: row.thread_id,
    syncThreadId: row.sync_thread_id,
    state: messageState(row, openCount, clickCount, bounce !== null),
    openCount,
    firstOpenAt: iso(summary?.firstOpenAt),
    lastOpenAt: iso(summary?.lastOpenAt),
    clickCount,
    lastClickAt: iso(summary?.lastClickAt),
    appleMailLoads: summary?.appleMailLoads ?? 0,
    // The reply signals go with the retention purge or the replier's deletion as a contact; the time of the latest
    // reply kept on the email stays (migration 0021), so an answered email never reads as unanswered: one reply at
    // least, however many the signals counted before they went.
    replyCount: Math.max(signals?.replyCount ?? 0, row.last_reply_at === null ? 0 : 1),
    lastReplyAt: iso(latest(signals?.lastReplyAt, row.last_reply_at)),
    bounce: bounce
      ? { kind: bounce.kind, recipients: bounce.recipients, at: new Date(bounce.at).toISOString(), reason: bounce.reason }
      : null,
    // By the hit rule itself (unsubscribedSql): it outlives the signal the retention purge and a contact's deletion take.
    unsubscribed: signals?.unsubscribed ?? false,
    openTracking: row.open_tracking === 1,
  };
}

/** The later of two stored times, either of which may be missing. */
function latest(a: number | null | undefined, b: number | null): number | null {
  return a === null || a === undefined ? b : b === null ? a : Math.max(a, b);
}

export async function statuses(db: D1Database, rows: readonly MessageRow[]): Promise<MessageStatus[]> {
  const ids = rows.map((r) => r.id);
  const [summaries, signals] = await Promise.all([summarize(db, ids), signalSummaries(db, ids)]);
  return rows.map((row) => toStatus(row, summaries.get(row.id), signals.get(row.id)));
}

export async function listItems(db: D1Database, rows: readonly MessageRow[]): Promise<MessageListItem[]> {
  const list = await statuses(db, rows);
  return rows.map((row, i) => ({
    ...(list[i] as MessageStatus),
    subject: row.subject,
    recipients: JSON.parse(row.recipients),
    sentAt: iso(row.sent_at),
    campaign: row.campaign,
  }));
}
