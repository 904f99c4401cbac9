// The sender's own opens, in the page's world: Gmail builds a message's HTML as a string and assigns it to
// innerHTML, often on an element not yet in the document; the browser starts fetching its images right then,
// before any MutationObserver could see them (the e2e test "the sender opening the sent message" showed it).
// So the HTML strings themselves are rewritten on their way in: an <img> whose src is a pixel of the configured
// tracker (directly, or through Google's image proxy with the tracker URL in the fragment) gets a blank src and
// keeps the original in data-mt-src / data-mt-pixel-id, which the isolated content script reads and reports.
// The tracker URL comes from the isolated content script as a <html data-mt-tracker> attribute (not a secret).

const TRACKING_ID = "[a-z2-7]{16}\\.[1-9][0-9]{0,3}\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{22}";
export const BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
const IMG_TAG = /<img\b[^>]*>/gi;
const SRC_ATTR = /\ssrc\s*=\s*("([^"]*)"|'([^']*)')/i;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function decodeEntities(text: string): string {
  return text.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'");
}

/** The tracking id of a pixel URL of `trackerUrl`, looking into Google's proxy fragment; null otherwise. */
export function pixelIdIn(src: string, trackerUrl: string): string | null {
  const tracker = escapeRegExp(trackerUrl.replace(/\/+$/, ""));
  const direct = new RegExp(`^${tracker}/o/(${TRACKING_ID})\\.gif(?:[?#]|$)`);
  let candidate = src;
  const proxy = /^https:\/\/[a-z0-9-]+\.googleusercontent\.com\/[^#]*#(.+)$/i.exec(src);
  if (proxy?.[1]) {
    candidate = proxy[1];
    if (!/^https?:/i.test(candidate)) {
      try {
        candidate = decodeURIComponent(candidate);
      } catch {
        return null;
      }
    }
  }
  return direct.exec(candidate)?.[1] ?? null;
}

/** Rewrites the pixels of `trackerUrl` in an HTML string; returns the string unchanged when there are none. */
export function neutraliseHtml(html: string, trackerUrl: string): string {
  const host = trackerUrl.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  // Cheap test first: this runs on every innerHTML assignment in Gmail.
  if (!host || !html.includes(host)) return html;
  return html.replace(IMG_TAG, (tag) => {
    const match = SRC_ATTR.exec(tag);
    if (!match) return tag;
    const src = decodeEntities(match[2] ?? match[3] ?? "");
    const id = pixelIdIn(src, trackerUrl);
    if (!id) return tag;
    const kept = match[1]?.startsWith('"') ? match[1].slice(1, -1) : (match[3] ?? "").replaceAll('"', "&quot;");
    return tag.replace(SRC_ATTR, ` src="${BLANK_GIF}" data-mt-src="${kept}" data-mt-pixel-id="${id}"`);
  });
}

/** Wraps the HTML sinks Gmail renders messages with. Every wrapper falls back to the original on any error. */
export function installPixelGuard(win: Window & typeof globalThis): void {
  const trackerUrl = () => win.document.documentElement?.getAttribute("data-mt-tracker") ?? "";
  const clean = (html: unknown): unknown => {
    try {
      const tracker = trackerUrl();
      return tracker && typeof html === "string" ? neutraliseHtml(html, tracker) : html;
    } catch {
      return html;
    }
  };
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
          const id = pixelIdIn(String(value), trackerUrl());
          if (id && trackerUrl()) {
            this.setAttribute("data-mt-src", String(value));
            this.setAttribute("data-mt-pixel-id", id);
            return set.call(this, BLANK_GIF);
          }
        } catch {
          // fall through to the original
        }
        set.call(this, value);
      },
    });
  }
}
