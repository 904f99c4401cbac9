// What the outbox delivers: a sent email's registration with the tracker, or the withdrawal of a send Gmail's Undo
// took back. The outbox (outbox.ts) holds the entries and retries; this says what one attempt does and what follows it.
import type { MessageStatus } from "../../../shared/api";
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

  return async (entry) => {
    const credentials = await deps.credentials();
    if (!credentials) return { retry: true, error: "not connected to a tracker" };
    if (entry.withdraw) return withdraw(entry, credentials);
    let status: MessageStatus;
    try {
      status = await deps.api(credentials).registerMessage(entry.trackingId, entry.request);
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
