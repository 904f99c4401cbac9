// @vitest-environment happy-dom
// What the rep is told when Gmail reports a send without our tracking id (the page-world sync hook's
// "mt:gmail-sent-untracked"): a compose the extension never recognised, with tracking on by default, is news the rep
// must hear at once; a compose it knew and that was not to be tracked went out as its toolbar said.
import { afterEach, describe, expect, it, vi } from "vitest";

const TRACKING_ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";

const callFromGmail = vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
  // Not connected unless a test says so: every call to the background fails, as before the rep connects a tracker.
  return vi.fn(async (_type: string, _input: unknown): Promise<unknown> => {
    throw new Error("not connected to a tracker yet");
  });
});
vi.mock("../../messaging", () => ({ callFromGmail }));

import { DEFAULT_OPTIONS, type Options } from "../../options-store";
import { emitPageEvent } from "../../page-world/events";
import { composeTracking } from "./compose-tracking";

const started: AbortController[] = [];

function start(options: Options = DEFAULT_OPTIONS): void {
  const controller = new AbortController();
  started.push(controller);
  composeTracking.init(controller.signal, { options });
}

function sentUntracked(subject: string): void {
  emitPageEvent(document, "mt:gmail-sent-untracked", [{ messageId: "18f7a1b2c3d4e5f6", subject, recipients: [], scheduled: false }]);
}

const toasts = () => [...document.querySelectorAll(".mt-toast")].map((toast) => toast.textContent ?? "");
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("compose tracking: a send Gmail reports untracked", () => {
  afterEach(() => {
    for (const controller of started.splice(0)) controller.abort();
    document.body.innerHTML = "";
  });

  it("from a compose the extension never recognised, with tracking on by default: the rep is told at once", async () => {
    start();
    sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([
      expect.stringContaining('"Pricing for Q3" went out untracked: the extension did not recognise its compose window'),
    ]);
  });

  it("with tracking off by default: nothing was to be tracked, nothing is said", async () => {
    start({ ...DEFAULT_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false });
    sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([]);
  });

  it("from a compose the extension knew, closed while it was not to be tracked: nothing is said", async () => {
    // A compose as compose-dialog-2020-10.html has it (the root, the subject, the body), in a tab not connected yet,
    // so its toolbar says it is not tracked.
    document.body.innerHTML = `<div role="dialog"><div class="M9"><input name="subjectbox" value="Pricing for Q3">
      <div contenteditable="true" g_editable="true" role="textbox"></div></div></div>`;
    start();
    await flush();
    document.body.innerHTML = "";
    await flush();
    sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([]);
  });
});

describe("compose tracking: recipients the compose could not read", () => {
  afterEach(() => {
    for (const controller of started.splice(0)) controller.abort();
    document.body.innerHTML = "";
    callFromGmail.mockReset();
  });

  it("checks the exclusions against Gmail's send request, and registers an excluded recipient's email untracked", async () => {
    callFromGmail.mockImplementation(async (type: string) => {
      if (type === "mintId") return { trackingId: TRACKING_ID, trackerUrl: "https://t.example" };
      if (type === "signLinks") return [];
      return { queued: true };
    });
    // Today's chip shows the contact's name; this one's attributes are renamed, so no address is read from it.
    document.body.innerHTML = `<div role="dialog"><div class="M9"><input name="subjectbox" value="Intro">
      <div name="to"><div role="option" class="afV"><span class="afX">Dana</span></div></div>
      <div contenteditable="true" g_editable="true" role="textbox">Hi Dana</div>
      <table class="IZ"><tbody><tr><td class="gU Up"><div role="button" class="aoO" data-tooltip="Send">Send</div></td></tr></tbody></table>
    </div></div>`;
    start({ ...DEFAULT_OPTIONS, excludedRecipientDomains: ["partner.example"] });
    await vi.waitFor(() =>
      expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toMatch(/^Recipients not recognised/),
    );
    const send = document.querySelector("div.aoO") as HTMLElement;
    send.dispatchEvent(new MouseEvent("mouseup", { bubbles: true, button: 0 }));
    emitPageEvent(document, "mt:gmail-sent", [
      {
        trackingIds: [TRACKING_ID],
        threadId: "thread-f:1",
        messageId: "msg-f:1",
        legacyThreadId: "18f7a1b2c3d4e5f6",
        legacyMessageId: "18f7a1b2c3d4e5f6",
        recipients: [{ email: "dana@partner.example", name: "Dana" }],
        scheduled: false,
        scheduledAt: null,
      },
    ]);
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as { request: Record<string, unknown> };
    expect(registered.request).toMatchObject({
      recipients: [{ email: "dana@partner.example", name: "Dana" }],
      openTracking: false,
      clickTracking: false,
    });
  });
});
