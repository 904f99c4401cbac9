import { describe, expect, it } from "vitest";
import { searchString } from "./query";

describe("searchString", () => {
  it("keeps defined values only", () => {
    expect(searchString({ a: "x y", b: undefined, c: "", d: 3, e: Number.NaN })).toBe("?a=x+y&d=3");
    expect(searchString({})).toBe("");
  });
});
