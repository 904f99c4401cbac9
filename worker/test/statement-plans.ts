// The query plan of every statement the worker prepares, as the worker tests run it: each test file records the SQL
// that code in worker/src prepares on any D1 binding (the tests' own statements aside), and after its tests runs
// EXPLAIN QUERY PLAN on each, on the real migrations, and on every trigger's statements, and fails on a read of a whole
// table or of an account's every row (readsTooMuch). This project runs no ANALYZE, so D1's planner chooses from the
// schema alone, here as in production: `x = ? AND account_id = ?` on a table with an index that starts with account_id
// was twice planned as a read of the account (migration 0029, db/spellings.ts). Each call of `.prepare(` the tests make
// is kept in the file's meta too, from which unrun-statements-reporter.ts lists the calls no test makes, never planned.
import { env } from "cloudflare:workers";
import { afterAll } from "vitest";
import { type PrepareCall, prepareCallOf } from "./prepare-calls";

/** Each SQL text prepared by worker code, with the values of its first bind (the plan is the same for any). */
const prepared = new Map<string, unknown[]>();
const sqlOf = new WeakMap<object, string>();
/** Each call of `.prepare(` in worker/src the tests made, once (by where it is). */
const calls = new Map<string, PrepareCall>();

/** Whether the code that called prepare (past FlakyD1's and the like's proxies in worker/test) is the worker's. */
function calledFromWorker(stack: string): boolean {
  const frames = stack.split("\n").slice(2);
  const caller = frames.find((frame) => !/worker\/test\/(faults|statement-plans)\.ts/.test(frame));
  return caller?.includes("/worker/src/") === true;
}

const database = Object.getPrototypeOf(env.DB) as D1Database;
const prepare = database.prepare;
database.prepare = function (this: D1Database, query: string) {
  const statement = prepare.call(this, query);
  const stack = new Error().stack ?? "";
  if (calledFromWorker(stack)) {
    if (!prepared.has(query)) prepared.set(query, []);
    sqlOf.set(statement, query);
    const call = prepareCallOf(stack);
    if (call) calls.set(`${call.file} ${call.site}`, call);
  }
  return statement;
};
const statementPrototype = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as D1PreparedStatement;
const bind = statementPrototype.bind;
statementPrototype.bind = function (this: D1PreparedStatement, ...values: unknown[]) {
  const query = sqlOf.get(this);
  if (query !== undefined && prepared.get(query)?.length === 0) prepared.set(query, values);
  return bind.apply(this, values);
};

/**
 * The reads meant to go through an account's rows or a table's, each with why: a statement whose SQL matches `sql` may
 * make the reads (readsTooMuch) that match `read`.
 */
export const READS_MEANT: readonly { sql: RegExp; read: RegExp; why: string }[] = [
  { sql: /./, read: /^SCAN event_seq_floor$/, why: "one row (migration 0010: `only` CHECK = 1)" },
  {
    sql: /^SELECT coalesce\(max\(seq\), 0\) AS seq FROM events WHERE account_id = \?$/,
    read: /events_by_account \(account_id=\?\)$/,
    why: "max(seq): SQLite reads the last entry of the account's range alone (db/contact-scores.ts markChangedContacts)",
  },
  {
    sql: /^(INSERT INTO contact_scores \(account_id, email\) SELECT DISTINCT|UPDATE contact_scores SET dirty = dirty \+ 1 WHERE account_id = \?1$)/,
    read: /\(account_id=\?\)$/,
    why: "an account's first listing stores and marks a row for each of its contacts, once (markChangedContacts)",
  },
  {
    sql: /FROM contact_scores\s+INDEXED BY contact_scores_by_(score|activity)/,
    read: /contact_scores_by_(score|activity) \(account_id=\?\)$/,
    why: "the people list's first page, in the index's order from the account's first row, stopped by its LIMIT or, with a campaign or a minScore while rows wait, its window (contactPage)",
  },
  {
    sql: /FROM accounts a CROSS JOIN (events|signals) t INDEXED BY \1_by_time/,
    read: /^SCAN a$/,
    why: "the retention purge takes each account's cutoff, one row per account (db/retention.ts purgeExpired)",
  },
  {
    sql: /FROM replies_to_respell t/,
    read: /^SCAN t$/,
    why: "a queue (migration 0025): each row is one to work through, oldest first, a LIMIT at a time",
  },
  {
    sql: /^SELECT 1 WHERE .*EXISTS \(SELECT 1 FROM removed_recipients\)/,
    read: /^SCAN removed_recipients EXISTS$/,
    why: "whether any email ever lost a recipient (migration 0026's WHEN): an EXISTS stops at the table's first row",
  },
  {
    sql: /FROM opt_out_sweeps WHERE after_message_id = \(SELECT after_message_id FROM opt_out_sweeps ORDER BY created_at ASC LIMIT 1\)/,
    read: /SCAN opt_out_sweeps USING INDEX opt_out_sweeps_by_time$/,
    why: "the oldest sweep: the first entry of the index (ORDER BY created_at LIMIT 1)",
  },
  {
    sql: /^SELECT \* FROM messages INDEXED BY messages_by_account_newest WHERE account_id = \? AND deleted_at IS NULL AND registered_at IS NOT NULL (AND \(instr|ORDER BY)/,
    read: /messages_by_account_newest \(account_id=\?\)$/,
    why: "the message list's first page, newest first from the account's newest, stopped by its LIMIT; a search reads on past the messages it leaves out (db/messages.ts messagePage)",
  },
  {
    sql: /group_concat\(r\.email, '; '\)/,
    read: /\(account_id=\?\)$/,
    why: "the CSV export: every row of the account (db/export.ts)",
  },
];

interface Btree {
  table: string;
  /** An index's name; none for a table. */
  index?: string;
  /** Partial (CREATE INDEX … WHERE): it holds only the rows its statements are to work through, a queue of them. */
  partial: boolean;
  /** Unique on account_id alone (an index), or keyed by it alone (a table): the one row of an account. */
  oneRowPerAccount: boolean;
}

/** The schema's tables and indexes, as EXPLAIN QUERY PLAN names them (D1's own tables, `_cf_…`, aside). */
async function btrees(): Promise<Btree[]> {
  const { results } = await env.DB.prepare(
    `SELECT m.tbl_name AS tbl, CASE m.type WHEN 'index' THEN m.name END AS idx, coalesce(l.partial, 0) AS partial,
       CASE m.type WHEN 'index' THEN coalesce(l."unique", 0) AND (SELECT group_concat(name) FROM pragma_index_info(m.name)) = 'account_id'
         ELSE (SELECT group_concat(name) FROM pragma_table_info(m.name) WHERE pk > 0) = 'account_id' END AS one
     FROM sqlite_master m LEFT JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name
     WHERE m.type IN ('table', 'index') AND m.tbl_name NOT LIKE '_cf_%' ESCAPE '\\'`,
  ).all<{ tbl: string; idx: string | null; partial: number; one: number }>();
  return results.map((row) => ({
    table: row.tbl,
    index: row.idx ?? undefined,
    partial: row.partial === 1,
    oneRowPerAccount: row.one === 1,
  }));
}

/**
 * The reads of a statement's plan (EXPLAIN QUERY PLAN) that go through a whole table, or through a table's rows of one
 * account: a SCAN of a table, by itself or by an index, a SEARCH by an automatic index (SQLite builds one by scanning
 * the table), and a SEARCH by an index (or a WITHOUT ROWID table's primary key) of which only account_id is used. A SEARCH by a range of another key is let
 * through (events_by_time (occurred_at>?), a window of time of every account: db/activity.ts), and so is a partial
 * index (it holds the rows to work through) and an index unique on account_id alone (one row). A plan names a table
 * by its alias, read from the SQL; an alias the statement also gives to a CTE or a subquery is not known to be the
 * table's, and its bare SCAN is let through (scoredContactsSql's `m` and `r`).
 */
export async function readsTooMuch(sql: string, values: unknown[], given?: Btree[]): Promise<string[]> {
  // Read at each call unless given, not kept: a test may add a table to show a plan (list-query-plans.test.ts).
  const schema = given ?? (await btrees());
  const tables = new Set(schema.map((btree) => btree.table));
  const indexes = new Map(schema.flatMap((btree) => (btree.index ? [[btree.index, btree]] : [])));
  const sources = new Map<string, Set<string>>();
  for (const [, source = "", alias] of sql.matchAll(/\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?/gi))
    for (const name of [source, alias ?? source]) sources.set(name, (sources.get(name) ?? new Set()).add(source));
  const isTable = (name: string) => tables.has(name) || [...(sources.get(name) ?? [""])].every((source) => tables.has(source));
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...values)
    .all<{ detail: string }>();
  return results
    .map((row) => row.detail)
    .filter((detail) => {
      const [, how, name = "", automatic, index = "", primaryKey, key] =
        /^(SCAN|SEARCH) (\w+)(?: USING (AUTOMATIC )?(?:PARTIAL )?(?:COVERING )?(?:INDEX ?(\w*)|(PRIMARY KEY)))?(?: \((.*)\))?/.exec(
          detail,
        ) ?? [];
      if (!how) return false;
      if (automatic || (how === "SCAN" && index === "" && !primaryKey)) return isTable(name);
      // A WITHOUT ROWID table's rows are in its primary key's order: SQLite names that key, not an index.
      const btree = primaryKey
        ? schema.find((table) => table.index === undefined && [...(sources.get(name) ?? [name])].includes(table.table))
        : indexes.get(index);
      return btree !== undefined && !btree.partial && (how === "SCAN" || (key === "account_id=?" && !btree.oneRowPerAccount));
    });
}

/**
 * Every trigger's statements, and its WHEN clause as `SELECT 1 WHERE …` (its subqueries run for each row written too),
 * each NEW.x and OLD.x a parameter: EXPLAIN QUERY PLAN of a write does not show them.
 */
export async function triggerStatements(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'").all<{ sql: string }>();
  return results.flatMap(({ sql }) => {
    const begin = sql.search(/\bBEGIN\b/i);
    const when = sql.slice(0, begin).search(/\bWHEN\b/i);
    const condition = when === -1 ? [] : [`SELECT 1 WHERE ${sql.slice(when + "WHEN".length, begin).trim()}`];
    return [...condition, ...sql.slice(begin + "BEGIN".length, sql.search(/\bEND\s*$/i)).split(";")]
      .map((statement) => statement.replace(/\b(NEW|OLD)\.\w+/gi, "?").trim())
      .filter((statement) => statement !== "");
  });
}

/** The statements of `statements` whose plans read too much and are not allowed to, with those reads. */
export async function unboundedReads(statements: Iterable<[string, unknown[]]>): Promise<string[]> {
  const found: string[] = [];
  // Read once for all of them: the schema does not change while a file's statements are planned.
  const schema = await btrees();
  for (const [sql, values] of statements) {
    const oneLine = sql.replace(/\s+/g, " ").trim();
    const parameters = (sql.match(/\?(?!\d)/g) ?? []).length + Math.max(0, ...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
    const reads = (await readsTooMuch(sql, values.length > 0 ? values : Array.from({ length: parameters }, () => "[]"), schema)).filter(
      (read) => !READS_MEANT.some((meant) => meant.sql.test(oneLine) && meant.read.test(read)),
    );
    if (reads.length > 0) found.push(`${oneLine}\n    ${reads.join("\n    ")}`);
  }
  return found;
}

// biome-ignore lint/correctness/noEmptyPattern: vitest reads the first argument's pattern, and refuses one not destructured.
afterAll(async ({}, file) => {
  file.meta.prepareCalls = [...calls.values()];
  const triggers = (await triggerStatements()).map((sql): [string, unknown[]] => [sql, []]);
  const found = await unboundedReads([...prepared, ...triggers]);
  if (found.length > 0) throw new Error(`statements that read a whole table or account:\n${found.join("\n")}`);
});
