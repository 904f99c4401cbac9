// @vitest-environment happy-dom
// The replies-and-bounces feature on a simulated Gmail conversation: it reports each reply and notice once, however
// often Gmail re-renders the view, and tries again after a failure.
import { afterEach, describe, expect, it, vi } from "vitest";

const calls: { type: string; input: { self: string[]; signals: { gmailMessageId: string; kind: string }[] } }[] = [];
let answer: () => Promise<unknown> = async () => ({ answered: [], recorded: 0 });
/** The background reads Gmail's lists with its own handler (background/gmail-traffic.ts), unless a test makes it fail. */
const listReads = vi.hoisted(() => ({ failing: 0, count: 0 }));
vi.mock("../../messaging", async () => {
  const { runHandler } = await import("../../background/handler");
  const { gmailTrafficHandlers } = await import("../../background/gmail-traffic");
  return {
    callFromGmail: (type: string, input: never) => {
      if (type === "readGmailList") {
        // Gmail's answers to lists, which the tests emit (an earlier test's page world may still tell its page's list).
        if (!(input as { embedded: boolean }).embedded) {
          listReads.count += 1;
          if (listReads.failing > 0 && listReads.failing--) return Promise.reject(new Error("the background did not answer readGmailList"));
        }
        return runHandler(type, gmailTrafficHandlers.readGmailList, input, {});
      }
      calls.push({ type, input });
      return answer();
    },
  };
});
vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { stoppedAfterEach } from "../../../../test/stopped-after-each";
import { REP_OPTIONS } from "../../options-store.test-support";
import { emitPageEvent } from "../../page-world/events";
import { installGmailDataHook } from "../../page-world/gmail-data";
import { gmailEmbeddedList, gmailListAnswer } from "../../page-world/sync-answer.test-support";
import { sentDraftIds } from "../feature";
import { LISTS_READ_ATTRIBUTE } from "../gmail-selectors";
import { repliesBounces } from "./replies-bounces";

const NOTICE = `Address not found. Your message wasn't delivered to carol@nowhere.example because the address couldn't be found.
550 5.1.1 The email account that you tried to reach does not exist.`;

function render(extra = ""): void {
  document.title = "Pricing - me@example.com - Gmail";
  document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d4e5f6">Pricing</h2>
    <div class="adn" data-message-id="#msg-f:1" data-legacy-message-id="18f7a1b2c3d4e5f6"><h3 class="iw"><span class="gD" email="me@example.com" name="Me">Me</span></h3><div class="ii gt"><div class="a3s">Hi</div></div></div>
    <div class="adn" data-message-id="#msg-f:2" data-legacy-message-id="18f7a1b2c3d4e601"><h3 class="iw"><span class="gD" email="carol@prospect.example" name="Carol">Carol</span></h3><div class="ii gt"><div class="a3s">Yes please</div></div></div>
    <div class="adn" data-message-id="#msg-f:3" data-legacy-message-id="18f7a1b2c3d4e602"><h3 class="iw"><span class="gD" email="mailer-daemon@googlemail.com" name="Mail Delivery Subsystem">Mail Delivery Subsystem</span></h3><div class="ii gt"><div class="a3s">${NOTICE}</div></div></div>
    ${extra}</div>`;
}

/**
 * Runs of the feature for one test, stopped after it: a run a failing test left going would still watch the page and
 * hear Gmail's lists, and report a later test's messages as that test's own run does, doubling its calls.
 */
function start(): AbortController {
  const controller = running(new AbortController());
  repliesBounces.init(controller.signal, { options: REP_OPTIONS });
  return controller;
}

afterEach(() => {
  calls.length = 0;
  listReads.failing = 0;
  listReads.count = 0;
  vi.useRealTimers();
});
// Stopped before the afterEach above forgets the calls: a run still going could add one for the next test.
const running = stoppedAfterEach<AbortController>((controller) => controller.abort());

describe("replies-bounces", () => {
  it("reports no message under the legacy id Gmail left from the draft of a compose this tab sent (InboxSDK #515)", async () => {
    vi.useFakeTimers();
    answer = async () => ({ answered: ["18f7a1b2c3d4eb01"], recorded: 1 });
    // Carol's reply, then the rep's follow-up, sent from this tab a moment ago (compose-tracking.ts), untracked, from an
    // address the page does not name; the keys are this test's own (the feature reports a key once per page).
    sentDraftIds.add("msg-a:r8190137112111191537");
    const sender = (email: string, name: string) => `<h3 class="iw"><span class="gD" email="${email}" name="${name}">${name}</span></h3>`;
    document.title = "Plans - me@example.com - Gmail";
    document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d4eb00">Plans</h2>
      <div class="adn" data-message-id="#msg-f:90" data-legacy-message-id="18f7a1b2c3d4eb00">${sender("me@example.com", "Me")}<div class="ii gt"><div class="a3s">Hi</div></div></div>
      <div class="adn" data-message-id="#msg-f:91" data-legacy-message-id="18f7a1b2c3d4eb01">${sender("carol@prospect.example", "Carol")}<div class="ii gt"><div class="a3s">Which plan?</div></div></div>
      <div class="adn" data-message-id="#msg-a:r8190137112111191537" data-legacy-message-id="18f7a1b2c3d4eaff">${sender("sales@example.com", "Sales")}<div class="ii gt"><div class="a3s">The yearly one.</div></div></div></div>`;
    const controller = start();
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort();
    sentDraftIds.clear();
    expect(calls.flatMap((call) => call.input.signals.map((s) => s.gmailMessageId))).toEqual(["18f7a1b2c3d4eb01"]);
  });

  it("reports the reply and the notice once; re-renders and new views of the same messages send nothing more", async () => {
    vi.useFakeTimers();
    answer = async () => ({ answered: ["18f7a1b2c3d4e601", "18f7a1b2c3d4e602"], recorded: 2 });
    render();
    start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.type).toBe("reportSignals");
    expect(calls[0]?.input.self).toEqual(["me@example.com"]);
    expect(calls[0]?.input.signals.map((s) => [s.kind, s.gmailMessageId])).toEqual([
      ["reply", "18f7a1b2c3d4e601"],
      ["bounce", "18f7a1b2c3d4e602"],
    ]);

    // Gmail re-renders the conversation (same messages, new elements), twice.
    render();
    await vi.advanceTimersByTimeAsync(1000);
    render();
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);

    // A new reply arrives: only it is reported.
    render(
      `<div class="adn" data-message-id="#msg-f:4" data-legacy-message-id="18f7a1b2c3d4e603"><h3 class="iw"><span class="gD" email="dan@prospect.example" name="Dan">Dan</span></h3><div class="ii gt"><div class="a3s">Me too</div></div></div>`,
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((c) => c.input.signals.map((s) => s.gmailMessageId))).toEqual([
      ["18f7a1b2c3d4e601", "18f7a1b2c3d4e602"],
      ["18f7a1b2c3d4e603"],
    ]);
  });

  it("after a failed report (tracker down), tries again later, not on every re-render", async () => {
    vi.useFakeTimers();
    answer = async () => {
      throw new Error("cannot reach the tracker");
    };
    // Keys from the previous test are settled in this page; a new thread's messages are not.
    render(
      `<div class="adn" data-message-id="#msg-f:5" data-legacy-message-id="18f7a1b2c3d4e604"><h3 class="iw"><span class="gD" email="erin@prospect.example" name="Erin">Erin</span></h3><div class="ii gt"><div class="a3s">Hello</div></div></div>`,
    );
    start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    render(
      `<div class="adn" data-message-id="#msg-f:5" data-legacy-message-id="18f7a1b2c3d4e604"><h3 class="iw"><span class="gD" email="erin@prospect.example" name="Erin">Erin</span></h3><div class="ii gt"><div class="a3s">Hello</div></div></div>`,
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    answer = async () => ({ answered: ["18f7a1b2c3d4e604"], recorded: 1 });
    await vi.advanceTimersByTimeAsync(31_000);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.input.signals.map((s) => s.gmailMessageId)).toEqual(["18f7a1b2c3d4e604"]);
  });

  it("reports a reply that only Gmail's answer to a thread list names, once, and not again when its conversation shows it", async () => {
    vi.useFakeTimers();
    document.title = "Inbox - me@example.com - Gmail";
    document.body.innerHTML = `<div role="main"></div>`;
    start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(0);
    // An answer whose threads hold no message this script can read (as after a change of Gmail's): Gmail's health is
    // not told the lists are read.
    emitPageEvent(document, "mt:gmail-list-answered", JSON.stringify([null, null, [[[null, "snippet", null, "thread-a:r-42", null]]]]));
    await vi.advanceTimersByTimeAsync(1000);
    expect(document.documentElement.hasAttribute(LISTS_READ_ATTRIBUTE)).toBe(false);
    answer = async () => ({ answered: ["18f7a1b2c3d4e701"], recorded: 1 });
    const list = gmailListAnswer([
      {
        syncThreadId: "thread-a:r-42",
        legacyThreadId: "18f7a1b2c3d4e700",
        messages: [
          { id: "18f7a1b2c3d4e700", from: "me@example.com" },
          { id: "18f7a1b2c3d4e701", from: "frank@prospect.example", name: "Frank" },
        ],
      },
    ]);
    emitPageEvent(document, "mt:gmail-list-answered", list);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((c) => c.input.signals.map((s) => [s.kind, s.gmailMessageId]))).toEqual([[["reply", "18f7a1b2c3d4e701"]]]);
    expect(document.documentElement.hasAttribute(LISTS_READ_ATTRIBUTE)).toBe(true);
    document.documentElement.removeAttribute(LISTS_READ_ATTRIBUTE);
    // The same list answered again, and the reply's conversation opened: nothing more.
    emitPageEvent(document, "mt:gmail-list-answered", list);
    document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d4e700">Hi</h2>
      <div class="adn" data-message-id="#msg-f:7" data-legacy-message-id="18f7a1b2c3d4e700"><h3 class="iw"><span class="gD" email="me@example.com" name="Me">Me</span></h3><div class="ii gt"><div class="a3s">Hi</div></div></div>
      <div class="adn" data-message-id="#msg-f:8" data-legacy-message-id="18f7a1b2c3d4e701"><h3 class="iw"><span class="gD" email="frank@prospect.example" name="Frank">Frank</span></h3><div class="ii gt"><div class="a3s">Sure</div></div></div></div>`;
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
  });

  it("reports a reply that the page's first list names, written in before this script listened and before the page named the account", async () => {
    // The page world starts first; then Gmail's scripts define _GM_setData and write the list (gmail-data.ts), before
    // the title names the account.
    document.title = "Gmail";
    document.body.innerHTML = `<div role="main"></div>`;
    const gmail = window as unknown as { _GM_setData?: (data: unknown) => void };
    installGmailDataHook(window);
    gmail._GM_setData = () => undefined;
    const list = gmailEmbeddedList([
      {
        syncThreadId: "thread-a:r-43",
        legacyThreadId: "18f7a1b2c3d4e800",
        // The rep's message told by the address alone (no label ^f): only the page's addresses say it is the rep's.
        messages: [
          { id: "18f7a1b2c3d4e800", from: "me@example.com" },
          { id: "18f7a1b2c3d4e801", from: "grace@prospect.example", name: "Grace" },
        ],
      },
    ]);
    gmail._GM_setData?.({ a6jdv: [[null, null, list]] });
    await new Promise((resolve) => setTimeout(resolve, 0));
    answer = async () => ({ answered: ["18f7a1b2c3d4e801"], recorded: 1 });
    vi.useFakeTimers();
    start();
    try {
      document.title = "Inbox - me@example.com - Gmail";
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls.map((c) => c.input.signals.map((s) => [s.kind, s.gmailMessageId]))).toEqual([[["reply", "18f7a1b2c3d4e801"]]]);
      // A list whose messages were read: Gmail's health knows the rows' replies come from it.
      expect(document.documentElement.hasAttribute(LISTS_READ_ATTRIBUTE)).toBe(true);
    } finally {
      delete gmail._GM_setData;
      document.documentElement.removeAttribute(LISTS_READ_ATTRIBUTE);
    }
  });
  /** A Gmail list answer naming one reply of Frank's, in its own thread (`n` makes each its own). */
  const replyList = (n: number) =>
    gmailListAnswer([
      {
        syncThreadId: `thread-a:r-5${n}`,
        legacyThreadId: `18f7a1b2c3d4e9${n}0`,
        messages: [
          { id: `18f7a1b2c3d4e9${n}0`, from: "me@example.com" },
          { id: `18f7a1b2c3d4e9${n}1`, from: "frank@prospect.example", name: "Frank" },
        ],
      },
    ]);

  it("a list the background could not read is passed over, and the next one is still read", async () => {
    vi.useFakeTimers();
    document.title = "Inbox - me@example.com - Gmail";
    document.body.innerHTML = `<div role="main"></div>`;
    answer = async () => ({ answered: ["18f7a1b2c3d4e921"], recorded: 1 });
    listReads.failing = 1;
    start();
    emitPageEvent(document, "mt:gmail-list-answered", replyList(1));
    emitPageEvent(document, "mt:gmail-list-answered", replyList(2));
    await vi.advanceTimersByTimeAsync(1000);
    expect(listReads.count).toBe(2);
    expect(calls.map((c) => c.input.signals.map((s) => [s.kind, s.gmailMessageId]))).toEqual([[["reply", "18f7a1b2c3d4e921"]]]);
  });

  it("a list whose reading comes back after the feature stopped reports nothing (the next run reads its own)", async () => {
    vi.useFakeTimers();
    document.title = "Inbox - me@example.com - Gmail";
    document.body.innerHTML = `<div role="main"></div>`;
    const controller = start();
    // Its first scan done: nothing waits to be looked at when the list comes.
    await vi.advanceTimersByTimeAsync(1000);
    emitPageEvent(document, "mt:gmail-list-answered", replyList(3));
    controller.abort();
    await vi.advanceTimersByTimeAsync(1000);
    expect(listReads.count).toBe(1);
    expect(calls).toEqual([]);
  });
});
