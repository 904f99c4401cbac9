// Wraps XMLHttpRequest to watch Gmail's `POST /sync/u/N/i/s`. When a send that carries one of our tracking ids
// gets its answer, the isolated content script is told the Gmail ids by a DOM event (detail: a JSON string, which
// crosses the page/extension boundary in both Chrome and Firefox). Sends without one are told too, so a send the
// extension failed to see (Gmail changed its markup) does not go unnoticed. The original methods are always called.
import { parseGmailJson, SENT_EVENT, sentMessageIds, UNTRACKED_SENT_EVENT, untrackedSends } from "./sync-parser";

const SYNC_PATH = /^\/sync\/u\/\d+\/i\/s$/;

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
      if (watched.has(this) && typeof body === "string" && body.includes("^pfg")) {
        const requestBody = parseGmailJson(body);
        this.addEventListener("load", () => {
          try {
            if (this.status !== 200) return;
            const text = this.responseType === "" || this.responseType === "text" ? this.responseText : JSON.stringify(this.response);
            const sent = sentMessageIds(requestBody, parseGmailJson(text));
            if (sent.length > 0) win.document.dispatchEvent(new CustomEvent(SENT_EVENT, { detail: JSON.stringify(sent) }));
            const untracked = untrackedSends(requestBody);
            if (untracked.length > 0)
              win.document.dispatchEvent(new CustomEvent(UNTRACKED_SENT_EVENT, { detail: JSON.stringify(untracked) }));
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
