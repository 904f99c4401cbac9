// @vitest-environment happy-dom
// The page's one observer: every feature listens through it, it stops when the last one leaves, and a watcher
// hears of the elements its selectors name (precise or fallback), of the removal of its own elements, and of
// nothing else (our own insertions included).
import { afterEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { stoppedAfterEach } from "../../../test/stopped-after-each";
import { newsNames, onPageMutations, ReadsOut, touches, watchElements } from "./page-watch";

/** A thread list row (`tr.zA`, with or without its role), built node by node: happy-dom parses no lone `<tr>`. */
function row(text: string, role: string | null): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.className = "zA";
  if (role) tr.setAttribute("role", role);
  const cell = document.createElement("td");
  cell.textContent = text;
  tr.append(cell);
  return tr;
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Records the next mutations of the body would give (a private observer, not the page's). */
async function recordsOf(change: () => void): Promise<MutationRecord[]> {
  const records: MutationRecord[] = [];
  const observer = new MutationObserver((batch) => records.push(...batch));
  observer.observe(document.body, { childList: true, subtree: true });
  change();
  await settled();
  observer.disconnect();
  return records;
}

/**
 * The signals of one test's listeners, aborted after it: a listener a failing test left on the page's one observer would
 * keep it running into later tests, which count the observers made and stopped, and would hear their changes.
 */
const listening = () => running(new AbortController());

afterEach(() => {
  vi.restoreAllMocks();
  document.body.innerHTML = "";
});
// Stopped before the afterEach above restores the spies and clears the page.
const running = stoppedAfterEach<AbortController>((controller) => controller.abort());

describe("the page's observer", () => {
  it("is one observer however many features listen, and stops when the last one leaves", async () => {
    const created = vi.spyOn(globalThis, "MutationObserver");
    const disconnect = vi.spyOn(MutationObserver.prototype, "disconnect");
    const features = [listening(), listening(), listening()];
    const heard = [0, 0, 0];
    features.forEach((feature, i) => {
      onPageMutations(`listener ${i}`, ["nodes"], () => (heard[i] = (heard[i] ?? 0) + 1), feature.signal);
    });
    expect(created).toHaveBeenCalledTimes(1);

    document.body.append(document.createElement("div"));
    await settled();
    expect(heard).toEqual([1, 1, 1]);

    features[0]?.abort();
    features[1]?.abort();
    expect(disconnect).not.toHaveBeenCalled();
    document.body.append(document.createElement("div"));
    await settled();
    expect(heard).toEqual([1, 1, 2]);

    features[2]?.abort();
    expect(disconnect).toHaveBeenCalledTimes(1);
    document.body.append(document.createElement("div"));
    await settled();
    expect(heard).toEqual([1, 1, 2]);

    // A feature starting again gets a new observer.
    const again = listening();
    onPageMutations("again", ["nodes"], () => (heard[0] = (heard[0] ?? 0) + 1), again.signal);
    expect(created).toHaveBeenCalledTimes(2);
  });

  it("calls a listener only for the kinds of change it asked for", async () => {
    const feature = listening();
    const heard = { nodes: 0, styles: 0, sources: 0 };
    onPageMutations("nodes", ["nodes"], () => heard.nodes++, feature.signal);
    onPageMutations("styles", ["nodes", "style"], () => heard.styles++, feature.signal);
    onPageMutations("sources", ["src"], () => heard.sources++, feature.signal);
    const image = document.createElement("img");
    document.body.append(image);
    await settled();
    expect(heard).toEqual({ nodes: 1, styles: 1, sources: 0 });
    image.setAttribute("style", "display: none");
    await settled();
    expect(heard).toEqual({ nodes: 1, styles: 2, sources: 0 });
    image.setAttribute("src", "https://example.org/a.png");
    await settled();
    expect(heard).toEqual({ nodes: 1, styles: 2, sources: 1 });
  });

  it("records only the kinds of change some listener asks for, and stops recording a kind nobody asks for any more", async () => {
    const observe = vi.spyOn(MutationObserver.prototype, "observe");
    const nodes = listening();
    const styles = listening();
    onPageMutations("nodes", ["nodes"], () => {}, nodes.signal);
    expect(observe).toHaveBeenLastCalledWith(document, { childList: true, subtree: true });
    onPageMutations("styles", ["style"], () => {}, styles.signal);
    expect(observe).toHaveBeenLastCalledWith(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["style"] });
    styles.abort();
    expect(observe).toHaveBeenLastCalledWith(document, { childList: true, subtree: true });
  });

  it("loses no change queued when a new kind of change is asked for", async () => {
    const feature = listening();
    let heard = 0;
    onPageMutations("nodes", ["nodes"], () => heard++, feature.signal);
    document.body.append(document.createElement("div"));
    onPageMutations("styles", ["style"], () => {}, feature.signal);
    await settled();
    expect(heard).toBe(1);
  });

  it("hands no listener the records of our own insertions, but every other record of the batch, removals of ours included", async () => {
    const feature = listening();
    const heard: MutationRecord[][] = [];
    onPageMutations("nodes", ["nodes"], (records) => heard.push([...records]), feature.signal);
    const cells = Array.from({ length: 3 }, () => document.body.appendChild(document.createElement("div")));
    await settled();
    heard.length = 0;
    // A list's marks, one record each, as the Sent list draws them in the checkpoint: no listener is called again.
    const marks = cells.map((cell) => {
      const mark = document.createElement("span");
      mark.className = "mt-mark mt-mark-opened";
      mark.textContent = "2";
      cell.prepend(mark);
      return mark;
    });
    await settled();
    expect(heard).toEqual([]);
    // Gmail's insertion in the same batch as ours: the listener gets Gmail's record alone.
    const gmails = document.createElement("p");
    cells[0]?.append(gmails);
    cells[1]?.append(Object.assign(document.createElement("span"), { className: "mt-panel" }));
    await settled();
    expect(heard.map((records) => records.map((r) => [...r.addedNodes]))).toEqual([[[gmails]]]);
    // One of our marks removed (Gmail re-rendered the cell): heard, so a watcher can put it back.
    marks[2]?.remove();
    await settled();
    expect(heard).toHaveLength(2);
    expect([...(heard[1]?.[0]?.removedNodes ?? [])]).toEqual([marks[2]]);
  });

  it("keeps calling the other listeners when one throws", async () => {
    const feature = listening();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    let heard = 0;
    onPageMutations(
      "throws",
      ["nodes"],
      () => {
        throw new Error("broken feature");
      },
      feature.signal,
    );
    onPageMutations("counts", ["nodes"], () => heard++, feature.signal);
    document.body.append(document.createElement("div"));
    await settled();
    expect(heard).toBe(1);
    expect(warn).toHaveBeenCalledWith("[mailtracker] throws failed", expect.any(Error));
  });

  it("tells a watcher of rows Gmail adds, precise or by a fallback, and of nothing else", async () => {
    const feature = listening();
    let changes = 0;
    watchElements(["threadRow"], "mt-mark", () => changes++, feature.signal);
    const table = document.createElement("table");
    const tbody = document.createElement("tbody");
    table.append(tbody);
    document.body.append(table);
    await settled();
    changes = 0;

    tbody.append(row("precise", "row"));
    await settled();
    expect(changes).toBe(1);
    // Without the role, only the fallback `tr.zA` names it.
    tbody.append(row("fallback", null));
    await settled();
    expect(changes).toBe(2);
    // Text Gmail puts into a row counts for the row.
    tbody.querySelector("td")?.append(document.createTextNode(" updated"));
    await settled();
    expect(changes).toBe(3);
    // Something else, and an element of ours inside a row, do not count.
    document.body.append(document.createElement("section"));
    const mark = document.createElement("span");
    mark.className = "mt-mark";
    tbody.querySelector("td")?.prepend(mark);
    await settled();
    expect(changes).toBe(3);
    // Our mark removed (Gmail re-rendered the row's cell): the watcher puts it back.
    mark.remove();
    await settled();
    expect(changes).toBe(4);
  });
});

describe("touches", () => {
  it("finds what a selector names in an insertion, as the element itself, inside it or around it", async () => {
    document.body.innerHTML = '<div class="adn" data-message-id="#msg-f:1"><div class="ii gt"></div></div>';
    const inside = await recordsOf(() => document.querySelector(".ii")?.append(document.createElement("p")));
    expect(touches(inside, ["conversationMessage"], null)).toBe(true);
    const holding = await recordsOf(() => document.body.insertAdjacentHTML("beforeend", '<div><div data-message-id="m2"></div></div>'));
    expect(touches(holding, ["conversationMessage"], null)).toBe(true);
    expect(touches(holding, ["threadRow", "composeBody"], null)).toBe(false);
    const compose = await recordsOf(() =>
      document.body.insertAdjacentHTML("beforeend", '<div g_editable="true" contenteditable="true" role="textbox"></div>'),
    );
    expect(touches(compose, ["threadRow", "composeBody"], null)).toBe(true);
  });
});

describe("a batch asked by several watchers", () => {
  it("looks for each selector once, whoever asks", async () => {
    const feature = listening();
    const heard: string[] = [];
    watchElements(["threadRow"], null, () => heard.push("rows"), feature.signal);
    watchElements(["threadRow"], "mt-mark", () => heard.push("rows again"), feature.signal);
    watchElements(["threadRow", "conversationMessage"], null, () => heard.push("rows or messages"), feature.signal);
    const asked = vi.spyOn(Element.prototype, "querySelector");
    document.body.insertAdjacentHTML("beforeend", '<div><div class="adn" data-message-id="m1"></div></div>');
    await settled();
    expect(heard).toEqual(["rows or messages"]);
    const rowQueries = asked.mock.calls.filter(([selector]) => selector === 'tr.zA[role="row"]');
    expect(rowQueries).toHaveLength(1);
  });
});

describe("the reads a feature has out, and the news that overtakes them", () => {
  it("marks overtaken the reads out that news names, or all when it names none; a read started after, or ended, is not", () => {
    const reads = new ReadsOut();
    reads.set("row-1", { ids: ["thread-a", "legacy-a"] });
    reads.set("row-2", { ids: ["thread-b"] });
    reads.news(["legacy-a", "thread-z"]);
    expect(reads.get("row-1")?.overtaken).toBe(true);
    expect(reads.get("row-2")?.overtaken).toBeFalsy();
    // A read started after the news asks after it: its answer is the last word.
    reads.set("row-3", { ids: ["thread-a"] });
    expect(reads.get("row-3")?.overtaken).toBeFalsy();
    // A read that ended before news came is not told of it, nor kept.
    reads.delete("row-1");
    reads.news([]);
    expect([...reads].map(([key, read]) => [key, read.overtaken])).toEqual([
      ["row-2", true],
      ["row-3", true],
    ]);
    reads.set("panel", { ids: [] });
    reads.news();
    expect(reads.get("panel")?.overtaken).toBe(true);
  });

  it("counts news naming no thread as news for every thing, and news naming threads for those alone", () => {
    expect(newsNames(["a", "b"], ["b"])).toBe(true);
    expect(newsNames(["a"], ["b"])).toBe(false);
    expect(newsNames([], ["b"])).toBe(false);
    expect(newsNames(["a"], [])).toBe(true);
    expect(newsNames(["a"])).toBe(true);
  });
});
