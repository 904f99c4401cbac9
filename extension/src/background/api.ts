// The background's client of the tracker's API, built on Hono's `hc` from the worker's own routes (a type-only
// import of AppType): a renamed route, a changed input or a changed answer fails the type check here, not in a
// user's browser. Every failure becomes a TrackerError that says what is wrong in words a user can act on; the
// outbox uses `retryable` to decide between retrying and keeping an entry as failed.
import { type ClientResponse, hc, type parseResponse } from "hono/client";
import type { CONTACT_SORTS, ErrorResponse, MessageFilter } from "../../../shared/api";
import { FOLLOW_UPS_MAX } from "../../../shared/limits";
import type { AppType } from "../../../worker/src/app";
import { trackerAccessGranted } from "../options-store";
import { errorText, trackerAccessOffAdvice } from "../words";

export class TrackerError extends Error {
  constructor(
    message: string,
    /** HTTP status, or null when the tracker could not be reached at all. */
    readonly status: number | null,
    /**
     * Why the browser refused a call: "withdrawn", for want of the extension's access to the tracker's site, off as
     * the call failed (gmail-health.ts says so). A call refused while it was off and given back since is made again
     * (reaching), and fails, if it does, as that second call does.
     */
    readonly access?: "withdrawn",
  ) {
    super(message);
    this.name = "TrackerError";
  }

  /**
   * Network failures, throttling and server errors pass; a refused request (4xx) will be refused again. A refused
   * token (401) passes too: nothing is wrong with the request itself, and connecting again (which retries every
   * outbox entry) mends it; the rep is told so at once (tracker-reach.ts).
   */
  get retryable(): boolean {
    return this.status === null || this.status === 401 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

type ContactSort = (typeof CONTACT_SORTS)[number];

/**
 * Which call was heard: "delivery", the calls the outbox makes, an email's registration (PUT /api/messages/:id) or
 * the withdrawal of a send Gmail's Undo took back (its DELETE, said so by delivery.ts); "other", any other, the rep's
 * own Delete of an email too. Deliveries failing alone while other calls are answered are one route of the
 * tracker failing, not the tracker out of reach (tracker-reach.ts TrackerReach.waits).
 */
export type CallKind = "delivery" | "other";

/** Told how a call made with a token went: null when the tracker answered it, else its TrackerError. */
type AnswerListener = (trackerUrl: string, token: string, failure: TrackerError | null, call: CallKind) => void;
let answerListener: AnswerListener | undefined;

/**
 * The background's one listener to every call made with a token (tracker-reach.ts follows its tracker's reachability
 * with it). Called as the call settles, before its caller hears of it.
 */
export function onTrackerAnswer(listener: AnswerListener): void {
  answerListener = listener;
}

function heard<T>(trackerUrl: string, token: string | undefined, call: Promise<T>, kind: CallKind = "other"): Promise<T> {
  if (token === undefined) return call;
  return call.then(
    (value) => {
      answerListener?.(trackerUrl, token, null, kind);
      return value;
    },
    (error: unknown) => {
      if (error instanceof TrackerError) answerListener?.(trackerUrl, token, error, kind);
      throw error;
    },
  );
}

/** How long a call may take; exports take longer than the other calls. */
const TIMEOUT_MS = 15_000;
const EXPORT_TIMEOUT_MS = 120_000;
/** No cookies, no HTTP cache: every request carries its token and wants the tracker's answer of now. */
const FRESH = { credentials: "omit", cache: "no-store" } as const;

/** The body of a call's successful answer, as the worker's route declares it (Hono's own inference). */
type Answer<R extends ClientResponse<unknown>> = Awaited<ReturnType<typeof parseResponse<R>>>;

/** A part of a CSV export, and the cursor of the next part, from its `Link: <…?cursor=…>; rel="next"` (§14). */
interface CsvPart {
  text: string;
  next: string | null;
}

function csvPart(text: string, response: Response): CsvPart {
  const link = /<([^>]*)>\s*;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
  return { text, next: link ? new URL(link, "https://tracker.invalid").searchParams.get("cursor") : null };
}

/**
 * `request`, a call to the tracker at `trackerUrl`; its failure to get any answer a TrackerError, in `unreachable`'s
 * words unless the browser refused it for want of access to the tracker's site (Chrome's "Site access", Firefox's
 * add-on permissions): a fetch fails the same way then, and only granting the access again mends it. The one place
 * that tells them apart, and that makes a call again, for every call (answer) and for the probe (probeTracker).
 */
async function reaching<R>(
  trackerUrl: string,
  request: () => Promise<R>,
  unreachable: (reason: string) => string,
  again: Again = "again",
): Promise<R> {
  // Asked as the call leaves, not only once it failed: a call the browser refused, its access given back while it was
  // on its way (the options page's button, the browser's settings), is made again, not counted as the tracker out of
  // reach. Asked again after: access taken away meanwhile refuses the call as well.
  const accessAtStart = trackerAccessGranted(trackerUrl);
  try {
    return await request();
  } catch (error) {
    // Both asked, the second whatever the first said.
    const [atStart, now] = [await accessAtStart, await trackerAccessGranted(trackerUrl)];
    // Only a refusal's own shape (a fetch refused by the browser fails as a TypeError, api.test.ts cites what Chromium
    // and Firefox did): a timeout or an abort is of a call that left.
    if (atStart || !now || !(error instanceof TypeError)) throw failure(trackerUrl, error, now, unreachable);
    // Refused while the site was withheld, given back since: made again, at once and once. The browser refused it
    // before sending it, as a cross-origin request to an origin the extension holds no host permission for (Chrome's
    // "Cross-origin network requests", developer.chrome.com/docs/extensions/develop/concepts/network-requests, read
    // 2026-12-07), so it never reached the tracker. Unless access came back in the instant between the browser's answer
    // and the request leaving: a call then sent and failing after as a network error is sent twice. Every call but one
    // changes nothing the second time (worker/src/routes: reads, idempotent writes, signals recorded once by their
    // Gmail message id, a token replacement asked again with the same token); creating an account ("once") would make
    // a second one, and is left for the rep to make again. Its second failure is what it is: the access off again, or
    // the tracker's; never made a third time.
    if (again === "once")
      throw new TrackerError(
        `the browser refused the call while Mailtracker's access to ${trackerUrl} was off; it is allowed again now: try again (${errorText(error)})`,
        null,
      );
    return await request().catch(async (second: unknown) => {
      throw failure(trackerUrl, second, await trackerAccessGranted(trackerUrl), unreachable);
    });
  }
}

/** A call's failure to get any answer, `granted` whether the browser allows the tracker's site as it failed (reaching). */
function failure(trackerUrl: string, error: unknown, granted: boolean, unreachable: (reason: string) => string): TrackerError {
  const reason = errorText(error);
  if (granted) return new TrackerError(unreachable(reason), null);
  // In the words the toolbar and the popup use (words.ts trackerAccessOff), naming the options page's button by its
  // label.
  return new TrackerError(`${trackerAccessOffAdvice(trackerUrl)} (${reason})`, null, "withdrawn");
}

/**
 * How a call may be made again (reaching): "again"; "once", never; "again, gone is done", a delete whose 404 answered
 * to the call made again means it is done: the first call may have landed and deleted it (answer counts the calls), and
 * each of these routes answers 404 once nothing is left to delete (worker/src/routes/messages.ts DELETE /:id,
 * contacts.ts DELETE /:email and /:email/suppression). A 404 to a first call still says what it says.
 */
type Again = "again" | "once" | "again, gone is done";

/**
 * The one place an answer of the tracker is read: the body of a 2xx answer (parsed, unless the route answers a CSV
 * part), any failure a TrackerError.
 */
async function answer<R extends ClientResponse<unknown>>(
  trackerUrl: string,
  request: () => Promise<R>,
  format?: "json",
  again?: Again,
): Promise<Answer<R>>;
async function answer<R extends ClientResponse<unknown>>(
  trackerUrl: string,
  request: () => Promise<R>,
  format: "csv-part",
): Promise<CsvPart>;
async function answer<R extends ClientResponse<unknown>>(
  trackerUrl: string,
  request: () => Promise<R>,
  format: "json" | "csv-part" = "json",
  again: Again = "again",
): Promise<Answer<R> | CsvPart> {
  let calls = 0;
  const counted = () => {
    calls++;
    return request();
  };
  const response = await reaching(trackerUrl, counted, (reason) => `cannot reach the tracker at ${trackerUrl} (${reason})`, again);
  const text = await response.text().catch(() => "");
  if (calls > 1 && response.status === 404 && again === "again, gone is done") return undefined as Answer<R>;
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
  if (format === "csv-part") return csvPart(text, response as unknown as Response);
  if (response.status === 204 || text === "") return undefined as Answer<R>;
  try {
    // The type is the route's own: hc's typed json() reads the same text this way.
    return JSON.parse(text) as Answer<R>;
  } catch {
    throw new TrackerError(`the server at ${trackerUrl} answered something that is not the tracker's JSON`, response.status);
  }
}

type QueryOf<T> = { [K in keyof T]?: Exclude<T[K], number | undefined> | (T[K] extends number | undefined ? string : never) };

/** Query values as the tracker reads them (strings); empty and missing values left out. */
function query<T extends object>(values: T): QueryOf<T> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values))
    if ((typeof value === "string" && value !== "") || (typeof value === "number" && Number.isFinite(value))) out[key] = String(value);
  return out as QueryOf<T>;
}

/**
 * The tracker's API at `trackerUrl`, called with `token` (none for creating an account). `fetch` is the platform's
 * unless given (the worker's tests call the worker itself through it).
 */
export function trackerApi(trackerUrl: string, token?: string, fetch: typeof globalThis.fetch = globalThis.fetch) {
  const client = hc<AppType>(`${trackerUrl}/api`, {
    // Bound when called, not now: a service worker's fetch must be called on its global.
    fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
    headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  /** Per call: its own timeout. */
  const init = (timeoutMs = TIMEOUT_MS): { init: RequestInit } => ({ init: { signal: AbortSignal.timeout(timeoutMs), ...FRESH } });
  const call = <R extends ClientResponse<unknown>>(request: () => Promise<R>, kind?: CallKind, again?: Again) =>
    heard(trackerUrl, token, answer(trackerUrl, request, "json", again), kind);
  const id = (trackingId: string) => ({ param: { id: encodeURIComponent(trackingId) } });
  const email = (address: string) => ({ param: { email: encodeURIComponent(address) } });
  return {
    /** Never made twice (reaching): a second request would create a second account. */
    createAccount: (body: Parameters<typeof client.accounts.$post>[0]["json"], registrationSecret?: string) =>
      call(
        () =>
          client.accounts.$post(
            { json: body },
            { ...init(), headers: registrationSecret ? { "X-Registration-Secret": registrationSecret } : {} },
          ),
        "other",
        "once",
      ),
    account: () => call(() => client.account.$get(undefined, init())),
    /** `apiToken`, made and kept by this browser, in place of this one, which the tracker refuses from then on (token-replacement.ts). */
    replaceToken: (apiToken: string) => call(() => client.account.token.$post({ json: { apiToken } }, init())),
    registerMessage: (trackingId: string, body: Parameters<(typeof client.messages)[":id"]["$put"]>[0]["json"]) =>
      // The clock is read as the request leaves, not when the email was sent: the outbox may deliver it much later.
      call(
        () => client.messages[":id"].$put({ ...id(trackingId), json: { ...body, clockAt: new Date().toISOString() } }, init()),
        "delivery",
      ),
    senderViews: (body: Parameters<typeof client.views.$post>[0]["json"]) => call(() => client.views.$post({ json: body }, init())),
    status: (threadIds: string[]) => call(() => client.messages.status.$post({ json: { threadIds } }, init())),
    detail: (trackingId: string) => call(() => client.messages[":id"].$get(id(trackingId), init())),
    stop: (trackingId: string) => call(() => client.messages[":id"].stop.$post(id(trackingId), init())),
    /** The conversation the rep's Gmail shows an email in, for one registered without it (docs/protocol.md). */
    moveToThread: (trackingId: string, threadId: string) =>
      call(() => client.messages[":id"].thread.$post({ ...id(trackingId), json: { threadId } }, init())),
    /** `kind` "delivery" from the outbox's withdrawal of a send (delivery.ts); the rep's own Delete is another call. */
    remove: (trackingId: string, kind: CallKind = "other") =>
      call(() => client.messages[":id"].$delete(id(trackingId), init()), kind, "again, gone is done"),
    events: (after: string, limit = 100, correctionsAfter?: string) =>
      call(() =>
        client.events.$get(
          { query: { after, limit: String(limit), ...(correctionsAfter === undefined ? {} : { correctionsAfter }) } },
          init(),
        ),
      ),

    // Replies and bounces (signals.ts), recipient checks (contact-checks.ts) and the dashboard (dashboard.ts).
    signals: (body: Parameters<typeof client.signals.$post>[0]["json"]) => call(() => client.signals.$post({ json: body }, init())),
    checkContacts: (emails: string[]) => call(() => client.contacts.check.$post({ json: { emails } }, init())),
    campaigns: (cursor?: string) => call(() => client.campaigns.$get({ query: query({ cursor, limit: 50 }) }, init())),
    campaign: (name: string) => call(() => client.campaigns[":name"].$get({ param: { name: encodeURIComponent(name) } }, init())),
    contacts: (q: { sort?: ContactSort; campaign?: string; minScore?: number; cursor?: string; limit?: number }) =>
      call(() => client.contacts.$get({ query: query(q) }, init())),
    contact: (address: string, cursor?: string) =>
      call(() => client.contacts[":email"].$get({ ...email(address), query: query({ cursor }) }, init())),
    deleteContact: (address: string) =>
      call(() => client.contacts[":email"].$delete(email(address), init()), "other", "again, gone is done"),
    liftSuppression: (address: string) =>
      call(() => client.contacts[":email"].suppression.$delete(email(address), init()), "other", "again, gone is done"),
    messages: (q: { campaign?: string; state?: MessageFilter; q?: string; cursor?: string; limit?: number }) =>
      call(() => client.messages.$get({ query: query(q) }, init())),
    // The popup's digest, the follow-up list and the dashboard's chart (digest.ts, follow-ups.ts).
    recentActivity: (days: number) => call(() => client.activity.recent.$get({ query: query({ days, limit: 20 }) }, init())),
    followUps: (waits: { days: number; defaultDays?: number; campaignDays?: string }) =>
      call(() => client.activity["follow-ups"].$get({ query: query({ ...waits, limit: FOLLOW_UPS_MAX }) }, init())),
    dailyActivity: (days: number, offset: number, zone?: string) =>
      call(() => client.activity.daily.$get({ query: query({ days, offset, zone }) }, init())),
    /** One part of a CSV export (docs/protocol.md §14): its text, and the cursor of the next part or null. */
    exportCsvPart: (name: "messages" | "events" | "contacts", cursor?: string) =>
      heard(
        trackerUrl,
        token,
        answer(
          trackerUrl,
          () =>
            client.export[`${name}.csv`].$get(
              { query: query({ cursor }) },
              { ...init(EXPORT_TIMEOUT_MS), headers: { Accept: "text/csv" } },
            ),
          "csv-part",
        ),
      ),
  };
}

export type TrackerApi = ReturnType<typeof trackerApi>;

/** How long probeTracker waits for the tracker's fixed line: past it, the tracker does not answer. */
export const PROBE_TIMEOUT_MS = 10_000;

/**
 * GET / answers a fixed line on every tracker, without a token, KV or D1: the cheapest call there is. Used to tell
 * "unreachable" from "wrong token", and a tracker out of reach from one route of it failing (tracker-reach.ts); refused
 * for want of access to the tracker's site, it says so as every call does (reaching). Made without a token, it is not
 * heard by onTrackerAnswer. `fetch` is the platform's unless given (the tests').
 */
export async function probeTracker(trackerUrl: string, fetch: typeof globalThis.fetch = globalThis.fetch): Promise<void> {
  const response = await reaching(
    trackerUrl,
    () => fetch(`${trackerUrl}/`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), ...FRESH }),
    (reason) => `cannot reach ${trackerUrl}: is the tracker running, and is the address right? (${reason})`,
  );
  const text = await response.text().catch(() => "");
  if (!response.ok || !text.startsWith("mailtracker")) {
    throw new TrackerError(`${trackerUrl} answered, but it is not a mailtracker server (HTTP ${response.status})`, response.status);
  }
}
