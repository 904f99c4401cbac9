// Reads Gmail's `POST /sync/u/N/i/s` traffic: which messages a request sends, and which thread and message ids
// Gmail's answer gives them. Pure functions, tested on the real payloads in test/fixtures/gmail/sync-api/.
// Shapes (2022-09 .. 2023-01 captures): the request holds message arrays at varying depths, each
// `[ "msg-a:r…", from, to, …, [8]: [null, [[0, "<html>"], [2, "<quoted html>"]]], …, [10]: labels ]` inside
// a `[ "thread-a:r…", … ]` array; a send carries the label "^pfg" (draft saves carry "^r"). The response lists
// threads at `response[1][5][k][0]`: `[0]` the thread id, `[2][6][0][19]` the legacy hex thread id, and
// `[2][6][0][4]` the messages, each with its own id at `[0]` and its legacy hex id at `[55]`.

/** The same shape as shared/protocol.ts TRACKING_ID_PATTERN, unanchored (this file runs in the page, import-free). */
const TRACKING_ID_IN_TEXT = /[a-z2-7]{16}\.[1-9][0-9]{0,3}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}/g;
const SEND_LABEL = "^pfg";

export interface SyncSend {
  /** Gmail's id for the thread in the request ("thread-a:r…" or "thread-f:…"); null if none encloses it. */
  threadId: string | null;
  /** "msg-a:r…" */
  messageId: string;
  /** The message's subject, at [7]. */
  subject: string | null;
  /** Tracking ids found anywhere in the message's HTML parts. */
  trackingIds: string[];
}

export interface SyncThread {
  threadId: string;
  legacyThreadId: string | null;
  messages: { messageId: string; legacyMessageId: string | null }[];
}

/** One sent message with every id Gmail gave it; what the page-world hook reports to the content script. */
export interface SentMessageIds {
  trackingIds: string[];
  threadId: string | null;
  messageId: string;
  legacyThreadId: string | null;
  legacyMessageId: string | null;
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

function isMessageArray(value: unknown[]): boolean {
  return typeof value[0] === "string" && /^msg-[af]:/.test(value[0]) && value.length > 10 && Array.isArray(value[10]);
}

function htmlParts(message: unknown[]): string {
  const parts = Array.isArray(message[8]) ? message[8][1] : null;
  if (!Array.isArray(parts)) return "";
  return parts.map((part) => (Array.isArray(part) && typeof part[1] === "string" ? part[1] : "")).join("");
}

/** Messages a sync request sends (label ^pfg), with the tracking ids in their HTML. */
export function parseSyncRequest(body: unknown): SyncSend[] {
  const sends: SyncSend[] = [];
  const walk = (value: unknown, threadId: string | null, depth: number) => {
    if (!Array.isArray(value) || depth > 40) return;
    if (isMessageArray(value)) {
      const labels = value[10] as unknown[];
      if (labels.includes(SEND_LABEL)) {
        sends.push({
          threadId,
          messageId: value[0] as string,
          subject: typeof value[7] === "string" ? value[7] : null,
          trackingIds: [...new Set(htmlParts(value).match(TRACKING_ID_IN_TEXT) ?? [])],
        });
      }
      return;
    }
    const here = typeof value[0] === "string" && value[0].startsWith("thread-") ? value[0] : threadId;
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
    if (!Array.isArray(thread) || typeof thread[0] !== "string") continue;
    const inner =
      Array.isArray(thread[2]) && Array.isArray(thread[2][6]) && Array.isArray(thread[2][6][0]) ? (thread[2][6][0] as unknown[]) : [];
    const legacy = (v: unknown) => (typeof v === "string" && /^[0-9a-f]{1,32}$/.test(v) ? v : null);
    const messages = Array.isArray(inner[4])
      ? inner[4]
          .filter((m): m is unknown[] => Array.isArray(m) && typeof m[0] === "string")
          .map((m) => ({ messageId: m[0] as string, legacyMessageId: legacy(m[55]) }))
      : [];
    threads.push({ threadId: thread[0], legacyThreadId: legacy(inner[19]), messages });
  }
  return threads;
}

/** Joins a send request with its response: every sent message that carries a tracking id, with its Gmail ids. */
export function sentMessageIds(requestBody: unknown, response: unknown): SentMessageIds[] {
  const threads = parseSyncResponse(response);
  return parseSyncRequest(requestBody)
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
      };
    });
}

/** Sent messages with no tracking id of ours: the content script checks none of them was meant to be tracked. */
export function untrackedSends(requestBody: unknown): { messageId: string; subject: string | null }[] {
  return parseSyncRequest(requestBody)
    .filter((send) => send.trackingIds.length === 0)
    .map(({ messageId, subject }) => ({ messageId, subject }));
}

/** The DOM event the page-world hook fires on `document`; detail is a JSON string of SentMessageIds[]. */
export const SENT_EVENT = "mt:gmail-sent";
/** Fired for sends that carry no tracking id; detail is a JSON string of untrackedSends()'s answer. */
export const UNTRACKED_SENT_EVENT = "mt:gmail-sent-untracked";
