// The rep's calendar days as spans of time, for the dashboard's chart: a day starts at local midnight, and a day that a
// daylight saving change shortens or lengthens lasts 23 or 25 hours. With an IANA time zone ("Europe/London", which the
// browser names: Intl.DateTimeFormat().resolvedOptions().timeZone) every day follows that zone's rules; with only a
// UTC offset (what extensions before it send), every day is 24 hours at that offset, and the days on the other side
// of a change are an hour off.

export interface LocalDay {
  /** The local date, "2026-10-25". */
  day: string;
  start: number;
  end: number;
}

/** Milliseconds to add to an instant for the local time of `zone` at that instant. */
function zoneOffsets(zone: string): (at: number) => number {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  return (at) => {
    const part: Record<string, number> = {};
    for (const { type, value } of format.formatToParts(at)) part[type] = Number(value);
    const local = Date.UTC(part.year ?? 0, (part.month ?? 1) - 1, part.day ?? 1, part.hour ?? 0, part.minute ?? 0, part.second ?? 0);
    return local - Math.floor(at / 1000) * 1000;
  };
}

/**
 * The `count` local days up to and including the one `now` falls in, oldest first, in `zone` (an IANA name) or at a
 * fixed offset (minutes west of UTC, as Date.getTimezoneOffset gives it).
 */
export function localDays(count: number, now: number, where: { zone: string } | { offsetMinutes: number }): LocalDay[] {
  const offsetAt = "zone" in where ? zoneOffsets(where.zone) : () => -where.offsetMinutes * 60_000;
  // Local midnight of a date: the instant whose local time is 00:00, found from the offset at a first guess and then
  // at that instant (a change between the two moves it).
  const midnight = (date: number) => date - offsetAt(date - offsetAt(date));
  const today = new Date(now + offsetAt(now));
  const dates = Array.from({ length: count + 1 }, (_, i) =>
    Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - count + 1 + i),
  );
  return dates.slice(0, count).map((date, i) => ({
    day: new Date(date).toISOString().slice(0, 10),
    start: midnight(date),
    end: midnight(dates[i + 1] as number),
  }));
}
