// Wraps XMLHttpRequest to watch Gmail's `POST /sync/u/N/i/s` (a delegated mailbox: `/sync/u/N/d/<id>/i/s`, gmail.md).
// When a send (or a scheduled send) gets its answer, the isolated content script is given the request and the answer
// by a page event (events.ts), and learns from them (read by the background, background/gmail-traffic.ts) the Gmail ids
// and recipients of the sends that carry one of our tracking ids; sends without one are told too, so a send the extension failed to see (Gmail changed its markup)
// does not go unnoticed. A send's quoted conversation loses this tracker's pixels on the way out
// (withoutQuotedPixels). Gmail's answers to thread lists (`/sync/u/N/i/bv`) are passed on as they come, for the
// replies whose ids today's rows may not carry (sync-parser.ts parseThreadList). The original methods are always
// called, with the body Gmail gave on any doubt.
import { configuredTrackers, emitPageEvent } from "./events";
import { mayHoldPixelOf } from "./pixel-guard";
import { parseGmailJson, SEND_MARKERS, withoutQuotedPixels } from "./sync-parser";

/**
 * `/sync/u/0/i/s`, a delegated mailbox's `/sync/u/0/d/<id>/i/s`, and `/sync/i/s` without the account's index, which
 * InboxSDK has accepted since 2017 and still does (`/sync(?:\/u\/\d+)?\/i\/s/`, setup-gmail-interceptor.ts at a8a6fe2,
 * 2026-07-23): a send is told whichever form Gmail posts it to.
 */
export const SYNC_PATH = /^\/sync\/(?:u\/\d+\/)?(?:d\/[A-Za-z0-9_-]{1,200}\/)?i\/s$/;

/**
 * A thread list's answer: `/sync/u/N/i/bv`, where InboxSDK reads the threads of every list Gmail shows, whatever the
 * method (`/sync(?:\/u\/\d+)?\/i\/bv/`, setup-gmail-interceptor.ts at a8a6fe2, 2026-07-23; it posts there itself in
 * getSyncThreadsForSearch.ts); a delegated mailbox's under `d/<id>/`, as its sends (assumed).
 */
export const LIST_PATH = /^\/sync\/(?:u\/\d+\/)?(?:d\/[A-Za-z0-9_-]{1,200}\/)?i\/bv$/;

/**
 * What a watched request is: a thread list's, or a send's sync request, with the body that went out once it is known
 * to send. The XMLHttpRequest Standard lets a page open the same object again for another request (open() resets it,
 * WHATWG xhr.spec.whatwg.org); whether Gmail does is not known, so each object is judged by its latest request.
 */
type Watched = { kind: "list" } | { kind: "send"; request?: string };

export function installSyncHook(win: Window & typeof globalThis): void {
  const watched = new WeakMap<XMLHttpRequest, Watched>();
  const later = win.setTimeout.bind(win);
  const proto = win.XMLHttpRequest.prototype;
  const originalOpen = proto.open;
  const originalSend = proto.send;

  /** The load listener of every watched request object, for whatever request it is opened for last. */
  function answered(this: XMLHttpRequest) {
    try {
      const request = watched.get(this);
      if (!request || this.status !== 200) return;
      // Text, unless Gmail asked for JSON (responseType "json").
      const response = typeof this.response === "string" ? this.response : JSON.stringify(this.response);
      if (request.kind === "send") {
        if (request.request !== undefined) emitPageEvent(win.document, "mt:gmail-send-answered", { request: request.request, response });
      } else {
        // A list's answer can be large: passed on in a task of its own, not inside Gmail's handling of it.
        later(() => emitPageEvent(win.document, "mt:gmail-list-answered", response));
      }
    } catch {
      // never break Gmail
    }
  }

  proto.open = function (this: XMLHttpRequest, ...args: unknown[]) {
    try {
      const { pathname } = new URL(String(args[1] ?? ""), win.location.href);
      const isSend = String(args[0]).toUpperCase() === "POST" && SYNC_PATH.test(pathname);
      if (isSend || LIST_PATH.test(pathname)) {
        watched.set(this, isSend ? { kind: "send" } : { kind: "list" });
        // Added again to an object opened again, it is still one listener (DOM Standard, "add an event listener").
        this.addEventListener("load", answered);
      } else watched.delete(this);
    } catch {
      // never break Gmail
    }
    return (originalOpen as (...a: unknown[]) => void).apply(this, args);
  } as typeof proto.open;

  proto.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    let outgoing = body;
    try {
      const request = watched.get(this);
      if (request?.kind === "send" && typeof body === "string" && SEND_MARKERS.some((marker) => body.includes(marker))) {
        const trackers = configuredTrackers(win.document);
        // Parsed on the send only when a pixel of ours may be in it: any other send leaves as Gmail gave it.
        outgoing = mayHoldPixelOf(body, trackers) ? withoutQuotedPixels(body, parseGmailJson(body), trackers) : body;
        request.request = outgoing;
      }
    } catch {
      // never break Gmail
      outgoing = body;
    }
    return originalSend.call(this, outgoing);
  };
}
