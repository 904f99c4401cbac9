// The replies and bounce notices the tracker never counted (background/held-signals.ts): matched to no tracked email
// after every retry, or pushed out while too many waited to be sent. Listed for the rep rather than dropped, since each
// may be a reply or a bad address their tracker never counted; cleared by the rep once read.
import { TOO_MANY_WAITING, type UnmatchedListing, type UnmatchedSignal } from "../background/held-signals";
import { counted, notCountedSignals, timeShown } from "../words";

function what({ signal }: UnmatchedSignal): string {
  if (signal.kind === "reply") return `Reply from ${signal.from}`;
  const names = signal.bounce.recipients.join(", ");
  return `${signal.bounce.kind === "hard" ? "Bounce" : "Soft bounce"} notice${names ? ` for ${names}` : ""}`;
}

function why({ reason }: UnmatchedSignal): string {
  return reason === TOO_MANY_WAITING
    ? "not sent: too many replies and bounces were waiting for your tracker"
    : "it matched no tracked email of its thread sent before it";
}

export function UnmatchedSignalsList({ listing, now, onClear }: { listing: UnmatchedListing; now: number; onClear: () => void }) {
  const { signals, unlisted } = listing;
  if (signals.length === 0 && unlisted === 0) return null;
  return (
    <div data-testid="unmatched-signals">
      <p>{notCountedSignals(signals.length + unlisted)}:</p>
      <ul>
        {[...signals].reverse().map((item) => (
          <li key={item.signal.gmailMessageId}>
            {what(item)}, {timeShown(Date.parse(item.signal.at), now)}: {why(item)}
          </li>
        ))}
      </ul>
      {unlisted > 0 ? <p data-testid="unlisted-signals">{counted(unlisted, "older one is", "older ones are")} no longer listed.</p> : null}
      <button type="button" name="clear-unmatched-signals" onClick={onClear}>
        Clear this list
      </button>
    </div>
  );
}
