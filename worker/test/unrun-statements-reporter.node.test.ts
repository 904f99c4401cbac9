// The reporter's two halves, in Node: the calls of `.prepare(` read from the source, and those read from a stack.
import { describe, expect, it } from "vitest";
import { prepareCallOf } from "./prepare-calls";
import { prepareCallsIn, unrunCalls } from "./unrun-statements-reporter";

const SOURCE = `
export async function getAccount(db: D1Database, id: string) {
  return db.prepare("SELECT * FROM accounts WHERE id = ?").bind(id).first();
}
export async function purge(db: D1Database, now: number) {
  const markUnfinished = () => db.prepare("UPDATE retention_purge SET unfinished = 1").run();
  await db.batch(["a", "b"].map((table) => db.prepare(\`DELETE FROM \${table}\`)));
  await db.prepare("SELECT 1").run();
  return markUnfinished;
}
`;

describe("the calls of .prepare( in a source file", () => {
  it("name each by the innermost named function, a callback's by the function that passes it", () => {
    expect(prepareCallsIn("db/x.ts", SOURCE).map((call) => `${call.owner} ${call.site}`)).toEqual([
      "getAccount line 3",
      "markUnfinished line 6",
      "purge line 7",
      "purge line 8",
    ]);
  });

  it("name a callback passed to another function of the file by that function, which calls it, and a constructor by its class", () => {
    const source = `
function inParts(rows: string[], write: (part: string[]) => D1PreparedStatement) {
  return [rows].map(write);
}
export function store(db: D1Database, rows: string[]) {
  return inParts(rows, (part) => db.prepare("INSERT INTO t SELECT value FROM json_each(?)").bind(JSON.stringify(part)));
}
class Store {
  constructor(db: D1Database) {
    db.prepare("SELECT 1");
  }
}
`;
    expect(prepareCallsIn("db/x.ts", source).map((call) => `${call.owner} ${call.site}`)).toEqual(["inParts line 6", "Store line 10"]);
  });

  it("list a function with more calls made than found: calls of another counted under it", () => {
    const made = [
      { file: "db/x.ts", owner: "getAccount", site: "20:11" },
      { file: "db/x.ts", owner: "getAccount", site: "24:30" },
    ];
    expect(unrunCalls(made, new Map([["db/x.ts", SOURCE]]))).toEqual([
      "db/x.ts getAccount: 2 made, but 1 calls of .prepare( found there",
      "db/x.ts markUnfinished: 0 of 1 made",
      "db/x.ts purge: 0 of 2 made",
    ]);
  });

  it("list each function with calls no test made, and a call made where none is found", () => {
    const made = [
      { file: "db/x.ts", owner: "getAccount", site: "20:11" },
      { file: "db/x.ts", owner: "purge", site: "31:70" },
      // The same call made twice is one call.
      { file: "db/x.ts", owner: "purge", site: "31:70" },
      { file: "db/y.ts", owner: "elsewhere", site: "1:1" },
    ];
    expect(unrunCalls(made, new Map([["db/x.ts", SOURCE]]))).toEqual([
      "db/x.ts markUnfinished: 0 of 1 made",
      "db/x.ts purge: 1 of 2 made",
      "db/y.ts elsewhere: made, but no call of .prepare( found there",
    ]);
  });
});

describe("the call of .prepare( a stack shows", () => {
  it("is its first frame in worker/src, named by the first named frame of that file", () => {
    // Frames as workerd printed them in a worker test (statement-plans.ts's prepare, 2026-12-07), a callback added.
    const stack = `Error
    at database.prepare (/work/main/worker/test/statement-plans.ts:31:27)
    at /work/main/worker/src/db/spellings.ts:51:57
    at Array.map (<anonymous>)
    at async readSpellings (/work/main/worker/src/db/spellings.ts:50:10)
    at getAccount (/work/main/worker/src/db/accounts.ts:27:23)`;
    expect(prepareCallOf(stack)).toEqual({ file: "db/spellings.ts", owner: "readSpellings", site: "51:57" });
    expect(prepareCallOf("Error\n    at database.prepare (/work/main/worker/test/statement-plans.ts:31:27)")).toBeUndefined();
  });

  it("names a constructor's frame by its class, as the source's call is named", () => {
    const stack = `Error
    at database.prepare (/work/main/worker/test/statement-plans.ts:31:27)
    at new Store (/work/main/worker/src/db/x.ts:9:8)`;
    expect(prepareCallOf(stack)).toEqual({ file: "db/x.ts", owner: "Store", site: "9:8" });
  });
});
