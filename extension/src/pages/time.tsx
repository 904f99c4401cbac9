// Times for people on the extension's pages: relative ("5 min ago", "yesterday") with the exact time on hover.
import { useEffect, useState } from "preact/hooks";
import { counted } from "../words";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then the date; "in 2 days" for the future. */
export function relativeTime(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const diff = now - at;
  if (diff < 0) {
    const ahead = -diff;
    if (ahead < HOUR) return `in ${Math.max(1, Math.round(ahead / MINUTE))} min`;
    if (ahead < DAY) return `in ${Math.round(ahead / HOUR)} h`;
    const days = Math.round(ahead / DAY);
    return `in ${counted(days, "day")}`;
  }
  if (diff < MINUTE) return "just now";
  if (diff < HOUR) return `${Math.round(diff / MINUTE)} min ago`;
  // Past a day, by calendar days: an open 30 hours before 1:00 was the day before yesterday, not "yesterday". Local
  // midnights are a whole number of days apart give or take a daylight saving hour, which the rounding absorbs.
  const midnight = (ms: number) => new Date(ms).setHours(0, 0, 0, 0);
  const days = Math.round((midnight(now) - midnight(at)) / DAY);
  // A day of 25 hours (daylight saving ends) holds times 24 hours apart: still today's, in hours.
  if (diff < DAY || days < 1) return `${Math.round(diff / HOUR)} h ago`;
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
    const timer = setInterval(() => setNow(Date.now()), MINUTE);
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
