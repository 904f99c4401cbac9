// @vitest-environment happy-dom
// Selectors against the real compose dialog capture (test/fixtures/gmail/compose-dialog-2020-10.html) and the
// simulated current Gmail (test/e2e/gmail-sim/, built from gmail.md; kept apart from the captures).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { gmailThreadUrl, legacyThreadId } from "../gmail-ids";
import { closest, composeRecipients, isPlainTextMode, query, queryAll, rowThreadIds } from "./gmail-selectors";
import { setDebug } from "./log";

const FIXTURE = path.resolve(import.meta.dirname, "../../../test/fixtures/gmail/compose-dialog-2020-10.html");

describe("Gmail selectors on the real compose dialog (2020-10)", () => {
  document.body.innerHTML = readFileSync(FIXTURE, "utf8");

  it("finds the body, its compose root, subject, draft/rt inputs and the send button (not 'more send options')", () => {
    const body = query(document, "composeBody");
    expect(body?.getAttribute("aria-label")).toBe("Message Body");
    const root = body ? closest(body, "composeRoot") : null;
    expect(root?.className).toBe("M9");
    expect(root && query(root, "subject")?.getAttribute("name")).toBe("subjectbox");
    expect((root && (query(root, "draftInput") as HTMLInputElement))?.value).toBe("#msg-a:r-7673660351152959857");
    expect((root && (query(root, "threadInput") as HTMLInputElement))?.value).toBe("#thread-a:r-7681922771531347793");
    const send = root && query(root, "sendButton");
    expect(send?.getAttribute("data-tooltip")?.startsWith("Send")).toBe(true);
    expect(send?.hasAttribute("aria-haspopup")).toBe(false);
  });

  it("reads recipients typed into the old textarea fields", () => {
    const to = document.querySelector("textarea[name=to]") as HTMLTextAreaElement;
    to.value = "Ann <ann@a.example>, bob@b.example";
    expect(composeRecipients(document)).toEqual([{ email: "ann@a.example" }, { email: "bob@b.example" }]);
    expect(isPlainTextMode(document)).toBe(false);
  });
});

describe("Gmail selectors on the simulated current compose (chips)", () => {
  it("reads chip recipients and plain-text mode", () => {
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to"><div class="afV" email="Carol@X.example" name="Carol"></div></div>
      <div role="menu"><div role="menuitemcheckbox" aria-checked="true">Plain text mode</div></div></div></div>`;
    expect(composeRecipients(document)).toEqual([{ email: "carol@x.example", name: "Carol" }]);
    expect(isPlainTextMode(document)).toBe(true);
  });
});

describe("selectors that stop matching are logged in debug mode", () => {
  it("says when a fallback stands in for the precise selector and when nothing matches, once each, and only in debug mode", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      // Gmail renamed the tooltip: only the class fallback still finds the send button.
      document.body.innerHTML = `<div class="M9"><table class="IZ"><tr><td class="gU Up"><div role="button" class="T-I aoO">Send</div></td></tr></table></div>`;
      setDebug(false);
      expect(query(document, "sendButton")?.textContent).toBe("Send");
      expect(warn).not.toHaveBeenCalled();

      setDebug(true);
      expect(query(document, "sendButton")?.textContent).toBe("Send");
      query(document, "sendButton");
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[1])).toMatch(/send button stopped matching; fallback div\[role="button"\]\.aoO/);

      document.body.innerHTML = `<div class="M9"><div role="button" class="zQ2">Send</div></div>`;
      expect(query(document, "sendButton")).toBeNull();
      expect(query(document, "sendButton")).toBeNull();
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[1]?.[1])).toMatch(/^no match for send button/);
    } finally {
      setDebug(false);
      warn.mockRestore();
    }
  });
});

describe("thread list selectors", () => {
  it("on the real classic thread list (2014-12): rows and subjects by fallback, no thread ids", () => {
    document.body.innerHTML = readFileSync(
      path.resolve(import.meta.dirname, "../../../test/fixtures/gmail/thread-list-classic-2014-12.html"),
      "utf8",
    ).replace(/<script[\s\S]*?<\/script>/g, ""); // the capture's scripts are not ours to load
    const rows = queryAll(document, "threadRow");
    expect(rows).toHaveLength(16);
    expect(rows.every((row) => row.matches("tr.zA"))).toBe(true);
    expect(query(rows[0] as Element, "rowSubject")?.textContent?.trim()).toBe("aaa");
    expect(rows.map(rowThreadIds)).toEqual(rows.map(() => null));
  });

  it("on current rows (gmail.md attributes): both ids, legacy first", () => {
    document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="a4W"><div class="y6"><span class="bog">
      <span data-thread-id="#thread-f:1654000000000000001" data-legacy-thread-id="16f4d7c2a0b00001">Hi</span></span></div></td></tr></tbody></table>`;
    const [row] = queryAll(document, "threadRow");
    expect(row && rowThreadIds(row)).toEqual({ key: "16f4d7c2a0b00001", ids: ["16f4d7c2a0b00001", "thread-f:1654000000000000001"] });
    expect(row && query(row, "rowSubject")?.className).toBe("bog");
  });

  it("converts thread-f ids to the legacy hex Gmail uses in its URLs", () => {
    expect(legacyThreadId(`thread-f:${BigInt("0x16f4d7c2a0b00001")}`)).toBe("16f4d7c2a0b00001");
    expect(legacyThreadId("#16f4d7c2a0b00001")).toBe("16f4d7c2a0b00001");
    expect(legacyThreadId("thread-a:r-123")).toBeNull();
    expect(gmailThreadUrl("16f4")).toBe("https://mail.google.com/mail/u/0/#all/16f4");
    expect(gmailThreadUrl(null)).toBe("https://mail.google.com/mail/u/0/#sent");
  });
});
