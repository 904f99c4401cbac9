// Wraps XMLHttpRequest to watch Gmail's `POST /sync/u/N/i/s` (a delegated mailbox: `/sync/u/N/d/<id>/i/s`, gmail.md).
// When a send (or a scheduled send) that carries one of our tracking ids gets its answer, the isolated content
// script is told the Gmail ids and the recipients by a page event (events.ts). Sends without one are told too, so a
// send the extension failed to see (Gmail changed its markup) does not go unnoticed. The original methods are always
// called.
import { emitPageEvent } from "./events";
import { parseGmailJson, SEND_MARKERS, sentMessageIds, untrackedSends } from "./sync-parser";

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
    try {
      if (watched.has(this) && typeof body === "string" && SEND_MARKERS.some((marker) => body.includes(marker))) {
        const requestBody = parseGmailJson(body);
        this.addEventListener("load", () => {
          try {
            if (this.status !== 200) return;
            const text = this.responseType === "" || this.responseType === "text" ? this.responseText : JSON.stringify(this.response);
            const sent = sentMessageIds(requestBody, parseGmailJson(text));
            if (sent.length > 0) emitPageEvent(win.document, "mt:gmail-sent", sent);
            const untracked = untrackedSends(requestBody);
            if (untracked.length > 0) emitPageEvent(win.document, "mt:gmail-sent-untracked", untracked);
          } catch {
            // never break Gmail
          }
        });
      }
    } catch {
      // never break Gmail
    }
    return originalSend.call(this, body);
  };
}
