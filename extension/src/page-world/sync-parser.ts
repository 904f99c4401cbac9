// Reads Gmail's `POST /sync/u/N/i/s` traffic: which messages a request sends, and which thread and message ids
// Gmail's answer gives them. Pure functions, tested on the real payloads in test/fixtures/gmail/sync-api/.
// Shapes (2022-09 .. 2023-01 captures): the request holds message arrays at varying depths, each
// `[ "msg-a:r…", from, to, …, [8]: [null, [[0, "<html>"], [2, "<quoted html>"]]], …, [10]: labels ]` inside
// a `[ "thread-a:r…", … ]` array; a send carries the label "^pfg" (draft saves carry "^r"). The response lists
// threads at `response[1][5][k][0]`: `[0]` the thread id, `[2][6][0][19]` the legacy hex thread id, and
// `[2][6][0][4]` the messages, each with its own id at `[0]` and its legacy hex id at `[55]` (InboxSDK reads the same:
// parseResponseThread in src/injected-js/gmail/sync-compose-processor-20220909.ts, a8a6fe2, 2026-07-23; a newer
// reader named for Gmail's 2025-02-06 answer, sync-compose-processor-20250206.ts at dbada4a, on a branch not merged
// into InboxSDK's main as of a8a6fe2, reads the same places and is tested on these same 2022-09-09 captures). InboxSDK
// keeps an older answer's reader as its fallback (setup-gmail-interceptor.ts: `response[2][6]`, whose "minimal send
// updates" name the thread at `update[1][1]`); no capture of that shape is public, and it is not read here.
// Recipients: `msg[2]` To, `[3]` Cc, `[4]` Bcc, each `[[1, address, name], …]` (the captures; gmail.js
// parse_sent_message_payload_new reads the same three). "Schedule send" posts the message with the label
// "^scheduled" instead of "^pfg" (gmail.js `parse_request_payload`, src/gmail.js at b7dfdab, 2026-03-25: a message
// whose labels hold "^pfg" is `send_message`, one holding "^scheduled" `send_scheduled_message`).
import { TRACKING_ID_UNANCHORED } from "../../../shared/protocol";
import type { Recipient, SentMessageIds, UntrackedSend } from "./events";

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
  /** Tracking ids found anywhere in the message's HTML parts. */
  trackingIds: string[];
  recipients: Recipient[];
  scheduled: boolean;
  /** For a scheduled send: the message's time at [6] when it lies after `now` (unverified on live Gmail, 2026-11). */
  scheduledAt: number | null;
}

export interface SyncThread {
  threadId: string;
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

function htmlParts(message: unknown[]): string {
  const parts = Array.isArray(message[8]) ? message[8][1] : null;
  if (!Array.isArray(parts)) return "";
  return parts.map((part) => (Array.isArray(part) && typeof part[1] === "string" ? part[1] : "")).join("");
}

const ADDRESS = /^[^@\s]{1,200}@[^@\s]{1,200}$/;

/** The To, Cc and Bcc lists of a message, deduplicated, addresses lower-cased. */
function recipientsOf(message: unknown[]): Recipient[] {
  const out = new Map<string, Recipient>();
  for (const list of [message[2], message[3], message[4]]) {
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      if (!Array.isArray(entry) || typeof entry[1] !== "string" || !ADDRESS.test(entry[1].trim())) continue;
      const email = entry[1].trim().toLowerCase();
      const name = typeof entry[2] === "string" && entry[2] ? entry[2].slice(0, 200) : undefined;
      if (!out.has(email)) out.set(email, name ? { email, name } : { email });
    }
  }
  return [...out.values()];
}

/** Messages a sync request sends (label ^pfg, or ^scheduled), with the tracking ids in their HTML. */
export function parseSyncRequest(body: unknown, now = Date.now()): SyncSend[] {
  const sends: SyncSend[] = [];
  const walk = (value: unknown, threadId: string | null, depth: number) => {
    if (!Array.isArray(value) || depth > 40) return;
    if (isMessageArray(value)) {
      const labels = value[10] as unknown[];
      const scheduled = !labels.includes(SEND_LABEL) && labels.includes(SCHEDULED_LABEL);
      if (labels.includes(SEND_LABEL) || scheduled) {
        const at = typeof value[6] === "number" ? value[6] : null;
        sends.push({
          threadId,
          messageId: value[0] as string,
          subject: typeof value[7] === "string" ? value[7] : null,
          trackingIds: [...new Set(htmlParts(value).match(TRACKING_ID_IN_TEXT) ?? [])],
          recipients: recipientsOf(value),
          scheduled,
          scheduledAt: scheduled && at !== null && at > now ? at : null,
        });
      }
      return;
    }
    const here = syncThreadId(value[0]) ?? threadId;
    for (const item of value) walk(item, here, depth + 1);
  };
  walk(body, null, 0);
  return sends;
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
    // [2][6][0] is the thread's data; a [2][6] whose [0] is no array is read as that data itself (no capture shows
    // one: a fallback kept from an earlier reading, which costs nothing when the captured shape comes).
    const holder = Array.isArray(thread[2]) && Array.isArray(thread[2][6]) ? (thread[2][6] as unknown[]) : [];
    const inner = Array.isArray(holder[0]) ? (holder[0] as unknown[]) : holder;
    const legacy = (v: unknown) => (typeof v === "string" && /^[0-9a-f]{1,32}$/.test(v) ? v : null);
    const messages = Array.isArray(inner[4])
      ? inner[4]
          .filter((m): m is unknown[] => Array.isArray(m) && typeof m[0] === "string")
          .map((m) => ({ messageId: m[0] as string, legacyMessageId: legacy(m[55]) }))
      : [];
    threads.push({ threadId, legacyThreadId: legacy(inner[19]), messages });
  }
  return threads;
}

/** Joins a send request with its response: every sent message that carries a tracking id, with its Gmail ids. */
export function sentMessageIds(requestBody: unknown, response: unknown, now = Date.now()): SentMessageIds[] {
  const threads = parseSyncResponse(response);
  return parseSyncRequest(requestBody, now)
    .filter((send) => send.trackingIds.length > 0)
    .map((send) => {
      const thread =
        threads.find((t) => t.messages.some((m) => m.messageId === send.messageId)) ??
        threads.find((t) => t.threadId === send.threadId) ??
        null;
      const message = thread?.messages.find((m) => m.messageId === send.messageId) ?? null;
      return {
        trackingIds: send.trackingIds,
        threadId: thread?.threadId ?? send.threadId,
        messageId: send.messageId,
        legacyThreadId: thread?.legacyThreadId ?? null,
        legacyMessageId: message?.legacyMessageId ?? null,
        recipients: send.recipients,
        scheduled: send.scheduled,
        scheduledAt: send.scheduledAt,
      };
    });
}

/** Sent messages with no tracking id of ours: the content script checks none of them was meant to be tracked. */
export function untrackedSends(requestBody: unknown): UntrackedSend[] {
  return parseSyncRequest(requestBody)
    .filter((send) => send.trackingIds.length === 0)
    .map(({ messageId, subject, recipients, scheduled }) => ({ messageId, subject, recipients, scheduled }));
}
