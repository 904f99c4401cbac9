// Gmail's /sync request and answer for given sends, in the shape of the real captures (test/fixtures/gmail/sync-api/,
// 2022-09: the message array at request[1][k][1][1][0][0], the answer's threads at response[1][5]), for tests that
// need Gmail to have answered particular sends. sync-parser.test.ts reads the captures themselves.
// Whole module names: the simulated Google (test/e2e/gmail-sim/google.ts) loads this file in Node too (npm run bench).
import { messageReceivedAt } from "../../../shared/gmail-message-id.ts";
import type { GmailSendAnswered, Recipient } from "./events";

export interface AnsweredSend {
  /** The tracking id whose pixel the message carries; none for an untracked send. */
  trackingId?: string;
  threadId: string;
  messageId: string;
  /** Null for an answer that does not say it (a thread Gmail has not given a legacy id yet). */
  legacyThreadId: string | null;
  legacyMessageId: string;
  subject?: string;
  recipients?: Recipient[];
  /** Sent as plain text: the body's text (with a tracked link's address, if tracked), `[8][6]` 0 (sync-parser.ts SyncSend.plainText). */
  plainText?: boolean;
  /** Posted with "Schedule send" (label ^scheduled instead of ^pfg) to go out at this time (`[6]`). */
  scheduledAt?: number;
}

/** An array of `length` nulls with the given entries. */
function sparse(length: number, entries: Record<number, unknown>): unknown[] {
  return Object.assign(new Array(length).fill(null), entries);
}

/** A tracked send's pixel, in its HTML; a tracked link's address, as plain text keeps it. */
const pixel = (send: AnsweredSend) => (send.trackingId ? `<img src="https://t.example/o/${send.trackingId}.gif">` : "");
const link = (send: AnsweredSend) => (send.trackingId ? ` https://t.example/c/${send.trackingId}/0?u=x&s=y` : "");

export function gmailSendAnswered(sends: AnsweredSend[]): GmailSendAnswered {
  const message = (send: AnsweredSend) =>
    sparse(11, {
      0: send.messageId,
      2: (send.recipients ?? []).map((r) => [1, r.email, r.name ?? null]),
      6: send.scheduledAt ?? Date.now(),
      7: send.subject ?? "",
      8: [null, [[0, send.plainText ? `Hi${link(send)}` : `<div>Hi</div>${pixel(send)}`]], null, null, null, null, send.plainText ? 0 : 1],
      10: ["^all", send.scheduledAt === undefined ? "^pfg" : "^scheduled"],
    });
  const request = [[null, null, 2], sends.map((send, k) => [k, [send.threadId, [null, [[message(send), null, 1]]]]])];
  const response = [
    null,
    sparse(6, {
      5: sends.map((send) => [
        [
          send.threadId,
          null,
          sparse(7, { 6: [sparse(20, { 4: [sparse(56, { 0: send.messageId, 55: send.legacyMessageId })], 19: send.legacyThreadId })] }),
        ],
      ]),
    }),
  ];
  return { request: JSON.stringify(request), response: JSON.stringify(response) };
}

export interface ListedMessage {
  /** The message's legacy hex id (`[55]`). */
  id: string;
  from: string;
  name?: string;
  /** Sent by the account (labelled `^f`, its sync id a client one), else received (`^i`, "msg-f:<decimal>"). */
  sent?: boolean;
  /** When Gmail received it (`[6]`); else the time in its id. */
  at?: number;
  /** The start of its text (`[9]`). */
  snippet?: string;
}

type ListedThreadData = { syncThreadId: string; legacyThreadId: string; snippet?: string; messages: ListedMessage[] };

/**
 * A thread's data as a thread list gives it (sync-parser.ts listedThread: InboxSDK's places, the senders and labels of
 * the real list answers of 2018 and 2020).
 */
function listedThreadData(thread: ListedThreadData): unknown[] {
  return sparse(20, {
    1: thread.snippet ?? null,
    3: thread.syncThreadId,
    4: thread.messages.map((m) => {
      const number = BigInt(`0x${m.id}`);
      return sparse(56, {
        0: m.sent ? `msg-a:r${number % 10n ** 18n}` : `msg-f:${number}`,
        1: [1, m.from, m.name ?? null],
        6: m.at ?? messageReceivedAt(m.id),
        9: m.snippet ?? null,
        10: m.sent ? ["^all", "^f"] : ["^all", "^i"],
        55: m.id,
      });
    }),
    19: thread.legacyThreadId,
  });
}

/** Gmail's answer to a thread list (`/sync/u/N/i/bv`) for given threads, as text: threads at `[2]`, data at `[0]`. */
export function gmailListAnswer(threads: ListedThreadData[]): string {
  return JSON.stringify([null, null, threads.map((thread) => [listedThreadData(thread)])]);
}

/**
 * The first list of a Gmail page for given threads, as Gmail writes it into the page (`_GM_setData`'s `a6jdv[0][2]`,
 * page-world/gmail-data.ts), as text: threads at `[0][0]`, each with its sync id at `[1]` and its data at `[4]` (the
 * 2020-04-27 capture, its keys counted from 0).
 */
export function gmailEmbeddedList(threads: ListedThreadData[]): string {
  return JSON.stringify([[threads.map((thread) => sparse(5, { 1: thread.syncThreadId, 4: listedThreadData(thread) }))]]);
}

/**
 * A capture of Gmail's object form, used until 2022-09 (keys "1", "2"… counted from 1), in today's array form (indexes
 * counted from 0): "indexes being off by 1 (across the board)" (gmail.js #721, 2022-09-12), and gmail.js moved every
 * index of its readers by one (e7bb246, 2022-09-13). Absent keys become nulls, as in today's arrays.
 */
export function fromObjectForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromObjectForm);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).filter(([key]) => /^[1-9]\d*$/.test(key));
  const array: unknown[] = new Array(Math.max(0, ...entries.map(([key]) => Number(key)))).fill(null);
  for (const [key, item] of entries) array[Number(key) - 1] = fromObjectForm(item);
  return array;
}
