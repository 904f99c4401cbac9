import { describe, expect, it } from "vitest";
import { BLANK_GIF, neutraliseHtml, pixelIdIn } from "./pixel-guard";

const TRACKER = "https://t.example";
const ID = "abcdefghijklmnop.1.AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";

describe("page-world pixel guard", () => {
  it("recognises this tracker's pixel directly and through Google's proxy fragment (plain or encoded)", () => {
    expect(pixelIdIn(`${TRACKER}/o/${ID}.gif`, TRACKER)).toBe(ID);
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/ADKq_Nb=s0-d-e1-ft#${TRACKER}/o/${ID}.gif`, TRACKER)).toBe(ID);
    expect(
      pixelIdIn(`https://ci4.googleusercontent.com/proxy/xyz=s0-d-e1-ft#${encodeURIComponent(`${TRACKER}/o/${ID}.gif`)}`, TRACKER),
    ).toBe(ID);
    expect(pixelIdIn(`https://other.example/o/${ID}.gif`, TRACKER)).toBeNull();
    expect(pixelIdIn(`https://ci3.googleusercontent.com/meips/x#https://images.example/logo.png`, TRACKER)).toBeNull();
  });

  it("rewrites only the tracker's pixels in an HTML string, keeping the original for the content script", () => {
    const html = `<p>hi</p><img alt="" src="https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${TRACKER}/o/${ID}.gif" width="1"><img src="https://images.example/logo.png">`;
    const out = neutraliseHtml(html, TRACKER);
    expect(out).toContain(
      `src="${BLANK_GIF}" data-mt-src="https://ci3.googleusercontent.com/meips/a=s0-d-e1-ft#${TRACKER}/o/${ID}.gif" data-mt-pixel-id="${ID}"`,
    );
    expect(out).toContain('<img src="https://images.example/logo.png">');
    expect(neutraliseHtml("<p>no tracker here</p>", TRACKER)).toBe("<p>no tracker here</p>");
  });
});
