// @vitest-environment happy-dom
// The hook on Gmail's `_GM_setData`, through which Gmail writes the page's first thread list into the page: that
// Gmail's own function always runs as it would without the hook, and that the list reaches the content script
// whenever the content script starts listening.
import { afterEach, describe, expect, it } from "vitest";
import { LIST_WANTED_EVENT, onPageEvent } from "./events";
import { installGmailDataHook } from "./gmail-data";

const controller = new AbortController();
afterEach(() => controller.abort());

type GmailWindow = Window & typeof globalThis & { _GM_setData?: unknown };

/** A window with the hook installed, before any of Gmail's scripts ran; and what the content script hears. */
function hooked(): { win: GmailWindow; doc: Document; heard: string[]; listen: () => void } {
  // A document of its own: a list one test's hook passes on a task later never reaches the next test.
  const doc = document.implementation.createHTMLDocument("Gmail");
  const win = { document: doc, setTimeout: globalThis.setTimeout } as unknown as GmailWindow;
  installGmailDataHook(win);
  const heard: string[] = [];
  const listen = () => onPageEvent(doc, "mt:gmail-list-embedded", (list) => heard.push(list), controller.signal);
  return { win, doc, heard, listen };
}

/**
 * Gmail's data call with a thread list: `a6jdv[0][2]`, the list as JSON text, as gmail.js reads it; "sils" first, as
 * the 2026 reader finds it in the page (docs/gmail.md, "the page's first list").
 */
const withList = (list: string) => ({ a6jdv: [["sils", null, list]] });
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("Gmail's data written into the page (_GM_setData)", () => {
  it("Gmail's function, assigned as Closure's exportSymbol assigns it, gets every call, its this and its arguments, and returns its result", () => {
    const { win } = hooked();
    const calls: unknown[][] = [];
    const store = { name: "Gmail's data store" };
    win._GM_setData = function (this: unknown, ...args: unknown[]) {
      calls.push([this, ...args]);
      return "stored";
    };
    const data = withList("[[[]]]");
    expect((win._GM_setData as (d: unknown) => unknown).call(store, data)).toBe("stored");
    expect((win._GM_setData as (d: unknown) => unknown)({ Cl6csf: [] })).toBe("stored");
    expect(calls).toEqual([
      [store, data],
      [win, { Cl6csf: [] }],
    ]);
  });

  it("passes the list on a task later, not inside Gmail's call; data without one (gmail.js #693) passes nothing", async () => {
    const { win, heard, listen } = hooked();
    listen();
    win._GM_setData = () => undefined;
    const setData = win._GM_setData as (d: unknown) => void;
    setData({ a6jdv: [] });
    setData({ a6jdv: [[null, null, 5]] });
    setData(null);
    setData(withList('[[["a thread"]]]'));
    expect(heard).toEqual([]);
    await nextTask();
    expect(heard).toEqual(['[[["a thread"]]]']);
  });

  it("tells the latest list again when the content script asks, which may start after Gmail wrote it", async () => {
    const { win, doc, heard, listen } = hooked();
    doc.dispatchEvent(new Event(LIST_WANTED_EVENT));
    win._GM_setData = () => undefined;
    (win._GM_setData as (d: unknown) => void)(withList("[[[1]]]"));
    (win._GM_setData as (d: unknown) => void)(withList("[[[2]]]"));
    await nextTask();
    expect(heard).toEqual([]);
    listen();
    doc.dispatchEvent(new Event(LIST_WANTED_EVENT));
    expect(heard).toEqual(["[[[2]]]"]);
  });

  it("a script that wraps Gmail's function again, as gmail.js does, gets no loop: Gmail's function runs once a call, the list is told once", async () => {
    const { win, heard, listen } = hooked();
    listen();
    let gmailCalls = 0;
    win._GM_setData = () => {
      gmailCalls += 1;
    };
    // gmail.js embedded_data_watcher (b7dfdab): keeps what it finds, assigns a wrapper that calls it; twice over.
    for (let k = 0; k < 2; k++) {
      const original = win._GM_setData as (d: unknown) => void;
      win._GM_setData = (data: unknown) => original(data);
    }
    (win._GM_setData as (d: unknown) => void)(withList("[]"));
    expect(gmailCalls).toBe(1);
    await nextTask();
    expect(heard).toEqual(["[]"]);
  });

  it("started after Gmail defined its function (a late page world), wraps it in place; leaves another script's accessor alone", async () => {
    const doc = document.implementation.createHTMLDocument("Gmail");
    const win = { document: doc, setTimeout: globalThis.setTimeout } as unknown as GmailWindow;
    let gmailCalls = 0;
    win._GM_setData = () => {
      gmailCalls += 1;
      return "stored";
    };
    installGmailDataHook(win);
    const heard: string[] = [];
    onPageEvent(doc, "mt:gmail-list-embedded", (list) => heard.push(list), controller.signal);
    expect((win._GM_setData as (d: unknown) => unknown)(withList("[[[3]]]"))).toBe("stored");
    expect(gmailCalls).toBe(1);
    await nextTask();
    expect(heard).toEqual(["[[[3]]]"]);

    const other = { document: doc, setTimeout: globalThis.setTimeout } as unknown as GmailWindow;
    const theirs = { get: () => "their value", set: () => undefined, configurable: true };
    Object.defineProperty(other, "_GM_setData", theirs);
    installGmailDataHook(other);
    expect(Object.getOwnPropertyDescriptor(other, "_GM_setData")?.get).toBe(theirs.get);
  });

  it("keeps what is not a function as it is, and never stops Gmail's call on data it cannot read", () => {
    const { win } = hooked();
    expect(win._GM_setData).toBeUndefined();
    win._GM_setData = "not a function";
    expect(win._GM_setData).toBe("not a function");
    let called = 0;
    win._GM_setData = () => {
      called += 1;
    };
    const hostile = {
      get a6jdv(): never {
        throw new Error("unreadable");
      },
    };
    (win._GM_setData as (d: unknown) => void)(hostile);
    expect(called).toBe(1);
  });
});
