// Replies and delivery-failure notices, read from what Gmail shows: pure functions from the page (a thread list, an
// opened conversation) to the signals the tracker records (shared/api.ts `signalsRequest`), a notice as its text, which
// the background classifies (background/signals.ts gmailSignalsRequest). The feature
// (features/replies-bounces.ts) runs them on every re-render and reports through the background; the tracker
// dedupes by each reply's or notice's own Gmail message id, so a re-render never counts twice.
//
// Who is "the sender": the account's own addresses (`ownAddresses`), read from the page in this order:
// 1. Gmail's own data, `GLOBALS[10]`, in any UI language, else the account switcher's aria-label "Google Account: Name
//    (me@example.com)" (accountAddress in gmail-selectors.ts). In a delegated mailbox the first is the mailbox's
//    address and the switcher names the delegate (account-address.ts has the sources): both are the sender's side;
// 2. the window title, "Inbox (3) - me@example.com - Gmail" (titleAddress in gmail-ids.ts, with its sources);
// 3. in a list, participants Gmail itself names "me" (English UI only);
// 4. in a conversation, the senders of messages that carry one of our (neutralised) pixels outside a quote: we sent
//    those (a reply quoting our email carries its pixel too).
// The tracker also gets these addresses (`self`) and ignores replies from them, for send-as aliases.
// A conversation message counts only after the first message of the sender's in the thread: in a thread someone
// else started, their first message is not a reply to our tracked email.
// Limits (2026-11): messages Gmail folds away in a long conversation ("3 older messages") are not in the page until
// expanded (a collapsed one, its header alone, is: it places the replies after it), and a list row shows only its
// latest sender; Gmail's data of its lists names every message of their threads, each notice with its own snippet
// (readListedThreads).

import type { z } from "zod";
import { isBounceSender, MAX_NOTICE_CHARS } from "../../../shared/bounce";
import { normalizeEmail } from "../../../shared/email";
import { messageReceivedAt, stableMessageId } from "../../../shared/gmail-message-id";
import type { gmailSignalsRequest } from "../background/signals";
import { registeredThreadId, titleAddress } from "../gmail-ids";
import { NEUTRALISED_PIXELS, PIXEL_ID_ATTRIBUTE } from "../page-world/pixel-guard";
import type { ListedThread } from "../page-world/sync-parser";
import {
  accountAddress,
  conversationThreadId,
  messageGmailIds,
  personOf,
  query,
  queryAll,
  queryAllRow,
  queryRow,
  quotedIn,
  rowLastMessageId,
  rowListsRecipients,
  rowMessageCount,
  rowThreadIds,
  shownView,
} from "./gmail-selectors";

/** A reply, or a bounce notice's text for the background to classify (background/signals.ts). */
export type Signal = z.input<typeof gmailSignalsRequest>["signals"][number];

export interface ThreadSignals {
  threadId: string;
  signals: Signal[];
}

/** The signed-in account's own addresses, lower-cased (see the header for the sources). */
export function ownAddresses(doc: Document): Set<string> {
  const own = new Set([accountAddress(doc), titleAddress(doc.title)].filter((address) => address !== null));
  for (const span of queryAll(doc, "rowParticipants")) {
    const person = personOf(span);
    if (person.isMe) own.add(person.email.toLowerCase());
  }
  own.delete("");
  return own;
}

/**
 * Gmail's date for a message ("Thu, Nov 20, 2026, 3:04 PM", older "Thu, Dec 18, 2014 at 12:35 PM", local time) as
 * ISO; `now` when it cannot be read or lies in the future (a reply is seen after it arrived, never before). Gmail
 * shows minutes, not seconds, and a bounce notice often arrives within seconds of the send: the tracker attributes a
 * signal to the tracked message sent before it, so a time is read as the END of its minute (of its second when
 * seconds are shown), never after now, or a notice in the send's own minute would seem to predate its email.
 */
export function gmailDate(title: string | null | undefined, now: Date): string {
  const cleaned = (title ?? "")
    .replace(/[\u202f\u00a0]/g, " ")
    .replace(/\s+at\s+/, " ")
    .replace(/\s*\(.*\)\s*$/, "")
    .trim();
  const parsed = cleaned ? Date.parse(cleaned.replace(/,(\s*\d{1,2}:\d{2})/, "$1")) : Number.NaN;
  if (Number.isNaN(parsed) || parsed > now.getTime() || parsed < Date.UTC(2004, 0, 1)) return now.toISOString();
  // The end of the precision shown: of the minute, or of the second when seconds are shown.
  const end = parsed + (/\d:\d{2}:\d{2}/.test(cleaned) ? 999 : 59_999);
  return new Date(Math.min(end, now.getTime())).toISOString();
}

/**
 * When a reply or notice arrived: from its Gmail id, which holds the time in every UI language (messageReceivedAt),
 * never after now; else from the date Gmail shows (gmailDate), which only English titles give.
 */
function arrivedAt(legacyId: string, title: string | null | undefined, now: Date): string {
  const received = messageReceivedAt(legacyId);
  return received === null ? gmailDate(title, now) : new Date(Math.min(received, now.getTime())).toISOString();
}

function bounceOf(gmailMessageId: string, threadId: string, at: string, text: string): Signal {
  return { kind: "bounce", threadId, gmailMessageId, at, notice: text.replace(/\s+/g, " ").trim().slice(0, MAX_NOTICE_CHARS) };
}

/**
 * A message's own tracking id: a neutralised pixel of ours in it, not one quoted from an earlier email (a recipient's
 * reply quoting the rep's email carries its pixel, and is not the rep's message).
 */
export function messageTrackingId(message: Element): string | null {
  const quoted = quotedIn(message);
  for (const img of message.querySelectorAll(NEUTRALISED_PIXELS)) {
    if (quoted(img)) continue;
    const id = img.getAttribute(PIXEL_ID_ATTRIBUTE);
    if (id) return id;
  }
  return null;
}

/**
 * An opened conversation: every reply and notice after the sender's first message in it. The sender's own messages
 * are mostly collapsed there (Gmail collapses what was read): a collapsed one places the replies after it.
 * `sentDrafts`: the draft ids of the composes this tab sent (feature.ts sentDraftIds, gmail-selectors.ts messageGmailIds).
 */
export function readConversation(
  doc: Document,
  own: Set<string>,
  now = new Date(),
  sentDrafts: ReadonlySet<string> = new Set(),
): ThreadSignals | null {
  const view = shownView(doc);
  const threadId = conversationThreadId(view);
  if (!threadId) return null;
  const inOrder = [...new Set([...queryAll(view, "conversationMessage"), ...queryAll(view, "collapsedMessage")])].sort((a, b) =>
    a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1,
  );
  // A collapsed message shows no body and carries no id (gmail-selectors.ts collapsedMessage): never ours by a pixel,
  // never a reply itself, it is read for its sender.
  const messages = inOrder.map((element) => {
    const sender = personOf(query(element, "messageSender", false));
    return {
      element,
      email: normalizeEmail(sender.email),
      ours: messageTrackingId(element) !== null,
      id:
        messageGmailIds(element, sentDrafts)
          .map(stableMessageId)
          .find((id) => id !== null) ?? null,
    };
  });
  const self = new Set(own);
  for (const m of messages) if (m.ours && m.email) self.add(m.email);
  // Last resort (no address anywhere): whoever wrote first in a tracked thread is taken to be the sender.
  if (self.size === 0 && messages[0]?.email) self.add(messages[0].email);
  const signals = signalsAfterOwn(
    threadId,
    messages.map((m) => ({
      ...m,
      own: m.ours || self.has(m.email),
      at: (id) => arrivedAt(id, query(m.element, "messageDate", false)?.getAttribute("title"), now),
      notice: () => (query(m.element, "messageBody", false) ?? m.element).textContent ?? "",
    })),
  );
  return { threadId, signals };
}

interface ThreadMessage {
  email: string;
  /** The message's stable Gmail id (stableMessageId), null when it has none yet. */
  id: string | null;
  /** Written by the sender (one of their addresses, or a message carrying one of our pixels). */
  own: boolean;
  at(id: string): string;
  /** A notice's text, or null when it cannot be read here (the notice is then read where it can be). */
  notice(): string | null;
}

/**
 * Every reply and notice after the sender's first message in a thread: in a thread someone else started, their first
 * message is not a reply to our tracked email.
 */
function signalsAfterOwn(threadId: string, messages: ThreadMessage[]): Signal[] {
  const signals: Signal[] = [];
  let afterOwn = false;
  for (const m of messages) {
    if (m.own) afterOwn = true;
    else if (afterOwn && m.id && m.email) {
      const notice = isBounceSender(m.email) ? m.notice() : undefined;
      if (notice === undefined) signals.push({ kind: "reply", threadId, gmailMessageId: m.id, at: m.at(m.id), from: m.email });
      else if (notice !== null) signals.push(bounceOf(m.id, threadId, m.at(m.id), notice));
    }
  }
  return signals;
}

/**
 * Replies and notices in Gmail's thread lists (sync-parser.ts parseThreadList, parseEmbeddedThreadList): a row of
 * today's list may carry no message id at all (docs/gmail.md), and then only the list's data names its replies. Read as an opened
 * conversation is, keyed by the same ids (the thread's legacy id, the message's), so either view finds each reply
 * once. The sender's messages are those the answer labels sent, or from one of `own`'s addresses (with no own address
 * and no label, none is, and so nothing is a reply). A notice's text is its own snippet, the start of the message
 * (for the latest, the thread's snippet when the message gives none): a notice with neither is read when its
 * conversation is opened.
 */
export function readListedThreads(threads: ListedThread[], own: Set<string>, now = new Date()): ThreadSignals[] {
  return threads.flatMap((thread) => {
    const threadId = registeredThreadId(thread.threadId);
    if (!threadId) return [];
    const last = thread.messages.at(-1);
    const signals = signalsAfterOwn(
      threadId,
      thread.messages.map((m) => ({
        ...m,
        email: m.from,
        own: m.sent || own.has(m.from),
        at: (id) => arrivedAt(id, null, now),
        notice: () => m.snippet ?? (m === last ? thread.snippet : null),
      })),
    );
    return signals.length > 0 ? [{ threadId, signals }] : [];
  });
}

/**
 * Thread list rows whose latest message is someone else's: a reply, or a notice (classified from the row's
 * snippet). Keyed by the row's last message id, the same id the conversation view uses, so opening the
 * conversation later dedupes with it. Earlier replies in the thread are found when the conversation is opened.
 * Rows with a single message, and rows listing recipients (in Sent, "To: Carol, Dave" / "An: …" names the
 * recipients, not senders), are skipped: read by the prefix's shape, in any UI language.
 */
export function readThreadRows(doc: Document, own: Set<string>, now = new Date()): ThreadSignals[] {
  const out: ThreadSignals[] = [];
  for (const row of queryAll(doc, "threadRow")) {
    const ids = rowThreadIds(row);
    const lastId = stableMessageId(rowLastMessageId(row));
    if (!ids || !lastId) continue;
    const threadId = ids.key;
    const participants = queryAllRow(row, "rowParticipants");
    const multi = participants.length >= 2 || (rowMessageCount(row) ?? 1) >= 2;
    const last = participants[participants.length - 1];
    const lastPerson = personOf(last ?? null);
    const lastEmail = normalizeEmail(lastPerson.email);
    if (!multi || !last || !lastEmail || rowListsRecipients(row)) continue;
    if (own.has(lastEmail) || lastPerson.isMe) continue;
    const at = arrivedAt(lastId, queryRow(row, "rowDate")?.getAttribute("title"), now);
    const signal: Signal = isBounceSender(lastEmail)
      ? bounceOf(lastId, threadId, at, queryRow(row, "rowSnippet")?.textContent ?? "")
      : { kind: "reply", threadId, gmailMessageId: lastId, at, from: lastEmail };
    out.push({ threadId, signals: [signal] });
  }
  return out;
}
