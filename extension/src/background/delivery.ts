// What the outbox delivers: a sent email's registration with the tracker, or the withdrawal of a send Gmail's Undo
// took back. The outbox (outbox.ts) holds the entries and retries; this says what one attempt does and what follows it.
import type { MessageStatus } from "../../../shared/api";
import { CLOCK_TOLERANCE_MS } from "../../../shared/limits";
import { threadIdsOf } from "../gmail-ids";
import { type TrackerApi, TrackerError } from "./api";
import type { Credentials } from "./credentials";
import type { DeliveryResult, OutboxEntry } from "./outbox";

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
   * lost. A registration answered more slowly than CLOCK_TOLERANCE_MS is therefore sent once more, promptly read now
   * that the tracker answers (a registration is idempotent); the email waits in the outbox, and its held signals with
   * it, until that one is answered too.
   */
  async function register(entry: OutboxEntry, credentials: Credentials): Promise<MessageStatus> {
    const api = deps.api(credentials);
    const leftAt = Date.now();
    const status = await api.registerMessage(entry.trackingId, entry.request);
    return Date.now() - leftAt > CLOCK_TOLERANCE_MS ? api.registerMessage(entry.trackingId, entry.request) : status;
  }

  return async (entry) => {
    const credentials = await deps.credentials();
    if (!credentials) return { retry: true, error: "not connected to a tracker" };
    if (entry.withdraw) return withdraw(entry, credentials);
    let status: MessageStatus;
    try {
      status = await register(entry, credentials);
    } catch (error) {
      // 410: the user deleted this message's data on the tracker; it is as delivered as it will ever be.
      return error instanceof TrackerError && error.status === 410 ? "delivered" : failed(error);
    }
    // The tracker knows this thread now: its status is asked for again, by the Gmail tabs too (a Sent row drawn as the
    // email went out holds its untracked state until then), and replies seen in it meanwhile go out.
    news(entry);
    deps.releaseHeld();
    deps.registered(entry, status);
    return "delivered";
  };
}
