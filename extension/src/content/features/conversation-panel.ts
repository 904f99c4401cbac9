// Read receipts in an opened conversation: under each tracked message (the one whose own tracking pixel the
// sender-pixels feature neutralised, so its id is on the image), a panel with the open count, the timeline of opens
// (machine and sender events dimmed and explained), each link's clicks, and buttons to stop tracking or delete the
// message's data, each confirmed first. Plain DOM; the data comes from the background.
import type { MessageDetail } from "../../../../shared/api";
import { COUNTED_LABELS, LABEL_TEXT } from "../../../../shared/labels";
import type { UnregisteredEmail } from "../../background/handlers";
import { callFromGmail, ExtensionReloaded } from "../../messaging";
import { NEUTRALISED_PIXELS } from "../../page-world/pixel-guard";
import { counted, noOpenWords, outOfDate, placeShown } from "../../words";
import { type Feature, guarded, oncePerCheckpoint } from "../feature";
import { conversationThreadId, query, queryAll, shownView } from "../gmail-selectors";
import { debug } from "../log";
import { onFeedNews, ReadsOut, watchElements } from "../page-watch";
import { messageTrackingId } from "../thread-signals";
import { ensureStyle, formatTime } from "../ui";
import { onPixelsNeutralised } from "./sender-pixels";

function el<K extends keyof HTMLElementTagNameMap>(doc: Document, tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const element = doc.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

export interface PanelActions {
  /** Each may answer a promise, which rejects, in words, when it did not happen: the panel says so (wirePanel). */
  stop(): unknown;
  remove(): unknown;
  /** The rep unfolded or folded the panel: its next copy (Gmail drawing the conversation anew) opens the same way. */
  toggled?(unfolded: boolean): void;
}

/** What a panel shows: the email's detail, or a line of words instead (deleted, registration still on its way…). */
type PanelDetail = MessageDetail | UnregisteredEmail | { gone: string };

/**
 * The panel's markup for one message's detail (or a short line when there is none), without behaviour: a line with
 * the counts, and under it, hidden until that line is clicked, the timeline, the links and the buttons. Shown
 * whole, 20 panels took Chromium about 11 ms more layout than the 20-message conversation they were in, as much
 * again as its messages; a `<details>` fold still cost about 0.3 ms a panel, a hidden element nearly nothing
 * (docs/benchmarks.md, twentieth pass). ConversationPanels builds it once per detail and puts a copy of its line
 * under the message at each render (foldedCopy); wirePanel makes a copy work and fills in the rest when unfolded.
 */
export function panelMarkup(doc: Document, trackingId: string, detail: PanelDetail): HTMLElement {
  const panel = el(doc, "div", "mt-panel");
  panel.setAttribute("data-mt-for", trackingId);
  // A line instead: deleted data, or the background's words for an email whose registration has not reached the
  // tracker yet (read again like any detail, so the counts take its place once it has).
  if (!("id" in detail)) {
    panel.append(el(doc, "span", "mt-dim", "gone" in detail ? detail.gone : detail.unregistered));
    return panel;
  }
  panel.setAttribute("data-mt-open-count", String(detail.openCount));
  // One line a panel, the counts; a click on it (or Enter) unfolds the rest.
  const head = el(doc, "div", "mt-panel-head");
  head.setAttribute("role", "button");
  head.setAttribute("tabindex", "0");
  head.setAttribute("aria-expanded", "false");
  const more = el(doc, "div", "mt-panel-more");
  more.hidden = true;
  const opens = detail.openCount;
  const clicks = detail.clickCount;
  head.append(
    el(doc, "strong", "", "Tracking"),
    el(doc, "span", "mt-panel-count", opens > 0 ? `Opened ${counted(opens, "time")}` : noOpenWords(detail)),
  );
  if (detail.clickTracking && clicks > 0) head.append(el(doc, "span", "mt-panel-clicks", counted(clicks, "click")));
  if (detail.state === "stopped") head.append(el(doc, "span", "mt-dim", "Tracking stopped"));
  // Still waiting for its scheduled time: a cancel in Gmail is noticed only once its draft opens in a compose
  // (scheduled-send-cancel.ts), so the rep is told here, where Gmail's "Cancel send" is, how to take it back.
  const sentAt = detail.sentAt ?? "";
  if (Date.parse(sentAt) > Date.now())
    head.append(el(doc, "span", "mt-dim", `Scheduled for ${formatTime(sentAt)}: if you cancel its send, delete its tracking data`));
  // As the Sent list's red mark: a bounced email's "No open yet" must not read as an email still waiting.
  if (detail.bounce) head.append(el(doc, "span", "mt-warning", `Bounced${detail.bounce.reason ? `: ${detail.bounce.reason}` : ""}`));
  const buttons = el(doc, "div", "mt-panel-actions");
  if (detail.state !== "stopped") {
    const stop = el(doc, "button", "mt-stop", "Stop tracking");
    stop.type = "button";
    buttons.append(stop);
  }
  const remove = el(doc, "button", "mt-delete", "Delete tracking data");
  remove.type = "button";
  buttons.append(remove);
  const confirm = el(doc, "div", "mt-confirm");
  confirm.hidden = true;
  more.append(buttons, confirm);

  if (detail.opens.length > 0) {
    const list = el(doc, "ol", "mt-opens");
    for (const open of [...detail.opens].sort((a, b) => (a.at < b.at ? 1 : -1))) {
      const counted = COUNTED_LABELS.includes(open.label);
      const item = el(doc, "li", counted ? "mt-open" : "mt-open mt-dim");
      item.setAttribute("data-label", open.label);
      const parts = [formatTime(open.at)];
      if (open.label !== "gmail-proxy") {
        const where = placeShown(open.place);
        if (where) parts.push(where);
        const device = [open.client, open.device].filter(Boolean).join(" on ");
        if (device) parts.push(device);
      }
      const why = LABEL_TEXT[open.label] ?? open.label;
      item.append(
        el(doc, "span", "", `${parts.join(" · ")} — `),
        el(doc, "span", counted ? "" : "mt-why", counted ? `Opened ${why}`.trim() : why),
      );
      list.append(item);
    }
    more.append(list);
  }

  if (detail.links.length > 0) {
    const list = el(doc, "ul", "mt-links");
    for (const link of detail.links) {
      const item = el(doc, "li", "mt-link");
      item.setAttribute("data-index", String(link.index));
      item.setAttribute("data-clicks", String(link.clicks));
      const summary = `${counted(link.clicks, "click")}, ${link.uniqueClicks} unique`;
      item.append(el(doc, "span", "mt-link-url", link.url), el(doc, "span", "mt-link-count", ` — ${summary}`));
      if (link.clickTimes.length > 0) item.append(el(doc, "div", "mt-link-times", link.clickTimes.map(formatTime).join(", ")));
      for (const other of link.otherClicks)
        item.append(el(doc, "div", "mt-dim", `${formatTime(other.at)} — ${LABEL_TEXT[other.label] ?? other.label}`));
      list.append(item);
    }
    more.append(list);
  }
  panel.append(head, more);
  return panel;
}

/**
 * A panel's line: its markup with the folded part left empty, which each render of the conversation gets a copy of.
 * Gmail draws a conversation again and again, and copying the folded part every time was most of what the panels
 * added to each render (docs/benchmarks.md, twenty-first pass).
 */
function foldedCopy(markup: HTMLElement): HTMLElement {
  const copy = markup.cloneNode(false) as HTMLElement;
  for (const child of markup.children) copy.append(child.cloneNode(!child.classList.contains("mt-panel-more")));
  return copy;
}

/**
 * Makes a panel work: its line unfolds and folds the rest (copied from `markup` the first time, for a foldedCopy),
 * and its stop and delete buttons act, each confirmed first, a failure said in the panel: a delete that did not
 * happen (the tracker down) must not pass for done. Listeners on the panel itself, since a copy of a panel's markup
 * carries none.
 */
export function wirePanel(panel: HTMLElement, actions: PanelActions, markup: HTMLElement = panel, unfolded = false): HTMLElement {
  const doc = panel.ownerDocument;
  const head = panel.querySelector<HTMLElement>(".mt-panel-head");
  const more = panel.querySelector<HTMLElement>(".mt-panel-more");
  const toggle = () => {
    if (!head || !more) return;
    if (more.hidden && !more.hasChildNodes()) {
      const folded = markup.querySelector(".mt-panel-more")?.cloneNode(true);
      if (folded) more.append(...folded.childNodes);
    }
    more.hidden = !more.hidden;
    head.setAttribute("aria-expanded", String(!more.hidden));
    actions.toggled?.(!more.hidden);
  };
  const ask = (question: string, yesText: string, yes: () => unknown, done: string) => {
    const confirm = panel.querySelector<HTMLElement>(".mt-confirm");
    if (!confirm) return;
    const ok = el(doc, "button", "mt-confirm-yes", yesText);
    ok.type = "button";
    const cancel = el(doc, "button", "mt-confirm-no", "Cancel");
    cancel.type = "button";
    ok.addEventListener("click", () => {
      confirm.hidden = true;
      Promise.resolve(yes()).catch((error: unknown) => {
        confirm.replaceChildren(el(doc, "span", "mt-warning", `Not ${done}: ${(error as Error)?.message ?? error}. Try again.`));
        confirm.hidden = false;
      });
    });
    cancel.addEventListener("click", () => {
      confirm.hidden = true;
    });
    confirm.replaceChildren(el(doc, "span", "", `${question} `), ok, cancel);
    confirm.hidden = false;
  };
  panel.addEventListener("keydown", (event) => {
    if (event.target === head && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggle();
    }
  });
  panel.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (head && target && head.contains(target)) return toggle();
    const button = target?.closest("button");
    if (button?.classList.contains("mt-stop"))
      ask(
        "Stop tracking this email? Later opens and clicks are not recorded; links keep working.",
        "Stop tracking",
        actions.stop,
        "stopped",
      );
    else if (button?.classList.contains("mt-delete"))
      ask("Delete every open and click recorded for this email, and stop tracking it?", "Delete", actions.remove, "deleted");
  });
  if (unfolded) toggle();
  return panel;
}

/** The panel for one message's detail, working. */
export function renderPanel(doc: Document, trackingId: string, detail: PanelDetail, actions: PanelActions): HTMLElement {
  return wirePanel(panelMarkup(doc, trackingId, detail), actions);
}

/** What a panel's line says before its detail is read: that it is being read, or why the last read failed. */
function pendingText(failure: string | undefined): string {
  return failure === undefined ? "Reading opens and clicks…" : `Opens and clicks could not be read (${failure}): trying again.`;
}

/**
 * A panel's line until its detail is read: one line, as the detail's own, in the same box. A long failure is cut
 * to that line (ui.ts) and said whole in the line's title, so nothing below moves.
 */
function pendingLine(doc: Document, trackingId: string, text: string): HTMLElement {
  const panel = el(doc, "div", "mt-panel");
  panel.setAttribute("data-mt-for", trackingId);
  panel.setAttribute("data-mt-pending", "");
  panel.title = text;
  panel.append(el(doc, "span", "mt-dim", text));
  return panel;
}

export const DETAIL_TTL_MS = 30_000;
/** After a failed read: wait 1 s, then twice as long each time, up to a minute. */
export const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
/** The background's answer when no tracker is connected (background/handlers.ts): retrying cannot help. */
const DISCONNECTED = /not connected|connect again/i;
/**
 * The background's answer for an id of another account (background/handlers.ts requireOwnId): an email sent through a
 * tracker this browser was connected to before with another account (options-store.ts earlierTrackerUrls).
 */
const OTHER_ACCOUNT = /not a tracking id of this account/;

/** An error's words for the rep, short enough for the panel's one line. */
const FAILURE_TEXT_MAX = 120;

export class ConversationPanels {
  /**
   * By tracking id: the detail, when it was read, its version (a panel drawn from an older one is drawn again), and
   * its panel's markup once built: whole (panelMarkup) and its line alone (foldedCopy), which each render copies.
   */
  private readonly details = new Map<
    string,
    {
      at: number;
      version: number;
      detail: PanelDetail;
      markup?: { whole: HTMLElement; line: HTMLElement };
      /** Why the last read, after this detail's, failed: its panel says it may be out of date. */
      stale?: string;
    }
  >();
  private versions = 0;
  /** The panels the rep unfolded, by tracking id: a copy drawn later opens unfolded too. */
  private readonly unfolded = new Set<string>();
  /**
   * The panel drawn in each message element, while Gmail keeps both: found again without a search of the message's
   * subtree, which a query per tracked message at every render was (docs/benchmarks.md, twenty-third pass).
   */
  private readonly drawn = new WeakMap<Element, HTMLElement>();
  /**
   * The reads out, and those the feed's news (expire) came for meanwhile: such a read's answer, or its failure, may
   * predate what the news tells of (a registration delivered, a reconnect), so it is not kept and it is read again.
   */
  private readonly reads = new ReadsOut();
  /** Failed reads: how many in a row, not before when to try again, and why the last one failed. */
  private readonly failures = new Map<string, { count: number; retryAt: number; reason: string }>();
  /** No tracker connected: nothing is read until the feed brings news or the features restart (a reconnect). */
  private disconnected = false;
  /** The feature stopped: a read still out then draws nothing (the next run draws its own panels). */
  private stopped = false;
  /** By tracking id: the timer of its failed read's retry, cleared when the panels stop. */
  private readonly retries = new Map<string, ReturnType<typeof setTimeout>>();
  requests = 0;

  constructor(
    private readonly doc: Document,
    private readonly call: {
      /**
       * `threadId`: the conversation the message is shown in, which the background moves an email registered without
       * its legacy id to (Gmail's answer to the send unseen: compose-tracking.ts, background/handlers.ts).
       */
      detail(trackingId: string, threadId?: string): Promise<MessageDetail | UnregisteredEmail>;
      stop(trackingId: string): Promise<unknown>;
      remove(trackingId: string): Promise<unknown>;
    },
    private readonly now: () => number = Date.now,
  ) {}

  scan(): void {
    // A message's id is a neutralised pixel of ours in it: with none in the page (most conversations), no message has
    // one, and one query answers for all of them.
    if (this.stopped || !this.doc.querySelector(NEUTRALISED_PIXELS)) return;
    for (const message of queryAll(this.doc, "conversationMessage")) {
      const id = messageTrackingId(message);
      if (!id) continue;
      const cached = this.details.get(id);
      const drawn = this.drawn.get(message);
      const existing = drawn && message.contains(drawn) && drawn.getAttribute("data-mt-for") === id ? drawn : null;
      if (!cached) {
        // The panel's line is kept free from the checkpoint Gmail drew the message in, before its detail is read: the
        // detail's line then takes its place at the same height, and Reply and Forward below do not move under the
        // rep's pointer, as they did when the panel came a read later. Nothing will fill it while no tracker is
        // connected, so then it goes.
        // A read that failed says so on that line until one succeeds: "Reading…" for a minute between retries would
        // hide that the tracker is failing.
        if (this.disconnected) existing?.remove();
        else {
          const text = pendingText(this.failures.get(id)?.reason);
          if (existing?.textContent !== text) this.draw(message, pendingLine(this.doc, id, text), existing);
        }
      } else if (existing?.getAttribute("data-mt-version") !== String(cached.version)) {
        // Each time the conversation is drawn (opened again, or Gmail drawing it anew) gets a copy of one line.
        if (!cached.markup) {
          const whole = panelMarkup(this.doc, id, cached.detail);
          if (cached.stale)
            (whole.querySelector(".mt-panel-head") ?? whole).append(el(this.doc, "span", "mt-dim", outOfDate(cached.stale)));
          cached.markup = { whole, line: foldedCopy(whole) };
        }
        const { whole, line } = cached.markup;
        const actions = {
          stop: () => this.act(() => this.call.stop(id)),
          remove: () => this.act(() => this.call.remove(id)),
          toggled: (unfolded: boolean) => void (unfolded ? this.unfolded.add(id) : this.unfolded.delete(id)),
        };
        const panel = wirePanel(line.cloneNode(true) as HTMLElement, actions, whole, this.unfolded.has(id));
        panel.setAttribute("data-mt-version", String(cached.version));
        this.draw(message, panel, existing);
      }
      const due = !cached || this.now() - cached.at > DETAIL_TTL_MS;
      const failed = this.failures.get(id);
      const waiting = this.disconnected || (failed !== undefined && this.now() < failed.retryAt);
      if (due && !waiting && !this.reads.has(id)) void this.load(id, message);
    }
  }

  /** Puts a message's panel in place of the one drawn before, else under its body. */
  private draw(message: Element, panel: HTMLElement, existing: Element | null): void {
    if (existing) existing.replaceWith(panel);
    else {
      const body = query(message, "messageBody", false);
      if (body) body.after(panel);
      else message.append(panel);
    }
    this.drawn.set(message, panel);
  }

  private async load(id: string, message: Element): Promise<void> {
    this.reads.set(id, { ids: [] });
    this.requests += 1;
    // The shown conversation's id, for a message in it: a conversation Gmail keeps hidden shows another's heading
    // (gmail-selectors.ts shownView, with its dated InboxSDK sources).
    const view = shownView(this.doc);
    const threadId = (view.contains(message) && conversationThreadId(view)) || undefined;
    try {
      const detail = await this.call.detail(id, threadId);
      this.details.set(id, { at: this.reads.get(id)?.overtaken ? 0 : this.now(), version: ++this.versions, detail });
      this.failures.delete(id);
    } catch (error) {
      if (this.reads.get(id)?.overtaken) return;
      const text = String(error instanceof Error ? error.message : error);
      debug("message detail not read", id, text);
      const gone = /\b(404|410)\b/.test(text)
        ? "No tracking data for this email (deleted)."
        : OTHER_ACCOUNT.test(text)
          ? "No tracking data here: this email went out through another tracker account."
          : null;
      if (gone) this.details.set(id, { at: this.now(), version: ++this.versions, detail: { gone } });
      // Not connected, or this copy of the content script outlived its extension (an update): retrying cannot help.
      else if (error instanceof ExtensionReloaded || DISCONNECTED.test(text)) this.disconnected = true;
      else {
        const count = (this.failures.get(id)?.count ?? 0) + 1;
        const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (count - 1));
        this.failures.set(id, { count, retryAt: this.now() + wait, reason: text.slice(0, FAILURE_TEXT_MAX) });
        clearTimeout(this.retries.get(id));
        // A read out when the feature stopped: its retry would outlive stop().
        if (!this.stopped)
          this.retries.set(
            id,
            setTimeout(() => this.scan(), wait),
          );
      }
      // A panel drawn before keeps what it read, and says why it may be out of date (the background's words).
      const cached = this.details.get(id);
      if (!gone && cached) Object.assign(cached, { version: ++this.versions, markup: undefined, stale: text.slice(0, FAILURE_TEXT_MAX) });
    } finally {
      this.reads.delete(id);
      this.scan();
    }
  }

  /** A stop or a delete; its failure is the panel's to say (wirePanel), and then nothing changed to read again. */
  private async act(action: () => Promise<unknown>): Promise<void> {
    await action();
    this.expire();
    this.scan();
  }

  /** The feature stopped: nothing more is drawn, and no retry waits to look again. */
  stop(): void {
    this.stopped = true;
    for (const retry of this.retries.values()) clearTimeout(retry);
  }

  /** News from the feed: every detail is read again, and a failed or disconnected read may be tried at once. */
  expire(): void {
    for (const entry of this.details.values()) entry.at = Math.min(entry.at, this.now() - DETAIL_TTL_MS - 1);
    this.reads.news();
    this.failures.clear();
    this.disconnected = false;
  }
}

export const conversationPanel: Feature = {
  id: "conversation-panel",
  init(signal) {
    ensureStyle(document);
    const panels = new ConversationPanels(document, {
      detail: (trackingId, threadId) => callFromGmail("messageDetail", { trackingId, threadId }),
      stop: (trackingId) => callFromGmail("stopTracking", { trackingId }),
      remove: (trackingId) => callFromGmail("deleteMessageData", { trackingId }),
    });
    const scan = guarded("conversation panel", () => panels.scan());
    // Looked for once a checkpoint, whoever asks. Gmail's insertion of messages, or of a body into a message already
    // shown (InboxSDK reads a collapsed message's contents only once it is expanded: gmail-message-view.ts, isLoaded,
    // at a8a6fe2 of 2026-07-23), is seen by the message watch (`within` looks around an insertion as well as in it).
    // A pixel whose src reached the page past the page world is seen by sender-pixels' net. Pixels the page-world
    // guard saw built are no reason to look: what reached the page was seen here already, and the rest is not in it.
    const scanSoon = oncePerCheckpoint(scan);
    watchElements(["conversationMessage"], "mt-panel", scanSoon, signal);
    onPixelsNeutralised((_, seen) => {
      if (seen === "in-page") scanSoon();
    }, signal);
    window.addEventListener("hashchange", scan, { signal });
    onFeedNews(() => {
      panels.expire();
      scan();
    }, signal);
    signal.addEventListener(
      "abort",
      () => {
        panels.stop();
        for (const panel of document.querySelectorAll(".mt-panel")) panel.remove();
      },
      { once: true },
    );
    scan();
  },
};
