// @vitest-environment happy-dom
// The notices the content script shows once a compose is gone: each one readable, however many come at once.
import { afterEach, describe, expect, it, vi } from "vitest";

/** The messages the content script sent the background (runtime.sendMessage), which answers each. */
const sent = vi.hoisted(() => {
  const messages: unknown[] = [];
  (globalThis as { chrome?: unknown }).chrome = {
    runtime: {
      id: "unit-test",
      sendMessage: async (message: unknown) => {
        messages.push(message);
        return { ok: true, value: { shown: true } };
      },
    },
  };
  return messages;
});

import { ensureStyle, removeEarlierCopyDrawing, toast } from "./ui";

afterEach(() => {
  vi.useRealTimers();
  document.head.innerHTML = "";
  document.body.innerHTML = "";
});

describe("toasts", () => {
  it("two at once are stacked one above the other in a single fixed holder, not drawn over each other, and each leaves on its own", () => {
    vi.useFakeTimers();
    ensureStyle(document); // as every run of the content script does (sent-list-marks.ts)
    toast(document, 'Mailtracker: "Pricing": 1 link(s) not tracked');
    vi.advanceTimersByTime(1000);
    toast(document, 'Mailtracker: "Intro": Not tracked: lee@partner.example is at an excluded domain');
    const shown = () => [...document.querySelectorAll(".mt-toast")];
    const [first, second] = shown();
    expect(first?.parentElement).toBe(second?.parentElement);
    const holder = first?.parentElement as HTMLElement;
    expect(getComputedStyle(holder).position).toBe("fixed");
    expect(getComputedStyle(holder).display).toBe("grid");
    // Above Gmail's "Message sent" notice at the bottom left, and never in the way of a click on its Undo.
    expect(Number.parseInt(getComputedStyle(holder).bottom, 10)).toBeGreaterThanOrEqual(96);
    expect(getComputedStyle(holder).pointerEvents).toBe("none");
    // Each in its own row of the holder's grid, none positioned on its own over the other.
    const placedAlone = (element: Element) => ["fixed", "absolute"].includes(getComputedStyle(element).position);
    expect(shown().map(placedAlone)).toEqual([false, false]);
    expect(shown().map((t) => t.textContent)).toEqual([
      'Mailtracker: "Pricing": 1 link(s) not tracked',
      'Mailtracker: "Intro": Not tracked: lee@partner.example is at an excluded domain',
    ]);
    vi.advanceTimersByTime(7000);
    expect(shown().map((t) => t.textContent)).toEqual(['Mailtracker: "Intro": Not tracked: lee@partner.example is at an excluded domain']);
    vi.advanceTimersByTime(1000);
    expect(shown()).toEqual([]);
  });
});

describe("a notice said while the Gmail tab is hidden", () => {
  it("is shown on the desktop too, by the background, and drawn in the page as ever; a visible tab's stays in the page", async () => {
    let hidden = false;
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    try {
      toast(document, 'Mailtracker: "Pricing": Not tracked: lee@partner.example is at an excluded domain');
      expect(sent).toEqual([]);
      // The rep went to another tab while the compose's send was confirmed, or not: 60 s after it closed.
      hidden = true;
      const text = `Mailtracker: "Quote" tracked, but Gmail's confirmation of the send was not seen: replies are not seen, and its Sent mark may not show`;
      toast(document, text);
      expect(sent).toEqual([{ mt: 1, type: "noticeWhileHidden", input: { text } }]);
      expect([...document.querySelectorAll(".mt-toast")].map((t) => t.textContent)).toEqual([
        'Mailtracker: "Pricing": Not tracked: lee@partner.example is at an excluded domain',
        text,
      ]);
    } finally {
      Reflect.deleteProperty(document, "hidden");
    }
  });
});

describe("what an earlier copy of the script drew (Firefox puts the new one into an open Gmail tab on an update)", () => {
  it("is removed, all of it, and nothing of Gmail's or of the emails' own", () => {
    document.head.innerHTML = `<style id="mt-style">.mt-toolbar{color:red}</style><style id="gmail">.gU{}</style>`;
    // A compose whose toolbar sits in a cell of its own beside Send, one whose toolbar stands alone above its body (no
    // Send button found), a Sent row's mark, a conversation's panel under its body, and the notices.
    document.body.innerHTML = `
      <div class="M9"><div contenteditable="true" role="textbox">Hi<div data-mt-optout=""><a href="https://t.example/u/x">Unsubscribe</a></div></div>
        <table><tr><td class="gU Up"><div role="button">Send</div></td><td class="mt-cell"><div class="mt-toolbar"><button class="mt-toggle mt-toggle-open">Opens</button></div></td></tr></table></div>
      <div class="M9"><div class="mt-toolbar"><span class="mt-status">Not tracked</span></div><div contenteditable="true" role="textbox">Hello</div></div>
      <table><tr class="zA"><td><span class="bog"><span class="mt-mark mt-mark-opened">2</span>Pricing</span></td></tr></table>
      <div data-message-id="#msg-f:1"><div class="a3s">Thanks<img src="data:," data-mt-pixel-id="abc"></div><div class="mt-panel"><div class="mt-panel-head">Opened</div></div></div>
      <div id="mt-toasts"><div class="mt-toast">Mailtracker: sent</div></div>`;
    removeEarlierCopyDrawing(document);
    expect(document.querySelectorAll('[class*="mt-"], [id^="mt-"]')).toHaveLength(0);
    // Gmail's own elements stay, and so do what the emails hold: the opt-out link a compose's body carries, a pixel
    // the page-world guard neutralised in a message.
    expect(document.querySelector("style#gmail")).not.toBeNull();
    expect(document.querySelectorAll(".M9 [role=textbox]")).toHaveLength(2);
    expect(document.querySelector("td.gU [role=button]")?.textContent).toBe("Send");
    expect(document.querySelector("[data-mt-optout] a")?.getAttribute("href")).toBe("https://t.example/u/x");
    expect(document.querySelector(".zA .bog")?.textContent).toBe("Pricing");
    expect(document.querySelector(".a3s img[data-mt-pixel-id]")).not.toBeNull();
    // This copy's style sheet goes in afresh, not the earlier copy's.
    ensureStyle(document);
    expect(document.getElementById("mt-style")?.textContent).toContain(".mt-toolbar{display:inline-flex");
  });
});
