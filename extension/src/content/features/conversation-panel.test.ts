// @vitest-environment happy-dom
// The tracking panel on a conversation test page built from gmail.md's attributes (`div.adn[data-message-id]` >
// `div.ii.gt` > `div.a3s`; simulated, not a capture), with the sender's own pixel already neutralised
// (`img[data-mt-pixel-id]`, as sender-pixels leaves it).
import { describe, expect, it, vi } from "vitest";
import { DAY, MINUTE } from "../../../../test/durations";
import { stoppedAfterEach } from "../../../../test/stopped-after-each";

vi.hoisted(() => {
  const events = { addListener() {}, removeListener() {} };
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" }, storage: { onChanged: events } };
});

import type { MessageDetail } from "../../../../shared/api";
import type { UnregisteredEmail } from "../../background/handlers";
import { NEWS_KEY } from "../../background/notifications";
import { ExtensionReloaded } from "../../messaging";
import { REP_OPTIONS } from "../../options-store.test-support";
import { emitPageEvent } from "../../page-world/events";
import { messageTrackingId } from "../thread-signals";
import { formatTime } from "../ui";
import { ConversationPanels, conversationPanel, DETAIL_TTL_MS, RETRY_FIRST_MS, RETRY_MAX_MS, renderPanel } from "./conversation-panel";
import { senderPixels } from "./sender-pixels";

const ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
const QUOTED = "a2b3c4d5e6f7g2h3.1.AAAAAAAAAAAAAAAAAAAAAA.b_Skov_Og8O7NQ0CbR7t4Q";

const DETAIL: MessageDetail = {
  id: ID,
  threadId: "16f4aa",
  state: "clicked",
  openCount: 2,
  firstOpenAt: "2026-11-22T10:00:00Z",
  lastOpenAt: "2026-11-22T11:00:00Z",
  clickCount: 1,
  lastClickAt: "2026-11-22T11:05:00Z",
  syncThreadId: null,
  replyCount: 0,
  lastReplyAt: null,
  bounce: null,
  unsubscribed: false,
  subject: "Pricing",
  campaign: null,
  recipients: [{ email: "carol@prospect.example" }],
  sentAt: "2026-11-22T09:00:00Z",
  gmailMessageId: "16f4ab",
  openTracking: true,
  clickTracking: true,
  opens: [
    {
      at: "2026-11-22T09:00:05Z",
      label: "apple-mpp",
      place: { country: "US", region: "CA" },
      client: null,
      device: null,
    },
    { at: "2026-11-22T10:00:00Z", label: "gmail-proxy", place: null, client: null, device: null },
    { at: "2026-11-22T10:30:00Z", label: "sender", place: null, client: "Chrome", device: "Linux" },
    {
      at: "2026-11-22T11:00:00Z",
      label: "human",
      // As a tracker from before cities were dropped still sends it: not shown.
      place: { country: "DE", region: "BE", ...{ city: "Berlin" } },
      client: "Thunderbird",
      device: "Windows",
    },
  ],
  links: [
    {
      index: 0,
      url: "https://shop.example/pricing",
      clicks: 1,
      uniqueClicks: 1,
      clickTimes: ["2026-11-22T11:05:00Z"],
      otherClicks: [{ at: "2026-11-22T09:00:03Z", label: "scanner" }],
    },
  ],
};

function conversation(): void {
  document.body.innerHTML = `<div role="main"><h2 class="hP" data-legacy-thread-id="16f4aa">Pricing</h2>
    <div class="adn ads" data-message-id="#msg-a:r1" data-legacy-message-id="16f4ab"><div class="ii gt"><div class="a3s aiL">
      Hello <img data-mt-pixel-id="${ID}" width="1" height="1"></div></div></div>
    <div class="adn ads" data-message-id="#msg-f:2"><div class="ii gt"><div class="a3s aiL">A reply quoting us:
      <blockquote class="gmail_quote"><img data-mt-pixel-id="${QUOTED}"></blockquote></div></div></div></div>`;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
/**
 * Panels for one test, stopped after it: a failed read's retry is a real timer (RETRY_FIRST_MS), and a test's panels
 * left running drew their own panel into a later test's conversation when it fired there, first in the message, so
 * that test's clicks and reads found the wrong panel when the tests between ran longer than a second (under load).
 */
const keepRunning = stoppedAfterEach<ConversationPanels>((panels) => {
  panels.stop();
});
const startPanels = (...args: ConstructorParameters<typeof ConversationPanels>) => keepRunning(new ConversationPanels(...args));
/** What the content script listens to storage.onChanged with (feed news among the rest). */
type FeedListener = (changes: Record<string, { newValue?: unknown }>, area: string) => void;
/** Until the panel shows its detail: its line, to click. */
const detailShown = () => vi.waitFor(() => expect(document.querySelector(".mt-panel-head")).not.toBeNull());
/** A click on the first panel's line, as a rep's: the rest of a drawn panel is copied in only then. */
const unfold = () => (document.querySelector(".mt-panel-head") as HTMLElement).click();

describe("conversation panel", () => {
  it("shows the counts on one line, which unfolds the timeline, the links and the buttons on a click or Enter", () => {
    const panel = renderPanel(document, ID, DETAIL, { stop: () => {}, remove: () => {} });
    const head = panel.querySelector(".mt-panel-head") as HTMLElement;
    expect(head.textContent).toBe("TrackingOpened 2 times1 click");
    const more = panel.querySelector(".mt-panel-more") as HTMLElement;
    for (const folded of [".mt-opens", ".mt-links", ".mt-stop", ".mt-delete", ".mt-confirm"])
      expect(more.querySelector(folded), folded).not.toBeNull();
    expect([more.hidden, head.getAttribute("aria-expanded")]).toEqual([true, "false"]);
    head.click();
    expect([more.hidden, head.getAttribute("aria-expanded")]).toEqual([false, "true"]);
    head.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect([more.hidden, head.getAttribute("aria-expanded")]).toEqual([true, "false"]);
  });

  it("says on its line that the email bounced, and why when the notice said, as the Sent list's red mark does", () => {
    const bounced = { ...DETAIL, state: "bounced" as const, openCount: 0, clickCount: 0, opens: [], links: [] };
    const head = (detail: MessageDetail) =>
      renderPanel(document, ID, detail, { stop: () => {}, remove: () => {} }).querySelector(".mt-panel-head")?.textContent;
    expect(
      head({ ...bounced, bounce: { kind: "hard", reason: "550 5.1.1 user unknown", recipients: [], at: "2026-11-22T09:01:00Z" } }),
    ).toBe("TrackingNo open yetBounced: 550 5.1.1 user unknown");
    expect(head({ ...bounced, bounce: { kind: "soft", recipients: [], at: "2026-11-22T09:01:00Z" } })).toBe("TrackingNo open yetBounced");
  });

  it("says a read cannot be seen, not that it was not opened, of an email Apple Mail loaded on delivery", () => {
    const quiet = { ...DETAIL, state: "delivered" as const, openCount: 0, clickCount: 0, opens: [], links: [] };
    const count = (detail: MessageDetail) =>
      renderPanel(document, ID, detail, { stop: () => {}, remove: () => {} }).querySelector(".mt-panel-count")?.textContent;
    expect(count({ ...quiet, appleMailLoads: 2 })).toBe("No open seen: Apple Mail loaded it on delivery, so a read cannot be seen");
    expect(count({ ...quiet, appleMailLoads: 0 })).toBe("No open yet");
    // As the Sent list's mark and the dashboard say it (words.ts noOpenWords): none can come, or none is recorded.
    expect(count({ ...quiet, unsubscribed: true })).toBe("No open recorded: a recipient turned tracking off");
    expect(count({ ...quiet, openTracking: false })).toBe("Opens not tracked");
  });

  it("says on its line when a scheduled email goes out, and how to take it back if its send is cancelled; once sent, nothing", () => {
    const scheduled = { ...DETAIL, openCount: 0, clickCount: 0, opens: [], links: [] };
    const head = (sentAt: string) =>
      renderPanel(document, ID, { ...scheduled, sentAt }, { stop: () => {}, remove: () => {} }).querySelector(".mt-panel-head")
        ?.textContent;
    const tomorrow = new Date(Date.now() + DAY).toISOString();
    expect(head(tomorrow)).toBe(
      `TrackingNo open yetScheduled for ${formatTime(tomorrow)}: if you cancel its send, delete its tracking data`,
    );
    expect(head(new Date(Date.now() - MINUTE).toISOString())).toBe("TrackingNo open yet");
  });

  it("renders the open count, the timeline with machine and sender opens dimmed and explained, and each link's clicks", () => {
    const panel = renderPanel(document, ID, DETAIL, { stop: () => {}, remove: () => {} });
    expect(panel.querySelector(".mt-panel-count")?.textContent).toBe("Opened 2 times");
    const opens = [...panel.querySelectorAll(".mt-open")];
    expect(opens.map((o) => [o.getAttribute("data-label"), o.classList.contains("mt-dim")])).toEqual([
      ["human", false],
      ["sender", true],
      ["gmail-proxy", false],
      ["apple-mpp", true],
    ]);
    expect(opens[0]?.textContent).toMatch(/ · BE, DE · Thunderbird on Windows — Opened$/);
    expect(panel.textContent).not.toContain("Berlin");
    expect(opens[1]?.textContent).toMatch(/ — your own view: not counted$/);
    expect(opens[2]?.textContent).toMatch(/ — Opened through Gmail's image proxy/);
    expect(opens[3]?.textContent).toMatch(/Apple Mail Privacy Protection .*not counted/);
    const link = panel.querySelector(".mt-link");
    expect(link?.querySelector(".mt-link-url")?.textContent).toBe("https://shop.example/pricing");
    expect(link?.querySelector(".mt-link-count")?.textContent).toBe(" — 1 click, 1 unique");
    expect(link?.querySelector(".mt-link-times")?.textContent).not.toBe("");
    expect(link?.querySelector(".mt-dim")?.textContent).toMatch(/security scanner/);
  });

  it("finds each message's own id (never one quoted from an earlier email), shows the panel after the body, and survives re-render", async () => {
    conversation();
    const messages = document.querySelectorAll("div.adn");
    expect(messageTrackingId(messages[0] as Element)).toBe(ID);
    expect(messageTrackingId(messages[1] as Element)).toBeNull();
    const asked: string[] = [];
    const panels = startPanels(document, {
      detail: async (id) => {
        asked.push(id);
        return DETAIL;
      },
      stop: async () => ({ ok: true }),
      remove: async () => ({ ok: true }),
    });
    panels.scan();
    // Before the detail is read, its line is kept under the body (so nothing below moves when the detail comes).
    const pending = document.querySelector(".mt-panel");
    expect(pending?.hasAttribute("data-mt-pending")).toBe(true);
    expect(pending?.previousElementSibling?.className).toBe("ii gt");
    expect(pending?.textContent).toBe("Reading opens and clicks…");
    await flush();
    expect(asked).toEqual([ID]);
    const panel = document.querySelector(".mt-panel");
    expect(panel).not.toBe(pending);
    expect(panel?.hasAttribute("data-mt-pending")).toBe(false);
    expect(panel?.previousElementSibling?.className).toBe("ii gt");
    expect(panel?.getAttribute("data-mt-for")).toBe(ID);
    expect(document.querySelectorAll(".mt-panel")).toHaveLength(1);

    // Gmail renders the conversation again: the panel is put back from memory, without asking again.
    conversation();
    panels.scan();
    expect(document.querySelectorAll(".mt-panel")).toHaveLength(1);
    panels.scan();
    expect(document.querySelectorAll(".mt-panel")).toHaveLength(1);
    expect(asked).toHaveLength(1);
    // It is a copy of the first one, and its buttons work as the first one's did.
    const again = document.querySelector(".mt-panel") as HTMLElement;
    expect(again).not.toBe(panel);
    expect(again.isEqualNode(panel ?? null)).toBe(true);
    // Each copy holds the line only; unfolded, it shows everything the panel's markup holds.
    const more = again.querySelector(".mt-panel-more") as HTMLElement;
    expect([more.hidden, more.childElementCount]).toEqual([true, 0]);
    unfold();
    expect(more.hidden).toBe(false);
    const whole = renderPanel(document, ID, DETAIL, { stop: () => {}, remove: () => {} });
    expect(more.innerHTML).toBe(whole.querySelector(".mt-panel-more")?.innerHTML);
    for (const folded of [".mt-opens", ".mt-links", ".mt-stop", ".mt-delete", ".mt-confirm"])
      expect(more.querySelector(folded), folded).not.toBeNull();
    expect(more.querySelectorAll(".mt-open")).toHaveLength(DETAIL.opens.length);
    (again.querySelector(".mt-stop") as HTMLElement).click();
    expect((again.querySelector(".mt-confirm") as HTMLElement).hidden).toBe(false);
    // News from the feed makes the detail due, not the panel wrong: it stays until the new detail is read.
    panels.expire();
    panels.scan();
    expect(document.querySelector(".mt-panel")).toBe(again);
    await flush();
    expect(asked).toHaveLength(2);
    expect(document.querySelector(".mt-panel")).not.toBe(again);
  });

  it("tells the background the conversation each message is shown in, and none for a message of a conversation Gmail keeps hidden", async () => {
    const HIDDEN = "a2b3c4d5e6f7g2h3.1.CCCCCCCCCCCCCCCCCCCCCC.b_Skov_Og8O7NQ0CbR7t4Q";
    const asked: [string, string | undefined][] = [];
    const panels = startPanels(document, {
      detail: async (id, threadId) => {
        asked.push([id, threadId]);
        return { ...DETAIL, id };
      },
      stop: async () => ({}),
      remove: async () => ({}),
    });
    conversation();
    panels.scan();
    await flush();
    expect(asked).toEqual([[ID, "16f4aa"]]);
    // Gmail keeps an earlier view in the page, hidden, while the shown one is `role=main` (gmail-selectors.ts shownView).
    document.body.innerHTML = `<div><h2 class="hP" data-legacy-thread-id="17bb">Earlier</h2><div class="adn" data-message-id="#msg-f:9">
      <div class="ii gt"><div class="a3s"><img data-mt-pixel-id="${HIDDEN}"></div></div></div></div>
      <div role="main"><h2 class="hP" data-legacy-thread-id="16f4aa">Pricing</h2></div>`;
    panels.scan();
    await flush();
    expect(asked).toEqual([
      [ID, "16f4aa"],
      [HIDDEN, undefined],
    ]);
  });

  it("a panel whose refresh failed keeps what it read and says why it may be out of date, until a read succeeds", async () => {
    conversation();
    let now = 1_000_000;
    let failure: string | null = null;
    const panels = startPanels(
      document,
      {
        detail: async () => {
          if (failure !== null) throw new Error(failure);
          return DETAIL;
        },
        stop: async () => ({ ok: true }),
        remove: async () => ({ ok: true }),
      },
      () => now,
    );
    const line = () => document.querySelector(".mt-panel-head")?.textContent;
    panels.scan();
    await flush();
    const fresh = line();
    expect(fresh).toContain("Opened 2 times");
    expect(fresh).not.toContain("out of date");
    failure = "the tracker could not be reached since 10:42";
    now += DETAIL_TTL_MS + 1;
    panels.scan();
    await flush();
    expect(line()).toBe(`${fresh}May be out of date: the tracker could not be reached since 10:42`);
    // A token the tracker refuses: nothing is read again until news or a reconnect, and the panel says why.
    failure = "the tracker does not accept this browser's API token any more: connect again with a valid token in the options";
    now += RETRY_MAX_MS;
    panels.scan();
    await flush();
    expect(line()).toBe(`${fresh}May be out of date: ${failure}`);
    failure = null;
    panels.expire();
    panels.scan();
    await flush();
    expect(line()).toBe(fresh);
  });

  it("a failed read is retried with a growing wait, and not at all while no tracker is connected", async () => {
    conversation();
    let now = 1_000_000;
    let answer = "tracker unreachable (502)";
    const panels = startPanels(
      document,
      {
        detail: async () => {
          throw new Error(answer);
        },
        stop: async () => ({ ok: true }),
        remove: async () => ({ ok: true }),
      },
      () => now,
    );
    panels.scan();
    for (let i = 0; i < 20; i++) {
      await flush();
      panels.scan();
    }
    // Without a wait every failure asked again at once (272 calls in 10 s were seen with the extension disconnected).
    expect(panels.requests).toBe(1);
    now += RETRY_FIRST_MS;
    panels.scan();
    await flush();
    expect(panels.requests).toBe(2);
    now += RETRY_FIRST_MS;
    panels.scan();
    await flush();
    expect(panels.requests).toBe(2);
    now += RETRY_FIRST_MS;
    panels.scan();
    await flush();
    expect(panels.requests).toBe(3);

    // While it is read again, the line stays kept, and says why the last read failed.
    expect(document.querySelector(".mt-panel[data-mt-pending]")?.textContent).toBe(
      "Opens and clicks could not be read (tracker unreachable (502)): trying again.",
    );

    answer = "not connected to a tracker yet";
    now += RETRY_MAX_MS;
    panels.scan();
    await flush();
    expect(panels.requests).toBe(4);
    // With no tracker connected nothing will fill it: it goes.
    expect(document.querySelector(".mt-panel")).toBeNull();
    now += RETRY_MAX_MS * 10;
    for (let i = 0; i < 5; i++) panels.scan();
    await flush();
    expect(panels.requests).toBe(4);
    // The feed's news (or a reconnect, which restarts the features) reads again.
    panels.expire();
    panels.scan();
    await flush();
    expect(panels.requests).toBe(5);
  });

  it("a failed read says why on the kept line at once, and the detail takes its place once read", async () => {
    conversation();
    let now = 1_000_000;
    let fail = true;
    const panels = startPanels(
      document,
      {
        detail: async () => {
          if (fail) throw new Error("the tracker answered 503: overloaded");
          return DETAIL;
        },
        stop: async () => ({ ok: true }),
        remove: async () => ({ ok: true }),
      },
      () => now,
    );
    panels.scan();
    expect(document.querySelector(".mt-panel")?.textContent).toBe("Reading opens and clicks…");
    await flush();
    // "Reading…" until the next try, up to a minute away, would hide a failing tracker.
    const failed = document.querySelectorAll(".mt-panel");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.hasAttribute("data-mt-pending")).toBe(true);
    expect(failed[0]?.previousElementSibling?.className).toBe("ii gt");
    const said = "Opens and clicks could not be read (the tracker answered 503: overloaded): trying again.";
    expect([failed[0]?.textContent, failed[0]?.getAttribute("title")]).toEqual([said, said]);
    // Scans before the retry leave it as it is.
    panels.scan();
    expect(document.querySelector(".mt-panel")).toBe(failed[0]);
    fail = false;
    now += RETRY_FIRST_MS;
    panels.scan();
    await flush();
    const panel = document.querySelector(".mt-panel");
    expect(document.querySelectorAll(".mt-panel")).toHaveLength(1);
    expect(panel?.hasAttribute("data-mt-pending")).toBe(false);
    expect(panel?.getAttribute("data-mt-open-count")).toBe("2");
  });

  it("in a tab whose extension was updated since, the kept line goes and nothing is asked again", async () => {
    conversation();
    const panels = startPanels(document, {
      detail: async () => {
        throw new ExtensionReloaded();
      },
      stop: async () => ({ ok: true }),
      remove: async () => ({ ok: true }),
    });
    panels.scan();
    expect(document.querySelector(".mt-panel[data-mt-pending]")).not.toBeNull();
    await flush();
    // A "Reading opens and clicks…" line under every tracked email until Gmail is reloaded would say something false.
    expect(document.querySelector(".mt-panel")).toBeNull();
    for (let i = 0; i < 5; i++) panels.scan();
    await flush();
    expect(panels.requests).toBe(1);
  });

  it("says what the background says of an email whose registration has not reached the tracker, read again until its detail comes", async () => {
    conversation();
    const words = "Not registered with your tracker yet (it will be sent again at 10:42): the tracker answered 503: D1 is down";
    let answer: MessageDetail | UnregisteredEmail = { unregistered: words };
    const panels = startPanels(document, { detail: async () => answer, stop: async () => ({}), remove: async () => ({}) });
    panels.scan();
    await flush();
    const line = document.querySelector(".mt-panel");
    expect(line?.textContent).toBe(words);
    expect(line?.querySelector(".mt-panel-head")).toBeNull();
    // The registration delivered: the news of its thread has the detail read again, and it takes the line's place.
    answer = DETAIL;
    panels.expire();
    panels.scan();
    await flush();
    expect(document.querySelector(".mt-panel")?.getAttribute("data-mt-open-count")).toBe(String(DETAIL.openCount));
    expect(panels.requests).toBe(2);
  });

  it("news that comes while a read is out has it read again: its answer, or its refusal, may predate the news", async () => {
    conversation();
    const words = "Not registered with your tracker yet (it will be sent again at 10:42): cannot reach the tracker";
    const answers: ((answer: MessageDetail | UnregisteredEmail | Error) => void)[] = [];
    const panels = startPanels(document, {
      detail: () =>
        new Promise((resolve, reject) => answers.push((answer) => (answer instanceof Error ? reject(answer) : resolve(answer)))),
      stop: async () => ({}),
      remove: async () => ({}),
    });
    panels.scan();
    await flush();
    expect(answers).toHaveLength(1);
    // The registration is delivered while the read is out, and its news comes; the read made before says it waits.
    panels.expire();
    answers[0]?.({ unregistered: words });
    await flush();
    expect(answers).toHaveLength(2);
    answers[1]?.(DETAIL);
    await flush();
    expect(document.querySelector(".mt-panel")?.getAttribute("data-mt-open-count")).toBe(String(DETAIL.openCount));

    // A reconnect's news while a read made with the refused token is out: its refusal does not stop the panels again.
    panels.expire();
    panels.scan();
    await flush();
    expect(answers).toHaveLength(3);
    panels.expire();
    answers[2]?.(new Error("not connected: connect again"));
    await flush();
    expect(answers).toHaveLength(4);
  });

  it("says an email sent through another tracker account has no tracking data here, and does not ask again", async () => {
    conversation();
    const panels = startPanels(document, {
      // background/handlers.ts requireOwnId, for a pixel of a tracker this browser used before with another account.
      detail: async () => {
        throw new Error("not a tracking id of this account");
      },
      stop: async () => ({}),
      remove: async () => ({}),
    });
    panels.scan();
    await flush();
    expect(document.querySelector(".mt-panel")?.textContent).toBe(
      "No tracking data here: this email went out through another tracker account.",
    );
    for (let i = 0; i < 5; i++) panels.scan();
    await flush();
    expect(panels.requests).toBe(1);
  });

  it("stop and delete ask for confirmation first, then act and show the new state", async () => {
    conversation();
    let detail: MessageDetail | null = DETAIL;
    const acted: string[] = [];
    const panels = startPanels(document, {
      detail: async () => {
        if (!detail) throw new Error("the tracker answered 404: not found");
        return detail;
      },
      stop: async (id) => {
        acted.push(`stop ${id}`);
        detail = { ...DETAIL, state: "stopped" };
      },
      remove: async (id) => {
        acted.push(`delete ${id}`);
        detail = null;
      },
    });
    panels.scan();
    await detailShown();
    unfold();
    (document.querySelector(".mt-stop") as HTMLElement).click();
    expect(acted).toEqual([]);
    const confirm = document.querySelector(".mt-confirm") as HTMLElement;
    expect(confirm.hidden).toBe(false);
    (confirm.querySelector(".mt-confirm-no") as HTMLElement).click();
    expect(confirm.hidden).toBe(true);
    (document.querySelector(".mt-stop") as HTMLElement).click();
    (document.querySelector(".mt-confirm-yes") as HTMLElement).click();
    // The stop, then the read of its new detail, then the panel drawn again.
    await vi.waitFor(() => expect(document.querySelector(".mt-panel-head")?.textContent).toContain("Tracking stopped"));
    expect(acted).toEqual([`stop ${ID}`]);
    // Drawn anew for the stopped email (its new detail, read after the stop), the panel stays unfolded as the rep left
    // it.
    expect(document.querySelector(".mt-panel-head")?.getAttribute("aria-expanded")).toBe("true");
    expect((document.querySelector(".mt-panel-more") as HTMLElement).hidden).toBe(false);
    expect(document.querySelector(".mt-stop")).toBeNull();

    (document.querySelector(".mt-delete") as HTMLElement).click();
    (document.querySelector(".mt-confirm-yes") as HTMLElement).click();
    await vi.waitFor(() => expect(document.querySelector(".mt-panel")?.textContent).toBe("No tracking data for this email (deleted)."));
    expect(acted).toEqual([`stop ${ID}`, `delete ${ID}`]);
  });
});

describe("conversation panel, when a stop or a delete fails", () => {
  it("says so in the panel, with the reason, and the data it still has stays shown", async () => {
    conversation();
    const down = () => Promise.reject(new Error("the tracker answered 503: unavailable"));
    const panels = startPanels(document, { detail: async () => DETAIL, stop: down, remove: down });
    panels.scan();
    await detailShown();
    unfold();
    (document.querySelector(".mt-delete") as HTMLElement).click();
    (document.querySelector(".mt-confirm-yes") as HTMLElement).click();
    const confirm = document.querySelector(".mt-confirm") as HTMLElement;
    await vi.waitFor(() => expect(confirm.textContent).toBe("Not deleted: the tracker answered 503: unavailable. Try again."));
    expect(confirm.hidden).toBe(false);
    expect(document.querySelector(".mt-panel")?.getAttribute("data-mt-open-count")).toBe("2");
    // Tried again, as it says: the question comes back in its place.
    (document.querySelector(".mt-stop") as HTMLElement).click();
    expect(confirm.querySelector(".mt-confirm-yes")?.textContent).toBe("Stop tracking");
    (confirm.querySelector(".mt-confirm-yes") as HTMLElement).click();
    await vi.waitFor(() => expect(confirm.textContent).toBe("Not stopped: the tracker answered 503: unavailable. Try again."));
  });
});

describe("conversation panel across navigation", () => {
  it("another conversation gets its own panel; coming back shows the first again from memory", async () => {
    const OTHER = "a2b3c4d5e6f7g2h3.1.BBBBBBBBBBBBBBBBBBBBBB.b_Skov_Og8O7NQ0CbR7t4Q";
    const asked: string[] = [];
    const panels = startPanels(document, {
      detail: async (id) => {
        asked.push(id);
        return { ...DETAIL, id, openCount: id === OTHER ? 0 : 2, opens: id === OTHER ? [] : DETAIL.opens };
      },
      stop: async () => ({}),
      remove: async () => ({}),
    });
    conversation();
    panels.scan();
    await flush();
    document.body.innerHTML = `<h2 class="hP" data-legacy-thread-id="17aa">Other</h2><div class="adn" data-message-id="#msg-f:9">
      <div class="ii gt"><div class="a3s"><img data-mt-pixel-id="${OTHER}"></div></div></div>`;
    panels.scan();
    // Not known yet: nothing stale is shown, only the line kept for it.
    expect(document.querySelector(".mt-panel")?.getAttribute("data-mt-for")).toBe(OTHER);
    expect(document.querySelector(".mt-panel")?.hasAttribute("data-mt-pending")).toBe(true);
    await flush();
    expect(document.querySelector(".mt-panel")?.getAttribute("data-mt-for")).toBe(OTHER);
    expect(document.querySelector(".mt-panel-count")?.textContent).toBe("No open yet");
    conversation();
    panels.scan();
    expect(document.querySelector(".mt-panel")?.getAttribute("data-mt-open-count")).toBe("2");
    expect(asked).toEqual([ID, OTHER]);
  });
});

describe("conversation panel, when the feature stops", () => {
  it("a read answered after the stop draws nothing: the next run's panel is the only one", async () => {
    conversation();
    const runtime = (globalThis as unknown as { chrome: { runtime: { sendMessage?: unknown } } }).chrome.runtime;
    const answers: ((value: unknown) => void)[] = [];
    runtime.sendMessage = () => new Promise((resolve) => answers.push(resolve));
    const context = { options: REP_OPTIONS };
    const first = new AbortController();
    const second = new AbortController();
    try {
      conversationPanel.init(first.signal, context);
      expect(answers).toHaveLength(1);
      // The options change while the detail is being read: every feature stops and starts again.
      first.abort();
      conversationPanel.init(second.signal, context);
      for (const answer of answers.splice(0)) answer({ ok: true, value: DETAIL });
      await flush();
      await flush();
      expect([...document.querySelectorAll(".mt-panel")].map((panel) => panel.getAttribute("data-mt-open-count"))).toEqual(["2"]);
    } finally {
      second.abort();
      delete runtime.sendMessage;
    }
  });

  it("leaves no retry of a failed read waiting, nor one the feed's news overtook", async () => {
    conversation();
    const { runtime, storage } = (
      globalThis as unknown as {
        chrome: { runtime: { sendMessage?: unknown }; storage: { onChanged: { addListener(listener: FeedListener): void } } };
      }
    ).chrome;
    const sendMessage = vi.fn(async () => ({ ok: false, error: "tracker unreachable (502)" }));
    const news: FeedListener[] = [];
    const listening = vi.spyOn(storage.onChanged, "addListener").mockImplementation((listener) => void news.push(listener));
    runtime.sendMessage = sendMessage;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const running = new AbortController();
    try {
      conversationPanel.init(running.signal, { options: REP_OPTIONS });
      await vi.advanceTimersByTimeAsync(0);
      expect(sendMessage).toHaveBeenCalledOnce();
      expect(vi.getTimerCount()).toBe(1);
      // News from the feed: read again at once, failed again, and one retry waits, the new read's.
      for (const listener of news) listener({ [NEWS_KEY]: { newValue: {} } }, "local");
      await vi.advanceTimersByTimeAsync(0);
      expect(sendMessage).toHaveBeenCalledTimes(2);
      expect(vi.getTimerCount()).toBe(1);
      running.abort();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      running.abort();
      vi.useRealTimers();
      listening.mockRestore();
      delete runtime.sendMessage;
    }
  });
  it("leaves no retry waiting for a read that fails after the feature stopped", async () => {
    conversation();
    const { runtime } = (globalThis as unknown as { chrome: { runtime: { sendMessage?: unknown } } }).chrome;
    let fail: (answer: unknown) => void = () => {};
    runtime.sendMessage = vi.fn(() => new Promise((resolve) => (fail = resolve)));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const running = new AbortController();
    try {
      conversationPanel.init(running.signal, { options: REP_OPTIONS });
      await vi.advanceTimersByTimeAsync(0);
      expect(runtime.sendMessage).toHaveBeenCalledOnce();
      running.abort();
      fail({ ok: false, error: "tracker unreachable (502)" });
      await vi.advanceTimersByTimeAsync(0);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      running.abort();
      vi.useRealTimers();
      delete runtime.sendMessage;
    }
  });
});

describe("conversation panel, when the panels are looked for", () => {
  it("once for each insertion of messages or of a body with our pixel, never for HTML Gmail only builds", async () => {
    document.body.innerHTML = "";
    const scans = vi.spyOn(ConversationPanels.prototype, "scan").mockImplementation(() => undefined);
    const controller = new AbortController();
    const context = { options: REP_OPTIONS };
    senderPixels.init(controller.signal, context);
    conversationPanel.init(controller.signal, context);
    // Only the feature's own panels are counted (its start scans them once): the spy is on every panel's scan, and an
    // earlier test's panels left running (a test that failed before its stop) would scan on their retry timers.
    expect(scans.mock.contexts).toHaveLength(1);
    const featurePanels = scans.mock.contexts[0];
    expect(featurePanels).toBeInstanceOf(ConversationPanels);
    const featureScans = () => scans.mock.contexts.filter((panels) => panels === featurePanels).length;
    await flush();
    scans.mockClear();
    try {
      // A body built off-document (the page-world guard's event; Gmail often attaches it a frame later, gmail.md
      // "Trusted Types"): nothing of it is in the page to draw a panel for.
      emitPageEvent(document, "mt:pixels-neutralised", [ID]);
      await flush();
      expect(featureScans()).toBe(0);

      // Built and inserted in one task (as the simulation and the render bench do): its messages and its pixels are
      // seen in one checkpoint, and looked for once, after the observer that saw them; the guard tells the ids it
      // rewrote in the next task (pixel-guard.ts), which looks for nothing more.
      conversation();
      await flush();
      emitPageEvent(document, "mt:pixels-neutralised", [ID, QUOTED]);
      await flush();
      expect(featureScans()).toBe(1);

      // A body put into a message already on the page: InboxSDK reads a collapsed message's contents only once Gmail
      // has expanded it (src/platform-implementation-js/dom-driver/gmail/views/gmail-message-view.ts, isLoaded and
      // the `h7` class, at commit a8a6fe2 of 2026-07-23), so a body can come after its message.
      const message = document.querySelector("div.adn") as Element;
      const body = message.querySelector("div.ii") as Element;
      body.remove();
      await flush();
      scans.mockClear();
      message.append(body);
      await flush();
      expect(featureScans()).toBe(1);
    } finally {
      controller.abort();
      scans.mockRestore();
    }
  });
});
