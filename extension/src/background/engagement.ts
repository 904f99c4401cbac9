// Issue 5 in the background: replies and bounces seen in Gmail, the compose window's recipient checks, and
// everything the dashboard shows (campaigns, people, messages, a contact's timeline, CSV export). Spread into the
// handler tables of handlers.ts, so messaging.ts types these calls like every other; only this context holds the
// token and talks to the tracker.
import type browser from "webextension-polyfill";
import { z } from "zod";
import {
  type CampaignDetail,
  type CampaignsResponse,
  type ContactCheck,
  type ContactDetail,
  type ContactsQuery,
  type ContactsResponse,
  campaignName,
  MESSAGE_STATES,
  type MessageState,
  type MessagesQuery,
  type MessagesResponse,
  type SignalsRequest,
  signalsRequest,
} from "../../../shared/api";
import { api } from "./api";
import type { Credentials } from "./credentials";

type Sender = browser.Runtime.MessageSender;

export interface EngagementDeps {
  requireCredentials(): Promise<Credentials>;
  /** Tracked messages of these threads (the Sent list's status cache). */
  trackedThreads(credentials: Credentials, threadIds: string[]): Promise<Set<string>>;
  /** The tracker has news for these threads: drop their cached status and tell the Gmail tabs. */
  news(threadIds: string[]): void;
}

export const EXPORTS = ["messages", "events", "contacts"] as const;
export type ExportName = (typeof EXPORTS)[number];

/**
 * An address the tracker accepts in POST /api/contacts/check (shared/api.ts validates with the same check, not
 * exported there): one address it would refuse turns the whole batch into a 400.
 */
const acceptedEmail = z.email().max(320);

/** Per-address answers of POST /api/contacts/check, kept a short while: a compose re-checks on every recipient change. */
export class ContactCheckCache {
  private readonly entries = new Map<string, { at: number; check: ContactCheck }>();

  constructor(
    private readonly ttlMs = 2 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(emails: string[], fetchChecks: (emails: string[]) => Promise<ContactCheck[]>): Promise<ContactCheck[]> {
    const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => acceptedEmail.safeParse(e).success))].slice(0, 100);
    const missing = wanted.filter((e) => {
      const entry = this.entries.get(e);
      return !entry || this.now() - entry.at > this.ttlMs;
    });
    if (missing.length > 0) {
      const at = this.now();
      for (const check of await fetchChecks(missing)) this.entries.set(check.email.toLowerCase(), { at, check });
    }
    if (this.entries.size > 2000) this.entries.clear();
    return wanted.map((e) => this.entries.get(e)?.check).filter((c): c is ContactCheck => c !== undefined);
  }

  /** A bounce was just recorded: these addresses' answers are stale. */
  invalidate(emails: Iterable<string>): void {
    for (const email of emails) this.entries.delete(email.trim().toLowerCase());
  }
}

export function engagementGmailHandlers(deps: EngagementDeps) {
  const checks = new ContactCheckCache();
  return {
    /**
     * Replies and notices seen in Gmail. Only those in threads holding a tracked message go to the tracker (the
     * rest of the user's mail is none of its business). `answered`: the keys settled for good (any outcome, or
     * not tracked), which the content script never sends again.
     */
    async reportSignals(input: SignalsRequest, _sender: Sender): Promise<{ answered: string[]; recorded: number }> {
      const credentials = await deps.requireCredentials();
      const parsed = signalsRequest.safeParse(input);
      if (!parsed.success) throw new Error(`signals do not validate: ${parsed.error.issues[0]?.message ?? "invalid"}`);
      const { self, signals } = parsed.data;
      const tracked = await deps.trackedThreads(credentials, [...new Set(signals.map((s) => s.threadId))]);
      const wanted = signals.filter((s) => tracked.has(s.threadId));
      const answered = signals.filter((s) => !tracked.has(s.threadId)).map((s) => s.gmailMessageId);
      if (wanted.length === 0) return { answered, recorded: 0 };
      const { results } = await api.signals(credentials.trackerUrl, credentials.apiToken, { self, signals: wanted });
      const recorded = results.filter((r) => r.outcome === "recorded");
      if (recorded.length > 0) {
        const ids = new Set(recorded.map((r) => r.gmailMessageId));
        const fresh = wanted.filter((s) => ids.has(s.gmailMessageId));
        deps.news([...new Set(fresh.map((s) => s.threadId))]);
        checks.invalidate(fresh.flatMap((s) => (s.kind === "bounce" ? s.bounce.recipients : [])));
      }
      return { answered: [...answered, ...results.map((r) => r.gmailMessageId)], recorded: recorded.length };
    },

    /** The compose window's warnings: which recipients bounced hard or opted out (cached per address). */
    async checkRecipients(input: { emails: string[] }, _sender: Sender): Promise<{ contacts: ContactCheck[] }> {
      const credentials = await deps.requireCredentials();
      const emails = Array.isArray(input?.emails) ? input.emails.filter((e): e is string => typeof e === "string") : [];
      if (emails.length === 0) return { contacts: [] };
      return {
        contacts: await checks.get(
          emails,
          async (missing) => (await api.checkContacts(credentials.trackerUrl, credentials.apiToken, missing)).contacts,
        ),
      };
    },
  };
}

const CURSOR = /^[A-Za-z0-9_-]{1,400}$/;
const cursorOf = (value: unknown) => (typeof value === "string" && CURSOR.test(value) ? value : undefined);
const campaignOf = (value: unknown) => {
  const parsed = campaignName.safeParse(value);
  return parsed.success ? parsed.data : undefined;
};

export function engagementPageHandlers(deps: Pick<EngagementDeps, "requireCredentials">) {
  return {
    async listCampaigns(input: { cursor?: string }, _sender: Sender): Promise<CampaignsResponse> {
      const c = await deps.requireCredentials();
      return api.campaigns(c.trackerUrl, c.apiToken, cursorOf(input?.cursor));
    },

    async campaignDetail(input: { name: string }, _sender: Sender): Promise<CampaignDetail> {
      const name = campaignOf(input?.name);
      if (!name) throw new Error("no such campaign");
      const c = await deps.requireCredentials();
      return api.campaign(c.trackerUrl, c.apiToken, name);
    },

    async listContacts(input: ContactsQuery, _sender: Sender): Promise<ContactsResponse> {
      const c = await deps.requireCredentials();
      return api.contacts(c.trackerUrl, c.apiToken, {
        sort: input?.sort === "lastActivity" ? "lastActivity" : "score",
        campaign: campaignOf(input?.campaign),
        minScore: typeof input?.minScore === "number" && input.minScore > 0 ? input.minScore : undefined,
        cursor: cursorOf(input?.cursor),
        limit: 50,
      });
    },

    async contactDetail(input: { email: string; cursor?: string }, _sender: Sender): Promise<ContactDetail> {
      if (typeof input?.email !== "string" || !input.email.includes("@")) throw new Error("not an address");
      const c = await deps.requireCredentials();
      return api.contact(c.trackerUrl, c.apiToken, input.email.trim().toLowerCase(), cursorOf(input.cursor));
    },

    /**
     * Deletes a contact on the tracker (docs/protocol.md §13): emails sent only to it, its replies and bounces. The
     * suppression list and opt-outs keep the address.
     */
    async deleteContact(input: { email: string }, _sender: Sender): Promise<{ ok: true }> {
      if (typeof input?.email !== "string" || !input.email.includes("@")) throw new Error("not an address");
      const c = await deps.requireCredentials();
      await api.deleteContact(c.trackerUrl, c.apiToken, input.email.trim().toLowerCase());
      return { ok: true };
    },

    async listMessages(input: MessagesQuery, _sender: Sender): Promise<MessagesResponse> {
      const q = typeof input?.q === "string" ? input.q.trim().slice(0, 200) : "";
      const c = await deps.requireCredentials();
      return api.messages(c.trackerUrl, c.apiToken, {
        campaign: campaignOf(input?.campaign),
        state: MESSAGE_STATES.includes(input?.state as MessageState) ? input.state : undefined,
        q: q || undefined,
        cursor: cursorOf(input?.cursor),
        limit: 50,
      });
    },

    /** One CSV export as text (the page saves it through a Blob). */
    async exportCsv(input: { name: ExportName }, _sender: Sender): Promise<{ filename: string; csv: string }> {
      if (!EXPORTS.includes(input?.name)) throw new Error("unknown export");
      const c = await deps.requireCredentials();
      const csv = await api.exportCsv(c.trackerUrl, c.apiToken, input.name);
      return { filename: `mailtracker-${input.name}-${new Date().toISOString().slice(0, 10)}.csv`, csv };
    },
  };
}
