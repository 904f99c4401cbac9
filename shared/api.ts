// The tracker's API contract: request schemas (validated by the worker, used by the extension's client)
// and response types. Times are ISO 8601 strings in UTC.
import { z } from "zod";
import { isAcceptableDestination, MAX_LINK_INDEX, TRACKING_ID_PATTERN } from "./protocol";

export const EVENT_KINDS = ["open", "click"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * Every stored hit carries one label; nothing is deleted for being a machine.
 * - human: a person's client fetched the pixel or followed the link.
 * - gmail-proxy: a real open fetched through Google's image proxy (place and device are Google's).
 * - sender: the sender's own view (reported by the extension, or before the send time).
 * - apple-mpp: Apple Mail Privacy Protection prefetch on delivery.
 * - scanner: a security scanner (HEAD, datacenter network, bot user agent, burst of every link, click right after sending).
 * - prefetch: a browser or client speculative fetch (Purpose/Sec-Purpose: prefetch).
 */
export const EVENT_LABELS = ["human", "gmail-proxy", "sender", "apple-mpp", "scanner", "prefetch"] as const;
export type EventLabel = (typeof EVENT_LABELS)[number];
/** Labels that count as a person reading or clicking: counts and notifications use only these. */
export const COUNTED_LABELS: readonly EventLabel[] = ["human", "gmail-proxy"];

export const MESSAGE_STATES = ["delivered", "opened", "clicked", "stopped"] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

const trackingId = z.string().regex(TRACKING_ID_PATTERN, "must be a tracking id (docs/protocol.md)");
/** Gmail's thread and message ids: legacy hex ("16f4…") or "thread-f:…"/"msg-f:…" forms, with an optional '#'. */
const gmailId = z.string().regex(/^#?[A-Za-z0-9:_-]{1,100}$/, "must be a Gmail thread or message id");
const isoTime = z.iso.datetime({ offset: true });

export const createAccountRequest = z.object({
  name: z.string().trim().min(1).max(100).optional(),
});

export const updateAccountRequest = z.object({
  /** Events older than this are deleted by the tracker's daily purge. */
  retentionDays: z.number().int().min(1).max(3650),
});

export const registerMessageRequest = z.object({
  subject: z.string().max(998),
  recipients: z
    .array(
      z.object({
        email: z.email().max(320),
        name: z.string().max(200).optional(),
      }),
    )
    .max(500),
  sentAt: isoTime,
  threadId: gmailId.optional(),
  gmailMessageId: gmailId.optional(),
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

export const statusRequest = z.object({
  threadIds: z.array(gmailId).min(1).max(200),
});

export const senderViewRequest = z
  .object({
    messageIds: z.array(trackingId).max(100).default([]),
    threadIds: z.array(gmailId).max(100).default([]),
  })
  .refine((body) => body.messageIds.length + body.threadIds.length > 0, "name at least one message or thread");

export const eventsQuery = z.object({
  after: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a cursor returned by this endpoint")
    .default("0"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export type CreateAccountRequest = z.input<typeof createAccountRequest>;
export type RegisterMessageRequest = z.input<typeof registerMessageRequest>;
export type StatusRequest = z.input<typeof statusRequest>;
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

export interface AccountResponse {
  accountId: string;
  name: string | null;
  createdAt: string;
  retentionDays: number;
  signingKey: SigningKeyResponse;
}

export interface MessageStatus {
  id: string;
  threadId: string | null;
  state: MessageState;
  openCount: number;
  firstOpenAt: string | null;
  lastOpenAt: string | null;
  clickCount: number;
  lastClickAt: string | null;
}

export interface StatusResponse {
  messages: MessageStatus[];
}

export interface Place {
  country: string | null;
  region: string | null;
  city: string | null;
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
  linkIndex: number | null;
  label: EventLabel;
  counted: boolean;
  at: string;
}

export interface EventsResponse {
  events: FeedEvent[];
  /** Pass as `after` next time; unchanged when there is nothing new. */
  cursor: string;
}

export interface ErrorResponse {
  error: string;
  issues?: { path: string; message: string }[];
}
