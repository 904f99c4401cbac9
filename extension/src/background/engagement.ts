// Issue 5 in the background: replies and bounces seen in Gmail, the compose window's recipient checks, and
// everything the dashboard shows (campaigns, people, messages, a contact's timeline, CSV export). Spread into the
// handler tables of handlers.ts, so messaging.ts types these calls like every other; only this context holds the
// token and talks to the tracker.
import type browser from "webextension-polyfill";
import {
  type CampaignDetail,
  type CampaignsResponse,
  type ContactCheck,
  type ContactDetail,
  type ContactsQuery,
  type ContactsResponse,
  campaignName,
  emailAddress,
  MESSAGE_FILTERS,
  type MessageFilter,
  type MessagesQuery,
  type MessagesResponse,
  type SignalsRequest,
  signalsRequest,
} from "../../../shared/api";
import { normalizeEmail } from "../../../shared/email";
import { serialRunner } from "../serial";
import { api } from "./api";
import type { Credentials } from "./credentials";
import type { HeldSignal, HeldSignals, Signal } from "./held-signals";

type Sender = browser.Runtime.MessageSender;

export interface EngagementDeps {
  requireCredentials(): Promise<Credentials>;
  /** Tracked messages of these threads (the Sent list's status cache). */
  trackedThreads(credentials: Credentials, threadIds: string[]): Promise<Set<string>>;
  /**
   * Threads of the emails still in the outbox: the tracker will know them once they are delivered. With
   * `afterFlush`, as they are once a running flush is done (a release right after a delivery must see it).
   */
  outboxThreads(afterFlush: boolean): Promise<Set<string>>;
  /** Signals of those threads, kept until the tracker knows the thread. */
  held: HeldSignals;
  /** The tracker has news for these threads: drop their cached status and tell the Gmail tabs. */
  news(threadIds: string[]): void;
}

interface Reported {
  /** Answered for good: taken by the tracker (any outcome), or in a thread that holds no tracked email. */
  settled: string[];
  /** Kept in `deps.held`: their thread's email is still in the outbox. */
  held: string[];
  /** Recorded now, not before. */
  recorded: Signal[];
}

/**
 * Holds the signals of threads whose email is still in the outbox (no network needed: a tracker that is down
 * loses none of them) and sends the others, of threads the tracker tracks, to it (the rest of the user's mail is
 * none of its business). Throws when the tracker cannot be reached.
 */
async function report(
  deps: EngagementDeps,
  credentials: Credentials,
  self: string[],
  signals: Signal[],
  afterFlush: boolean,
): Promise<Reported> {
  const inOutbox = await deps.outboxThreads(afterFlush);
  const held = signals.filter((s) => inOutbox.has(s.threadId));
  if (held.length > 0) await deps.held.hold(self, held);
  const heldIds = held.map((s) => s.gmailMessageId);
  const rest = signals.filter((s) => !inOutbox.has(s.threadId));
  if (rest.length === 0) return { settled: [], held: heldIds, recorded: [] };
  const tracked = await deps.trackedThreads(credentials, [...new Set(rest.map((s) => s.threadId))]);
  const settled = rest.filter((s) => !tracked.has(s.threadId)).map((s) => s.gmailMessageId);
  const wanted = rest.filter((s) => tracked.has(s.threadId));
  if (wanted.length === 0) return { settled, held: heldIds, recorded: [] };
  const { results } = await api.signals(credentials.trackerUrl, credentials.apiToken, { self, signals: wanted });
  const recordedIds = new Set(results.filter((r) => r.outcome === "recorded").map((r) => r.gmailMessageId));
  const recorded = wanted.filter((s) => recordedIds.has(s.gmailMessageId));
  if (recorded.length > 0) deps.news([...new Set(recorded.map((s) => s.threadId))]);
  // A bounce just recorded: the compose windows' cached answers for its addresses are stale.
  checks.invalidate(recorded.flatMap((s) => (s.kind === "bounce" ? s.bounce.recipients : [])));
  return { settled: [...settled, ...results.map((r) => r.gmailMessageId)], held: heldIds, recorded };
}

/**
 * Reports the held signals whose email the tracker now knows; those still waiting stay held, and so does
 * everything when the tracker cannot be reached. Run after an outbox delivery and now and then (it is idempotent:
 * the tracker dedupes by Gmail message id). Returns how many were settled.
 */
export function releaseHeldSignals(deps: EngagementDeps): Promise<number> {
  return oneRelease(() => releaseNow(deps));
}

/** Releases run one at a time, whoever starts them: two at once would send the same signals twice. */
const oneRelease = serialRunner();

async function releaseNow(deps: EngagementDeps): Promise<number> {
  const held = await deps.held.all();
  if (held.length === 0) return 0;
  const credentials = await deps.requireCredentials();
  // One request per set of own addresses (nearly always one), within the request's limit of signals.
  const bySelf = new Map<string, HeldSignal[]>();
  for (const item of held) {
    const key = JSON.stringify(item.self);
    bySelf.set(key, [...(bySelf.get(key) ?? []), item]);
  }
  let settled = 0;
  for (const group of bySelf.values()) {
    for (let i = 0; i < group.length; i += MAX_SIGNALS_PER_REQUEST) {
      const chunk = group.slice(i, i + MAX_SIGNALS_PER_REQUEST);
      const result = await report(
        deps,
        credentials,
        chunk[0]?.self ?? [],
        chunk.map((h) => h.signal),
        true,
      );
      await deps.held.settle(result.settled);
      settled += result.settled.length;
    }
  }
  return settled;
}

/** POST /api/signals takes at most this many signals (shared/api.ts signalsRequest). */
const MAX_SIGNALS_PER_REQUEST = 100;

export const EXPORTS = ["messages", "events", "contacts"] as const;
export type ExportName = (typeof EXPORTS)[number];

/** Per-address answers of POST /api/contacts/check, kept a short while: a compose re-checks on every recipient change. */
export class ContactCheckCache {
  private readonly entries = new Map<string, { at: number; check: ContactCheck }>();

  constructor(
    private readonly ttlMs = 2 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(emails: string[], fetchChecks: (emails: string[]) => Promise<ContactCheck[]>): Promise<ContactCheck[]> {
    // Only addresses the tracker accepts: one it would refuse turns the whole batch into a 400.
    const wanted = [...new Set(emails.map(normalizeEmail).filter((e) => emailAddress.safeParse(e).success))].slice(0, 100);
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
    for (const email of emails) this.entries.delete(normalizeEmail(email));
  }
}

/** One per background: the compose windows' checks read it, and a lift of a suppression in the dashboard clears it. */
const checks = new ContactCheckCache();

export function engagementGmailHandlers(deps: EngagementDeps) {
  return {
    /**
     * Replies and notices seen in Gmail (see report). `answered`: the keys the content script never sends again,
     * settled for good or held here until their email is registered.
     */
    async reportSignals(input: SignalsRequest, _sender: Sender): Promise<{ answered: string[]; recorded: number }> {
      const credentials = await deps.requireCredentials();
      const parsed = signalsRequest.safeParse(input);
      if (!parsed.success) throw new Error(`signals do not validate: ${parsed.error.issues[0]?.message ?? "invalid"}`);
      // The outbox as stored now: a Gmail tab never waits for a flush (up to the tracker's timeout per entry).
      const { settled, held, recorded } = await report(deps, credentials, parsed.data.self, parsed.data.signals, false);
      if (held.length > 0) {
        // A flush may have delivered a held signal's email meanwhile, its release reading the held signals before
        // this one was: release now rather than at the next minute's alarm.
        const stillWaiting = await deps.outboxThreads(false);
        if (parsed.data.signals.some((s) => held.includes(s.gmailMessageId) && !stillWaiting.has(s.threadId)))
          void releaseHeldSignals(deps).catch((error: unknown) => console.warn("held signals not reported yet", error));
      }
      return { answered: [...settled, ...held], recorded: recorded.length };
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

/** An address from a page, as the tracker compares it; throws for anything else. */
function addressOf(input: { email: string } | undefined): string {
  const parsed = emailAddress.safeParse(normalizeEmail(String(input?.email ?? "")));
  if (!parsed.success) throw new Error("not an address");
  return parsed.data;
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
      const email = addressOf(input);
      const c = await deps.requireCredentials();
      return api.contact(c.trackerUrl, c.apiToken, email, cursorOf(input.cursor));
    },

    /**
     * Deletes a contact on the tracker (docs/protocol.md §13): emails sent only to it, its replies and bounces. The
     * suppression list and opt-outs keep the address.
     */
    async deleteContact(input: { email: string }, _sender: Sender): Promise<{ ok: true }> {
      const email = addressOf(input);
      const c = await deps.requireCredentials();
      await api.deleteContact(c.trackerUrl, c.apiToken, email);
      return { ok: true };
    },

    /** Lifts a suppression (docs/protocol.md §10): the compose windows stop warning about the address at once. */
    async liftSuppression(input: { email: string }, _sender: Sender): Promise<{ ok: true }> {
      const email = addressOf(input);
      const c = await deps.requireCredentials();
      await api.liftSuppression(c.trackerUrl, c.apiToken, email);
      checks.invalidate([email]);
      return { ok: true };
    },

    async listMessages(input: MessagesQuery, _sender: Sender): Promise<MessagesResponse> {
      const q = typeof input?.q === "string" ? input.q.trim().slice(0, 200) : "";
      const c = await deps.requireCredentials();
      return api.messages(c.trackerUrl, c.apiToken, {
        campaign: campaignOf(input?.campaign),
        state: MESSAGE_FILTERS.includes(input?.state as MessageFilter) ? input.state : undefined,
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
