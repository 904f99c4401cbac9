// The replies and bounce notices the tracker never counted (background/held-signals.ts): matched to no tracked email
// after every retry, listed, and a count of those pushed out by a bound. Listed for the rep rather than dropped, since
// each may be a reply or a bad address their tracker never counted; cleared by the rep once read.
import type { UnmatchedListing, UnmatchedSignal } from "../background/held-signals";
import { counted, notCountedSignals, timeShown } from "../words";

function what({ signal }: UnmatchedSignal): string {
  if (signal.kind === "reply") return `Reply from ${signal.from}`;
  const names = signal.bounce.recipients.join(", ");
  return `${signal.bounce.kind === "hard" ? "Bounce" : "Soft bounce"} notice${names ? ` for ${names}` : ""}`;
}

export function UnmatchedSignalsList({ listing, now, onClear }: { listing: UnmatchedListing; now: number; onClear: () => void }) {
  const { signals, unlisted } = listing;
  if (signals.length === 0 && unlisted === 0) return null;
  return (
    <div data-testid="unmatched-signals">
      <p>{notCountedSignals({ listed: signals.length, unlisted })}:</p>
      <ul>
        {[...signals].reverse().map((item) => (
          <li key={item.signal.gmailMessageId}>
            {what(item)}, {timeShown(Date.parse(item.signal.at), now)}: it matched no tracked email of its thread sent before it
          </li>
        ))}
      </ul>
      {unlisted > 0 ? (
        <p data-testid="unlisted-signals">{counted(unlisted, "other is", "others are")} not listed, and may have been counted since.</p>
      ) : null}
      <button type="button" name="clear-unmatched-signals" onClick={onClear}>
        Clear this list
      </button>
    </div>
  );
}
