// The first thread list a Gmail page shows, its inbox's, does not come through /sync/u/N/i/bv: Gmail writes it into
// the page as the page loads, through its own `window._GM_setData({"a6jdv": [["sils", null, "<the list as JSON>"]]})`
// (the first opened conversation likewise, under `Cl6csf`). The evidence is in docs/gmail.md ("the page's first
// list"): gmail.js wraps that function for it (b68fe4d, 2020-04-10; in use at b7dfdab of 2026-03-25), gmail.js #693
// (2022-05-31) shows Gmail calling it, a public Gmail reader of 2026-07 finds that text in the page of
// `/mail/u/0/` as its "bootstrap inbox snapshot", and Gmail assigns the function to `window` (Closure's
// exportSymbol, in Gmail's boot code quoted in GoogleChrome/web.dev #4006).
// So the page world holds that name as an accessor: whatever function is assigned to it is what Gmail's later calls
// reach, wrapped to pass the list on first. The function assigned is always called, with the same `this` and
// arguments, and its result returned. Each function assigned gets a wrapper of its own, so a script that wraps it
// again (as gmail.js does) never makes the two call each other in a loop; one call that passes through several of
// them passes the list on once. A page world that starts late (events.ts PAGE_WORLD_ATTRIBUTE) finds Gmail's
// function already there and wraps it in place; an accessor some other script put there is left alone. A later
// `function _GM_setData` declaration or defineProperty would replace the accessor: the list is then missed, Gmail is
// not affected.
import { emitPageEvent, LIST_WANTED_EVENT } from "./events";

const NAME = "_GM_setData";

/** The list's JSON text in a `_GM_setData` call's data, if it holds one (`data.a6jdv[0][2]`, as gmail.js reads it). */
function embeddedList(data: unknown): string | null {
  const entry = (data as { a6jdv?: unknown[][] } | null)?.a6jdv?.[0]?.[2];
  return typeof entry === "string" ? entry : null;
}

export function installGmailDataHook(win: Window & typeof globalThis): void {
  const existing = Object.getOwnPropertyDescriptor(win, NAME);
  if (existing && (!existing.configurable || !("value" in existing))) return;
  const later = win.setTimeout.bind(win);
  /** The latest list Gmail wrote into the page: the content script may start after Gmail wrote it, and asks then. */
  let held: string | null = null;
  let pending = false;
  const tell = () => {
    if (held !== null) emitPageEvent(win.document, "mt:gmail-list-embedded", held);
  };
  const wrapped = (value: unknown) =>
    typeof value !== "function"
      ? value
      : function (this: unknown, ...args: unknown[]) {
          try {
            const list = embeddedList(args[0]);
            if (list !== null) {
              held = list;
              // Passed on in a task of its own, not inside Gmail's loading; once, however many wrappers (gmail.js,
              // other extensions) the call passes through.
              if (!pending)
                later(() => {
                  pending = false;
                  tell();
                });
              pending = true;
            }
          } catch {
            // never break Gmail
          }
          return Reflect.apply(value, this, args);
        };
  let current = wrapped(existing?.value);

  Object.defineProperty(win, NAME, {
    configurable: true,
    enumerable: existing?.enumerable ?? true,
    get: () => current,
    set(value: unknown) {
      current = wrapped(value);
    },
  });
  win.document.addEventListener(LIST_WANTED_EVENT, tell);
}
