import { describe, expect, it } from "vitest";
import { DAY } from "../test/durations";
import { ENGAGEMENT_HALF_LIFE_DAYS, type EngagementActivity, engagementScore, recencyFactor } from "./engagement";

const NOW = Date.parse("2026-11-20T12:00:00Z");
const act = (kind: EngagementActivity["kind"], daysAgo = 0, emailId = "m1", share = 1): EngagementActivity => ({
  emailId,
  kind,
  at: NOW - daysAgo * DAY,
  share,
});

describe("engagement score", () => {
  it("is zero without activity", () => {
    expect(engagementScore([], NOW)).toBe(0);
  });

  it("weights clicks over opens and replies most", () => {
    expect(engagementScore([act("open")], NOW)).toBe(1);
    expect(engagementScore([act("click")], NOW)).toBe(3);
    expect(engagementScore([act("reply")], NOW)).toBe(10);
    expect(engagementScore([act("open"), act("click")], NOW)).toBe(4);
  });

  it("gives repeated opens of the same email diminishing returns, but not opens of different emails", () => {
    expect(engagementScore([act("open"), act("open"), act("open")], NOW)).toBe(1.75);
    const fiveOpens = Array.from({ length: 5 }, () => act("open"));
    expect(engagementScore(fiveOpens, NOW)).toBe(1.94); // never more than 2, however many times
    expect(
      engagementScore(
        Array.from({ length: 50 }, () => act("open")),
        NOW,
      ),
    ).toBeLessThanOrEqual(2);
    expect(engagementScore([act("open", 0, "m1"), act("open", 0, "m2"), act("open", 0, "m3")], NOW)).toBe(3);
  });

  it("halves activity every half-life", () => {
    expect(ENGAGEMENT_HALF_LIFE_DAYS).toBe(14);
    expect(engagementScore([act("reply", 14)], NOW)).toBe(5);
    expect(engagementScore([act("reply", 28)], NOW)).toBe(2.5);
    expect(recencyFactor(-DAY)).toBe(1);
    expect(engagementScore([act("click", 1)], NOW)).toBeLessThan(engagementScore([act("click", 0)], NOW));
  });

  it("ranks repeats by time, not by input order", () => {
    // The older open is the first (weight 1, decayed); the newer one the second (weight 0.5, fresh).
    const expected = Math.round((1 * 0.5 + 0.5 * 1) * 100) / 100;
    expect(engagementScore([act("open", 0), act("open", 14)], NOW)).toBe(expected);
    expect(engagementScore([act("open", 14), act("open", 0)], NOW)).toBe(expected);
  });

  it("splits shared emails by the given share", () => {
    expect(engagementScore([act("click", 0, "m1", 1 / 3)], NOW)).toBe(1);
    expect(engagementScore([act("open", 0, "m1", Number.NaN)], NOW)).toBe(0);
  });
});
