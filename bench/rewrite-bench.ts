// The send-time rewrite, timed on real DOM: the extension's own functions (extension/src/content/rewrite.ts), run
// the way the compose feature runs them inside the send event (strip earlier tracking, then apply this email's),
// against a baseline of what a send does to the body anyway: serialising it. bench/extension.mjs bundles this for
// Chromium (and for Node with happy-dom when no Chromium is found) and passes the fixture in.
import { applyTracking, stripEarlierTracking, type TrackingPlan } from "../extension/src/content/rewrite";

export interface RewriteFixture {
  html: string;
  trackerUrl: string;
  trackingId: string;
  pixelUrl: string;
  /** Signed click links by destination, as the background presigns them before the send. */
  clickUrls: [string, string][];
}

export interface RewriteTimings {
  /** Per round, ms per body: serialising only, and stripping + rewriting + serialising. */
  baseline: number[];
  rewrite: number[];
  check: { links: number; unsigned: number; pixel: boolean; earlierPixelsLeft: number; htmlBytes: number };
}

function bodies(doc: Document, html: string, count: number): HTMLElement[] {
  const list: HTMLElement[] = [];
  for (let i = 0; i < count; i++) {
    const body = doc.createElement("div");
    body.setAttribute("contenteditable", "true");
    body.setAttribute("role", "textbox");
    body.innerHTML = html;
    doc.body.appendChild(body);
    list.push(body);
  }
  return list;
}

/**
 * `rounds` rounds; each times `batch` fresh compose bodies per side (timer resolution in browsers is coarse, so a
 * batch is timed and divided), the two sides alternating which goes first.
 */
export function runRewriteBench(doc: Document, fixture: RewriteFixture, rounds: number, batch: number): RewriteTimings {
  const plan: TrackingPlan = {
    trackers: [fixture.trackerUrl],
    excludedLinkDomains: [],
    trackingId: fixture.trackingId,
    pixelUrl: fixture.pixelUrl,
    openTracking: true,
    clickTracking: true,
    clickUrls: new Map(fixture.clickUrls),
  };
  let sink = 0;
  const serialiseOnly = () => {
    const list = bodies(doc, fixture.html, batch);
    const start = performance.now();
    for (const body of list) sink += body.innerHTML.length;
    const ms = (performance.now() - start) / batch;
    for (const body of list) body.remove();
    return ms;
  };
  const rewriteAndSerialise = () => {
    const list = bodies(doc, fixture.html, batch);
    const start = performance.now();
    for (const body of list) {
      stripEarlierTracking(body, plan.trackers, plan.trackingId);
      applyTracking(body, plan);
      sink += body.innerHTML.length;
    }
    const ms = (performance.now() - start) / batch;
    for (const body of list) body.remove();
    return ms;
  };

  // What one rewrite does, checked once.
  const [sample] = bodies(doc, fixture.html, 1);
  if (!sample) throw new Error("no body");
  stripEarlierTracking(sample, plan.trackers, plan.trackingId);
  const result = applyTracking(sample, plan);
  const check = {
    links: result.links.length,
    unsigned: result.unsigned.length,
    pixel: result.pixel !== null,
    earlierPixelsLeft: [...sample.querySelectorAll("img")].filter(
      (img) => (img.getAttribute("src") ?? "").includes("/o/") && img !== result.pixel,
    ).length,
    htmlBytes: fixture.html.length,
  };
  sample.remove();

  const baseline: number[] = [];
  const rewrite: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      baseline.push(serialiseOnly());
      rewrite.push(rewriteAndSerialise());
    } else {
      rewrite.push(rewriteAndSerialise());
      baseline.push(serialiseOnly());
    }
  }
  if (sink < 0) throw new Error("unreachable");
  return { baseline, rewrite, check };
}
