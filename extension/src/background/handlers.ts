// Every message the background answers, one handler each: the schema its input must match and the function that
// answers it (handler.ts). messaging.ts derives the callers' types from these tables, and background/index.ts only
// routes a message here after checking who sent it: GmailHandlers only from a content script on
// https://mail.google.com, PageHandlers only from this extension's own pages.
import { z } from "zod";
import { type MessageDetail, type MessageStatus, type RegisterMessageRequest, registerMessageRequest } from "../../../shared/api";
import { GMAIL_ID_WITH_HASH } from "../../../shared/gmail-message-id";
import {
  accountOf,
  isAcceptableDestination,
  MAX_LINK_INDEX,
  mintTrackingId,
  parseTrackingId,
  signedClickUrl,
  type TrackingId,
} from "../../../shared/protocol";
import { gmailAccountOf, legacyThreadId, threadIdsOf } from "../gmail-ids";
import { linksTracked, loadOptions, normalizeTrackerUrl, type Options, saveOptions, trackerNotice, withTracker } from "../options-store";
import { errorText, trackerAccessOffAbove } from "../words";
import { probeTracker, type TrackerApi, TrackerError, trackerApi } from "./api";
import { type ContactCheckCache, contactCheckHandlers } from "./contact-checks";
import {
  heldAccountId,
  heldAccounts,
  loadAccountMark,
  loadCredentials,
  removeCredentials,
  updateCredentials,
  writeCredentials,
} from "./credential-store";
import { type Credentials, connectedAgain, keysAnswered, signingKeyFor, type TrackerAccess, withSigningKey } from "./credentials";
import { dashboardHandlers } from "./dashboard";
import { digestPageHandlers, type TrackerTotals } from "./digest";
import { followUpGmailHandlers, followUpPageHandlers, type Reminders } from "./follow-ups";
import { gmailHealthGmailHandlers, gmailHealthPageHandlers } from "./gmail-health";
import { gmailTrafficHandlers } from "./gmail-traffic";
import { handler, noInput, strings } from "./handler";
import { type HeldSignals, unmatchedSignalHandlers } from "./held-signals";
import { type ActivitySummary, type FeedPoller, summarize } from "./notifications";
import { type Outbox, type OutboxEntry, threadsWaiting, unregisteredWords } from "./outbox";
import type { SentAccounts } from "./sent-accounts";
import { type SignalDeps, signalHandlers } from "./signals";
import type { StatusCache } from "./status-cache";
import { tabNoticeHandlers } from "./tab-notices";
import { type ReplacedToken, replaceApiToken, type Settlement, settlementNote, settlePendingToken } from "./token-replacement";
import { type Reachability, reachabilityOf, type TrackerReach } from "./tracker-reach";
import { waitingAccountHandlers } from "./waiting-accounts";

export interface ConnectionState {
  connected: boolean;
  trackerUrl: string;
  accountId: string | null;
  /**
   * While not connected: the account this browser holds for another tracker address, or was connected to before a
   * disconnect (credential-store.ts loadAccountMark). Connect without a token asks before leaving it for a new account.
   */
  lastAccountId: string | null;
  /** Set when options name a different tracker than the one the stored account belongs to. */
  problem: string | null;
  /** While connected to a tracker its recipients cannot reach (words.ts outOfReachNotice): what that costs. */
  notice: string | null;
}

/** The connection as stored, with the options it was read against (the compose's terms follow them too). */
async function connection(): Promise<{ state: ConnectionState; credentials: Credentials | null; options: Options }> {
  const [options, credentials] = await Promise.all([loadOptions(), loadCredentials()]);
  if (!credentials) {
    const mark = await loadAccountMark();
    return {
      state: {
        connected: false,
        trackerUrl: options.trackerUrl,
        accountId: null,
        lastAccountId: mark?.accountId ?? null,
        problem: mark ? `disconnected from account ${mark.accountId}: connect again with its API token` : "not connected to a tracker yet",
        notice: null,
      },
      credentials,
      options,
    };
  }
  if (credentials.trackerUrl !== options.trackerUrl) {
    return {
      state: {
        connected: false,
        trackerUrl: options.trackerUrl,
        accountId: null,
        lastAccountId: credentials.accountId,
        problem: `connected to ${credentials.trackerUrl}, not to ${options.trackerUrl}: connect again`,
        notice: null,
      },
      credentials: null,
      options,
    };
  }
  return {
    state: {
      connected: true,
      trackerUrl: credentials.trackerUrl,
      accountId: credentials.accountId,
      lastAccountId: null,
      problem: null,
      notice: trackerNotice(credentials.trackerUrl, options),
    },
    credentials,
    options,
  };
}

/** The stored credentials, with the options they were checked against; throws while not connected. */
async function requireConnection(): Promise<{ credentials: Credentials; options: Options }> {
  const { state, credentials, options } = await connection();
  if (!credentials) throw new Error(state.problem ?? "not connected");
  return { credentials, options };
}

export async function requireCredentials(): Promise<Credentials> {
  return (await requireConnection()).credentials;
}

/** The tracking id must be one this account minted: a content script cannot make the background sign for others. */
function requireOwnId(credentials: Credentials, trackingId: string): TrackingId {
  const parsed = parseTrackingId(trackingId);
  if (!parsed || parsed.accountId !== credentials.accountId) throw new Error("not a tracking id of this account");
  return parsed;
}

/**
 * For what the rep does in a compose window that needs no tracker at once (a send, its Undo, its reminder): the tracking
 * id may be one of any account this browser has been connected to (credential-store.ts heldAccounts), connected now
 * or not. A compose opened before the rep connected to another account, or disconnected, holds an id of the one
 * before; what is queued for it waits for that account (delivery.ts waitsForItsAccount) and is never dropped. An id of
 * any other account is refused as requireOwnId refuses it: a content script cannot fill the outbox with them.
 */
async function requireHeldAccountId(trackingId: string): Promise<void> {
  const accountId = accountOf(trackingId);
  if (accountId !== undefined && (await heldAccounts()).includes(accountId)) return;
  // The connected account's always count (connected to by an earlier version, never recorded), in the words before.
  requireOwnId(await requireCredentials(), trackingId);
}

/** The connected account, and the tracker's client for it. */
const access: TrackerAccess = {
  requireCredentials,
  tracker: (credentials) => trackerApi(credentials.trackerUrl, credentials.apiToken),
};

/** How the status cache asks the tracker for what it does not hold. */
function fetchStatus(credentials: Credentials): (threadIds: string[]) => Promise<MessageStatus[]> {
  return (chunk) =>
    access
      .tracker(credentials)
      .status(chunk)
      .then((r) => r.messages);
}

/**
 * An email the tracker does not have (404) whose registration the outbox still holds, waiting or refused: the
 * conversation panel shows these words instead of opens and clicks (outbox.ts unregisteredWords).
 */
export interface UnregisteredEmail {
  unregistered: string;
}

/** A thread's email whose registration the outbox still holds: the Sent list marks its row with `title`. */
export interface UnregisteredThread {
  /** The thread's ids the registration names (gmail-ids.ts threadIdsOf). */
  threadIds: string[];
  title: string;
}

/** What a Gmail tab's thread list is answered for its threads (threadStatus). */
export interface ThreadStatusAnswer {
  /** The tracked emails of those threads, as the tracker has them: empty and unknown when `stale` is set. */
  messages: MessageStatus[];
  unregistered: UnregisteredThread[];
  /**
   * The tracker could not be read (out of reach, say), while the outbox holds registrations of some of these threads:
   * why the rest may be out of date (tracker-reach.ts staleReason). The tab draws those threads waiting, and keeps
   * what it drew of the others, as after a failed read.
   */
  stale?: string;
}

/** The outbox's registration of one email (not a withdrawal), if it holds one. */
async function waitingRegistration(outbox: Outbox, trackingId: string): Promise<OutboxEntry | undefined> {
  return (await outbox.snapshot()).find((e) => e.trackingId === trackingId && !e.withdraw);
}

/** A message of this account (checked by requireOwnId in the handler). */
const ownMessage = z.object({ trackingId: z.string() });

/** One of this account's messages as a conversation shows it: with the conversation's thread id when the tab read one. */
const shownMessage = ownMessage.extend({ threadId: z.string().regex(GMAIL_ID_WITH_HASH).optional() });

/**
 * Moves an email registered without its conversation's legacy id (Gmail's answer to the send was not seen:
 * compose-tracking.ts) to the conversation the rep's Gmail shows it in, so that replies there and its Sent mark find it
 * (docs/protocol.md, `POST /api/messages/<trackingId>/thread`). Told once per email while the background runs, again
 * only after a failure other than the tracker's refusal. The detail as it is then; a move that failed leaves it as it
 * was, for the panel to show all the same.
 */
function shownThreadMover(receipts: Receipts) {
  const told = new Set<string>();
  return async (tracker: TrackerApi, detail: MessageDetail, shown: string | undefined): Promise<MessageDetail> => {
    const threadId = shown ? legacyThreadId(shown) : null;
    const known = detail.threadId !== null && legacyThreadId(detail.threadId) === detail.threadId;
    if (!threadId || known || told.has(detail.id)) return detail;
    told.add(detail.id);
    try {
      const moved = await tracker.moveToThread(detail.id, threadId);
      receipts.news([threadId, ...threadIdsOf(detail)]);
      return { ...detail, threadId: moved.threadId, syncThreadId: moved.syncThreadId };
    } catch (error) {
      // 409: the tracker knows its conversation already, and keeps it. Any other failure is tried at the next read.
      if (!(error instanceof TrackerError && error.status === 409)) told.delete(detail.id);
      console.warn("email not moved to its conversation", detail.id, error);
      return detail;
    }
  };
}

const signLinksInput = z.object({
  trackingId: z.string(),
  /** Links the content script holds now; the handler skips any it cannot sign. */
  links: z.array(z.object({ index: z.number(), url: z.string() })),
});

const sentMessageInput = z.object({
  trackingId: z.string(),
  /**
   * Any object: a registration that does not validate here is still queued, and shows as failed with the tracker's
   * own words once it refuses it. A registration is never dropped.
   */
  request: z.custom<RegisterMessageRequest>((value) => typeof value === "object" && value !== null),
  /** When the send is not confirmed by Gmail's own traffic yet, hold the registration back until then. */
  notBefore: z.number().optional(),
});

/** Read receipts: the status cache (status-cache.ts), the feed poller (notifications.ts) and how the Gmail tabs hear of news. */
export interface Receipts {
  statusCache: StatusCache;
  poller: FeedPoller;
  /** News for these threads (all when empty): drops their cached status and tells the Gmail tabs. */
  news(threadIds: string[]): void;
  /** Which Gmail account sent each message: its notifications open there. */
  sentAccounts: SentAccounts;
  /** The tracker's totals the popup shows, kept between its refreshes; forgotten when the rep deletes data. */
  totals: TrackerTotals;
  /**
   * Whether the tracker answered the calls made to it lately (tracker-reach.ts): the options page shows it, and a
   * Gmail tab hears why what it drew may be out of date.
   */
  reach: Pick<TrackerReach, "reachability" | "staleReason">;
}

/** News for threads (a reply or bounce recorded): their emails' reminders are settled at once if answered now. */
export function settleRemindersOnNews(reminders: Reminders, receipts: Receipts) {
  return (threadIds: string[]): void => {
    if (threadIds.length === 0) return;
    void requireCredentials()
      .then((credentials) => receipts.statusCache.get(threadIds, fetchStatus(credentials)))
      .then((statuses) => reminders.settleAnswered(statuses))
      .catch((error: unknown) => console.warn("reminders not settled", error));
  };
}

/** What replies and bounces need from the rest of the background (signals.ts): also its held-signal release. */
export function signalDeps(outbox: Outbox, receipts: Receipts, held: HeldSignals, checks: ContactCheckCache): SignalDeps {
  return {
    ...access,
    trackedThreads: async (credentials, threadIds) => {
      const messages = await receipts.statusCache.get(threadIds, fetchStatus(credentials));
      // By either of a thread's ids: a row's reply may name it by Gmail's sync id alone.
      return new Set(messages.flatMap(threadIdsOf));
    },
    outboxThreads: async (afterFlush) => threadsWaiting(afterFlush ? await outbox.entries() : await outbox.snapshot()),
    held,
    accountsHeld: heldAccounts,
    news: receipts.news,
    checks,
  };
}

/**
 * Deletes one of this account's emails on the tracker, and what the extension keeps of it. The same handler in both
 * tables: from Gmail's conversation panel, and from the dashboard's message page, where an email Gmail's Undo took
 * back but the extension could not tell (compose-tracking.ts undoLatestSend) is deleted.
 */
function deleteMessageData(receipts: Receipts, reminders: Reminders) {
  return handler(ownMessage, async (input): Promise<{ ok: true }> => {
    const credentials = await requireCredentials();
    requireOwnId(credentials, input.trackingId);
    await access.tracker(credentials).remove(input.trackingId);
    // Its reminder too: the dashboard would list it by subject and recipients, and it could never come due (the
    // tracker answers 410 for it from now on).
    await reminders.cancel([input.trackingId]);
    await receipts.poller.forget(input.trackingId);
    receipts.totals.forget();
    receipts.news([]);
    return { ok: true };
  });
}

/** Shows a desktop notification of the extension's under this id (index.ts notify). */
export type ShowNotification = (id: string, note: { title: string; message: string }) => Promise<unknown>;

export function gmailHandlers(outbox: Outbox, receipts: Receipts, signals: SignalDeps, reminders: Reminders, notify: ShowNotification) {
  const moveToShownThread = shownThreadMover(receipts);
  return {
    ...signalHandlers(signals),
    ...contactCheckHandlers(signals),
    // The compose window's "remind me if no reply" (follow-ups.ts).
    // An email's reminder waits for its account as its registration does (follow-ups.ts looks only at the connected one's).
    ...followUpGmailHandlers(reminders, requireHeldAccountId),
    // What this Gmail tab recognises of Gmail (gmail-health.ts).
    ...gmailHealthGmailHandlers,
    // A notice of a hidden Gmail tab, on the desktop (tab-notices.ts).
    ...tabNoticeHandlers(notify),

    // Gmail's answers to sends and its lists, parsed for the tab (gmail-traffic.ts).
    ...gmailTrafficHandlers,

    /** The options, for a Gmail tab that found them stored in an older shape (options-store.ts loadSavedOptions). */
    options: handler(noInput, (): Promise<Options> => loadOptions()),

    /**
     * A fresh id for a compose window, minted ahead of the send so the send itself needs no round trip, and the tracker
     * it is the tracker's id of. Whether the email's links go there, and what that costs, the compose derives from its
     * options (options-store.ts linksTracked, trackerNotice), which it follows as they change.
     */
    mintId: handler(noInput, async (): Promise<{ trackingId: string; trackerUrl: string }> => {
      const credentials = await requireCredentials();
      const trackingId = await mintTrackingId({ ...credentials.signingKey, accountId: credentials.accountId });
      return { trackingId, trackerUrl: credentials.trackerUrl };
    }),

    /**
     * Click links for the links a compose holds now; the content script swaps them in synchronously at send. None while
     * the email's links are not tracked (options-store.ts linksTracked): whatever a compose asks, they go out as written.
     */
    signLinks: handler(signLinksInput, async (input): Promise<{ index: number; url: string; clickUrl: string }[]> => {
      const { credentials, options } = await requireConnection();
      if (!linksTracked(credentials.trackerUrl, options))
        throw new Error("links are not tracked while recipients cannot reach the tracker: they go out as written");
      // The key the compose's id was minted with, which may be earlier than the current one (a rotation since it opened).
      const key = signingKeyFor(credentials, requireOwnId(credentials, input.trackingId).keyId);
      if (!key) throw new Error("this email's id names a signing key this browser does not hold: its links go out unchanged");
      const out = [];
      for (const { index, url } of input.links.slice(0, MAX_LINK_INDEX + 1)) {
        if (!Number.isInteger(index) || index < 0 || index > MAX_LINK_INDEX || !isAcceptableDestination(url)) continue;
        out.push({ index, url, clickUrl: await signedClickUrl(credentials.trackerUrl, key, input.trackingId, index, url) });
      }
      return out;
    }),

    /** Queues the registration of a sent message (or replaces it with better Gmail ids), then tries to deliver. */
    messageSent: handler(sentMessageInput, async (input, sender): Promise<{ queued: boolean }> => {
      await requireHeldAccountId(input.trackingId);
      const parsed = registerMessageRequest.safeParse(input.request);
      if (!parsed.success) {
        // Still queued: the entry shows as failed with the tracker's own words once it refuses it; never dropped.
        console.warn("registration does not validate locally", parsed.error.issues);
      }
      // Refused when Gmail's Undo took this send back first: its answer came late, and the email never left.
      if (!(await outbox.put(input.trackingId, input.request, input.notBefore))) return { queued: false };
      void outbox.flush();
      // Its reminder, if the rep set one in the compose window, now names the email.
      void reminders.describe(input.trackingId, input.request).catch((error: unknown) => console.warn("reminder not described", error));
      // Only for where its notifications open: never in the way of the registration.
      const account = gmailAccountOf({ url: sender.url, title: sender.tab?.title });
      if (account)
        void receipts.sentAccounts
          .record(input.trackingId, account)
          .catch((error: unknown) => console.warn("sending account not kept", error));
      return { queued: true };
    }),

    /**
     * Gmail's Undo took a send back, or Gmail sent it as plain text, with no pixel (compose-tracking.ts): its
     * registration is withdrawn through the outbox (the tracker deletes the message, retried like a registration), a
     * late registration of it is refused, and its follow-up reminder is dropped, its days answered so that the
     * reopened compose sets it again for the re-send. The re-send is another compose, with its own id, registered as
     * usual.
     */
    messageUnsent: handler(z.object({ trackingId: z.string() }), async (input): Promise<{ reminderDays: number | null }> => {
      await requireHeldAccountId(input.trackingId);
      await outbox.withdraw(input.trackingId);
      void outbox.flush();
      const [dropped] = await reminders.cancel([input.trackingId]);
      return { reminderDays: dropped?.days ?? null };
    }),

    /**
     * A compose holds this email again as a draft (scheduled-send-cancel.ts). Before the time it was scheduled for,
     * that is a scheduled send the rep cancelled in Gmail, and it never goes out: withdrawn as an Undo is
     * (messageUnsent), its reminder's days answered for the compose. Null: it was no scheduled send still waiting
     * (sent already, or never registered), and nothing changes.
     */
    scheduledSendReopened: handler(
      ownMessage,
      async (input): Promise<{ cancelled: { subject: string; reminderDays: number | null } | null }> => {
        // Still in the outbox, it needs no tracker: one of the account before a switch is taken back too.
        await requireHeldAccountId(input.trackingId);
        let email: { subject: string | null; sentAt: string | null } | undefined = (await waitingRegistration(outbox, input.trackingId))
          ?.request;
        if (!email) {
          const credentials = await requireCredentials();
          requireOwnId(credentials, input.trackingId);
          try {
            email = await access.tracker(credentials).detail(input.trackingId);
          } catch (error) {
            // Never registered, or deleted or withdrawn already: nothing to take back.
            if (error instanceof TrackerError && (error.status === 404 || error.status === 410)) return { cancelled: null };
            throw error;
          }
        }
        if (!email.sentAt || !(Date.parse(email.sentAt) > Date.now())) return { cancelled: null };
        await outbox.withdraw(input.trackingId);
        void outbox.flush();
        const [dropped] = await reminders.cancel([input.trackingId]);
        return { cancelled: { subject: email.subject ?? "", reminderDays: dropped?.days ?? null } };
      },
    ),

    /** "The sender is displaying these messages now": hits around now are the sender's own. Best effort. */
    senderViews: handler(z.object({ messageIds: strings, threadIds: strings }), async (input): Promise<{ recorded: number }> => {
      const credentials = await requireCredentials();
      const messageIds = input.messageIds.filter((id) => accountOf(id) === credentials.accountId).slice(0, 100);
      const threadIds = input.threadIds.filter((id) => GMAIL_ID_WITH_HASH.test(id)).slice(0, 100);
      if (messageIds.length + threadIds.length === 0) return { recorded: 0 };
      void outbox.flush();
      return access.tracker(credentials).senderViews({ messageIds, threadIds });
    }),

    /**
     * Tracked messages of these threads (one page of a thread list), from the background's short-lived cache, and the
     * threads' emails the tracker does not have yet, whose registrations the outbox holds.
     */
    threadStatus: handler(z.object({ threadIds: strings }), async (input): Promise<ThreadStatusAnswer> => {
      const credentials = await requireCredentials();
      const threadIds = input.threadIds.slice(0, 400);
      let messages: MessageStatus[] = [];
      let failed: { error: unknown } | null = null;
      try {
        messages = await receipts.statusCache.get(threadIds, fetchStatus(credentials));
      } catch (error) {
        failed = { error };
      }
      const known = new Set(messages.map((m) => m.id));
      const now = Date.now();
      const unregistered = (await outbox.snapshot()).flatMap((entry) => {
        const ids = threadIdsOf(entry.request);
        if (entry.withdraw || known.has(entry.trackingId) || !ids.some((id) => threadIds.includes(id))) return [];
        return [{ threadIds: ids, title: unregisteredWords(entry, now).mark }];
      });
      if (!failed) return { messages, unregistered };
      // The tracker could not be read: the outbox's registrations are no less waiting for it, and say so (when the
      // tracker is down is when they wait). Without any, the failure, which the tab says its marks may be out of date by.
      if (unregistered.length === 0) throw failed.error;
      return { messages, unregistered, stale: (await receipts.reach.staleReason(failed.error)) ?? errorText(failed.error) };
    }),

    /**
     * Everything the conversation panel shows for one of this account's messages; for one the tracker does not have
     * yet while the outbox holds its registration, why (UnregisteredEmail), not the tracker's 404, which the panel
     * would take for deleted data. So too when the tracker cannot be read, down or refusing the token: the outbox's
     * words for a registration waiting are true all the same, where the failure would show "could not be read", or
     * for a refused token no panel at all (conversation-panel.ts DISCONNECTED).
     */
    messageDetail: handler(shownMessage, async (input): Promise<MessageDetail | UnregisteredEmail> => {
      const credentials = await requireCredentials();
      requireOwnId(credentials, input.trackingId);
      const tracker = access.tracker(credentials);
      try {
        return await moveToShownThread(tracker, await tracker.detail(input.trackingId), input.threadId);
      } catch (error) {
        const entry = error instanceof TrackerError && (await waitingRegistration(outbox, input.trackingId));
        if (!entry) throw error;
        return { unregistered: unregisteredWords(entry, Date.now()).panel };
      }
    }),

    stopTracking: handler(ownMessage, async (input): Promise<{ ok: true }> => {
      const credentials = await requireCredentials();
      requireOwnId(credentials, input.trackingId);
      await access.tracker(credentials).stop(input.trackingId);
      receipts.news([]);
      return { ok: true };
    }),

    deleteMessageData: deleteMessageData(receipts, reminders),

    /** A Gmail tab gained focus: look at the events feed now rather than at the next alarm. */
    gmailFocused: handler(noInput, async (): Promise<{ events: number }> => {
      return { events: await receipts.poller.poll() };
    }),
  };
}

const connectInput = z
  .object({
    trackerUrl: z.string(),
    /** An existing account's token (another browser, or a reinstall); without it a new account is created. */
    apiToken: z.string().optional(),
    registrationSecret: z.string().optional(),
    name: z.string().optional(),
    /**
     * Without a token while this browser holds an account, or held one before a disconnect, Connect would orphan that
     * account's emails: the background refuses unless the page asked the rep first and passes this.
     */
    newAccount: z.boolean().optional(),
    /** The same with a token of another account than the one this browser holds: it would take that one's place. */
    otherAccount: z.boolean().optional(),
    /**
     * With either answer, always: the account the page's question named (null: none), the one the rep agreed to leave.
     * Another held by the time the background decides (another tab connected to it since) is asked about again.
     */
    leaving: z.string().nullable().optional(),
  })
  .refine((input) => !(input.newAccount || input.otherAccount) || input.leaving !== undefined, {
    message: "an answer about leaving an account names the account it was for",
    path: ["leaving"],
  });

/** What connect answers: the account connected (or created), and its token. */
export interface ConnectAnswer {
  accountId: string;
  apiToken: string;
  created: boolean;
  /**
   * The account another tab connected while the tracker created this one (connect without a token): it stays
   * connected, and the one created is not; its token, shown once, is to be kept.
   */
  connectedMeanwhile?: string;
}

/** Whether the rep answered the page's question (`answer`) about leaving account `held`, and not about another one. */
function agreedToLeave(answer: boolean | undefined, leaving: string | null | undefined, held: string): boolean {
  return answer === true && leaving === held;
}

/** What connect answers when a new account was not confirmed: the options page asks the rep, then calls again. */
export const NEW_ACCOUNT_NEEDS_CONFIRMATION = "this browser is connected to an account already: confirm creating a new one";
/** What connect answers when a switch to another existing account was not confirmed: asked the same way. */
export const OTHER_ACCOUNT_NEEDS_CONFIRMATION =
  "this browser is connected to another account: confirm connecting to the one this token opens";

/**
 * What testConnection and connect answer when the browser refused a call of theirs to the tracker at `trackerUrl` for
 * want of access to its site (api.ts TrackerError.access, the probe's too): an answer of its own, not an
 * error's words alone, so that the options page shows the button that gives it back with them. Nothing is known then
 * of whether the tracker answers.
 */
export interface TrackerAccessWithheld {
  accessWithheld: true;
  trackerUrl: string;
  /** In the words said just above that button (words.ts trackerAccessOffAbove). */
  problem: string;
}

/** `run`'s answer, or TrackerAccessWithheld when the browser refused one of its calls to `trackerUrl` for want of access. */
async function orAccessWithheld<T>(trackerUrl: string, run: () => Promise<T>): Promise<T | TrackerAccessWithheld> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TrackerError && error.access === "withdrawn")
      return { accessWithheld: true, trackerUrl, problem: trackerAccessOffAbove(trackerUrl) };
    throw error;
  }
}

/** The API token this browser holds, as the options page shows it to be kept (storedApiToken, disconnect). */
export interface HeldTokens {
  accountId: string;
  /** The token that opens the account, as far as this browser knows. */
  apiToken: string;
  /** A token replacement the rep asked for was settled just now, and went through: `apiToken` is the new token. */
  replaced: boolean;
  /**
   * A replacement not settled: the tracker may take this token in place of `apiToken` (or has), and whether it did is
   * not known yet (`why`). The rep keeps both until Test connection settles it.
   */
  unsettled: { apiToken: string; why: string } | null;
}

/** A replacement left unsettled, settled (token-replacement.ts), and why it is not known when it could not be. */
interface ShownSettlement {
  settled: Settlement | null;
  reason: string | null;
}

/** Settles a replacement left unsettled, before the tokens are shown (tokensHeld). */
async function settledForShowing(): Promise<ShownSettlement> {
  try {
    const settled = await settlePendingToken();
    return { settled, reason: settled?.outcome === "not known" ? settled.reason : null };
  } catch (error) {
    return { settled: null, reason: errorText(error) };
  }
}

/**
 * The tokens `credentials` hold, once a replacement left unsettled was settled (settledForShowing): the token shown must
 * be the one the tracker takes, and one still pending is shown too while it may be. Null when not connected.
 */
function tokensHeld(credentials: Credentials | null, { settled, reason }: ShownSettlement): HeldTokens | null {
  if (!credentials) return null;
  const apiToken = settled?.outcome === "replaced" ? settled.apiToken : credentials.apiToken;
  const pending = credentials.pendingToken?.apiToken;
  return {
    accountId: credentials.accountId,
    apiToken,
    replaced: settled?.outcome === "replaced",
    unsettled:
      pending && pending !== apiToken
        ? {
            apiToken: pending,
            why: reason
              ? `the tracker did not answer (${reason})`
              : "the request that carried it may still reach the tracker, for a few minutes",
          }
        : null,
  };
}

export interface ExtensionState {
  connection: ConnectionState;
  outbox: OutboxEntry[];
  /** While connected: whether the tracker answers this browser, and if not why (null while not connected). */
  tracker: Reachability | null;
}

/** Whether the tracker answered the feed poll just now, and if not, why. */
export interface ActivityState extends ActivitySummary, Reachability {
  /** The connection and the outbox, as getState answers them: the popup needs one call per refresh. */
  state: ExtensionState;
  /** The replies and bounce notices the tracker never counted: how many the options page lists, and how many more at most. */
  notCounted: { listed: number; unlisted: number };
}

/**
 * The options page's, the popup's and the dashboard's calls. `releaseHeld`: sends the replies and bounces held for the
 * account connected now (signals.ts releaseHeldSignals), not awaited.
 */
export function pageHandlers(
  outbox: Outbox,
  receipts: Receipts,
  checks: ContactCheckCache,
  reminders: Reminders,
  held: HeldSignals,
  releaseHeld: () => void,
) {
  const threadUrls = () => receipts.sentAccounts.threadUrls();
  /**
   * `change` of the connected account (a Connect, a disconnect) under the account lock, handed `leave`: disconnected, or
   * connected to another account, what only the account before could use goes (held-signals.ts changeAccount, the
   * recipient checks). What stays, and why: README, "Disconnect and another account".
   */
  const outboxThreads = async () => threadsWaiting(await outbox.snapshot());
  const changeAccount = <T>(change: (leave: () => Promise<void>) => Promise<T>): Promise<T> =>
    held.changeAccount(async (leave) => {
      let left = false;
      try {
        return await change(async () => {
          await leave();
          left = true;
        });
      } finally {
        // Once the credentials are switched, not at `leave`: a check asked between the two carries the account's
        // before, and its answer would be kept for the next one.
        if (left) checks.clear();
      }
    }, outboxThreads);
  return {
    ...dashboardHandlers({
      ...access,
      checks,
      forgetContact: async (contact) => {
        await reminders.forgetContact(contact);
        await receipts.poller.forgetContact(contact);
        receipts.totals.forget();
        receipts.news([]);
      },
    }),
    // The popup's digest, the message page and the chart (digest.ts); the follow-up list (follow-ups.ts).
    ...digestPageHandlers({ ...access, threadUrls }),
    ...followUpPageHandlers({ ...access, reminders, threadUrls }),
    // The popup's Gmail health (gmail-health.ts).
    ...gmailHealthPageHandlers,
    // The dashboard's message page: Gmail's conversation panel's delete.
    deleteMessageData: deleteMessageData(receipts, reminders),

    /**
     * The popup: the connection, the outbox, recent activity, totals and whether the tracker answers. The feed poll
     * (awaited, so the activity read after it is fresh) is the reachability test: its error is the problem.
     */
    getActivity: handler(noInput, async (): Promise<ActivityState> => {
      const { state, credentials } = await connection();
      const reach: Reachability = credentials
        ? reachabilityOf(
            await receipts.poller.poll().then(
              () => null,
              (error: unknown) => error,
            ),
          )
        : { reachable: false, problem: state.problem, refused: false };
      // The totals are the tracker's when it answers; the extension's own (summarize) when it does not.
      // As stored now (snapshot), not after the deliveries under way: each may wait out api.ts's timeout on a tracker
      // that does not answer, which is when the rep opens the popup or the options page to see why.
      const [feed, entries, listing] = await Promise.all([credentials ? receipts.poller.state() : null, outbox.snapshot(), held.listing()]);
      const now = Date.now();
      const totals = credentials && reach.reachable ? await receipts.totals.read(access, credentials, feed, now).catch(() => null) : null;
      return {
        ...summarize(feed, now),
        ...totals,
        state: { connection: state, outbox: entries, tracker: credentials ? reach : null },
        notCounted: { listed: listing.signals.length, unlisted: listing.unlisted },
        ...reach,
      };
    }),

    /** The options page: the replies and bounces the tracker never counted, and their Clear (held-signals.ts). */
    ...unmatchedSignalHandlers(held),
    /** The options page: the emails waiting for another account than the connected one, and Stop waiting. */
    ...waitingAccountHandlers(outbox, reminders, held),

    /** The options page's (and the dashboard's) state: the tracker's reachability as last heard, without a call. */
    getState: handler(noInput, async (): Promise<ExtensionState> => {
      const { state, credentials } = await connection();
      const tracker = credentials ? await receipts.reach.reachability(credentials.trackerUrl) : null;
      return { connection: state, outbox: await outbox.snapshot(), tracker };
    }),

    connect: handler(connectInput, async (input): Promise<ConnectAnswer | TrackerAccessWithheld> => {
      const trackerUrl = normalizeTrackerUrl(input.trackerUrl);
      if (!trackerUrl) throw new Error("the tracker URL must be an http(s) address such as https://track.example.com");
      return orAccessWithheld(trackerUrl, async () => {
        await probeTracker(trackerUrl);
        let fresh: Credentials;
        let created = false;
        // Without a token: the account the rep was asked about leaving for a new one (none: nothing to ask).
        let heldWhenAsked: string | null = null;
        const token = input.apiToken?.trim();
        // The token this browser holds as the tracker is asked for the one typed: one replaced here while it answers is
        // kept (connectedAgain). A created account's token is new: nothing to compare.
        const heldAtAsk = token ? (await loadCredentials())?.apiToken : undefined;
        if (token) {
          const account = await trackerApi(trackerUrl, token)
            .account()
            .catch((error: unknown) => {
              if (error instanceof TrackerError && error.status === 401) throw new Error("this tracker does not accept that API token");
              throw error;
            });
          fresh = { trackerUrl, accountId: account.accountId, apiToken: token, ...keysAnswered(account) };
        } else {
          // The account this browser held before: connected, or disconnected from (its data kept by an earlier version).
          heldWhenAsked = await heldAccountId();
          if (heldWhenAsked && !agreedToLeave(input.newAccount, input.leaving, heldWhenAsked))
            throw new Error(NEW_ACCOUNT_NEEDS_CONFIRMATION);
          const account = await trackerApi(trackerUrl)
            .createAccount(input.name ? { name: input.name } : {}, input.registrationSecret)
            .catch((error: unknown) => {
              if (error instanceof TrackerError && error.status === 403)
                throw new Error(
                  input.registrationSecret
                    ? "this tracker does not accept that registration secret: check it with the tracker's owner"
                    : "this tracker requires a registration secret: ask its owner for it",
                );
              throw error;
            });
          fresh = {
            trackerUrl,
            accountId: account.accountId,
            apiToken: account.apiToken,
            signingKey: { accountId: account.accountId, ...account.signingKey },
          };
          created = true;
        }
        // Decided from what this browser holds under the lock every change of the connected account takes
        // (account-lock.ts), not from what it held before the tracker answered: another tab may have connected to
        // another account meanwhile. Another account than the one held then: what only it could use goes, and the new
        // credentials take its place under the same lock, so that nothing of it reaches the new one's tracker, not even
        // a tracker's answer under way. The same account connected again (a new token, a tracker moved), or one
        // connected from none, keeps everything. Answers the account another tab connected while the tracker created
        // this one, if it did.
        const connectedMeanwhile = await changeAccount(async (leave): Promise<string | null> => {
          // Its account stays until the write below: every change of the connected account takes this lock, and a change
          // of its credentials that does not (updateCredentials) keeps their account.
          const connected = await loadCredentials();
          // Another account would take this one's place, and only its token brings this one back: asked first, before
          // anything is cleared or written. The same account under another tracker address (a tracker moved) is no other
          // account.
          if (
            token &&
            connected &&
            connected.accountId !== fresh.accountId &&
            !agreedToLeave(input.otherAccount, input.leaving, connected.accountId)
          )
            throw new Error(OTHER_ACCOUNT_NEEDS_CONFIRMATION);
          // A created account takes the place of the one the rep was asked about, or of none; not of one another tab
          // connected while the tracker created it, which the rep never agreed to leave. Nor is the created one lost:
          // its token, which the tracker shows once, goes back to the page, and connects it like any other account's.
          if (created && connected && connected.accountId !== heldWhenAsked) return connected.accountId;
          // The account held: the one connected, or the one disconnected from (its mark kept).
          const before = connected?.accountId ?? (await loadAccountMark())?.accountId;
          if (before !== undefined && before !== fresh.accountId) await leave();
          // Merged into the credentials as they are at the write: a key rotated or a token replaced meanwhile is kept.
          await writeCredentials((current) => connectedAgain(current, fresh, heldAtAsk));
          return null;
        });
        if (connectedMeanwhile !== null) return { accountId: fresh.accountId, apiToken: fresh.apiToken, created, connectedMeanwhile };
        await saveOptions(withTracker(await loadOptions(), trackerUrl));
        // Every Gmail tab reads its marks and panels again now: a panel stops reading while no tracker is connected or
        // the token is refused (conversation-panel.ts DISCONNECTED), and waited for the feed's next news or a reload.
        receipts.news([]);
        void outbox.retry();
        void outbox.flush();
        // Replies held for this account, their email delivered (its tracker down as they were sent), waited for it
        // unreleased while another account was connected, or none (HeldSignals.due): they go now too.
        releaseHeld();
        return { accountId: fresh.accountId, apiToken: fresh.apiToken, created };
      });
    }),

    /** Checks every step a registration takes and says which one fails. */
    testConnection: handler(noInput, async (): Promise<{ ok: true; message: string } | TrackerAccessWithheld> => {
      // A token replacement left unsettled (its answer lost, the tracker out of reach then) is settled first.
      const settled = settlementNote(await settlePendingToken());
      const { state, credentials } = await connection();
      return orAccessWithheld(state.trackerUrl, async () => {
        await probeTracker(state.trackerUrl);
        if (!credentials)
          throw new Error(`the tracker at ${state.trackerUrl} answers, but ${state.problem ?? "this browser is not connected"}`);
        const account = await access
          .tracker(credentials)
          .account()
          .catch((error: unknown) => {
            if (error instanceof TrackerError && error.status === 401)
              throw new Error("the tracker does not accept the stored API token any more: connect again with a valid token");
            throw error;
          });
        if (account.accountId !== credentials.accountId) throw new Error("the stored token belongs to another account: connect again");
        // Written to the credentials as they are now, not as read before the tracker was asked: a Connect to another
        // account, a disconnect or a token replacement landing meanwhile is not written over (credential-store.ts).
        if (account.signingKey.keyId !== credentials.signingKey.keyId) {
          const key = { accountId: account.accountId, ...account.signingKey };
          await updateCredentials(credentials.accountId, (current) => withSigningKey(current, key));
        }
        const connected = `connected to ${credentials.trackerUrl} as account ${account.accountId}`;
        return { ok: true, message: settled ? `${settled.message} ${connected}` : connected };
      });
    }),

    /**
     * The API token this browser holds, for the options page to show ("Show the API token", and before the rep
     * disconnects or connects to another account): the tracker showed it once, at the account's creation or the
     * token's replacement, and only it opens the account's emails again. A replacement left unsettled is settled first
     * (tokensHeld). A page handler only: the content script never gets it.
     */
    storedApiToken: handler(noInput, async (): Promise<HeldTokens> => {
      const settled = await settledForShowing();
      const held = tokensHeld(await loadCredentials(), settled);
      if (!held) throw new Error("this browser holds no API token");
      return held;
    }),

    /**
     * A new API token in place of this browser's, once the options page asked the rep (token-replacement.ts): made and
     * kept here before the tracker is asked, so that a lost answer locks no one out. Back to the page to be shown once.
     */
    replaceApiToken: handler(z.object({ confirmed: z.literal(true) }), async (): Promise<ReplacedToken> => {
      await requireCredentials();
      return replaceApiToken();
    }),

    /**
     * Removes the credentials, the account's mark kept (credential-store.ts removeCredentials). Only once the page asked the
     * rep, who may need the token shown first: without it the account's emails are out of reach. A token replacement
     * left unsettled is settled first, while this browser still holds both tokens (tokensHeld): the tracker may have put
     * the new one in place, and then the old one, all the rep may have kept, opens nothing. Back to the page when the
     * rep must keep a token it may not have shown: the one the replacement came to, or both while which is not known.
     */
    disconnect: handler(z.object({ confirmed: z.literal(true) }), async (): Promise<{ ok: true; keep: HeldTokens | null }> => {
      const settled = await settledForShowing();
      // The tokens of the credentials removed, read in the removal's own step: a replacement landing before it is told.
      const removed = await changeAccount(async (leave) => {
        await leave();
        return removeCredentials();
      });
      const tokens = tokensHeld(removed, settled);
      return { ok: true, keep: tokens?.replaced || tokens?.unsettled ? tokens : null };
    }),

    retryOutbox: handler(noInput, async (): Promise<{ ok: true }> => {
      await outbox.retry();
      await outbox.flush();
      return { ok: true };
    }),
  };
}

export type GmailHandlers = ReturnType<typeof gmailHandlers>;
export type PageHandlers = ReturnType<typeof pageHandlers>;
