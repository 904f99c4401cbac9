// @vitest-environment happy-dom
// Which images of a rendered message the sender-pixels feature reads: the browser picks them by selector, so the
// selector must keep every pixel of the tracker, in each form Google's proxy shows it, and may drop the rest.
// The proxy keeps the original URL in its fragment, plain in the dated capture
// test/fixtures/gmail/sync-api/2022-09-09-* (`…/proxy/…=s0-d-e1-ft#https://…`; docs/gmail.md); the percent-encoded
// fragment is a defensive case, not a captured one.
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { candidatePixels, neutralise } from "./sender-pixels";

const ID = "abcdefghijklmnop.1.AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";
const PROXY = "https://ci3.googleusercontent.com/meips/ADKq_Nb=s0-d-e1-ft#";

function picked(trackers: string[], images: string[]): string[] {
  const body = document.createElement("div");
  body.innerHTML = images.join("");
  const selectors = candidatePixels(trackers);
  // In document order, each image once, as the feature visits them (it asks the selectors one at a time).
  return [...body.querySelectorAll("img")]
    .filter((img) => selectors.some((selector) => img.matches(selector)))
    .map((img) => img.getAttribute("data-name") ?? "");
}

describe("sender pixels: the images read", () => {
  const images = (tracker: string) => [
    `<img data-name="direct" src="${tracker}/o/${ID}.gif">`,
    `<img data-name="proxied" src="${PROXY}${tracker}/o/${ID}.gif">`,
    `<img data-name="proxied-encoded" src="${PROXY}${encodeURIComponent(`${tracker}/o/${ID}.gif`)}">`,
    `<img data-name="neutralised" data-mt-pixel-id="${ID}">`,
    `<img data-name="avatar" src="https://lh3.googleusercontent.com/a/photo=s40">`,
    `<img data-name="logo" src="${PROXY}https://images.example/logo.png">`,
  ];

  it("keeps the tracker's pixels in every form and leaves other images out, and those the page world neutralised", () => {
    const pixels = ["direct", "proxied", "proxied-encoded"];
    expect(picked(["https://t.example"], images("https://t.example"))).toEqual(pixels);
    // A tracker on a port: the proxy's fragment may carry the colon percent-encoded.
    expect(picked(["http://127.0.0.1:8787"], images("http://127.0.0.1:8787"))).toEqual(pixels);
  });

  it("keeps the pixels of every tracker the browser was connected to, by each one's hostname", () => {
    const both = [...images("https://t.example"), ...images("https://mt.rep.workers.dev")];
    expect(picked(["https://t.example", "https://mt.rep.workers.dev"], both)).toEqual([
      ...["direct", "proxied", "proxied-encoded"],
      ...["direct", "proxied", "proxied-encoded"],
    ]);
    expect(picked(["https://t.example"], both)).toEqual(["direct", "proxied", "proxied-encoded"]);
  });

  it("reads every image when the tracker's address has no text in common with its pixels' (IPv6)", () => {
    expect(picked(["http://[::1]:8787"], images("http://[::1]:8787"))).toHaveLength(6);
  });

  it("leaves a pixel the page world neutralised to it: its id was told as it did (page-world/pixel-guard.ts)", () => {
    const img = document.createElement("img");
    img.setAttribute("data-mt-pixel-id", ID);
    img.setAttribute("data-mt-src", `https://t.example/o/${ID}.gif`);
    expect(neutralise(img, ["https://t.example"])).toBeNull();
  });
});

describe("sender pixels: an image that reached the page as it was", () => {
  it("takes its src and srcset away, keeps the original and the id, and reads it once", () => {
    const img = document.createElement("img");
    const src = `${PROXY}https://t.example/o/${ID}.gif`;
    img.setAttribute("src", src);
    img.setAttribute("srcset", `${src} 2x`);
    expect(neutralise(img, ["https://t.example"])).toBe(ID);
    expect(img.hasAttribute("src")).toBe(false);
    expect(img.hasAttribute("srcset")).toBe(false);
    expect(img.getAttribute("data-mt-src")).toBe(src);
    expect(img.getAttribute("data-mt-pixel-id")).toBe(ID);
    expect(neutralise(img, ["https://t.example"])).toBeNull();
  });

  it("neutralises again a pixel whose src was put back after the page world took it away", () => {
    const img = document.createElement("img");
    const src = `https://t.example/o/${ID}.gif`;
    img.setAttribute("data-mt-pixel-id", ID);
    img.setAttribute("data-mt-src", src);
    img.setAttribute("src", src);
    expect(neutralise(img, ["https://t.example"])).toBe(ID);
    expect(img.hasAttribute("src")).toBe(false);
  });
});
