// @vitest-environment happy-dom
// The compose's "Remind me" control: what the rep sees of the reminder the background keeps (or refuses).
import { afterEach, describe, expect, it, vi } from "vitest";

const callFromGmail = vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
  return vi.fn(async (_type: string, _input: unknown): Promise<unknown> => undefined);
});
vi.mock("../../messaging", async (importOriginal) => ({ ...(await importOriginal<typeof import("../../messaging")>()), callFromGmail }));

import { stoppedAfterEach } from "../../../../test/stopped-after-each";
import { pickDays } from "../../options-store";
import { REP_OPTIONS } from "../../options-store.test-support";
import { followUpReminder } from "./follow-up-reminder";

afterEach(() => {
  document.body.innerHTML = "";
  callFromGmail.mockReset();
});
/** The runs of the feature a test started, stopped before the afterEach above clears the page and the mock. */
const running = stoppedAfterEach<AbortController>((controller) => controller.abort());

/**
 * The control on a compose toolbar of `toolbarHtml`, with the background's handler (follow-ups.ts remindIfNoReply)
 * stood in for: null turns the reminder off, other days must be 1 to 365 whole. `kept`: what it kept, in order.
 */
function reminderControl(toolbarHtml: string) {
  const kept: (number | null)[] = [];
  callFromGmail.mockImplementation(async (_type, input) => {
    const { days } = input as { days: number | null };
    if (days !== null && pickDays(days) === undefined) throw new Error("a reminder waits 1 to 365 days");
    kept.push(days);
    return { reminder: null };
  });
  document.body.innerHTML = toolbarHtml;
  followUpReminder.init(running(new AbortController()).signal, { options: REP_OPTIONS });
  return {
    kept,
    toolbar: document.querySelector(".mt-toolbar") as HTMLElement,
    button: document.querySelector(".mt-toggle-remind") as HTMLButtonElement,
    days: document.querySelector(".mt-remind-days") as HTMLInputElement,
  };
}

describe("follow-up reminder control", () => {
  it("days the background cannot keep (2.5) are said on the control, not taken as the reminder turned off", async () => {
    const { kept, button, days } = reminderControl(
      `<div class="mt-toolbar" data-mt-tracking-id="t1"><button class="mt-toggle mt-toggle-open">Opens</button><span class="mt-status"></span></div>`,
    );
    button.click();
    await vi.waitFor(() => expect(kept).toEqual([3]));
    days.value = "2.5";
    days.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(document.querySelector(".mt-remind")?.textContent).toContain("not kept: a reminder waits 1 to 365 days"));
    // The reminder of 3 days was not dropped behind a control that still shows it on.
    expect(kept).toEqual([3]);
    expect(button.getAttribute("aria-pressed")).toBe("true");
    expect(button.title).toBe("The reminder was not kept: a reminder waits 1 to 365 days");
    // Whole days again: kept, and said so.
    days.value = "5";
    days.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(kept).toEqual([3, 5]));
    expect(document.querySelector(".mt-remind")?.textContent).not.toContain("not kept");
  });

  it("while the email would go out untracked it shows no reminder and keeps none; the rep's days and what the background said of them come back", async () => {
    const { kept, toolbar, button, days } = reminderControl(
      `<div class="mt-toolbar" data-mt-tracking-id="t1"><span class="mt-status"></span></div>`,
    );
    const note = document.querySelector(".mt-remind-note") as HTMLElement;
    const shown = () => [button.getAttribute("aria-pressed"), button.disabled, days.disabled, days.hidden, note.hidden];
    button.click();
    await vi.waitFor(() => expect(kept).toEqual([3]));
    days.value = "2.5";
    days.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(note.textContent).toBe("days without reply: not kept: a reminder waits 1 to 365 days"));

    // compose-tracking.ts: the email would go out untracked, and why.
    toolbar.setAttribute("data-mt-untracked", "Plain text mode: this email is not tracked");
    await vi.waitFor(() => expect(kept).toEqual([3, null]));
    expect(shown()).toEqual(["false", true, true, true, true]);
    expect(button.title).toBe("No reminder: Plain text mode: this email is not tracked");
    // Another reason, still untracked: nothing more to keep.
    toolbar.setAttribute("data-mt-untracked", "this email is not tracked (Opens and Clicks are off)");
    await vi.waitFor(() => expect(button.title).toBe("No reminder: this email is not tracked (Opens and Clicks are off)"));

    toolbar.removeAttribute("data-mt-untracked");
    await vi.waitFor(() => expect(button.title).toBe("The reminder was not kept: a reminder waits 1 to 365 days"));
    expect([shown(), days.value, kept]).toEqual([["true", false, false, false, false], "2.5", [3, null]]);
    expect(note.textContent).toBe("days without reply: not kept: a reminder waits 1 to 365 days");
  });
});
