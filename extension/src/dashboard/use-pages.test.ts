// @vitest-environment happy-dom
// The dashboard's paginated lists: a list is keyed by its query, and a page answered for a query the user has
// since left (a late first page, or a "Load more" clicked just before a filter change) never reaches the new list.
import { h, render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { Paged } from "./ui";
import { EMPTY_PAGES_FOLLOWED, type Page, type PageQuery, usePages } from "./use-pages";

type Query = PageQuery;

/** A loader whose answers the test gives, in any order. */
function loader() {
  const calls: { query: Query; cursor: string | undefined; answer: (page: Page<string>) => Promise<void> }[] = [];
  const load = (query: Query, cursor?: string) =>
    new Promise<Page<string>>((resolve) => {
      calls.push({ query, cursor, answer: (page) => act(async () => resolve(page)) });
    });
  return { calls, load };
}

let shown: ReturnType<typeof usePages<Query, Page<string>>>;
const root = document.createElement("div");

function Probe({ query, load }: { query: Query; load: (query: Query, cursor?: string) => Promise<Page<string>> }) {
  shown = usePages(query, load);
  return null;
}

const show = (query: Query, load: (query: Query, cursor?: string) => Promise<Page<string>>) =>
  act(() => render(h(Probe, { query, load }), root));

afterEach(() => render(null, root));

describe("usePages", () => {
  it("a page of the old filter that answers after a change is dropped, Load more included", async () => {
    const { calls, load } = loader();
    await show({ q: "a" }, load);
    await calls[0]?.answer({ items: ["a1"], nextCursor: "a-next" });
    expect(shown.items).toEqual(["a1"]);

    await act(() => shown.more?.());
    expect(calls[1]).toMatchObject({ query: { q: "a" }, cursor: "a-next" });
    await show({ q: "b" }, load);
    expect(shown.items).toBeNull();
    expect(shown.more).toBeNull();
    expect(calls[2]).toMatchObject({ query: { q: "b" }, cursor: undefined });
    await calls[2]?.answer({ items: ["b1"], nextCursor: null });
    await calls[1]?.answer({ items: ["a2"], nextCursor: "a-later" });
    expect(shown.items).toEqual(["b1"]);
    expect(shown.more).toBeNull();

    // A late first page, too: the filter went from c back to b before c answered.
    await show({ q: "c" }, load);
    await show({ q: "b" }, load);
    await calls[4]?.answer({ items: ["b2"], nextCursor: null });
    await calls[3]?.answer({ items: ["c1"], nextCursor: null });
    expect(shown.items).toEqual(["b2"]);
  });

  it("is keyed by the query's values: an equal query (empty values left out) loads nothing again", async () => {
    const { calls, load } = loader();
    await show({ campaign: "spring", q: undefined }, load);
    await calls[0]?.answer({ items: ["m1"], nextCursor: "next" });
    await show({ q: "", campaign: "spring" }, load);
    expect(calls).toHaveLength(1);
    expect(shown.items).toEqual(["m1"]);
  });

  it("offers no second Load more while a page loads (it would append the same page twice)", async () => {
    const { calls, load } = loader();
    await show({}, load);
    await calls[0]?.answer({ items: ["1"], nextCursor: "p2" });
    await act(() => shown.more?.());
    expect(shown.more).toBeNull();
    await calls[1]?.answer({ items: ["2"], nextCursor: "p3" });
    expect(shown.items).toEqual(["1", "2"]);
    expect(shown.more).not.toBeNull();
  });

  it("asks for the first page again keeping the list shown, and the new answer replaces it and what was loaded after it", async () => {
    const { calls, load } = loader();
    await show({}, load);
    await calls[0]?.answer({ items: ["1"], nextCursor: "p2" });
    await act(() => shown.more?.());
    await calls[1]?.answer({ items: ["2"], nextCursor: "p3" });
    await act(() => shown.again?.());
    expect(calls[2]).toMatchObject({ cursor: undefined });
    expect(shown.items).toEqual(["1", "2"]);
    expect(shown.again).toBeNull();
    expect(shown.more).toBeNull();
    await calls[2]?.answer({ items: ["2", "1"], nextCursor: "other" });
    expect(shown.items).toEqual(["2", "1"]);
    expect(shown.first).toEqual({ items: ["2", "1"], nextCursor: "other" });
    expect(shown.again).not.toBeNull();
  });

  it("asks for the next page on its own while pages come back empty with a further one, a few in a row, then offers Load more", async () => {
    const { calls, load } = loader();
    await show({ minScore: 5 }, load);
    for (let page = 0; page <= EMPTY_PAGES_FOLLOWED; page++) {
      expect(shown.more).toBeNull();
      expect(shown.loading).toBe(true);
      await calls[page]?.answer({ items: [], nextCursor: `after-${page}` });
    }
    expect(calls.map((call) => call.cursor)).toEqual([
      undefined,
      ...Array.from({ length: EMPTY_PAGES_FOLLOWED }, (_, page) => `after-${page}`),
    ]);
    expect(shown.loading).toBe(false);
    expect(shown.items).toEqual([]);
    await act(() => shown.more?.());
    expect(calls.at(-1)?.cursor).toBe(`after-${EMPTY_PAGES_FOLLOWED}`);
    // Followed again from an empty "Load more", and no further once a page holds someone.
    await calls.at(-1)?.answer({ items: [], nextCursor: "later" });
    expect(calls.at(-1)?.cursor).toBe("later");
    await calls.at(-1)?.answer({ items: ["p1"], nextCursor: "last" });
    expect(calls.at(-1)?.cursor).toBe("later");
    expect(shown.items).toEqual(["p1"]);
    expect(shown.more).not.toBeNull();
  });
});

describe("Paged", () => {
  const list = (items: string[] | null, loading: boolean, more: (() => void) | null) => ({ items, error: null, loading, more });
  const shows = async (shown: ReturnType<typeof list>) => {
    await act(() => render(h(Paged<string>, { list: shown, empty: "Nobody matches.", children: () => null }), root));
    return root.textContent;
  };

  it("says nobody matches only when no page is loading or left to load", async () => {
    expect(await shows(list([], false, null))).toBe("Nobody matches.");
    expect(await shows(list([], false, () => {}))).toBe("None found yet.Load more");
    expect(await shows(list([], true, null))).toBe("Loading…");
  });
});
