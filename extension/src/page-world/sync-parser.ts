// Reads Gmail's `POST /sync/u/N/i/s` traffic: which messages a request sends, and which thread and message ids
// Gmail's answer gives them (from the page world's "mt:gmail-send-answered"); takes earlier emails' pixels out of a
// send's quoted conversation (the page world, as the request goes out); and reads the threads of Gmail's thread lists
// (parseThreadList, from "mt:gmail-list-answered"; parseEmbeddedThreadList, from "mt:gmail-list-embedded"). What the
// page world passes on is read in the background (background/gmail-traffic.ts), which the content script hands it to.
// Pure functions, tested on the real payloads in test/fixtures/gmail/.
// Shapes (2022-09 .. 2023-01 captures): the request holds message arrays at varying depths, each
// `[ "msg-a:r…", from, to, …, [8]: [null, [[0, "<html>"], [2, "<quoted html>"]]], …, [10]: labels ]` inside
// a `[ "thread-a:r…", … ]` array; a send carries the label "^pfg" (draft saves carry "^r"). The response lists
// threads at `response[1][5][k][0]`: `[0]` the thread id, `[2][6][0][19]` the legacy hex thread id, and
// `[2][6][0][4]` the messages, each with its own id at `[0]` and its legacy hex id at `[55]` (InboxSDK reads the same:
// parseResponseThread in src/injected-js/gmail/sync-compose-processor-20220909.ts, a8a6fe2, 2026-07-23; a newer
// reader named for Gmail's 2025-02-06 answer, sync-compose-processor-20250206.ts at dbada4a, on a branch not merged
// into InboxSDK's main as of a8a6fe2, reads the same places and is tested on these same 2022-09-09 captures). InboxSDK's
// fallback (setup-gmail-interceptor.ts: `response[2][6]`, its "minimal send updates" with the thread at `update[1][1]`
// and the message at `update[1][3][5][3][0]`, no legacy id) reads the 2018-2019 answer, an object keyed "1", "2"…
// whose `["2"]["6"]` is the `[1][5]` read here; a minimal one is captured in its test/data/2019-01-18-cvOnSend.json
// and cvOnReplySend.json. In an array answer `[2][6]` is nothing. Not read here: that form's request is an object too,
// which forEachSend does not walk, and a minimal update's two ids are the request's own, which answeredSends gives a
// send whose answer it cannot read anyway.
// Recipients: `msg[2]` To, `[3]` Cc, `[4]` Bcc, each `[[1, address, name], …]` (the captures; gmail.js
// parse_sent_message_payload_new reads the same three). "Schedule send" posts the message with the label
// "^scheduled" instead of "^pfg" (gmail.js `parse_request_payload`, src/gmail.js at b7dfdab, 2026-03-25: a message
// whose labels hold "^pfg" is `send_message`, one holding "^scheduled" `send_scheduled_message`).
// A reply's body parts: `[0, "<html>"]` what the rep wrote, `[2, "<html>"]` the quoted conversation, which Gmail
// keeps out of the compose behind "Show trimmed content" and sends as a part of its own, in the proxied form of its
// own copy, pixels included (every cvOnReplySend capture: part 2 opens with `<br><div class="gmail_quote">`, and the
// first quotes Streak's pixel as `https://ci5.googleusercontent.com/proxy/…#<original>`).
import { isEmailAddress, normalizeEmail } from "../../../shared/email";
import { messageReceivedAt, stableMessageId } from "../../../shared/gmail-message-id";
import { RECIPIENT_NAME_MAX } from "../../../shared/limits";
import { TRACKING_ID_UNANCHORED } from "../../../shared/protocol";
import type { Recipient } from "./events";
import { withoutPixels } from "./pixel-guard";

/** Every tracking id in a text: the protocol's pattern, unanchored (only that constant of the module reaches the page). */
const TRACKING_ID_IN_TEXT = new RegExp(TRACKING_ID_UNANCHORED, "g");
const SEND_LABEL = "^pfg";
const SCHEDULED_LABEL = "^scheduled";
/** What a request body must contain to be worth parsing (a send or a scheduled send). */
export const SEND_MARKERS = [SEND_LABEL, SCHEDULED_LABEL];

export interface SyncSend {
  /** Gmail's id for the thread in the request ("thread-a:r…" or "thread-f:…"); null if none encloses it. */
  threadId: string | null;
  /** "msg-a:r…" */
  messageId: string;
  /** The message's subject, at [7]. */
  subject: string | null;
  /** Tracking ids in what the rep wrote: its HTML parts but the quoted conversation. */
  trackingIds: string[];
  /** The To/Cc/Bcc lists: a second source next to the compose's chips. */
  recipients: Recipient[];
  /** Posted with Gmail's "Schedule send" (label ^scheduled): it leaves Gmail later, not now. */
  scheduled: boolean;
  /** For a scheduled send: the message's time at [6] when it lies after `now` (unverified on live Gmail, 2026-11). */
  scheduledAt: number | null;
  /**
   * Sent as plain text, which carries no image and so no pixel: the body's `[8][6]` is 0. gmail.js reads that field
   * as `ishtml` (parse_sent_message_payload_new, src/gmail.js at b7dfdab, 2026-03-25), and it is 1 in every captured
   * send, all of them HTML; 0 for plain text is assumed, not captured. Anything else (1, missing) is not plain text.
   */
  plainText: boolean;
}

/** One sent message with every id Gmail gave it (the thread's as the answer names it, when it does). */
export interface SentMessageIds extends SyncSend {
  legacyThreadId: string | null;
  legacyMessageId: string | null;
}

/**
 * A sent message that carries no tracking id of ours, with its ids as a tracked one has them: one the rep sent with
 * Opens off and no link signed carries none, and is still the extension's to register (compose-tracking.ts).
 */
export type UntrackedSend = SentMessageIds;

export interface SyncThread {
  threadId: string;
  /** Its legacy hex id, or the same id as its number, "thread-f:<decimal>" (threadNumber); null when neither is given. */
  legacyThreadId: string | null;
  messages: { messageId: string; legacyMessageId: string | null }[];
}

/** Gmail prefixes JSON answers with `)]}'` to defeat JSON hijacking. */
export function parseGmailJson(text: string): unknown {
  const trimmed = text.replace(/^\)\]\}'\s*/, "");
  try {
    return JSON.parse(trimmed);
  } catch {
    return null;
  }
}

/**
 * A thread id as Gmail's sync traffic gives it, without what follows a "|": request and response alike may carry
 * "thread-a:r…|msg-a:r…", and InboxSDK keeps only the part before it (parseThreadId in
 * src/injected-js/gmail/sync-compose-processor-20220909.ts, a8a6fe2, 2026-07-23). Null for text that is no thread id.
 */
export function syncThreadId(value: unknown): string | null {
  if (typeof value !== "string" || !value.startsWith("thread-")) return null;
  const bar = value.indexOf("|");
  return bar === -1 ? value : value.slice(0, bar);
}

function isMessageArray(value: unknown[]): boolean {
  return typeof value[0] === "string" && /^msg-[af]:/.test(value[0]) && value.length > 10 && Array.isArray(value[10]);
}

/** The type of a message's body part that holds the quoted conversation (see above). */
const QUOTED_PART = 2;

/** The HTML of a message's body parts of the quoted conversation (`quoted`) or not. */
function htmlParts(message: unknown[], quoted: boolean): string[] {
  const parts = Array.isArray(message[8]) ? message[8][1] : null;
  if (!Array.isArray(parts)) return [];
  return parts
    .filter((part): part is [number, string] => Array.isArray(part) && typeof part[1] === "string" && (part[0] === QUOTED_PART) === quoted)
    .map((part) => part[1]);
}

/** The To, Cc and Bcc lists of a message, deduplicated, addresses lower-cased. */
function recipientsOf(message: unknown[]): Recipient[] {
  const out = new Map<string, Recipient>();
  for (const list of [message[2], message[3], message[4]]) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const email = Array.isArray(entry) && typeof entry[1] === "string" ? normalizeEmail(entry[1]) : "";
      if (!isEmailAddress(email) || out.has(email)) continue;
      out.set(email, typeof entry[2] === "string" && entry[2] ? { email, name: entry[2].slice(0, RECIPIENT_NAME_MAX) } : { email });
    }
  }
  return [...out.values()];
}

/** Calls `visit` with each message a sync request sends (label ^pfg, or ^scheduled) and the thread id enclosing it. */
function forEachSend(body: unknown, visit: (message: unknown[], threadId: string | null, scheduled: boolean) => void): void {
  const walk = (value: unknown, threadId: string | null, depth: number) => {
    if (!Array.isArray(value) || depth > 40) return;
    if (isMessageArray(value)) {
      const labels = value[10] as unknown[];
      const scheduled = !labels.includes(SEND_LABEL) && labels.includes(SCHEDULED_LABEL);
      if (labels.includes(SEND_LABEL) || scheduled) visit(value, threadId, scheduled);
      return;
    }
    const here = syncThreadId(value[0]) ?? threadId;
    for (const item of value) walk(item, here, depth + 1);
  };
  walk(body, null, 0);
}

/**
 * Messages a sync request sends, with the tracking ids in what the rep wrote: the quoted conversation's are
 * earlier emails' (withoutQuotedPixels takes their pixels out).
 */
export function parseSyncRequest(body: unknown, now = Date.now()): SyncSend[] {
  const sends: SyncSend[] = [];
  forEachSend(body, (message, threadId, scheduled) => {
    const at = message[6];
    sends.push({
      threadId,
      messageId: message[0] as string,
      subject: typeof message[7] === "string" ? message[7] : null,
      trackingIds: [...new Set(htmlParts(message, false).flatMap((html) => html.match(TRACKING_ID_IN_TEXT) ?? []))],
      recipients: recipientsOf(message),
      scheduled,
      scheduledAt: scheduled && typeof at === "number" && at > now ? at : null,
      plainText: (message[8] as unknown[] | null)?.[6] === 0,
    });
  });
  return sends;
}

/** A string in a JSON text, quotes included (the text is valid JSON: outside its strings there is no quote). */
const JSON_STRING = /"(?:[^"\\]+|\\.)*"/g;

/**
 * A send request's body with our trackers' pixels taken out of the quoted conversation of each message it sends:
 * quoted, an earlier email's pixel would load again for every reader of the reply, as an open of the earlier email
 * (docs/gmail.md). The compose's own body is cleaned before the send (rewrite.ts stripEarlierTracking); the quote is
 * not in the compose, so only here can it be. Only those JSON strings change, each found by its value, so however
 * Gmail escapes its JSON the rest of the body stays byte for byte. Quoted links are left alone: a reader clicking
 * one is a reader's click.
 */
export function withoutQuotedPixels(body: string, request: unknown, trackers: readonly string[]): string {
  const cleaned = new Map<string, string>();
  forEachSend(request, (message) => {
    for (const html of htmlParts(message, true)) {
      const without = withoutPixels(html, trackers);
      if (without !== html) cleaned.set(html, without);
    }
  });
  if (cleaned.size === 0) return body;
  return body.replace(JSON_STRING, (literal) => {
    const without = cleaned.get(JSON.parse(literal));
    return without === undefined ? literal : JSON.stringify(without);
  });
}

/** A legacy hex id (a thread's or a message's), or null. */
function legacyHex(value: unknown): string | null {
  return typeof value === "string" && /^[0-9a-f]{1,32}$/.test(value) ? value : null;
}

/**
 * A thread's legacy id from its data in a sync answer: the hex id at `[19]`, else the same number in decimal at `[17]`
 * as "thread-f:<decimal>" (gmail-ids.ts legacyThreadId converts it). InboxSDK's reader of a list's answer takes
 * `[17]` first and `[19]` only without it, because "Gmail is A/B testing" leaving one of the two out
 * (gmail-sync-response-processor.ts extractThreadsFromSearchResponse_20220909, a8a6fe2 of 2026-07-23; so does its
 * reader of the 2018-2019 object answer in setup-gmail-interceptor.ts, the same pair counted from 1); its reader of a
 * send's answer takes `[19]` alone (sync-compose-processor-20220909.ts parseResponseThread, same commit). Null when
 * neither is there.
 */
function threadNumber(data: unknown[]): string | null {
  const decimal = data[17];
  return legacyHex(data[19]) ?? (typeof decimal === "string" && /^\d{1,30}$/.test(decimal) ? `thread-f:${decimal}` : null);
}

/**
 * A thread's data in Gmail's sync answers: `[3]` its sync id, `[19]` its legacy hex id, `[4]` its messages, each an
 * array with its own sync id at `[0]` (sent messages "msg-a:r…", received ones "msg-f:<decimal>", InboxSDK's
 * sync-compose-processor-20220909.ts and the captures).
 */
function messagesOf(data: unknown[]): unknown[][] {
  return Array.isArray(data[4]) ? data[4].filter((m): m is unknown[] => Array.isArray(m) && typeof m[0] === "string") : [];
}

/** Threads in a sync response, with the legacy ids of their messages. */
export function parseSyncResponse(response: unknown): SyncThread[] {
  const list = Array.isArray(response) && Array.isArray(response[1]) ? response[1][5] : null;
  if (!Array.isArray(list)) return [];
  const threads: SyncThread[] = [];
  for (const wrapper of list) {
    const thread = Array.isArray(wrapper) ? wrapper[0] : null;
    const threadId = Array.isArray(thread) ? syncThreadId(thread[0]) : null;
    if (!Array.isArray(thread) || threadId === null) continue;
    // [2][6][0] is the thread's data, in every captured answer.
    const holder = Array.isArray(thread[2]) && Array.isArray(thread[2][6]) ? thread[2][6][0] : null;
    const data: unknown[] = Array.isArray(holder) ? holder : [];
    const messages = messagesOf(data).map((m) => ({ messageId: m[0] as string, legacyMessageId: legacyHex(m[55]) }));
    threads.push({ threadId, legacyThreadId: threadNumber(data), messages });
  }
  return threads;
}

/** A thread of a thread list as Gmail's answer gives it. */
export interface ListedThread {
  /** Its id as the answer names it: its legacy id, else its number ("thread-f:<decimal>"), else its sync id. */
  threadId: string | null;
  /** The start of the thread's latest message, as its row shows it; null when the answer gives none. */
  snippet: string | null;
  /** Oldest first, drafts left out. `sent`: the account sent it (label `^f`); `snippet`: the start of its text. */
  messages: { id: string | null; from: string; name: string; sent: boolean; snippet: string | null }[];
}

/**
 * A thread's data as Gmail's thread lists give it, read at InboxSDK's places (extractThreadsFromSearchResponse_20220909
 * in gmail-sync-response-processor.ts: added 2022-09-12 as a "probable parser for search response", 97be7b7d,
 * unchanged since but for formatting, in use at a8a6fe2 of 2026-07-23): its snippet at `[1]`, sync id at `[3]`,
 * messages at `[4]` (each with its sync id at `[0]`, date at `[6]`, legacy id at `[55]`), and its legacy id at `[19]`
 * or, in decimal, at `[17]`. Each message's sender is `[1]` = `[1, address, name]` and its labels are `[10]`, with
 * `^f` on what the account sent, none on what it received, `^r` on a draft:
 * - two real list answers say so: InboxSDK's of 2018-01-25 (__tests__/gmail-sync-response-processor/) and gmail.js's
 *   of 2020-04-27 (test/fixtures/gmail/list-answer-2020-04-27.json), both in the object form Gmail used until
 *   2022-09, whose keys count from 1 where today's arrays count from 0 ("indexes being off by 1 (across the board)",
 *   gmail.js #721, 2022-09-12); gmail.js moved its list readers by one the next day (e7bb246) and reads the
 *   sender at `[1][1]`, the draft label in `[10]` and the legacy id at `[55]` to this day (b7dfdab, 2026-03-25);
 * - today's array form holds them at those places in every send answer captured (2022-09-09: 23 of 23 sent messages
 *   labelled `^f`; one capture's test data has a name where the address goes, which is read as no sender).
 * Each message's own snippet is at `[9]` (every message of the 2020 answer, most of the 2022-09 send answers' and the
 * 2026 reader's in docs/gmail.md). The captures list a thread's messages out of order (cvOnReplySend_4: the third is
 * the latest), so they are put in order by their dates: numbers in today's answers, digits in the 2020 one (gmail.js
 * parses them).
 */
function listedThread(data: unknown): ListedThread | null {
  if (!Array.isArray(data)) return null;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const labelled = (m: unknown[], label: string) => Array.isArray(m[10]) && m[10].includes(label);
  const messages = messagesOf(data)
    .filter((m) => !labelled(m, "^r"))
    .map((m) => {
      const sender = Array.isArray(m[1]) ? m[1] : [];
      const from = normalizeEmail(text(sender[1]));
      const id = stableMessageId(text(m[55])) ?? stableMessageId(text(m[0]));
      const date = typeof m[6] === "number" || (typeof m[6] === "string" && /^\d{1,15}$/.test(m[6])) ? Number(m[6]) : 0;
      return {
        at: date || ((id ? messageReceivedAt(id) : null) ?? 0),
        message: {
          id,
          from: isEmailAddress(from) ? from : "",
          name: text(sender[2]),
          sent: labelled(m, "^f"),
          snippet: text(m[9]) || null,
        },
      };
    })
    .sort((a, b) => a.at - b.at)
    .map(({ message }) => message);
  return {
    threadId: threadNumber(data) ?? syncThreadId(data[3]),
    snippet: text(data[1]) || null,
    messages,
  };
}

/**
 * The threads of Gmail's answer to a thread list (`/sync/u/N/i/bv`, which the page world passes on), the messages of
 * each with their ids and senders. A row of today's list may carry only its thread's sync id (docs/gmail.md), and
 * then this answer is where the ids of its replies are. InboxSDK reads this answer for every list Gmail shows: the
 * threads at `[2]`, each thread's data at `[0]` (listedThread).
 */
export function parseThreadList(response: unknown): ListedThread[] {
  return listedThreads(Array.isArray(response) ? response[2] : null, 0);
}

/**
 * The first list a Gmail page shows, which Gmail writes into the page as it loads (the page world passes it on,
 * gmail-data.ts; the evidence is in docs/gmail.md): the threads at `[0][0]`, each thread's data at `[4]` (gmail.js
 * parse_bv_embedded_json, at b7dfdab of 2026-03-25).
 */
export function parseEmbeddedThreadList(embedded: unknown): ListedThread[] {
  return listedThreads(Array.isArray(embedded) && Array.isArray(embedded[0]) ? embedded[0][0] : null, 4);
}

/** The threads of a list whose items hold each thread's data at `dataAt`. */
function listedThreads(list: unknown, dataAt: number): ListedThread[] {
  return Array.isArray(list) ? list.flatMap((item) => listedThread(Array.isArray(item) ? item[dataAt] : null) ?? []) : [];
}

/**
 * A send request joined with Gmail's answer, read once: the sent messages with their Gmail ids, those that carry a
 * tracking id of ours and those that carry none (the content script checks whether any of them was its own).
 */
export function answeredSends(
  requestBody: unknown,
  response: unknown,
  now = Date.now(),
): { tracked: SentMessageIds[]; untracked: UntrackedSend[] } {
  const threads = parseSyncResponse(response);
  const sends = parseSyncRequest(requestBody, now).map((send) => {
    const thread =
      threads.find((t) => t.messages.some((m) => m.messageId === send.messageId)) ??
      threads.find((t) => t.threadId === send.threadId) ??
      null;
    return {
      ...send,
      threadId: thread?.threadId ?? send.threadId,
      legacyThreadId: thread?.legacyThreadId ?? null,
      legacyMessageId: thread?.messages.find((m) => m.messageId === send.messageId)?.legacyMessageId ?? null,
    };
  });
  return { tracked: sends.filter((send) => send.trackingIds.length > 0), untracked: sends.filter((send) => send.trackingIds.length === 0) };
}
