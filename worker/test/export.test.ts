// The CSV export of a big account (docs/protocol.md §14): one request per part, each within what a Worker
// invocation may ask of D1 on the free plan, and the parts together exactly the whole file.
import { describe, expect, it } from "vitest";
import { countedCall, createAccount, FREE_PLAN_D1_QUERIES, reply, seedMessages, seedOpens, sentMessage, type TestAccount } from "./helpers";

/** Follows an export's parts (Link: <…>; rel="next") from the first, counting each part's D1 queries. */
async function exported(account: TestAccount, name: string) {
  const parts: { text: string; d1Queries: number }[] = [];
  for (let path: string | null = `/api/export/${name}.csv`; path !== null; ) {
    expect(parts.length, "parts").toBeLessThan(200);
    const { response, d1Queries } = await countedCall(account, path);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    parts.push({ text: await response.text(), d1Queries });
    path = /^<([^>]+)>;\s*rel="next"$/.exec(response.headers.get("link") ?? "")?.[1] ?? null;
  }
  const lines = parts.flatMap((part) => part.text.split("\r\n").filter(Boolean));
  return { parts, header: lines[0], rows: lines.slice(1) };
}

describe("the CSV export of a big account", () => {
  it("comes in parts, each within the free plan's D1 queries, that together hold every row once", async () => {
    const account = await createAccount();
    const messages = 2_000;
    const opens = 30_000;
    await seedMessages(account, messages);
    await seedOpens(account, opens);
    const replied = await sentMessage(account, { threadId: "t-replied", recipients: [{ email: "ann@acme.example" }] });
    await reply(account, replied.threadId ?? "", "ann@acme.example", "msg-f:export");

    const cases = [
      { name: "messages" as const, rows: messages + 1, header: "id,sent_at,", key: (row: string) => row.split(",")[0] },
      { name: "events" as const, rows: opens + 1, header: "at,message_id,", key: (row: string) => row },
      { name: "contacts" as const, rows: messages + 1, header: "email,name,", key: (row: string) => row.split(",")[0] },
    ];
    for (const { name, rows, header, key } of cases) {
      const file = await exported(account, name);
      expect(file.parts.length, name).toBeGreaterThan(1);
      for (const part of file.parts) expect(part.d1Queries, name).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
      expect(file.header?.startsWith(header), name).toBe(true);
      // The header once, at the start: no part repeats it.
      expect(
        file.rows.filter((row) => row.startsWith(header)),
        name,
      ).toEqual([]);
      expect(file.rows, name).toHaveLength(rows);
      expect(new Set(file.rows.map(key)).size, name).toBe(rows);
      // The extension's client reads the same parts, each naming the next (the dashboard joins them into one file).
      const viaClient: string[] = [];
      for (let cursor: string | undefined; ; ) {
        const part = await account.tracker.exportCsvPart(name, cursor);
        viaClient.push(part.text);
        if (part.next === null) break;
        cursor = part.next;
      }
      expect(viaClient, name).toEqual(file.parts.map((part) => part.text));
    }
  });

  it("answers 400 to a cursor it did not issue, a malformed one or another file's", async () => {
    const account = await createAccount();
    await seedMessages(account, 600);
    const next = (await countedCall(account, "/api/export/messages.csv")).response.headers.get("link") ?? "";
    const cursor = /cursor=([^>]+)>/.exec(next)?.[1];
    expect(cursor).toBeDefined();
    for (const path of ["/api/export/events.csv?cursor=not*a*cursor", `/api/export/events.csv?cursor=${cursor}`]) {
      const { response } = await countedCall(account, path);
      expect(response.status, path).toBe(400);
      expect(await response.json(), path).toMatchObject({ error: "invalid query" });
    }
  });
});
