// What the popup and the dashboard read to glance at the day: the digest of recent activity (one entry per message),
// one message's whole story for the dashboard's message page, and counted opens and clicks per day for its chart.
// Each entry carries the Gmail address of its thread, in the account that sent it, so a page opens it in one click.
import type browser from "webextension-polyfill";
import type { DailyActivity, DigestItem, MessageDetail } from "../../../shared/api";
import { parseTrackingId } from "../../../shared/protocol";
import { DEFAULT_GMAIL_ACCOUNT, gmailThreadUrl } from "../gmail-ids";
import { api } from "./api";
import type { Credentials } from "./credentials";

type Sender = browser.Runtime.MessageSender;

export interface DigestDeps {
  requireCredentials(): Promise<Credentials>;
  /** The Gmail account ("/mail/u/N/") that sent an email, when known. */
  sentAccount(trackingId: string): Promise<string | null>;
}

/** The popup's digest covers this many days. */
export const DIGEST_DAYS = 7;

export function digestPageHandlers(deps: DigestDeps) {
  const threadUrl = async (id: string, threadId: string | null) =>
    gmailThreadUrl(threadId, (await deps.sentAccount(id)) ?? DEFAULT_GMAIL_ACCOUNT);
  return {
    /** The popup: messages with counted activity in the last week, latest first, one entry each. */
    async recentActivity(_input: null, _sender: Sender): Promise<{ messages: (DigestItem & { threadUrl: string })[] }> {
      const c = await deps.requireCredentials();
      const { messages } = await api.recentActivity(c.trackerUrl, c.apiToken, DIGEST_DAYS);
      return { messages: await Promise.all(messages.map(async (m) => ({ ...m, threadUrl: await threadUrl(m.id, m.threadId) }))) };
    },

    /** The dashboard's message page. Only this account's tracking ids are asked for. */
    async messagePage(input: { trackingId: string }, _sender: Sender): Promise<MessageDetail & { threadUrl: string }> {
      const c = await deps.requireCredentials();
      const id = String(input?.trackingId ?? "");
      if (parseTrackingId(id)?.accountId !== c.accountId) throw new Error("no such message in this account");
      const detail = await api.detail(c.trackerUrl, c.apiToken, id);
      return { ...detail, threadUrl: await threadUrl(id, detail.threadId) };
    },

    /** The dashboard's chart: the last `days` (7 to 90) by the browser's local day. */
    async dailyActivity(input: { days: number; offset: number }, _sender: Sender): Promise<{ days: DailyActivity[] }> {
      const c = await deps.requireCredentials();
      const days = Math.min(90, Math.max(7, Math.trunc(Number(input?.days)) || 30));
      const offset = Math.min(840, Math.max(-840, Math.trunc(Number(input?.offset)) || 0));
      return api.dailyActivity(c.trackerUrl, c.apiToken, days, offset);
    },
  };
}
