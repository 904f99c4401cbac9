// @vitest-environment happy-dom
// The send-time rewrite as pure DOM functions, with real signed links from shared/protocol.ts.
import { describe, expect, it, vi } from "vitest";

// webextension-polyfill refuses to load outside an extension; these tests use only pure functions of modules that
// import it, so an extension id is enough to let the import through (no extension API is called).
vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { mintTrackingId, pixelUrl, signedClickUrl } from "../../../shared/protocol";
import { pixelIdIn } from "../page-world/pixel-guard";
import { applyTracking, linksToSign, stripEarlierTracking, trackerLink } from "./rewrite";

const TRACKER = "https://t.example";
const KEY = { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) };

async function plan(body: HTMLElement, options: { open?: boolean; click?: boolean; excluded?: string[] } = {}) {
  const trackingId = await mintTrackingId(KEY);
  const policy = { trackers: [TRACKER], excludedLinkDomains: options.excluded ?? [] };
  const urls = linksToSign(body, policy, trackingId);
  const clickUrls = new Map<string, string>();
  for (const [index, url] of urls.entries()) clickUrls.set(url, await signedClickUrl(TRACKER, KEY, trackingId, index, url));
  return {
    ...policy,
    trackingId,
    pixelUrl: pixelUrl(TRACKER, trackingId),
    openTracking: options.open ?? true,
    clickTracking: options.click ?? true,
    clickUrls,
  };
}

function body(html: string): HTMLElement {
  const element = document.createElement("div");
  element.innerHTML = html;
  return element;
}

describe("send-time rewrite", () => {
  it("appends the pixel and swaps http(s) links for signed click links, keeping the text; leaves mailto/tel/excluded alone", async () => {
    const root = body(
      '<a href="https://shop.example/p?a=1&amp;b=2">Pricing</a> <a href="mailto:x@y.example">mail</a> <a href="tel:+1555">call</a> <a href="https://wiki.corp.example/x">wiki</a> <a href="https://shop.example/p?a=1&amp;b=2">again</a>',
    );
    const p = await plan(root, { excluded: ["corp.example"] });
    const result = applyTracking(root, p);
    const anchors = [...root.querySelectorAll("a")];
    expect(anchors.map((a) => a.textContent)).toEqual(["Pricing", "mail", "call", "wiki", "again"]);
    expect(trackerLink(anchors[0]?.getAttribute("href") ?? "", [TRACKER])).toEqual({
      id: p.trackingId,
      index: 0,
      url: "https://shop.example/p?a=1&b=2",
    });
    expect(anchors[4]?.getAttribute("href")).toBe(anchors[0]?.getAttribute("href"));
    expect(anchors.slice(1, 4).map((a) => a.getAttribute("href"))).toEqual([
      "mailto:x@y.example",
      "tel:+1555",
      "https://wiki.corp.example/x",
    ]);
    expect(result.links).toEqual([{ index: 0, url: "https://shop.example/p?a=1&b=2" }]);
    expect(root.lastElementChild?.getAttribute("src")).toBe(p.pixelUrl);
    // What keeps a pixel that cannot load invisible (applyTracking): an empty alt, and 1x1 without a border.
    expect(root.lastElementChild?.outerHTML).toBe(
      `<img src="${p.pixelUrl}" alt="" width="1" height="1" style="width:1px;height:1px;border:0;margin:0;padding:0">`,
    );
    expect(pixelIdIn(p.pixelUrl, [TRACKER])).toBe(p.trackingId);
  });

  it("leaves Google Drive and Docs links as they are, so Gmail still checks at the send that the recipients may open them", async () => {
    const drive = "https://drive.google.com/file/d/1AbC/view?usp=drive_web";
    const doc = "https://docs.google.com/document/d/1XyZ/edit?usp=sharing";
    const root = body(`<a href="${drive}">deck</a> <a href="${doc}">notes</a> <a href="https://shop.example/">shop</a>`);
    const p = await plan(root);
    const result = applyTracking(root, p);
    expect([...root.querySelectorAll("a")].slice(0, 2).map((a) => a.getAttribute("href"))).toEqual([drive, doc]);
    expect(result.links).toEqual([{ index: 0, url: "https://shop.example/" }]);
  });

  it("is idempotent (a send Gmail cancelled, then sent again) and removes its marks when tracking is turned off", async () => {
    const root = body('<a href="https://a.example/">a</a>');
    const p = await plan(root);
    applyTracking(root, p);
    const once = root.innerHTML;
    applyTracking(root, p);
    expect(root.innerHTML).toBe(once);
    applyTracking(root, { ...p, openTracking: false, clickTracking: false });
    expect(root.innerHTML).toBe('<a href="https://a.example/">a</a>');
  });

  it("strips earlier emails' pixels (direct or proxied) and unwraps their click links from quoted text", async () => {
    const old = await mintTrackingId(KEY);
    const oldLink = await signedClickUrl(TRACKER, KEY, old, 0, "https://shop.example/");
    const root = body(
      `<div>new</div><div class="gmail_quote"><img src="https://ci3.googleusercontent.com/meips/x=s0-d-e1-ft#${pixelUrl(TRACKER, old)}"><img src="${pixelUrl(TRACKER, old)}"><a href="${oldLink}">shop</a><img src="https://images.example/logo.png"></div>`,
    );
    expect(stripEarlierTracking(root, [TRACKER], null)).toEqual({ pixels: 2, links: 1 });
    expect(root.innerHTML).toBe(
      '<div>new</div><div class="gmail_quote"><a href="https://shop.example/">shop</a><img src="https://images.example/logo.png"></div>',
    );
  });

  it("unwraps no link of the tracker's shape whose destination the tracker would refuse (javascript:), nor signs it again", async () => {
    const fake = (await mintTrackingId(KEY)).replace(/.$/, "x");
    const forged = [`${TRACKER}/c/${fake}/0?u=javascript:alert(1)`, `${TRACKER}/c/${fake}/1?u=data:text/html,x`];
    const quote = `<div class="gmail_quote">${forged.map((href) => `<a href="${href}">invoice</a>`).join("")}</div>`;
    const root = body(`<div>new</div>${quote}`);
    expect(stripEarlierTracking(root, [TRACKER], null)).toEqual({ pixels: 0, links: 0 });
    const p = await plan(body(`<div>new</div>${quote}`));
    expect(p.clickUrls.size).toBe(0);
    applyTracking(root, p);
    expect([...root.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual(forged);
  });

  it("takes the marks of a tracker connected before for an earlier email's: its pixels go, its links are unwrapped, none is signed again", async () => {
    const earlier = "https://mt.rep.workers.dev";
    const old = await mintTrackingId(KEY);
    const oldLink = await signedClickUrl(earlier, KEY, old, 0, "https://shop.example/");
    const quote = `<div class="gmail_quote"><img src="${pixelUrl(earlier, old)}"><a href="${oldLink}">shop</a> <a href="${earlier}/u/${old}">Don't track me</a></div>`;
    const p = { ...(await plan(body('<a href="https://shop.example/">shop</a>'))), trackers: [TRACKER, earlier] };
    expect(linksToSign(body(`<div>new</div>${quote}`), p, p.trackingId)).toEqual(["https://shop.example/"]);
    const root = body(`<div>new</div>${quote}`);
    applyTracking(root, p);
    const links = [...root.querySelectorAll("a")].map((a) => a.getAttribute("href") ?? "");
    // The quoted link is this email's click link once, not the earlier tracker's wrapped in this one's.
    expect(trackerLink(links[0] ?? "", [TRACKER])).toMatchObject({ id: p.trackingId, url: "https://shop.example/" });
    expect(links[1]).toBe(`${earlier}/u/${old}`);
    expect([...root.querySelectorAll("img")].map((img) => img.getAttribute("src"))).toEqual([p.pixelUrl]);
    // Without the earlier tracker in the list, its link would be taken for any other and wrapped.
    expect(linksToSign(body(quote), { ...p, trackers: [TRACKER] }, p.trackingId)).toContain(oldLink);
  });

  it("leaves links it has no signature for unchanged and reports them", async () => {
    const root = body('<a href="https://late.example/">late</a>');
    const p = await plan(body(""));
    const result = applyTracking(root, p);
    expect(result.unsigned).toEqual(["https://late.example/"]);
    expect(root.querySelector("a")?.getAttribute("href")).toBe("https://late.example/");
  });
});
