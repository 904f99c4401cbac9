// The Sent list's status cache: batched requests, answers kept a short while, invalidation.
import { describe, expect, it, vi } from "vitest";
import type { MessageStatus } from "../../../shared/api";
import { StatusCache } from "./status-cache";

describe("status cache", () => {
  const status = (threadId: string, openCount = 0): MessageStatus => ({
    id: `id-${threadId}`,
    threadId,
    state: openCount > 0 ? "opened" : "delivered",
    openCount,
    firstOpenAt: null,
    lastOpenAt: null,
    clickCount: 0,
    lastClickAt: null,
    syncThreadId: null,
    replyCount: 0,
    lastReplyAt: null,
    bounce: null,
    unsubscribed: false,
  });

  it("asks once per page, answers again from memory, asks again after invalidation or expiry, in chunks of 200", async () => {
    let now = 0;
    const asked: string[][] = [];
    const fetchStatus = async (ids: string[]) => {
      asked.push(ids);
      return ids.filter((id) => id.startsWith("t")).map((id) => status(id, 1));
    };
    const cache = new StatusCache(() => now, 1000);
    const ids = Array.from({ length: 250 }, (_, i) => (i % 2 ? `t${i}` : `u${i}`));
    expect(await cache.get(ids, fetchStatus)).toHaveLength(125);
    expect(asked.map((a) => a.length)).toEqual([200, 50]);
    await cache.get(ids, fetchStatus);
    expect(asked).toHaveLength(2);
    cache.invalidate(["t1"]);
    await cache.get(ids, fetchStatus);
    expect(asked.at(-1)).toEqual(["t1"]);
    now = 2000;
    await cache.get(["t3"], fetchStatus);
    expect(asked.at(-1)).toEqual(["t3"]);
  });

  it("answers a thread asked for by Gmail's sync id, each message once when asked by both ids, and forgets it on news naming the legacy id", async () => {
    const asked: string[][] = [];
    const email = { ...status("183234ce86ffa010", 1), syncThreadId: "thread-a:r263523620390330024" };
    const fetchStatus = async (ids: string[]) => {
      asked.push(ids);
      return ids.some((id) => id === email.threadId || id === email.syncThreadId) ? [email] : [];
    };
    const cache = new StatusCache();
    expect(await cache.get(["thread-a:r263523620390330024"], fetchStatus)).toEqual([email]);
    expect(await cache.get(["183234ce86ffa010", "thread-a:r263523620390330024"], fetchStatus)).toEqual([email]);
    expect(asked).toHaveLength(2);
    cache.invalidate(["183234ce86ffa010"]);
    await cache.get(["thread-a:r263523620390330024"], fetchStatus);
    expect(asked.at(-1)).toEqual(["thread-a:r263523620390330024"]);
  });

  it("does not keep an answer asked for before the thread was invalidated (a registration delivered meanwhile)", async () => {
    const cache = new StatusCache();
    let release = () => {};
    const slow = async (ids: string[]) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return ids.filter((id) => id !== "t1").map((id) => status(id, 0));
    };
    const early = cache.get(["t1", "t2"], slow);
    await Promise.resolve();
    cache.invalidate(["t1"]); // t1's email was just registered: the answer on its way predates it
    release();
    expect((await early).map((m) => m.threadId)).toEqual(["t2"]);
    const fresh = vi.fn(async (ids: string[]) => ids.map((id) => status(id, 0)));
    expect((await cache.get(["t1", "t2"], fresh)).map((m) => m.threadId)).toEqual(["t1", "t2"]);
    expect(fresh).toHaveBeenCalledWith(["t1"]); // t2's answer was kept, t1's was not
  });
});
