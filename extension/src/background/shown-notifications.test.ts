// The record of notifications shown (shown-notifications.ts), over an in-memory storage area standing in for
// browser.storage.local and a list of the notifications on the screen standing in for notifications.getAll.
import { describe, expect, it } from "vitest";
import { memoryArea } from "./memory-area";
import { keepShown, SHOWN_KEY, updateShown } from "./shown-notifications";

describe("the notifications shown", () => {
  const summary = { key: "summary:4:open:m4", title: "4 emails opened", message: "“Pricing”." };

  function screen(area: ReturnType<typeof memoryArea>) {
    const onScreen: Record<string, unknown> = {};
    const created: [string, string][] = [];
    const deps = {
      area,
      onScreen: async () => ({ ...onScreen }),
      notify: async (id: string, words: { title: string }) => {
        created.push([id, words.title]);
        onScreen[id] = {};
      },
      now: () => 2_000,
    };
    return { deps, onScreen, created };
  }

  it("a summary updated in place is recorded with its new words, in place of the old ones", async () => {
    const area = memoryArea();
    const { deps, onScreen, created } = screen(area);
    await keepShown(area, { id: "mt||other", key: "open:m0", title: "Opened: Hello", message: "Carol opened “Hello”.", at: 500 });
    await keepShown(area, { id: "mt||summary", ...summary, at: 1_000 });
    onScreen["mt||summary"] = {};
    const corrected = { ...summary, title: "3 emails opened" };
    expect(await updateShown(deps, "mt||summary", corrected)).toBe(true);
    expect(created).toEqual([["mt||summary", "3 emails opened"]]);
    expect(area.data[SHOWN_KEY]).toEqual([
      { id: "mt||other", key: "open:m0", title: "Opened: Hello", message: "Carol opened “Hello”.", at: 500 },
      { id: "mt||summary", ...corrected, at: 2_000 },
    ]);
  });

  it("one the rep closed is neither shown again nor recorded", async () => {
    const area = memoryArea();
    const { deps, created } = screen(area);
    await keepShown(area, { id: "mt||summary", ...summary, at: 1_000 });
    expect(await updateShown(deps, "mt||summary", { ...summary, title: "3 emails opened" })).toBe(false);
    expect(created).toEqual([]);
    expect(area.data[SHOWN_KEY]).toEqual([{ id: "mt||summary", ...summary, at: 1_000 }]);
  });

  it("a notification shown again under its id keeps its earlier entry, the newest 50 kept", async () => {
    const area = memoryArea();
    for (let i = 0; i < 51; i++) await keepShown(area, { id: "mt-notice:reach", key: "reach", title: `${i}`, message: "", at: i });
    const shown = area.data[SHOWN_KEY] as { title: string }[];
    expect(shown.map((entry) => entry.title)).toEqual(Array.from({ length: 50 }, (_, i) => `${i + 1}`));
  });
});
