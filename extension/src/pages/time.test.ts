import { describe, expect, it } from "vitest";
import { relativeTime, shortUrl } from "./time";

const NOW = Date.parse("2026-11-29T15:00:00Z");
const earlier = (ms: number) => new Date(NOW - ms).toISOString();

describe("times and links for people", () => {
  it("says how long ago, then the date", () => {
    expect(relativeTime(earlier(20_000), NOW)).toBe("just now");
    expect(relativeTime(earlier(2 * 60_000), NOW)).toBe("2 min ago");
    expect(relativeTime(earlier(3 * 3_600_000), NOW)).toBe("3 h ago");
    expect(relativeTime(earlier(30 * 3_600_000), NOW)).toBe("yesterday");
    expect(relativeTime(earlier(4 * 86_400_000), NOW)).toBe("4 days ago");
    expect(relativeTime(earlier(40 * 86_400_000), NOW)).not.toMatch(/ago/);
    expect(relativeTime(new Date(NOW + 2 * 86_400_000).toISOString(), NOW)).toBe("in 2 days");
  });

  it("shortens a link to its host and path", () => {
    expect(shortUrl("https://www.calendly.com/rep/30min?utm=x")).toBe("calendly.com/rep/30min");
    expect(shortUrl("https://example.com/")).toBe("example.com");
    expect(shortUrl("https://example.com/a/very/long/path/that/goes/on/and/on", 20)).toBe("example.com/a/very/…");
  });
});
