// Counted opens and clicks per day as a small bar chart in plain SVG (no charting library: a few dozen rectangles
// do not need one, and the page stays light). Each day's bars carry a title with its numbers for hover and readers.
import { useEffect, useState } from "preact/hooks";
import type { DailyActivity } from "../../../shared/api";
import { callFromPage } from "../messaging";
import { counted, errorText } from "../words";

const WIDTH = 720;
const HEIGHT = 120;
const AXIS = 18;

const dayLabel = (day: string) => new Date(`${day}T12:00:00`).toLocaleDateString(undefined, { month: "short", day: "numeric" });

export function ActivityBars({ days }: { days: DailyActivity[] }) {
  const max = Math.max(1, ...days.map((d) => Math.max(d.opens, d.clicks)));
  const slot = WIDTH / Math.max(1, days.length);
  const bar = Math.max(2, slot / 2 - 1);
  const y = (n: number) => ((HEIGHT - AXIS) * n) / max;
  const total = days.reduce((sum, d) => ({ opens: sum.opens + d.opens, clicks: sum.clicks + d.clicks }), { opens: 0, clicks: 0 });
  return (
    <figure class="chart" data-testid="chart" data-opens={total.opens} data-clicks={total.clicks}>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${total.opens} opens and ${total.clicks} clicks in the last ${days.length} days`}
      >
        <line x1="0" x2={WIDTH} y1={HEIGHT - AXIS} y2={HEIGHT - AXIS} class="axis" />
        {days.map((d, i) => (
          <g key={d.day} data-day={d.day}>
            <title>{`${dayLabel(d.day)}: ${counted(d.opens, "open")}, ${counted(d.clicks, "click")}`}</title>
            <rect class="hit" x={i * slot} y="0" width={slot} height={HEIGHT - AXIS} />
            <rect class="opens" x={i * slot + 1} y={HEIGHT - AXIS - y(d.opens)} width={bar} height={y(d.opens)} />
            <rect class="clicks" x={i * slot + 1 + bar} y={HEIGHT - AXIS - y(d.clicks)} width={bar} height={y(d.clicks)} />
          </g>
        ))}
        <text x="0" y={HEIGHT - 4} class="label">
          {days[0] ? dayLabel(days[0].day) : ""}
        </text>
        <text x={WIDTH} y={HEIGHT - 4} class="label" text-anchor="end">
          today
        </text>
        <text x="0" y="10" class="label">
          {max} a day
        </text>
      </svg>
      <figcaption>
        <span class="key opens" /> opens ({total.opens}) <span class="key clicks" /> clicks ({total.clicks}) per day, last {days.length}{" "}
        days, real readers only
      </figcaption>
    </figure>
  );
}

export function ActivityChart({ days = 30 }: { days?: number }) {
  const [data, setData] = useState<DailyActivity[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    callFromPage("dailyActivity", { days, offset: new Date().getTimezoneOffset(), zone }).then(
      (r) => setData(r.days),
      (e: unknown) => setError(errorText(e)),
    );
  }, [days]);
  if (error) return <p class="error">{error}</p>;
  return data ? <ActivityBars days={data} /> : <p class="muted">Loading the chart…</p>;
}
