// Fault injection for tests only: wraps the REAL D1 binding and makes a chosen number of calls fail the way
// D1 fails transiently in production. Production code has no switch for this; only tests construct it.

import type { Hit, HitMessage } from "../src/hits";

export const TRANSIENT_D1_ERROR = "D1_ERROR: Network connection lost.";
const REAL = Symbol("real statement");
const SQL = Symbol("statement's SQL");

function bound(target: object, prop: string | symbol): unknown {
  const value = Reflect.get(target, prop);
  return typeof value === "function" ? value.bind(target) : value;
}

export class FlakyD1 {
  /** Rows D1 has handed back to the worker so far: what the worker then holds in memory and works through. */
  rowsReturned = 0;
  /**
   * Each call made, in order, failed ones included: its statements' SQL (one, or a batch's in order) and the rows each
   * read as D1 bills them (`meta.rows_read`), none for a call that failed.
   */
  log: { sql: string[]; rowsRead: number[] }[] = [];

  /** Database calls (statement executions and batches) made so far, failed ones included. */
  get calls(): number {
    return this.log.length;
  }

  /** Rows D1 has read so far, as it bills them (`meta.rows_read`). */
  get rowsRead(): number {
    return this.log.reduce((sum, call) => call.rowsRead.reduce((callSum, read) => callSum + read, sum), 0);
  }

  /** The SQL of every statement run so far, each of a batch's in order, failed ones included. */
  get statements(): string[] {
    return this.log.flatMap((call) => call.sql);
  }

  /** `shouldFail(n)` decides whether the n-th call (from 0) fails; calls that fail never reach D1. */
  constructor(
    private readonly real: D1Database,
    public shouldFail: (call: number) => boolean,
  ) {}

  /** Logs a call's statements before it is made, so that one that fails is logged too: its reads follow (`count`). */
  private logged(sql: string[]): { sql: string[]; rowsRead: number[] } {
    const call = { sql, rowsRead: [] };
    if (this.shouldFail(this.log.push(call) - 1)) throw new Error(TRANSIENT_D1_ERROR);
    return call;
  }

  private count(result: D1Result): number {
    // run() gives back no rows when the binding asks D1 for none (workerd's older, non-RPC path).
    this.rowsReturned += result.results?.length ?? 0;
    return result.meta.rows_read;
  }

  asD1(): D1Database {
    const wrapStatement = (statement: D1PreparedStatement, sql: string): D1PreparedStatement =>
      new Proxy(statement, {
        get: (target, prop) => {
          if (prop === REAL) return target;
          if (prop === SQL) return sql;
          if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args), sql);
          if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
            return async (...args: unknown[]) => {
              const call = this.logged([sql]);
              // first() and raw() give back no meta, so they run as all(), and give back what they would from its rows:
              // D1 runs the whole statement for them too and hands every row back (workerd 1.20261023.1's d1-api.ts:
              // the three send the same query), so the reads are the same. One run: a write is never run twice.
              const result = await (prop === "run" ? target.run() : target.all());
              call.rowsRead.push(this.count(result));
              if (prop === "first") return firstOf(result, args[0] as string | undefined);
              if (prop === "raw") return rawOf(result, args[0] as { columnNames?: boolean } | undefined);
              return result;
            };
          }
          return bound(target, prop);
        },
      });
    return new Proxy(this.real, {
      get: (target, prop) => {
        if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), query);
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            const call = this.logged(statements.map((s) => String((s as unknown as Record<symbol, string>)[SQL])));
            const results = await target.batch(statements.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[REAL] ?? s));
            call.rowsRead.push(...results.map((result) => this.count(result)));
            return results;
          };
        }
        return bound(target, prop);
      },
    });
  }
}

/** What `first(column)` gives back for these rows: the first row, or its value in `column` (which it must have). */
function firstOf(result: D1Result, column: string | undefined): unknown {
  const row = result.results[0] as Record<string, unknown> | undefined;
  if (row === undefined) return null;
  if (column === undefined) return row;
  if (row[column] === undefined) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
  return row[column];
}

/**
 * What `raw()` gives back for these rows: each row's values in its columns' order, after their names with
 * `columnNames`. Rebuilt from all()'s objects, as workerd's d1-api.ts (1.20261023.1) rebuilds them when D1 answers in objects, so it
 * differs from D1 where an object cannot say: two columns named alike (the object keeps the second), a column named
 * like a number (an object lists those first), and the names of no rows, which it refuses to make up.
 */
function rawOf(result: D1Result, options: { columnNames?: boolean } | undefined): unknown[][] {
  const rows = result.results as Record<string, unknown>[];
  const values = rows.map((row) => Object.values(row));
  if (!options?.columnNames) return values;
  if (rows[0] === undefined) throw new Error("FlakyD1: raw({ columnNames: true }) of no rows: the column names are not known");
  return [Object.keys(rows[0]), ...values];
}

/** A D1 binding that fails on any use: proves a code path never touches the database. */
export function unreachableD1(): D1Database {
  return new Proxy({} as D1Database, {
    get() {
      throw new Error("the database was touched");
    },
  });
}

/**
 * A queue binding that records every sendBatch call (and the hits in it, in order), then, after `gate`, passes the
 * call on to `forward`, or refuses it as a failing queue does when `forward` is null.
 */
export function watchedQueue(forward: ((messages: MessageSendRequest<HitMessage>[]) => Promise<unknown>) | null, gate = Promise.resolve()) {
  const calls: MessageSendRequest<HitMessage>[][] = [];
  let onCall = () => {};
  const called = new Promise<void>((resolve) => {
    onCall = resolve;
  });
  const queue = {
    sendBatch: async (messages: Iterable<MessageSendRequest<HitMessage>>) => {
      const batch = [...messages];
      calls.push(batch);
      onCall();
      await gate;
      if (!forward) throw new Error("Queue send failed");
      return forward(batch);
    },
  } as unknown as Queue<HitMessage>;
  const hits = (): Hit[] => calls.flatMap((batch) => batch.flatMap((m) => m.body));
  return { queue, calls, called, hits };
}

/**
 * The real D1, except that `write` runs once just before the first batch: what another request commits between a
 * caller's reads and its writes (the hit consumer reads the messages' states, then inserts in a batch).
 */
export function d1WithWriteBeforeFirstBatch(real: D1Database, write: () => Promise<unknown>): D1Database {
  let pending: (() => Promise<unknown>) | null = write;
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop !== "batch") return bound(target, prop);
      return async (statements: D1PreparedStatement[]) => {
        const before = pending;
        pending = null;
        if (before) await before();
        return target.batch(statements);
      };
    },
  });
}

/**
 * The real D1, except that `write` runs once just before the first batch holding a statement whose SQL matches
 * `pattern`: what another request commits between a caller's reads and the writes it computed from them (the
 * relabelling reads a span's events and views in one batch, and writes the labels they give in a later one). In
 * production that happens: "By default, all queues have concurrency enabled" (developers.cloudflare.com/queues/
 * configuration/consumer-concurrency/, read 2026-12-06), and API requests run beside the consumer; miniflare's queue
 * broker delivers one batch at a time (node_modules/miniflare, queues/broker.worker.js), so the tests never see it.
 */
export function d1WithWriteBeforeBatchOf(real: D1Database, pattern: RegExp, write: () => Promise<unknown>): D1Database {
  let pending: (() => Promise<unknown>) | null = write;
  const matching = new WeakSet<D1PreparedStatement>();
  const wrapStatement = (statement: D1PreparedStatement, matches: boolean): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get: (target, prop) => {
        if (prop === REAL) return target;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args), matches);
        return bound(target, prop);
      },
    });
    if (matches) matching.add(wrapped);
    return wrapped;
  };
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), pattern.test(query));
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (pending && statements.some((s) => matching.has(s))) {
            const before = pending;
            pending = null;
            await before();
          }
          return target.batch(statements.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[REAL] ?? s));
        };
      }
      return bound(target, prop);
    },
  });
}

/** The real D1, except that `write` runs just before every batch: another request that always commits first. */
export function d1WithWriteBeforeEachBatch(real: D1Database, write: () => Promise<unknown>): D1Database {
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop !== "batch") return bound(target, prop);
      return async (statements: D1PreparedStatement[]) => {
        await write();
        return target.batch(statements);
      };
    },
  });
}

/**
 * The real D1, except that a statement whose SQL matches `pattern` fails the way D1 fails transiently, run alone or in
 * a batch (the whole batch then fails, as a batch is one transaction). `failed` counts those failures.
 */
export function d1FailingStatements(real: D1Database, pattern: RegExp): { db: D1Database; failed: () => number } {
  let failed = 0;
  const failing = new WeakSet<D1PreparedStatement>();
  const wrapStatement = (statement: D1PreparedStatement, fails: boolean): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get: (target, prop) => {
        if (prop === REAL) return target;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args), fails);
        if (fails && (prop === "first" || prop === "all" || prop === "run" || prop === "raw")) {
          return async () => {
            failed++;
            throw new Error(TRANSIENT_D1_ERROR);
          };
        }
        return bound(target, prop);
      },
    });
    if (fails) failing.add(wrapped);
    return wrapped;
  };
  const db = new Proxy(real, {
    get: (target, prop) => {
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), pattern.test(query));
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (statements.some((s) => failing.has(s))) {
            failed++;
            throw new Error(TRANSIENT_D1_ERROR);
          }
          return target.batch(statements.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[REAL] ?? s));
        };
      }
      return bound(target, prop);
    },
  });
  return { db, failed: () => failed };
}

/**
 * D1's largest string or BLOB, a bound value's included: "Maximum string, `BLOB` or table row size" 2,000,000 bytes
 * (developers.cloudflare.com/d1/platform/limits/, as worker/src/db/sql.ts MAX_BOUND_BYTES quotes it). The local D1 of the
 * tests takes far more (SQLite's own default is a billion), so a test that needs the limit uses d1WithBoundValueLimit.
 */
export const D1_MAX_VALUE_BYTES = 2_000_000;

/**
 * The real D1, except that a statement binding a string longer than D1_MAX_VALUE_BYTES in UTF-8 fails, run alone or
 * in a batch (the whole batch then fails, as a batch is one transaction), as D1 refuses it in production.
 */
export function d1WithBoundValueLimit(real: D1Database): D1Database {
  const tooBig = new WeakSet<D1PreparedStatement>();
  const refusal = () => new Error("D1_ERROR: string or blob too big: SQLITE_TOOBIG");
  const encoder = new TextEncoder();
  const wrapStatement = (statement: D1PreparedStatement, big: boolean): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get: (target, prop) => {
        if (prop === REAL) return target;
        if (prop === "bind")
          return (...args: unknown[]) =>
            wrapStatement(
              target.bind(...args),
              args.some((arg) => typeof arg === "string" && encoder.encode(arg).length > D1_MAX_VALUE_BYTES),
            );
        if (big && (prop === "first" || prop === "all" || prop === "run" || prop === "raw")) {
          return async () => {
            throw refusal();
          };
        }
        return bound(target, prop);
      },
    });
    if (big) tooBig.add(wrapped);
    return wrapped;
  };
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), false);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (statements.some((s) => tooBig.has(s))) throw refusal();
          return target.batch(statements.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[REAL] ?? s));
        };
      }
      return bound(target, prop);
    },
  });
}

/**
 * Workers KV's refusals in production (developers.cloudflare.com/kv/platform/limits/, read 2026-12-06; the same-key
 * 429 in cloudflare-docs PR #18041; the daily limit's error text as Cloudflare's quota e-mail and workers-sdk reports
 * quote it, not checked against a live account): on Workers Free, "Reads |
 * 100,000 reads per day" and "Writes to different keys | 1,000 writes per day", for the whole Cloudflare account and
 * every Worker on it, past which each get or put throws until 00:00 UTC; on every plan, "Writes to same key | 1 per
 * second", past which the put answers 429. The local KV of the tests refuses none of them.
 */
export const KV_READS_SPENT = "KV get() limit exceeded for the day.";
export const KV_WRITES_SPENT = "KV put() limit exceeded for the day.";
export const KV_SAME_KEY_TOO_SOON = "KV PUT failed: 429 Too Many Requests";
/**
 * Deletes have a daily limit of their own on Workers Free: "Delete requests | 1,000 / day", and past any of the limits
 * "further operations of that type will fail with an error" (developers.cloudflare.com/kv/platform/pricing/, read
 * 2026-12-06). The error's text is modelled on the two above, not seen from a live account.
 */
export const KV_DELETES_SPENT = "KV delete() limit exceeded for the day.";

const SPENT_ERRORS = { get: KV_READS_SPENT, put: KV_WRITES_SPENT, delete: KV_DELETES_SPENT };

/**
 * The real KV, except that every `get`, every `put` or every `delete` after the first `allowed` throws, as once the
 * day's limit is spent: from the start (`allowed` 0), or in the middle of a request, between one of its calls and the
 * next.
 */
export function kvWithDailyLimitSpent(
  real: KVNamespace,
  spent: "get" | "put" | "delete",
  allowed = 0,
): { kv: KVNamespace; refused: () => number } {
  let calls = 0;
  let refused = 0;
  const kv = new Proxy(real, {
    get: (target, prop) => {
      if (prop !== spent) return bound(target, prop);
      return async (...args: unknown[]) => {
        if (calls++ >= allowed) {
          refused++;
          throw new Error(SPENT_ERRORS[spent]);
        }
        return (bound(target, spent) as (...a: unknown[]) => Promise<unknown>)(...args);
      };
    },
  });
  return { kv, refused: () => refused };
}

/**
 * The real KV, except that `write` runs once just before the first `put`: what another request commits between a
 * caller's read of the database and its write of the cache (both of the same request in production, with nothing
 * between them to hold another request back).
 */
export function kvWithWriteBeforeFirstPut(real: KVNamespace, write: () => Promise<unknown>): KVNamespace {
  let pending: (() => Promise<unknown>) | null = write;
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop !== "put") return bound(target, prop);
      return async (...args: unknown[]) => {
        const before = pending;
        pending = null;
        if (before) await before();
        return (target.put as (...a: unknown[]) => Promise<void>)(...args);
      };
    },
  });
}

/**
 * The real KV, counting its deletes, and with `write` run once just after the first `delete`: what another request does
 * between a caller's delete of a cache entry and its next step (nothing holds another request back in production).
 */
export function kvWithWriteAfterFirstDelete(
  real: KVNamespace,
  write: () => Promise<unknown> = async () => undefined,
): { kv: KVNamespace; deletes: () => number } {
  let pending: (() => Promise<unknown>) | null = write;
  let deletes = 0;
  const kv = new Proxy(real, {
    get: (target, prop) => {
      if (prop !== "delete") return bound(target, prop);
      return async (...args: unknown[]) => {
        await (target.delete as (...a: unknown[]) => Promise<void>)(...args);
        deletes++;
        const after = pending;
        pending = null;
        if (after) await after();
      };
    },
  });
  return { kv, deletes: () => deletes };
}

/**
 * The real KV, except that a `put` of a key already written through it throws, as production's 429 for a second write
 * of one key within a second. Every write through it is taken to fall within the same second: a count per key, not the
 * clock, so that which write is refused does not hang on how fast the machine running the test is.
 */
export function kvWithSameKeyWriteLimit(real: KVNamespace): { kv: KVNamespace; refused: () => number } {
  let refused = 0;
  const writes = new Map<string, number>();
  const kv = new Proxy(real, {
    get: (target, prop) => {
      if (prop !== "put") return bound(target, prop);
      return async (key: string, ...rest: unknown[]) => {
        const earlier = writes.get(key) ?? 0;
        writes.set(key, earlier + 1);
        if (earlier > 0) {
          refused++;
          throw new Error(KV_SAME_KEY_TOO_SOON);
        }
        return (target.put as (...args: unknown[]) => Promise<void>)(key, ...rest);
      };
    },
  });
  return { kv, refused: () => refused };
}
