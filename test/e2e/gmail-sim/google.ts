// The SIMULATED Google servers behind the simulated Gmail page: the only simulated part of the end-to-end tests.
// - https://mail.google.com/...           -> gmail.html and gmail-sim.js (this folder); the page with Gmail's Trusted
//   Types CSP, `require-trusted-types-for 'script'` (enforced by Gmail since 2024-01: Workspace update; gmail.js
//   #779/#787; InboxSDK changed its code for it)
// - POST https://mail.google.com/sync/u/0/i/s (a delegated mailbox: /sync/u/0/d/<id>/i/s) -> records the send or
//   scheduled send (label ^pfg / ^scheduled), answers in the shape of the real captured
//   responses (test/fixtures/gmail/sync-api/*_response.json): threads at response[1][5], thread[0] the
//   "thread-a:r…" id, legacy hex thread id at thread[2][6][0][19], each message's legacy hex id at [55]. A send the
//   test named with `loseAnswerTo` is taken and never answered (see there).
// - POST https://mail.google.com/sync/u/0/i/bv (a delegated mailbox's under d/<id>/) -> a thread list's answer: the
//   sent threads with every message in them, replies included, at the places InboxSDK reads such an answer
//   (gmail-sync-response-processor.ts extractThreadsFromSearchResponse_20220909, a8a6fe2 of 2026-07-23: threads at
//   [2], each thread's data at [0]), each thread's data and its messages' senders, dates and labels (^f sent, ^i
//   received) where the real list answers of 2018 and 2020 hold them, counted from 0 as today's arrays are
//   (extension/src/page-world/sync-parser.ts listedThread). Its messages are in order of time here; the captured
//   answers do not always keep that order. The page posts it before it shows a list.
// - The page itself carries its first thread list, the inbox's, written in by `_GM_setData({"a6jdv": [["sils", null,
//   "<JSON>"]]})` as Gmail does (docs/gmail.md, "the page's first list"): the sent threads someone else wrote in,
//   threads at [0][0], each with its sync id at [1] and its data at [4].
// - POST https://mail.google.com/_sim/receive -> a message from someone else arrived in a sent thread (gmail-sim.js
//   `sim:receive`): Gmail's server knows it from then on, and lists it in its answers (a made-up address, the
//   simulation's own: mail arrives at Gmail's server from outside the page); `receive` does the same from the test,
//   for mail that arrives while no Gmail page is open
// - POST https://mail.google.com/_sim/cancel-send?messageId=… -> Undo Send: the held message is marked cancelled, never sent
//   (a made-up address: today's undo request is not public; gmail-sim.js)
// - POST https://mail.google.com/_sim/archive?thread=<legacy id> -> Send & Archive archived the conversation: out of the
//   inbox until someone writes in it again (a made-up address: how Gmail archives is not public; gmail-sim.js)
// - https://ciN.googleusercontent.com/meips/<b64url original>=s0-d-e1-ft -> the image proxy: fetches the original
//   from Node with Google's proxy user agent, as Google's servers would (the reader's browser never contacts the
//   tracker), and records that it did; an original that is itself a proxy URL (a quote from a Gmail reader's copy)
//   is fetched through the proxy again.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gmailEmbeddedList, gmailListAnswer, type ListedMessage } from "../../../extension/src/page-world/sync-answer.test-support.ts";
import { TRANSPARENT_GIF_BASE64 } from "../../../shared/pixel.ts";

export const GOOGLE_PROXY_USER_AGENT = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

const HERE = import.meta.dirname;
const PAGE = readFileSync(path.join(HERE, "gmail.html"), "utf8");
const SCRIPT = readFileSync(path.join(HERE, "gmail-sim.js"), "utf8");

export interface SimResponse {
  status: number;
  contentType: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** Gmail's Trusted Types enforcement, as its page is served. */
export const GMAIL_CSP = "require-trusted-types-for 'script'";

export interface SentRecord {
  threadId: string;
  messageId: string;
  legacyThreadId: string;
  legacyMessageId: string;
  subject: string;
  /** The sender's address (msg[1] = [1, address, name]). */
  from: string;
  recipients: string[];
  /**
   * The body exactly as the page posted it, as the server puts it together: what the rep wrote (msg[8][1][0][1]), then
   * a reply's trimmed quote when it was sent as a part of its own (msg[8][1][1], `[2, html]`). That Gmail's server
   * appends the quote after the rep's part is inferred from the captures (the part opens with `<br><div
   * class="gmail_quote">`, as a quote does in a sent reply), not seen.
   */
  html: string;
  labels: string[];
  /** The request's path: which mailbox sent it. */
  path: string;
  /** msg[6]: when it was sent (for a scheduled send, the time chosen; see gmail-sim.js). */
  at: number;
  plainText: boolean;
  /** Taken back with Undo within the undo period: Gmail's server never sent it (gmail-sim.js, Undo Send). */
  cancelled?: boolean;
}

const BLANK_GIF = Buffer.from(TRANSPARENT_GIF_BASE64, "base64");
/**
 * A legacy id as Gmail's server mints one: the time it received the message in milliseconds, shifted left by 20
 * bits, over 20 other bits. In 2022-09-09-cvOnSend_response.json message 183234eaadcf41e5 carries the internal date
 * 1662744701660, which is its id >> 20, and its thread's id 183234ce86ffa010 decodes to two minutes earlier: a
 * thread's legacy id is its first message's (assumed from that pair; shared/gmail-message-id.ts reads the time).
 */
const gmailServerId = (receivedAt: number) => ((BigInt(receivedAt) << 20n) | BigInt(randomBytes(4).readUInt32BE() >>> 12)).toString(16);

const GMAIL_HOST = "mail.google.com";
/**
 * A message's snippet as Gmail's lists give it: its text on one line, cut (at most 200 characters in the 2020-04-27
 * list answer, test/fixtures/gmail/list-answer-2020-04-27.json; where Gmail cuts exactly is not known).
 */
const snippetOf = (text: string | undefined) => text?.replace(/\s+/g, " ").trim().slice(0, 200);
/** Whether the page, or the page's request, asks for Gmail's lists in a changed form (gmail-sim.js `changed-lists`). */
const changedLists = (url: URL) => (url.searchParams.get("sim") ?? "").split(",").includes("changed-lists");
const IMAGE_PROXY_HOST = /^ci\d+\.googleusercontent\.com$/;

export class SimulatedGoogle {
  readonly sent: SentRecord[] = [];
  /** Messages from others in sent threads (gmail-sim.js `sim:receive`), by legacy thread id, in order. */
  private readonly received = new Map<string, (ListedMessage & { at: number; text: string })[]>();
  /** Original URLs the image proxy was asked for, in order. */
  readonly proxied: string[] = [];
  private readonly legacyThreads = new Map<string, string>();
  /** Legacy ids of the conversations archived (gmail-sim.js, Send & Archive), out of the inbox. */
  readonly archived = new Set<string>();
  /** Subjects of the sends whose answer is lost (loseAnswerTo), each for one send. */
  private readonly answersLost = new Set<string>();

  /**
   * The next send with this subject is taken as any other (recorded, sent, listed from then on: a new tab or a reload
   * shows it) and its answer never reaches the tab: the request stays open for ever, so the page, and the extension's
   * page-world hook (extension/src/page-world/sync-xhr.ts reads a send's answer at the request's `load`), never see
   * one: Gmail's server has the email, the tab never hears which conversation it became, as when the answer is lost on
   * its way back. Why a real tab misses an answer is not public (docs/gmail.md: the extension registers such a send
   * with the compose's ids and tells the rep). What Gmail's own page does then (retry, or say so) is not public either
   * (searched 2026-12-07: InboxSDK's and gmail.js's issues, public pages); reports of sends on a poor connection say it
   * can go on showing "Sending…" [reported, not Gmail's word: "Sometimes it says 'Sending' indefinitely",
   * nerdtechy.com/why-does-gmail-keep-queuing-my-emails; "the message stays in the Outbox marked 'Sending…'",
   * itsourcecode.com/blogs/why-gmail-is-not-sending-emails-7-fixes-2026-guide; both read 2026-12-07]: the simulated
   * page keeps saying "Sending…", and knows the thread only once it loads the mailbox again (gmail-sim.js).
   */
  loseAnswerTo(subject: string): void {
    this.answersLost.add(subject);
  }

  /** Whether `url` is on a Google host this simulation stands in for (Gmail, the image proxy): the browsers route these here. */
  answers(url: string): boolean {
    const { protocol, hostname } = new URL(url);
    return protocol === "https:" && (hostname === GMAIL_HOST || IMAGE_PROXY_HOST.test(hostname));
  }

  /** Answers a request the browser made to a Google host; null means "not ours, let it through". */
  async handle(url: string, method: string, postData: string | null): Promise<SimResponse | null> {
    const parsed = new URL(url);
    if (parsed.hostname === GMAIL_HOST) {
      if (parsed.pathname === "/_sim/gmail-sim.js") return { status: 200, contentType: "text/javascript", body: SCRIPT };
      // What Gmail's server knows of the sent threads: a new tab shows them too.
      if (parsed.pathname === "/_sim/threads")
        return { status: 200, contentType: "application/json", body: JSON.stringify(this.threads()) };
      // Undo Send: the held message is dropped. Where today's Gmail posts its undo is not public (gmail-sim.js).
      if (parsed.pathname === "/_sim/cancel-send" && method === "POST") {
        const messageId = parsed.searchParams.get("messageId");
        const held = this.sent.find((sent) => sent.messageId === messageId);
        if (held) held.cancelled = true;
        return { status: held ? 200 : 404, contentType: "application/json", body: "{}" };
      }
      if (parsed.pathname === "/_sim/archive" && method === "POST") {
        this.archived.add(parsed.searchParams.get("thread") ?? "");
        return { status: 200, contentType: "application/json", body: "{}" };
      }
      if (parsed.pathname === "/_sim/receive" && method === "POST") {
        const { thread, ...message } = JSON.parse(postData ?? "{}");
        this.keepReceived(thread, message);
        return { status: 200, contentType: "application/json", body: "{}" };
      }
      if (/^\/sync\/u\/\d+\/(d\/[A-Za-z0-9_-]+\/)?i\/s$/.test(parsed.pathname) && method === "POST")
        return this.sync(postData ?? "", parsed.pathname);
      if (/^\/sync\/u\/\d+\/(d\/[A-Za-z0-9_-]+\/)?i\/bv$/.test(parsed.pathname) && method === "POST")
        return { status: 200, contentType: "application/json; charset=utf-8", body: this.listAnswer(changedLists(parsed)) };
      if (parsed.pathname === "/favicon.ico") return { status: 404, contentType: "text/plain", body: "" };
      // Gmail's transparent spacer, which its rows' icons are drawn on (`<img class="T-KT-JX" src="images/cleardot.gif">`
      // in test/fixtures/gmail/thread-list-classic-2014-12.html).
      if (parsed.pathname.endsWith("/images/cleardot.gif")) return { status: 200, contentType: "image/gif", body: BLANK_GIF };
      return {
        status: 200,
        contentType: "text/html; charset=utf-8",
        body: this.page(changedLists(parsed)),
        headers: { "Content-Security-Policy": GMAIL_CSP },
      };
    }
    if (IMAGE_PROXY_HOST.test(parsed.hostname)) return this.imageProxy(parsed);
    return null;
  }

  private sync(body: string, path: string): SimResponse | Promise<never> {
    const request = JSON.parse(body);
    // As in 2022-09-09-cvOnSend_request.json: request[1][0][0] = [n, [threadId, threadData]].
    const [, thread] = request[1][0][0];
    const [threadId, threadData] = thread;
    const [message] = threadData[13][0];
    const legacyMessageId = gmailServerId(Date.now());
    const legacyThreadId = this.legacyThreads.get(threadId) ?? legacyMessageId;
    this.legacyThreads.set(threadId, legacyThreadId);
    this.sent.push({
      threadId,
      messageId: message[0],
      legacyThreadId,
      legacyMessageId,
      subject: message[7],
      from: message[1][1],
      recipients: message[2].map((r: unknown[]) => r[1]),
      html: message[8][1].map((part: [number, string]) => part[1]).join(""),
      labels: message[10],
      path,
      at: message[6],
      plainText: message[8][6] === 0,
    });
    if (this.answersLost.delete(message[7])) return new Promise<never>(() => undefined);
    const responseMessage: unknown[] = new Array(56).fill(null);
    responseMessage[0] = message[0];
    responseMessage[1] = message[1].slice(0, 3);
    responseMessage[2] = message[2];
    responseMessage[6] = message[6];
    responseMessage[10] = message[10].includes("^scheduled")
      ? ["^all", "^f_bt", "^f_cl", "^i", "^scheduled", "^u"]
      : ["^all", "^f", "^f_bt", "^f_cl", "^i", "^pfg", "^sq_ig_i_personal", "^u"];
    responseMessage[55] = legacyMessageId;
    const inner: unknown[] = new Array(20).fill(null);
    inner[0] = "";
    inner[2] = message[6];
    inner[3] = threadId;
    inner[4] = [responseMessage];
    inner[19] = legacyThreadId;
    const response = [
      [[[request[1][0][0], 0, null, 527537]]],
      [0, null, null, null, null, [[[threadId, null, [null, null, null, null, null, null, [inner, 527510]]]]]],
      null,
      2,
    ];
    return { status: 200, contentType: "application/json; charset=utf-8", body: JSON.stringify(response) };
  }

  /** A message from someone else arrived in the sent thread `legacyThreadId`, while no Gmail page is open. */
  receive(legacyThreadId: string, message: { from: string; name: string; text: string }): void {
    const at = Date.now();
    this.keepReceived(legacyThreadId, { ...message, id: gmailServerId(at), at });
  }

  private keepReceived(legacyThreadId: string, message: ListedMessage & { at: number; text: string }): void {
    // A message in an archived conversation brings it back to the inbox (gmail-sim.js, Send & Archive).
    this.archived.delete(legacyThreadId);
    this.received.set(legacyThreadId, [...(this.received.get(legacyThreadId) ?? []), message]);
  }

  /** The sent threads, newest first as a list shows them, each with its messages in order, replies included. */
  private listedThreads() {
    return this.threads()
      .reverse()
      .map((thread) => {
        const messages = thread.messages.map((m) =>
          m.from
            ? { id: m.legacyMessageId, from: m.from, name: m.name, at: m.at, snippet: snippetOf(m.text) }
            : { id: m.legacyMessageId, from: thread.from, sent: true, at: m.at },
        );
        const snippet = snippetOf(thread.messages.at(-1)?.text);
        return {
          syncThreadId: thread.threadId,
          legacyThreadId: thread.legacyThreadId,
          snippet,
          messages,
          inInbox: thread.messages.some((m) => m.from) && !thread.archived,
        };
      });
  }

  /** `changed`: the threads moved from `[2]` to `[3]` (gmail-sim.js `changed-lists`, a future change). */
  private listAnswer(changed: boolean): string {
    const answer = gmailListAnswer(this.listedThreads());
    return changed ? JSON.stringify([null, ...JSON.parse(answer)]) : answer;
  }

  /**
   * Gmail's page, with its first list (the inbox) written in, unless `changed` (gmail-sim.js `changed-lists`); `<`
   * escaped so that no text ends the script early.
   */
  private page(changed: boolean): string {
    if (changed) return PAGE;
    const list = JSON.stringify(gmailEmbeddedList(this.listedThreads().filter((thread) => thread.inInbox))).replaceAll("<", "\\u003c");
    return PAGE.replace("<!--sim:first-list-->", `<script>_GM_setData({ "a6jdv": [["sils", null, ${list}]] });</script>`);
  }

  /**
   * The sent threads, oldest first, in the shape gmail-sim.js keeps them: the messages sent and those received in them
   * (`from` someone else), in order of time.
   */
  private threads() {
    const byThread = new Map<
      string,
      {
        legacyThreadId: string;
        threadId: string;
        subject: string;
        from: string;
        recipients: string[];
        archived: boolean;
        messages: {
          html: string;
          plainText: boolean;
          legacyMessageId: string;
          messageId: string;
          at: number;
          from?: string;
          name?: string;
          text?: string;
        }[];
      }
    >();
    for (const sent of this.sent) {
      if (sent.cancelled) continue;
      const thread = byThread.get(sent.legacyThreadId) ?? {
        legacyThreadId: sent.legacyThreadId,
        threadId: sent.threadId,
        subject: sent.subject,
        from: sent.from,
        recipients: sent.recipients,
        archived: this.archived.has(sent.legacyThreadId),
        messages: [],
      };
      thread.messages.push({
        html: sent.html,
        plainText: sent.plainText,
        legacyMessageId: sent.legacyMessageId,
        messageId: sent.messageId,
        at: sent.at,
      });
      byThread.set(sent.legacyThreadId, thread);
    }
    for (const thread of byThread.values()) {
      for (const m of this.received.get(thread.legacyThreadId) ?? []) {
        // As gmail-sim.js `sim:receive` keeps a message it receives (its ids Gmail's server ids, its text as HTML).
        const html = m.text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\n", "<br>");
        const messageId = `msg-f:${BigInt(`0x${m.id}`)}`;
        thread.messages.push({
          html,
          plainText: false,
          legacyMessageId: m.id,
          messageId,
          at: m.at,
          from: m.from,
          name: m.name,
          text: m.text,
        });
      }
      thread.messages.sort((a, b) => a.at - b.at);
    }
    return [...byThread.values()];
  }

  private async imageProxy(url: URL): Promise<SimResponse> {
    const match = /^\/meips\/([A-Za-z0-9_-]+)=s0-d-e1-ft$/.exec(url.pathname);
    if (!match?.[1]) return { status: 404, contentType: "text/plain", body: "" };
    const original = Buffer.from(match[1], "base64url").toString("utf8");
    this.proxied.push(original);
    // An image already through the proxy (a quote from a Gmail reader's copy): fetched through it again.
    const inner = /^https:\/\/ci\d\.googleusercontent\.com(\/meips\/[^#]*)/.exec(original);
    if (inner?.[1]) return this.imageProxy(new URL(inner[1], "https://ci3.googleusercontent.com"));
    // Only the local tracker is really fetched; other images (a logo in a test email) get a stand-in GIF.
    if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(original)) return { status: 200, contentType: "image/gif", body: BLANK_GIF };
    try {
      const response = await fetch(original, { headers: { "User-Agent": GOOGLE_PROXY_USER_AGENT } });
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "application/octet-stream",
        body: Buffer.from(await response.arrayBuffer()),
      };
    } catch {
      return { status: 502, contentType: "text/plain", body: "" };
    }
  }

  /** A recipient (or the sender's other device) opening the email in Gmail: Google's proxy fetches the pixel. */
  static async fetchThroughProxy(pixel: string): Promise<number> {
    const response = await fetch(pixel, { headers: { "User-Agent": GOOGLE_PROXY_USER_AGENT } });
    await response.arrayBuffer();
    return response.status;
  }
}
