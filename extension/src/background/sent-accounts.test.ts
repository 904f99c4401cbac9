// The Gmail account each tracked message was sent from, for its notifications.
import { describe, expect, it } from "vitest";
import { memoryArea } from "./memory-area";
import { MAX_SENT_ACCOUNTS, SENT_ACCOUNTS_KEY, SentAccounts } from "./sent-accounts";

describe("SentAccounts", () => {
  it("keeps the account of messages sent at once, and survives a restart", async () => {
    const area = memoryArea();
    const accounts = new SentAccounts(area);
    await Promise.all([accounts.record("a", "/mail/u/1/"), accounts.record("b", "/mail/u/0/")]);
    const restarted = new SentAccounts(area);
    expect(await restarted.get("a")).toBe("/mail/u/1/");
    expect(await restarted.get("b")).toBe("/mail/u/0/");
    expect(await restarted.get("c")).toBeNull();
  });

  it("keeps the newest messages only", async () => {
    const area = memoryArea();
    area.data[SENT_ACCOUNTS_KEY] = Object.fromEntries(Array.from({ length: MAX_SENT_ACCOUNTS }, (_, i) => [`m${i}`, "/mail/u/0/"]));
    const accounts = new SentAccounts(area);
    await accounts.record("new", "/mail/u/3/");
    expect(Object.keys(area.data[SENT_ACCOUNTS_KEY] as object)).toHaveLength(MAX_SENT_ACCOUNTS);
    expect(await accounts.get("m0")).toBeNull();
    expect(await accounts.get("m1")).toBe("/mail/u/0/");
    expect(await accounts.get("new")).toBe("/mail/u/3/");
  });
});
