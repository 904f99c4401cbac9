// @vitest-environment happy-dom
// Sent list marks on a thread list test page built from the attributes gmail.md names for today's rows
// (`tr.zA[role=row]`, `.bog span[data-thread-id][data-legacy-thread-id]`; simulated, not a capture), and on the real
// classic capture (no ids: nothing marked). Re-render: Gmail replaces a row node, the mark comes back at once, the
// same, with no new request. Navigation asks again, once for the page.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import type { MessageStatus } from "../../../../shared/api";
import { stoppedAfterEach } from "../../../../test/stopped-after-each";
import { detailOf } from "../../message-detail.test-support";
import { aggregate, RETRY_FIRST_MS, ThreadListMarks, tooltip } from "./sent-list-marks";

const FIXTURE = path.resolve(import.meta.dirname, "../../../../test/fixtures/gmail/thread-list-classic-2014-12.html");

function row(legacy: string | null, subject: string): string {
  const ids = legacy ? ` data-thread-id="#thread-f:${BigInt(`0x${legacy}`)}" data-legacy-thread-id="${legacy}"` : "";
  return `<tr class="zA yO" role="row"><td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6">
    <span class="bog"><span${ids}>${subject}</span></span></div></div></div></td><td class="xW xY"><span title="Nov 22">12:00</span></td></tr>`;
}

function page(rows: string[]): void {
  document.body.innerHTML = `<div role="main"><table class="F cf zt"><tbody>${rows.join("")}</tbody></table></div>`;
}

const status = (threadId: string, s: Partial<MessageStatus>): MessageStatus =>
  detailOf(`id-${threadId}-${Math.random()}`, { threadId, ...s });

/** The background's answer (threadStatus) with these tracked messages, and no email waiting in the outbox. */
const answer = (messages: MessageStatus[]) => ({ messages, unregistered: [] });

function tracker(answers: Record<string, Partial<MessageStatus>[]>) {
  const requests: string[][] = [];
  const fetchStatus = async (ids: string[]) => {
    requests.push(ids);
    return answer(ids.flatMap((id) => (answers[id] ?? []).map((s) => status(id, s))));
  };
  return { requests, fetchStatus };
}

const marks = () =>
  [...document.querySelectorAll(".mt-mark")].map((m) => [m.getAttribute("data-mt-thread"), m.getAttribute("data-mt-state"), m.textContent]);

/**
 * Lists for one test, stopped after it: a failed read's retry is a real timer (RETRY_FIRST_MS), and a list a failing
 * test left running would scan a later test's page when it fired, asking its own tracker and drawing its own marks
 * there (as conversation-panel.test.ts's panels did).
 */
const keepRunning = stoppedAfterEach<ThreadListMarks>((list) => list.stop());
const startList = (...args: ConstructorParameters<typeof ThreadListMarks>) => keepRunning(new ThreadListMarks(...args));

describe("sent list marks", () => {
  it("marks tracked rows by state with one request for the page, and leaves untracked rows alone", async () => {
    page([
      row("a1", "Delivered"),
      row("b2", "Opened"),
      row("c3", "Clicked"),
      row("d4", "Untracked"),
      row(null, "No ids"),
      row("e5", "Bounced"),
    ]);
    const { requests, fetchStatus } = tracker({
      a1: [{}],
      // The tracker may know a thread by its thread-f form: the row carries both.
      [`thread-f:${BigInt("0xb2")}`]: [{ state: "opened", openCount: 2, lastOpenAt: "2026-11-22T10:00:00Z" }],
      c3: [{ state: "clicked", openCount: 1, clickCount: 1 }, { state: "delivered" }],
      e5: [{ state: "bounced" as MessageStatus["state"] }],
    });
    const list = startList(document, fetchStatus);
    list.scan();
    expect(marks()).toEqual([]);
    await list.flush();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toContain("a1");
    expect(requests[0]).toContain(`thread-f:${BigInt("0xb2")}`);
    expect(marks()).toEqual([
      ["a1", "delivered", ""],
      ["b2", "opened", "2"],
      ["c3", "clicked", "1"],
      ["e5", "bounced", ""],
    ]);
    const opened = document.querySelector('.mt-mark[data-mt-thread="b2"]');
    expect(opened?.getAttribute("title")).toMatch(/^Opened 2 times, last .+; 0 clicks$/);
    expect(opened?.className).toBe("mt-mark mt-mark-opened");
    // The mark sits first inside the subject, the subject text untouched.
    expect(opened?.parentElement?.className).toBe("bog");
    expect(document.querySelector('[data-legacy-thread-id="d4"]')?.closest("tr")?.querySelector(".mt-mark")).toBeNull();
  });

  it("with the reading pane on the right, marks the subject in the thread's second row (InboxSDK's vertical split rows)", async () => {
    // InboxSDK thread-row-parser.ts (a8a6fe2, 2026-07-23): `tr.zA.apv` holds the people and date, the next row the
    // subject `td div.xS div.xT div.y6 > span`; no public capture of them.
    document.body.innerHTML = `<div role="main"><table class="F cf zt"><tbody>
      <tr class="zA apv" role="row"><td class="apy"><div class="yW"><span email="ines@prospect.example">Ines</span></div></td></tr>
      <tr><td class="xY"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog">
        <span data-thread-id="#thread-f:${BigInt("0xf6")}" data-legacy-thread-id="f6">Split</span></span></div></div></div></td></tr>
    </tbody></table></div>`;
    const { requests, fetchStatus } = tracker({ f6: [{ state: "opened", openCount: 1 }] });
    const list = startList(document, fetchStatus);
    list.scan();
    await list.flush();
    expect(requests).toEqual([["f6", `thread-f:${BigInt("0xf6")}`]]);
    expect(marks()).toEqual([["f6", "opened", "1"]]);
    expect(document.querySelector(".mt-mark")?.parentElement?.className).toBe("bog");
    // Scans again (each re-render, navigation and piece of news) find the mark there: no second copy.
    list.scan();
    list.scan();
    await list.flush();
    expect(marks()).toEqual([["f6", "opened", "1"]]);
    // Gmail reuses the rows for an untracked thread: its mark goes.
    const ids = document.querySelector("[data-legacy-thread-id]") as Element;
    ids.setAttribute("data-legacy-thread-id", "a7");
    ids.setAttribute("data-thread-id", `#thread-f:${BigInt("0xa7")}`);
    list.scan();
    await list.flush();
    expect(marks()).toEqual([]);
  });

  it("when Gmail re-renders rows, the same marks come back synchronously, once each, with no new request", async () => {
    page([row("a1", "One"), row("b2", "Two")]);
    const { requests, fetchStatus } = tracker({ a1: [{ state: "opened", openCount: 1 }], b2: [{}] });
    const list = startList(document, fetchStatus);
    const observer = new MutationObserver(() => list.scan());
    observer.observe(document, { childList: true, subtree: true });
    list.scan();
    await list.flush();
    const before = marks();
    expect(before).toHaveLength(2);

    for (let round = 0; round < 5; round++) {
      // Gmail replaces the row node with a fresh one (no mark in it), as it does on refresh or hover.
      const old = document.querySelector("tr.zA") as HTMLElement;
      const fresh = document.createElement("tbody");
      fresh.innerHTML = row("a1", "One");
      old.replaceWith(fresh.firstElementChild as Element);
      await Promise.resolve(); // mutation records are delivered as a microtask: before the next paint
      await Promise.resolve();
      expect(marks().sort()).toEqual([...before].sort());
      // Gmail rewrites a subject's contents: our mark goes with it and is put back.
      const subject = document.querySelector('.bog span[data-legacy-thread-id="b2"]')?.parentElement as HTMLElement;
      subject.innerHTML = '<span data-thread-id="#thread-f:178" data-legacy-thread-id="b2">Two</span>';
      await Promise.resolve();
      await Promise.resolve();
      expect(document.querySelectorAll(".mt-mark")).toHaveLength(2);
    }
    list.scan();
    list.scan();
    await list.flush();
    expect(requests).toHaveLength(1);
    observer.disconnect();
  });

  it("leaves a mark that is already right as it is, and gives a re-rendered row a copy of its thread's mark", async () => {
    page([row("a1", "One")]);
    const list = startList(document, tracker({ a1: [{ state: "opened", openCount: 3, lastOpenAt: "2026-11-22T10:00:00Z" }] }).fetchStatus);
    list.scan();
    await list.flush();
    const drawn = document.querySelector(".mt-mark");
    const changes: MutationRecord[] = [];
    const observer = new MutationObserver((records) => changes.push(...records));
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, characterData: true });
    list.scan();
    await Promise.resolve();
    expect(changes).toEqual([]);
    expect(document.querySelector(".mt-mark")).toBe(drawn);
    page([row("a1", "One")]);
    list.scan();
    const copy = document.querySelector(".mt-mark");
    expect(copy).not.toBe(drawn);
    expect(copy?.isEqualNode(drawn ?? null)).toBe(true);
    expect(copy?.getAttribute("title")).toMatch(/^Opened 3 times, last .+; 0 clicks$/);
    observer.disconnect();
  });

  it("keeps the threads shown last, up to its bound: one shown long ago is asked again when shown again", async () => {
    page([row("a1", "One"), row("b2", "Two")]);
    const { requests, fetchStatus } = tracker({ a1: [{}], b2: [{}], c3: [{}], d4: [{}] });
    const list = startList(document, fetchStatus, Date.now, 3);
    list.scan();
    await list.flush();
    // b2 shown again (Gmail re-rendered its row), a1 not: a1 is now the one shown longest ago.
    page([row("b2", "Two")]);
    list.scan();
    page([row("c3", "Three"), row("d4", "Four")]);
    list.scan();
    await list.flush();
    expect(requests).toHaveLength(2);
    // Back to the first list: b2 is still known and marked at once; a1 was let go and is asked for, alone.
    page([row("a1", "One"), row("b2", "Two")]);
    list.scan();
    expect(marks()).toEqual([["b2", "delivered", ""]]);
    await list.flush();
    expect(requests).toHaveLength(3);
    expect(requests.at(-1)?.filter((id) => !id.startsWith("thread-f"))).toEqual(["a1"]);
    expect(marks().map((m) => m[0])).toEqual(["a1", "b2"]);
  });

  it("navigation and feed news ask again (once for the page) and update the marks in place", async () => {
    page([row("a1", "One"), row("b2", "Two")]);
    const answers: Record<string, Partial<MessageStatus>[]> = { a1: [{}], b2: [{}] };
    const { requests, fetchStatus } = tracker(answers);
    const list = startList(document, fetchStatus);
    list.scan();
    await list.flush();
    expect(marks().map((m) => m[1])).toEqual(["delivered", "delivered"]);
    answers.a1 = [{ state: "opened", openCount: 1 }];
    list.expire(["a1"]);
    list.scan();
    expect(marks().map((m) => m[1])).toEqual(["delivered", "delivered"]); // kept meanwhile: no flicker
    await list.flush();
    expect(requests.at(-1)).toEqual(["a1", `thread-f:${BigInt("0xa1")}`]);
    expect(marks().map((m) => m.slice(1))).toEqual([
      ["opened", "1"],
      ["delivered", ""],
    ]);
    // A new view (hash navigation): other rows, one request for them.
    page([row("c3", "Three"), row("d4", "Four"), row("a1", "One")]);
    list.expire();
    list.scan();
    expect(marks()).toEqual([["a1", "opened", "1"]]);
    await list.flush();
    expect(requests).toHaveLength(3);
    expect(requests.at(-1)?.filter((id) => !id.startsWith("thread-f"))).toEqual(["c3", "d4", "a1"]);
  });

  it("marks a row that carries only Gmail's sync id of a thread the rep started, and updates it on news named by the legacy id", async () => {
    // A Sent row of a thread the rep started may carry only `data-thread-id="#thread-a:r…"`, no number of its legacy id
    // (2022-09-09-cvOnSend_response.json: thread-a:r263523620390330024 is 183234ce86ffa010). The tracker knows both.
    document.body.innerHTML = `<div role="main"><table class="F cf zt"><tbody><tr class="zA yO" role="row"><td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6">
      <span class="bog"><span data-thread-id="#thread-a:r263523620390330024">Intro</span></span></div></div></div></td></tr></tbody></table></div>`;
    const requests: string[][] = [];
    let state: Partial<MessageStatus> = {};
    const list = startList(document, async (ids) => {
      requests.push(ids);
      return answer(
        ids.includes("thread-a:r263523620390330024")
          ? [{ ...status("183234ce86ffa010", state), syncThreadId: "thread-a:r263523620390330024" }]
          : [],
      );
    });
    list.scan();
    await list.flush();
    expect(requests).toEqual([["thread-a:r263523620390330024"]]);
    expect(marks()).toEqual([["thread-a:r263523620390330024", "delivered", ""]]);
    // The feed's news name the thread by its legacy id.
    state = { state: "opened", openCount: 1 };
    list.expire(["183234ce86ffa010"]);
    list.scan();
    await list.flush();
    expect(requests).toHaveLength(2);
    expect(marks()).toEqual([["thread-a:r263523620390330024", "opened", "1"]]);
  });

  it("asks at once, with no timer, and rows that come while a request is out go in one request when it is answered", async () => {
    page([row("a1", "One")]);
    const answered: (() => void)[] = [];
    const { requests, fetchStatus } = tracker({ a1: [{}], b2: [{ state: "opened", openCount: 1 }], c3: [{}] });
    const held = (ids: string[]) => new Promise<void>((resolve) => answered.push(resolve)).then(() => fetchStatus(ids));
    const list = startList(document, held);
    list.scan();
    await Promise.resolve(); // only the microtasks of this mutation checkpoint: no time passes
    expect(answered).toHaveLength(1);
    // Gmail adds rows in two later tasks while the first request is out: they wait for it, then go together.
    const add = (html: string) => {
      const parsed = document.createElement("tbody");
      parsed.innerHTML = html;
      document.querySelector("tbody")?.append(parsed.firstElementChild as Element);
    };
    add(row("b2", "Two"));
    list.scan();
    await Promise.resolve();
    add(row("c3", "Three"));
    list.scan();
    await Promise.resolve();
    expect(answered).toHaveLength(1);
    answered[0]?.();
    await vi.waitFor(() => expect(answered).toHaveLength(2));
    expect(marks()).toEqual([["a1", "delivered", ""]]);
    answered[1]?.();
    await vi.waitFor(() => expect(marks()).toHaveLength(3));
    expect(requests.map((ids) => ids.filter((id) => !id.startsWith("thread-f")))).toEqual([["a1"], ["b2", "c3"]]);
    expect(marks()).toEqual([
      ["a1", "delivered", ""],
      ["b2", "opened", "1"],
      ["c3", "delivered", ""],
    ]);
  });

  it("draws the answer on the rows that waited for it: re-rendered ones included, never on a row that now shows another thread", async () => {
    page([row("a1", "One"), row("b2", "Two")]);
    const answered: (() => void)[] = [];
    const { fetchStatus } = tracker({ a1: [{}], b2: [{ state: "opened", openCount: 1 }], c3: [{ state: "clicked", clickCount: 1 }] });
    const held = (ids: string[]) => new Promise<void>((resolve) => answered.push(resolve)).then(() => fetchStatus(ids));
    const list = startList(document, held);
    list.scan();
    await Promise.resolve();
    expect(answered).toHaveLength(1);
    // While the request is out, Gmail replaces the first row's node (its observer scans), and reuses the second
    // row's node for another thread.
    const [first, second] = document.querySelectorAll("tr");
    const parsed = document.createElement("tbody");
    parsed.innerHTML = row("a1", "One");
    first?.replaceWith(parsed.firstElementChild as Element);
    list.scan();
    const reused = second?.querySelector("[data-legacy-thread-id]") as Element;
    reused.setAttribute("data-legacy-thread-id", "c3");
    reused.setAttribute("data-thread-id", `#thread-f:${BigInt("0xc3")}`);
    answered[0]?.();
    await vi.waitFor(() => expect(marks()).toHaveLength(1));
    expect(marks()).toEqual([["a1", "delivered", ""]]);
    // The reused row's own scan asks for its thread.
    list.scan();
    await vi.waitFor(() => expect(answered).toHaveLength(2));
    answered[1]?.();
    await vi.waitFor(() => expect(marks()).toHaveLength(2));
    expect(marks()).toEqual([
      ["a1", "delivered", ""],
      ["c3", "clicked", ""],
    ]);
  });

  it("marks a thread whose email is not on the tracker yet with its own mark and the background's words, until it is", async () => {
    page([row("a1", "Waiting"), row("b2", "Refused"), row("c3", "Follow-up waiting"), row("d4", "Untracked")]);
    let registered = false;
    const list = startList(document, async (ids) => ({
      messages:
        ids.includes("c3") || (registered && ids.includes("a1")) ? [status(ids.includes("c3") ? "c3" : "a1", { openCount: 0 })] : [],
      unregistered: [
        ...(registered ? [] : [{ threadIds: ["a1"], title: "Waiting to reach your tracker" }]),
        { threadIds: [`thread-f:${BigInt("0xb2")}`], title: "Not registered: your tracker refused it" },
        // A follow-up in a thread whose first email is tracked: the thread keeps that email's mark.
        { threadIds: ["c3"], title: "Waiting to reach your tracker" },
      ].filter((u) => u.threadIds.some((id) => ids.includes(id))),
    }));
    list.scan();
    await list.flush();
    expect(marks()).toEqual([
      ["a1", "unregistered", ""],
      ["b2", "unregistered", ""],
      ["c3", "delivered", ""],
    ]);
    const waiting = document.querySelector('.mt-mark[data-mt-thread="a1"]');
    expect([waiting?.getAttribute("title"), waiting?.className]).toEqual(["Waiting to reach your tracker", "mt-mark mt-mark-unregistered"]);
    expect(document.querySelector('.mt-mark[data-mt-thread="b2"]')?.getAttribute("title")).toBe("Not registered: your tracker refused it");
    // Delivered: the news of its thread asks again, and the tracker's state takes the mark's place.
    registered = true;
    list.expire(["a1"]);
    list.scan();
    await list.flush();
    expect(marks()[0]).toEqual(["a1", "delivered", ""]);
  });

  it("news that comes while a request is out asks again once it is answered: the answer may predate what the news tells of", async () => {
    page([row("a1", "Waiting")]);
    const answered: (() => void)[] = [];
    let registered = false;
    const list = startList(document, async (ids) => {
      // Read as the request goes out; answered when the test says.
      const messages = registered && ids.includes("a1") ? [status("a1", { openCount: 0 })] : [];
      await new Promise<void>((resolve) => answered.push(resolve));
      return { messages, unregistered: messages.length ? [] : [{ threadIds: ["a1"], title: "Waiting to reach your tracker" }] };
    });
    list.scan();
    await vi.waitFor(() => expect(answered).toHaveLength(1));
    // The registration is delivered while the read is out, and the feed's news of its thread comes: the read out was
    // made before, and says the email waits.
    registered = true;
    list.expire(["a1"]);
    list.scan();
    answered[0]?.();
    await vi.waitFor(() => expect(answered).toHaveLength(2));
    expect(marks()).toEqual([["a1", "unregistered", ""]]);
    answered[1]?.();
    await vi.waitFor(() => expect(marks()).toEqual([["a1", "delivered", ""]]));
  });

  it("news that comes while a failing request is out asks again at once, not after the failure's wait", async () => {
    // On a clock that does not move: the failure's wait (RETRY_FIRST_MS) never passes, so only the news can ask again.
    vi.useFakeTimers();
    try {
      page([row("a1", "Waiting")]);
      // Each request answered when the test says: its failure, or the tracker's answer.
      const answers: ((failure?: Error) => void)[] = [];
      const list = startList(
        document,
        (ids) =>
          new Promise((resolve, reject) =>
            answers.push((failure) =>
              failure ? reject(failure) : resolve(answer(ids.includes("a1") ? [status("a1", { openCount: 0 })] : [])),
            ),
          ),
      );
      const requests = () => answers.length;
      list.scan();
      await vi.advanceTimersByTimeAsync(0);
      expect(requests()).toBe(1);
      // The tracker is back and its news comes while a read made before is still out; that read then fails.
      list.expire();
      list.scan();
      answers[0]?.(new Error("cannot reach the tracker at https://t.example (Failed to fetch)"));
      await vi.advanceTimersByTimeAsync(0);
      expect(requests()).toBe(2);
      answers[1]?.();
      await vi.advanceTimersByTimeAsync(0);
      expect(marks()).toEqual([["a1", "delivered", ""]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a row Gmail reuses for another thread loses the old thread's mark at once, and keeps none when the read fails", async () => {
    page([row("a1", "One")]);
    let fail = false;
    const list = startList(document, async (ids) => {
      if (fail) throw new Error("tracker down");
      return answer(ids.includes("a1") ? [status("a1", { state: "opened", openCount: 4 })] : []);
    });
    list.scan();
    await list.flush();
    expect(marks()).toEqual([["a1", "opened", "4"]]);
    // Gmail reuses the row element for another thread (an untracked one), its subject span rewritten in place.
    const carrier = document.querySelector("[data-legacy-thread-id]") as Element;
    carrier.setAttribute("data-legacy-thread-id", "b2");
    carrier.setAttribute("data-thread-id", `#thread-f:${BigInt("0xb2")}`);
    fail = true;
    list.scan();
    expect(marks()).toEqual([]);
    await list.flush();
    expect(marks()).toEqual([]);
  });

  it("once stopped, an answer still on its way draws nothing (the feature's cleanup took every mark away)", async () => {
    page([row("a1", "One")]);
    let answerNow: (messages: ReturnType<typeof answer>) => void = () => undefined;
    const list = startList(document, () => new Promise((resolve) => (answerNow = resolve)));
    list.scan();
    const asked = list.flush();
    list.stop();
    for (const mark of document.querySelectorAll(".mt-mark")) mark.remove();
    answerNow(answer([status("a1", { state: "opened", openCount: 1 })]));
    await asked;
    expect(marks()).toEqual([]);
    list.scan(); // Gmail re-renders the row after the feature stopped: still nothing
    expect(marks()).toEqual([]);
  });

  it("after a failed read, asks again after a wait that doubles, not at once in a loop; news or navigation asks at once", async () => {
    vi.useFakeTimers();
    try {
      page([row("a1", "One"), row("b2", "Two")]);
      // Not connected, or the tracker unreachable: the background answers with an error, when the test says.
      const failures: (() => void)[] = [];
      const failing = () => new Promise<never>((_, reject) => failures.push(() => reject(new Error("not connected to a tracker"))));
      const requests = () => failures.length;
      /** The request out fails now, after a round trip of `ms`: its wait counts from its failure. */
      const failAfter = async (ms: number) => {
        await vi.advanceTimersByTimeAsync(ms);
        failures.at(-1)?.();
        await vi.advanceTimersByTimeAsync(0);
      };
      const list = startList(document, failing);
      list.scan();
      await failAfter(1_000);
      expect(requests()).toBe(1);
      list.scan(); // Gmail re-renders the rows meanwhile: still waiting
      await vi.advanceTimersByTimeAsync(RETRY_FIRST_MS - 1);
      expect(requests()).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(requests()).toBe(2);
      await failAfter(0);
      await vi.advanceTimersByTimeAsync(2 * RETRY_FIRST_MS - 1);
      expect(requests()).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(requests()).toBe(3);
      await failAfter(0);
      list.expire();
      list.scan();
      await vi.advanceTimersByTimeAsync(0);
      expect(requests()).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps a mark its refresh could not read, its tooltip saying why it may be out of date, until a read succeeds", async () => {
    page([row("a1", "One"), row("b2", "Two")]);
    let down = false;
    const list = startList(document, async (ids) => {
      if (down) throw new Error("the tracker could not be reached since 10:42");
      return answer(ids.includes("a1") ? [status("a1", { state: "opened", openCount: 2, lastOpenAt: "2026-11-22T10:00:00Z" })] : []);
    });
    list.scan();
    await list.flush();
    const mark = () => document.querySelector(".mt-mark");
    const fresh = mark()?.getAttribute("title") ?? "";
    expect(fresh).toMatch(/^Opened 2 times, last .*; 0 clicks$/);
    down = true;
    for (let failure = 0; failure < 2; failure++) {
      list.expire();
      list.scan();
      await list.flush();
    }
    const stale = `${fresh}\nMay be out of date: the tracker could not be reached since 10:42`;
    expect(marks()).toEqual([["a1", "opened", "2"]]);
    expect([mark()?.getAttribute("title"), mark()?.getAttribute("aria-label")]).toEqual([stale, stale]);
    down = false;
    list.expire();
    list.scan();
    await list.flush();
    expect(mark()?.getAttribute("title")).toBe(fresh);
  });

  it("while the tracker cannot be read, marks a thread waiting from the outbox, out of date, and keeps what it drew of the rest", async () => {
    page([row("a1", "Opened before, a follow-up waiting"), row("b2", "Sent while the tracker is down"), row("c3", "Untracked")]);
    let now = Date.parse("2026-11-23T10:42:00Z");
    let down = false;
    let registered = false;
    const opened = { state: "opened" as const, openCount: 2, lastOpenAt: "2026-11-22T10:00:00Z" };
    const requests: string[][] = [];
    const list = startList(
      document,
      async (ids) => {
        requests.push(ids);
        const waiting = [
          { threadIds: ["a1"], title: "Waiting to reach your tracker" },
          ...(registered ? [] : [{ threadIds: ["b2"], title: "Waiting to reach your tracker" }]),
        ].filter((u) => u.threadIds.some((id) => ids.includes(id)));
        // As the background answers (handlers.ts threadStatus): the tracker's state unknown, the outbox's words, and why.
        if (down) return { messages: [], unregistered: waiting, stale: "the tracker could not be reached since 10:42" };
        return {
          messages: [
            ...(ids.includes("a1") ? [status("a1", opened)] : []),
            ...(registered && ids.includes("b2") ? [status("b2", {})] : []),
          ],
          unregistered: [],
        };
      },
      () => now,
    );
    list.scan();
    await list.flush();
    expect(marks()).toEqual([["a1", "opened", "2"]]);
    const title = (thread: string) => document.querySelector(`.mt-mark[data-mt-thread="${thread}"]`)?.getAttribute("title");
    const fresh = title("a1");

    // The tracker goes down as "Sent while the tracker is down" waits in the outbox, and a follow-up in the first thread.
    down = true;
    list.expire();
    list.scan();
    await list.flush();
    const note = "May be out of date: the tracker could not be reached since 10:42";
    expect(marks()).toEqual([
      ["a1", "opened", "2"],
      ["b2", "unregistered", ""],
    ]);
    expect([title("a1"), title("b2")]).toEqual([`${fresh}\n${note}`, `Waiting to reach your tracker\n${note}`]);

    // Asked again after the wait of a failed read, the waiting thread with the rest: the tracker answers, it has it.
    down = false;
    registered = true;
    now += RETRY_FIRST_MS + 1;
    list.scan();
    await list.flush();
    expect(requests).toHaveLength(3);
    expect(requests[2]).toEqual(expect.arrayContaining(["a1", "b2", "c3"]));
    expect(marks()).toEqual([
      ["a1", "opened", "2"],
      ["b2", "delivered", ""],
    ]);
    expect(title("a1")).toBe(fresh);
  });

  it("aggregates several tracked messages of one thread, and says it in the tooltip", () => {
    const state = aggregate([
      status("t", { state: "opened", openCount: 1, lastOpenAt: "2026-11-20T10:00:00Z" }),
      status("t", { state: "clicked", openCount: 2, clickCount: 1, lastOpenAt: "2026-11-21T10:00:00Z" }),
    ]);
    expect(state).toMatchObject({ mark: "clicked", openCount: 3, clickCount: 1, lastOpenAt: "2026-11-21T10:00:00Z" });
    expect(aggregate([])).toBeNull();
    expect(aggregate([status("t", { state: "stopped" })])?.mark).toBe("stopped");
  });

  it("says what the tracker can see: no open yet, never delivery, and no claim about opens of an email without its pixel", () => {
    const quiet = aggregate([status("t", { openTracking: true })]);
    expect(quiet).toMatchObject({ mark: "delivered", opensTracked: true });
    expect(quiet && tooltip(quiet)).toBe("No open yet; 0 clicks");
    // A tracker older than the field: read as tracked.
    expect(aggregate([status("t", {})])?.opensTracked).toBe(true);
    // Sent with click tracking alone: nothing can say whether it was opened.
    const clicksOnly = aggregate([status("t", { openTracking: false })]);
    expect(clicksOnly && tooltip(clicksOnly)).toBe("Opens not tracked; 0 clicks");
    const stopped = aggregate([status("t", { state: "stopped", openTracking: false })]);
    expect(stopped && tooltip(stopped)).toBe("Tracking stopped. Opens not tracked; 0 clicks");
    // One email of the thread carries its pixel: its opens are seen.
    expect(aggregate([status("t", { openTracking: false }), status("t", { openTracking: true })])?.opensTracked).toBe(true);
    // Apple Mail loaded it on delivery: its reader's reads load nothing, so "no open yet" would mislead.
    const apple = aggregate([status("t", { openTracking: true }), status("t", { openTracking: true, appleMailLoads: 1 })]);
    expect(apple && tooltip(apple)).toBe("No open seen: Apple Mail loaded it on delivery, so a read cannot be seen; 0 clicks");
    const read = aggregate([status("t", { state: "opened", openCount: 1, lastOpenAt: "2026-11-20T10:00:00Z", appleMailLoads: 1 })]);
    expect(read && tooltip(read)).toMatch(/^Opened 1 time, last /);
    // A recipient opted out: no open of theirs is recorded, so none is "yet" to come.
    const optedOut = aggregate([status("t", { openTracking: true, unsubscribed: true })]);
    expect(optedOut && tooltip(optedOut)).toBe("No open recorded: a recipient turned tracking off; 0 clicks");
    // Another email of the thread still open to tracking may yet be opened.
    const oneOptedOut = aggregate([status("t", { unsubscribed: true }), status("t", { unsubscribed: false })]);
    expect(oneOptedOut && tooltip(oneOptedOut)).toBe("No open yet; 0 clicks");
  });

  it("a thread is red when its newest email bounced, not for an earlier one's bounce that a follow-up came after", () => {
    const bounced = status("t", { state: "bounced" });
    const opened = status("t", { state: "opened", openCount: 2, lastOpenAt: "2026-11-21T10:00:00Z" });
    // Oldest first, as the tracker lists a thread's messages.
    expect(aggregate([bounced, opened])).toMatchObject({ mark: "opened", openCount: 2 });
    expect(aggregate([opened, bounced])?.mark).toBe("bounced");
    expect(aggregate([bounced])?.mark).toBe("bounced");
  });

  it("on the real classic thread list (no thread ids on rows) finds the rows by fallback and marks nothing", async () => {
    document.body.innerHTML = readFileSync(FIXTURE, "utf8").replace(/<script[\s\S]*?<\/script>/g, ""); // the capture's scripts are not ours to load
    const { requests, fetchStatus } = tracker({});
    const list = startList(document, fetchStatus);
    list.scan();
    await list.flush();
    expect(requests).toEqual([]);
    expect(document.querySelectorAll(".mt-mark")).toHaveLength(0);
  });
});
