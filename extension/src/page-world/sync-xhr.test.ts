// @vitest-environment happy-dom
// The XHR hook's handling of Gmail's thread-list answers, on a stand-in XMLHttpRequest: which answers are passed on to
// the content script, when, and that a request object opened again for another request is judged by that one.
import { afterEach, describe, expect, it } from "vitest";
import { onPageEvent } from "./events";
import { installSyncHook } from "./sync-xhr";

/** XMLHttpRequest as the hook sees it: open, send, and a load once answered. */
class StandInRequest extends EventTarget {
  status = 0;
  response: unknown = "";
  open(_method: string, _url: string): void {}
  send(_body?: unknown): void {}
  answer(status: number, response: unknown): void {
    this.status = status;
    this.response = response;
    this.dispatchEvent(new Event("load"));
  }
}

const controller = new AbortController();
afterEach(() => controller.abort());

function hooked(): { heard: string[]; request: () => StandInRequest } {
  const win = {
    XMLHttpRequest: StandInRequest,
    location: { href: "https://mail.google.com/mail/u/0/#inbox" },
    document,
    setTimeout: globalThis.setTimeout,
  } as unknown as Window & typeof globalThis;
  installSyncHook(win);
  const heard: string[] = [];
  onPageEvent(document, "mt:gmail-list-answered", (answer) => heard.push(answer), controller.signal);
  return { heard, request: () => new StandInRequest() };
}

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("the thread list's answers", () => {
  it("passes a list's answer on in a task of its own, as text; not another request's, nor a failed one", async () => {
    const { heard, request } = hooked();
    const xhr = request();
    xhr.open("POST", "/sync/u/0/i/bv?hl=en&c=3&rt=r&pt=ji");
    xhr.send('[[null,51,null,"in:inbox"]]');
    xhr.answer(200, "[null,null,[]]");
    expect(heard).toEqual([]);
    await nextTask();
    expect(heard).toEqual(["[null,null,[]]"]);

    // The same object opened again, for a request that is no list (the XMLHttpRequest Standard allows it): nothing more.
    xhr.open("POST", "/sync/u/0/i/fd?rt=r");
    xhr.send("{}");
    xhr.answer(200, "[1]");
    // A list again: a failure is not passed on, an answer Gmail asked for as JSON is, as text, once.
    xhr.open("POST", "/sync/u/0/i/bv");
    xhr.send("{}");
    xhr.answer(500, "");
    xhr.open("POST", "/sync/u/0/i/bv");
    xhr.send("{}");
    xhr.answer(200, [null, null, [[["subject"]]]]);
    await nextTask();
    expect(heard).toEqual(["[null,null,[]]", '[null,null,[[["subject"]]]]']);
  });
});
