// Gmail's /sync request and answer for given sends, in the shape of the real captures (test/fixtures/gmail/sync-api/,
// 2022-09: the message array at request[1][k][1][1][0][0], the answer's threads at response[1][5]), for tests that
// need Gmail to have answered particular sends. sync-parser.test.ts reads the captures themselves.
import { messageReceivedAt } from "../../../shared/gmail-message-id";
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
      6: Date.now(),
      7: send.subject ?? "",
      8: [null, [[0, send.plainText ? `Hi${link(send)}` : `<div>Hi</div>${pixel(send)}`]], null, null, null, null, send.plainText ? 0 : 1],
      10: ["^all", "^pfg"],
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
}

/**
 * Gmail's answer to a thread list (`/sync/u/N/i/bv`) for given threads, as text, at the places InboxSDK reads such an
 * answer (extractThreadsFromSearchResponse_20220909, a8a6fe2: threads at `[2]`, each thread's data at `[0]`), with a
 * thread's data and its messages' senders, dates and labels where a send's answer holds them (the captures;
 * sync-parser.ts parseThreadList). No list answer is captured publicly.
 */
export function gmailListAnswer(
  threads: { syncThreadId: string; legacyThreadId: string; snippet?: string; messages: ListedMessage[] }[],
): string {
  const data = threads.map((thread) => [
    sparse(20, {
      1: thread.snippet ?? null,
      3: thread.syncThreadId,
      4: thread.messages.map((m) => {
        const number = BigInt(`0x${m.id}`);
        return sparse(56, {
          0: m.sent ? `msg-a:r${number % 10n ** 18n}` : `msg-f:${number}`,
          1: [1, m.from, m.name ?? null],
          6: m.at ?? messageReceivedAt(m.id),
          10: m.sent ? ["^all", "^f"] : ["^all", "^i"],
          55: m.id,
        });
      }),
      19: thread.legacyThreadId,
    }),
  ]);
  return JSON.stringify([null, null, data]);
}
