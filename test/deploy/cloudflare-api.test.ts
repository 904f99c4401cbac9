// The stand-in for Cloudflare's API itself, where it models more than one answer: paged lists, and a D1 database that
// runs an older SQLite.
import { afterAll, describe, expect, it } from "vitest";
import { newAccount, type StandIn, startCloudflareApi } from "./cloudflare-api";

const TOKEN = "stand-in-api-token";
const standIns: StandIn[] = [];
afterAll(() => Promise.all(standIns.map((standIn) => standIn.close())));

/** A stand-in whose account has `count` KV namespaces, title-0 to title-(count - 1), in that order. */
async function withNamespaces(count: number): Promise<StandIn> {
  const account = newAccount();
  for (let i = 0; i < count; i++) account.kv.set(`ns${i}`, { id: `ns${i}`, title: `title-${i}` });
  const standIn = await startCloudflareApi(account, TOKEN);
  standIns.push(standIn);
  return standIn;
}

async function list(standIn: StandIn, query: string) {
  const response = await fetch(`${standIn.url}/accounts/${standIn.account.accountId}/storage/kv/namespaces${query}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  return (await response.json()) as { result: { title: string }[]; result_info: Record<string, number> };
}

describe("the stand-in's paged lists", () => {
  it("answer the page and per_page asked for, and say so in result_info, as Cloudflare's do", async () => {
    const standIn = await withNamespaces(25);
    const third = await list(standIn, "?per_page=10&page=3");
    expect(third.result.map((namespace) => namespace.title)).toEqual(["title-20", "title-21", "title-22", "title-23", "title-24"]);
    expect(third.result_info).toEqual({ page: 3, per_page: 10, count: 5, total_count: 25 });
    // Past the end: an empty page, which is where Cloudflare's own client stops.
    expect(await list(standIn, "?per_page=10&page=4")).toMatchObject({ result: [], result_info: { page: 4, count: 0, total_count: 25 } });
  });

  it("answer the first page of the route's default size when the query names none", async () => {
    const standIn = await withNamespaces(25);
    const first = await list(standIn, "");
    expect(first.result).toHaveLength(20);
    expect(first.result_info).toEqual({ page: 1, per_page: 20, count: 20, total_count: 25 });
  });
});

describe("the stand-in's D1 with an older SQLite (d1SqliteVersion)", () => {
  it("refuses an aggregate's ORDER BY as SQLite before 3.44 does, and runs the rest; never tells its version", async () => {
    const account = newAccount();
    account.d1SqliteVersion = "3.40.1";
    const standIn = await startCloudflareApi(account, TOKEN);
    standIns.push(standIn);
    const d1 = `${standIn.url}/accounts/${account.accountId}/d1/database`;
    const post = async (url: string, body: unknown) => {
      const response = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
      return {
        status: response.status,
        json: (await response.json()) as { result: { uuid?: string; results?: unknown[] }[] | { uuid: string }; errors: unknown[] },
      };
    };
    const created = await post(d1, { name: "mailtracker" });
    const query = (sql: string) => post(`${d1}/${(created.json.result as { uuid: string }).uuid}/query`, { sql });

    const refused = await query("SELECT json_group_array(json_array(value, 1) ORDER BY value) AS a FROM json_each('[2,1]')");
    expect(refused).toEqual({
      status: 400,
      json: expect.objectContaining({ errors: [{ code: 7500, message: 'near "ORDER": syntax error at offset 45: SQLITE_ERROR' }] }),
    });
    const versionRefused = {
      status: 400,
      json: expect.objectContaining({
        errors: [{ code: 7500, message: "not authorized to use function: sqlite_version at offset 7: SQLITE_ERROR" }],
      }),
    };
    expect(await query("SELECT sqlite_version() AS version")).toEqual(versionRefused);
    // A window's ORDER BY (SQLite 3.25) and a subquery's inside an aggregate's arguments are no aggregate's ORDER BY.
    const window = await query(
      "SELECT count((SELECT value FROM json_each('[1]') ORDER BY value)) OVER (ORDER BY value) AS n FROM json_each('[2,1]')",
    );
    expect(window.json.result).toEqual([expect.objectContaining({ results: [{ n: 1 }, { n: 2 }] })]);
    // Nor is a statement's own ORDER BY after an aggregate whose string argument holds a parenthesis.
    const quoted = await query("SELECT group_concat(value, '(') AS g FROM json_each('[2,1]') ORDER BY g");
    expect(quoted.json.result).toEqual([expect.objectContaining({ results: [{ g: "2(1" }] })]);

    // Back to Node's own SQLite (null), the same database runs the aggregate's ORDER BY, and still keeps its version.
    account.d1SqliteVersion = null;
    expect(await query("SELECT sqlite_version() AS version")).toEqual(versionRefused);
    expect((await query("SELECT json_group_array(value ORDER BY value) AS a FROM json_each('[2,1]')")).json.result).toEqual([
      expect.objectContaining({ results: [{ a: "[1,2]" }] }),
    ]);
  });
});
