// The sender's own opens, in the page's world: Gmail builds a message's HTML and assigns it to innerHTML, often on
// an element not yet in the document; the browser starts fetching its images right then, before any
// MutationObserver could see them. So the HTML itself is rewritten on its way in: an <img> whose src is a pixel of
// the configured trackers (directly, or through Google's image proxy with the tracker URL in the fragment) loses
// its src and keeps the original in data-mt-src / data-mt-pixel-id, which the isolated content script reads.
// Without a src an image is neither fetched nor decoded, and with no alt text (our pixel's is empty) it represents
// nothing (HTML Standard, the img element: "If the src attribute is not set and either the alt attribute is set to
// the empty string or the alt attribute is not set at all"). A blank data: GIF in its place cost Chromium's parser
// about 0.05 ms a pixel in every render of a conversation (docs/benchmarks.md, twenty-third pass).
// Two ways in:
// - Trusted Types (enforced on Gmail since 2024-01: CSP `require-trusted-types-for 'script'`; gmail.js #779/#787):
//   Gmail passes TrustedHTML from its own policies to the sinks, never strings, and a TrustedHTML cannot be
//   rewritten afterwards. This script runs at document_start, before Gmail's, so it wraps
//   `trustedTypes.createPolicy`: every policy's `createHTML` output passes through the rewrite before it is sealed.
// - Plain strings (a page or browser without Trusted Types): the innerHTML/outerHTML/insertAdjacentHTML/
//   createContextualFragment sinks are wrapped.
// The ids of every pixel neutralised here are then told with "mt:pixels-neutralised" (events.ts), in the next
// task: a body built off-document is a view of the message by the sender even before (or without) being attached.
// The trackers' URLs come from the isolated content script as a <html data-mt-tracker> attribute (not a secret).
import { TRACKING_ID_UNANCHORED, trimTrailingSlash } from "../../../shared/protocol";
import { configuredTrackers, emitPageEvent } from "./events";

/** Where a neutralised pixel keeps its tracking id, and its original src. */
export const PIXEL_ID_ATTRIBUTE = "data-mt-pixel-id";
export const ORIGINAL_SRC_ATTRIBUTE = "data-mt-src";
/** The images a rewrite or the content script neutralised. */
export const NEUTRALISED_PIXELS = `img[${PIXEL_ID_ATTRIBUTE}]`;

/** Neutralises a pixel's image: no src or srcset, its original src and tracking id kept for the content script. */
export function neutraliseImage(img: Element, originalSrc: string, id: string): void {
  img.setAttribute(ORIGINAL_SRC_ATTRIBUTE, originalSrc);
  img.setAttribute(PIXEL_ID_ATTRIBUTE, id);
  img.removeAttribute("src");
  img.removeAttribute("srcset");
}
const IMG_TAG = /<img\b[^>]*>/gi;
/**
 * One attribute of a tag as the HTML tokenizer reads it: a name, maybe a value. Read in order from the tag's name on,
 * so that text inside another attribute's value is never taken for one. A name with a quote or a `<`, or a value the
 * tokenizer would read on further (an unquoted one running into a quote), does not match: the tag is then left as it
 * is. Only HTML's own spaces separate (JavaScript's \s has more).
 */
const ATTRIBUTE = /[\t\n\f\r /]*([^\t\n\f\r /"'<>=]+)(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r "'<>=`]+)))?/y;

/**
 * The src attribute of an <img> tag (its place and value, and the rest of the tag after it), or null: none, or the tag
 * read otherwise (ATTRIBUTE). Of two, the browser keeps the first: the tokenizer drops a later attribute of a name the
 * tag already has (HTML Standard, tokenization, attribute name state: a "duplicate-attribute" parse error, and "the
 * new attribute must be removed from the token"). So the first is the one read, and the rest leaves out any later one,
 * which the browser never sees but which a rewrite of the first would otherwise make the image's only src.
 */
function srcAttribute(tag: string): { start: number; value: string; rest: string } | null {
  let src = null;
  let rest = "";
  let end = 4;
  ATTRIBUTE.lastIndex = end;
  for (let match = ATTRIBUTE.exec(tag); match; match = ATTRIBUTE.exec(tag)) {
    if (match[1]?.toLowerCase() !== "src") rest += match[0];
    else if (!src) {
      src = { start: match.index, value: match[2] ?? match[3] ?? match[4] ?? "" };
      rest = "";
    }
    end = ATTRIBUTE.lastIndex;
  }
  return src && /^[\t\n\f\r /]*>$/.test(tag.slice(end)) ? { ...src, rest: rest + tag.slice(end) } : null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function decodeEntities(text: string): string {
  return text.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'");
}

/**
 * What is worked out once per list of trackers (the current one, and those the browser was connected to before:
 * options-store.ts earlierTrackerUrls): their pixels' markers (see pixelMarkers) and their URLs' one pattern.
 */
let cachedTrackers: { list: readonly string[]; key: string; markers: string[]; pixel: RegExp } | undefined;

function trackersOf(trackers: readonly string[]): { markers: string[]; pixel: RegExp } {
  // The same list as last time (the page world's, configuredTrackers; a content feature's): nothing to compare. Every
  // HTML string and image source Gmail sets comes through here, several times.
  if (cachedTrackers?.list === trackers) return cachedTrackers;
  const key = trackers.join(" ");
  if (cachedTrackers?.key !== key) {
    const urls = trackers.filter((url) => URL.canParse(url));
    cachedTrackers = {
      list: trackers,
      key,
      markers: urls.map((url) => new URL(url).hostname).map((hostname) => (/^[a-z0-9.-]+$/.test(hostname) ? hostname : "")),
      pixel: new RegExp(
        `^(?:${urls.map((url) => escapeRegExp(trimTrailingSlash(url))).join("|")})/o/(${TRACKING_ID_UNANCHORED})\\.gif(?:[?#]|$)`,
      ),
    };
  }
  cachedTrackers.list = trackers;
  return cachedTrackers;
}

/**
 * The tracking id of a pixel URL of one of `trackers`, looking into Google's proxy fragment; null otherwise. The one
 * reader of a pixel URL: the image setter here, the HTML rewrite below and the content script's sender-pixels all
 * use it, and each image Gmail sets passes the cheap test first.
 */
export function pixelIdIn(src: string, trackers: readonly string[]): string | null {
  if (!mayHoldPixelOf(src, trackers)) return null;
  let candidate = src;
  // A proxy URL may hold another: a Gmail reader's reply quotes the email from their copy, already proxied (every
  // 2022-09-09-cvOnReplySend capture quotes its images as `…googleusercontent.com/…#<original>`), and the sender's
  // Gmail shows the reply's images through its proxy again (assumed: no capture shows how it shows such a URL).
  for (let depth = 0; depth < MAX_PROXY_DEPTH; depth++) {
    const proxy = /^https:\/\/[a-z0-9-]+\.googleusercontent\.com\/[^#]*#(.+)$/i.exec(candidate);
    if (!proxy?.[1]) break;
    candidate = proxy[1];
    if (!/^https?:/i.test(candidate)) {
      try {
        candidate = decodeURIComponent(candidate);
      } catch {
        return null;
      }
    }
  }
  return trackersOf(trackers).pixel.exec(candidate)?.[1] ?? null;
}

/** Proxy URLs inside one another that pixelIdIn looks through: a quote of a quote of a quote. */
const MAX_PROXY_DEPTH = 4;

/**
 * Text every pixel URL of each of `trackers` holds, plain or percent-encoded in Google's proxy fragment: its
 * hostname, when a DNS name or IPv4 address (a port's colon is encoded, so only the hostname reads the same); ""
 * when no text does (an IPv6 address's brackets are encoded too). A URL that cannot be parsed has none (nothing is
 * its pixel).
 */
export function pixelMarkers(trackers: readonly string[]): readonly string[] {
  return trackersOf(trackers).markers;
}

/**
 * Whether `text` may hold a pixel URL of one of `trackers`: the cheap test before any parsing, on every innerHTML
 * assignment and every image source Gmail sets.
 */
export function mayHoldPixelOf(text: string, trackers: readonly string[]): boolean {
  return pixelMarkers(trackers).some((marker) => text.includes(marker));
}

/**
 * Each <img> tag of `html` that is a pixel of one of `trackers`, replaced with what `replace` makes of it; the string
 * itself when there are none.
 */
function replacePixelTags(
  html: string,
  trackers: readonly string[],
  replace: (tag: string, id: string, src: NonNullable<ReturnType<typeof srcAttribute>>) => string,
): string {
  if (!mayHoldPixelOf(html, trackers)) return html;
  return html.replace(IMG_TAG, (tag) => {
    // Most of a message's images are not ours (pictures, signatures, a quoted email's): the cheap test again, per tag.
    if (!mayHoldPixelOf(tag, trackers)) return tag;
    const src = srcAttribute(tag);
    const id = src && pixelIdIn(decodeEntities(src.value), trackers);
    return src && id ? replace(tag, id, src) : tag;
  });
}

/**
 * Rewrites the pixels of `trackers` in an HTML string; returns the string unchanged when there are none.
 * `found` receives each neutralised pixel's tracking id.
 */
export function neutraliseHtml(html: string, trackers: readonly string[], found?: (id: string) => void): string {
  return replacePixelTags(html, trackers, (tag, id, src) => {
    found?.(id);
    const kept = src.value.replaceAll('"', "&quot;");
    return `${tag.slice(0, src.start)} ${ORIGINAL_SRC_ATTRIBUTE}="${kept}" ${PIXEL_ID_ATTRIBUTE}="${id}"${src.rest}`;
  });
}

/** An HTML string without the pixels of `trackers`; the string itself when it has none. */
export function withoutPixels(html: string, trackers: readonly string[]): string {
  return replacePixelTags(html, trackers, () => "");
}

/** Wraps the HTML sinks Gmail renders messages with. Every wrapper falls back to the original on any error. */
export function installPixelGuard(win: Window & typeof globalThis): void {
  // The ids found are told in a task of their own, once Gmail's call is over, all those of one task in one event:
  // their one use, the sender-views report, waits a quarter of a second anyway, and the event and its listeners run
  // inside Gmail's render took about 0.2 ms of each conversation's (docs/benchmarks.md, twenty-third pass). The
  // page's setTimeout is taken now, before Gmail's scripts can wrap it; a hidden tab runs it as late as it runs the
  // report's own timer ("Heavy throttling of chained JS timers beginning in Chrome 88", developer.chrome.com, 2021).
  // An announcement is pending exactly while ids wait in `found`.
  const later = win.setTimeout.bind(win);
  const found = new Set<string>();
  const announce = () => {
    const ids = [...found];
    found.clear();
    emitPageEvent(win.document, "mt:pixels-neutralised", ids);
  };
  const tell = (id: string) => {
    if (found.size === 0) later(announce, 0);
    found.add(id);
  };
  const clean = (html: unknown): unknown => {
    try {
      return typeof html === "string" ? neutraliseHtml(html, configuredTrackers(win.document), tell) : html;
    } catch {
      return html;
    }
  };
  wrapTrustedTypes(win, clean);
  const wrapSetter = (proto: object, name: string) => {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (!descriptor?.set || !descriptor.get) return;
    const { get, set } = descriptor;
    Object.defineProperty(proto, name, {
      ...descriptor,
      get,
      set(this: unknown, value: unknown) {
        set.call(this, clean(value));
      },
    });
  };
  wrapSetter(win.Element.prototype, "innerHTML");
  wrapSetter(win.Element.prototype, "outerHTML");
  wrapSetter(win.ShadowRoot.prototype, "innerHTML");
  const insertAdjacentHTML = win.Element.prototype.insertAdjacentHTML;
  win.Element.prototype.insertAdjacentHTML = function (this: Element, position: InsertPosition, html: string) {
    return insertAdjacentHTML.call(this, position, clean(html) as string);
  };
  const createContextualFragment = win.Range.prototype.createContextualFragment;
  win.Range.prototype.createContextualFragment = function (this: Range, html: string) {
    return createContextualFragment.call(this, clean(html) as string);
  };
  // Images made one by one (new Image(), createElement + src) pass through these.
  const srcDescriptor = Object.getOwnPropertyDescriptor(win.HTMLImageElement.prototype, "src");
  if (srcDescriptor?.set && srcDescriptor.get) {
    const { get, set } = srcDescriptor;
    Object.defineProperty(win.HTMLImageElement.prototype, "src", {
      ...srcDescriptor,
      get,
      set(this: HTMLImageElement, value: unknown) {
        try {
          const id = pixelIdIn(String(value), configuredTrackers(win.document));
          if (id) {
            neutraliseImage(this, String(value), id);
            return tell(id);
          }
        } catch {
          // fall through to the original
        }
        set.call(this, value);
      },
    });
  }
}

type PolicyRules = { createHTML?: (input: string, ...args: unknown[]) => unknown } & Record<string, unknown>;
type PolicyFactory = { createPolicy: (name: string, rules?: PolicyRules, ...rest: unknown[]) => unknown };

/**
 * Wraps `trustedTypes.createPolicy` so that each policy created from now on (Gmail's, the "default" policy) hands
 * its `createHTML` result to `clean` before the browser seals it as TrustedHTML. The rules object Gmail passed is
 * not modified: an object inheriting from it, with the wrapped function, is used. Any failure leaves the original
 * behaviour in place.
 */
export function wrapTrustedTypes(win: Window & typeof globalThis, clean: (html: unknown) => unknown): void {
  const factory = (win as unknown as { trustedTypes?: PolicyFactory }).trustedTypes;
  if (!factory || typeof factory.createPolicy !== "function") return;
  const createPolicy = factory.createPolicy;
  const wrapped = function (this: PolicyFactory, name: string, rules?: PolicyRules, ...rest: unknown[]) {
    let guardedRules = rules;
    try {
      const createHTML = rules?.createHTML;
      if (rules && typeof createHTML === "function") {
        // Gmail's rules as the prototype: the browser reads the options with [[Get]] (a WebIDL dictionary), so every
        // member they have, inherited ones included, is still read; a spread would copy only their own.
        guardedRules = Object.create(rules, {
          createHTML: {
            value(this: unknown, input: string, ...args: unknown[]) {
              return clean(createHTML.call(this, input, ...args));
            },
            enumerable: true,
          },
        }) as PolicyRules;
      }
    } catch {
      guardedRules = rules;
    }
    return createPolicy.call(this, name, guardedRules, ...rest);
  };
  try {
    Object.defineProperty(factory, "createPolicy", { value: wrapped, configurable: true, writable: true });
  } catch {
    // a frozen factory: nothing to do but leave Gmail alone
  }
}
