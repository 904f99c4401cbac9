// The little UI the content script adds to Gmail: plain DOM with `mt-`-prefixed classes and one prefixed style
// sheet, so nothing of ours restyles Gmail and nothing of Gmail's restyles ours by accident.
const STYLE_ID = "mt-style";
const CSS = `
.mt-toolbar{display:inline-flex;align-items:center;gap:4px;margin:0 6px;font:12px/1.2 Arial,sans-serif;vertical-align:middle}
.mt-toggle{border:1px solid #c4c7c5;border-radius:12px;background:#fff;color:#444;padding:3px 8px;cursor:pointer;font:inherit}
.mt-toggle[aria-pressed="true"]{background:#0b57d0;border-color:#0b57d0;color:#fff}
.mt-toggle:disabled{opacity:.55;cursor:not-allowed}
.mt-status{color:#b3261e;max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.mt-toast{position:fixed;left:16px;bottom:16px;z-index:2147483647;background:#323232;color:#fff;padding:10px 14px;border-radius:6px;font:13px Arial,sans-serif;max-width:420px}
`;

export function ensureStyle(doc: Document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  (doc.head ?? doc.documentElement).appendChild(style);
}

/** A short notice at the bottom of the page, for what happens after the compose is gone (e.g. "sent untracked"). */
export function toast(doc: Document, text: string): void {
  const element = doc.createElement("div");
  element.className = "mt-toast";
  element.setAttribute("role", "status");
  element.textContent = text;
  doc.body?.appendChild(element);
  setTimeout(() => element.remove(), 8000);
}
