// @vitest-environment happy-dom
// The sender's views reported to the tracker, on a conversation test page built from gmail.md's attributes (its
// thread id on `h2.hP`, each body's pixel already neutralised by the page-world guard: `img[data-mt-pixel-id]`):
// a view is reported a quarter of a second after it is seen, the same views not again while the last report still
// covers them, a conversation that stays on screen not again at all (Gmail loads its images once) (the tracker's sender window, SENDER_WINDOW_MS in shared/labels.ts), and a report that failed at the next sighting.
import { afterEach, describe, expect, it, vi } from "vitest";

const callFromGmail = vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
  return vi.fn(async (_type: string, _input: { messageIds: string[]; threadIds: string[] }): Promise<unknown> => ({ recorded: 1 }));
});
vi.mock("../../messaging", () => ({ callFromGmail }));

import { DEFAULT_OPTIONS } from "../../options-store";
import { emitPageEvent } from "../../page-world/events";
import { senderPixels } from "./sender-pixels";
import { sentViewsReport } from "./sent-views-report";

const ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
const OTHER = "a2b3c4d5e6f7g2h4.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
const THREAD = "18f7a1b2c3d4e5f6";

/**
 * Gmail drawing the conversation (again): new elements, the same messages, with the page-world guard's event for
 * the pixel it neutralised on the way in (which it sends a task later).
 */
function render(): void {
  document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="${THREAD}">Pricing</h2>
    <div class="adn" data-message-id="#msg-f:1"><div class="ii gt"><div class="a3s">Hi<img data-mt-pixel-id="${ID}"></div></div></div></div>`;
  setTimeout(() => emitPageEvent(document, "mt:pixels-neutralised", [ID]), 0);
}

const started: AbortController[] = [];

function start(): void {
  const controller = new AbortController();
  started.push(controller);
  const context = { options: { ...DEFAULT_OPTIONS, trackerUrl: "https://t.example" } };
  senderPixels.init(controller.signal, context);
  sentViewsReport.init(controller.signal, context);
}

describe("sent views report", () => {
  afterEach(() => {
    for (const controller of started.splice(0)) controller.abort();
    callFromGmail.mockClear();
    document.body.innerHTML = "";
    vi.useRealTimers();
  });

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

  it("a conversation that stays on screen is not reported again: a reader's open through Gmail's proxy meanwhile stays a reader's", async () => {
    vi.useFakeTimers();
    render();
    start();
    await vi.advanceTimersByTimeAsync(300);
    expect(callFromGmail).toHaveBeenCalledTimes(1);
    // Ten minutes with the thread open and nothing drawn: no report, so none within the tracker's sender window of
    // a recipient opening the email meanwhile.
    await vi.advanceTimersByTimeAsync(10 * 60_000);
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
