// Wraps XMLHttpRequest to watch Gmail's `POST /sync/u/N/i/s` (a delegated mailbox: `/sync/u/N/d/<id>/i/s`, gmail.md).
// When a send (or a scheduled send) gets its answer, the isolated content script is given the request and the answer
// by a page event (events.ts), and reads from them the Gmail ids and recipients of the sends that carry one of our
// tracking ids; sends without one are told too, so a send the extension failed to see (Gmail changed its markup)
// does not go unnoticed. A send's quoted conversation loses this tracker's pixels on the way out
// (withoutQuotedPixels). The original methods are always called, with the body Gmail gave on any doubt.
import { configuredTrackers, emitPageEvent } from "./events";
import { mayHoldPixelOf } from "./pixel-guard";
import { parseGmailJson, SEND_MARKERS, withoutQuotedPixels } from "./sync-parser";

/**
 * `/sync/u/0/i/s`, a delegated mailbox's `/sync/u/0/d/<id>/i/s`, and `/sync/i/s` without the account's index, which
 * InboxSDK has accepted since 2017 and still does (`/sync(?:\/u\/\d+)?\/i\/s/`, setup-gmail-interceptor.ts at a8a6fe2,
 * 2026-07-23): a send is told whichever form Gmail posts it to.
 */
export const SYNC_PATH = /^\/sync\/(?:u\/\d+\/)?(?:d\/[A-Za-z0-9_-]{1,200}\/)?i\/s$/;

export function installSyncHook(win: Window & typeof globalThis): void {
  const watched = new WeakSet<XMLHttpRequest>();
  const proto = win.XMLHttpRequest.prototype;
  const originalOpen = proto.open;
  const originalSend = proto.send;

  proto.open = function (this: XMLHttpRequest, ...args: unknown[]) {
    try {
      const url = new URL(String(args[1] ?? ""), win.location.href);
      if (String(args[0]).toUpperCase() === "POST" && SYNC_PATH.test(url.pathname)) watched.add(this);
      else watched.delete(this);
    } catch {
      // never break Gmail
    }
    return (originalOpen as (...a: unknown[]) => void).apply(this, args);
  } as typeof proto.open;

  proto.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    let outgoing = body;
    try {
      if (watched.has(this) && typeof body === "string" && SEND_MARKERS.some((marker) => body.includes(marker))) {
        const trackers = configuredTrackers(win.document);
        // Parsed on the send only when a pixel of ours may be in it: any other send leaves as Gmail gave it.
        const request = mayHoldPixelOf(body, trackers) ? withoutQuotedPixels(body, parseGmailJson(body), trackers) : body;
        outgoing = request;
        this.addEventListener("load", () => {
          if (this.status !== 200) return;
          // Text, unless Gmail asked for JSON (responseType "json").
          const response = typeof this.response === "string" ? this.response : JSON.stringify(this.response);
          emitPageEvent(win.document, "mt:gmail-send-answered", { request, response });
        });
      }
    } catch {
      // never break Gmail
      outgoing = body;
    }
    return originalSend.call(this, outgoing);
  };
}
