// The little UI the content script adds to Gmail: plain DOM with `mt-`-prefixed classes and one prefixed style
// sheet, so nothing of ours restyles Gmail and nothing of Gmail's restyles ours by accident. A Sent list mark is an
// inline box, its size made of padding: an inline-block is a formatting context of its own to lay out, and 100 of
// them took Chromium about 0.6 ms more in each render of a list (docs/benchmarks.md, eighteenth pass). A
// conversation panel is laid out only when near the screen (`content-visibility: auto`, its closed height of one line
// given for when it is not: 18 px, the content box's, which padding and border are added to, as CSS Sizing 4 has it,
// an "explicit intrinsic inner size" (drafts.csswg.org/css-sizing-4/#intrinsic-size-override; web-platform-tests
// css/css-sizing/contain-intrinsic-size/contain-intrinsic-size-007.html: "sizes the content box, not the border box");
// 36 px made every panel 18 px taller in its first frame, moving what is below it once laid out): in a long conversation most panels are off screen, and laying them out in every render
// was most of the style and layout time they added (docs/benchmarks.md, twenty-first pass). Chrome has it from 85 and
// Firefox from 125 (mdn/browser-compat-data, css/properties/content-visibility.json, read 2026-12-02); the manifest
// asks for Chrome 111 and Firefox 140. A pending line's long reason is cut on its span, not on the panel: overflow:hidden
// beside content-visibility:auto laid the panel out 16 px short in Firefox 140's first frame (20 px, its intrinsic
// size not applied), so the conversation moved down once the detail came (the read receipts e2e, 2026-12-03).
import { callFromGmail } from "../messaging";
import { debug } from "./log";

const STYLE_ID = "mt-style";
const CSS = `
.mt-toolbar{display:inline-flex;flex-wrap:wrap;align-items:center;gap:4px;margin:0 6px;font:12px/1.2 Arial,sans-serif;vertical-align:middle}
.mt-toggle{border:1px solid #c4c7c5;border-radius:12px;background:#fff;color:#444;padding:3px 8px;cursor:pointer;font:inherit}
.mt-toggle[aria-pressed="true"]{background:#0b57d0;border-color:#0b57d0;color:#fff}
.mt-toggle:disabled{opacity:.55;cursor:not-allowed}
.mt-status{color:#b3261e;max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.mt-campaign{width:120px;border:1px solid #c4c7c5;border-radius:12px;padding:2px 8px;font:inherit}
.mt-warning{color:#b3261e;font-weight:bold;max-width:340px;white-space:normal}
.mt-mark{display:inline;margin-right:6px;padding:1px 5px;border-radius:8px;font:bold 11px/14px Arial,sans-serif;color:#fff;vertical-align:middle}
.mt-mark-delivered,.mt-mark-stopped,.mt-mark-unregistered{background:#9aa0a6;padding:5px;font-size:0;line-height:0}
.mt-mark-stopped,.mt-mark-unregistered{background:transparent;border:2px solid #9aa0a6;padding:3px}
.mt-mark-unregistered{border-style:dashed}
.mt-mark-opened{background:#188038}
.mt-mark-clicked{background:#1a73e8}
.mt-mark-bounced{background:#d93025}
.mt-panel{margin:8px 0;padding:8px 10px;border:1px solid #dadce0;border-radius:8px;background:#f8f9fa;font:12px/1.5 Arial,sans-serif;color:#202124;content-visibility:auto;contain-intrinsic-size:auto 18px}
.mt-panel[data-mt-pending]>span{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.mt-panel-head{cursor:pointer}
.mt-panel-head>*{margin-right:8px}
.mt-panel-head::after{content:"Details";color:#0b57d0}
.mt-panel-head[aria-expanded="true"]::after{content:"Hide"}
.mt-panel-actions{display:flex;flex-wrap:wrap;gap:8px;margin:4px 0}
.mt-panel button{border:1px solid #c4c7c5;border-radius:12px;background:#fff;padding:2px 8px;cursor:pointer;font:inherit}
.mt-panel ol,.mt-panel ul{margin:4px 0;padding-left:18px}
.mt-dim{color:#80868b}
.mt-panel .mt-why{font-style:italic}
.mt-toast{background:#323232;color:#fff;padding:10px 14px;border-radius:6px;font:13px Arial,sans-serif}
`;

export function ensureStyle(doc: Document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS;
  (doc.head ?? doc.documentElement).appendChild(style);
}

/** One formatter for every time shown: toLocaleString would build a new one per call (100 marks, 100 formatters). */
let timeFormat: Intl.DateTimeFormat | undefined;

/** A time for people: "Nov 22, 2026, 3:04 PM" in the browser's locale (the raw text if it does not parse). */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  timeFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  return timeFormat.format(date);
}

/**
 * A short notice at the bottom of the page, for what happens after the compose is gone (e.g. "sent untracked").
 * Several at once (two composes closing) stack in one fixed holder, newest at the bottom, each readable. It shows just
 * as Gmail's own "Message sent" notice with its Undo does, which today's Gmail draws near the bottom left of the
 * window: the holder stands above that one-line notice rather than over it. No capture here records the notice's
 * place, so the holder also lets every click through: the tracker never blocks an Undo.
 * In a hidden tab (the rep in another tab, the window minimised) the notice would leave unseen: the background shows
 * its words as a desktop notification too (background/tab-notices.ts says why that and not a notice kept until the
 * tab is visible). It is still drawn here, for a rep coming back in time, and in case the background cannot be asked.
 */
export function toast(doc: Document, text: string): void {
  if (doc.hidden) callFromGmail("noticeWhileHidden", { text }).catch((error: unknown) => debug("notice not shown on the desktop", error));
  let holder = doc.getElementById("mt-toasts");
  if (!holder) {
    holder = doc.createElement("div");
    holder.id = "mt-toasts";
    // Styled on the element, made with the first toast, not by a rule every render of Gmail's pages matches against.
    holder.setAttribute(
      "style",
      "position:fixed;left:16px;bottom:96px;z-index:2147483647;display:grid;gap:8px;max-width:420px;pointer-events:none",
    );
    doc.body?.append(holder);
  }
  const element = doc.createElement("div");
  element.className = "mt-toast";
  element.setAttribute("role", "status");
  element.textContent = text;
  holder.append(element);
  setTimeout(() => element.remove(), 8000);
}

/**
 * Everything this script draws into Gmail, each at the top of what it puts in: a compose's toolbar (in a cell of its
 * own beside Send, or alone), the Sent list's marks, the conversation panels, the notices' holder and the style sheet.
 * Not the opt-out link a compose's body holds: that is the email's own text (compose-optout.ts).
 */
const DRAWN = ".mt-cell,.mt-toolbar,.mt-mark,.mt-panel,#mt-toasts,#mt-style";

/**
 * Removes what an earlier copy of this script drew: Firefox, updating the extension under an open Gmail tab, puts the
 * new script into it and takes the earlier one's listeners away, not its elements. Its toolbar stayed in an open compose
 * beside the new one, its toggles dead (an email turned untracked there went out tracked), and its style sheet stood
 * in for the new one's (ensureStyle).
 */
export function removeEarlierCopyDrawing(doc: Document): void {
  for (const element of doc.querySelectorAll(DRAWN)) element.remove();
}
