// Times for people on the extension's pages: relative ("5 min ago", "yesterday") with the exact time on hover.
import { useEffect, useState } from "preact/hooks";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../../shared/durations";
import { counted } from "../words";

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then the date; "in 2 days" for the future. */
export function relativeTime(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const diff = now - at;
  if (diff < 0) {
    const ahead = -diff;
    if (ahead < HOUR_MS) return `in ${Math.max(1, Math.round(ahead / MINUTE_MS))} min`;
    if (ahead < DAY_MS) return `in ${Math.round(ahead / HOUR_MS)} h`;
    const days = Math.round(ahead / DAY_MS);
    return `in ${counted(days, "day")}`;
  }
  if (diff < MINUTE_MS) return "just now";
  if (diff < HOUR_MS) return `${Math.round(diff / MINUTE_MS)} min ago`;
  // Past a day, by calendar days: an open 30 hours before 1:00 was the day before yesterday, not "yesterday". Local
  // midnights are a whole number of days apart give or take a daylight saving hour, which the rounding absorbs.
  const midnight = (ms: number) => new Date(ms).setHours(0, 0, 0, 0);
  const days = Math.round((midnight(now) - midnight(at)) / DAY_MS);
  // A day of 25 hours (daylight saving ends) holds times 24 hours apart: still today's, in hours.
  if (diff < DAY_MS || days < 1) return `${Math.round(diff / HOUR_MS)} h ago`;
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  const date = new Date(at);
  return date.toLocaleDateString(undefined, {
    month: "short",
    day: "numeric",
    ...(date.getFullYear() === new Date(now).getFullYear() ? {} : { year: "numeric" }),
  });
}

export function exactTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "medium" });
}

/** The current time, ticking every minute so relative times stay true on a page left open. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), MINUTE_MS);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A relative time with the exact one on hover; "—" for none. */
export function Time({ iso, now }: { iso: string | null; now: number }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso, now)}
    </time>
  );
}
