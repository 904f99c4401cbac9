import { describe, expect, it } from "vitest";
import { senderKind } from "./sender";

const ID = "abcdefghijklmnopabcdefghijklmnop";
const BASE = `chrome-extension://${ID}/`;
const tab = { id: 7, index: 0, highlighted: false, active: true, pinned: false, incognito: false };

describe("the background answers only its own content script on Gmail and its own pages", () => {
  it("tells Gmail content scripts and extension pages apart", () => {
    expect(senderKind({ id: ID, url: "https://mail.google.com/mail/u/0/#inbox", tab }, ID, BASE)).toBe("gmail");
    expect(senderKind({ id: ID, url: `${BASE}extension/src/options/index.html` }, ID, BASE)).toBe("page");
  });

  it("refuses other extensions, other sites, look-alike origins, and senders without a URL", () => {
    expect(senderKind({ id: "another-extension", url: "https://mail.google.com/mail/u/0/", tab }, ID, BASE)).toBeNull();
    expect(senderKind({ id: ID, url: "https://mail.google.com.evil.example/mail/", tab }, ID, BASE)).toBeNull();
    expect(senderKind({ id: ID, url: "http://mail.google.com/mail/u/0/", tab }, ID, BASE)).toBeNull();
    expect(senderKind({ id: ID, url: "https://docs.google.com/", tab }, ID, BASE)).toBeNull();
    expect(senderKind({ id: ID, tab }, ID, BASE)).toBeNull();
    // A Gmail URL without a tab is not a content script (Gmail handlers need the tab).
    expect(senderKind({ id: ID, url: "https://mail.google.com/mail/u/0/" }, ID, BASE)).toBeNull();
    expect(senderKind({ id: ID, url: `chrome-extension://${"z".repeat(32)}/extension/src/options/index.html` }, ID, BASE)).toBeNull();
  });
});
