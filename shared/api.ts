// The tracker's API contract: request schemas (validated by the worker, used by the extension's client)
// and response types. Times are ISO 8601 strings in UTC.
import { z } from "zod";
import { API_TOKEN_PATTERN, isRandomApiToken } from "./api-token";
import { isEmailAddress, MAX_EMAIL_LENGTH } from "./email";
import { GMAIL_ID_MAX, GMAIL_ID_WITH_HASH, LEGACY_THREAD_ID } from "./gmail-message-id";
import type { EventKind, EventLabel } from "./labels";
import { CAMPAIGN_NAME_MAX, FOLLOW_UPS_MAX, RECIPIENT_NAME_MAX, RECIPIENTS_MAX, SUBJECT_MAX } from "./limits";
import { isAcceptableDestination, MAX_DESTINATION_LENGTH, MAX_LINK_INDEX, TRACKING_ID_PATTERN } from "./protocol";
import { isTimeZone } from "./time-zone";

export {
  COUNTED_LABELS,
  EVENT_KINDS,
  EVENT_LABELS,
  type EventKind,
  type EventLabel,
  SENDER_WINDOW_MS,
  UNREGISTERED_HOLD_MS,
} from "./labels";

/**
 * A message's state for the Sent list, first match wins: `bounced` (a hard bounce, or a soft bounce not cleared by a
 * later success: docs/protocol.md §10), `stopped`, `clicked`, `opened`, `delivered`. Opens and clicks are counted
 * ones only (COUNTED_LABELS).
 */
export const MESSAGE_STATES = ["delivered", "opened", "clicked", "stopped", "bounced"] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

const trackingId = z.string().regex(TRACKING_ID_PATTERN, "must be a tracking id (docs/protocol.md)");
/** Gmail's thread and message ids: legacy hex ("16f4…") or "thread-f:…"/"msg-f:…" forms, with an optional '#'. */
const gmailId = z.string().regex(GMAIL_ID_WITH_HASH, "must be a Gmail thread or message id");
const isoTime = z.iso.datetime({ offset: true });
/** An email address as given (isEmailAddress); the tracker compares addresses folded (foldAddress), stores them lower-cased and trimmed. */
export const emailAddress = z.string().refine(isEmailAddress, "must be an email address");
/** A campaign name: emails registered with the same (trimmed, case-sensitive) name form a campaign. */
export const campaignName = z.string().trim().min(1).max(CAMPAIGN_NAME_MAX);

export const createAccountRequest = z.object({
  name: z.string().trim().min(1).max(100).optional(),
});

export const updateAccountRequest = z.object({
  /** Events older than this are deleted by the tracker's daily purge. */
  retentionDays: z.number().int().min(1).max(3650),
});

/**
 * `POST /api/account/token`: the API token to put in place of the one that asks, made by the extension
 * (shared/api-token.ts newApiToken). The route also checks that it names the caller's account.
 */
export const replaceTokenRequest = z.object({
  apiToken: z
    .string()
    .regex(API_TOKEN_PATTERN, "must be an API token: mt_, the account id, _ and 43 base64url characters (32 random bytes)")
    .refine(isRandomApiToken, "is not random enough: make its 43 characters from 32 random bytes (crypto.getRandomValues)"),
});

export const registerMessageRequest = z.object({
  subject: z.string().max(SUBJECT_MAX),
  recipients: z
    .array(
      z.object({
        email: emailAddress,
        name: z.string().max(RECIPIENT_NAME_MAX).optional(),
      }),
    )
    .max(RECIPIENTS_MAX),
  /** By the sender's clock, as `clockAt`. */
  sentAt: isoTime,
  /**
   * The sender's clock as this request left: the tracker moves `sentAt` by how far that clock is from its own
   * (docs/protocol.md, `PUT /api/messages/<trackingId>`). Absent from extensions older than it.
   */
  clockAt: isoTime.optional(),
  threadId: gmailId.optional(),
  /**
   * Gmail's sync id of the thread when it is not `threadId`'s own number ("thread-a:r…" for a thread the sender
   * started): a Sent row may name the thread by it alone. Absent from extensions older than it.
   */
  syncThreadId: gmailId.optional(),
  gmailMessageId: gmailId.optional(),
  /** Optional campaign name (compose window). */
  campaign: campaignName.optional(),
  /** The email carries the opt-out link `<trackerUrl>/u/<trackingId>` (docs/protocol.md §11). Informational. */
  optOutLink: z.boolean().default(false),
  openTracking: z.boolean().default(true),
  clickTracking: z.boolean().default(true),
  links: z
    .array(
      z.object({
        index: z.number().int().min(0).max(MAX_LINK_INDEX),
        url: z.string().refine(isAcceptableDestination, "must be an absolute http(s) URL of printable ASCII"),
      }),
    )
    .max(MAX_LINK_INDEX + 1)
    .refine((links) => new Set(links.map((l) => l.index)).size === links.length, "link indexes must be unique")
    .default([]),
});

/**
 * The longest time in a registration REGISTRATION_BODY_MAX_BYTES counts: RFC 3339 to the nanosecond with an offset
 * ("2026-12-06T09:53:25.123456789+01:00"); Date's toISOString, which the extension sends, writes 24.
 */
const REGISTRATION_TIME_MAX = 35;

/**
 * The longest registration body, in bytes, that JSON.stringify writes (as the extension's client does) for a request
 * the schema above accepts: each string at its longest, each character at its longest in JSON (6 bytes: a control
 * character or a lone surrogate is written \uXXXX; 2 in a link, printable ASCII, whose `"` and `\` are escaped; 1 in
 * a Gmail id), both times at REGISTRATION_TIME_MAX characters and the campaign trimmed, as the compose window sends
 * it. About 9.8 MB, 8.2 of them a thousand links of 4,096 characters, which the extension signs
 * (extension/src/background/handlers.ts): the tracker takes a registration body up to this (worker/src/app.ts), where
 * the API's other routes take 256 KiB, since a registration refused as too large (413) is not retried and its email
 * would never be tracked. A body past it is none the schema accepts as a client writes it (padded with spaces, a
 * campaign with them, more digits of a second than a clock gives): it gets a 413 that says so.
 */
export const REGISTRATION_BODY_MAX_BYTES = registrationBodyMaxBytes();

function registrationBodyMaxBytes(): number {
  const text = (chars: number) => 2 + 6 * chars;
  const printableAscii = (chars: number) => 2 + 2 * chars;
  const plain = (chars: number) => 2 + chars;
  const field = (name: string, valueBytes: number) => name.length + 3 + valueBytes;
  const object = (fields: number[]) => 2 + fields.reduce((a, b) => a + b, 0) + fields.length - 1;
  const list = (count: number, itemBytes: number) => 2 + count * itemBytes + count - 1;
  const recipient = object([field("email", text(MAX_EMAIL_LENGTH)), field("name", text(RECIPIENT_NAME_MAX))]);
  const link = object([field("index", String(MAX_LINK_INDEX).length), field("url", printableAscii(MAX_DESTINATION_LENGTH))]);
  const gmailIdBytes = plain(1 + GMAIL_ID_MAX);
  return object([
    field("subject", text(SUBJECT_MAX)),
    field("recipients", list(RECIPIENTS_MAX, recipient)),
    field("sentAt", plain(REGISTRATION_TIME_MAX)),
    field("clockAt", plain(REGISTRATION_TIME_MAX)),
    field("threadId", gmailIdBytes),
    field("syncThreadId", gmailIdBytes),
    field("gmailMessageId", gmailIdBytes),
    field("campaign", text(CAMPAIGN_NAME_MAX)),
    field("optOutLink", "false".length),
    field("openTracking", "false".length),
    field("clickTracking", "false".length),
    field("links", list(MAX_LINK_INDEX + 1, link)),
  ]);
}

export const statusRequest = z.object({
  threadIds: z.array(gmailId).min(1).max(200),
});

/**
 * `POST /api/messages/<trackingId>/thread`: the conversation the sender's Gmail shows the email in, by its legacy hex
 * id, for an email registered without it (Gmail's answer to the send was not seen: compose-tracking.ts).
 */
export const messageThreadRequest = z.object({
  threadId: z.string().regex(LEGACY_THREAD_ID, "must be a Gmail legacy thread id (hex)"),
});

export const senderViewRequest = z
  .object({
    messageIds: z.array(trackingId).max(100).default([]),
    threadIds: z.array(gmailId).max(100).default([]),
  })
  .refine((body) => body.messageIds.length + body.threadIds.length > 0, "name at least one message or thread");

const feedCursor = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, "must be a cursor returned by this endpoint");

export const eventsQuery = z.object({
  after: feedCursor.default("0"),
  /**
   * The corrections' own cursor (EventsResponse.correctionsCursor): the answer then holds the corrections after it.
   * Absent (an extension older than corrections), the answer holds none and reads none.
   */
  correctionsAfter: feedCursor.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const SIGNAL_KINDS = ["reply", "bounce", "unsubscribe"] as const;
/** What the extension reports (`unsubscribe` is recorded only by the tracker's opt-out page). */
export type SignalKind = (typeof SIGNAL_KINDS)[number];
export const BOUNCE_KINDS = ["hard", "soft"] as const;
export type BounceKind = (typeof BOUNCE_KINDS)[number];

const signalBase = {
  /** The Gmail thread the reply or notice appeared in. */
  threadId: gmailId,
  /** The reply's or the bounce notice's own Gmail message id: the dedupe key (each is recorded once per account). */
  gmailMessageId: gmailId,
  /** When the reply or notice arrived (Gmail's date for it). */
  at: isoTime,
};

export const replySignal = z.object({
  kind: z.literal("reply"),
  ...signalBase,
  /** The replier's address. A reply from one of the `self` addresses of the request is the sender's own: ignored. */
  from: emailAddress,
});

export const bounceSignal = z.object({
  kind: z.literal("bounce"),
  ...signalBase,
  bounce: z.object({
    kind: z.enum(BOUNCE_KINDS),
    /** The addresses the notice names as failed (may be empty when the notice names none). */
    recipients: z.array(emailAddress).max(100).default([]),
    reason: z.string().max(500).optional(),
  }),
});

export const signalsRequest = z.object({
  /** The account's own Gmail addresses (the signed-in address and its send-as aliases): replies from them are ignored. */
  self: z.array(emailAddress).max(20).default([]),
  signals: z
    .array(z.discriminatedUnion("kind", [replySignal, bounceSignal]))
    .min(1)
    .max(100),
});

export const contactsCheckRequest = z.object({
  emails: z.array(emailAddress).min(1).max(100),
});

/**
 * A page's cursor: base64url of the JSON of the last item's sort values (worker/src/cursor.ts). The longest holds an
 * address (a contact list's, the contacts export's): 320 characters, each at most 6 bytes in JSON (a control
 * character's \u escape), beside two numbers, about 2,700 characters in base64url. A campaign name's 100 characters of
 * three UTF-8 bytes each already passed the 400 this once allowed, and the next page was refused.
 */
export const cursorParam = z.string().regex(/^[A-Za-z0-9_-]{1,4096}$/, "must be a cursor returned by this endpoint");
const pageLimit = z.coerce.number().int().min(1).max(200).default(50);

export const campaignsQuery = z.object({
  cursor: cursorParam.optional(),
  limit: pageLimit,
});

/** A CSV export's part after the first: the cursor its previous part's `Link` names (docs/protocol.md §14). */
export const exportQuery = z.object({ cursor: cursorParam.optional() });

export const CONTACT_SORTS = ["score", "lastActivity"] as const;
export const contactsQuery = z.object({
  sort: z.enum(CONTACT_SORTS).default("score"),
  /** Only contacts that received at least one email of this campaign. */
  campaign: campaignName.optional(),
  minScore: z.coerce.number().min(0).max(1e9).optional(),
  cursor: cursorParam.optional(),
  limit: pageLimit,
});

export const contactTimelineQuery = z.object({
  /** Items strictly older than this cursor (returned as `nextCursor`). */
  cursor: cursorParam.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** What the message list filters on: a state, or "replied" (at least one reply, whatever the state). */
export const MESSAGE_FILTERS = [...MESSAGE_STATES, "replied"] as const;
export type MessageFilter = (typeof MESSAGE_FILTERS)[number];

export const messagesQuery = z.object({
  campaign: campaignName.optional(),
  state: z.enum(MESSAGE_FILTERS).optional(),
  /** Substring of the subject, of a recipient address or of a recipient's name, whatever the case and accents (shared/search.ts). */
  q: z.string().trim().min(1).max(200).optional(),
  cursor: cursorParam.optional(),
  limit: pageLimit,
});

/** The popup's digest: the messages with counted activity (opens, clicks, replies, bounces, opt-outs) lately. */
export const recentActivityQuery = z.object({
  days: z.coerce.number().int().min(1).max(31).default(7),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

const followUpWait = z.coerce.number().int().min(1).max(365);
/** The longest `campaignDays` a follow-up query takes: the whole URL must stay well under what the edge accepts. */
export const MAX_CAMPAIGN_DAYS_JSON = 6000;

/**
 * The emails that wait for a reply: sent at least `days` ago (and at most LOOKBACK days ago), and past their own
 * wait: their campaign's in `campaignDays` (JSON, {"Webinar": 5}), else `defaultDays`, else `days`. The waits are
 * applied before `limit`, so emails still within a longer wait take no place in the list. A tracker before these two
 * ignores them (`days` is then the extension's shortest wait, and it leaves out the rest itself).
 */
export const followUpsQuery = z.object({
  days: followUpWait.default(3),
  defaultDays: followUpWait.optional(),
  campaignDays: z
    .string()
    .max(MAX_CAMPAIGN_DAYS_JSON)
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object of campaign names and days" });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().min(1).max(CAMPAIGN_NAME_MAX), followUpWait))
    .optional(),
  limit: z.coerce.number().int().min(1).max(FOLLOW_UPS_MAX).default(100),
});

/** Counted opens and clicks per day over the last `days`, days starting at local midnight (`offset`: minutes west of UTC, as Date.getTimezoneOffset). */
export const dailyActivityQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(30),
  offset: z.coerce.number().int().min(-840).max(840).default(0),
  /** The rep's IANA time zone ("Europe/London"): its days follow its daylight saving changes, where `offset` cannot. */
  zone: z.string().max(64).refine(isTimeZone, "not a time zone this tracker knows").optional(),
});

export type CreateAccountRequest = z.input<typeof createAccountRequest>;
export type ReplaceTokenRequest = z.input<typeof replaceTokenRequest>;
export type RecentActivityQuery = z.input<typeof recentActivityQuery>;
export type FollowUpsQuery = z.input<typeof followUpsQuery>;
export type DailyActivityQuery = z.input<typeof dailyActivityQuery>;
export type SignalsRequest = z.input<typeof signalsRequest>;
export type ReplySignal = z.input<typeof replySignal>;
export type BounceSignal = z.input<typeof bounceSignal>;
export type ContactsCheckRequest = z.input<typeof contactsCheckRequest>;
export type CampaignsQuery = z.input<typeof campaignsQuery>;
export type ContactsQuery = z.input<typeof contactsQuery>;
export type ContactTimelineQuery = z.input<typeof contactTimelineQuery>;
export type MessagesQuery = z.input<typeof messagesQuery>;
export type RegisterMessageRequest = z.input<typeof registerMessageRequest>;
export type StatusRequest = z.input<typeof statusRequest>;
export type MessageThreadRequest = z.input<typeof messageThreadRequest>;
export type SenderViewRequest = z.input<typeof senderViewRequest>;

export interface SigningKeyResponse {
  keyId: number;
  secret: string;
}

export interface CreateAccountResponse {
  accountId: string;
  /** Shown once: the tracker keeps only its hash. */
  apiToken: string;
  signingKey: SigningKeyResponse;
}

/**
 * `POST /api/account/token`: the token asked for is the account's now (also when it already was: the request is
 * idempotent); the signing keys stay. The token is not echoed: the extension made it, and kept it before asking.
 */
export interface ReplaceTokenResponse {
  accountId: string;
}

export interface AccountResponse {
  accountId: string;
  name: string | null;
  createdAt: string;
  retentionDays: number;
  signingKey: SigningKeyResponse;
  /**
   * The keys before `signingKey` (key ids below its own, the latest EARLIER_KEYS_MAX, oldest first), which verify as
   * ever: ids minted with them may still be in compose windows. Absent from a tracker older than this field.
   */
  earlierKeys: SigningKeyResponse[];
}

export interface MessageStatus {
  id: string;
  threadId: string | null;
  /** Gmail's sync id of the thread, when registered (`syncThreadId`): a row naming the thread by it is this one's. */
  syncThreadId: string | null;
  state: MessageState;
  openCount: number;
  firstOpenAt: string | null;
  lastOpenAt: string | null;
  clickCount: number;
  lastClickAt: string | null;
  /**
   * Loads of the pixel by Apple Mail Privacy Protection, never counted: Apple fetches a Mail user's images as the
   * email arrives and keeps them, so that user's later reads load nothing (SocketLabs, "Identifying Apple MPP opens";
   * Word to the Wise, "Apple MPP reporting and geolocation", 2021-09). With none counted, "not opened yet" would be
   * untrue: whether they read it cannot be seen. Absent from trackers older than it.
   */
  appleMailLoads?: number;
  /**
   * Replies recorded for this message (each reply once, from POST /api/signals), and at least 1 once it was answered:
   * the retention purge and the replier's deletion as a contact take replies, but the message keeps that it was
   * answered and when last, so an answered message never reads as unanswered. Then the count is of the replies still
   * kept, or 1 when none is (a lower bound, not how many there were).
   */
  replyCount: number;
  /** When the latest reply came, null when none did; kept after its reply is purged or its replier deleted. */
  lastReplyAt: string | null;
  /** The message's effective bounce (hard, or soft not cleared), null when none. */
  bounce: MessageBounce | null;
  /**
   * The tracker stores no more hits of this message because a reader opted out: through its page, or a recipient of it
   * through any email of any account of the tracker, before or after it was sent, or one kept on it (a recipient who
   * opted out was deleted from it as a contact). The hit rule's own (docs/protocol.md §11), so it stays after the
   * retention purge and the contact's deletion, which take the unsubscribe signal.
   */
  unsubscribed: boolean;
  /**
   * Whether the email carries its pixel: without it no open can be seen, and "not opened" would be a claim the
   * tracker cannot make. Missing from trackers older than this field, which is read as tracked.
   */
  openTracking?: boolean;
}

export interface MessageBounce {
  kind: BounceKind;
  /** What the notice said went wrong (its first line of explanation), when it said. */
  reason?: string | null;
  /** Lower-cased addresses the notices named; empty when they named none. */
  recipients: string[];
  at: string;
}

export interface StatusResponse {
  messages: MessageStatus[];
}

/** Where an open came from, coarsely: a country and a region, never a city (one can name a reader). */
export interface Place {
  country: string | null;
  region: string | null;
}

export interface OpenDetail {
  at: string;
  label: EventLabel;
  place: Place | null;
  client: string | null;
  device: string | null;
}

export interface LinkDetail {
  index: number;
  url: string;
  clicks: number;
  uniqueClicks: number;
  clickTimes: string[];
  /** Machine and sender clicks, shown apart and never counted. */
  otherClicks: { at: string; label: EventLabel }[];
}

export interface MessageDetail extends MessageStatus {
  subject: string | null;
  campaign: string | null;
  recipients: { email: string; name?: string }[];
  sentAt: string | null;
  gmailMessageId: string | null;
  openTracking: boolean;
  clickTracking: boolean;
  opens: OpenDetail[];
  links: LinkDetail[];
}

export interface FeedEvent {
  cursor: string;
  messageId: string;
  threadId: string | null;
  subject: string | null;
  recipients: { email: string; name?: string }[];
  kind: EventKind;
  /** A click's link, in the order the links were signed while the email was written (not its place in the email). */
  linkIndex: number | null;
  /**
   * A click's destination, as the email's registration gave its link: what the rep is told was clicked. Null for an
   * open, or a click of a link its email did not register; absent from trackers older than this field.
   */
  linkUrl?: string | null;
  label: EventLabel;
  counted: boolean;
  /**
   * Counted, released once its label was final, and its email registered: the one kind of event that may raise a
   * notification. Absent from trackers older than it (then `counted` decides).
   */
  notify?: boolean;
  /**
   * Its email was registered when the feed released it (in a correction: is registered now). An event released before
   * its email's registration counts for nothing, whatever its label becomes. Absent from trackers older than it.
   */
  registered?: boolean;
  at: string;
}

export interface EventsResponse {
  /** The events released after `after`, in order, up to the first one still held back. */
  events: FeedEvent[];
  /**
   * The events released after the first one still held back (among the `limit` read), in order: a held event
   * delays only itself. Each comes again in `events` once the ones before it are released, so the reader keeps
   * the cursors of those it took from here until `cursor` passes them. Absent from trackers older than it.
   */
  ahead?: FeedEvent[];
  /** Pass as `after` next time: the last of `events`, unchanged when it is empty. */
  cursor: string;
  /**
   * When the earliest event the feed still holds back is released (ISO 8601), or null when it holds none: poll
   * again then. Absent from trackers older than it.
   */
  nextAt?: string | null;
  /**
   * Only when the request gave `correctionsAfter`: events released before whose label changed since (a hit written
   * late relabelled them), in the order the changes were made, up to `limit`. Absent from trackers older than it.
   */
  corrections?: FeedCorrection[];
  /** Only with `corrections`: pass as `correctionsAfter` next time; the last correction's, unchanged when none. */
  correctionsCursor?: string;
}

/**
 * A change of label of an event the feed may have released already: the event as it is now (its `cursor` the event's,
 * its label, `counted` and `notify` as the feed would give them now). Given once per change, behind its own cursor;
 * an event changed twice before it is read is given once, with its latest label. The reader applies it to the event
 * it took, and ignores one for an event it has not taken: that event comes in `events` with its new label.
 */
export interface FeedCorrection {
  cursor: string;
  event: FeedEvent;
}

export interface SignalResult {
  gmailMessageId: string;
  /**
   * recorded: stored now. duplicate: this gmailMessageId was recorded before (nothing changed).
   * unmatched: no tracked message of the caller's in that thread was sent before `at`. ignored: a reply from a
   * `self` address (the sender's own), or a signal keyed by the Gmail message id of one of the caller's own emails.
   */
  outcome: "recorded" | "duplicate" | "unmatched" | "ignored";
  /** The tracked message it was attributed to (recorded or duplicate). */
  messageId: string | null;
}

export interface SignalsResponse {
  results: SignalResult[];
}

export interface ContactCheck {
  /** Lower-cased. */
  email: string;
  /** On the suppression list (a hard bounce, or repeated soft bounces): do not send. */
  suppressed: boolean;
  /** hard: suppressed; soft: one soft bounce not cleared yet (a warning); null: none. */
  bounceKind: BounceKind | null;
  /** The recipient opted out: emails to it are not tracked. */
  optedOut: boolean;
}

export interface ContactsCheckResponse {
  contacts: ContactCheck[];
}

/** Message counts and rates (over `sent`, 0 when nothing was sent) from counted events only. */
export interface CampaignMetrics {
  sent: number;
  /**
   * Messages with at least one counted open / click, with a reply, an effective bounce, an unsubscribe. Replied and
   * unsubscribed as each message's status says them: they stay after the retention purge takes the reply or the
   * unsubscribe (opens and clicks do not).
   */
  opened: number;
  clicked: number;
  replied: number;
  bounced: number;
  unsubscribed: number;
  openRate: number;
  clickRate: number;
  replyRate: number;
  bounceRate: number;
  unsubscribeRate: number;
}

export interface CampaignSummary extends CampaignMetrics {
  name: string;
  firstSentAt: string | null;
  lastSentAt: string | null;
}

export interface CampaignsResponse {
  campaigns: CampaignSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface CampaignLink {
  url: string;
  /** Counted clicks on this URL across the campaign's messages. */
  clicks: number;
  uniqueClicks: number;
}

export interface CampaignDetail extends CampaignSummary {
  /** At most 10, most counted clicks first. */
  topLinks: CampaignLink[];
}

export interface ContactSummary {
  /** Lower-cased. */
  email: string;
  /** The latest display name the rep's emails used for it. */
  name: string | null;
  /** Engagement score now (docs/engagement.md), rounded to 2 decimals. */
  score: number;
  /** Latest counted open, click or reply attributed to it (shared emails included), or null. */
  lastActivityAt: string | null;
  lastSentAt: string | null;
  sent: number;
  suppressed: boolean;
  bounceKind: BounceKind | null;
  optedOut: boolean;
}

export interface ContactsResponse {
  contacts: ContactSummary[];
  nextCursor: string | null;
  /**
   * Contacts the tracker has still to score (an account's first listing, or the first after much activity, is scored
   * over several requests): until it is 0 they may be missing from the list or out of place. Ask again.
   */
  pendingContacts: number;
}

export const TIMELINE_KINDS = ["sent", "open", "click", "reply", "bounce", "unsubscribe"] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineItem {
  at: string;
  kind: TimelineKind;
  messageId: string;
  subject: string | null;
  campaign: string | null;
  /**
   * The email went to several recipients and this activity cannot be attributed to one of them: show it as
   * "someone on this email". False for a sent item of a one-recipient email, a reply from this contact, a bounce
   * or an unsubscribe naming it, and every activity of an email sent to it alone.
   */
  shared: boolean;
  /** click: the link's URL (when the link is known). */
  url: string | null;
  /** bounce: its kind. */
  bounceKind: BounceKind | null;
}

export interface ContactDetail {
  contact: ContactSummary;
  /** Newest first; counted events only. */
  timeline: TimelineItem[];
  nextCursor: string | null;
}

export interface MessageListItem extends MessageStatus {
  subject: string | null;
  recipients: { email: string; name?: string }[];
  sentAt: string | null;
  campaign: string | null;
}

export interface MessagesResponse {
  messages: MessageListItem[];
  nextCursor: string | null;
}

/** One message of the popup's digest: everything counted about it, one entry however many hits. */
export interface DigestItem {
  id: string;
  threadId: string | null;
  subject: string | null;
  recipients: { email: string; name?: string }[];
  sentAt: string | null;
  campaign: string | null;
  /** The latest counted open, click, reply, bounce or opt-out. */
  lastActivityAt: string;
  openCount: number;
  lastOpenAt: string | null;
  /** Counted clicks per link clicked, most first. */
  clickedLinks: { index: number; url: string; clicks: number }[];
  /** As in MessageStatus: at least 1 once the message was answered, whatever the purge took. */
  replyCount: number;
  lastReplyAt: string | null;
  bounce: MessageBounce | null;
  unsubscribed: boolean;
  /** Hits not counted (machines: Apple's prefetch, scanners, prefetches), summed: never listed one by one. */
  machineHits: number;
}

export interface RecentActivityResponse {
  messages: DigestItem[];
}

/** How far an email that waits for a reply got: ranks the follow-up list (clicked first, then opened, then nothing). */
export type FollowUpEngagement = "clicked" | "opened" | "none";

export interface FollowUpItem extends MessageListItem {
  engagement: FollowUpEngagement;
  /** Latest counted open or click, or null. */
  lastActivityAt: string | null;
}

export interface FollowUpsResponse {
  /** Ranked: clicked, then opened, then nothing; within each, the latest activity (or send) first. */
  messages: FollowUpItem[];
  /**
   * How many emails need a follow-up, `messages` and those `limit` left out; null when more wait than the tracker
   * looks at (its newest FOLLOW_UP_ROWS), so their number is not known. Missing from trackers before it.
   */
  total: number | null;
}

export interface DailyActivity {
  /** The local day, YYYY-MM-DD. */
  day: string;
  opens: number;
  clicks: number;
}

export interface DailyActivityResponse {
  days: DailyActivity[];
}

export interface ErrorResponse {
  error: string;
  issues?: { path: string; message: string }[];
}
