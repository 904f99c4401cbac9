// Opening a thread from a notification: in the Gmail account that sent the message, in a tab already on that
// account, never in another account's tab.
import { describe, expect, it } from "vitest";
import {
  gmailAccountOf,
  gmailAccountPath,
  gmailId,
  gmailTabFor,
  gmailThreadUrl,
  legacyThreadId,
  threadIdsToRegister,
  titleAddress,
} from "./gmail-ids";

const at = (path: string, address: string | null = null) => ({ path, address });

describe("Gmail accounts", () => {
  it("reads the account path of Gmail addresses only", () => {
    expect(gmailAccountPath("https://mail.google.com/mail/u/1/#inbox")).toBe("/mail/u/1/");
    expect(gmailAccountPath("https://mail.google.com/mail/u/12/?view=cm&fs=1")).toBe("/mail/u/12/");
    expect(gmailAccountPath("https://mail.google.com/chat/u/1/")).toBeNull();
    expect(gmailAccountPath("https://evil.example/mail/u/1/")).toBeNull();
    expect(gmailAccountPath(undefined)).toBeNull();
    // A delegated mailbox is its own account path, in today's form and the older one: its notifications open there.
    expect(gmailAccountPath("https://mail.google.com/mail/u/0/d/ALGkd0x7_Ab/#sent")).toBe("/mail/u/0/d/ALGkd0x7_Ab/");
    expect(gmailThreadUrl("16f4", at("/mail/u/0/d/ALGkd0x7_Ab/"))).toBe("https://mail.google.com/mail/u/0/d/ALGkd0x7_Ab/#all/16f4");
    expect(gmailAccountPath("https://mail.google.com/mail/b/ALGkd0x7_Ab/u/0/#sent")).toBe("/mail/b/ALGkd0x7_Ab/u/0/");
    expect(gmailThreadUrl("16f4", at("/mail/b/ALGkd0x7_Ab/u/0/"))).toBe("https://mail.google.com/mail/b/ALGkd0x7_Ab/u/0/#all/16f4");
  });

  it("opens the thread in the account that sent it (the first account when not known or not a path)", () => {
    expect(gmailThreadUrl("16f4", at("/mail/u/2/"))).toBe("https://mail.google.com/mail/u/2/#all/16f4");
    expect(gmailThreadUrl(null, at("/mail/u/2/"))).toBe("https://mail.google.com/mail/u/2/#sent");
    expect(gmailThreadUrl("thread-f:1", at("/mail/u/1/"))).toBe("https://mail.google.com/mail/u/1/#all/1");
    expect(gmailThreadUrl("16f4")).toBe("https://mail.google.com/mail/u/0/#all/16f4");
    expect(gmailThreadUrl("16f4", at("//evil.example/"))).toBe("https://mail.google.com/mail/u/0/#all/16f4");
  });

  it("names an account by its address when known, whatever its number is now", () => {
    expect(gmailThreadUrl("16f4", at("/mail/u/1/", "rep+eu@acme.example"))).toBe(
      "https://mail.google.com/mail/u/?authuser=rep%2Beu%40acme.example#all/16f4",
    );
    expect(gmailThreadUrl(null, at("/mail/u/1/", "rep@acme.example"))).toBe(
      "https://mail.google.com/mail/u/?authuser=rep%40acme.example#sent",
    );
  });

  it("reads the account's address from a Gmail tab's title, never for a delegated mailbox", () => {
    expect(titleAddress("Inbox (3) - Rep@Acme.example - Acme Mail")).toBe("rep@acme.example");
    expect(titleAddress("Posteingang - me@example.com - Gmail")).toBe("me@example.com");
    expect(titleAddress("Call - bob@prospect.example - notes - me@example.com - Gmail")).toBe("me@example.com");
    expect(titleAddress("Gmail")).toBeNull();
    expect(titleAddress("Re: lunch - not an address@ - Gmail")).toBeNull();
    expect(titleAddress(undefined)).toBeNull();
    const title = "Inbox - me@example.com - Gmail";
    expect(gmailAccountOf({ url: "https://mail.google.com/mail/u/1/#inbox", title })).toEqual(at("/mail/u/1/", "me@example.com"));
    expect(gmailAccountOf({ url: "https://mail.google.com/mail/u/1/d/ALGkd0x7_Ab/#inbox", title })).toEqual(at("/mail/u/1/d/ALGkd0x7_Ab/"));
    expect(gmailAccountOf({ url: "https://mail.google.com/mail/u/1/#inbox" })).toEqual(at("/mail/u/1/"));
    // A compose pop-out's title is its own (perhaps the draft's subject): not read.
    expect(gmailAccountOf({ url: "https://mail.google.com/mail/u/1/?view=cm&fs=1", title })).toEqual(at("/mail/u/1/"));
    expect(gmailAccountOf({ url: "https://example.com/", title })).toBeNull();
  });

  it("chooses a tab already on that account, never another account's tab nor a compose pop-out", () => {
    const tabs = [
      { id: 1, url: "https://mail.google.com/mail/u/0/#inbox" },
      { id: 2, url: "https://mail.google.com/mail/u/1/?view=cm&fs=1&tf=1" },
      { id: 3, url: "https://mail.google.com/mail/u/1/#sent" },
    ];
    expect(gmailTabFor(tabs, at("/mail/u/1/"))?.id).toBe(3);
    expect(gmailTabFor(tabs, at("/mail/u/0/"))?.id).toBe(1);
    expect(gmailTabFor(tabs, at("/mail/u/2/"))).toBeUndefined();
    expect(
      gmailTabFor<{ id: number; url?: string }>([tabs[1] as { id: number; url: string }, { id: 4 }], at("/mail/u/1/")),
    ).toBeUndefined();
  });

  it("with the account's address, chooses the tab by its title: after the accounts signed in again in another order, its old number is another account", () => {
    const tabs = [
      { id: 1, url: "https://mail.google.com/mail/u/0/#inbox", title: "Inbox - rep@acme.example - Gmail" },
      { id: 2, url: "https://mail.google.com/mail/u/1/#inbox", title: "Inbox (2) - me@home.example - Gmail" },
    ];
    // Sent from /mail/u/1/ when rep@acme.example was the second account signed in; it is the first now.
    expect(gmailTabFor(tabs, at("/mail/u/1/", "rep@acme.example"))?.id).toBe(1);
    expect(gmailTabFor(tabs, at("/mail/u/0/", "other@acme.example"))).toBeUndefined();
    // A tab an `authuser` link opened, if Gmail leaves that link in its address; never a pop-out or a delegated mailbox.
    const others = [
      { id: 4, url: "https://mail.google.com/mail/u/1/?view=cm&fs=1", title: "Inbox - rep@acme.example - Gmail" },
      { id: 5, url: "https://mail.google.com/mail/u/0/d/ALGkd0x7_Ab/#inbox", title: "Inbox - rep@acme.example - Gmail" },
      { id: 6, url: "https://mail.google.com/mail/u/?authuser=rep%40acme.example#inbox", title: "Inbox - rep@acme.example - Gmail" },
    ];
    expect(gmailTabFor(others, at("/mail/u/1/", "rep@acme.example"))?.id).toBe(6);
    // A tab whose title names no address is not taken for the account.
    expect(
      gmailTabFor([{ id: 3, url: "https://mail.google.com/mail/u/1/#inbox", title: "Gmail" }], at("/mail/u/1/", "rep@acme.example")),
    ).toBeUndefined();
  });
});

describe("Gmail ids", () => {
  it("one shape for ids read from the page; thread-f:<decimal> is the same number as the hex legacy id", () => {
    expect(gmailId("#thread-f:1654")).toBe("thread-f:1654");
    expect(gmailId(" 16f4 ")).toBe("16f4");
    expect(gmailId("a b")).toBeNull();
    expect(gmailId("")).toBeNull();
    expect(gmailId(null)).toBeNull();
    expect(gmailId("16f4d7c2a0b00001")).toBe("16f4d7c2a0b00001");
    expect(gmailId("##16f4")).toBeNull();
    // Gmail's placeholders where it has no id, and a thread id with its message part (conversation view off).
    expect([gmailId("undefined"), gmailId("null"), gmailId("#undefined")]).toEqual([null, null, null]);
    expect(gmailId("#thread-f:1654|msg-f:1655")).toBe("thread-f:1654");
    expect(legacyThreadId("#thread-f:1743802434391390786")).toBe("18333b13345c3a42");
  });

  it("registers a thread by its legacy id, and by Gmail's sync id too only when that is no number of it", () => {
    // 2022-09-09-cvOnSend_response.json: thread-a:r263523620390330024 is thread 183234ce86ffa010.
    const own = { threadId: "183234ce86ffa010", syncThreadId: "thread-a:r263523620390330024" };
    expect(threadIdsToRegister("183234ce86ffa010", "thread-a:r263523620390330024")).toEqual(own);
    expect(threadIdsToRegister(null, "thread-f:1743802434391390786")).toEqual({ threadId: "18333b13345c3a42" });
    expect(threadIdsToRegister("18333b13345c3a42", "thread-f:1743802434391390786")).toEqual({ threadId: "18333b13345c3a42" });
    expect(threadIdsToRegister(null, "thread-a:r263523620390330024")).toEqual({ threadId: "thread-a:r263523620390330024" });
    // What is no legacy id in the legacy id's place is not taken for one.
    expect(threadIdsToRegister("msg-a:r8190137112111191537", "thread-f:1743802434391390786")).toEqual({ threadId: "18333b13345c3a42" });
    expect(threadIdsToRegister(null, null)).toEqual({});
    // The legacy id as its number, where Gmail's answer gives only the decimal one (sync-parser.ts threadNumber).
    expect(threadIdsToRegister("thread-f:1743802434391390786", "thread-a:r263523620390330024")).toEqual({
      threadId: "18333b13345c3a42",
      syncThreadId: "thread-a:r263523620390330024",
    });
  });
});
