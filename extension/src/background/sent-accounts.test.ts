// The Gmail account each tracked message was sent from, for its notifications.
import { describe, expect, it } from "vitest";
import { memoryArea } from "./memory-area";
import { MAX_SENT_ACCOUNTS, SENT_ACCOUNTS_KEY, SentAccounts } from "./sent-accounts";

describe("SentAccounts", () => {
  it("keeps the account of messages sent at once, and survives a restart", async () => {
    const area = memoryArea();
    const accounts = new SentAccounts(area);
    const a = { path: "/mail/u/1/", address: "rep@acme.example" };
    const b = { path: "/mail/u/0/d/ALGkd0x7_Ab/", address: null };
    await Promise.all([accounts.record("a", a), accounts.record("b", b)]);
    const restarted = new SentAccounts(area);
    expect(await restarted.get("a")).toEqual(a);
    expect(await restarted.get("b")).toEqual(b);
    expect(await restarted.get("c")).toBeNull();
  });

  it("reads an account kept before addresses were as its path alone", async () => {
    const area = memoryArea();
    area.data[SENT_ACCOUNTS_KEY] = { old: "/mail/u/2/" };
    expect(await new SentAccounts(area).get("old")).toEqual({ path: "/mail/u/2/", address: null });
  });

  it("gives a page's thread addresses from one read: by address, by path, or in the first account", async () => {
    const area = memoryArea();
    area.data[SENT_ACCOUNTS_KEY] = { old: "/mail/u/2/", named: { path: "/mail/u/1/", address: "rep@acme.example" } };
    let reads = 0;
    const counted = {
      ...area,
      get: (key: string) => {
        reads++;
        return area.get(key);
      },
    };
    const threadUrl = await new SentAccounts(counted).threadUrls();
    expect([threadUrl("named", "16f4"), threadUrl("old", "16f4"), threadUrl("unknown", null)]).toEqual([
      "https://mail.google.com/mail/u/?authuser=rep%40acme.example#all/16f4",
      "https://mail.google.com/mail/u/2/#all/16f4",
      "https://mail.google.com/mail/u/0/#sent",
    ]);
    expect(reads).toBe(1);
  });

  it("keeps the newest messages only", async () => {
    const area = memoryArea();
    area.data[SENT_ACCOUNTS_KEY] = Object.fromEntries(Array.from({ length: MAX_SENT_ACCOUNTS }, (_, i) => [`m${i}`, "/mail/u/0/"]));
    const accounts = new SentAccounts(area);
    await accounts.record("new", { path: "/mail/u/3/", address: null });
    expect(Object.keys(area.data[SENT_ACCOUNTS_KEY] as object)).toHaveLength(MAX_SENT_ACCOUNTS);
    expect(await accounts.get("m0")).toBeNull();
    expect(await accounts.get("m1")).toEqual({ path: "/mail/u/0/", address: null });
    expect(await accounts.get("new")).toEqual({ path: "/mail/u/3/", address: null });
  });
});
