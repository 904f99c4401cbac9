// Runs in Gmail's own JavaScript world (content script with world: "MAIN"), because only there can it see
// Gmail's XMLHttpRequests. It wraps XMLHttpRequest to watch `POST /sync/u/N/i/s`, and when a send that carries
// one of our tracking ids gets its answer, it tells the isolated content script the Gmail ids by a DOM event.
// It must never disturb Gmail: every step is in try/catch and the original methods are always called.
import { SENT_EVENT, parseGmailJson, sentMessageIds } from "./sync-parser";

const SYNC_PATH = /\/sync\/u\/\d+\/i\/s(\?|$)/;
const watched = new WeakMap<XMLHttpRequest, string>();
const proto = XMLHttpRequest.prototype;
const originalOpen = proto.open;
const originalSend = proto.send;

proto.open = function (this: XMLHttpRequest, ...args: unknown[]) {
  try {
    const url = String(args[1] ?? "");
    if (String(args[0]).toUpperCase() === "POST" && SYNC_PATH.test(new URL(url, location.href).pathname + "?")) watched.set(this, url);
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
          if (sent.length > 0) document.dispatchEvent(new CustomEvent(SENT_EVENT, { detail: JSON.stringify(sent) }));
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
