// The tracker, unchanged, with its D1 binding wrapped so `npm run bench` can see how many rows each request and
// each queue batch reads and writes (D1's own `meta.rows_read` / `meta.rows_written`, the figures D1 bills by).
// - Every response gets `X-Bench-Rows-Read`, `X-Bench-Rows-Written` and `X-Bench-Queries` (statements) headers,
//   `X-Bench-Statements`: the same per kind of statement, as JSON, `X-Bench-Calls`: calls on the binding, a
//   batch counting once, which is what D1's per-invocation query limit counts, and `X-Bench-Rows-Returned`: the
//   rows D1 handed back, which the worker then holds and works through on its own CPU.
// - `GET /__bench/consumer` answers the queue consumer's totals since the last `POST /__bench/consumer/reset`.
// Used for the database figures only; the throughput figures run the tracker's own entry point.
import { isPurgeTimer } from "../worker/src/db/retention";
import type { Bindings, QueueMessage } from "../worker/src/env";
import tracker from "../worker/src/index";

interface Counts {
  queries: number;
  rowsRead: number;
  rowsWritten: number;
}

/** Totals, and the same per kind of statement ("INSERT events", "SELECT messages", …). */
interface Tally extends Counts {
  calls: number;
  rowsReturned: number;
  byStatement: Record<string, Counts>;
}

interface Meta {
  rows_read?: number;
  rows_written?: number;
}

const newTally = (): Tally => ({ calls: 0, rowsReturned: 0, queries: 0, rowsRead: 0, rowsWritten: 0, byStatement: {} });

function add(counts: Counts, meta: Meta | undefined): void {
  counts.queries++;
  counts.rowsRead += meta?.rows_read ?? 0;
  counts.rowsWritten += meta?.rows_written ?? 0;
}

/** "INSERT events" for `INSERT OR IGNORE INTO events (…)`: the verb and the first table named. */
function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "?";
  const table = /\b(?:INTO|UPDATE|FROM)\s+(\w+)/i.exec(sql)?.[1] ?? "?";
  return `${verb} ${table}`;
}

function count(tally: Tally, sql: string, meta: Meta | undefined, rows: number, calls = 1): void {
  tally.calls += calls;
  tally.rowsReturned += rows;
  add(tally, meta);
  const kind = statementKind(sql);
  tally.byStatement[kind] ??= { queries: 0, rowsRead: 0, rowsWritten: 0 };
  add(tally.byStatement[kind], meta);
}

const realStatements = new WeakMap<object, { statement: D1PreparedStatement; sql: string }>();

function countingStatement(statement: D1PreparedStatement, sql: string, tally: Tally): D1PreparedStatement {
  const wrapper = {
    bind: (...values: unknown[]) => countingStatement(statement.bind(...values), sql, tally),
    run: async () => {
      const result = await statement.run();
      count(tally, sql, result.meta, result.results.length);
      return result;
    },
    all: async () => {
      const result = await statement.all();
      count(tally, sql, result.meta, result.results.length);
      return result;
    },
    // D1 runs the whole statement for first() too (it adds no LIMIT), so reading it through all() costs the same.
    first: async (column?: string) => {
      const result = await statement.all<Record<string, unknown>>();
      count(tally, sql, result.meta, result.results.length);
      const row = result.results[0];
      if (row === undefined) return null;
      return column === undefined ? row : (row[column] ?? null);
    },
    raw: async (options?: { columnNames?: boolean }) => {
      // raw() carries no meta
      const rows = options?.columnNames ? await statement.raw({ columnNames: true }) : await statement.raw();
      count(tally, sql, undefined, rows.length);
      return rows;
    },
  };
  realStatements.set(wrapper, { statement, sql });
  return wrapper as unknown as D1PreparedStatement;
}

function countingDatabase(db: D1Database, tally: Tally): D1Database {
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (query: string) => countingStatement(target.prepare(query), query, tally);
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const real = statements.map((s) => realStatements.get(s) ?? { statement: s, sql: "?" });
          const results = await target.batch(real.map((r) => r.statement));
          for (const [i, result] of results.entries()) {
            count(tally, real[i]?.sql ?? "?", result.meta, result.results?.length ?? 0, i === 0 ? 1 : 0);
          }
          return results;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

let consumer = { batches: 0, messages: 0, hits: 0, ...newTally() };

export default {
  async fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/__bench/consumer") return Response.json(consumer);
    if (pathname === "/__bench/consumer/reset" && request.method === "POST") {
      consumer = { batches: 0, messages: 0, hits: 0, ...newTally() };
      return Response.json(consumer);
    }
    const tally = newTally();
    const response = await tracker.fetch(request, { ...env, DB: countingDatabase(env.DB, tally) }, ctx);
    const counted = new Response(response.body, response);
    counted.headers.set("X-Bench-Calls", String(tally.calls));
    counted.headers.set("X-Bench-Queries", String(tally.queries));
    counted.headers.set("X-Bench-Rows-Read", String(tally.rowsRead));
    counted.headers.set("X-Bench-Rows-Written", String(tally.rowsWritten));
    counted.headers.set("X-Bench-Rows-Returned", String(tally.rowsReturned));
    counted.headers.set("X-Bench-Statements", JSON.stringify(tally.byStatement));
    return counted;
  },
  async queue(batch: MessageBatch<QueueMessage>, env: Bindings, ctx: ExecutionContext): Promise<void> {
    const totals = consumer; // a reset while this batch runs starts counting afresh with the next batch
    const queue: ExportedHandlerQueueHandler<Bindings, QueueMessage> = tracker.queue;
    await queue(batch, { ...env, DB: countingDatabase(env.DB, totals) }, ctx);
    totals.batches++;
    totals.messages += batch.messages.length;
    totals.hits += batch.messages.flatMap((m) => (isPurgeTimer(m.body) ? [] : m.body)).length;
  },
  scheduled: tracker.scheduled,
} satisfies ExportedHandler<Bindings, QueueMessage>;
