import { expect, it } from "vitest";
import { counted, subjectShown } from "./words";

it("counts in the singular for one and the plural otherwise, zero included", () => {
  expect([0, 1, 2].map((n) => counted(n, "click"))).toEqual(["0 clicks", "1 click", "2 clicks"]);
  expect([1, 3].map((n) => counted(n, "reply", "replies"))).toEqual(["1 reply", "3 replies"]);
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
