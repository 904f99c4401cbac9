// The first thread list a Gmail page shows does not come through /sync/u/N/i/bv: Gmail writes it into the page as
// the page loads, through its own `window._GM_setData({ a6jdv: [[…, …, "<the list as JSON>"]] })` (the first opened
// conversation likewise, under `Cl6csf`). Evidence:
// - gmail.js reads both there (embedded_data_watcher, added 2020-04-10 in b68fe4d with the note that it must run at
//   document_start, "embedded data are loaded before" the page's load; in use at b7dfdab of 2026-03-25), and its
//   capture of such a list (test/fixtures/gmail/list-embedded-2020-04-27.json) names the same two threads as that
//   day's list answer;
// - gmail.js #693 (2022-05-31): Gmail calling the wrapped function with data of its own, some without `a6jdv[0]`;
// - Gmail defines the function by assigning it to `window`, with Closure's exportSymbol
//   (`H("_GM_setData",Hd.set.bind(Hd),void 0)` in Gmail's boot code quoted in GoogleChrome/web.dev #4006, undated).
// So the page world, which starts before any of Gmail's scripts, holds that name as an accessor: whatever function is
// assigned to it is what Gmail's later calls reach, wrapped to pass the list on first. The function Gmail assigned
// is always called, with the same `this` and arguments, and its result returned. A script that wraps it again (as
// gmail.js does) wraps our wrapper; each function assigned gets a wrapper of its own, so the two never call each other
// in a loop. A later `function _GM_setData` declaration or defineProperty would replace the accessor: the list is then
// missed, Gmail is not affected.
import { emitPageEvent, LIST_WANTED_EVENT } from "./events";

const NAME = "_GM_setData";

/** The list's JSON text in a `_GM_setData` call's data, if it holds one (gmail.js: `data.a6jdv[0][2]`). */
function embeddedList(data: unknown): string | null {
  const entry = (data as { a6jdv?: unknown[][] } | null)?.a6jdv?.[0]?.[2];
  return typeof entry === "string" ? entry : null;
}

export function installGmailDataHook(win: Window & typeof globalThis): void {
  const later = win.setTimeout.bind(win);
  /** The latest list Gmail wrote into the page: the content script may start after Gmail wrote it, and asks then. */
  let held: string | null = null;
  const tell = () => {
    if (held !== null) emitPageEvent(win.document, "mt:gmail-list-embedded", held);
  };
  let current: unknown;

  function wrap(gmailSetData: (...args: unknown[]) => unknown) {
    return function (this: unknown, ...args: unknown[]) {
      try {
        const list = embeddedList(args[0]);
        if (list !== null) {
          held = list;
          // Passed on in a task of its own, not inside Gmail's loading.
          later(tell);
        }
      } catch {
        // never break Gmail
      }
      return Reflect.apply(gmailSetData, this, args);
    };
  }

  Object.defineProperty(win, NAME, {
    configurable: true,
    enumerable: true,
    get: () => current,
    set(value: unknown) {
      current = typeof value === "function" ? wrap(value as (...args: unknown[]) => unknown) : value;
    },
  });
  win.document.addEventListener(LIST_WANTED_EVENT, tell);
}
