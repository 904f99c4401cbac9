// Gmail's answers to sends and its lists, read in the background for a Gmail tab (gmail-traffic.ts): through the
// handlers' own schemas, as background/index.ts runs them, on traffic built as Gmail sends it
// (sync-answer.test-support.ts) and on a real capture.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { gmailEmbeddedList, gmailListAnswer, gmailSendAnswered } from "../page-world/sync-answer.test-support";
import { gmailTrafficHandlers } from "./gmail-traffic";
import { runHandler } from "./handler";

const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
const read = (input: unknown) => runHandler("readGmailList", gmailTrafficHandlers.readGmailList, input, fromGmail);

const THREAD = {
  syncThreadId: "thread-a:r-42",
  legacyThreadId: "18f7a1b2c3d4e700",
  messages: [
    { id: "18f7a1b2c3d4e700", from: "me@example.com" },
    { id: "18f7a1b2c3d4e701", from: "frank@prospect.example", name: "Frank" },
  ],
};

it("reads the threads of Gmail's answer to a list, and of the list Gmail wrote into the page", async () => {
  for (const [text, embedded] of [
    [gmailListAnswer([THREAD]), false],
    [gmailEmbeddedList([THREAD]), true],
  ] as const) {
    const [thread, ...others] = await read({ text, embedded });
    expect(others).toEqual([]);
    expect(thread?.threadId).toBe("18f7a1b2c3d4e700");
    expect(thread?.messages.map((m) => [m.id, m.from, m.name])).toEqual([
      ["18f7a1b2c3d4e700", "me@example.com", ""],
      ["18f7a1b2c3d4e701", "frank@prospect.example", "Frank"],
    ]);
  }
  // A real send answer's thread data, where a list answer holds it (sync-parser.test.ts listOf), behind Gmail's `)]}'`.
  const capture = JSON.parse(
    readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/gmail/sync-api/2022-09-09-cvOnReplySend_response.json"), "utf8"),
  );
  // biome-ignore lint/suspicious/noExplicitAny: the path into a captured Gmail array, as in sync-parser.test.ts.
  const list = [null, null, capture[1][5].map((wrapper: any) => [wrapper[0][2][6][0]])];
  const [captured] = await read({ text: `)]}'\n${JSON.stringify(list)}`, embedded: false });
  expect(captured?.threadId).toBe("18332e4292f304f1");
  expect(captured?.messages).toHaveLength(9);
});

it("answers text that is no list with no thread, and input that is no text in words", async () => {
  expect(await read({ text: "<html>Gmail is down</html>", embedded: false })).toEqual([]);
  expect(await read({ text: gmailListAnswer([THREAD]), embedded: true })).toEqual([]);
  await expect(read({ text: 42, embedded: false })).rejects.toThrow("readGmailList does not take this input (text:");
  await expect(read(null)).rejects.toThrow("readGmailList does not take this input");
});

const TRACKING_ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
const readSend = (input: unknown) => runHandler("readGmailSend", gmailTrafficHandlers.readGmailSend, input, fromGmail);

it("reads a send Gmail answered: the ids Gmail gave each message, those with a tracking id apart from the others", async () => {
  const answer = gmailSendAnswered([
    {
      trackingId: TRACKING_ID,
      threadId: "thread-f:1",
      messageId: "msg-a:r1",
      legacyThreadId: "18f7a1b2c3d4e5f6",
      legacyMessageId: "18f7a1b2c3d4e5f7",
    },
    {
      threadId: "thread-f:2",
      messageId: "msg-a:r2",
      legacyThreadId: "18f7a1b2c3d4e600",
      legacyMessageId: "18f7a1b2c3d4e601",
      subject: "Hello",
    },
  ]);
  const { tracked, untracked } = await readSend({ ...answer, response: `)]}'\n${answer.response}` });
  expect(tracked.map((s) => [s.trackingIds, s.threadId, s.legacyThreadId, s.legacyMessageId])).toEqual([
    [[TRACKING_ID], "thread-f:1", "18f7a1b2c3d4e5f6", "18f7a1b2c3d4e5f7"],
  ]);
  expect(untracked.map((s) => [s.subject, s.messageId, s.legacyMessageId])).toEqual([["Hello", "msg-a:r2", "18f7a1b2c3d4e601"]]);
  expect(await readSend({ request: "", response: "Service Unavailable" })).toEqual({ tracked: [], untracked: [] });
  await expect(readSend({ request: answer.request })).rejects.toThrow("readGmailSend does not take this input (response:");
});
