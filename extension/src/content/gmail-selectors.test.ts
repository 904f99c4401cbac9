// @vitest-environment happy-dom
// Selectors against the real compose dialog capture (test/fixtures/gmail/compose-dialog-2020-10.html) and the
// simulated current Gmail (test/e2e/gmail-sim/, built from gmail.md; kept apart from the captures).
import { readFileSync } from "node:fs";
import path from "node:path";
import { Window } from "happy-dom";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  // The health module's types and sentences live with the background (webextension-polyfill wants an extension).
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import {
  GMAIL_PARTS,
  type GmailHealth,
  healthSentences,
  NO_GMAIL_ACCESS_SENTENCE,
  NOT_RUNNING_SENTENCE,
  parseHealth,
  popupHealth,
  toolbarHealth,
} from "../background/gmail-health";
import { gmailThreadUrl, legacyThreadId } from "../gmail-ids";
import { markPageWorldStart, PAGE_WORLD_ATTRIBUTE } from "../page-world/events";
import {
  closest,
  composeRecipients,
  conversationThreadId,
  isPlainTextMode,
  LISTS_READ_ATTRIBUTE,
  query,
  queryAll,
  recogniseGmail,
  rowLastMessageId,
  rowListsRecipients,
  rowMessageCount,
  rowThreadIds,
  unreadRecipientsShown,
  visibleRecipientAddresses,
} from "./gmail-selectors";
import { setDebug } from "./log";

const FIXTURE = path.resolve(import.meta.dirname, "../../../test/fixtures/gmail/compose-dialog-2020-10.html");

/** A report where every part is recognised. */
const ALL_OK = Object.fromEntries(GMAIL_PARTS.map((part) => [part, "ok"])) as GmailHealth;

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
    to.value = "";
  });

  it("plain-text mode is the capture's hidden div.aA3 being shown, read by visibility, never by its text", () => {
    expect(isPlainTextMode(document)).toBe(false);
    const marker = document.querySelector("div.aA3") as HTMLElement;
    marker.style.display = "";
    expect(isPlainTextMode(document)).toBe(true);
    // A German Gmail: other words, the same marker.
    (marker.querySelector("span") as HTMLElement).textContent = "Derzeit im Nur-Text-Modus.";
    expect(isPlainTextMode(document)).toBe(true);
    marker.style.display = "none";
    expect(isPlainTextMode(document)).toBe(false);
  });

  it('finds the send button without its English tooltip (a German Gmail\'s "Senden")', () => {
    const send = query(document, "sendButton") as HTMLElement;
    send.setAttribute("data-tooltip", "Senden (Strg + Eingabetaste)");
    expect(query(document, "sendButton")).toBe(send);
    expect(query(document, "sendOptionsButton")?.getAttribute("aria-haspopup")).toBe("true");
  });

  it("with the send group's classes renamed, the last fallbacks find Send and its arrow, not Underline and Text color", () => {
    const group = query(document, "sendButton")?.parentElement as HTMLElement;
    const renamed = [...group.querySelectorAll("*"), ...document.querySelectorAll(".IZ, .gU, .Up")];
    const classes = renamed.map((element) => [element, element.getAttribute("class")] as const);
    for (const [element] of classes) element.setAttribute("class", "renamed");
    try {
      expect(query(document, "sendButton")?.getAttribute("data-tooltip")?.startsWith("Send")).toBe(true);
      expect(query(document, "sendOptionsButton")?.getAttribute("aria-label")).toBe("More send options");
    } finally {
      for (const [element, name] of classes) element.setAttribute("class", name ?? "");
    }
  });
});

describe("an inline reply's compose in the real markup (the 2020-10 dialog without its dialog), its `div.M9` renamed", () => {
  it("the root is the nearest ancestor of the body holding the draft input: recipients, subject, body and Send in it", () => {
    document.body.innerHTML = readFileSync(FIXTURE, "utf8");
    // An inline reply sits in the conversation: no dialog, no pop-out's `div.dw`.
    for (const dialog of document.querySelectorAll('[role="dialog"]')) dialog.removeAttribute("role");
    (document.querySelector("div.M9") as HTMLElement).className = "M9-h4sh";
    const body = query(document, "composeBody") as Element;
    // The body is in `table.iN`, the `form` beside it, not around it.
    expect(body.closest("table.iN")?.previousElementSibling?.previousElementSibling?.tagName).toBe("FORM");
    const root = closest(body, "composeRoot");
    expect(root?.className).toBe("I5");
    expect((root && (query(root, "draftInput") as HTMLInputElement))?.value).toBe("#msg-a:r-7673660351152959857");
    expect(root && query(root, "subject")?.getAttribute("name")).toBe("subjectbox");
    expect(root && query(root, "sendButton")?.getAttribute("data-tooltip")?.startsWith("Send")).toBe(true);
    expect(root && query(root, "recipientFields")?.getAttribute("name")).toBe("to");
    expect(recogniseGmail(document).compose).toBe("ok");
  });
});

describe("Send, its arrow and Send & Archive as real <button> elements (the 2020-10 capture, each redrawn as one)", () => {
  /**
   * The element redrawn as a `<button>`, as Gmail redrew its compose title bar's controls (InboxSDK 015a9a3,
   * 2026-07-09: gmail-selectors.ts BUTTON): the same classes, attributes and content, no `role` (the worst case).
   */
  const asButton = (element: Element) => {
    const button = document.createElement("button");
    for (const { name, value } of element.attributes) if (name !== "role") button.setAttribute(name, value);
    button.append(...element.childNodes);
    element.replaceWith(button);
    return button;
  };
  /** The capture with Send & Archive added before Send (as above), then Send, its arrow and it made buttons. */
  const withButtons = () => {
    document.body.innerHTML = readFileSync(FIXTURE, "utf8");
    const group = document.querySelector("td.gU.Up div.dC") as HTMLElement;
    (group.previousElementSibling as HTMLElement).innerHTML =
      `<div class="T-I J-J5-Ji aoO Uo v7 T-I-atl L3" role="button" tabindex="1" data-tooltip="Send &amp; Archive">Send</div>`;
    const [send, arrow] = [...group.querySelectorAll('[role="button"]')].map(asButton) as [HTMLButtonElement, HTMLButtonElement];
    const sendAndArchive = asButton(document.querySelector("td.gU.Up .Uo") as Element);
    return { send, arrow, sendAndArchive };
  };

  it("finds each by its precise selector, and Gmail's health sees Send", () => {
    const { send, arrow, sendAndArchive } = withButtons();
    expect(send.getAttribute("data-tooltip")?.startsWith("Send")).toBe(true);
    expect(query(document, "sendButton")).toBe(send);
    expect(query(document, "sendOptionsButton")).toBe(arrow);
    expect(query(document, "sendAndArchiveButton")).toBe(sendAndArchive);
    expect(recogniseGmail(document).send).toBe("ok");
  });

  it("with the send cell's classes renamed, the fallbacks still find each, and no formatting button", () => {
    const { send, arrow, sendAndArchive } = withButtons();
    for (const element of document.querySelectorAll("table.IZ, table.IZ *")) element.setAttribute("class", "renamed");
    expect(query(document, "sendButton")).toBe(send);
    expect(query(document, "sendOptionsButton")).toBe(arrow);
    expect(query(document, "sendAndArchiveButton")).toBe(sendAndArchive);
  });
});

describe("Send & Archive in the real compose dialog's send cell (2020-10; the button added as InboxSDK finds it)", () => {
  /**
   * The capture with Send & Archive, `classes`, alone in the first of the two empty `div.J-J5-Ji` around the Send group
   * `div.dC`: before Send, as InboxSDK found it (gmail-selectors.ts sendAndArchiveButton).
   */
  const withSendAndArchive = (classes: string) => {
    document.body.innerHTML = readFileSync(FIXTURE, "utf8");
    const slot = document.querySelector("td.gU.Up div.dC")?.previousElementSibling as HTMLElement;
    slot.innerHTML = `<div class="${classes}" role="button" tabindex="1" data-tooltip="Send &amp; Archive">Send</div>`;
    return slot.firstElementChild as HTMLElement;
  };
  const send = () => document.querySelector("td.gU.Up div.dC > div[data-tooltip^='Send']");

  it("a new email's compose has none: nothing else in the capture passes for it, precise or fallback", () => {
    document.body.innerHTML = readFileSync(FIXTURE, "utf8");
    expect(query(document, "sendAndArchiveButton")).toBeNull();
  });

  it("finds it, and Send still finds Send, whether or not it carries Send's class `aoO` besides its own `Uo`", () => {
    for (const classes of ["T-I J-J5-Ji Uo v7 T-I-atl L3", "T-I J-J5-Ji aoO Uo v7 T-I-atl L3"]) {
      const sendAndArchive = withSendAndArchive(classes);
      expect(query(document, "sendButton"), classes).toBe(send());
      expect(query(document, "sendAndArchiveButton"), classes).toBe(sendAndArchive);
      expect(recogniseGmail(document).send, classes).toBe("ok");
    }
  });

  it("with the send cell's classes renamed, the fallbacks still tell Send & Archive from Send and its arrow", () => {
    const sendAndArchive = withSendAndArchive("T-I J-J5-Ji Uo v7 T-I-atl L3");
    const plainSend = send();
    for (const element of document.querySelectorAll("table.IZ, table.IZ *")) element.setAttribute("class", "renamed");
    expect(query(document, "sendAndArchiveButton")).toBe(sendAndArchive);
    expect(query(document, "sendButton")).toBe(plainSend);
    expect(query(document, "sendOptionsButton")?.getAttribute("aria-label")).toBe("More send options");
  });
});

describe("Gmail selectors on today's compose (hovercard chips; simulated from InboxSDK/gmail.js, not a capture)", () => {
  it("reads recipients from data-hovercard-id chips, names from data-name; older [email] chips still work", () => {
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to">
      <div role="option" data-hovercard-id="Carol@X.example" data-name="Carol"><span>Carol</span></div></div>
      <div name="cc"><div role="option" data-hovercard-id="dave@y.example"></div></div></div></div>`;
    expect(composeRecipients(document)).toEqual([{ email: "carol@x.example", name: "Carol" }, { email: "dave@y.example" }]);
    document.body.innerHTML = `<div class="M9"><div name="to"><div class="afV" email="Carol@X.example" name="Carol"></div></div></div>`;
    expect(composeRecipients(document)).toEqual([{ email: "carol@x.example", name: "Carol" }]);
    // Addresses Gmail delivers to that a stricter rule refused (shared/email.ts isEmailAddress): one rule everywhere.
    document.body.innerHTML = `<div class="M9"><div name="to"><div role="option" data-hovercard-id="admin@intranet"></div>
      <div role="option" data-hovercard-id="jörg@münchen.de"></div></div></div>`;
    expect(composeRecipients(document)).toEqual([{ email: "admin@intranet" }, { email: "jörg@münchen.de" }]);
  });

  /**
   * A To row as InboxSDK's page parser walks it (a8a6fe2, 2026-07-23: `.anm[name=to] > div×4 > [role=listbox] > div > div >
   * div[role=option][data-name]`, the `input[role=combobox][aria-autocomplete=list]` in the listbox), with Gmail's
   * suggestion of someone to add outside the named field (gmail.js #713, 2022-08-03; its place in the row inferred from
   * the fix's selector, e3630aa: `tr.bzf div[name] div[data-hovercard-id]`). That the
   * suggestion is an option of a listbox of its own is assumed, the worst case: nothing public shows its role.
   */
  const toRow = (field: string, chips: string) => `<div class="M9"><table class="GS"><tbody><tr class="bzf"><td class="eV"><div><div>
      <div class="anm" ${field}><div><div><div><div><div role="listbox">${chips}<input role="combobox" aria-autocomplete="list"></div></div></div></div></div></div>
      <div role="listbox" aria-label="Suggested"><div role="option" data-hovercard-id="pat@suggested.example" data-name="Pat">Pat</div></div>
    </div></div></td></tr></tbody></table></div>`;
  const carol = `<div><div><div role="option" data-hovercard-id="carol@x.example" data-name="Carol"><span>Carol</span></div></div></div>`;

  it("a person Gmail suggests adding is no recipient, whether the field keeps its name or lost it", () => {
    for (const field of ['name="to"', ""]) {
      document.body.innerHTML = toRow(field, carol);
      expect(composeRecipients(document), field).toEqual([{ email: "carol@x.example", name: "Carol" }]);
      expect(unreadRecipientsShown(document), field).toBe(false);
    }
    // A field that lost its name and chips that lost their address: still known to show recipients it cannot read.
    document.body.innerHTML = toRow("", `<div role="option" class="afV"><span>Carol</span></div>`);
    expect(composeRecipients(document)).toEqual([]);
    expect(unreadRecipientsShown(document)).toBe(true);
  });

  it("addresses the To field shows though no chip can be read (Gmail changed its chips): a miss the compose reports", () => {
    document.body.innerHTML = `<div class="M9"><div name="to"><div class="new-chip" data-x="1">erin@z.example</div><input value="fay@w.example"></div></div>`;
    expect(composeRecipients(document)).toEqual([]);
    // The address being typed is no recipient yet (and no miss): only the chip's.
    expect(visibleRecipientAddresses(document)).toEqual(["erin@z.example"]);
  });
});

describe("selectors that stop matching are logged in debug mode", () => {
  it("says when a fallback stands in for the precise selector and when nothing matches, once each, and only in debug mode", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      // Gmail renamed the button's class (A/B-tested hashed tokens): only the fallback still finds the send button.
      document.body.innerHTML = `<div class="M9"><table class="IZ"><tr><td class="gU Up"><div role="button" class="T-I aoO-h4sh">Send</div></td></tr></table></div>`;
      setDebug(false);
      expect(query(document, "sendButton")?.textContent).toBe("Send");
      expect(warn).not.toHaveBeenCalled();

      setDebug(true);
      expect(query(document, "sendButton")?.textContent).toBe("Send");
      query(document, "sendButton");
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[1])).toMatch(
        /send button stopped matching; fallback td\.gU\.Up :not\(\.Uo\):not\(\[aria-haspopup\]\):is\(div\[role="button"\],button\)/,
      );

      document.body.innerHTML = `<div class="M9"><div role="button" class="zQ2">Send</div></div>`;
      expect(query(document, "sendButton")).toBeNull();
      expect(query(document, "sendButton")).toBeNull();
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[1]?.[1])).toMatch(/^no match for send button/);

      // queryAll says so too when the caller expects matches.
      expect(queryAll(document, "threadRow", true)).toEqual([]);
      expect(warn).toHaveBeenCalledTimes(3);
      expect(String(warn.mock.calls[2]?.[1])).toMatch(/^no match for thread row/);
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

  const DECIMAL = BigInt("0x16f4d7c2a0b00001").toString();

  it("on current rows (gmail.md attributes): both ids, legacy first", () => {
    document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="a4W"><div class="y6"><span class="bog">
      <span data-thread-id="#thread-f:${DECIMAL}" data-legacy-thread-id="16f4d7c2a0b00001">Hi</span></span></div></td></tr></tbody></table>`;
    const [row] = queryAll(document, "threadRow");
    expect(row && rowThreadIds(row)).toEqual({ key: "16f4d7c2a0b00001", ids: ["16f4d7c2a0b00001", `thread-f:${DECIMAL}`] });
    expect(row && query(row, "rowSubject")?.className).toBe("bog");
  });

  it("rows with only data-thread-id (2025-11 live dump): the decimal converted to the legacy hex the tracker stores", () => {
    document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="a4W"><div class="y6"><span class="bog">
      <span data-thread-id="#thread-f:${DECIMAL}">Hi</span></span></div></td></tr></tbody></table>`;
    const [row] = queryAll(document, "threadRow");
    expect(row && rowThreadIds(row)).toEqual({ key: "16f4d7c2a0b00001", ids: ["16f4d7c2a0b00001", `thread-f:${DECIMAL}`] });
  });

  it("rows of a list with conversation view off: the thread id's message part after '|' is not part of it", () => {
    document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="a4W"><div class="y6"><span class="bog">
      <span data-thread-id="#thread-f:${DECIMAL}|msg-f:${DECIMAL}">Hi</span></span></div></td></tr></tbody></table>`;
    const [row] = queryAll(document, "threadRow");
    expect(row && rowThreadIds(row)).toEqual({ key: "16f4d7c2a0b00001", ids: ["16f4d7c2a0b00001", `thread-f:${DECIMAL}`] });
  });

  it("rows whose class tokens were renamed (Ht becoming Ht-<hash>) are still found by role and attribute", () => {
    document.body.innerHTML = `<table><tbody><tr class="zA-h4sh" role="row"><td class="a4W-h4sh"><span class="bog-h4sh">
      <span data-thread-id="#thread-f:${DECIMAL}">Hi</span></span><span> - snippet</span></td></tr></tbody></table>`;
    const [row] = queryAll(document, "threadRow");
    expect(row).toBeDefined();
    expect(row && query(row, "rowSubject")?.className).toBe("bog-h4sh");
    expect(row && query(row, "rowSnippet")?.textContent).toBe(" - snippet");
  });

  it("a Sent row's recipients are told by the prefix's shape, in any language; senders lists are not", () => {
    const row = (cell: string) => {
      document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="yX"><div class="yW">${cell}</div></td></tr></tbody></table>`;
      return queryAll(document, "threadRow")[0] as Element;
    };
    const people = `<span email="a@x.example" name="a">a</span>, <span email="b@x.example" name="b">b</span>`;
    expect(rowListsRecipients(row(`To: ${people}`))).toBe(true);
    expect(rowListsRecipients(row(`An: ${people}`))).toBe(true);
    expect(rowListsRecipients(row(`À : ${people}`))).toBe(true);
    expect(rowListsRecipients(row(`宛先： ${people}`))).toBe(true);
    expect(rowListsRecipients(row(`${people} <span class="bx0">(2)</span>`))).toBe(false);
  });

  // A real row of 2019-12-26 (Russian UI, thread 16f438e906b36dac), as a public Selenium page object (Java,
  // `interface MainPage`) quotes it, cut to the cells read here: each participant wrapped in `span.bA4`, the count a
  // bare `span.bx0`, screen-reader text (`div.afn`) first in the cell, holding copies of the spans.
  const captured = (yW: string, afn = "") =>
    `<table><tbody><tr class="zA yO" role="row" tabindex="-1"><td class="yX xY " role="gridcell" tabindex="-1"><div class="afn">${afn}</div><div class="yW">${yW}</div></td>
    <td class="xY a4W" role="gridcell"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:1654009536642772396" data-legacy-thread-id="16f438e906b36dac" data-legacy-last-message-id="16f438f4edd46df5" data-legacy-last-non-draft-message-id="16f438f4edd46df5">тестовое задание</span></span></div></div></div></td>
    <td class="xW xY " role="gridcell"><span title="чт, 26 дек. 2019 г., 22:54"><span>22:54</span></span></td></tr></tbody></table>`;
  const wrapped = (email: string, name: string) =>
    `<span class="bA4"><span class="yP" email="${email}" name="${name}" data-hovercard-id="${email}">${name}</span></span>`;

  it("on the captured 2019-12 row (participants in span.bA4): its ids, its sender, its bare count, not a recipients list", () => {
    const person = wrapped("whitepeak@mail.ru", "Александр");
    document.body.innerHTML = captured(
      `${person} <span class="bx0">5</span>`,
      `${person} <span class="bx0">5</span>, тестовое задание, 22:54, Письмо 05.`,
    );
    const [row] = queryAll(document, "threadRow") as [Element];
    expect(rowThreadIds(row)?.key).toBe("16f438e906b36dac");
    expect(queryAll(row, "rowParticipants").map((p) => p.getAttribute("email"))).toEqual(["whitepeak@mail.ru"]);
    expect(rowMessageCount(row)).toBe(5);
    expect(rowLastMessageId(row)).toBe("16f438f4edd46df5");
    expect(rowListsRecipients(row)).toBe(false);
  });

  it("a Sent row in the captured shape: the prefix before the wrapped recipients, in div.yW or inside the first span.bA4", () => {
    const people = `${wrapped("carol@x.example", "Carol")}, ${wrapped("dave@x.example", "Dave")}`;
    const rowOf = (html: string) => {
      document.body.innerHTML = html;
      return queryAll(document, "threadRow")[0] as Element;
    };
    expect(rowListsRecipients(rowOf(captured(`To: ${people}`, "To: Carol, Dave, Subject, 22:54.")))).toBe(true);
    expect(rowListsRecipients(rowOf(captured(`An: ${people}`)))).toBe(true);
    expect(rowListsRecipients(rowOf(captured(people.replace('<span class="bA4">', '<span class="bA4">À : '))))).toBe(true);
    // Class tokens renamed (yW becoming yW-<hash>): the cell is the participant's ancestor right inside the td,
    // not the td, whose screen-reader text comes first.
    expect(rowListsRecipients(rowOf(captured(`宛先： ${people}`).replace('class="yW"', 'class="yW-h4sh"')))).toBe(true);
    expect(rowListsRecipients(rowOf(captured(people, "To:").replace('class="yW"', 'class="yW-h4sh"')))).toBe(false);
    // Senders, the latest last, and their count: no prefix.
    expect(rowListsRecipients(rowOf(captured(`${wrapped("me@x.example", "me")}, ${people} <span class="bx0">3</span>`)))).toBe(false);
  });

  it("a row's count: span.bx0's bare number or (N); a broader fallback's text only with parentheses", () => {
    const rowOf = (cell: string) => {
      document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="yX">${cell}</td></tr></tbody></table>`;
      return queryAll(document, "threadRow")[0] as Element;
    };
    expect(rowMessageCount(rowOf(`<div class="yW"><span email="a@x.example">a</span> <span class="bx0">(3)</span></div>`))).toBe(3);
    expect(rowMessageCount(rowOf(`<div class="yW"><span email="a@x.example">a</span> <span class="bx0">12</span></div>`))).toBe(12);
    expect(rowMessageCount(rowOf(`<div class="yW"><span email="a@x.example">a</span></div>`))).toBeNull();
    expect(rowMessageCount(rowOf(`<div><span email="a@x.example">Agent 007</span></div>`))).toBeNull();
    expect(rowMessageCount(rowOf(`<div><span email="a@x.example">a</span> (4)</div>`))).toBe(4);
  });

  it("a row's latest message id skips a draft saved in the thread (data-legacy-last-non-draft-message-id first)", () => {
    document.body.innerHTML = `<table><tbody><tr class="zA" role="row"><td class="a4W"><span class="bog"><span data-thread-id="#thread-f:${DECIMAL}"
      data-legacy-thread-id="16f4d7c2a0b00001" data-legacy-last-message-id="16f4d7c2a0b000ff" data-legacy-last-non-draft-message-id="16f4d7c2a0b00007">Hi</span></span></td></tr></tbody></table>`;
    const [row] = queryAll(document, "threadRow") as [Element];
    expect(rowLastMessageId(row)).toBe("16f4d7c2a0b00007");
    row.querySelector("[data-legacy-last-non-draft-message-id]")?.removeAttribute("data-legacy-last-non-draft-message-id");
    expect(rowLastMessageId(row)).toBe("16f4d7c2a0b000ff");
  });

  it("the opened conversation's thread id, legacy hex preferred, thread-f converted", () => {
    document.body.innerHTML = `<h2 class="hP" data-thread-perm-id="thread-f:${DECIMAL}" data-legacy-thread-id="16f4d7c2a0b00001">S</h2>`;
    expect(conversationThreadId(document)).toBe("16f4d7c2a0b00001");
    document.body.innerHTML = `<h2 class="hP-h4sh" data-thread-perm-id="#thread-f:${DECIMAL}">S</h2>`;
    expect(conversationThreadId(document)).toBe("16f4d7c2a0b00001");
    // Gmail's "undefined" where it has no id (InboxSDK, 2025-11) is no thread id.
    document.body.innerHTML = `<h2 class="hP" data-thread-perm-id="undefined">S</h2>`;
    expect(conversationThreadId(document)).toBeNull();
  });

  it("converts thread-f ids to the legacy hex Gmail uses in its URLs", () => {
    expect(legacyThreadId(`thread-f:${BigInt("0x16f4d7c2a0b00001")}`)).toBe("16f4d7c2a0b00001");
    expect(legacyThreadId("#16f4d7c2a0b00001")).toBe("16f4d7c2a0b00001");
    expect(legacyThreadId("thread-a:r-123")).toBeNull();
    expect(gmailThreadUrl("16f4")).toBe("https://mail.google.com/mail/u/0/#all/16f4");
    expect(gmailThreadUrl(null)).toBe("https://mail.google.com/mail/u/0/#sent");
  });
});

describe("Gmail's health: which parts the extension recognises", () => {
  it("says ok for what it reads, missing for what Gmail shows but it cannot read, unseen for what is not on screen", () => {
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "early");
    document.body.innerHTML = `<div role="main"></div>`;
    expect(recogniseGmail(document)).toEqual({
      compose: "unseen",
      send: "unseen",
      recipients: "unseen",
      sentRows: "unseen",
      rowIds: "unseen",
      threadLists: "unseen",
      conversation: "unseen",
      senders: "unseen",
      undoNotice: "unseen",
      sendAnswer: "unseen",
      pageScript: "ok",
    });
    // Gmail's answer to a send, as the compose tracking last read it (compose-tracking.ts markSendAnswer).
    document.documentElement.setAttribute("data-mt-send-answer", "missing");
    expect(healthSentences(recogniseGmail(document))).toEqual([
      "Replies to the emails you send are not noticed, and their Sent marks may be missing: Mailtracker cannot read Gmail's answer to a send.",
    ]);
    document.documentElement.setAttribute("data-mt-send-answer", "ok");
    expect(recogniseGmail(document).sendAnswer).toBe("ok");
    document.documentElement.removeAttribute("data-mt-send-answer");
    // Today's compose with a chip, a Sent list with ids.
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to"><div role="option" data-hovercard-id="a@x.example">a@x.example</div></div>
      <div contenteditable="true" g_editable="true" role="textbox"></div>
      <table class="IZ"><tr><td class="gU Up"><div class="dC"><div role="button" class="aoO">Senden</div><div role="button" aria-haspopup="true">▾</div></div></td></tr></table></div></div>
      <div role="main"><table><tr class="zA" role="row"><td><span class="bog"><span data-thread-id="#thread-f:1">S</span></span></td></tr></table></div>`;
    expect(recogniseGmail(document)).toMatchObject({ compose: "ok", send: "ok", recipients: "ok", sentRows: "ok", rowIds: "ok" });
    // Gmail changed its send button and chips, and its rows lost their ids.
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to"><div class="chip2">a@x.example</div></div>
      <div contenteditable="true" g_editable="true" role="textbox"></div><div role="button" class="zQ2">Send</div></div></div>
      <div role="main"><table><tr class="zA" role="row"><td><span class="bog">S</span></td></tr></table></div>`;
    const parts = recogniseGmail(document);
    expect(parts).toMatchObject({ compose: "ok", send: "missing", recipients: "missing", sentRows: "ok", rowIds: "missing" });
    expect(healthSentences(parts)).toEqual([
      "Sending is not tracked: Gmail changed its Send button.",
      "Recipients are not read while you write: Gmail changed its recipient chips (they are read from the sent email instead).",
      "Sent marks are off: Gmail's rows no longer say which thread they show.",
    ]);
    // The toolbar button says so at once, in the same words; and goes back to the extension's title when all is well.
    expect(toolbarHealth(healthSentences(parts), "Mailtracker")).toEqual({
      text: "!",
      title:
        "Mailtracker: Sending is not tracked: Gmail changed its Send button. Recipients are not read while you write: Gmail changed its recipient chips (they are read from the sent email instead). Sent marks are off: Gmail's rows no longer say which thread they show.",
    });
    expect(toolbarHealth(healthSentences({ ...parts, send: "ok", recipients: "unseen", rowIds: "ok" }), "Mailtracker")).toEqual({
      text: "",
      title: "Mailtracker",
    });
    // Chips as today's show them, with the contact's name and no address in their text (InboxSDK get-recipients.ts at
    // a8a6fe2), whose attributes Gmail renamed: still an option of the field's list, so still seen as unread.
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to"><div role="option" data-contact-ref="x1"><span>Dana Scully</span></div></div>
      <div contenteditable="true" g_editable="true" role="textbox"></div></div></div>`;
    expect(unreadRecipientsShown(document)).toBe(true);
    expect(recogniseGmail(document).recipients).toBe("missing");
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to"><input aria-label="To"></div>
      <div contenteditable="true" g_editable="true" role="textbox"></div></div></div>`;
    expect(unreadRecipientsShown(document)).toBe(false);
    expect(recogniseGmail(document).recipients).toBe("unseen");
    // Gmail's chip for a mistyped address is read, though what it holds is no address: nothing unread is shown.
    document.body.innerHTML = `<div role="dialog"><div class="M9"><div name="to"><div role="option" data-hovercard-id="dana@">dana@</div></div>
      <div contenteditable="true" g_editable="true" role="textbox"></div></div></div>`;
    expect(unreadRecipientsShown(document)).toBe(false);
    // An opened conversation whose messages lost the attribute that marks them: its subject and bodies still show it.
    document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d4e5f6">Pricing</h2>
      <div class="adn"><div class="ii gt"><div class="a3s">Hi</div></div></div></div>`;
    expect(recogniseGmail(document).conversation).toBe("missing");
    expect(healthSentences(recogniseGmail(document))).toEqual(["The tracking panel is off: Gmail changed its conversation view."]);
    // A list Gmail renders with rows the selectors no longer know.
    document.body.innerHTML = `<div role="main"><table><tr class="zA-h4sh"><td>row</td></tr></table></div>`;
    expect(recogniseGmail(document).sentRows).toBe("missing");
    expect(healthSentences(recogniseGmail(document))).toEqual(["Sent marks are off: Gmail changed its rows."]);
  });

  it("says replies and bounces go unnoticed when not one message's sender can be read", () => {
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "early");
    const sentence = "Replies and bounces are not noticed: Gmail changed how it shows who wrote each message.";
    // A conversation as Gmail shows it (gmail.md: h3.iw span.gD[email] in each message's header)…
    const conversation = (sender: string) => `<div role="main"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d4e5f6">Pricing</h2>
      <div class="adn" data-message-id="#msg-f:1">${sender}<div class="ii gt"><div class="a3s">Hi</div></div></div>
      <div class="adn" data-message-id="#msg-f:2"><h3 class="iw"><span class="gD">Carol</span></h3><div class="ii gt"><div class="a3s">Re</div></div></div></div>`;
    document.body.innerHTML = conversation('<h3 class="iw"><span class="gD" email="me@example.com" name="Me">Me</span></h3>');
    expect(recogniseGmail(document).senders).toBe("ok");
    // …and with its senders' addresses gone from every message: nobody's reply can be told from the rep's.
    document.body.innerHTML = conversation('<h3 class="iw"><span class="gD" data-hovercard-id="me@example.com">Me</span></h3>');
    expect(recogniseGmail(document).senders).toBe("missing");
    expect(healthSentences(recogniseGmail(document))).toEqual([sentence]);
    // A list is not judged: a row of drafts alone shows a draft marker where other rows show people, and no address
    // (`td div.yW .boq`: InboxSDK gmail-thread-row-view.ts getCounts, 2025-07-24).
    document.body.innerHTML = `<div role="main"><table><tr class="zA" role="row"><td><div class="yW"><span class="boq">Draft</span></div></td>
      <td><span class="bog"><span data-thread-id="#thread-f:1">S</span></span></td></tr></table></div>`;
    expect(recogniseGmail(document)).toMatchObject({ rowIds: "ok", senders: "unseen" });
  });

  it("says replies wait for their conversation when rows name no message and no list of Gmail's was read", () => {
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "early");
    document.documentElement.removeAttribute(LISTS_READ_ATTRIBUTE);
    const row = (ids: string) =>
      `<tr class="zA" role="row"><td><span class="bog"><span data-thread-id="#thread-f:1"${ids}>S</span></span></td></tr>`;
    const list = (...rows: string[]) => `<div role="main"><table>${rows.join("")}</table></div>`;
    // Rows as the 2025-11 dump shows them, data-thread-id alone, and no list's data read: replies there go unnoticed.
    document.body.innerHTML = list(row(""), row(""));
    expect(recogniseGmail(document).threadLists).toBe("missing");
    expect(healthSentences(recogniseGmail(document))).toEqual([
      "Some replies are noticed only when you open them: Mailtracker cannot read Gmail's lists of emails.",
    ]);
    // A page-world script that started late missed the page's first list: the rep is told to reload, not this.
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "late");
    expect(recogniseGmail(document)).toMatchObject({ threadLists: "unseen", pageScript: "missing" });
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "early");
    // A row that names its latest message gives its reply itself: nothing to say.
    document.body.innerHTML = list(row(""), row(' data-legacy-last-message-id="18f7a1b2c3d4e5f6"'));
    expect(recogniseGmail(document).threadLists).toBe("unseen");
    // Once a list's data was read on this page, the rows' replies come from it.
    document.body.innerHTML = list(row(""));
    document.documentElement.setAttribute(LISTS_READ_ATTRIBUTE, "");
    expect(recogniseGmail(document).threadLists).toBe("ok");
    document.documentElement.removeAttribute(LISTS_READ_ATTRIBUTE);
  });

  it("says to reload a tab whose page-world script started after Gmail's, or never ran", () => {
    const sentRow = `<div role="main"><table><tr class="zA" role="row"><td><span class="bog"><span data-thread-id="#thread-f:1" data-legacy-last-message-id="18f7a1b2c3d4e5f6">S</span></span></td></tr></table></div>`;
    const reload = "Reload this Gmail tab: Mailtracker started after Gmail did, so your own views of tracked emails may count as opens.";
    // A page where no script has run yet (document_start): early. One whose scripts ran already: late.
    for (const [state, scripts, mark] of [
      ["loading", "", "early"],
      ["loading", "<script></script>", "late"],
      ["complete", "", "late"],
    ] as const) {
      const page = new Window({ url: "https://mail.google.com/mail/u/0/" }).document;
      Object.defineProperty(page, "readyState", { value: state });
      page.head.innerHTML = scripts;
      markPageWorldStart(page as unknown as Document);
      expect(page.documentElement.getAttribute(PAGE_WORLD_ATTRIBUTE)).toBe(mark);
    }
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "late");
    document.body.innerHTML = `<div role="main"></div>`;
    expect(healthSentences(recogniseGmail(document))).toEqual([reload]);
    // No mark at all: judged only once Gmail shows something the extension looks for (the script may still be starting).
    document.documentElement.removeAttribute(PAGE_WORLD_ATTRIBUTE);
    expect(recogniseGmail(document).pageScript).toBe("unseen");
    document.body.innerHTML = sentRow;
    expect(healthSentences(recogniseGmail(document))).toEqual([reload]);
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "early");
    expect(healthSentences(recogniseGmail(document))).toEqual([]);
  });

  it('just after a send, tells Gmail\'s "Message sent" notice with its ids from one that lost them', () => {
    document.documentElement.setAttribute(PAGE_WORLD_ATTRIBUTE, "early");
    // Gmail's notice bar (InboxSDK gmail-butter-bar-driver.ts, 2023-09-11) with one notice; its links as Meru reads
    // and clicks them (apps/mail.ts, 2026-01-28). "Sending…" without a link is assumed, not captured (docs/gmail.md).
    const notice = (text: string, links: string) =>
      `<div class="b8" role="alert"><div class="vh"><span class="aT"><span class="bAq">${text}</span><span class="bAo">${links}</span></span></div></div>`;
    const sent = '<span id="link_undo" role="link">Undo</span><span id="link_vsm" role="link">View message</span>';
    document.body.innerHTML = notice("Message sent", sent);
    expect(recogniseGmail(document, true).undoNotice).toBe("ok");
    // Not just after a send: whatever the notice, it is not judged.
    expect(recogniseGmail(document, false).undoNotice).toBe("unseen");
    // "Sending…" has no link yet; an archive's notice offers Undo by the same id: neither says anything of the send's.
    document.body.innerHTML = notice("Sending…", "");
    expect(recogniseGmail(document, true).undoNotice).toBe("unseen");
    document.body.innerHTML = notice("Conversation archived.", '<span id="link_undo" role="link">Undo</span>');
    expect(recogniseGmail(document, true).undoNotice).toBe("unseen");
    // The same notice with its ids renamed: an Undo there would go unseen, and the rep is told.
    document.body.innerHTML = notice("Message sent", sent.replaceAll("link_", "lnk_"));
    const parts = recogniseGmail(document, true);
    expect(parts.undoNotice).toBe("missing");
    expect(healthSentences(parts)).toEqual([
      'Undo Send is not followed: Gmail changed its "Message sent" notice, so an email you take back with Undo stays tracked as sent.',
    ]);
  });

  it("the popup tells to reload a Gmail tab in front that never reported, and otherwise speaks of the tab that did", () => {
    const report = { tabId: 7, url: "https://mail.google.com/mail/u/0/", at: 0, parts: { ...ALL_OK, send: "missing" as const } };
    const sendSentence = "Sending is not tracked: Gmail changed its Send button.";
    const recognised = [
      "compose",
      "recipients",
      "sentRows",
      "rowIds",
      "threadLists",
      "conversation",
      "senders",
      "undoNotice",
      "sendAnswer",
      "pageScript",
    ];
    // Gmail in front, with its own report: that report.
    expect(popupHealth({ ...report, front: true }, true, true)).toEqual({ sentences: [sendSentence], recognised, front: true });
    // Gmail in front, and only another tab reported (or none): this tab has no content script, so reload it.
    const reload = { sentences: [NOT_RUNNING_SENTENCE], recognised: [], front: true };
    expect(popupHealth({ ...report, front: false }, true, true)).toEqual(reload);
    expect(popupHealth(null, true, true)).toEqual(reload);
    expect(NOT_RUNNING_SENTENCE).toMatch(/^Reload this Gmail tab/);
    // Another site in front: the Gmail tab used last, or nothing.
    expect(popupHealth({ ...report, front: false }, false, true)).toEqual({ sentences: [sendSentence], recognised, front: false });
    expect(popupHealth(null, false, true)).toBeNull();
  });

  it("without access to Gmail, the popup says that nothing is tracked, whatever a tab reported before", () => {
    const withdrawn = { sentences: [NO_GMAIL_ACCESS_SENTENCE], recognised: [], front: true };
    const report = { tabId: 7, url: "https://mail.google.com/mail/u/0/", at: 0, parts: ALL_OK };
    // The tab in front shows no address without access, so it is never known to be Gmail's.
    expect(popupHealth({ ...report, front: false }, false, false)).toEqual(withdrawn);
    expect(popupHealth({ ...report, front: true }, true, false)).toEqual(withdrawn);
    expect(popupHealth(null, false, false)).toEqual(withdrawn);
    expect(toolbarHealth([NO_GMAIL_ACCESS_SENTENCE], "Mailtracker")).toEqual({
      text: "!",
      title:
        "Mailtracker: Nothing you send is tracked: Mailtracker's access to Gmail (mail.google.com) is turned off in the browser's extension settings.",
    });
  });

  it("the background trusts only well-formed reports", () => {
    const parts = ALL_OK;
    expect(parseHealth(parts)).not.toBeNull();
    expect(parseHealth({ compose: "ok" })).toBeNull();
    expect(parseHealth({ ...parts, compose: "broken" })).toBeNull();
    expect(parseHealth("ok")).toBeNull();
  });
});
