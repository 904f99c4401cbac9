// @vitest-environment happy-dom
// The page events between the page world and the content script: any script of Gmail's page can fire them, so each
// payload is checked against its event's shape before a handler sees it.
import { describe, expect, it } from "vitest";
import { configuredTrackers, emitPageEvent, onPageEvent, type PageEventName, TEXT_MARK, TRACKER_ATTRIBUTE } from "./events";

function received<K extends PageEventName>(name: K, details: unknown[]): unknown[] {
  const got: unknown[] = [];
  const controller = new AbortController();
  onPageEvent(document, name, (payload) => void got.push(payload), controller.signal);
  for (const detail of details) document.dispatchEvent(new CustomEvent(name, { detail: JSON.stringify(detail) }));
  document.dispatchEvent(new CustomEvent(name, { detail: "not json" }));
  controller.abort();
  return got;
}

describe("page events", () => {
  it("hands on a payload of its event's shape and drops any other", () => {
    const answered = { request: "[1]", response: "[2]" };
    expect(received("mt:gmail-send-answered", [answered, ["[1]", "[2]"], { request: 1, response: "[2]" }, null])).toEqual([answered]);
    expect(received("mt:pixels-neutralised", [["a", "b"], { 0: "a" }, ["a", 1], "a"])).toEqual([["a", "b"]]);
  });

  it("reads what emitPageEvent fires", () => {
    const got: string[][] = [];
    const controller = new AbortController();
    onPageEvent(document, "mt:pixels-neutralised", (ids) => void got.push(ids), controller.signal);
    emitPageEvent(document, "mt:pixels-neutralised", ["x"]);
    controller.abort();
    expect(got).toEqual([["x"]]);
  });

  it("passes a list's text on as it is, not encoded as JSON again, and still refuses text where an event carries more", () => {
    const text = `)]}'\n[["tl",[["thread-f:1","\\u003cb\\u003e"]]]]`;
    const details: unknown[] = [];
    const keep = (event: Event) => void details.push((event as CustomEvent<unknown>).detail);
    document.addEventListener("mt:gmail-list-answered", keep);
    const got: string[] = [];
    const controller = new AbortController();
    onPageEvent(document, "mt:gmail-list-answered", (answer) => void got.push(answer), controller.signal);
    emitPageEvent(document, "mt:gmail-list-answered", text);
    // An earlier copy of the page-world script (an update in an open tab) sends the text as JSON: read alike.
    document.dispatchEvent(new CustomEvent("mt:gmail-list-answered", { detail: JSON.stringify(text) }));
    // Not a string: refused.
    document.dispatchEvent(new CustomEvent("mt:gmail-list-answered", { detail: { text } }));
    controller.abort();
    document.removeEventListener("mt:gmail-list-answered", keep);
    expect(details[0]).toBe(TEXT_MARK + text);
    expect(got).toEqual([text, text]);
    // Text behind the mark, where an event carries a send or a list of ids: dropped.
    const refused: unknown[] = [];
    const other = new AbortController();
    onPageEvent(document, "mt:gmail-send-answered", (payload) => void refused.push(payload), other.signal);
    onPageEvent(document, "mt:pixels-neutralised", (payload) => void refused.push(payload), other.signal);
    document.dispatchEvent(new CustomEvent("mt:gmail-send-answered", { detail: `${TEXT_MARK}{"request":"[1]","response":"[2]"}` }));
    document.dispatchEvent(new CustomEvent("mt:pixels-neutralised", { detail: `${TEXT_MARK}["a"]` }));
    other.abort();
    expect(refused).toEqual([]);
  });

  it("reads the trackers named on <html>, the current one first, as one list until the attribute changes", () => {
    document.documentElement.removeAttribute(TRACKER_ATTRIBUTE);
    expect(configuredTrackers(document)).toEqual([]);
    document.documentElement.setAttribute(TRACKER_ATTRIBUTE, "https://t.example https://mt.rep.workers.dev");
    const first = configuredTrackers(document);
    expect(first).toEqual(["https://t.example", "https://mt.rep.workers.dev"]);
    // The same list, not a copy: the pixel guard's hooks read it on every HTML string Gmail sets.
    expect(configuredTrackers(document)).toBe(first);
    document.documentElement.setAttribute(TRACKER_ATTRIBUTE, "https://t.example");
    expect(configuredTrackers(document)).toEqual(["https://t.example"]);
  });
});
