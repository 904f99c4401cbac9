// Typed calls to the tracker's API (shared/api.ts). Every failure becomes a TrackerError that says what is wrong
// in words a user can act on; the outbox uses `retryable` to decide between retrying and keeping an entry as failed.
import type {
  AccountResponse,
  CampaignDetail,
  CampaignsResponse,
  ContactCheck,
  ContactDetail,
  ContactsQuery,
  ContactsResponse,
  CreateAccountRequest,
  CreateAccountResponse,
  DailyActivityResponse,
  ErrorResponse,
  EventsResponse,
  FollowUpsResponse,
  MessageDetail,
  MessageStatus,
  MessagesQuery,
  MessagesResponse,
  RecentActivityResponse,
  RegisterMessageRequest,
  SenderViewRequest,
  SignalResult,
  SignalsRequest,
  StatusResponse,
} from "../../../shared/api";
import { searchString } from "../../../shared/query";

export class TrackerError extends Error {
  constructor(
    message: string,
    /** HTTP status, or null when the tracker could not be reached at all. */
    readonly status: number | null,
  ) {
    super(message);
    this.name = "TrackerError";
  }

  /** Network failures, throttling and server errors pass; a refused request (4xx) will be refused again. */
  get retryable(): boolean {
    return this.status === null || this.status === 401 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** The one place a request to the tracker is built and sent: the body's text of a 2xx answer, any failure a TrackerError. */
async function send(trackerUrl: string, path: string, options: CallOptions): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${trackerUrl}${path}`, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new TrackerError(`cannot reach the tracker at ${trackerUrl} (${error instanceof Error ? error.message : String(error)})`, null);
  }
  const text = await response.text().catch(() => "");
  if (!response.ok) {
    let detail = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as ErrorResponse;
      detail = parsed.error + (parsed.issues?.length ? `: ${parsed.issues.map((i) => `${i.path} ${i.message}`).join("; ")}` : "");
    } catch {
      // not JSON: keep the start of the text
    }
    throw new TrackerError(`the tracker answered ${response.status}${detail ? `: ${detail}` : ""}`, response.status);
  }
  return { status: response.status, text };
}

async function call<T>(trackerUrl: string, path: string, options: CallOptions = {}): Promise<T> {
  const { status, text } = await send(trackerUrl, path, options);
  if (status === 204 || text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TrackerError(`the server at ${trackerUrl} answered something that is not the tracker's JSON`, status);
  }
}

/** GET / answers a fixed line on every tracker; used to tell "unreachable" from "wrong token". */
export async function probeTracker(trackerUrl: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${trackerUrl}/`, { signal: AbortSignal.timeout(10_000), credentials: "omit", cache: "no-store" });
  } catch (error) {
    throw new TrackerError(
      `cannot reach ${trackerUrl}: is the tracker running, and is the address right? (${error instanceof Error ? error.message : String(error)})`,
      null,
    );
  }
  const text = await response.text().catch(() => "");
  if (!response.ok || !text.startsWith("mailtracker")) {
    throw new TrackerError(`${trackerUrl} answered, but it is not a mailtracker server (HTTP ${response.status})`, response.status);
  }
}

export const api = {
  createAccount: (trackerUrl: string, body: CreateAccountRequest, registrationSecret?: string) =>
    call<CreateAccountResponse>(trackerUrl, "/api/accounts", {
      method: "POST",
      body,
      headers: registrationSecret ? { "X-Registration-Secret": registrationSecret } : {},
    }),
  account: (trackerUrl: string, token: string) => call<AccountResponse>(trackerUrl, "/api/account", { token }),
  registerMessage: (trackerUrl: string, token: string, trackingId: string, body: RegisterMessageRequest) =>
    call<MessageStatus>(trackerUrl, `/api/messages/${encodeURIComponent(trackingId)}`, { method: "PUT", token, body }),
  senderViews: (trackerUrl: string, token: string, body: SenderViewRequest) =>
    call<{ recorded: number }>(trackerUrl, "/api/views", { method: "POST", token, body }),
  status: (trackerUrl: string, token: string, threadIds: string[]) =>
    call<StatusResponse>(trackerUrl, "/api/messages/status", { method: "POST", token, body: { threadIds } }),
  detail: (trackerUrl: string, token: string, trackingId: string) =>
    call<MessageDetail>(trackerUrl, `/api/messages/${encodeURIComponent(trackingId)}`, { token }),
  stop: (trackerUrl: string, token: string, trackingId: string) =>
    call<unknown>(trackerUrl, `/api/messages/${encodeURIComponent(trackingId)}/stop`, { method: "POST", token }),
  remove: (trackerUrl: string, token: string, trackingId: string) =>
    call<void>(trackerUrl, `/api/messages/${encodeURIComponent(trackingId)}`, { method: "DELETE", token }),
  events: (trackerUrl: string, token: string, after: string, limit = 100) =>
    call<EventsResponse>(trackerUrl, `/api/events${searchString({ after, limit })}`, { token }),

  // Replies, bounces, recipient checks and the dashboard (background/engagement.ts).
  signals: (trackerUrl: string, token: string, body: SignalsRequest) =>
    call<{ results: SignalResult[] }>(trackerUrl, "/api/signals", { method: "POST", token, body }),
  checkContacts: (trackerUrl: string, token: string, emails: string[]) =>
    call<{ contacts: ContactCheck[] }>(trackerUrl, "/api/contacts/check", { method: "POST", token, body: { emails } }),
  campaigns: (trackerUrl: string, token: string, cursor?: string) =>
    call<CampaignsResponse>(trackerUrl, `/api/campaigns${searchString({ cursor, limit: 50 })}`, { token }),
  campaign: (trackerUrl: string, token: string, name: string) =>
    call<CampaignDetail>(trackerUrl, `/api/campaigns/${encodeURIComponent(name)}`, { token }),
  contacts: (trackerUrl: string, token: string, query: ContactsQuery) =>
    call<ContactsResponse>(trackerUrl, `/api/contacts${searchString(query)}`, { token }),
  contact: (trackerUrl: string, token: string, email: string, cursor?: string) =>
    call<ContactDetail>(trackerUrl, `/api/contacts/${encodeURIComponent(email)}${searchString({ cursor })}`, { token }),
  deleteContact: (trackerUrl: string, token: string, email: string) =>
    call<void>(trackerUrl, `/api/contacts/${encodeURIComponent(email)}`, { method: "DELETE", token }),
  liftSuppression: (trackerUrl: string, token: string, email: string) =>
    call<void>(trackerUrl, `/api/contacts/${encodeURIComponent(email)}/suppression`, { method: "DELETE", token }),
  messages: (trackerUrl: string, token: string, query: MessagesQuery) =>
    call<MessagesResponse>(trackerUrl, `/api/messages${searchString(query)}`, { token }),
  // The popup's digest, the follow-up list and the dashboard's chart (background/digest.ts, follow-ups.ts).
  recentActivity: (trackerUrl: string, token: string, days: number) =>
    call<RecentActivityResponse>(trackerUrl, `/api/activity/recent${searchString({ days, limit: 20 })}`, { token }),
  followUps: (trackerUrl: string, token: string, days: number) =>
    call<FollowUpsResponse>(trackerUrl, `/api/activity/follow-ups${searchString({ days, limit: 200 })}`, { token }),
  dailyActivity: (trackerUrl: string, token: string, days: number, offset: number) =>
    call<DailyActivityResponse>(trackerUrl, `/api/activity/daily${searchString({ days, offset })}`, { token }),
  /** A CSV export as text (exports take longer than the other calls). */
  exportCsv: (trackerUrl: string, token: string, name: string) =>
    send(trackerUrl, `/api/export/${encodeURIComponent(name)}.csv`, { token, headers: { Accept: "text/csv" }, timeoutMs: 120_000 }).then(
      (answer) => answer.text,
    ),
};
