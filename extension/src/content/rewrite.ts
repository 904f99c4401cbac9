// The changes made to an email's HTML at send time, as pure functions on a DOM element (the compose body), so
// they run synchronously inside the send event and are unit-tested on their own. Nothing here talks to the
// network: click links are signed ahead of time by the background and handed in as a map.
import { isAcceptableDestination, TRACKING_ID_PATTERN, trimTrailingSlash } from "../../../shared/protocol";
import { hostMatchesDomains } from "../options-store";
import { ORIGINAL_SRC_ATTRIBUTE, pixelIdIn } from "../page-world/pixel-guard";

/** Whether `href` is under one of `trackers`' URLs, followed by `path`. */
function underTracker(href: string, trackers: readonly string[], path: string): boolean {
  return trackers.some((url) => href.startsWith(`${trimTrailingSlash(url)}/${path}`));
}

/**
 * A click link of one of `trackers`: its tracking id, index and destination, else null. Only with a destination the
 * tracker would redirect to (isAcceptableDestination): anyone can write a link of this shape into an email, and one
 * unwrapped from a quote or a forward goes out under the rep's name (a `javascript:` one too), so any other is no
 * link of ours and stays as it is.
 */
export function trackerLink(href: string, trackers: readonly string[]): { id: string; index: number; url: string } | null {
  if (!underTracker(href, trackers, "c/") || !URL.canParse(href)) return null;
  const parsed = new URL(href);
  const match = /\/c\/([^/]+)\/(\d{1,3})$/.exec(parsed.pathname);
  const destination = parsed.searchParams.get("u");
  if (!match?.[1] || !TRACKING_ID_PATTERN.test(match[1]) || !destination || !isAcceptableDestination(destination)) return null;
  return { id: match[1], index: Number(match[2]), url: destination };
}

export interface LinkPolicy {
  /** The trackers whose links and pixels are this rep's: the current one first (options-store.ts trackerUrls). */
  trackers: readonly string[];
  excludedLinkDomains: readonly string[];
}

/**
 * Google Drive's hosts (Drive, and Docs, Sheets, Slides and Forms under docs.google.com): their links are never
 * rewritten. Gmail checks at the send whether the recipients may open the Drive files an email links to and offers to
 * share them ("Sharing settings for files inserted from Google Drive", support.google.com/mail/answer/2487407, read
 * 2026-12-04); the rewrite runs before Gmail's send handler, and a file behind one of our links would go out without
 * that check, for recipients who may then be unable to open it.
 */
const GOOGLE_DRIVE_HOSTS = ["drive.google.com", "docs.google.com"];

/** The destination a link would be signed as, or null if it must stay as it is (mailto:, tel:, excluded, Drive, …). */
export function rewritableUrl(href: string, policy: LinkPolicy): string | null {
  if (!/^https?:\/\//i.test(href.trim()) || !URL.canParse(href.trim())) return null;
  const url = new URL(href.trim());
  if (underTracker(url.href, policy.trackers, "")) return null;
  if (hostMatchesDomains(url.hostname, policy.excludedLinkDomains) || hostMatchesDomains(url.hostname, GOOGLE_DRIVE_HOSTS)) return null;
  return isAcceptableDestination(url.href) ? url.href : null;
}

/**
 * Removes what earlier emails left in this one (quoted replies and forwards): their tracking pixels, and their
 * click links turned back into plain links. `keepId` is this email's own id, whose marks stay.
 */
export function stripEarlierTracking(root: Element, trackers: readonly string[], keepId: string | null): { pixels: number; links: number } {
  let pixels = 0;
  let links = 0;
  for (const img of [...root.querySelectorAll("img")]) {
    const neutralised = img.getAttribute(ORIGINAL_SRC_ATTRIBUTE);
    const id = pixelIdIn(neutralised ?? img.getAttribute("src") ?? "", trackers);
    if ((id && id !== keepId) || (neutralised !== null && id === null)) {
      img.remove();
      pixels++;
    } else if (id && neutralised !== null) {
      // Our own pixel, neutralised by a view of this draft: it goes out as the real pixel or not at all.
      img.remove();
      pixels++;
    }
  }
  for (const anchor of [...root.querySelectorAll("a[href]")]) {
    const link = trackerLink(anchor.getAttribute("href") ?? "", trackers);
    if (link && link.id !== keepId) {
      anchor.setAttribute("href", link.url);
      links++;
    }
  }
  return { pixels, links };
}

/** Distinct destinations of the links a send would rewrite, in document order. */
export function linksToSign(root: Element, policy: LinkPolicy, keepId: string | null): string[] {
  const clone = root.cloneNode(true) as Element;
  stripEarlierTracking(clone, policy.trackers, keepId);
  const urls = new Set<string>();
  for (const anchor of clone.querySelectorAll("a[href]")) {
    const url = rewritableUrl(anchor.getAttribute("href") ?? "", policy);
    if (url) urls.add(url);
  }
  return [...urls];
}

export interface TrackingPlan extends LinkPolicy {
  trackingId: string;
  pixelUrl: string;
  openTracking: boolean;
  clickTracking: boolean;
  /** Signed click links by destination, made ahead of the send. */
  clickUrls: ReadonlyMap<string, string>;
}

export interface TrackingResult {
  pixel: HTMLImageElement | null;
  /** The links this email carries, as the tracker must register them. */
  links: { index: number; url: string }[];
  /** Links that should have been tracked but had no signed link yet: they go out unchanged. */
  unsigned: string[];
}

/**
 * Prepares a compose body for sending: strips earlier emails' tracking, appends this email's pixel and rewrites
 * each http(s) link to its signed click link, keeping the visible text. Idempotent: a second call (after Gmail
 * cancelled a send) changes nothing, and turning a kind of tracking off removes its marks again.
 */
export function applyTracking(root: HTMLElement, plan: TrackingPlan): TrackingResult {
  stripEarlierTracking(root, plan.trackers, plan.trackingId);
  let pixel: HTMLImageElement | null = null;
  for (const img of root.querySelectorAll("img")) {
    if (pixelIdIn(img.getAttribute("src") ?? "", plan.trackers) === plan.trackingId) {
      if (plan.openTracking && !pixel) pixel = img;
      else img.remove();
    }
  }
  if (plan.openTracking && !pixel) {
    // Written so that a pixel that cannot load (a tracker out of the recipients' reach, images blocked) shows nothing:
    // an empty alt makes the image "represent nothing" when it is not available (html.spec.whatwg.org, the img element,
    // read 2026-12-07), so no broken-image icon or alt text is drawn, and it takes 1x1 at most. Seen so on 2026-12-07:
    // this tag with an unreachable src drew not one pixel differently from the same page without it, in Chromium 156
    // and Firefox 153.
    pixel = root.ownerDocument.createElement("img");
    pixel.setAttribute("src", plan.pixelUrl);
    pixel.setAttribute("alt", "");
    pixel.setAttribute("width", "1");
    pixel.setAttribute("height", "1");
    pixel.setAttribute("style", "width:1px;height:1px;border:0;margin:0;padding:0");
    root.appendChild(pixel);
  }
  const links = new Map<number, string>();
  const unsigned = new Set<string>();
  for (const anchor of root.querySelectorAll("a[href]")) {
    const href = anchor.getAttribute("href") ?? "";
    const own = trackerLink(href, plan.trackers);
    if (own) {
      // Already this email's link (a cancelled send ran before): keep it, or restore it when clicks are off.
      if (plan.clickTracking) links.set(own.index, own.url);
      else anchor.setAttribute("href", own.url);
      continue;
    }
    if (!plan.clickTracking) continue;
    const url = rewritableUrl(href, plan);
    if (!url) continue;
    const clickUrl = plan.clickUrls.get(url);
    const parsed = clickUrl ? trackerLink(clickUrl, plan.trackers) : null;
    if (!clickUrl || !parsed || parsed.id !== plan.trackingId) {
      unsigned.add(url);
      continue;
    }
    // Only the href changes: the text the reader sees (often the URL itself) stays exactly as written.
    anchor.setAttribute("href", clickUrl);
    links.set(parsed.index, url);
  }
  return { pixel, links: [...links].map(([index, url]) => ({ index, url })).sort((a, b) => a.index - b.index), unsigned: [...unsigned] };
}
