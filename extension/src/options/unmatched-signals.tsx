// The replies and bounce notices the tracker matched to no tracked email after every retry (background/held-signals.ts):
// listed for the rep rather than dropped, since each may be a reply or a bad address their tracker never counted.
import type { UnmatchedSignal } from "../background/held-signals";
import { counted, timeShown } from "../words";

function what({ signal }: UnmatchedSignal): string {
  if (signal.kind === "reply") return `Reply from ${signal.from}`;
  const names = signal.bounce.recipients.join(", ");
  return `${signal.bounce.kind === "hard" ? "Bounce" : "Soft bounce"} notice${names ? ` for ${names}` : ""}`;
}

export function UnmatchedSignalsList({ signals, now }: { signals: UnmatchedSignal[]; now: number }) {
  if (signals.length === 0) return null;
  return (
    <div data-testid="unmatched-signals">
      <p>
        {counted(signals.length, "reply or bounce notice", "replies or bounce notices")} seen in Gmail matched no tracked email of their
        thread sent before them, and were not counted:
      </p>
      <ul>
        {[...signals].reverse().map((item) => (
          <li key={item.signal.gmailMessageId}>
            {what(item)}, {timeShown(Date.parse(item.signal.at), now)}
          </li>
        ))}
      </ul>
    </div>
  );
}
