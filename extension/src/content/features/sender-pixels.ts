// The sender's own opens, part 1: in the sender's Gmail, tracking pixels of this tracker (and of those it replaced) are
// neutralised before they load (first in the page world as Gmail's HTML goes in, page-world/pixel-guard.ts; here as a
// second net for images that reach the document another way), whether their src names the tracker directly or Google's
// image proxy with the tracker URL in the fragment (the network layer never sees fragments, so only DOM code can tell;
// see gmail.md). The ids found, the page world's and this net's, are what sent-views-report tells the tracker the
// sender is looking at.
import { TRACKING_ID_PATTERN } from "../../../../shared/protocol";
import { trackerUrls } from "../../options-store";
import { onPageEvent } from "../../page-world/events";
import { NEUTRALISED_PIXELS, neutraliseImage, PIXEL_ID_ATTRIBUTE, pixelIdIn, pixelMarkers } from "../../page-world/pixel-guard";
import { type Feature, guarded, ownPixels } from "../feature";
import { onPageMutations } from "../page-watch";

/**
 * Where pixels were seen: "built" by Gmail, through the page-world guard's hooks (it tells these a task later), in
 * the document by then or not; "in-page" as an image reached the document with its src, past the page world, and
 * was neutralised by this feature's observer.
 */
type PixelsSeen = "built" | "in-page";
type Listener = (ids: string[], seen: PixelsSeen) => void;
const listeners = new Set<Listener>();

/** Called with the tracking ids of pixels neutralised in the page (sent-views-report and conversation-panel listen). */
export function onPixelsNeutralised(listener: Listener, signal: AbortSignal): void {
  listeners.add(listener);
  signal.addEventListener("abort", () => listeners.delete(listener), { once: true });
}

/** Ids of the neutralised pixels still in `root` (the page, or the view it shows). */
export function neutralisedIdsIn(root: ParentNode): string[] {
  return [...new Set([...root.querySelectorAll(NEUTRALISED_PIXELS)].map((img) => img.getAttribute(PIXEL_ID_ATTRIBUTE) ?? ""))].filter(
    Boolean,
  );
}

/**
 * Neutralises one image if it is a pixel of one of `trackers` with its src still on; returns its tracking id if so. One
 * neutralised already (by the page world, which told its id as it did, or here) has no src left to read; one whose
 * src was put back is neutralised again.
 */
export function neutralise(img: HTMLImageElement, trackers: readonly string[]): string | null {
  if (ownPixels.has(img)) return null;
  const src = img.getAttribute("src");
  if (!src) return null;
  const id = pixelIdIn(src, trackers);
  if (!id) return null;
  neutraliseImage(img, src, id);
  return id;
}

/**
 * The images of a subtree that may be pixels of the tracker with their src still on, as selectors the browser
 * matches: those whose source holds the tracker's hostname (pixelIdIn's cheap test). A conversation brings dozens of
 * images (avatars, signatures, logos), and reading each one's source in script was most of what this feature added
 * to Gmail's rendering of it (docs/benchmarks.md, seventh pass). The pixels the page world neutralised are not looked
 * for: it told their ids already, and finding them again in every render took a second search of each insertion
 * (docs/benchmarks.md, twenty-fourth pass).
 */
export function candidatePixels(trackers: readonly string[]): readonly string[] {
  const markers = pixelMarkers(trackers);
  // A hostname is letters, digits, dots and hyphens here: nothing to escape inside the quotes.
  return markers.includes("") ? ["img"] : markers.map((marker) => `img[src*="${marker}"]`);
}

export const senderPixels: Feature = {
  id: "sender-pixels",
  init(signal, { options }) {
    const trackers = trackerUrls(options);
    const candidates = candidatePixels(trackers);
    /** Neutralises the pixels in `nodes` and their subtrees; returns their ids. */
    const neutraliseIn = (nodes: Iterable<Node>): string[] => {
      const found: string[] = [];
      const visit = (img: HTMLImageElement) => {
        const id = neutralise(img, trackers);
        if (id) found.push(id);
      };
      for (const node of nodes) {
        if (node instanceof HTMLImageElement) visit(node);
        else if (node instanceof Element)
          for (const selector of candidates) for (const img of node.querySelectorAll<HTMLImageElement>(selector)) visit(img);
      }
      return found;
    };
    const report = (found: string[]) => {
      if (found.length > 0) for (const listener of listeners) listener(found, "in-page");
    };
    // Mutation records are delivered as a microtask right after Gmail inserts a message body, before the image
    // fetch starts; the e2e tests check that the proxied request never leaves the browser.
    onPageMutations(
      "sender pixels",
      ["nodes", "src"],
      (records) =>
        report(
          records.flatMap((record) =>
            record.type === "childList"
              ? neutraliseIn(record.addedNodes)
              : record.attributeName === "src"
                ? neutraliseIn([record.target])
                : [],
          ),
        ),
      signal,
    );
    // The page-world guard rewrote a body as Gmail built it, possibly off-document: that is a render already.
    onPageEvent(
      document,
      "mt:pixels-neutralised",
      guarded("page-world pixels", (ids: string[]) => {
        const valid = ids.filter((id) => TRACKING_ID_PATTERN.test(id));
        if (valid.length > 0) for (const listener of listeners) listener(valid, "built");
      }),
      signal,
    );
    guarded("sender pixels in the page", () => report(neutraliseIn([document.documentElement])))();
  },
};
