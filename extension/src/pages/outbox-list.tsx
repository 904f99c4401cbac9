// The outbox as the user sees it: every registration not delivered yet, with why. Shared by popup and options.
import type { OutboxEntry } from "../background/outbox";
import { counted, subjectShown } from "../words";

export function OutboxList({ entries, onRetry }: { entries: OutboxEntry[]; onRetry: () => void }) {
  if (entries.length === 0)
    return (
      <p class="muted" data-testid="outbox-empty">
        No email is waiting to be registered with the tracker.
      </p>
    );
  const registrations = entries.filter((entry) => !entry.withdraw).length;
  return (
    <div>
      <p data-testid="outbox-count">
        {counted(registrations, "sent email")} not registered yet
        {entries.length > registrations ? `, ${entries.length - registrations} taken back in Gmail` : ""}:
      </p>
      <ul class="outbox">
        {entries.map((entry) => (
          <li key={entry.trackingId} data-state={entry.state}>
            <strong>{subjectShown(entry.request.subject)}</strong> —{" "}
            {entry.withdraw ? "taken back in Gmail, being removed from the tracker" : entry.state === "failed" ? "refused" : "pending"}
            {entry.attempts > 0 ? `, ${counted(entry.attempts, "attempt")}` : ""}
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
