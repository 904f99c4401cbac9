// Parser tests on the real captured /sync payloads and thread lists (test/fixtures/gmail/, unchanged copies).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HOUR } from "../../../test/durations";
import { fromObjectForm } from "./sync-answer.test-support";
import {
  answeredSends,
  parseEmbeddedThreadList,
  parseGmailJson,
  parseSyncRequest,
  parseSyncResponse,
  parseThreadList,
  syncThreadId,
  withoutQuotedPixels,
} from "./sync-parser";
import { LIST_PATH, SYNC_PATH } from "./sync-xhr";

const FIXTURES = path.resolve(import.meta.dirname, "../../../test/fixtures/gmail/sync-api");
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), "utf8"));
const ID = "abcdefghijklmnop.1.AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB";

/** The captured request with our pixel put into its body HTML (msg[8][1][0][1]), as a tracked send carries it. */
// biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array is written out by each test.
function withPixel(request: unknown[], at: (r: any) => unknown[]): unknown[] {
  const copy = structuredClone(request);
  const message = at(copy) as unknown[];
  const parts = (message[8] as unknown[])[1] as [number, string][];
  (parts[0] as [number, string])[1] += `<img src="https://t.example/o/${ID}.gif">`;
  return copy;
}

describe("Gmail /sync parsing (real captures, 2022-09)", () => {
  it("finds the sent message of a new email and the ids Gmail gave it (cvOnSend)", () => {
    const request = withPixel(load("2022-09-09-cvOnSend_request.json"), (r) => r[1][0][0][1][1][13][0]);
    expect(parseSyncRequest(request)).toEqual([
      {
        threadId: "thread-a:r263523620390330024",
        messageId: "msg-a:r8190137112111191537",
        subject: "subject_111",
        trackingIds: [ID],
        recipients: [{ email: "test+1@gmail.com", name: "Test Test" }],
        scheduled: false,
        scheduledAt: null,
        plainText: false,
      },
    ]);
    expect(answeredSends(request, null).untracked).toEqual([]);
    expect(answeredSends(request, load("2022-09-09-cvOnSend_response.json")).tracked).toEqual([
      {
        trackingIds: [ID],
        threadId: "thread-a:r263523620390330024",
        messageId: "msg-a:r8190137112111191537",
        subject: "subject_111",
        legacyThreadId: "183234ce86ffa010",
        legacyMessageId: "183234eaadcf41e5",
        recipients: [{ email: "test+1@gmail.com", name: "Test Test" }],
        scheduled: false,
        scheduledAt: null,
        plainText: false,
      },
    ]);
  });

  it("names the sends that carry no tracking id, with their subjects, so a missed send can be reported", () => {
    expect(answeredSends(load("2022-09-09-cvOnSend_request.json"), null).untracked).toEqual([
      {
        threadId: "thread-a:r263523620390330024",
        messageId: "msg-a:r8190137112111191537",
        subject: "subject_111",
        trackingIds: [],
        recipients: [{ email: "test+1@gmail.com", name: "Test Test" }],
        scheduled: false,
        scheduledAt: null,
        plainText: false,
        legacyThreadId: null,
        legacyMessageId: null,
      },
    ]);
    expect(answeredSends(load("2022-09-09-cvOnReplySend_request.json"), null).untracked).toEqual([
      expect.objectContaining({ messageId: "msg-a:r-414184523264894368", subject: "Re: tracking test", scheduled: false }),
    ]);
  });

  it("finds a reply's message although the request nests it elsewhere (cvOnReplySend_5), and its legacy ids", () => {
    const request = withPixel(load("2022-09-09-cvOnReplySend_5_request.json"), (r) => r[1][0][1][1][1][1][0]);
    const [sent] = answeredSends(request, load("2022-09-09-cvOnReplySend_5_response.json")).tracked;
    expect(sent).toEqual({
      trackingIds: [ID],
      threadId: "thread-a:r-7504980498209780070",
      messageId: "msg-a:r5645180764593433440",
      subject: "Re: test subject 4",
      legacyThreadId: "185c1536996a61dc",
      legacyMessageId: "185c153a4f028cb5",
      recipients: [{ email: "test+to@gmail.com", name: "Test to" }],
      scheduled: false,
      scheduledAt: null,
      plainText: false,
    });
  });

  it('reads a thread id that carries a "|…" suffix as the part before it, in the request and the response', () => {
    // InboxSDK strips it from both (parseThreadId, sync-compose-processor-20220909.ts, a8a6fe2); the captures have none.
    const suffixed = (value: unknown) =>
      JSON.parse(
        JSON.stringify(value).replaceAll('"thread-a:r-7504980498209780070"', '"thread-a:r-7504980498209780070|msg-a:r5645180764593433440"'),
      );
    const request = suffixed(withPixel(load("2022-09-09-cvOnReplySend_5_request.json"), (r) => r[1][0][1][1][1][1][0]));
    const response = suffixed(load("2022-09-09-cvOnReplySend_5_response.json"));
    expect(JSON.stringify(request)).toContain("|msg-a:");
    const [sent] = answeredSends(request, response).tracked;
    expect(sent).toMatchObject({ threadId: "thread-a:r-7504980498209780070", legacyThreadId: "185c1536996a61dc" });
    expect(syncThreadId("thread-f:1743802434391390786|msg-f:1")).toBe("thread-f:1743802434391390786");
    expect(syncThreadId("msg-a:r1")).toBeNull();
  });

  it("ignores draft saves (label ^r) and sends without a tracking id", () => {
    // cvOnSend_4 saves one draft and sends another in the same request.
    const request = load("2022-09-09-cvOnSend_4_request.json");
    expect(parseSyncRequest(request).map((s) => s.messageId)).toEqual(["msg-a:r-329565169840451245"]);
    expect(answeredSends(request, load("2022-09-09-cvOnSend_4_response.json")).tracked).toEqual([]);
  });

  it("names a send's thread by its number at [17] when the answer leaves out the hex id at [19], as InboxSDK reads it", () => {
    // InboxSDK reads [17] first: Gmail "A/B testing" leaving one of the two out (gmail-sync-response-processor.ts).
    const response = load("2022-09-09-cvOnReplySend_2_response.json");
    // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as parseSyncResponse reads it.
    const data = (response as any)[1][5][0][0][2][6][0];
    data[19] = null;
    data[17] = String(BigInt("0x18333b13345c3a42"));
    expect(parseSyncResponse(response)[0]?.legacyThreadId).toBe(`thread-f:${BigInt("0x18333b13345c3a42")}`);
    data[17] = null;
    expect(parseSyncResponse(response)[0]?.legacyThreadId).toBeNull();
  });

  it("reads every thread of a response, with each message's legacy id at [55]", () => {
    const threads = parseSyncResponse(load("2022-09-09-cvOnReplySend_2_response.json"));
    expect(threads).toHaveLength(1);
    expect(threads[0]?.threadId).toBe("thread-f:1743802434391390786");
    expect(threads[0]?.legacyThreadId).toBe("18333b13345c3a42");
    expect(threads[0]?.messages.map((m) => m.legacyMessageId)).toEqual(["18333b13345c3a42", "18333b1721425d97", "18333b1f5712f659"]);
  });

  it("tells a send as plain text by its body's [8][6], 1 in every captured (HTML) send and taken as 0 for plain text", () => {
    const request = load("2022-09-09-cvOnSend_request.json");
    // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as in withPixel.
    const body = (request as any)[1][0][0][1][1][13][0][8];
    expect(body[6]).toBe(1);
    expect(parseSyncRequest(request)[0]?.plainText).toBe(false);
    body[6] = 0;
    expect(parseSyncRequest(request)[0]?.plainText).toBe(true);
    body.length = 6;
    expect(parseSyncRequest(request)[0]?.plainText).toBe(false);
  });

  it("reads a scheduled send (label ^scheduled instead of ^pfg) with its time, and Cc/Bcc next to To", () => {
    // The captured send, relabelled as Gmail's "Schedule send" posts it (gmail.js parse_request_payload's
    // send_scheduled_message, b7dfdab, 2026-03-25); the time at [6] put in the future, and a Cc and a Bcc added at [3] and [4].
    const request = withPixel(load("2022-09-09-cvOnSend_request.json"), (r) => r[1][0][0][1][1][13][0]);
    // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as in withPixel.
    const message = (request as any)[1][0][0][1][1][13][0];
    const now = 1_800_000_000_000;
    message[10] = ["^all", "^scheduled", "^f_bt", "^f_btns", "^f_cl", "^i", "^u"];
    message[6] = now + HOUR;
    message[3] = [[1, "Cc.Person@Example.com", "Cc"]];
    message[4] = [
      [1, "bcc@example.com"],
      [1, "not an address"],
    ];
    const [sent] = answeredSends(request, load("2022-09-09-cvOnSend_response.json"), now).tracked;
    expect(sent).toMatchObject({ scheduled: true, scheduledAt: now + HOUR, legacyThreadId: "183234ce86ffa010" });
    expect(sent?.recipients).toEqual([
      { email: "test+1@gmail.com", name: "Test Test" },
      { email: "cc.person@example.com", name: "Cc" },
      { email: "bcc@example.com" },
    ]);
    // A time that is not after the send is no schedule time.
    message[6] = now - 1;
    expect(parseSyncRequest(request, now)[0]?.scheduledAt).toBeNull();
  });

  it("strips Gmail's )]}' prefix and survives garbage", () => {
    expect(parseGmailJson(")]}'\n[1,2]")).toEqual([1, 2]);
    expect(parseGmailJson("not json")).toBeNull();
    expect(parseSyncRequest(null)).toEqual([]);
    expect(parseSyncResponse({})).toEqual([]);
  });
});

describe("the quoted conversation of a send (real capture, cvOnReplySend, 2022-09)", () => {
  const TRACKER = "https://t.example";
  const EARLIER = "qrstuvwxyzabcdef.1.CCCCCCCCCCCCCCCCCCCCCC.DDDDDDDDDDDDDDDDDDDDDD";
  /** An earlier email's pixel as Gmail quotes it: its own copy's proxied URL, the original in the fragment (like Streak's in the capture). */
  const QUOTED_PIXEL = `<img alt="" width="1" height="1" src="https://ci5.googleusercontent.com/proxy/AbC-123=s0-d-e1-ft#${TRACKER}/o/${EARLIER}.gif">`;
  // biome-ignore lint/suspicious/noExplicitAny: the path into the captured Gmail array.
  const partsOf = (request: any): [number, string][] => request[1][0][0][1][1][1][0][8][1];

  /** The capture as a tracked reply carries it: our pixel in what the rep wrote, an earlier one of ours in the quote. */
  function trackedReply(): unknown[] {
    const request = withPixel(load("2022-09-09-cvOnReplySend_request.json"), (r) => r[1][0][0][1][1][1][0]);
    const quote = partsOf(request)[1] as [number, string];
    quote[1] = quote[1].replace('<div dir="ltr">more testing</div>', `<div dir="ltr">more testing</div>${QUOTED_PIXEL}`);
    return request;
  }

  it("counts only the tracking ids of what the rep wrote, not an earlier email's in the quote", () => {
    const request = trackedReply();
    expect(partsOf(request)[1]?.[0]).toBe(2);
    expect(partsOf(request)[1]?.[1]).toContain(EARLIER);
    expect(parseSyncRequest(request)[0]?.trackingIds).toEqual([ID]);
    // A reply sent untracked with an earlier email's pixel in its quote is still an untracked send.
    const untracked = load("2022-09-09-cvOnReplySend_request.json");
    const quote = partsOf(untracked)[1] as [number, string];
    quote[1] += QUOTED_PIXEL;
    expect(answeredSends(untracked, null).untracked).toHaveLength(1);
  });

  it("takes this tracker's pixels out of the quote and changes nothing else of the body", () => {
    const request = trackedReply();
    const body = JSON.stringify(request);
    const out = withoutQuotedPixels(body, request, [TRACKER]);
    const expected = structuredClone(request);
    const quote = partsOf(expected)[1] as [number, string];
    quote[1] = quote[1].replace(QUOTED_PIXEL, "");
    expect(JSON.parse(out)).toEqual(expected);
    // The rest is untouched, byte for byte: the rep's own pixel, and Streak's pixel in the quote (not this tracker's).
    expect(out).toContain(`https://t.example/o/${ID}.gif`);
    expect(out).toContain("mailfoogae");
    expect(out).not.toContain(EARLIER);
    expect(body.length - out.length).toBe(JSON.stringify(QUOTED_PIXEL).length - 2);
  });

  it("finds the quote however Gmail escapes its JSON, and leaves a body with nothing to take out as it is", () => {
    const request = trackedReply();
    // Google's serialisers may escape <, > and = as \u003c, \u003e and \u003d: the same JSON value, other bytes.
    const escaped = JSON.stringify(request).replace(/[<>=]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
    expect(escaped).not.toContain("<img");
    const out = withoutQuotedPixels(escaped, request, [TRACKER]);
    expect(out).not.toContain(EARLIER);
    expect(parseSyncRequest(JSON.parse(out))[0]?.trackingIds).toEqual([ID]);

    const plain = load("2022-09-09-cvOnReplySend_request.json");
    const body = JSON.stringify(plain);
    expect(withoutQuotedPixels(body, plain, [TRACKER])).toBe(body);
    // Another tracker's pixel in a quote stays: only the configured tracker's are ours to remove.
    expect(withoutQuotedPixels(JSON.stringify(trackedReply()), trackedReply(), ["https://other.example"])).toContain(EARLIER);
  });
});

describe("which requests are Gmail's sends", () => {
  it("matches /sync/u/N/i/s, /sync/i/s and a delegated mailbox's /sync/u/N/d/<id>/i/s, nothing else", () => {
    expect(SYNC_PATH.test("/sync/u/0/i/s")).toBe(true);
    expect(SYNC_PATH.test("/sync/i/s")).toBe(true);
    expect(SYNC_PATH.test("/sync/u//i/s")).toBe(false);
    expect(SYNC_PATH.test("/sync/u/2/d/AbC_12-x/i/s")).toBe(true);
    expect(SYNC_PATH.test("/sync/u/0/i/fd")).toBe(false);
    expect(SYNC_PATH.test("/sync/u/0/d//i/s")).toBe(false);
  });

  it("takes a thread list's answer from /sync/u/N/i/bv, /sync/i/bv and a delegated mailbox's, nothing else", () => {
    expect(LIST_PATH.test("/sync/u/0/i/bv")).toBe(true);
    expect(LIST_PATH.test("/sync/i/bv")).toBe(true);
    expect(LIST_PATH.test("/sync/u/2/d/AbC_12-x/i/bv")).toBe(true);
    expect(LIST_PATH.test("/sync/u/0/i/s")).toBe(false);
    expect(LIST_PATH.test("/sync/u/0/i/fd")).toBe(false);
    expect(LIST_PATH.test("/sync/u/0/i/bvx")).toBe(false);
  });
});

describe("a thread list's answer (/sync/u/N/i/bv)", () => {
  /**
   * A captured send answer's thread data, placed where InboxSDK reads a list answer's threads (its places are the same
   * as the send answer's: parseThreadList): no list answer is captured publicly.
   */
  function listOf(responseFile: string): unknown[] {
    // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as in withPixel.
    const data = load(responseFile)[1][5].map((wrapper: any) => [wrapper[0][2][6][0]]);
    return [null, null, data];
  }

  it("reads each thread's id and each message's id, sender and label at the places a send's answer holds them", () => {
    const [thread] = parseThreadList(listOf("2022-09-09-cvOnReplySend_response.json"));
    expect(thread).toMatchObject({ threadId: "18332e4292f304f1", snippet: null });
    expect(thread?.messages).toHaveLength(9);
    expect(thread?.messages[0]).toEqual({
      id: "18332e4402de515c",
      from: "test@streak.com",
      name: "Test Test",
      sent: true,
      snippet: "testing test ᐧ",
    });
    // A thread someone else started: its first message was received ("msg-f:<decimal>", the same number at [55], no
    // label ^f); this capture's test data has a name where the address goes, which is no sender.
    const [received] = parseThreadList(listOf("2022-09-09-cvOnReplySend_2_response.json"));
    expect(received?.threadId).toBe("18333b13345c3a42");
    expect(received?.messages.map((m) => [m.id, m.from, m.sent])).toEqual([
      ["18333b13345c3a42", "", false],
      ["18333b1721425d97", "", true],
      ["18333b1f5712f659", "", true],
    ]);
  });

  it("puts a thread's messages in the order of their dates, which the answer does not keep, and leaves drafts out", () => {
    // cvOnReplySend_4 lists its latest message third.
    const [thread] = parseThreadList(listOf("2022-09-09-cvOnReplySend_4_response.json"));
    expect(thread?.messages.map((m) => m.id)).toEqual(["185c12a9b3d184e5", "185c12ac26105087", "185c12ad1a4a4ed9", "185c13432b3eb04b"]);
    // cvOnSend_4's first thread holds only a draft (label ^r).
    const [withDraft, sent] = parseThreadList(listOf("2022-09-09-cvOnSend_4_response.json"));
    expect(withDraft?.messages).toEqual([]);
    expect(sent?.messages).toHaveLength(1);
  });

  it("names a thread by its number (thread-f:<[17]>) when [19] is empty, else by its sync id; a message by its sync id without [55]", () => {
    const list = listOf("2022-09-09-cvOnReplySend_2_response.json");
    // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as in withPixel.
    const data = (list as any)[2][0][0];
    data[19] = null;
    data[17] = "1743802434391390786";
    data[4][0][55] = null;
    const [thread] = parseThreadList(list);
    expect(thread?.threadId).toBe("thread-f:1743802434391390786");
    expect(thread?.messages[0]?.id).toBe("18333b13345c3a42");
    data[17] = null;
    expect(parseThreadList(list)[0]?.threadId).toBe("thread-f:1743802434391390786");
    // A sent message's client id without [55] is no key.
    data[4][1][55] = null;
    expect(parseThreadList(list)[0]?.messages[1]?.id).toBeNull();
  });

  it("reads a real list answer and the same list written into the page (gmail.js's captures, 2020-04-27, keys counted from 0)", () => {
    const capture = (name: string) => fromObjectForm(JSON.parse(readFileSync(path.join(FIXTURES, "..", name), "utf8")));
    const answered = parseThreadList(capture("list-answer-2020-04-27.json"));
    // Two threads Elon started, Eric replied in: Elon's messages labelled ^f, Eric's not.
    expect(answered.map((t) => t.threadId)).toEqual(["171bb02371f0da52", "171baf6611169bff"]);
    expect(answered[1]?.snippet).toMatch(/^Le 27\.04\.2020 11:35, Elon a écrit/);
    // Each message with its own snippet, at [9].
    expect(answered[1]?.messages.map((m) => [m.id, m.from, m.name, m.sent, m.snippet?.slice(0, 30)])).toEqual([
      ["171bafdd8d3f48bb", "elonm@gmail.com", "Elon", true, "Six months of blood, sweat and"],
      ["171baff1391825db", "eric@gmail.com", "Eric", false, "Le 27.04.2020 11:35, Elon a éc"],
      ["171bb01b00b9797a", "eric@gmail.com", "Eric", false, "Le 27.04.2020 11:35, Elon a éc"],
    ]);
    // The page's first list, read at its own places, names the same threads and messages (with fewer snippets: one of
    // Eric's messages has none there).
    const named = (threads: typeof answered) =>
      threads.map((t) => [t.threadId, t.snippet, t.messages.map((m) => [m.id, m.from, m.name, m.sent])]);
    const embedded = parseEmbeddedThreadList(capture("list-embedded-2020-04-27.json"));
    expect(named(embedded)).toEqual(named(answered));
    expect(embedded[1]?.messages.map((m) => m.snippet !== null)).toEqual([true, false, true]);
    // Neither form is read as the other.
    expect(parseThreadList(capture("list-embedded-2020-04-27.json"))).toEqual([]);
    expect(parseEmbeddedThreadList(capture("list-answer-2020-04-27.json"))).toEqual([]);
  });

  it("orders a thread's messages by dates given as digits, as the 2020 captures give them", () => {
    const list = fromObjectForm(JSON.parse(readFileSync(path.join(FIXTURES, "../list-answer-2020-04-27.json"), "utf8")));
    // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as in withPixel.
    const messages: unknown[][] = (list as any)[2][1][0][4];
    // The legacy ids carry times too: swapped, they say the opposite of the dates, which win.
    const ids = messages.map((m) => m[55]).reverse();
    messages.forEach((m, k) => {
      m[55] = ids[k];
    });
    messages.reverse();
    expect(parseThreadList(list)[1]?.messages.map((m) => m.name)).toEqual(["Elon", "Eric", "Eric"]);
  });

  it("survives answers of other shapes", () => {
    expect(parseEmbeddedThreadList(null)).toEqual([]);
    expect(parseEmbeddedThreadList([[null, [null, null, null, null, [1]]]])).toEqual([]);
    expect(parseThreadList(null)).toEqual([]);
    expect(parseThreadList({ 2: [] })).toEqual([]);
    expect(parseThreadList([null, null, [null, [null], [[1, 2]]]])).toEqual([{ threadId: null, snippet: null, messages: [] }]);
  });
});
