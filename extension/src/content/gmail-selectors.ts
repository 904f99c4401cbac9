// Every Gmail selector the extension uses, in this one module. Gmail's markup is obfuscated and changes, so each
// entry is a dated observation with the fixture it was checked against, a precise selector and broader fallbacks.
// When the precise one stops matching but a fallback still does, or nothing matches, debug mode logs it
// (see docs/gmail.md). Real captures: test/fixtures/gmail/; test pages built from dated public evidence for
// today's Gmail: test/e2e/gmail-sim/ (kept apart from the captures).
// Rules every entry follows: nothing here depends on the UI language (Gmail is localised: "Send"/"Senden",
// "To:"/"An:"), and an entry whose precise selector needs a class has a fallback that does not (Gmail A/B-tests
// renamed class tokens, `Ht` becoming `Ht-<hash>`: InboxSDK #1302, 2026-07).
import { isEmailAddress, normalizeEmail } from "../../../shared/email";
import type { GmailHealth } from "../background/gmail-health";
import { EMAIL_IN_TEXT, gmailId, legacyThreadId } from "../gmail-ids";
import { ACCOUNT_ATTRIBUTE, ACCOUNT_WANTED_EVENT, PAGE_WORLD_ATTRIBUTE } from "../page-world/events";
import { debugOnce } from "./log";

export interface SelectorSpec {
  name: string;
  /** Tried first; what Gmail has today. */
  precise: string;
  /** Tried in order when the precise selector finds nothing. */
  fallbacks: string[];
}

/**
 * The ids of the links of Gmail's notices (zoidsh/meru packages/preload-workspace-app/apps/mail.ts, 2026-01-28 to
 * 2026-08-22): Undo, on every notice that can be undone, and "View message", on a send's alone. Read by the Undo Send
 * selector below and by Gmail's health (recogniseGmail).
 */
const NOTICE_UNDO = "#link_undo";
const NOTICE_VIEW_MESSAGE = "#link_vsm";
/**
 * A To, Cc or Bcc field's list of chips, known without its `name`: the listbox that holds the input the rep types
 * addresses into (InboxSDK set-recipients.ts, a8a6fe2 of 2026-07-23: `[role=listbox]` in `.anm[name=…]`, and in it
 * `input[role=combobox][aria-autocomplete=list]`).
 */
const RECIPIENT_LIST = '[role="listbox"]:has(input[role="combobox"])';
/**
 * A compose control, as Gmail draws one: `div[role=button]` in every capture (compose-dialog-2020-10.html), or a real
 * `<button>`, which Gmail is turning its compose controls into. Seen so far on neighbours of Send only: InboxSDK 015a9a3
 * (2026-07-09, "fix compose buttons", pull request 1303) finds the title bar's Minimize, Full screen and Close as
 * `.Hm .Hl`, `.Hm .Hq` and `.Hm .Ha` when `.Hm > img` finds none, its comments naming them "newer <button class=…>";
 * its getSendButton still reads `div[role=button]` (a8a6fe2, 2026-07-23). That Send follows is assumed, the worst case.
 * It ends each compound it is in: happy-dom 21, which the unit tests run in, drops a class before a `:not()` that
 * follows an `:is()` (`:is(div).aoO:not(.Uo)` matches `aoO-h4sh`). Matching never depends on specificity here.
 */
const BUTTON = ':is(div[role="button"],button)';

export const SELECTORS = {
  /** compose-dialog-2020-10.html: `div.Am.Al.editable[g_editable=true][role=textbox][contenteditable=true]`; gmail-sim adds `aiL`. */
  composeBody: {
    name: "compose body",
    precise: 'div[contenteditable="true"][g_editable="true"][role="textbox"]',
    fallbacks: ['div.Am.editable[contenteditable="true"]', '[g_editable="true"][contenteditable="true"]'],
  },
  /**
   * The element holding one whole compose (recipients, body, toolbar). compose-dialog-2020-10.html: `div.M9` inside
   * `div[role=dialog]`; inline replies have no dialog (gmail.md); pop-outs live under `div.dw`. Without those, the
   * nearest ancestor of the body that holds the compose's hidden `draft` input: in the capture the body and the
   * toolbar sit in `table.iN`, the `form` (recipients, subject, hidden inputs) beside it, both in `td.I5` inside
   * `div.M9 > div.aoI`, so a `form` is never an ancestor of the body and `td.I5` is the first that holds them all.
   */
  composeRoot: { name: "compose root", precise: "div.M9", fallbacks: ['[role="dialog"]', "div.dw", ':has(input[name="draft"])'] },
  /** compose-dialog-2020-10.html: `input[name=subjectbox]`. */
  subject: { name: "subject", precise: 'input[name="subjectbox"]', fallbacks: ['input[aria-label="Subject"]'] },
  /** compose-dialog-2020-10.html: `input[type=hidden][name=draft]` = `#msg-a:r-…` (empty until the first save). */
  draftInput: { name: "draft id input", precise: 'input[name="draft"]', fallbacks: [] },
  /** compose-dialog-2020-10.html: `input[type=hidden][name=rt]` = `#thread-a:r-…`, Gmail's sync id of a reply's thread. */
  threadInput: { name: "thread id input", precise: 'input[name="rt"]', fallbacks: [] },
  /**
   * compose-dialog-2020-10.html: `table.IZ td.gU.Up div.dC > div[role=button].T-I.aoO[data-tooltip^="Send"]`; the
   * sibling with `aria-haspopup` is "more send options" (it opens "Schedule send"), not a send. The tooltip is
   * localised ("Senden"), so it is never required. The last fallback is the pair alone in its group, Send first and
   * its arrow last (InboxSDK keeps to the send group too: getSendButton, `.IZ .Up div > div[role=button]`, a8a6fe2,
   * 2026-07-23): a button merely followed by a menu button is also Underline (before "Text color") and the toolbar's
   * language button in the same capture. Never Send & Archive (`.Uo`, below), which shares the send cell and comes
   * before Send: InboxSDK's send selector, which names no class, found it instead of Send until it excluded `.Uo`
   * (InboxSDK pull request 607 and 36968b9, 2019-04-18, "Fix getSendButton() to not pick send-and-archive button";
   * still so at a8a6fe2, 2026-07-23).
   */
  sendButton: {
    name: "send button",
    precise: `table.IZ td.gU.Up .aoO:not(.Uo):not([aria-haspopup])${BUTTON}`,
    fallbacks: [
      `td.gU.Up :not(.Uo):not([aria-haspopup])${BUTTON}`,
      `:first-child:not([aria-haspopup])${BUTTON}:has(+ [aria-haspopup]:last-child${BUTTON})`,
    ],
  },
  /**
   * "Send & Archive", the second send button a reply's compose shows when the rep turned it on in Gmail's settings: it
   * sends as Send does, then archives the conversation. InboxSDK finds it as `.IZ .Up div > div[role=button].Uo`
   * without `aria-haspopup` and treats a click, Enter or Space on it as a send, as on Send (getSendAndArchiveButton and
   * getPresendingStream, a8a6fe2, 2026-07-23; the class since 93b1335, 2019-04-18). No public capture holds it. The
   * fallback, without a class, is inferred: a button alone, and no menu, in the first `div` of a cell of the compose's
   * toolbar (`table.IZ[role=group]`) that also holds a menu button (Send's arrow). The 2020 capture's send cell holds
   * `div.dC` (Send and its arrow) between two empty `div.J-J5-Ji`; Send & Archive comes before Send (above), and
   * InboxSDK hides its parent alone (replaceSendButton) and before 2019-04 found it as the button inside Send's first
   * other sibling. No `:has()` holding a combinator: happy-dom, which the unit tests run in, reads those wrongly.
   */
  sendAndArchiveButton: {
    name: "send and archive button",
    precise: `table.IZ td.gU.Up .Uo:not([aria-haspopup])${BUTTON}`,
    fallbacks: [`table[role="group"] td:has([aria-haspopup]) > div > div:first-child > :only-child:not([aria-haspopup])${BUTTON}`],
  },
  /**
   * "More send options", the arrow right of Send (`aria-haspopup`): it opens "Schedule send" (gmail.md; InboxSDK
   * gmail-compose-view.ts getSendButtonGroup, `[role=button][aria-haspopup=true]` beside Send, a8a6fe2, 2026-07-23).
   */
  sendOptionsButton: {
    name: "send options button",
    precise: `table.IZ td.gU.Up [aria-haspopup]${BUTTON}`,
    fallbacks: [`:first-child:not([aria-haspopup])${BUTTON} + [aria-haspopup]:last-child${BUTTON}`],
  },
  /**
   * Recipient chips, 2021+: `div[role=option][data-hovercard-id="x@y"][data-name]` inside `div[name=to|cc|bcc]`
   * (InboxSDK and gmail.js read `data-hovercard-id`; Mailvelope dropped `span[email]` in 2022-03). `[email]` chips
   * are the older form, kept as the last fallback. Gmail's suggestions of people to add carry `data-hovercard-id` too,
   * outside `div[name]` (gmail.js #713, 2022-08-03; its fix e3630aa keeps to `tr.bzf div[name]`): they are no
   * recipients. So the fallback for a field that lost its name keeps to the field's own list, the `[role=listbox]`
   * that holds the chips and the `input[role=combobox][aria-autocomplete=list]` the rep types into (InboxSDK
   * page-parser.ts getRecipientRowForType and set-recipients.ts, a8a6fe2 of 2026-07-23); a suggestion is in no list
   * with an input.
   */
  recipientChips: {
    name: "recipient chips",
    precise: 'div[name="to"] [data-hovercard-id], div[name="cc"] [data-hovercard-id], div[name="bcc"] [data-hovercard-id]',
    fallbacks: [
      `${RECIPIENT_LIST} [role="option"][data-hovercard-id]`,
      'div[name="to"] [email], div[name="cc"] [email], div[name="bcc"] [email]',
    ],
  },
  /** Where the To/Cc/Bcc fields show their addresses (chips and what is being typed): `div[name=to|cc|bcc]`. */
  recipientArea: {
    name: "recipient area",
    precise: 'div[name="to"], div[name="cc"], div[name="bcc"]',
    fallbacks: [RECIPIENT_LIST, 'textarea[name="to"], textarea[name="cc"], textarea[name="bcc"]'],
  },
  recipientFields: {
    name: "recipient fields",
    precise: 'textarea[name="to"], textarea[name="cc"], textarea[name="bcc"]',
    fallbacks: ['input[name="to"], input[name="cc"], input[name="bcc"]'],
  },
  /** An invalid address (and similar) makes Gmail show an alert dialog and not send. */
  alertDialog: { name: "alert dialog", precise: '[role="alertdialog"]', fallbacks: [] },
  /**
   * The Undo of Gmail's "Message sent" notice: `span#link_undo` next to `span#link_vsm` ("View message") in the
   * notice's `.vh` (zoidsh/meru packages/preload-workspace-app/apps/mail.ts, 2026-01-28 to 2026-08-22), inside
   * Gmail's notice bar `div.b8[role=alert]` (InboxSDK gmail-butter-bar-driver.ts, 2023-09-11). Only a notice that
   * also offers "View message" is a send's: archive and delete notices offer Undo too. Ids, not text (localised).
   */
  sentNoticeUndo: {
    name: "sent notice's undo",
    precise: `.vh:has(${NOTICE_VIEW_MESSAGE}) ${NOTICE_UNDO}`,
    fallbacks: [`[role="alert"]:has(${NOTICE_VIEW_MESSAGE}) ${NOTICE_UNDO}`],
  },
  /**
   * compose-dialog-2020-10.html: `div.J-Z.aA3[style="display:none"]` holding "Currently in plain text mode." and a
   * `span.aA5[role=link]` "Switch to rich text."; shown (no `display:none`) while the compose is in plain-text mode.
   * Read by its visibility, never by its text.
   */
  plainTextMode: { name: "plain text mode", precise: "div.aA3", fallbacks: ['div:has(> span.aA5[role="link"])'] },
  /** Opened conversation: `h2.hP[data-legacy-thread-id]` (gmail.md); older builds only `[data-thread-perm-id]`. */
  conversationSubject: {
    name: "conversation subject",
    precise: "h2.hP[data-legacy-thread-id]",
    fallbacks: ["h2[data-legacy-thread-id]", "h2.hP[data-thread-perm-id]", "h2[data-thread-perm-id]"],
  },
  /**
   * Thread list rows (Inbox, Sent, any list). gmail.md: `tr.zA[role=row]`; thread-list-classic-2014-12.html has
   * `tr.zA` without the role. In vertical split a thread spans two or three rows, read together (threadRowParts).
   */
  threadRow: { name: "thread row", precise: 'tr.zA[role="row"]', fallbacks: ["tr.zA", 'tr[role="row"]:has([data-thread-id])'] },
  /**
   * The element of a row that carries its thread ids (gmail.md, 2026-11): the subject span,
   * `.bog span[data-thread-id="#thread-f:…"][data-legacy-thread-id="16f4…"]`; a 2025-11 live dump shows rows with
   * only `data-thread-id` (its decimal converted by gmail-ids.ts). The classic fixture has neither: its rows are
   * untracked as far as we can tell, and get no mark.
   */
  rowThreadIds: {
    name: "row thread ids",
    precise: "span[data-thread-id][data-legacy-thread-id]",
    fallbacks: ["[data-legacy-thread-id]", "[data-thread-id]"],
  },
  /** Where a row's subject sits, the mark goes first inside it: `.bog` (gmail.md); classic fixture `td.a4W .y6`. */
  rowSubject: {
    name: "row subject",
    precise: ".bog",
    fallbacks: ["td.a4W .y6", ".y6", "td.a4W", "span:has(> [data-thread-id])"],
  },
  /** Messages of an opened conversation: `div.adn[data-message-id]` (gmail.md; gmail-sim). */
  conversationMessage: { name: "conversation message", precise: "div.adn[data-message-id]", fallbacks: ["[data-message-id]"] },
  /**
   * A message of an opened conversation that Gmail shows collapsed, its header alone: `div.kv`, an item of the list
   * whose open messages are `div.h7` (InboxSDK gmail-message-view.ts getViewState and gmail-thread-view.ts
   * #setupMessageViewStream, a8a6fe2 of 2026-07-23). Gmail collapses the messages already read, the rep's own among
   * them ("Messages that you previously read are collapsed", uwf.edu helpdesk, undated). It carries no message id
   * (assumed: InboxSDK reads an id only once the message is open) but names its sender (messageSender). The fallback
   * without a class: a list item with no message id in it (assumed: the role is the simulation's, no capture shows it).
   */
  collapsedMessage: {
    name: "collapsed message",
    // `ky` too: InboxSDK's class watch (gmail-message-view.ts, the same commit) reads a message as collapsed by either.
    precise: "div.kv, div.ky",
    fallbacks: ['[role="listitem"]:not([data-message-id]):not(:has([data-message-id]))'],
  },
  /** A message's body: `div.ii.gt` > `div.a3s` (gmail.md); the panel goes right after `div.ii.gt`. Without either
   * class, callers use the whole message (`conversationMessage`, found by attribute). */
  messageBody: { name: "message body", precise: "div.ii.gt", fallbacks: ["div.a3s"] },
  /**
   * Senders shown in a thread list row, oldest first, the latest last (thread-list-classic-2014-12.html:
   * `td.yX div.yW > span.zF[email][name]`, the sender's own as `name="me"`; `span.yP` when read); the 2019-12-26 row
   * (docs/gmail.md) wraps each, `div.yW > span.bA4 > span.yP`, after copies in `div.afn` (so `div.yW` is required).
   */
  rowParticipants: { name: "row participants", precise: "td div.yW [email]", fallbacks: [".yW [email]", "td [email]"] },
  /** A row's latest message id: on the subject span, `data-legacy-last-message-id="18c2…"` (gmail.md, 2026-11). */
  rowLastMessageId: {
    name: "row last message id",
    precise: "span[data-legacy-last-message-id]",
    fallbacks: ["[data-legacy-last-message-id]", "[data-legacy-last-non-draft-message-id]"],
  },
  /** A row's message count after its participants: `span.bx0`, "5" in the 2019-12-26 row (docs/gmail.md), or "(5)". */
  rowCount: { name: "row message count", precise: ".yW span.bx0", fallbacks: ["span.bx0", "td:has([email])"] },
  /**
   * A row's date, its full form in `title` (thread-list-classic-2014-12.html: `td.xW > span[title]`; in vertical split
   * `td.apt > div.apm > span[title]`, InboxSDK thread-row-parser.ts, a8a6fe2).
   */
  rowDate: {
    name: "row date",
    precise: "td.xW span[title]",
    fallbacks: ["td.xW [title]", "td.apt span[title]", "td:last-child span[title]"],
  },
  /** The start of the latest message's text in a row (current Gmail: `span.y2`, after the subject in `.bog`'s cell). */
  rowSnippet: { name: "row snippet", precise: "span.y2", fallbacks: [".y2", "span:has(> [data-thread-id]) ~ span"] },
  /**
   * A conversation message's sender: `h3.iw span.gD[email][name]` (gmail-sim; unverified on live Gmail 2026-11); in a
   * message of any state, open or collapsed, InboxSDK reads `td.gF span[email]` (getSender, a8a6fe2 of 2026-07-23).
   */
  messageSender: {
    name: "message sender",
    precise: "h3.iw span.gD[email]",
    fallbacks: ["span.gD[email]", "h3 [email]", "td.gF span[email]"],
  },
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

/** A spec's selectors, precise first: built once per spec, since every scan of Gmail's changes asks. */
const selectorLists = new Map<SelectorSpec, readonly string[]>();

function selectorsOf(spec: SelectorSpec): readonly string[] {
  let selectors = selectorLists.get(spec);
  if (!selectors) {
    selectors = [spec.precise, ...spec.fallbacks];
    selectorLists.set(spec, selectors);
  }
  return selectors;
}

/** The first selector's result that `find` gives, precise first; a fallback's success is logged in debug mode. */
function firstFound<T>(spec: SelectorSpec, find: (selector: string) => T | null): T | null {
  const selectors = selectorsOf(spec);
  for (let i = 0; i < selectors.length; i++) {
    const selector = selectors[i] as string;
    const found = find(selector);
    if (found !== null) {
      if (i > 0)
        debugOnce(
          `fallback:${spec.name}`,
          `selector for ${spec.name} stopped matching; fallback ${selector} matched instead of ${spec.precise}`,
        );
      return found;
    }
  }
  return null;
}

function logMissing(spec: SelectorSpec): void {
  debugOnce(`missing:${spec.name}`, `no match for ${spec.name} (${selectorsOf(spec).join(" | ")})`);
}

/** The first match, trying fallbacks. `expected`: log in debug mode when nothing matches (a selector broke). */
export function query(root: ParentNode, name: SelectorName, expected = true): Element | null {
  const spec = SELECTORS[name];
  const found = firstFound(spec, (selector) => root.querySelector(selector));
  if (!found && expected) logMissing(spec);
  return found;
}

/**
 * The rows that show one thread list row's thread: the row itself, or with the reading pane on the right (vertical
 * split) the main row `tr.zA.apv`, with the people (`td.apy > div.yW`) and the date (`td.apt > div.apm > span[title]`),
 * the next row, with the subject and its ids (`td div.xS div.xT div.y6 > span`), and a third `tr.apw` when it follows
 * (InboxSDK thread-row-parser.ts extractMetadataFromThreadRow, a8a6fe2 of 2026-07-23; no public capture of the rows).
 */
function threadRowParts(row: Element): Element[] {
  const second = row.classList.contains("apv") ? row.nextElementSibling : null;
  if (!second) return [row];
  const third = second.nextElementSibling;
  return third?.classList.contains("apw") ? [row, second, third] : [row, second];
}

/** `query` over the rows that show a thread list row's thread (threadRowParts), each selector in all of them first. */
export function queryRow(row: Element, name: SelectorName): Element | null {
  const parts = threadRowParts(row);
  return firstFound(SELECTORS[name], (selector) => {
    for (const part of parts) {
      const found = part.querySelector(selector);
      if (found) return found;
    }
    return null;
  });
}

/** `queryAll` over the rows that show a thread list row's thread (threadRowParts). */
export function queryAllRow(row: Element, name: SelectorName): Element[] {
  const parts = threadRowParts(row);
  return (
    firstFound(SELECTORS[name], (selector) => {
      const all = parts.flatMap((part) => [...part.querySelectorAll(selector)]);
      return all.length > 0 ? all : null;
    }) ?? []
  );
}

/** Every match, trying fallbacks. `expected`: log in debug mode when nothing matches (a selector broke). */
export function queryAll(root: ParentNode, name: SelectorName, expected = false): Element[] {
  const spec = SELECTORS[name];
  const found = firstFound(spec, (selector) => {
    const all = root.querySelectorAll(selector);
    return all.length > 0 ? [...all] : null;
  });
  if (!found && expected) logMissing(spec);
  return found ?? [];
}

/**
 * Whether `element` is, sits inside or holds something `name` selects, precise or fallback: asked of every
 * insertion Gmail makes, before the next paint. One query per selector, never a selector list: Chromium answers a
 * single selector with a per-subtree filter of the tags, classes and attributes below each element, skipping every
 * subtree that cannot match, but tests a list element by element, each against every selector (Blink's
 * selector_query.cc, SelectorQuery::Execute and ExecuteSlow). A compose body looked for in a freshly inserted
 * 100-row list: 10 µs one selector at a time, 175 µs as one list (Chromium 156, docs/benchmarks.md ninth pass).
 */
export function within(element: Element, name: SelectorName): boolean {
  for (const selector of selectorsOf(SELECTORS[name])) if (element.closest(selector) || element.querySelector(selector)) return true;
  return false;
}

/** The nearest ancestor (or self) matching a spec, precise first. */
export function closest(element: Element, name: SelectorName): Element | null {
  for (const selector of selectorsOf(SELECTORS[name])) {
    const found = element.closest(selector);
    if (found) return found;
  }
  return null;
}

/**
 * What mail programs wrap a quoted email in, and the reply headers they put before one (Outlook's quoted email follows
 * its header, not inside it):
 * - Gmail nests `blockquote.gmail_quote` in `div.gmail_quote` (the 2022-09-09-cvOnReplySend captures'
 *   quoted part; Mailspring's commit ad32e60, "Gmail actually nests a blockquote.gmail_quote inside a div.gmail_quote");
 * - Apple Mail and Thunderbird quote in `blockquote type=cite`, Thunderbird after `div.moz-cite-prefix` (Mozilla's
 *   "Mailnews quote recognition", bucksch.org/1/projects/mozilla/31906);
 * - Outlook on the web puts `div#divRplyFwdMsg` (and `div#appendonsend`) before the quoted email, Yahoo wraps it in
 *   `div.yahoo_quoted`, Proton in `div.protonmail_quote`: the markers reply parsers of public projects look for (read
 *   2026-12-04), not checked against a capture here;
 * - Outlook for Windows (2007 to 2013 and later) marks its header by a style alone, `border:none;border-top:solid
 *   #E1E1E1 1.0pt` (#B5C4DF before 2013), and Outlook for Mac by `#OLK_SRC_BODY_SECTION`: mailgun/talon
 *   talon/html_quotations.py, cut_microsoft_quote and QUOTE_IDS (last changed 2018-11-04, read 2026-12-06).
 * Matched by substring: Gmail shows an email's own class names with a per-message prefix (`class="m_-7612…pcont-text"`
 * for `pcont-text`: Stack Overflow question 41286297, "Why are these classes in form of class="m_05989..."?", as
 * copied at devhide.com, read 2026-12-04); that it does the same to ids is assumed, not seen.
 */
const QUOTE_CONTAINERS =
  'blockquote, [class*="gmail_quote"], [class*="yahoo_quoted"], [class*="protonmail_quote"], [id*="OLK_SRC_BODY_SECTION"]';
const QUOTE_HEADERS =
  '[id*="divRplyFwdMsg"], [id*="appendonsend"], [class*="moz-cite-prefix"], [class*="OutlookMessageHeader"], [style*="border-top:solid #E1E1E1" i], [style*="border-top:solid #B5C4DF" i]';

/**
 * Whether an element of a displayed email is in a quote of an earlier email: inside a QUOTE_CONTAINERS, or in or after
 * a QUOTE_HEADERS within the header's parent, what talon's cut_microsoft_quote cuts (lifted to the header's parent
 * when the header is its first child, Outlook 2010's wrapping). Not everything after it in the page: the rep's pixel,
 * last in an email that forwards or answers an Outlook one, follows the quoted email's header too.
 */
export function quotedIn(message: Element): (element: Element) => boolean {
  const splitters = [...message.querySelectorAll(QUOTE_HEADERS)].map((header) => {
    const parent = header.parentElement;
    return parent && parent !== message && parent.firstElementChild === header ? parent : header;
  });
  return (element) =>
    element.closest(QUOTE_CONTAINERS) !== null ||
    splitters.some(
      (splitter) =>
        splitter.contains(element) ||
        (splitter.parentElement?.contains(element) === true &&
          (splitter.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0),
    );
}

const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/**
 * Recipients of a compose, from its chips: `data-hovercard-id` (today), `email` (older chips), the name from
 * `data-name` / `name`; plus addresses typed in the old UI's textareas.
 */
export function composeRecipients(root: ParentNode): { email: string; name?: string }[] {
  const out = new Map<string, { email: string; name?: string }>();
  for (const chip of queryAll(root, "recipientChips")) {
    const email = normalizeEmail(chip.getAttribute("data-hovercard-id") ?? chip.getAttribute("email") ?? "");
    const name = chip.getAttribute("data-name") ?? chip.getAttribute("name") ?? undefined;
    if (isEmailAddress(email) && !out.has(email)) out.set(email, name ? { email, name } : { email });
  }
  for (const field of queryAll(root, "recipientFields")) {
    for (const email of ((field as HTMLTextAreaElement | HTMLInputElement).value ?? "").match(EMAIL) ?? [])
      if (!out.has(email.toLowerCase())) out.set(email.toLowerCase(), { email: email.toLowerCase() });
  }
  return [...out.values()];
}

/**
 * Addresses the To/Cc/Bcc fields show as chips (their text): to tell a compose whose recipients we failed to read.
 * What is still being typed (an input's value) is not a recipient yet.
 */
export function visibleRecipientAddresses(root: ParentNode): string[] {
  const found = new Set<string>();
  for (const area of queryAll(root, "recipientArea")) {
    const text = area instanceof HTMLTextAreaElement ? area.value : (area.textContent ?? "");
    for (const email of text.match(EMAIL) ?? []) found.add(email.toLowerCase());
  }
  return [...found];
}

/**
 * Whether the To/Cc/Bcc fields show recipients the chips' selectors do not read: to tell a compose whose recipients we
 * failed to read. Today's chip shows the contact's name, not its address, which only its attributes carry (InboxSDK
 * get-recipients.ts reads the name from `data-name` and the address from `data-hovercard-id`, at a8a6fe2 of
 * 2026-07-23), so a Gmail that renamed those attributes shows no address at all: a chip is then known by its role, an
 * option of the field's list (`[role=option]`, InboxSDK page-parser.ts at the same commit), the part an accessibility
 * tree keeps. A chip the selectors read is not one of these, even when what it holds is no address (Gmail's chip for
 * a mistyped one).
 */
export function unreadRecipientsShown(root: ParentNode): boolean {
  if (visibleRecipientAddresses(root).length > 0) return true;
  const read = new Set(queryAll(root, "recipientChips"));
  return queryAll(root, "recipientArea").some((area) => [...area.querySelectorAll('[role="option"]')].some((chip) => !read.has(chip)));
}

/** Whether the compose is in plain-text mode (no HTML is sent, so no pixel is possible): its marker is shown. */
export function isPlainTextMode(root: ParentNode): boolean {
  return queryAll(root, "plainTextMode").some(
    (marker) => !(marker as HTMLElement).hidden && (marker as HTMLElement).style?.display !== "none" && marker.closest("[hidden]") === null,
  );
}

/**
 * A thread list row's ids, as the tracker may have them registered, or null if the row has none. The key is the hex
 * legacy id: `data-legacy-thread-id`, or `data-thread-id="#thread-f:<decimal>"` converted (the same 64-bit number).
 */
export function rowThreadIds(row: Element): { key: string; ids: string[] } | null {
  const carrier = queryRow(row, "rowThreadIds");
  if (!carrier) return null;
  const full = gmailId(carrier.getAttribute("data-thread-id"));
  // A row with its legacy id needs no conversion: the decimal is the same 64-bit number (docs/gmail.md, rows as of
  // 2026-11 and the 2025-11 live dump). Every scan reads every row, in the mutation checkpoint of Gmail's render.
  const key = gmailId(carrier.getAttribute("data-legacy-thread-id")) ?? (full ? legacyThreadId(full) : null) ?? full;
  if (!key) return null;
  return { key, ids: full && full !== key ? [key, full] : [key] };
}

/**
 * Whether a row's participants are the recipients of a message of the sender's (Sent: "To: Carol, Dave"), not the
 * thread's senders. Gmail puts a localised prefix before them ("To:", "An:", "À :", "Para:", "宛先:"): read by its
 * shape, text ending in a colon before the first participant, never by its words. The text is all of the
 * participants' cell before the first one, at any depth: a real row wraps each participant in a span,
 * `div.yW > span.bA4 > span.yP[email]` (2019-12-26, see rowParticipants), so the prefix is no sibling of it. Where
 * Gmail puts the prefix in such a row (in `div.yW`, or inside the first `span.bA4`) no public capture shows
 * (2026-12): both are read. The cell is `div.yW`, or without that class the participant's ancestor right inside its
 * `td` (the `td` itself only when the participant sits right in it: its screen-reader `div.afn` comes first).
 */
export function rowListsRecipients(row: Element): boolean {
  const first = queryRow(row, "rowParticipants");
  if (!first) return false;
  let cell = first.closest(".yW");
  if (!cell)
    for (cell = first.parentElement; cell && cell !== row && cell.tagName !== "TD" && cell.parentElement?.tagName !== "TD"; )
      cell = cell.parentElement;
  let before = "";
  for (let node: Node = first; node !== cell && node.parentNode; node = node.parentNode)
    for (let sibling = node.previousSibling; sibling; sibling = sibling.previousSibling) before = (sibling.textContent ?? "") + before;
  return /[:：]\s*$/.test(before);
}

/**
 * How many messages a row says its thread holds, or null when it shows no count: `span.bx0`'s number, bare ("5",
 * the 2019-12-26 row, whose screen-reader copy reads "Александр 5, …"; docs/gmail.md) or in parentheses ("(5)", as
 * older notes had it; the classic capture shows no count); from a broader fallback's text (the whole cell) only a
 * trailing "(5)", never a name's last digits.
 */
export function rowMessageCount(row: Element): number | null {
  const counter = queryRow(row, "rowCount");
  const text = counter?.textContent?.trim() ?? "";
  const count = (counter?.matches("span.bx0") ? /^\(?(\d+)\)?$/ : /\((\d+)\)$/).exec(text)?.[1];
  return count === undefined ? null : Number(count);
}

/**
 * A person Gmail shows (a row's participant, a message's sender): `email` and `name` attributes
 * (thread-list-classic-2014-12.html: `span.zF[email][name]`), the name being the shown text when the attribute is
 * missing. `isMe` is Gmail's own marker for the signed-in account (`name="me"` in the capture); callers also compare
 * with the account's addresses, since that marker may be localised.
 */
export function personOf(element: Element | null): { email: string; name: string; isMe: boolean } {
  const name = element?.getAttribute("name") ?? element?.textContent ?? "";
  return { email: element?.getAttribute("email") ?? "", name, isMe: element?.getAttribute("name") === "me" };
}

/**
 * A conversation message's Gmail ids, best first: `data-legacy-message-id` once synced, else `data-message-id`. The
 * legacy id is not taken when the sync id is one of `sentDrafts` (a compose this tab sent): Gmail may show a message
 * just sent with its DRAFT's legacy id, "a Gmail bug" InboxSDK works around by ignoring `data-legacy-message-id` when
 * `data-message-id` is a draft id it saw lately (InboxSDK #515 of 2018-06-05, pull request 586 of 2019-01-25; still in
 * gmail-message-view.ts at a8a6fe2, 2026-07-23).
 */
export function messageGmailIds(message: Element, sentDrafts: ReadonlySet<string>): string[] {
  const sync = message.getAttribute("data-message-id");
  return [sentDrafts.has(gmailId(sync) ?? "") ? null : message.getAttribute("data-legacy-message-id"), sync].filter(
    (id): id is string => !!id,
  );
}

/**
 * A thread row's latest message id, as Gmail writes it, or null: `data-legacy-last-non-draft-message-id` when the
 * row has it (a draft saved in the thread is no message anyone sent), else `data-legacy-last-message-id`. The
 * 2019-12-26 row (docs/gmail.md) carries both, equal: that the first skips a draft is read from its name alone.
 */
export function rowLastMessageId(row: Element): string | null {
  const carrier = queryRow(row, "rowLastMessageId");
  return carrier?.getAttribute("data-legacy-last-non-draft-message-id") || carrier?.getAttribute("data-legacy-last-message-id") || null;
}

/**
 * The addresses a link in a displayed message leads to: its `href`, which Gmail leaves as the email has it, then the
 * original again in `data-saferedirecturl`, Gmail's redirect through Google,
 * `https://www.google.com/url?hl=en&q=<original>&source=gmail&ust=…&usg=…`, where the original has `%`, `&`, `=`
 * and `+` percent-encoded (InboxSDK's captures __tests__/gmail-response-processor/extract-message-response-2.txt,
 * 2018-02, and __tests__/gmail-sync-response-processor/thread-response-2018-03-14.json). Gmail's own click handlers
 * read that attribute (docs/gmail.md, "Links in a displayed message"): that one of them puts it into `href` as the
 * link is pressed is assumed, not seen, so both are read.
 */
export function messageLinkUrls(link: Element): string[] {
  const redirect = link.getAttribute("data-saferedirecturl") ?? "";
  return [link.getAttribute("href") ?? "", (URL.canParse(redirect) && new URL(redirect).searchParams.get("q")) || ""];
}

/**
 * The link an event on `target` follows: one with an address, and not in a compose's editable body, where a click
 * places the caret instead (a quoted email's links are there too).
 */
export function followedLink(target: EventTarget | null): Element | null {
  const link = target instanceof Element ? target.closest("a[href]") : null;
  return link?.closest('[contenteditable="true"]') ? null : link;
}

/**
 * The signed-in account's address, lower-cased, or null: first as Gmail's own data names it, `GLOBALS[10]`, which the
 * page-world script puts on <html> when asked (account-address.ts, with its sources; in every UI language); else from
 * the account switcher's label ("Google Account: Name (me@example.com)", English only).
 */
export function accountAddress(doc: Document): string | null {
  const root = doc.documentElement;
  if (!root.hasAttribute(ACCOUNT_ATTRIBUTE)) doc.dispatchEvent(new Event(ACCOUNT_WANTED_EVENT));
  // Any script of the page can set the attribute: only an address is taken from it.
  const published = normalizeEmail(root.getAttribute(ACCOUNT_ATTRIBUTE) ?? "");
  if (isEmailAddress(published)) return published;
  const switcher = query(doc, "accountSwitcher", false);
  return EMAIL_IN_TEXT.exec(switcher?.getAttribute("aria-label") ?? switcher?.getAttribute("data-email") ?? "")?.[0].toLowerCase() ?? null;
}

/** The table cell Gmail puts the send button in (the compose toolbar goes after it), or null. */
export function sendButtonCell(send: Element): Element | null {
  return send.closest("td");
}

/** The Gmail id a compose's hidden input holds (its draft, its thread's), or null when it is empty or missing. */
export function composeInputId(root: ParentNode, name: "draftInput" | "threadInput"): string | null {
  return gmailId((query(root, name, false) as HTMLInputElement | null)?.value);
}

/**
 * The view Gmail shows, `[role=main]`, where the opened conversation is read. Gmail keeps earlier views in the page,
 * hidden (`div.aeF > div.nH`, shown and hidden by style.display: InboxSDK get-main-content-element-changed-stream.ts),
 * and marks the one shown `role=main` (InboxSDK gmail-element-getter.ts getMainContentContainer "used to just look for
 * the div[role=main] element", both at a8a6fe2, 2026-07-23): a hidden conversation's heading, or a list item in a chat
 * or people panel, is never the opened conversation's. The whole page when no view is marked (Contacts, ibid.).
 */
export function shownView(doc: Document): ParentNode {
  return doc.querySelector('[role="main"]') ?? doc;
}

/** The thread id of the opened conversation (legacy hex when Gmail gives it), or null when none is open. */
export function conversationThreadId(root: ParentNode): string | null {
  const heading = query(root, "conversationSubject", false);
  const raw = gmailId(heading?.getAttribute("data-legacy-thread-id")) ?? gmailId(heading?.getAttribute("data-thread-perm-id"));
  return raw ? (legacyThreadId(raw) ?? raw) : null;
}

/** Set on <html> by the content script once it read one of Gmail's lists with its messages (replies-bounces.ts). */
export const LISTS_READ_ATTRIBUTE = "data-mt-lists-read";
/**
 * Set on <html> by the content script at each tracked send: "ok" when it was registered in its conversation (Gmail's
 * answer named the thread's legacy id), "missing" when not, or when no answer came (compose-tracking.ts).
 */
export const SEND_ANSWER_ATTRIBUTE = "data-mt-send-answer";

/**
 * Which parts of Gmail the extension recognises on this page now (the popup's health notice). A part is judged
 * only when something generic shows Gmail has it on screen (an editable area, table rows, messages), so a Gmail
 * change that renames what the selectors look for reads as "missing", not as "not there".
 */
export function recogniseGmail(doc: Document, sentJustNow = false): GmailHealth {
  const parts: GmailHealth = {
    compose: "unseen",
    send: "unseen",
    recipients: "unseen",
    sentRows: "unseen",
    rowIds: "unseen",
    threadLists: "unseen",
    conversation: "unseen",
    senders: "unseen",
    undoNotice: "unseen",
    sendAnswer: "unseen",
    pageScript: "unseen",
  };
  const bodies = queryAll(doc, "composeBody");
  const roots = bodies.map((body) => closest(body, "composeRoot")).filter((root): root is Element => root !== null);
  if (roots.length > 0) parts.compose = "ok";
  else if (doc.querySelector('[contenteditable="true"][role="textbox"], input[name="subjectbox"]')) parts.compose = "missing";
  if (roots.length > 0) {
    parts.send = roots.every((root) => query(root, "sendButton", false) !== null) ? "ok" : "missing";
    const read = roots.map((root) => composeRecipients(root).length > 0);
    if (roots.some((root, i) => !read[i] && unreadRecipientsShown(root))) parts.recipients = "missing";
    else if (read.some(Boolean)) parts.recipients = "ok";
  }
  const rows = queryAll(doc, "threadRow");
  if (rows.length > 0) {
    parts.sentRows = "ok";
    parts.rowIds = rows.some((row) => rowThreadIds(row) !== null) ? "ok" : "missing";
  } else if (!doc.querySelector("[data-message-id]") && doc.querySelector('[role="main"] table tr td'))
    // A table in the main view that is not a conversation (its header is a table too): a list we cannot read.
    parts.sentRows = "missing";
  const messages = queryAll(doc, "conversationMessage");
  if (messages.length > 0)
    parts.conversation = conversationThreadId(doc) !== null && query(doc, "messageBody", false) !== null ? "ok" : "missing";
  // Messages no selector finds, in a view that shows a conversation (its subject heading, or a message body: InboxSDK
  // gmail-thread-view.ts and gmail-message-view.ts at a8a6fe2 read both), are a conversation we cannot read.
  else if (query(doc, "messageBody", false) !== null || doc.querySelector('[role="main"] h2.hP') !== null) parts.conversation = "missing";
  // Who wrote each message, which is how replies and bounces are told from the rep's own messages
  // (thread-signals.ts): judged in a conversation, where every message names its sender, and missing only when not
  // one of them can be read. Not in a list: a row of drafts alone shows a draft marker where other rows show people
  // (`td div.yW .boq`, counted as no message: InboxSDK gmail-thread-row-view.ts getCounts, 2025-07-24, at a8a6fe2),
  // and rows with only data-thread-id (docs/gmail.md, a 2025-11 live dump) carry no latest message id, so a list
  // whose rows give no replies is no sign of a Gmail change.
  if (messages.length > 0)
    parts.senders = messages.some((message) => personOf(query(message, "messageSender", false)).email) ? "ok" : "missing";
  // Just after a send (`sentJustNow`), Gmail's notice bar shows "Sending…" (no link), then "Message sent" with Undo and
  // View message (sentNoticeUndo). A notice with links but neither id is that one renamed: an Undo there would go
  // unseen. Other notices offer Undo too (archive, delete), by the same id: they say nothing of the sent one.
  if (sentJustNow) {
    if (doc.querySelector(`[role="alert"] ${NOTICE_VIEW_MESSAGE}`)) parts.undoNotice = "ok";
    else if (doc.querySelector('[role="alert"] [role="link"]') && !doc.querySelector(`[role="alert"] ${NOTICE_UNDO}`))
      parts.undoNotice = "missing";
  }
  const sendAnswer = doc.documentElement.getAttribute(SEND_ANSWER_ATTRIBUTE);
  if (sendAnswer) parts.sendAnswer = sendAnswer === "ok" ? "ok" : "missing";
  // Rows that name their thread but no message (docs/gmail.md: the 2025-11 dump) give their replies only through
  // Gmail's own lists, which the page-world script passes on. Judged only where that script started in time to see the
  // page's first list: otherwise the rep is told to reload (below).
  const pageWorld = doc.documentElement.getAttribute(PAGE_WORLD_ATTRIBUTE);
  if (doc.documentElement.hasAttribute(LISTS_READ_ATTRIBUTE)) parts.threadLists = "ok";
  else if (pageWorld === "early" && parts.rowIds === "ok" && rows.every((row) => rowLastMessageId(row) === null))
    parts.threadLists = "missing";
  // The page-world script marks the page as it starts (events.ts markPageWorldStart): no mark once Gmail shows any of
  // the parts above means it never ran in this tab.
  if (pageWorld === "early") parts.pageScript = "ok";
  else if (pageWorld === "late" || Object.values(parts).some((state) => state !== "unseen")) parts.pageScript = "missing";
  return parts;
}
