// Every Gmail selector the extension uses, in this one module. Gmail's markup is obfuscated and changes, so each
// entry is a dated observation with the fixture it was checked against, a precise selector and broader fallbacks.
// When the precise one stops matching but a fallback still does, or nothing matches, debug mode logs it
// (see docs/gmail.md). Real captures: test/fixtures/gmail/; test pages built from the attributes
// the notes name for today's Gmail: test/e2e/gmail-sim/ (kept apart from the captures).
import { normalizeEmail } from "../../../shared/email";
import { debugOnce } from "./log";

export interface SelectorSpec {
  name: string;
  /** Tried first; what Gmail has today. */
  precise: string;
  /** Tried in order when the precise selector finds nothing. */
  fallbacks: string[];
}

export const SELECTORS = {
  /** compose-dialog-2020-10.html: `div.Am.Al.editable[g_editable=true][role=textbox][contenteditable=true]`; gmail-sim adds `aiL`. */
  composeBody: {
    name: "compose body",
    precise: 'div[contenteditable="true"][g_editable="true"][role="textbox"]',
    fallbacks: ['div.Am.editable[contenteditable="true"]', '[g_editable="true"][contenteditable="true"]'],
  },
  /**
   * The element holding one whole compose (recipients, body, toolbar). compose-dialog-2020-10.html: `div.M9` inside
   * `div[role=dialog]`; inline replies have no dialog (gmail.md); pop-outs live under `div.dw`.
   */
  composeRoot: { name: "compose root", precise: "div.M9", fallbacks: ['[role="dialog"]', "div.dw", "form"] },
  /** compose-dialog-2020-10.html: `input[name=subjectbox]`. */
  subject: { name: "subject", precise: 'input[name="subjectbox"]', fallbacks: ['input[aria-label="Subject"]'] },
  /** compose-dialog-2020-10.html: `input[type=hidden][name=draft]` = `#msg-a:r-…` (empty until the first save). */
  draftInput: { name: "draft id input", precise: 'input[name="draft"]', fallbacks: [] },
  /** compose-dialog-2020-10.html: `input[type=hidden][name=rt]` = `#thread-a:r-…`. */
  threadInput: { name: "thread id input", precise: 'input[name="rt"]', fallbacks: [] },
  /**
   * compose-dialog-2020-10.html: `table.IZ td.gU.Up div.dC > div[role=button].T-I.aoO[data-tooltip^="Send"]`; the
   * sibling with `aria-haspopup` is "more send options", not a send.
   */
  sendButton: {
    name: "send button",
    precise: 'table.IZ td.gU.Up div[role="button"][data-tooltip^="Send"]:not([aria-haspopup])',
    fallbacks: ['div[role="button"][data-tooltip^="Send"]:not([aria-haspopup])', 'div[role="button"].aoO:not([aria-haspopup])'],
  },
  /** 2021+ recipient chips (gmail-sim): `div[name=to] [email]`; compose-dialog-2020-10.html: `textarea[name=to|cc|bcc]`. */
  recipientChips: {
    name: "recipient chips",
    precise: 'div[name="to"] [email], div[name="cc"] [email], div[name="bcc"] [email]',
    fallbacks: [".aoD [email]", ".GS [email]"],
  },
  recipientFields: {
    name: "recipient fields",
    precise: 'textarea[name="to"], textarea[name="cc"], textarea[name="bcc"]',
    fallbacks: ['input[name="to"], input[name="cc"], input[name="bcc"]'],
  },
  /** An invalid address (and similar) makes Gmail show an alert dialog and not send. */
  alertDialog: { name: "alert dialog", precise: '[role="alertdialog"]', fallbacks: [] },
  /** The "Plain text mode" entry of the compose's "more options" menu, checked (gmail-sim; unverified on live Gmail 2026-11). */
  plainTextMode: { name: "plain text mode", precise: '[role="menuitemcheckbox"][aria-checked="true"]', fallbacks: [] },
  /** Opened conversation: `h2.hP[data-legacy-thread-id]` (gmail.md); older builds only `[data-thread-perm-id]`. */
  conversationSubject: {
    name: "conversation subject",
    precise: "h2.hP[data-legacy-thread-id]",
    fallbacks: ["h2[data-legacy-thread-id]", "h2.hP[data-thread-perm-id]"],
  },
  /**
   * Thread list rows (Inbox, Sent, any list). gmail.md: `tr.zA[role=row]`; thread-list-classic-2014-12.html has
   * `tr.zA` without the role (and in vertical split a thread spans three rows: only the one with ids is marked).
   */
  threadRow: { name: "thread row", precise: 'tr.zA[role="row"]', fallbacks: ["tr.zA"] },
  /**
   * The element of a row that carries its thread ids (gmail.md, 2026-11): the subject span,
   * `.bog span[data-thread-id="#thread-f:…"][data-legacy-thread-id="16f4…"]`. The classic fixture has neither: its
   * rows are untracked as far as we can tell, and get no mark.
   */
  rowThreadIds: {
    name: "row thread ids",
    precise: "span[data-thread-id][data-legacy-thread-id]",
    fallbacks: ["[data-legacy-thread-id]", "[data-thread-id]"],
  },
  /** Where a row's subject sits, the mark goes first inside it: `.bog` (gmail.md); classic fixture `td.a4W .y6`. */
  rowSubject: { name: "row subject", precise: ".bog", fallbacks: ["td.a4W .y6", ".y6", "td.a4W"] },
  /** Messages of an opened conversation: `div.adn[data-message-id]` (gmail.md; gmail-sim). */
  conversationMessage: { name: "conversation message", precise: "div.adn[data-message-id]", fallbacks: ["[data-message-id]"] },
  /** A message's body: `div.ii.gt` > `div.a3s` (gmail.md); the panel goes right after `div.ii.gt`. */
  messageBody: { name: "message body", precise: "div.ii.gt", fallbacks: ["div.a3s"] },
  /**
   * Senders shown in a thread list row, oldest first, the latest last (thread-list-classic-2014-12.html:
   * `td.yX div.yW > span.zF[email][name]`, the sender's own as `name="me"`; `span.yP` when read).
   */
  rowParticipants: { name: "row participants", precise: "td div.yW [email]", fallbacks: [".yW [email]", ".afn ~ div [email]"] },
  /** A row's latest message id: on the subject span, `data-legacy-last-message-id="18c2…"` (gmail.md, 2026-11). */
  rowLastMessageId: {
    name: "row last message id",
    precise: "span[data-legacy-last-message-id]",
    fallbacks: ["[data-legacy-last-message-id]"],
  },
  /** A row's message count "(3)" after its participants (thread-list-classic-2014-12.html: `span.bx0`). */
  rowCount: { name: "row message count", precise: ".yW span.bx0", fallbacks: ["span.bx0"] },
  /** A row's date, its full form in `title` (thread-list-classic-2014-12.html: `td.xW > span[title]`). */
  rowDate: { name: "row date", precise: "td.xW span[title]", fallbacks: ["td.xW [title]"] },
  /** The start of the latest message's text in a row (current Gmail: `span.y2`, after the subject in `.bog`'s cell). */
  rowSnippet: { name: "row snippet", precise: "span.y2", fallbacks: [".y2"] },
  /** A conversation message's sender: `h3.iw span.gD[email][name]` (gmail-sim; unverified on live Gmail 2026-11). */
  messageSender: { name: "message sender", precise: "h3.iw span.gD[email]", fallbacks: ["span.gD[email]", "h3 [email]"] },
  /** A conversation message's date, its full form in `title`: `span.g3[title]` (gmail-sim; unverified 2026-11). */
  messageDate: { name: "message date", precise: "span.g3[title]", fallbacks: ["[title][alt]", "td.gH span[title]"] },
  /** The account switcher, `aria-label="Google Account: Name\n(me@example.com)"` (gmail-sim; unverified 2026-11). */
  accountSwitcher: {
    name: "account switcher",
    precise: 'a[aria-label^="Google Account:"]',
    // Only inside Google's own bar: elsewhere `data-email` may name a correspondent, who must never pass for the sender.
    fallbacks: ['a[href*="SignOutOptions"][aria-label*="@"]', "#gb [data-email]", "header [data-email]"],
  },
} satisfies Record<string, SelectorSpec>;

export type SelectorName = keyof typeof SELECTORS;

function tryAll(root: ParentNode, spec: SelectorSpec, all: boolean): Element[] {
  const candidates = [spec.precise, ...spec.fallbacks];
  for (let i = 0; i < candidates.length; i++) {
    const selector = candidates[i] as string;
    const found = all ? [...root.querySelectorAll(selector)] : [root.querySelector(selector)].filter((e): e is Element => e !== null);
    if (found.length > 0) {
      if (i > 0)
        debugOnce(
          `fallback:${spec.name}`,
          `selector for ${spec.name} stopped matching; fallback ${selector} matched instead of ${spec.precise}`,
        );
      return found;
    }
  }
  return [];
}

/** The first match, trying fallbacks. `expected`: log in debug mode when nothing matches (a selector broke). */
export function query(root: ParentNode, name: SelectorName, expected = true): Element | null {
  const spec = SELECTORS[name];
  const [found] = tryAll(root, spec, false);
  if (!found && expected) debugOnce(`missing:${spec.name}`, `no match for ${spec.name} (${[spec.precise, ...spec.fallbacks].join(" | ")})`);
  return found ?? null;
}

export function queryAll(root: ParentNode, name: SelectorName): Element[] {
  return tryAll(root, SELECTORS[name], true);
}

/** The nearest ancestor (or self) matching a spec, precise first. */
export function closest(element: Element, name: SelectorName): Element | null {
  const spec = SELECTORS[name];
  for (const selector of [spec.precise, ...spec.fallbacks]) {
    const found = element.closest(selector);
    if (found) return found;
  }
  return null;
}

const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** Recipients of a compose: chip `[email]` attributes (current UI) plus addresses typed in the fields (older UI). */
export function composeRecipients(root: ParentNode): { email: string; name?: string }[] {
  const out = new Map<string, { email: string; name?: string }>();
  for (const chip of queryAll(root, "recipientChips")) {
    const email = normalizeEmail(chip.getAttribute("email") ?? "");
    const name = chip.getAttribute("name") ?? undefined;
    if (email && /^[^@\s]+@[^@\s]+$/.test(email)) out.set(email, name ? { email, name } : { email });
  }
  for (const field of queryAll(root, "recipientFields")) {
    const value = (field as HTMLTextAreaElement | HTMLInputElement).value ?? "";
    for (const email of value.match(EMAIL) ?? [])
      if (!out.has(email.toLowerCase())) out.set(email.toLowerCase(), { email: email.toLowerCase() });
  }
  return [...out.values()];
}

/** Whether the compose is in plain-text mode (no HTML is sent, so no pixel is possible). */
export function isPlainTextMode(root: ParentNode): boolean {
  return queryAll(root, "plainTextMode").some((item) => /plain text/i.test(item.textContent ?? ""));
}

/** A thread list row's ids, as the tracker may have them registered (legacy hex first), or null if the row has none. */
export function rowThreadIds(row: Element): { key: string; ids: string[] } | null {
  const [carrier] = queryAll(row, "rowThreadIds");
  if (!carrier) return null;
  const legacy = carrier.getAttribute("data-legacy-thread-id")?.trim() ?? "";
  const full = (carrier.getAttribute("data-thread-id") ?? "").trim().replace(/^#/, "");
  const ids = [legacy, full].filter((id) => /^[A-Za-z0-9:_-]{1,100}$/.test(id));
  const [key] = ids;
  return key ? { key, ids } : null;
}
