// The page world (Gmail's own JavaScript world, page-world.iife.ts) and the isolated content script share only the
// DOM. Everything one tells the other is here, typed once and imported by both: the DOM events on `document`
// (detail: a string, which crosses the page/extension boundary in Chrome and Firefox alike: JSON, or a payload that is
// text itself behind TEXT_MARK) and the <html> attribute that names the tracker. Import-free, so the page-world bundle
// stays self-contained.

/**
 * Set on <html> by the content script: the trackers whose pixels the page-world guard neutralises (not a secret),
 * their URLs separated by spaces (a URL holds none), the current one first (options-store.ts trackerUrls).
 */
export const TRACKER_ATTRIBUTE = "data-mt-tracker";

let configured: { text: string; trackers: readonly string[] } = { text: "", trackers: [] };

/**
 * The trackers the content script named on <html>, none before it has: the same list while the attribute stays, so
 * the guard's hooks, which read it on every HTML string and image Gmail sets, split nothing and build nothing.
 */
export function configuredTrackers(doc: Document): readonly string[] {
  const text = doc.documentElement?.getAttribute(TRACKER_ATTRIBUTE) ?? "";
  if (text !== configured.text) configured = { text, trackers: text.split(" ").filter(Boolean) };
  return configured.trackers;
}

/**
 * Set on <html> by the page-world script as it starts: "early" when none of the page's scripts has run yet, as
 * document_start promises ("before any other DOM is constructed or any other script is run": Chrome's
 * extensionTypes.RunAt; MDN's RunAt: the document's readyState is "loading"), so its Trusted Types wrap sees every
 * policy Gmail creates; "late" otherwise, when the
 * browser put it into a Gmail page already running, and the guard misses the policies Gmail made before it. Firefox
 * "may also execute document_start scripts past the usual point when an extension is just starting (e.g. after an
 * extension update). Chrome doesn't do so" (Rob Wu of Mozilla, w3c/webextensions#1009, 2026-06-09). Gmail's health
 * reads it (gmail-selectors.ts recogniseGmail), so the rep is told to reload.
 */
export const PAGE_WORLD_ATTRIBUTE = "data-mt-page-world";

export function markPageWorldStart(doc: Document): void {
  const early = doc.readyState === "loading" && doc.scripts.length === 0;
  doc.documentElement?.setAttribute(PAGE_WORLD_ATTRIBUTE, early ? "early" : "late");
}

/**
 * Set on <html> by the page-world script when the content script asks (ACCOUNT_WANTED_EVENT): the signed-in account's
 * address as Gmail's own page holds it (account-address.ts). Any script of the page can set it: read as an address only.
 */
export const ACCOUNT_ATTRIBUTE = "data-mt-account";
/** Fired by the content script while <html> names no account: the page world reads Gmail's data again. */
export const ACCOUNT_WANTED_EVENT = "mt:account-wanted";

export interface Recipient {
  email: string;
  name?: string;
}

/**
 * A send (or a scheduled send) Gmail answered: its /sync request body as it went out and Gmail's answer, as text.
 * The content script has the background read them (sync-parser.ts answeredSends, in background/gmail-traffic.ts):
 * parsed there, the reading costs neither the page-world script nor the content script anything.
 */
export interface GmailSendAnswered {
  request: string;
  response: string;
}

export interface PageEvents {
  /** Gmail answered a send: which ones carried our tracking ids, and which did not (the content script checks). */
  "mt:gmail-send-answered": GmailSendAnswered;
  /** The page-world guard neutralised pixels of ours in HTML Gmail is about to render (on or off the document). */
  "mt:pixels-neutralised": string[];
  /**
   * Gmail answered a thread list (`/sync/u/N/i/bv`): the answer as text, which the content script has the background
   * read (parseThreadList, in background/gmail-traffic.ts).
   */
  "mt:gmail-list-answered": string;
  /** The first thread list of the page, which Gmail wrote into it as it loaded (gmail-data.ts): its JSON text, read alike. */
  "mt:gmail-list-embedded": string;
}

export type PageEventName = keyof PageEvents;

/**
 * Starts the detail of a payload that is text (a thread list's answer: up to megabytes), which goes as it is, not
 * encoded as JSON again and decoded (docs/benchmarks.md, gmail-list-to-background). JSON never starts with it.
 */
export const TEXT_MARK = "=";

/** Fires a page event; never throws (it runs inside Gmail's own code paths). */
export function emitPageEvent<K extends PageEventName>(doc: Document, name: K, payload: PageEvents[K]): void {
  try {
    const Event = (doc.defaultView?.CustomEvent ?? CustomEvent) as typeof CustomEvent;
    doc.dispatchEvent(new Event(name, { detail: typeof payload === "string" ? TEXT_MARK + payload : JSON.stringify(payload) }));
  } catch {
    // never break Gmail
  }
}

const isText = (payload: unknown) => typeof payload === "string";

/** The shape each event's payload must have: any script of the page can fire these events. */
const PAYLOAD_SHAPES: { [K in PageEventName]: (payload: unknown) => boolean } = {
  "mt:gmail-send-answered": (payload) =>
    typeof payload === "object" &&
    payload !== null &&
    typeof (payload as GmailSendAnswered).request === "string" &&
    typeof (payload as GmailSendAnswered).response === "string",
  "mt:pixels-neutralised": (payload) => Array.isArray(payload) && payload.every((id) => typeof id === "string"),
  "mt:gmail-list-answered": isText,
  "mt:gmail-list-embedded": isText,
};

/**
 * Fired by the content script once it listens: the page world tells it again the list Gmail wrote into the page, which
 * may have come before the content script started (gmail-data.ts). It carries nothing; any script may fire it.
 */
export const LIST_WANTED_EVENT = "mt:gmail-list-wanted";

/**
 * Listens for a page event; its payload is read (text behind TEXT_MARK as it is, anything else as JSON) and checked
 * against its shape (anything else is dropped: text where an event carries an object, JSON that is not).
 */
export function onPageEvent<K extends PageEventName>(
  doc: Document,
  name: K,
  handler: (payload: PageEvents[K]) => void,
  signal: AbortSignal,
): void {
  doc.addEventListener(
    name,
    (event) => {
      const detail = (event as CustomEvent<unknown>).detail;
      if (typeof detail !== "string") return;
      let payload: unknown;
      try {
        payload = detail.startsWith(TEXT_MARK) ? detail.slice(TEXT_MARK.length) : JSON.parse(detail);
      } catch {
        return;
      }
      if (PAYLOAD_SHAPES[name](payload)) handler(payload as PageEvents[K]);
    },
    { signal },
  );
}
