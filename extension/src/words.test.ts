import { expect, it } from "vitest";
import { counted, recipientsNotNamed, shortUrl, subjectShown } from "./words";

it("counts in the singular for one and the plural otherwise, zero included", () => {
  expect([0, 1, 2].map((n) => counted(n, "click"))).toEqual(["0 clicks", "1 click", "2 clicks"]);
  expect([1, 3].map((n) => counted(n, "reply", "replies"))).toEqual(["1 reply", "3 replies"]);
});

it("says why a reminder's recipients are counted, not named, in the singular for one", () => {
  expect([1, 2].map(recipientsNotNamed)).toEqual([
    "1 recipient (no room to keep its name with the reminder)",
    "2 recipients (no room to keep their names with the reminder)",
  ]);
});

it("shows a missing subject, or one of spaces only, as (no subject), and a subject without its outer spaces", () => {
  expect([undefined, null, "", "   ", "  Proposal "].map(subjectShown)).toEqual([
    "(no subject)",
    "(no subject)",
    "(no subject)",
    "(no subject)",
    "Proposal",
  ]);
});

it("shortens a link to its host and path", () => {
  expect(shortUrl("https://www.calendly.com/rep/30min?utm=x")).toBe("calendly.com/rep/30min");
  expect(shortUrl("https://example.com/")).toBe("example.com");
  expect(shortUrl("https://example.com/a/very/long/path/that/goes/on/and/on", 20)).toBe("example.com/a/very/…");
});
