// The outbox as the user sees it: every registration not delivered yet, with why. Shared by popup and options.
import type { OutboxEntry } from "../background/outbox";

export function OutboxList({ entries, onRetry }: { entries: OutboxEntry[]; onRetry: () => void }) {
  if (entries.length === 0)
    return (
      <p class="muted" data-testid="outbox-empty">
        No email is waiting to be registered with the tracker.
      </p>
    );
  return (
    <div>
      <p data-testid="outbox-count">
        {entries.length} sent email{entries.length === 1 ? "" : "s"} not registered yet:
      </p>
      <ul class="outbox">
        {entries.map((entry) => (
          <li key={entry.trackingId} data-state={entry.state}>
            <strong>{entry.request.subject || "(no subject)"}</strong> — {entry.state === "failed" ? "refused" : "pending"}
            {entry.attempts > 0 ? `, ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}` : ""}
            {entry.lastError ? <div class="muted">{entry.lastError}</div> : null}
          </li>
        ))}
      </ul>
      <button type="button" onClick={onRetry}>
        Retry now
      </button>
    </div>
  );
}
