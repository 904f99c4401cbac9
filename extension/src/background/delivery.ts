// What the outbox delivers: a sent email's registration with the tracker, or the withdrawal of a send Gmail's Undo
// took back. The outbox (outbox.ts) holds the entries and retries; this says what one attempt does and what follows it.
import type { MessageStatus } from "../../../shared/api";
import { REQUEST_TRANSIT_MAX_MS } from "../../../shared/limits";
import { accountOf } from "../../../shared/protocol";
import { threadIdsOf } from "../gmail-ids";
import { type TrackerApi, TrackerError } from "./api";
import { type Credentials, ofAnotherAccount } from "./credentials";
import { ATTEMPTS_BEFORE_TELLING, type DeliveryResult, type OutboxEntry } from "./outbox";

export interface DeliveryDeps {
  credentials: () => Promise<Credentials | null>;
  api: (credentials: Credentials) => Pick<TrackerApi, "registerMessage" | "remove">;
  /** Tells the status cache and the Gmail tabs that these threads' state changed. */
  news: (threadIds: string[]) => void;
  /** Sends the replies and bounces held until their email was registered. */
  releaseHeld: () => void;
  /**
   * The tracker has the email now, and answered its counts: hits it released before, without a notification, are
   * notified (notifications.ts, FeedPoller.registered).
   */
  registered: (entry: OutboxEntry, status: MessageStatus) => void;
}

/** How many times one attempt sends a registration while each is answered more slowly than REQUEST_TRANSIT_MAX_MS. */
export const SENDS_WHILE_SLOW = 3;
/**
 * The outbox attempt of an email (failed ones of any kind count) that goes on with a slow answer; those before it whose
 * every send was slow are retried. One fewer than the rep is told of a waiting email after, so a slow tracker alone
 * tells nothing; it waits out about 30 s of the outbox's backoff (2 + 4 + 8 + 16 s, outbox.ts backoffMs).
 */
export const SLOW_ATTEMPTS = ATTEMPTS_BEFORE_TELLING - 1;
export const SLOW_REGISTRATION = `registered, but answered more slowly than ${REQUEST_TRANSIT_MAX_MS / 1000} s each time: sent again to correct its send time`;

/**
 * Why an email of another account than the connected one waits (the rep connected to another account since it was
 * sent, or taken back): in the outbox's list and its notice, in words that say what brings it to its tracker.
 */
export function waitsForItsAccount(trackingId: string): string {
  const owner = accountOf(trackingId) ?? "";
  return `it belongs to account ${owner}, and this browser is connected to another account now: it goes to that account's tracker once you connect to account ${owner} again`;
}

function failed(error: unknown): DeliveryResult {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof TrackerError)) return { retry: true, error: message };
  return { retry: error.retryable, error: message, status: error.status };
}

export function outboxDelivery(deps: DeliveryDeps): (entry: OutboxEntry) => Promise<DeliveryResult> {
  /**
   * News of the email's thread by both its ids: a Sent row of a thread the rep started may carry only Gmail's sync id
   * (docs/gmail.md), and a row asked about before the registration learnt no other id from the empty answer.
   */
  const news = (entry: OutboxEntry) => {
    const ids = threadIdsOf(entry.request);
    if (ids.length > 0) deps.news(ids);
  };

  /** A send Gmail's Undo took back: the tracker deletes it (its data and later hits), or never had it (404). */
  async function withdraw(entry: OutboxEntry, credentials: Credentials): Promise<DeliveryResult> {
    try {
      await deps.api(credentials).remove(entry.trackingId, "delivery");
    } catch (error) {
      if (!(error instanceof TrackerError && error.status === 404)) return failed(error);
    }
    news(entry);
    return "delivered";
  }

  /**
   * The tracker moves the send time by how far the request's `clockAt` is from its own clock as the request arrives
   * (worker db/messages.ts sentAtByTrackerClock), which counts the request's time on its way as the sender's clock being
   * behind. One held for seconds, by a tracker still starting after an outage (wrangler dev holds a request until the
   * worker serves: seen at 3.3 s on a loaded machine, 2026-12-07), would make the email seem sent that much later, and
   * a reply or a bounce notice of those seconds older than it: the tracker does not match it to the email, and it is
   * lost. A registration answered more slowly than REQUEST_TRANSIT_MAX_MS is therefore sent again (a registration is
   * idempotent, and each one sets the send time anew), up to SENDS_WHILE_SLOW times in all.
   */
  async function register(entry: OutboxEntry, credentials: Credentials): Promise<{ status: MessageStatus; slow: boolean }> {
    const api = deps.api(credentials);
    for (let sends = 1; ; sends++) {
      const leftAt = Date.now();
      const status = await api.registerMessage(entry.trackingId, entry.request);
      const slow = Date.now() - leftAt > REQUEST_TRANSIT_MAX_MS;
      if (!slow || sends === SENDS_WHILE_SLOW) return { status, slow };
    }
  }

  return async (entry) => {
    const credentials = await deps.credentials();
    if (!credentials) return { retry: true, error: "not connected to a tracker" };
    // Never to this tracker, nor with this token: the registration would land in no account (another tracker's id, or
    // 404 from this one, taken for "never had it" by a withdrawal). Kept, pending, until the rep connects to its account
    // again (connect retries the outbox at once).
    if (ofAnotherAccount(credentials, entry.trackingId)) return { retry: true, error: waitsForItsAccount(entry.trackingId) };
    if (entry.withdraw) return withdraw(entry, credentials);
    let registered: { status: MessageStatus; slow: boolean };
    try {
      registered = await register(entry, credentials);
    } catch (error) {
      // 410: the user deleted this message's data on the tracker; it is as delivered as it will ever be.
      return error instanceof TrackerError && error.status === 410 ? "delivered" : failed(error);
    }
    if (registered.slow) {
      // Every send slow: the email waits in the outbox, its held signals with it, and is sent again after the outbox's
      // backoff. A tracker slow for good (far away, say) must not keep them there forever: the last such attempt goes
      // on with its slow answer, and the send time may be late by that request's transit.
      if (entry.attempts + 1 < SLOW_ATTEMPTS) return { retry: true, error: SLOW_REGISTRATION };
      console.warn(`registration answered slowly at every send of ${SLOW_ATTEMPTS} attempts: its send time may be late`, entry);
    }
    // The tracker knows this thread now: its status is asked for again, by the Gmail tabs too (a Sent row drawn as the
    // email went out holds its untracked state until then), and replies seen in it meanwhile go out.
    news(entry);
    deps.releaseHeld();
    deps.registered(entry, registered.status);
    return "delivered";
  };
}
