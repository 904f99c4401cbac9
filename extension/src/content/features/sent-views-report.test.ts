// @vitest-environment happy-dom
// The sender's views reported to the tracker, on a conversation test page built from gmail.md's attributes (its
// thread id on `h2.hP`, each body's pixel already neutralised by the page-world guard: `img[data-mt-pixel-id]`):
// a view is reported a quarter of a second after it is seen, the same views not again while the last report still
// covers them, a conversation that stays on screen not again at all (Gmail loads its images once) (the tracker's sender window, SENDER_WINDOW_MS in shared/labels.ts), and a report that failed at the next sighting.
// The sender following a tracked link of their own is reported at once, each time, with the link read as Gmail shows
// it (its href, and the copy in data-saferedirecturl).
import { afterEach, describe, expect, it, vi } from "vitest";
import { MINUTE } from "../../../../test/durations";
import { stoppedAfterEach } from "../../../../test/stopped-after-each";

const callFromGmail = vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
  return vi.fn(async (_type: string, _input: { messageIds: string[]; threadIds: string[] }): Promise<unknown> => ({ recorded: 1 }));
});
vi.mock("../../messaging", () => ({ callFromGmail }));

import { DEPLOYED_TRACKER_URL, REP_OPTIONS } from "../../options-store.test-support";
import { emitPageEvent } from "../../page-world/events";
import { senderPixels } from "./sender-pixels";
import { clickedTrackingId, sentViewsReport } from "./sent-views-report";

const ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
const OTHER = "a2b3c4d5e6f7g2h4.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
const THREAD = "18f7a1b2c3d4e5f6";
const TRACKER = DEPLOYED_TRACKER_URL;
const SIGNATURE = "Qm9va2luZ19saW5rX3NpZw";
/** A click link as the send signs it (shared/protocol.ts clickUrl): the rep's booking page behind the tracker. */
const clickLink = (tracker = TRACKER, id = ID) =>
  `${tracker}/c/${id}/0?u=${encodeURIComponent("https://calendly.com/rep/30min?utm_source=mail")}&s=${SIGNATURE}`;
/**
 * Gmail's redirect for a link it shows, `data-saferedirecturl`: the original in `q`, its `%`, `&`, `=` and `+`
 * percent-encoded (InboxSDK's captures, gmail-selectors.ts messageLinkUrls).
 */
const safeRedirect = (url: string) =>
  `https://www.google.com/url?hl=en&q=${url.replace(/[%&=+]/g, encodeURIComponent)}&source=gmail&ust=1519779780972000&usg=AFQjCNGHpieLQyToWaupDKnm9UbkGAa5Qg`;

/**
 * Gmail drawing the conversation (again): new elements, the same messages, with the page-world guard's event for
 * the pixel it neutralised on the way in (which it sends a task later).
 */
function render(): void {
  document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="${THREAD}">Pricing</h2>
    <div class="adn" data-message-id="#msg-f:1"><div class="ii gt"><div class="a3s">Hi<img data-mt-pixel-id="${ID}"></div></div></div></div>`;
  setTimeout(() => emitPageEvent(document, "mt:pixels-neutralised", [ID]), 0);
}

function start(): void {
  const controller = running(new AbortController());
  const context = { options: REP_OPTIONS };
  senderPixels.init(controller.signal, context);
  sentViewsReport.init(controller.signal, context);
}

afterEach(() => {
  callFromGmail.mockClear();
  document.body.innerHTML = "";
  vi.useRealTimers();
});
// The runs a test started, stopped before the afterEach above clears the page and the calls.
const running = stoppedAfterEach<AbortController>((controller) => controller.abort());

describe("sent views report", () => {
  it("reports a conversation once; Gmail drawing it again within 45 s sends nothing more, after 45 s it reports again", async () => {
    vi.useFakeTimers();
    render();
    start();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail.mock.calls).toEqual([["senderViews", { messageIds: [ID], threadIds: [THREAD] }]]);

    // Drawn again twice, and the hash changed: all within the window the first report covers.
    render();
    await vi.advanceTimersByTimeAsync(10_000);
    render();
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(callFromGmail).toHaveBeenCalledTimes(1);

    // 45 s after the report: a new drawing is reported again.
    await vi.advanceTimersByTimeAsync(15_000);
    render();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(2);
    expect(callFromGmail.mock.calls[1]?.[1]).toEqual({ messageIds: [ID], threadIds: [THREAD] });
  });

  it("reports the conversation shown, not an earlier one Gmail keeps hidden in the page", async () => {
    vi.useFakeTimers();
    render();
    // Gmail hides the view it leaves and marks the shown one role=main (gmail-selectors.ts shownView).
    document.body.insertAdjacentHTML(
      "afterbegin",
      `<div class="nH" style="display: none"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d40000">Older</h2>
        <div class="adn" data-message-id="#msg-f:2"><div class="ii gt"><div class="a3s">Earlier<img data-mt-pixel-id="${OTHER}"></div></div></div></div>`,
    );
    start();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail.mock.calls).toEqual([["senderViews", { messageIds: [ID], threadIds: [THREAD] }]]);
  });

  it("a conversation that stays on screen is not reported again: a reader's open through Gmail's proxy meanwhile stays a reader's", async () => {
    vi.useFakeTimers();
    render();
    start();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(1);
    // Ten minutes with the thread open and nothing drawn: no report, so none within the tracker's sender window of
    // a recipient opening the email meanwhile.
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(callFromGmail).toHaveBeenCalledTimes(1);
    // Gmail drawing it again is a render, and is reported.
    render();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(2);
  });

  it("reports a body built off-document, and other views at once", async () => {
    vi.useFakeTimers();
    render();
    start();
    await vi.advanceTimersByTimeAsync(300);
    // A body with another pixel built and never attached (a thread opened in a background tab): a different view.
    emitPageEvent(document, "mt:pixels-neutralised", [OTHER]);
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail.mock.calls.map(([, input]) => input.messageIds)).toEqual([[ID], [ID, OTHER]]);
  });

  it("a report that failed is tried again at the next sighting", async () => {
    vi.useFakeTimers();
    callFromGmail.mockRejectedValueOnce(new Error("cannot reach the tracker"));
    render();
    start();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(1);
    render();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(2);
    // Reported now: the next drawing sends nothing.
    render();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(2);
  });
});

describe("the tracking id a clicked link leads to", () => {
  const link = (attributes: Record<string, string>) => {
    const anchor = document.createElement("a");
    for (const [name, value] of Object.entries(attributes)) anchor.setAttribute(name, value);
    return anchor;
  };
  const trackers = [TRACKER, "https://old-tracker.example"];

  it("reads a click link of the tracker, or of one it was connected to before, from href", () => {
    expect(clickedTrackingId(link({ href: clickLink(), "data-saferedirecturl": safeRedirect(clickLink()) }), trackers)).toBe(ID);
    expect(clickedTrackingId(link({ href: clickLink("https://old-tracker.example", OTHER) }), trackers)).toBe(OTHER);
  });

  it("reads Gmail's copy in data-saferedirecturl when href has become Google's redirect", () => {
    const redirect = safeRedirect(clickLink());
    expect(clickedTrackingId(link({ href: redirect, "data-saferedirecturl": redirect }), trackers)).toBe(ID);
  });

  it("finds nothing in another site's link, nor in another tracker's click link with the same path", () => {
    const site = "https://calendly.com/rep/30min";
    expect(clickedTrackingId(link({ href: site, "data-saferedirecturl": safeRedirect(site) }), trackers)).toBeNull();
    const elsewhere = clickLink("https://tracker.other.example");
    expect(clickedTrackingId(link({ href: elsewhere, "data-saferedirecturl": safeRedirect(elsewhere) }), trackers)).toBeNull();
  });

  it("finds nothing in a malformed link: no id, no destination, an index that is no number, a redirect that is no URL", () => {
    for (const href of [
      `${TRACKER}/c/not-an-id/0?u=https%3A%2F%2Fcalendly.com&s=${SIGNATURE}`,
      `${TRACKER}/c/${ID}/0?s=${SIGNATURE}`,
      `${TRACKER}/c/${ID}/x?u=https%3A%2F%2Fcalendly.com&s=${SIGNATURE}`,
      `${TRACKER}/o/${ID}.gif`,
      "javascript:void(0)",
    ])
      expect(clickedTrackingId(link({ href, "data-saferedirecturl": safeRedirect(href) }), trackers), href).toBeNull();
    expect(clickedTrackingId(link({ href: "#", "data-saferedirecturl": `not a URL ${clickLink()}` }), trackers)).toBeNull();
    expect(clickedTrackingId(link({}), trackers)).toBeNull();
  });
});

describe("the sender following their own tracked link", () => {
  /** The conversation drawn, with the rep's tracked link and another site's link in the body, as Gmail shows links. */
  function renderWithLinks(): { own: HTMLElement; other: HTMLElement } {
    render();
    document.querySelector(".a3s")?.insertAdjacentHTML(
      "beforeend",
      `<a id="own" href="${clickLink()}" target="_blank" data-saferedirecturl="${safeRedirect(clickLink())}"><b>Book a call</b></a>
        <a id="other" href="https://calendly.com/" target="_blank" data-saferedirecturl="${safeRedirect("https://calendly.com/")}">Calendly</a>`,
    );
    return { own: document.getElementById("own") as HTMLElement, other: document.getElementById("other") as HTMLElement };
  }
  /**
   * Dispatches a mouse event on `target`; says whether anything before the link itself had cancelled it. The link then
   * cancels it: happy-dom would otherwise follow a click's link for real.
   */
  const press = (target: Element, type: string, button = 0): { cancelledBeforeLink: boolean } => {
    const result = { cancelledBeforeLink: false };
    const link = target.closest("a") ?? target;
    const atLink = (event: Event) => {
      result.cancelledBeforeLink = event.defaultPrevented;
      event.preventDefault();
    };
    link.addEventListener(type, atLink, { once: true });
    target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, button }));
    link.removeEventListener(type, atLink);
    return result;
  };

  it("reports the link's id at once, right after the render's report, and again at each use: click, middle click, context menu", async () => {
    vi.useFakeTimers();
    const { own, other } = renderWithLinks();
    start();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail.mock.calls).toEqual([["senderViews", { messageIds: [ID], threadIds: [THREAD] }]]);

    // Pressed on the text inside the link, with no timer run: reported in the event itself, not 45 s later.
    const click = press(own.querySelector("b") as Element, "click");
    expect(callFromGmail.mock.calls[1]).toEqual(["senderViews", { messageIds: [ID], threadIds: [] }]);
    expect(click.cancelledBeforeLink).toBe(false);
    press(own, "auxclick", 1);
    press(own, "contextmenu", 2);
    expect(callFromGmail).toHaveBeenCalledTimes(4);

    // A right click's auxclick comes with its context menu, already reported; another site's link is no report.
    press(own, "auxclick", 2);
    press(other, "click");
    press(other, "auxclick", 1);
    expect(callFromGmail).toHaveBeenCalledTimes(4);
  });

  it("reports nothing for a tracked link in a compose's editable body, where a click places the caret", () => {
    const { own } = renderWithLinks();
    start();
    own.parentElement?.setAttribute("contenteditable", "true");
    press(own, "click");
    expect(callFromGmail).not.toHaveBeenCalledWith("senderViews", { messageIds: [ID], threadIds: [] });
  });

  it("is reported though a handler of Gmail's takes the click over on its way down, and not once the feature stopped", () => {
    const { own } = renderWithLinks();
    start();
    // Stopped and cancelled before it reaches the link, as a page that opens the link its own way would.
    const stop = (event: Event) => {
      event.stopPropagation();
      event.preventDefault();
    };
    document.addEventListener("click", stop, { capture: true });
    try {
      press(own, "click");
      expect(callFromGmail).toHaveBeenCalledWith("senderViews", { messageIds: [ID], threadIds: [] });
      callFromGmail.mockClear();
      running.stopNow();
      press(own, "click");
      expect(callFromGmail).not.toHaveBeenCalled();
    } finally {
      document.removeEventListener("click", stop, { capture: true });
    }
  });
});
