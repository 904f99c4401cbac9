// @vitest-environment happy-dom
// What the rep is told when Gmail reports a send without our tracking id (in the request the page-world sync hook
// passes on with Gmail's answer, "mt:gmail-send-answered"): a compose the extension never recognised, with tracking on by default, is news the rep
// must hear at once; a compose it knew and that was not to be tracked went out as its toolbar said. And what Gmail's
// Undo on its "Message sent" notice takes back.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MINUTE } from "../../../../test/durations";
import { stoppedAfterEach } from "../../../../test/stopped-after-each";

const TRACKING_ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
/** The ids Gmail's answer gives a sent message, where a test needs no particular ones. */
const SENT_IDS = { threadId: "thread-f:1", messageId: "msg-f:1", legacyThreadId: "18f7a1b2c3d4e5f6", legacyMessageId: "18f7a1b2c3d4e5f6" };

const callFromGmail = vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
  // Not connected unless a test says so: every call to the background fails, as before the rep connects a tracker.
  return vi.fn(async (_type: string, _input: unknown): Promise<unknown> => {
    throw new Error("not connected to a tracker yet");
  });
});
/**
 * The background's reads of Gmail's answers to sends, made by its own handler (background/gmail-traffic.ts); the next
 * ones fail with `failures` first, as when the background does not answer.
 */
const sendReads = vi.hoisted(() => Object.assign([] as Promise<unknown>[], { failures: [] as Error[] }));
vi.mock("../../messaging", async (importOriginal) => {
  const { runHandler } = await import("../../background/handler");
  const { gmailTrafficHandlers } = await import("../../background/gmail-traffic");
  return {
    ...(await importOriginal<typeof import("../../messaging")>()),
    callFromGmail: (type: string, input: unknown) => {
      if (type !== "readGmailSend") return callFromGmail(type, input);
      const failure = sendReads.failures.shift();
      const read = failure
        ? Promise.reject(failure)
        : runHandler(type, gmailTrafficHandlers.readGmailSend, input, { id: "ext", url: "https://mail.google.com/mail/u/0/" });
      sendReads.push(read);
      return read;
    },
  };
});

import { pixelUrl } from "../../../../shared/protocol";
import { ExtensionReloaded } from "../../messaging";
import type { Options } from "../../options-store";
import { DEPLOYED_TRACKER_URL, REP_OPTIONS } from "../../options-store.test-support";
import { emitPageEvent, type GmailSendAnswered } from "../../page-world/events";
import { gmailSendAnswered } from "../../page-world/sync-answer.test-support";
import { outOfReachNotice } from "../../words";
import { type Feature, SENT_DRAFTS_KEPT, sentDraftIds } from "../feature";
import { removeEarlierCopyDrawing } from "../ui";
import {
  composeOpened,
  composeTracking,
  forgetSends,
  keepEarlierChoices,
  noteSend,
  REOPEN_WAIT_MS,
  UNDO_WINDOW_MS,
  undoLatestSend,
} from "./compose-tracking";
import { followUpReminder } from "./follow-up-reminder";

/** A run of `features`, as the content script starts one (and, when the options change, the next): stopped after the test. */
function start(options: Options = REP_OPTIONS, features: Feature[] = [composeTracking]): AbortController {
  const controller = running(new AbortController());
  for (const feature of features) feature.init(controller.signal, { options });
  return controller;
}

/** Gmail answers a send: the page world passes it on, and the background has read it (readGmailSend) once this returns. */
async function gmailAnswers(answer: GmailSendAnswered): Promise<void> {
  emitPageEvent(document, "mt:gmail-send-answered", answer);
  await Promise.allSettled(sendReads);
}

async function sentUntracked(subject: string): Promise<void> {
  await gmailAnswers(
    gmailSendAnswered([
      { threadId: "thread-f:9", messageId: "msg-f:9", legacyThreadId: "18f7a1b2c3d4e5f6", legacyMessageId: "18f7a1b2c3d4e5f6", subject },
    ]),
  );
}

const toasts = () => [...document.querySelectorAll(".mt-toast")].map((toast) => toast.textContent ?? "");
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A compose dialog as compose-dialog-2020-10.html has it: its root, subject, recipients' chips, body and Send button. */
function composeHtml({
  subject,
  chips = "",
  body = "",
  thread,
  draft,
  plain = false,
  sendAndArchive,
}: {
  subject: string;
  chips?: string;
  body?: string;
  /** The draft's id once Gmail saved it: `#msg-a:r…`, the id Gmail sends it under. */
  draft?: string;
  /** In plain-text mode, its marker shown as in compose-dialog-2020-10.html (`div.aA3`, no `display:none`). */
  plain?: boolean;
  /** A reply's thread: Gmail's sync id in `rt`. */
  thread?: string;
  /**
   * A reply with Gmail's Send & Archive shown, with these classes: before Send, alone in the first of the two
   * `div.J-J5-Ji` around the Send group `div.dC` of compose-dialog-2020-10.html (as gmail-sim.js `send-archive` draws it).
   */
  sendAndArchive?: string;
}): string {
  const send = `<div role="button" class="aoO" data-tooltip="Send">Send</div>`;
  const sendCell =
    sendAndArchive === undefined
      ? send
      : `<div class="J-J5-Ji btA"><div class="J-J5-Ji"><div role="button" class="${sendAndArchive}" data-tooltip="Send &amp; Archive">Send</div></div>
        <div class="dC">${send}<div role="button" class="hG" aria-haspopup="true">▾</div></div><div class="J-J5-Ji"></div></div>`;
  return `<div class="M9"><input name="subjectbox" value="${subject}">${thread ? `<input name="rt" value="${thread}">` : ""}${draft ? `<input name="draft" value="${draft}">` : ""}${plain ? `<div class="J-Z aA3">Currently in plain text mode.</div>` : ""}
      <div name="to">${chips}</div>
      <div contenteditable="true" g_editable="true" role="textbox">${body}</div>
      <table class="IZ" role="group"><tbody><tr><td class="gU Up">${sendCell}</td></tr></tbody></table>
    </div>`;
}

function openDialog(compose: Parameters<typeof composeHtml>[0]): void {
  document.body.innerHTML = `<div role="dialog">${composeHtml(compose)}</div>`;
}

/** The tracker the background mints a compose's id for (handlers.ts mintId): a deployed one, so links are tracked. */
const DEPLOYED = { trackerUrl: DEPLOYED_TRACKER_URL };

/**
 * A connected tab's background: it mints `trackingId`, has signed no link yet, knows no recipient, queues
 * registrations, and keeps a follow-up reminder of `reminderDays` for a send it withdraws.
 */
function backgroundMinting(trackingId: string, reminderDays: number | null = null): void {
  callFromGmail.mockImplementation(async (type: string) => {
    if (type === "mintId") return { trackingId, ...DEPLOYED };
    if (type === "signLinks") return [];
    if (type === "checkRecipients") return { contacts: [] };
    if (type === "messageUnsent") return { reminderDays };
    return { queued: true };
  });
}

/** A compose open in a connected tab, its id minted (backgroundMinting) and shown on its toolbar. */
async function openMinted(compose: Parameters<typeof composeHtml>[0], options = REP_OPTIONS): Promise<void> {
  backgroundMinting(TRACKING_ID);
  openDialog(compose);
  start(options);
  await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(TRACKING_ID));
}

/** The rep clicks Send (the compose tracking listens for the button's mouseup). */
function clickSend(root: ParentNode = document): void {
  root.querySelector('div.aoO[data-tooltip="Send"]')?.dispatchEvent(new MouseEvent("mouseup", { bubbles: true, button: 0 }));
}

afterEach(() => {
  document.body.innerHTML = "";
  document.documentElement.removeAttribute("data-mt-send-answer");
  callFromGmail.mockReset();
  sendReads.failures = [];
  forgetSends();
  vi.useRealTimers();
});
/** The runs a test started (start), stopped before the afterEach above clears the page and the mocks they use. */
const running = stoppedAfterEach<AbortController>((controller) => controller.abort());

describe("compose tracking: a send Gmail reports untracked", () => {
  it("from a compose the extension never recognised, with tracking on by default: the rep is told at once", async () => {
    start();
    await sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([
      expect.stringContaining('"Pricing for Q3" went out untracked: the extension did not recognise its compose window'),
    ]);
  });

  it("with tracking off by default: nothing was to be tracked, nothing is said", async () => {
    start({ ...REP_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false });
    await sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([]);
  });

  it("from a compose the extension knew, closed while it was not to be tracked: nothing is said", async () => {
    // In a tab not connected yet, so its toolbar says it is not tracked.
    openDialog({ subject: "Pricing for Q3" });
    start();
    await flush();
    document.body.innerHTML = "";
    await flush();
    await sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([]);
  });
});

describe("compose tracking: Gmail's answer read after the options changed", () => {
  it("is judged with the composes the next run took over: an open compose of its subject missed its send", async () => {
    await openMinted({ subject: "Pricing for Q3", chips: `<div role="option" data-hovercard-id="dana@acme.example"></div>`, body: "Hi" });
    // Gmail sends an email of that subject without our id, and the options change before the background's read is back.
    const answered = gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, subject: "Pricing for Q3" }]));
    running.stopNow();
    start({ ...REP_OPTIONS, debug: true });
    await answered;
    expect(toasts()).toEqual([expect.stringContaining('"Pricing for Q3" went out untracked: the extension did not recognise the send')]);
  });
});

describe("compose tracking: an extension updated under the page", () => {
  it("a send Gmail answered in a tab cut off from the extension is said to be untracked, with what mends it", async () => {
    start();
    sendReads.failures = [new ExtensionReloaded()];
    await sentUntracked("Pricing for Q3");
    expect(toasts()).toEqual([
      "Mailtracker: this email went out untracked. Mailtracker was updated or reloaded since Gmail opened: reload Gmail to track from this tab.",
    ]);
  });

  it("says the email is not tracked and that reloading Gmail fixes it", async () => {
    callFromGmail.mockRejectedValue(new ExtensionReloaded());
    openDialog({ subject: "Intro", body: "Hi" });
    start();
    await vi.waitFor(() =>
      expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toBe(
        "Not tracked: Mailtracker was updated or reloaded since Gmail opened: reload Gmail to track from this tab",
      ),
    );
  });
});

describe("compose tracking: a compose open while the extension was updated under the page", () => {
  it("sends untracked, with no pixel and no click link, and says so and that reloading Gmail fixes it", async () => {
    await openMinted({ subject: "Intro", body: 'Hi, see <a href="https://shop.example/">the shop</a>' });
    // Chrome cuts the page's copy of the script off: "chrome.runtime.sendMessage() — this threw because
    // chrome.runtime.id was undefined" (dlsudatasci/citepoint issue 119, 2026-06-26, after an extension update; the
    // same in Stack Overflow question 53939205, 2018, which messaging.ts's check follows).
    const runtime = (globalThis as unknown as { chrome: { runtime: { id?: string } } }).chrome.runtime;
    runtime.id = undefined;
    try {
      clickSend();
      const body = document.querySelector("[g_editable]");
      expect(body?.querySelector("img")).toBeNull();
      expect(body?.querySelector("a")?.getAttribute("href")).toBe("https://shop.example/");
      expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toBe(
        "Not tracked: Mailtracker was updated or reloaded since Gmail opened: reload Gmail to track from this tab",
      );
      expect(callFromGmail).not.toHaveBeenCalledWith("messageSent", expect.anything());
    } finally {
      runtime.id = "unit-test";
    }
  });
});

describe("compose tracking: the draft ids of the composes this tab sent (gmail-selectors.ts messageGmailIds)", () => {
  it("are kept at every send, untracked by the rep's choice as well as tracked", async () => {
    backgroundMinting(TRACKING_ID);
    openDialog({ subject: "Untracked", draft: "#msg-a:r8190137112111191001" });
    start({ ...REP_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false });
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(TRACKING_ID));
    clickSend();
    expect(sentDraftIds.has("msg-a:r8190137112111191001")).toBe(true);
    running.stopNow();
    await openMinted({ subject: "Tracked", draft: "#msg-a:r8190137112111191002" });
    clickSend();
    expect(sentDraftIds.has("msg-a:r8190137112111191002")).toBe(true);
  });

  it("keeps the last SENT_DRAFTS_KEPT, not one per send for the tab's life: a send past them drops the oldest", async () => {
    const earlier = Array.from({ length: SENT_DRAFTS_KEPT }, (_, i) => `msg-a:r81901371121111${String(i).padStart(5, "0")}`);
    for (const id of earlier) sentDraftIds.add(id);
    try {
      backgroundMinting(TRACKING_ID);
      openDialog({ subject: "One more", draft: "#msg-a:r8190137112111191003" });
      start({ ...REP_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false });
      await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(TRACKING_ID));
      clickSend();
      expect(sentDraftIds.size).toBe(SENT_DRAFTS_KEPT);
      expect(sentDraftIds.has(earlier[0] ?? "")).toBe(false);
      expect(sentDraftIds.has(earlier[1] ?? "")).toBe(true);
      expect(sentDraftIds.has("msg-a:r8190137112111191003")).toBe(true);
    } finally {
      sentDraftIds.clear();
    }
  });
});

describe("compose tracking: what starts a send", () => {
  it("a click on a formatting button (Underline before Text color's menu) is no send and no schedule; Send is", async () => {
    await openMinted({ subject: "Intro", body: "Hi" });
    // compose-dialog-2020-10.html's formatting toolbar: Underline is a button followed by a menu button, as Send is.
    document.querySelector(".M9")?.insertAdjacentHTML(
      "afterbegin",
      `<div class="formatting"><div role="button" data-tooltip="Bold">B</div><div role="button" data-tooltip="Underline">U</div>
        <div role="button" aria-haspopup="true" data-tooltip="Text color">A</div><div role="button" data-tooltip="Bulleted list">•</div></div>`,
    );
    const pixel = () => document.querySelector("[g_editable] img");
    for (const tooltip of ["Underline", "Text color"]) {
      document.querySelector(`[data-tooltip="${tooltip}"]`)?.dispatchEvent(new MouseEvent("mouseup", { bubbles: true, button: 0 }));
      expect(pixel(), tooltip).toBeNull();
    }
    clickSend();
    expect(pixel()?.getAttribute("src")).toBe(`https://t.example/o/${TRACKING_ID}.gif`);
  });
});

describe("compose tracking: a reply's Send & Archive, Gmail's second send button", () => {
  const pixel = () => document.querySelector("[g_editable] img")?.getAttribute("src");
  const reply = (sendAndArchive: string) => ({
    subject: "Re: Intro",
    chips: `<div role="option" data-hovercard-id="dana@acme.example" data-name="Dana"><span>Dana</span></div>`,
    body: 'Hi, see <a href="https://shop.example/">the shop</a>',
    thread: `#thread-f:${BigInt("0x18f7a1b2c3d4e5f6")}`,
    sendAndArchive,
  });
  const sendAndArchive = () => document.querySelector('[data-tooltip="Send & Archive"]') as HTMLElement;

  it.each([
    ["a click", new MouseEvent("mouseup", { bubbles: true, button: 0 })],
    ["Enter", new KeyboardEvent("keydown", { key: "Enter", bubbles: true })],
    ["Space", new KeyboardEvent("keydown", { key: " ", bubbles: true })],
  ])("%s on it prepares the send as on Send, and the reply is registered with its recipients", async (_how, event) => {
    await openMinted(reply("T-I J-J5-Ji Uo v7 T-I-atl L3"));
    sendAndArchive().dispatchEvent(event);
    expect(pixel()).toBe(`https://t.example/o/${TRACKING_ID}.gif`);
    // Gmail closes the compose as the send starts (and archives the conversation): the reply is registered.
    document.body.innerHTML = "";
    await vi.waitFor(() => expect(callFromGmail).toHaveBeenCalledWith("messageSent", expect.anything()));
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as {
      trackingId: string;
      request: Record<string, unknown>;
    };
    expect(registered.trackingId).toBe(TRACKING_ID);
    expect(registered.request).toMatchObject({ recipients: [{ email: "dana@acme.example", name: "Dana" }], threadId: "18f7a1b2c3d4e5f6" });
  });

  it("Send beside it still sends, when Send & Archive, before it, carries Send's class too", async () => {
    await openMinted(reply("T-I J-J5-Ji aoO Uo v7 T-I-atl L3"));
    clickSend();
    expect(pixel()).toBe(`https://t.example/o/${TRACKING_ID}.gif`);
  });

  it("with every class of the send cell renamed (Gmail's hashed class tokens), Send & Archive is still a send", async () => {
    await openMinted(reply("T-I J-J5-Ji Uo v7 T-I-atl L3"));
    for (const element of document.querySelectorAll("table.IZ, table.IZ *:not(.mt-cell, .mt-cell *)"))
      element.setAttribute("class", "renamed");
    sendAndArchive().dispatchEvent(new MouseEvent("mouseup", { bubbles: true, button: 0 }));
    expect(pixel()).toBe(`https://t.example/o/${TRACKING_ID}.gif`);
  });
});

describe("compose tracking: recipients the compose could not read", () => {
  it("checks the exclusions against Gmail's send request, and registers an excluded recipient's email untracked", async () => {
    backgroundMinting(TRACKING_ID);
    // Today's chip shows the contact's name; this one's attributes are renamed, so no address is read from it.
    openDialog({ subject: "Intro", chips: `<div role="option" class="afV"><span class="afX">Dana</span></div>`, body: "Hi Dana" });
    start({ ...REP_OPTIONS, excludedRecipientDomains: ["partner.example"] });
    await vi.waitFor(() =>
      expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toMatch(/^Recipients not recognised/),
    );
    clickSend();
    await gmailAnswers(
      gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID, recipients: [{ email: "dana@partner.example", name: "Dana" }] }]),
    );
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as { request: Record<string, unknown> };
    expect(registered.request).toMatchObject({
      recipients: [{ email: "dana@partner.example", name: "Dana" }],
      openTracking: false,
      clickTracking: false,
    });
  });

  it("checks the exclusions against the send request's recipients the compose did not read, beside those it did", async () => {
    backgroundMinting(TRACKING_ID);
    // Two chips: one read, one whose attributes Gmail renamed (it shows a name only).
    const chips = `<div role="option" data-hovercard-id="carol@acme.example" data-name="Carol"></div><div role="option" class="afV"><span>Dana</span></div>`;
    openDialog({ subject: "Intro", chips, body: "Hi both" });
    start({ ...REP_OPTIONS, excludedRecipientDomains: ["partner.example"] });
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(TRACKING_ID));
    clickSend();
    const recipients = [
      { email: "carol@acme.example", name: "Carol" },
      { email: "dana@partner.example", name: "Dana" },
    ];
    await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID, recipients }]));
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as { request: Record<string, unknown> };
    expect(registered.request).toMatchObject({ recipients, openTracking: false, clickTracking: false });
  });
});

describe("compose tracking: the thread's ids Gmail's answer names", () => {
  /** Sends a tracked email whose answer names the thread `threadId`; what the background was asked to register. */
  async function registeredWith(threadId: string, legacyThreadId: string | null) {
    callFromGmail.mockClear();
    backgroundMinting(TRACKING_ID);
    openDialog({ subject: "Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`, body: "Hi" });
    start();
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")).not.toBeNull());
    clickSend();
    const answer = { trackingId: TRACKING_ID, threadId, messageId: "msg-f:1", legacyThreadId, legacyMessageId: "18f7a1b2c3d4e5f6" };
    await gmailAnswers(gmailSendAnswered([answer]));
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as { request: Record<string, unknown> };
    told = document.querySelector(".mt-status")?.textContent ?? "";
    running.stopNow();
    return registered.request;
  }
  /** What the compose's toolbar said after the last registeredWith. */
  let told = "";

  it("registers the sync id of a thread the rep started beside its legacy id, and not a sync id that is the legacy id's number", async () => {
    // 2022-09-09-cvOnSend_response.json: thread-a:r263523620390330024 is thread 183234ce86ffa010.
    expect(await registeredWith("thread-a:r263523620390330024", "183234ce86ffa010")).toMatchObject({
      threadId: "183234ce86ffa010",
      syncThreadId: "thread-a:r263523620390330024",
    });
    const decimal = await registeredWith(`thread-f:${BigInt("0x18f7a1b2c3d4e5f6")}`, "18f7a1b2c3d4e5f6");
    expect(decimal.threadId).toBe("18f7a1b2c3d4e5f6");
    expect(decimal).not.toHaveProperty("syncThreadId");
  });

  const sendAnswerHealth = () => document.documentElement.getAttribute("data-mt-send-answer");

  it("registers the legacy id a sync id is the number of, when the answer gives no legacy id", async () => {
    // A conversation names its thread by the legacy id alone: "thread-f:<decimal>" stored as is was never found there.
    const unread = await registeredWith(`thread-f:${BigInt("0x18f7a1b2c3d4e5f6")}`, null);
    expect(unread.threadId).toBe("18f7a1b2c3d4e5f6");
    expect(unread).not.toHaveProperty("syncThreadId");
    expect([told, sendAnswerHealth()]).toEqual(["", "ok"]);
  });

  it("registers a thread named by its sync id alone as that, and tells the rep and Gmail's health that its replies will not be noticed", async () => {
    // Replies are read by the conversation's legacy id (thread-signals.ts), which a "thread-a:r…" id is not the number of.
    expect((await registeredWith("thread-a:r263523620390330024", null)).threadId).toBe("thread-a:r263523620390330024");
    expect(told).toBe(
      "tracked, but Gmail did not say which conversation it is in: replies and bounces to it will not be noticed (Gmail may have changed)",
    );
    expect(sendAnswerHealth()).toBe("missing");
    // The next send Gmail answers in full puts Gmail's health right again.
    await registeredWith("thread-a:r263523620390330024", "183234ce86ffa010");
    expect(sendAnswerHealth()).toBe("ok");
  });

  it("registers the legacy id of the compose's thread when Gmail's answer never comes", async () => {
    backgroundMinting(TRACKING_ID);
    const thread = `#thread-f:${BigInt("0x18f7a1b2c3d4e5f6")}`;
    openDialog({ subject: "Re: Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`, thread });
    start();
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")).not.toBeNull());
    clickSend();
    document.body.innerHTML = "";
    await vi.waitFor(() => expect(callFromGmail.mock.calls.some(([type]) => type === "messageSent")).toBe(true));
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as {
      request: Record<string, unknown>;
      notBefore?: number;
    };
    expect(registered.notBefore).toBeGreaterThan(Date.now());
    expect(registered.request.threadId).toBe("18f7a1b2c3d4e5f6");
  });

  /**
   * A tracked email sent and its compose closed, with fake timers from then on (the test restores real ones): Gmail's
   * answer has not come, and the registration is held for it.
   */
  async function sentAwaitingAnswer(options: Options = REP_OPTIONS, beforeSend = () => {}): Promise<void> {
    backgroundMinting(TRACKING_ID);
    openDialog({ subject: "Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>` });
    start(options);
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")).not.toBeNull());
    beforeSend();
    clickSend();
    vi.useFakeTimers();
    document.body.innerHTML = "";
    // The send's messages, let through without moving the clock: vi.waitFor would move it on at each check, and the
    // tests count the wait for Gmail's answer from here.
    await vi.advanceTimersByTimeAsync(0);
    expect(callFromGmail.mock.calls.some(([type]) => type === "messageSent")).toBe(true);
  }

  it("tells the rep, and Gmail's health, when Gmail's answer has not come by the time the email is registered without it", async () => {
    try {
      await sentAwaitingAnswer();
      vi.advanceTimersByTime(44_000);
      expect([toasts(), sendAnswerHealth()]).toEqual([[], null]);
      vi.advanceTimersByTime(1_000);
      expect(toasts()).toEqual([
        `Mailtracker: "Intro" tracked, but Gmail's confirmation of the send was not seen: its replies and Sent mark may show only once you open it in Gmail`,
      ]);
      expect(sendAnswerHealth()).toBe("missing");
    } finally {
      vi.useRealTimers();
    }
  });

  it("tells the rep, but not Gmail's health, when Gmail answered meanwhile without naming the send as ours", async () => {
    // Gmail's hook works (an answer came, for another email): only this send could not be matched to it.
    try {
      // Tracking off by default, on for this email: the other email went out untracked by choice, and nothing is said of it.
      await sentAwaitingAnswer({ ...REP_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false }, () =>
        (document.querySelector(".mt-toggle-open") as HTMLElement).click(),
      );
      await sentUntracked("Another email");
      vi.advanceTimersByTime(45_000);
      expect(toasts()).toEqual([expect.stringContaining('"Intro" tracked, but Gmail\'s confirmation of the send was not seen')]);
      expect(sendAnswerHealth()).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("tells the rep when the email is registered without it, when the background could not read Gmail's answer", async () => {
    try {
      await sentAwaitingAnswer();
      sendReads.failures = [new Error("the background did not answer readGmailSend")];
      await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID }]));
      vi.advanceTimersByTime(45_000);
      expect(toasts()).toEqual([expect.stringContaining('"Intro" tracked, but Gmail\'s confirmation of the send was not seen')]);
      // Gmail did answer: its health is not in question.
      expect(sendAnswerHealth()).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("says nothing of an email whose answer came, however late, before it was registered without it", async () => {
    try {
      await sentAwaitingAnswer();
      vi.advanceTimersByTime(30_000);
      await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID }]));
      vi.advanceTimersByTime(MINUTE);
      expect([toasts(), sendAnswerHealth()]).toEqual([[], "ok"]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("compose tracking: a scheduled send", () => {
  /** Prepares a tracked send (with Send, or Schedule send's arrow); then Gmail's answer, scheduled at `at`: what is registered. */
  async function registeredAfter(via: "send" | "schedule", at: number) {
    await openMinted({ subject: "Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>` });
    document.querySelector("td.gU.Up")?.insertAdjacentHTML("beforeend", `<div role="button" aria-haspopup="true">▾</div>`);
    const before = Date.now();
    if (via === "send") clickSend();
    else document.querySelector("td.gU.Up [aria-haspopup]")?.dispatchEvent(new MouseEvent("mouseup", { bubbles: true, button: 0 }));
    const prepared = { before, after: Date.now() };
    await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID, scheduledAt: at }]));
    const registered = callFromGmail.mock.calls.find(([type]) => type === "messageSent")?.[1] as { request: { sentAt: string } };
    return { prepared, sentAt: Date.parse(registered.request.sentAt) };
  }
  const IN_2100 = Date.UTC(2100, 0, 1);

  it("an email scheduled with Schedule send is sent, and counts its hits, from the time Gmail's answer names", async () => {
    expect((await registeredAfter("schedule", IN_2100)).sentAt).toBe(IN_2100);
  });

  it("an answer that says scheduled, for an email prepared with Send, leaves its send time: no script of the page sets it", async () => {
    const { prepared, sentAt } = await registeredAfter("send", IN_2100);
    // The time of the click on Send, as prepared.
    expect(sentAt).toBeGreaterThanOrEqual(prepared.before);
    expect(sentAt).toBeLessThanOrEqual(prepared.after);
  });
});

describe("compose tracking: an email sent with Opens off and no tracked link, which carries no id of ours", () => {
  /** A compose with opens turned off on its toolbar and no link in it, sent and closed. */
  async function sendWithOpensOff(compose: Parameters<typeof composeHtml>[0]): Promise<void> {
    await openMinted({ chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`, ...compose });
    (document.querySelector(".mt-toggle-open") as HTMLElement).click();
    clickSend();
    document.body.innerHTML = "";
    await flush();
    callFromGmail.mockClear();
  }

  /** What the background was asked to register after Gmail's answer. */
  const registrations = () =>
    callFromGmail.mock.calls
      .filter(([type]) => type === "messageSent")
      .map(([, input]) => input as { trackingId: string; request: Record<string, unknown>; notBefore?: number });

  it.each([
    [
      "found by the draft id Gmail sends it under",
      { subject: "Intro", draft: "#msg-a:r8190137112111191537" },
      "msg-a:r8190137112111191537",
    ],
    ["found by its subject when Gmail had not saved its draft yet", { subject: "Intro" }, "msg-a:r1"],
  ])(
    "is registered at once with the ids Gmail's answer gives it, and the rep is not told it went out untracked: %s",
    async (_, compose, messageId) => {
      await sendWithOpensOff(compose);
      await gmailAnswers(
        gmailSendAnswered([
          { ...SENT_IDS, threadId: "thread-a:r263523620390330024", legacyThreadId: "183234ce86ffa010", messageId, subject: "Intro" },
        ]),
      );
      expect(registrations()).toEqual([
        {
          trackingId: TRACKING_ID,
          request: expect.objectContaining({ threadId: "183234ce86ffa010", gmailMessageId: SENT_IDS.legacyMessageId, openTracking: false }),
        },
      ]);
      expect(registrations()[0]?.notBefore).toBeUndefined();
      expect(toasts()).toEqual([]);
      // Gmail's Undo now takes this email back, not an untracked send.
      expect(undoLatestSend()).toBe(TRACKING_ID);
    },
  );

  it("an untracked send of another subject is still reported as such", async () => {
    await sendWithOpensOff({ subject: "Intro" });
    await sentUntracked("Pricing for Q3");
    expect(registrations()).toEqual([]);
    expect(toasts()).toEqual([expect.stringContaining('"Pricing for Q3" went out untracked')]);
  });
});

describe("compose tracking: the options changed while a compose is open", () => {
  it("the compose goes on with its id, the rep's choices and its reminder; under another tracker it starts afresh", async () => {
    const id = "a2b3c4d5e6f7g2h3.1.5MEv5_Q86sc1-co4_M0-_t.y_Phls_Ld5L4KN7ZyO4q1N";
    backgroundMinting(id);
    openDialog({
      subject: "Personal",
      chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`,
      body: "Hi",
    });
    const features = [composeTracking, followUpReminder];
    start(REP_OPTIONS, features);
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar .mt-toggle-remind")).not.toBeNull());
    const pressed = (selector: string) => document.querySelector(`.mt-toolbar ${selector}`)?.getAttribute("aria-pressed");
    // The rep turns opens off for this email, and asks for a reminder.
    (document.querySelector(".mt-toggle-open") as HTMLElement).click();
    (document.querySelector(".mt-toggle-remind") as HTMLElement).click();
    expect([pressed(".mt-toggle-open"), pressed(".mt-toggle-remind")]).toEqual(["false", "true"]);
    const mints = () => callFromGmail.mock.calls.filter(([type]) => type === "mintId").length;
    const reminders = () => callFromGmail.mock.calls.filter(([type]) => type === "remindIfNoReply").length;
    const remindersBefore = reminders();

    // Another option changes (content/index.iife.ts stops every feature and starts it again, in one task).
    running.stopNow();
    start({ ...REP_OPTIONS, notifications: false }, features);
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(id));
    expect(document.querySelectorAll(".mt-toolbar")).toHaveLength(1);
    expect([mints(), pressed(".mt-toggle-open"), pressed(".mt-toggle-remind")]).toEqual([1, "false", "true"]);
    expect(reminders()).toBe(remindersBefore); // the background keeps it already

    // Connected to another tracker: an id is its tracker's, so the compose starts again from the defaults.
    running.stopNow();
    start({ ...REP_OPTIONS, trackerUrl: "https://other.example" }, features);
    await vi.waitFor(() => expect(mints()).toBe(2));
    expect(document.querySelectorAll(".mt-toolbar")).toHaveLength(1);
    expect(pressed(".mt-toggle-open")).toBe("true");
  });
});

describe("compose tracking: a compose open while Firefox puts an update's copy of the script into the tab", () => {
  /**
   * The extension is updated under the open compose: Firefox takes the running copy's listeners away, not what it drew
   * (ui.ts removeEarlierCopyDrawing), so its toolbar stays, as it was, beside Send; then the update's copy starts as
   * content/index.iife.ts does. Modelled here by stopping the running copy's features (which then take their toolbar
   * away) and putting its toolbar back.
   */
  async function updatedUnder(): Promise<void> {
    const cell = document.querySelector(".mt-cell") as Element;
    const drawn = cell.cloneNode(true);
    const send = cell.previousElementSibling as Element;
    running.stopNow();
    await flush();
    expect(document.querySelector(".mt-toolbar")).toBeNull();
    send.after(drawn);
    keepEarlierChoices(document);
    removeEarlierCopyDrawing(document);
    start();
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(TRACKING_ID));
    expect(document.querySelectorAll(".mt-toolbar")).toHaveLength(1);
  }

  const pressed = () => [".mt-toggle-open", ".mt-toggle-click"].map((s) => document.querySelector(s)?.getAttribute("aria-pressed"));
  const pixel = () => document.querySelector("[g_editable] img");

  it("keeps what the rep chose in the earlier toolbar: Opens turned off for this email stays off, and it goes out without a pixel", async () => {
    await openMinted({ subject: "Personal", body: "Hi" });
    (document.querySelector(".mt-toggle-open") as HTMLElement).click();
    expect(pressed()).toEqual(["false", "true"]);
    await updatedUnder();
    expect(pressed()).toEqual(["false", "true"]);
    clickSend();
    expect(pixel()).toBeNull();
  });

  it("takes nothing from toggles that could not be used (tracking was locked, not the rep's choice): the defaults apply", async () => {
    openDialog({ subject: "Personal", body: "Hi" });
    start();
    await vi.waitFor(() =>
      expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toContain("Not tracked: not connected"),
    );
    expect(pressed()).toEqual(["false", "false"]);
    backgroundMinting(TRACKING_ID);
    await updatedUnder();
    expect(pressed()).toEqual(["true", "true"]);
    clickSend();
    expect(pixel()).not.toBeNull();
  });
});

describe("compose tracking: a tracker its recipients cannot reach", () => {
  const LOCAL = "http://127.0.0.1:8787";
  const notice = outOfReachNotice(LOCAL, false);
  const OFFER = "https://shop.example/offer";
  const clickUrl = (url: string, index: number) => `${LOCAL}/c/${TRACKING_ID}/${index}?u=${encodeURIComponent(url)}`;
  const calls = (type: string) => callFromGmail.mock.calls.filter(([t]) => t === type).map(([, input]) => input);
  const button = (name: string) => document.querySelector(`.mt-toolbar .mt-toggle-${name}`) as HTMLButtonElement;

  /** A tab connected to `npm start`'s tracker, whose background signs what it is asked to. */
  function connectedLocally(): void {
    callFromGmail.mockImplementation(async (type: string, input: unknown) => {
      if (type === "mintId") return { trackingId: TRACKING_ID, trackerUrl: LOCAL };
      if (type === "signLinks")
        return (input as { links: { index: number; url: string }[] }).links.map((l) => ({ ...l, clickUrl: clickUrl(l.url, l.index) }));
      if (type === "checkRecipients") return { contacts: [] };
      return { queued: true };
    });
  }

  /** Opens a compose with a link, ready to send once every link it tracks is signed. */
  async function openWithLink(options: Options = { ...REP_OPTIONS, trackerUrl: LOCAL, optOutLinkByDefault: true }): Promise<void> {
    openDialog({
      subject: "Intro",
      chips: `<div role="option" data-hovercard-id="dana@acme.example" data-name="Dana"></div>`,
      body: `Hi, <a href="${OFFER}">our offer</a>`,
    });
    start(options);
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-ready")).toBe("true"));
  }

  /** Sends the compose, and what the background was asked to register once Gmail answered. */
  async function sent(): Promise<Record<string, unknown>> {
    clickSend();
    await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID, subject: "Intro" }]));
    return (calls("messageSent").at(-1) as { request: Record<string, unknown> }).request;
  }

  const body = () => document.querySelector("[g_editable]") as HTMLElement;

  it("the compose says what it costs, before anything is sent", async () => {
    connectedLocally();
    openDialog({ subject: "Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example" data-name="Dana"></div>`, body: "Hi" });
    start();
    await vi.waitFor(() => expect(document.querySelector(".mt-status")?.textContent).toBe(notice));
    expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toBe(notice);
  });

  it("links go out exactly as written, and no opt-out link, which would not open for recipients; the pixel still goes", async () => {
    connectedLocally();
    await openWithLink();
    // Clicks and the opt-out link are not the rep's to turn on here: the toolbar says why.
    expect([button("click").getAttribute("aria-pressed"), button("click").disabled]).toEqual(["false", true]);
    expect(button("click").title).toBe(
      "Links in this email are not tracked: recipients cannot reach your tracker, so they go out as written",
    );
    expect([button("optout").getAttribute("aria-pressed"), button("optout").disabled]).toEqual(["false", true]);
    expect(button("optout").title).toBe("No opt-out link: recipients cannot reach your tracker, so it would not open for them");
    expect(button("open").getAttribute("aria-pressed")).toBe("true");
    const request = await sent();
    expect(calls("signLinks")).toEqual([]);
    expect([...body().querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual([OFFER]);
    expect(body().querySelector("img")?.getAttribute("src")).toBe(pixelUrl(LOCAL, TRACKING_ID));
    expect(request).toMatchObject({ openTracking: true, clickTracking: false, links: [], optOutLink: false });
  });

  it("with links tracked all the same (the rep's option), they are rewritten and registered", async () => {
    connectedLocally();
    await openWithLink({ ...REP_OPTIONS, trackerUrl: LOCAL, optOutLinkByDefault: true, trackLinksOutOfReach: true });
    expect([button("click").getAttribute("aria-pressed"), button("click").disabled]).toEqual(["true", false]);
    const request = await sent();
    expect([...body().querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual([clickUrl(OFFER, 0), `${LOCAL}/u/${TRACKING_ID}`]);
    expect(request).toMatchObject({ clickTracking: true, links: [{ index: 0, url: OFFER }], optOutLink: true });
  });

  it("the options changed while the compose is open: the same id goes on, its links become tracked", async () => {
    // Not tracked when the compose opened; the rep then turns the option on.
    connectedLocally();
    const options = { ...REP_OPTIONS, trackerUrl: LOCAL };
    await openWithLink(options);
    expect(button("click").disabled).toBe(true);
    running.stopNow();
    start({ ...options, trackLinksOutOfReach: true });
    await vi.waitFor(() => expect(button("click").getAttribute("aria-pressed")).toBe("true"));
    // What that costs is said anew.
    expect(document.querySelector(".mt-status")?.textContent).toBe(outOfReachNotice(LOCAL, true));
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-ready")).toBe("true"));
    expect(calls("mintId")).toHaveLength(1);
    const request = await sent();
    expect(body().querySelector("a")?.getAttribute("href")).toBe(clickUrl(OFFER, 0));
    expect(request).toMatchObject({ clickTracking: true, links: [{ index: 0, url: OFFER }] });
  });
  it("two quick option changes: the compose follows the latest, though the links signed for the first come after it", async () => {
    connectedLocally();
    const options = { ...REP_OPTIONS, trackerUrl: LOCAL };
    await openWithLink(options);
    // The background's signing of the links, asked for under the first change, answered only after the second.
    let answer: (() => void) | undefined;
    const signing = callFromGmail.getMockImplementation();
    callFromGmail.mockImplementation((type: string, input: unknown) =>
      type === "signLinks"
        ? new Promise<void>((resolve) => (answer = resolve)).then(() => signing?.(type, input))
        : (signing?.(type, input) ?? Promise.reject(new Error(type))),
    );
    running.stopNow();
    start({ ...options, trackLinksOutOfReach: true });
    await vi.waitFor(() => expect(answer).toBeDefined());
    running.stopNow();
    start({ ...options, trackLinksOutOfReach: false });
    answer?.();
    await flush();
    expect([button("click").getAttribute("aria-pressed"), button("click").disabled]).toEqual(["false", true]);
    expect(document.querySelector(".mt-status")?.textContent).toBe(notice);
    const request = await sent();
    expect(body().querySelector("a")?.getAttribute("href")).toBe(OFFER);
    expect(request).toMatchObject({ clickTracking: false, links: [] });
  });
});

describe("compose tracking: the toolbar's toggles", () => {
  it("Ctrl+Enter or Cmd+Enter with a toggle focused still reaches Gmail's compose, which sends; other keys stay ours", async () => {
    await openMinted({ subject: "Intro", body: "Hi" });
    const gmailSaw: string[] = [];
    document.querySelector(".M9")?.addEventListener("keydown", (event) => {
      const key = event as KeyboardEvent;
      gmailSaw.push(`${key.ctrlKey ? "Ctrl+" : ""}${key.metaKey ? "Cmd+" : ""}${key.key}`);
    });
    // The rep turns opens off (the toggle takes the focus), then sends with the keyboard.
    const toggle = document.querySelector(".mt-toggle-open") as HTMLElement;
    toggle.click();
    for (const init of [{ key: "Enter", ctrlKey: true }, { key: "Enter", metaKey: true }, { key: "Enter" }, { key: " " }])
      toggle.dispatchEvent(new KeyboardEvent("keydown", { ...init, bubbles: true }));
    expect(gmailSaw).toEqual(["Ctrl+Enter", "Cmd+Enter"]);
  });

  it("the opt-out link and the campaign, which go only with a tracked email, are shown unusable with the reason while tracking is off or locked, and come back as the rep left them", async () => {
    const trackingId = "a2b3c4d5e6f7g2h3.1.3KCt3_O64qa9-am2_K8-_r.w_Nfjq_Jb3J2IL5XwM2o9L";
    backgroundMinting(trackingId);
    openDialog({ subject: "Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`, body: "Hi" });
    start({ ...REP_OPTIONS, optOutLinkByDefault: true, excludedRecipientDomains: ["partner.example"] });
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(trackingId));
    const button = (name: string) => document.querySelector(`.mt-toolbar .mt-toggle-${name}`) as HTMLButtonElement;
    const input = document.querySelector(".mt-toolbar .mt-campaign") as HTMLInputElement;
    const shown = () => ({
      optOut: [button("optout").getAttribute("aria-pressed"), button("optout").disabled],
      campaign: [button("campaign").getAttribute("aria-pressed"), button("campaign").disabled, input.hidden],
    });
    button("campaign").click();
    input.value = "Q3 outreach";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    expect(shown()).toEqual({ optOut: ["true", false], campaign: ["true", false, false] });

    // The rep turns off opens and clicks for this email: nothing is registered, so neither can go out.
    button("open").click();
    button("click").click();
    expect(shown()).toEqual({ optOut: ["false", true], campaign: ["false", true, true] });
    expect(button("optout").title).toBe("No opt-out link: this email is not tracked (Opens and Clicks are off)");
    expect(button("campaign").title).toBe("No campaign: this email is not tracked (Opens and Clicks are off)");

    // Clicks on again: both are back as the rep left them.
    button("click").click();
    expect(shown()).toEqual({ optOut: ["true", false], campaign: ["true", false, false] });

    // A recipient at an excluded domain locks tracking: the same, with that reason.
    document
      .querySelector('[name="to"]')
      ?.insertAdjacentHTML("beforeend", `<div role="option" data-hovercard-id="lee@partner.example"><span>Lee</span></div>`);
    await vi.waitFor(() => expect(shown()).toEqual({ optOut: ["false", true], campaign: ["false", true, true] }));
    expect(button("optout").title).toBe("No opt-out link: Not tracked: lee@partner.example is at an excluded domain");

    document.querySelector('[data-hovercard-id="lee@partner.example"]')?.remove();
    await vi.waitFor(() => expect(shown()).toEqual({ optOut: ["true", false], campaign: ["true", false, false] }));
    clickSend();
    document.querySelector('[role="dialog"]')?.remove();
    const sent = () => callFromGmail.mock.calls.filter(([type]) => type === "messageSent").map(([, input]) => input);
    await vi.waitFor(() =>
      expect(sent()).toEqual([
        expect.objectContaining({ request: expect.objectContaining({ campaign: "Q3 outreach", optOutLink: true, clickTracking: true }) }),
      ]),
    );
  });

  it("the follow-up reminder, which can come only for a tracked email, is shown unset and unusable with the reason while tracking is off or locked, none is kept, and the rep's days come back", async () => {
    const trackingId = "a2b3c4d5e6f7g2h3.1.4LDu4_P75rb0-bn3_L9-_s.x_Ogkr_Kc4K3JM6YyN3p0M";
    backgroundMinting(trackingId);
    openDialog({ subject: "Intro", chips: `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`, body: "Hi" });
    start({ ...REP_OPTIONS, excludedRecipientDomains: ["partner.example"] }, [composeTracking, followUpReminder]);
    const button = (name: string) => document.querySelector(`.mt-toolbar .mt-toggle-${name}`) as HTMLButtonElement;
    await vi.waitFor(() => expect(button("remind")?.disabled).toBe(false));
    const days = document.querySelector(".mt-toolbar .mt-remind-days") as HTMLInputElement;
    const shown = () => [button("remind").getAttribute("aria-pressed"), button("remind").disabled, days.hidden];
    /** The days of each reminder the background was asked to keep (null: none). */
    const kept = () =>
      callFromGmail.mock.calls.filter(([type]) => type === "remindIfNoReply").map(([, input]) => (input as { days: number | null }).days);
    button("remind").click();
    days.value = "5";
    days.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(button("remind").title).toBe("A reminder comes if nobody replies in 5 days"));
    expect([shown(), kept()]).toEqual([
      ["true", false, false],
      [3, 5],
    ]);

    // The rep turns off opens and clicks: the email is never registered, so no reminder can come; none is kept.
    button("open").click();
    button("click").click();
    await vi.waitFor(() => expect(shown()).toEqual(["false", true, true]));
    expect(button("remind").title).toBe("No reminder: this email is not tracked (Opens and Clicks are off)");
    await vi.waitFor(() => expect(kept()).toEqual([3, 5, null]));

    // Clicks on again: the rep's 5 days are back, and kept.
    button("click").click();
    await vi.waitFor(() => expect(kept()).toEqual([3, 5, null, 5]));
    expect([shown(), days.value]).toEqual([["true", false, false], "5"]);

    // A recipient at an excluded domain locks tracking: the same, with that reason.
    const addLee = () =>
      document
        .querySelector('[name="to"]')
        ?.insertAdjacentHTML("beforeend", `<div role="option" data-hovercard-id="lee@partner.example"><span>Lee</span></div>`);
    addLee();
    await vi.waitFor(() => expect(shown()).toEqual(["false", true, true]));
    expect(button("remind").title).toBe("No reminder: Not tracked: lee@partner.example is at an excluded domain");
    expect(kept()).toEqual([3, 5, null, 5, null]);
    document.querySelector('[data-hovercard-id="lee@partner.example"]')?.remove();
    await vi.waitFor(() => expect(kept()).toEqual([3, 5, null, 5, null, 5]));
    expect(shown()).toEqual(["true", false, false]);

    // Sent at once after adding him, before the toolbar looked again: it goes out untracked, and no reminder is kept.
    addLee();
    clickSend();
    document.querySelector('[role="dialog"]')?.remove();
    await flush();
    expect(callFromGmail.mock.calls.filter(([type]) => type === "messageSent")).toEqual([]);
    expect(kept()).toEqual([3, 5, null, 5, null, 5, null]);
  });
});

describe("compose tracking: a tracked email Gmail sent as plain text (its plain-text mode not recognised)", () => {
  const OTHER_ID = "a2b3c4d5e6f7g2h3.1.9QIz9_U20wg5-gs8_Q4-_x.c_Tlpw_Ph9P8OR1DcS8u5R";

  /** A compose minted `trackingId`, sent and closed (a tracked one's registration is then held for Gmail's answer). */
  async function sendFrom(compose: Parameters<typeof composeHtml>[0], trackingId: string): Promise<void> {
    backgroundMinting(trackingId);
    document.body.insertAdjacentHTML("beforeend", `<div role="dialog" data-compose="${trackingId}">${composeHtml(compose)}</div>`);
    const dialog = document.querySelector(`[data-compose="${trackingId}"]`) as Element;
    await vi.waitFor(() => expect(dialog.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(trackingId));
    clickSend(dialog);
    dialog.remove();
    await flush();
  }

  /** Gmail's answer for `answered`; the sends whose registration was withdrawn. */
  async function answerWith(answered: Partial<Parameters<typeof gmailSendAnswered>[0][0]>): Promise<unknown[]> {
    await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, ...answered }]));
    await flush();
    return callFromGmail.mock.calls.filter(([type]) => type === "messageUnsent").map(([, input]) => input);
  }

  it.each([
    ["with no follow-up reminder", null, ""],
    // The background dropped the reminder of 4 days the rep had set on it.
    ["with its follow-up reminder, which goes with the registration", 4, ", so its follow-up reminder is off"],
  ])("withdraws its registration and tells the rep, found by its subject: %s", async (_, reminderDays, told) => {
    start();
    await sendFrom({ subject: "Pricing" }, TRACKING_ID);
    backgroundMinting(TRACKING_ID, reminderDays);
    expect(await answerWith({ subject: "Pricing", plainText: true })).toEqual([{ trackingId: TRACKING_ID }]);
    await vi.waitFor(() =>
      expect(toasts()).toEqual([
        `Mailtracker: "Pricing" went out untracked in plain text mode (a plain-text email cannot carry the pixel)${told}`,
      ]),
    );
  });

  it("says in one sentence that the email went out untracked and its registration and reminder may stay, when the background cannot withdraw them", async () => {
    start();
    await sendFrom({ subject: "Pricing" }, TRACKING_ID);
    callFromGmail.mockImplementation(async (type: string) => {
      if (type === "messageUnsent") throw new Error("Extension context invalidated.");
      return { queued: true };
    });
    expect(await answerWith({ subject: "Pricing", plainText: true })).toEqual([{ trackingId: TRACKING_ID }]);
    await vi.waitFor(() =>
      expect(toasts()).toEqual([
        'Mailtracker: "Pricing" went out untracked in plain text mode (a plain-text email cannot carry the pixel), but may still show as sent in the tracker, and a follow-up reminder set on it may still come (Error: Extension context invalidated.)',
      ]),
    );
  });

  it("an HTML send in which no tracking id was found withdraws nothing: only Gmail's word that it is plain text does", async () => {
    start();
    await sendFrom({ subject: "Pricing" }, TRACKING_ID);
    expect(await answerWith({ subject: "Pricing" })).toEqual([]);
  });

  it("found by the draft id Gmail sends it under: among sends of the same subject, and for a reply's compose with none", async () => {
    start();
    await sendFrom({ subject: "Quick question", draft: "#msg-a:r-414184523264894368" }, TRACKING_ID);
    await sendFrom({ subject: "Quick question", draft: "#msg-a:r8190137112111191537" }, OTHER_ID);
    expect(await answerWith({ subject: "Quick question", messageId: "msg-a:r8190137112111191537", plainText: true })).toEqual([
      { trackingId: OTHER_ID },
    ]);
    forgetSends();
    callFromGmail.mockClear();
    await sendFrom({ subject: "", draft: "#msg-a:r-414184523264894368" }, TRACKING_ID);
    expect(await answerWith({ subject: "Re: tracking test", messageId: "msg-a:r-414184523264894368", plainText: true })).toEqual([
      { trackingId: TRACKING_ID },
    ]);
  });

  it("withdraws nothing when it cannot tell which send it was: two of the same subject, or one the rep sent in recognised plain-text mode meanwhile", async () => {
    start();
    await sendFrom({ subject: "Quick question" }, TRACKING_ID);
    await sendFrom({ subject: "Quick question" }, OTHER_ID);
    expect(await answerWith({ subject: "Quick question", plainText: true })).toEqual([]);
    // Not withdrawn, not unseen either: the rep is told how it went out.
    expect(toasts()).toContainEqual(expect.stringContaining('"Quick question" went out untracked: Gmail sent it in plain text mode'));
    forgetSends();
    await sendFrom({ subject: "Follow-up" }, TRACKING_ID);
    // The compose shows Gmail's "Currently in plain text mode." marker: it goes out untracked, as its toolbar says.
    await sendFrom({ subject: "Follow-up", plain: true }, OTHER_ID);
    expect(await answerWith({ subject: "Follow-up", plainText: true })).toEqual([]);
  });

  it("two tracked emails of one subject both sent as plain text, one after the other: each found by its draft and withdrawn", async () => {
    start();
    await sendFrom({ subject: "Quick question", draft: "#msg-a:r-414184523264894368" }, TRACKING_ID);
    await sendFrom({ subject: "Quick question", draft: "#msg-a:r8190137112111191537" }, OTHER_ID);
    await answerWith({ subject: "Quick question", messageId: "msg-a:r-414184523264894368", plainText: true });
    expect(await answerWith({ subject: "Quick question", messageId: "msg-a:r8190137112111191537", plainText: true })).toEqual([
      { trackingId: TRACKING_ID },
      { trackingId: OTHER_ID },
    ]);
  });

  it("a compose of that subject let go untracked before the tracked one was prepared does not stand in its way", async () => {
    start();
    await sendFrom({ subject: "Follow-up", plain: true }, OTHER_ID);
    await sendFrom({ subject: "Follow-up" }, TRACKING_ID);
    expect(await answerWith({ subject: "Follow-up", plainText: true })).toEqual([{ trackingId: TRACKING_ID }]);
  });

  it("withdraws nothing prepared more than two minutes before the answer", async () => {
    start();
    await sendFrom({ subject: "Pricing" }, TRACKING_ID);
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + 121_000);
    try {
      expect(await answerWith({ subject: "Pricing", plainText: true })).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("a tracked email Gmail sent as plain text with its tracked link kept is registered with opens off, and the rep told", async () => {
    start();
    await sendFrom({ subject: "Pricing" }, TRACKING_ID);
    expect(await answerWith({ trackingId: TRACKING_ID, subject: "Pricing", plainText: true })).toEqual([]);
    const registered = callFromGmail.mock.calls.filter(([type]) => type === "messageSent").at(-1)?.[1] as {
      request: Record<string, unknown>;
    };
    expect(registered.request).toMatchObject({ openTracking: false, clickTracking: true });
    expect(toasts()).toContainEqual(
      expect.stringContaining(
        '"Pricing" went out in plain text mode (a plain-text email cannot carry the pixel): its opens are not tracked',
      ),
    );
  });
});

describe("compose tracking: what the rep is told of a send", () => {
  const DANA = `<div role="option" data-hovercard-id="dana@acme.example"><span>Dana</span></div>`;

  it("an email the rep sent untracked by choice (tracking off by default) gets no toast; one that could not be tracked does", async () => {
    backgroundMinting("a2b3c4d5e6f7g2h3.1.4LDu4_P75rb0-bn3_L9-_s.x_Ogkr_Kc4K3JM6YxN3p0M");
    const off = { ...REP_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false };
    openDialog({ subject: "Lunch?", chips: DANA, body: "Hi" });
    start({ ...off, excludedRecipientDomains: ["acme.example"] });
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).not.toBeNull());
    clickSend();
    document.querySelector('[role="dialog"]')?.remove();
    await vi.waitFor(() =>
      expect(toasts()).toEqual([expect.stringContaining('"Lunch?": Not tracked: dana@acme.example is at an excluded domain')]),
    );
    for (const toast of document.querySelectorAll(".mt-toast")) toast.remove();

    openDialog({ subject: "Lunch again?", chips: DANA, body: "Hi" });
    running.stopNow();
    start(off);
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).not.toBeNull());
    expect(document.querySelector(".mt-toggle-open")?.getAttribute("aria-pressed")).toBe("false");
    clickSend();
    document.querySelector('[role="dialog"]')?.remove();
    await flush();
    expect(toasts()).toEqual([]);
  });

  it("links not signed in time: told after Gmail removes the compose, not only on the toolbar that leaves with it", async () => {
    // An id of its own: the module keeps each send it prepared by id, and other tests send TRACKING_ID.
    backgroundMinting("a2b3c4d5e6f7g2h3.1.7OGx7_S08ue3-eq6_O2-_v.a_Rjnu_Nf7N6MP9BaQ6s3P"); // and no link signed yet
    openDialog({ subject: "Pricing", chips: DANA, body: `<a href="https://shop.example/offer">offer</a>` });
    start();
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")).not.toBeNull());
    clickSend();
    expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toBe("1 link went out untracked (not signed in time)");
    document.querySelector('[role="dialog"]')?.remove(); // Gmail sends it: the compose goes
    await vi.waitFor(() =>
      expect(toasts()).toEqual([expect.stringContaining('"Pricing": 1 link went out untracked (not signed in time)')]),
    );
  });

  it("a dialog Gmail shows at the send: nothing registered when the compose closes, the email when Gmail sends it after all", async () => {
    // An id of its own: the module keeps each send it prepared by id, and other tests send TRACKING_ID.
    const trackingId = "a2b3c4d5e6f7g2h3.1.6NFw6_R97td2-dp5_N1-_u.z_Qimt_Me6M5LO8AzP5r2O";
    backgroundMinting(trackingId);
    openDialog({ subject: "Deck attached", chips: DANA, body: "Deck attached" });
    start();
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar[data-mt-tracking-id]")).not.toBeNull());
    clickSend();
    // "Did you mean to attach files?" (InboxSDK gmail-modal-view-driver.ts: div.Kj-JD[role=alertdialog]).
    const question = document.createElement("div");
    question.className = "Kj-JD";
    question.setAttribute("role", "alertdialog");
    document.body.append(question);
    await vi.waitFor(() =>
      expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-status")).toBe(
        "Gmail stopped this send: it is tracked only if Gmail sends it",
      ),
    );
    // "Send anyway": Gmail closes the compose, which alone proves nothing, then its /sync answer names the send.
    document.querySelector('[role="dialog"]')?.remove();
    question.remove();
    await flush();
    expect(callFromGmail.mock.calls.filter(([type]) => type === "messageSent")).toEqual([]);
    await gmailAnswers(
      gmailSendAnswered([
        {
          trackingId: trackingId,
          threadId: "thread-f:2",
          messageId: "msg-f:2",
          legacyThreadId: "18f7a1b2c3d4e5f7",
          legacyMessageId: "18f7a1b2c3d4e5f7",
          recipients: [{ email: "dana@acme.example" }],
        },
      ]),
    );
    const sent = callFromGmail.mock.calls.filter(([type]) => type === "messageSent").map(([, input]) => input);
    expect(sent).toEqual([expect.objectContaining({ trackingId, request: expect.objectContaining({ threadId: "18f7a1b2c3d4e5f7" }) })]);
  });
});

describe('compose tracking: Gmail\'s Undo on its "Message sent" notice', () => {
  const SECOND_ID = "a2b3c4d5e6f7g2h3.1.9QIz9_U20wg5-gs8_Q4-_x.c_Tlpw_Ph9P8OR1DcS8u5R";
  let minted: string[] = [];
  /** The days of the undone email's reminder, as the background answers messageUnsent. */
  let reminderDays: number | null = null;

  afterEach(() => {
    reminderDays = null;
  });

  /** A connected tab whose composes get the ids of `ids`, in turn. */
  function connected(ids: string[]): void {
    minted = [...ids];
    callFromGmail.mockImplementation(async (type: string) => {
      if (type === "mintId") return { trackingId: minted.shift(), ...DEPLOYED };
      if (type === "signLinks") return [];
      if (type === "messageUnsent") return { reminderDays };
      if (type === "checkRecipients") return { contacts: [] };
      return { queued: true };
    });
  }

  /** Opens a compose (compose-dialog-2020-10.html's parts, today's chips) and waits for its tracking id. */
  async function openCompose(): Promise<Element> {
    const dialog = document.createElement("div");
    dialog.setAttribute("role", "dialog");
    dialog.innerHTML = composeHtml({
      subject: "Pricing",
      chips: `<div role="option" data-hovercard-id="carol@prospect.example" data-name="Carol"></div>`,
      body: "Hi Carol",
    });
    document.body.append(dialog);
    await vi.waitFor(() => expect(dialog.querySelector(".mt-toolbar[data-mt-tracking-id]")).not.toBeNull());
    return dialog;
  }

  /** The rep clicks Send; Gmail closes the compose, as it does when the send starts. */
  async function send(dialog: Element): Promise<string> {
    const id = dialog.querySelector<HTMLElement>(".mt-toolbar")?.dataset.mtTrackingId ?? "";
    clickSend(dialog);
    dialog.remove();
    await flush();
    return id;
  }

  async function gmailAnswered(trackingId: string): Promise<void> {
    await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId }]));
  }

  /** Gmail's notice bar (InboxSDK gmail-butter-bar-driver.ts) with a notice; `sent`: the "Message sent" one (Meru). */
  function notice(sent: boolean): HTMLElement {
    const bar = document.createElement("div");
    bar.className = "b8";
    bar.setAttribute("role", "alert");
    bar.innerHTML = `<div class="vh"><span class="aT"><span class="bAq">${sent ? "Message sent" : "Conversation archived."}</span>
      <span class="bAo"><span id="link_undo" role="link" tabindex="0">Undo</span>${sent ? '<span id="link_vsm" role="link">View message</span>' : ""}</span></span></div>`;
    document.body.append(bar);
    return bar.querySelector("#link_undo") as HTMLElement;
  }

  const calls = (type: string) => callFromGmail.mock.calls.filter(([t]) => t === type).map(([, input]) => input);

  it("withdraws the send Gmail answered once Gmail reopens it, once for a key press and the click it makes", async () => {
    connected([TRACKING_ID, SECOND_ID]);
    start();
    const id = await send(await openCompose());
    await gmailAnswered(id);
    expect(calls("messageSent")).toHaveLength(2); // held back at the close, then with Gmail's ids
    const undo = notice(true);
    undo.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    undo.click();
    expect(calls("messageUnsent")).toEqual([]); // not before Gmail shows the Undo took the email back
    await openCompose(); // Gmail reopens it as a draft, subject and all
    expect(calls("messageUnsent")).toEqual([{ trackingId: TRACKING_ID }]);
  });

  it("the undone email's follow-up reminder is set again on the reopened compose, with its days, for the re-send", async () => {
    connected([TRACKING_ID, SECOND_ID]);
    reminderDays = 4;
    const run = start();
    followUpReminder.init(run.signal, { options: REP_OPTIONS });
    await gmailAnswered(await send(await openCompose()));
    notice(true).click();
    const reopened = await openCompose();
    await vi.waitFor(() => expect(calls("remindIfNoReply")).toEqual([{ trackingId: SECOND_ID, days: 4 }]));
    expect(reopened.querySelector(".mt-toggle-remind")?.getAttribute("aria-pressed")).toBe("true");
    expect(reopened.querySelector<HTMLInputElement>(".mt-remind-days")?.value).toBe("4");
    expect(toasts()).toEqual([
      "Mailtracker: its follow-up reminder (4 days without a reply) is set on the reopened email, for when you resend it.",
    ]);
  });

  it("an undone email's reminder waits on a reopened compose the rep has not turned tracking on for, and is set once they do", async () => {
    connected([TRACKING_ID, SECOND_ID]);
    reminderDays = 4;
    const run = start({ ...REP_OPTIONS, openTrackingByDefault: false, clickTrackingByDefault: false });
    followUpReminder.init(run.signal, { options: REP_OPTIONS });
    const first = await openCompose();
    first.querySelector<HTMLElement>(".mt-toggle-open")?.click();
    await gmailAnswered(await send(first));
    notice(true).click();
    // Gmail reopens it as a new compose, untracked like every compose of this rep until they turn tracking on.
    const reopened = await openCompose();
    await vi.waitFor(() => expect(calls("messageUnsent")).toEqual([{ trackingId: TRACKING_ID }]));
    await flush();
    const remind = reopened.querySelector(".mt-toggle-remind") as HTMLButtonElement;
    expect([calls("remindIfNoReply"), toasts(), remind.getAttribute("aria-pressed")]).toEqual([[], [], "false"]);
    expect(remind.title).toBe("No reminder: this email is not tracked (Opens and Clicks are off)");

    reopened.querySelector<HTMLElement>(".mt-toggle-open")?.click();
    await vi.waitFor(() => expect(calls("remindIfNoReply")).toEqual([{ trackingId: SECOND_ID, days: 4 }]));
    expect([remind.getAttribute("aria-pressed"), reopened.querySelector<HTMLInputElement>(".mt-remind-days")?.value]).toEqual([
      "true",
      "4",
    ]);
    await vi.waitFor(() =>
      expect(toasts()).toEqual([
        "Mailtracker: its follow-up reminder (4 days without a reply) is set on the reopened email, for when you resend it.",
      ]),
    );
  });

  it("an undone email's reminder is not said to be set on a reopened compose that cannot be tracked", async () => {
    connected([TRACKING_ID]);
    reminderDays = 4;
    const run = start();
    followUpReminder.init(run.signal, { options: REP_OPTIONS });
    await gmailAnswered(await send(await openCompose()));
    notice(true).click();
    // The tracker stops answering: the reopened compose gets no id, and its toggles stay locked.
    const answer = callFromGmail.getMockImplementation();
    callFromGmail.mockImplementation(async (type: string, input: unknown) => {
      if (type === "mintId") throw new Error("the tracker could not be reached");
      return answer?.(type, input);
    });
    const reopened = document.createElement("div");
    reopened.setAttribute("role", "dialog");
    reopened.innerHTML = `<div class="M9"><input name="subjectbox" value="Pricing">
      <div contenteditable="true" g_editable="true" role="textbox">Hi Carol</div>
      <table class="IZ"><tbody><tr><td class="gU Up"><div role="button" class="aoO" data-tooltip="Send">Send</div></td></tr></tbody></table>
    </div>`;
    document.body.append(reopened);
    await vi.waitFor(() => expect(calls("messageUnsent")).toEqual([{ trackingId: TRACKING_ID }]));
    await vi.waitFor(() => expect(reopened.querySelector(".mt-status")?.textContent).toMatch(/^Not tracked: /));
    await flush();
    expect(calls("remindIfNoReply")).toEqual([]);
    // Before, a toast said the reminder was set on the reopened email.
    expect(toasts()).toEqual([]);
  });

  it("a send undone before Gmail's answer came is not registered when the answer comes after all", async () => {
    connected([TRACKING_ID, SECOND_ID]);
    start();
    const id = await send(await openCompose());
    expect(calls("messageSent")).toHaveLength(1); // held back: Gmail may undo it
    notice(true).click();
    await openCompose();
    await gmailAnswered(id);
    expect(calls("messageSent")).toHaveLength(1);
    expect(calls("messageUnsent")).toEqual([{ trackingId: TRACKING_ID }]);
  });

  it("the reopened compose is a new email: its send is registered with its own id and its Undo takes only it back", async () => {
    connected([TRACKING_ID, SECOND_ID]);
    start();
    await gmailAnswered(await send(await openCompose()));
    notice(true).click();
    document.body.innerHTML = "";
    const again = await send(await openCompose());
    expect(again).toBe(SECOND_ID);
    await gmailAnswered(again);
    expect(calls("messageSent").at(-1)).toMatchObject({ trackingId: SECOND_ID });
    expect(calls("messageUnsent")).toEqual([{ trackingId: TRACKING_ID }]);
  });

  it("an Undo on another notice (archive), or after an untracked send, takes nothing of ours back", async () => {
    connected([TRACKING_ID]);
    start();
    await gmailAnswered(await send(await openCompose()));
    notice(false).click();
    expect(calls("messageUnsent")).toEqual([]);
    // Then a send without our id (tracking off, or a compose the extension did not see): the notice is its own.
    await gmailAnswers(
      gmailSendAnswered([
        {
          threadId: "thread-f:9",
          messageId: "msg-f:9",
          legacyThreadId: "18f7a1b2c3d4e5f7",
          legacyMessageId: "18f7a1b2c3d4e5f7",
          subject: "x",
        },
      ]),
    );
    document.body.innerHTML = "";
    notice(true).click();
    expect(calls("messageUnsent")).toEqual([]);
  });

  it("an Undo on a scheduled send's notice withdraws it once: the reopened draft's pixel is not taken for a cancelled scheduled send besides", async () => {
    connected([TRACKING_ID, SECOND_ID]);
    reminderDays = 4;
    // The background would say it was a scheduled send still waiting, and withdraw it a second time.
    const answer = callFromGmail.getMockImplementation();
    callFromGmail.mockImplementation(async (type: string, input: unknown) =>
      type === "scheduledSendReopened" ? { cancelled: { subject: "Pricing", reminderDays } } : answer?.(type, input),
    );
    const run = start(REP_OPTIONS);
    followUpReminder.init(run.signal, { options: REP_OPTIONS });
    const first = await openCompose();
    first.querySelector("td.gU.Up")?.insertAdjacentHTML("beforeend", `<div role="button" aria-haspopup="true">▾</div>`);
    first.querySelector("td.gU.Up [aria-haspopup]")?.dispatchEvent(new MouseEvent("mouseup", { bubbles: true, button: 0 }));
    const scheduled = first.querySelector("[g_editable]")?.innerHTML ?? "";
    first.remove();
    await gmailAnswers(gmailSendAnswered([{ ...SENT_IDS, trackingId: TRACKING_ID, scheduledAt: Date.UTC(2100, 0, 1) }]));
    notice(true).click();
    const told = toasts().length; // "scheduled send tracked", from the compose gone
    // Gmail reopens it as a draft, its body as scheduled: our pixel in it.
    expect(scheduled).toContain(TRACKING_ID);
    const reopened = document.createElement("div");
    reopened.setAttribute("role", "dialog");
    reopened.innerHTML = composeHtml({ subject: "Pricing", body: scheduled });
    document.body.append(reopened);
    await vi.waitFor(() => expect(calls("remindIfNoReply")).toEqual([{ trackingId: SECOND_ID, days: 4 }]));
    await flush();
    expect([calls("messageUnsent"), calls("scheduledSendReopened")]).toEqual([[{ trackingId: TRACKING_ID }], []]);
    expect(toasts().slice(told)).toEqual([
      "Mailtracker: its follow-up reminder (4 days without a reply) is set on the reopened email, for when you resend it.",
    ]);
  });

  it("an Undo later than Gmail's longest undo period takes nothing back", () => {
    connected([]);
    noteSend(TRACKING_ID, "Pricing", 1_000);
    expect(undoLatestSend(1_000 + UNDO_WINDOW_MS + 1)).toBeNull();
    noteSend(TRACKING_ID, "Pricing", 100_000);
    expect(undoLatestSend(100_000 + 30_000)).toBe(TRACKING_ID);
  });

  it("an Undo Gmail does not follow by reopening the email withdraws nothing, and the rep is told it is still tracked", () => {
    // Clicked as the undo period ran out, the email went out all the same: withdrawing it would lose a real send.
    vi.useFakeTimers();
    try {
      connected([]);
      const now = Date.now();
      noteSend(TRACKING_ID, "Pricing", now);
      expect(undoLatestSend(now)).toBe(TRACKING_ID);
      expect(composeOpened("Another email", document.createElement("div"), now + 1_000)).toBeNull(); // a compose of another email proves nothing
      vi.advanceTimersByTime(REOPEN_WAIT_MS + 1);
      expect(composeOpened("Pricing", document.createElement("div"), now + REOPEN_WAIT_MS + 1)).toBeNull();
      expect(calls("messageUnsent")).toEqual([]);
      expect(document.body.textContent).toContain(
        'you used Undo on "Pricing", but Gmail did not reopen it here, so it is still tracked as sent',
      );
      // Where the rep can act on it: the dashboard's message page deletes an email's tracking data (message-page.tsx).
      expect(document.body.textContent).toContain("If it did not go out, delete its tracking data from its page in the dashboard.");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("compose tracking: a scheduled send cancelled in Gmail, back as a draft", () => {
  // On a fake clock: "nothing more was asked" is then checked once the compose has done all it would ever do (settle),
  // not after a sleep, which a compose merely slower than it would pass.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  /**
   * All the compose does after a change, on the fake clock: its redraw (50 ms after the change) and what that changes,
   * its links' signing, its recipients' check, and what each asked meanwhile: all within a second. Well short of a
   * notice's 8 s (ui.ts toast), so a notice shown meanwhile is still there to be seen: running every timer also ran
   * each notice's removal, and a wrong notice was gone before the check that none was shown.
   */
  const settle = () => vi.advanceTimersByTimeAsync(1_000);
  /** Emails scheduled earlier, whose pixels drafts hold: one a test, as a page asks about each once. */
  const scheduledId = (n: number) => `a2b3c4d5e6f7g2h3.1.9QIz9_U20wg5-gs8_Q4-_x.c_Tlpw_Ph9P8OR1DcS8u5${"RSTUVWXYZ"[n]}`;
  const pixel = (id: string) => `<img src="${pixelUrl("https://t.example", id)}" width="1" height="1">`;
  /** Connected to the tracker the background mints ids for, as the rep's options say once connected. */
  const OPTIONS = REP_OPTIONS;
  const calls = (type: string) => callFromGmail.mock.calls.filter(([t]) => t === type).map(([, input]) => input);

  /** A connected tab whose background answers scheduledSendReopened with `answer` (or fails with it). */
  function connected(answer: { subject: string; reminderDays: number | null } | null | Error): void {
    callFromGmail.mockImplementation(async (type: string) => {
      if (type === "mintId") return { trackingId: TRACKING_ID, ...DEPLOYED };
      if (type === "signLinks") return [];
      if (type === "checkRecipients") return { contacts: [] };
      if (type === "scheduledSendReopened") {
        if (answer instanceof Error) throw answer;
        return { cancelled: answer };
      }
      return { queued: true };
    });
  }

  it("a compose holding a scheduled email's pixel: the background withdraws it, the rep is told, its reminder moves to the draft", async () => {
    connected({ subject: "Pricing", reminderDays: 4 });
    const run = start(OPTIONS);
    followUpReminder.init(run.signal, { options: REP_OPTIONS });
    openDialog({ subject: "Pricing", body: `Hi Carol${pixel(scheduledId(0))}` });
    await vi.waitFor(() => expect(calls("scheduledSendReopened")).toEqual([{ trackingId: scheduledId(0) }]));
    await vi.waitFor(() => expect(calls("remindIfNoReply")).toEqual([{ trackingId: TRACKING_ID, days: 4 }]));
    expect(toasts()).toEqual([
      'Mailtracker: scheduled send of "Pricing" cancelled: it is no longer tracked.',
      "Mailtracker: its follow-up reminder (4 days without a reply) is set on the reopened email, for when you resend it.",
    ]);
    // Asked once, however often the rep types in it.
    document.querySelector("[g_editable]")?.append(" and more");
    await settle();
    expect(calls("scheduledSendReopened")).toHaveLength(1);
  });

  it("an email the background says was no waiting scheduled send (sent already): nothing is said or changed", async () => {
    connected(null);
    start(OPTIONS);
    openDialog({ subject: "Pricing", body: `Hi Carol${pixel(scheduledId(1))}` });
    await vi.waitFor(() => expect(calls("scheduledSendReopened")).toHaveLength(1));
    await settle();
    expect(toasts()).toEqual([]);
  });

  it("a pixel in a quote (a reply or a forward), and the compose's own pixel at its send, are never asked about", async () => {
    connected({ subject: "Pricing", reminderDays: null });
    await openMinted(
      {
        subject: "Re: Pricing",
        body: `Thanks<div class="gmail_quote"><blockquote class="gmail_quote">Hi${pixel(scheduledId(2))}</blockquote></div>`,
      },
      OPTIONS,
    );
    connected({ subject: "Pricing", reminderDays: null });
    clickSend();
    await settle();
    expect(document.querySelector(`[g_editable] img[src*="${TRACKING_ID}"]`)).not.toBeNull();
    expect(calls("scheduledSendReopened")).toEqual([]);
  });

  const body = () => document.querySelector("[g_editable]") as HTMLElement;

  it("a draft Gmail fills in after opening its compose empty (as compose-dialog-2020-10.html opens, `<br>`) is looked at", async () => {
    connected({ subject: "Pricing", reminderDays: null });
    await openMinted({ subject: "Pricing", body: "<br>" }, OPTIONS);
    connected({ subject: "Pricing", reminderDays: null });
    body().innerHTML = `Hi Carol${pixel(scheduledId(4))}`;
    await vi.waitFor(() => expect(calls("scheduledSendReopened")).toEqual([{ trackingId: scheduledId(4) }]));
  });

  it("a scheduled email the rep pastes into a new compose is not taken for its cancelled send: Gmail sends the paste as another email, and the scheduled one still goes out", async () => {
    connected({ subject: "Pricing", reminderDays: null });
    await openMinted({ subject: "Pricing", body: "<br>" }, OPTIONS);
    connected({ subject: "Pricing", reminderDays: null });
    // The paste (its rendered body, our pixel's original address kept), which Gmail may insert itself: no beforeinput.
    body().dispatchEvent(new Event("paste", { bubbles: true }));
    body().innerHTML = `Hi Carol${pixel(scheduledId(5))}`;
    await settle();
    expect([calls("scheduledSendReopened"), toasts()]).toEqual([[], []]);
  });

  it("only Gmail's first filling of an empty compose is looked at (here, its signature): a pixel coming after it is not, nor is the body at each change", async () => {
    connected({ subject: "Pricing", reminderDays: null });
    await openMinted({ subject: "Pricing", body: "<br>" }, OPTIONS);
    connected({ subject: "Pricing", reminderDays: null });
    body().innerHTML = '<br><div class="gmail_signature">-- <br>Sam</div>';
    await settle();
    body().insertAdjacentHTML("afterbegin", `Hi Lee,${pixel(scheduledId(6))}`);
    await settle();
    expect(calls("scheduledSendReopened")).toEqual([]);
  });

  it("an email sent with nothing in its body: its own pixel, the first thing in it, is not asked about", async () => {
    // Its own id, which no other test's compose asked about or took back with Undo: this page settles each once.
    const own = scheduledId(7);
    backgroundMinting(own);
    openDialog({ subject: "Pricing", body: "<br>" });
    start(OPTIONS);
    await vi.waitFor(() => expect(document.querySelector(".mt-toolbar")?.getAttribute("data-mt-tracking-id")).toBe(own));
    clickSend();
    await settle();
    expect(document.querySelector(`[g_editable] img[src*="${own}"]`)).not.toBeNull();
    expect(calls("scheduledSendReopened")).toEqual([]);
  });

  it("when the background cannot say, the rep is told once that a cancelled scheduled send may still be tracked", async () => {
    connected(new Error("the tracker answered 503"));
    start(OPTIONS);
    openDialog({ subject: "Pricing", body: `Hi Carol${pixel(scheduledId(3))}` });
    await vi.waitFor(() => expect(toasts()).toHaveLength(1));
    expect(toasts()[0]).toBe(
      "Mailtracker: this draft is a tracked email. If you cancelled its scheduled send, it is still tracked: the extension could not check (Error: the tracker answered 503).",
    );
  });
});
