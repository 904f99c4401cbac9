// @vitest-environment happy-dom
// The notices the content script shows once a compose is gone: each one readable, however many come at once.
import { afterEach, describe, expect, it, vi } from "vitest";
import { ensureStyle, toast } from "./ui";

afterEach(() => {
  vi.useRealTimers();
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
