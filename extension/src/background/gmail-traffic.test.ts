// Gmail's lists read in the background for a Gmail tab (gmail-traffic.ts): through the handler's own schema, as
// background/index.ts runs it, on lists built as Gmail sends them (sync-answer.test-support.ts) and a real capture.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { gmailEmbeddedList, gmailListAnswer } from "../page-world/sync-answer.test-support";
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
