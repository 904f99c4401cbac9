// settled(): what a stand-in on vitest's fake clock gives, its failure too.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { settled } from "../fake-clock";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it("gives what the stand-in resolves with once its timers have run", async () => {
  expect(await settled(new Promise((resolve) => setTimeout(() => resolve("stored"), 5)))).toBe("stored");
});

it("gives the stand-in's failure to the caller, not as an unhandled rejection while the timers run", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const failing = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error("refused");
    })();
    await expect(settled(failing)).rejects.toThrow("refused");
    // Node tells of an unhandled rejection after the microtasks of the turn it happened in: a real turn later.
    vi.useRealTimers();
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
