import { describe, expect, it } from "vitest";
import { DAY, HOUR, MINUTE } from "../../../test/durations";
import { inTimeZone } from "../time-zone.test-support";
import { relativeTime } from "./time";

const NOW = Date.parse("2026-11-29T15:00:00Z");
const earlier = (ms: number) => new Date(NOW - ms).toISOString();

describe("times and links for people", () => {
  it("says how long ago, then the date", () => {
    expect(relativeTime(earlier(20_000), NOW)).toBe("just now");
    expect(relativeTime(earlier(2 * MINUTE), NOW)).toBe("2 min ago");
    expect(relativeTime(earlier(3 * HOUR), NOW)).toBe("3 h ago");
    const dayBefore = new Date(NOW);
    dayBefore.setDate(dayBefore.getDate() - 1);
    expect(relativeTime(dayBefore.toISOString(), NOW)).toBe("yesterday");
    expect(relativeTime(earlier(4 * DAY), NOW)).toBe("4 days ago");
    expect(relativeTime(earlier(40 * DAY), NOW)).not.toMatch(/ago/);
    expect(relativeTime(new Date(NOW + 2 * DAY).toISOString(), NOW)).toBe("in 2 days");
  });

  it("names days by the calendar: an open the evening before yesterday is not yesterday's", () => {
    // Local times: Wednesday 1:00, and Monday 19:00 (30 hours before) or Tuesday 0:30 (24.5 hours before).
    const wednesday = new Date(2026, 10, 25, 1, 0).getTime();
    expect(relativeTime(new Date(2026, 10, 23, 19, 0).toISOString(), wednesday)).toBe("2 days ago");
    expect(relativeTime(new Date(2026, 10, 24, 0, 30).toISOString(), wednesday)).toBe("yesterday");
    // Late on Wednesday, Tuesday's first minutes (47 hours before) are yesterday's, Sunday's last are 3 days ago.
    const late = new Date(2026, 10, 25, 23, 0).getTime();
    expect(relativeTime(new Date(2026, 10, 24, 0, 1).toISOString(), late)).toBe("yesterday");
    expect(relativeTime(new Date(2026, 10, 22, 23, 59).toISOString(), late)).toBe("3 days ago");
  });

  it("says hours for a time earlier on a day of 25 hours", async () => {
    // Europe/London left summer time on 2026-10-25 at 2:00.
    await inTimeZone("Europe/London", () => {
      const lateThatDay = Date.parse("2026-10-25T23:30:00Z");
      expect(relativeTime(new Date(lateThatDay - 24.5 * HOUR).toISOString(), lateThatDay)).toBe("25 h ago");
    });
  });
});
