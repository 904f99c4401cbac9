// CPU time per hit: the tracker's own handlers called directly in Node (same V8 as workerd), timed with
// process.cpuUsage(), next to the 10 ms of CPU the Workers free plan allows per invocation.
// - Request path: the worker's fetch handler on valid pixel and click requests, split into the work before the
//   response (routing, verifying the id (a pixel) or the link signature that covers it (a click), reading what the
//   hit needs) and the work after it (the gathering's ctx.waitUntil: completing the hits (label, address hash) and
//   the queue send, here to a binding that only collects the message).
// - Queue consumer: the worker's queue handler on batches of 100 of those hits, its D1 statements run by SQLite in
//   this process (sqliteD1 below) with SQLite's own time taken out, as production D1 runs the SQL on its own
//   servers: what is left is the Worker's CPU (building statements, labelling, describing user agents).
// Node's WebCrypto is slower than workerd's (BoringSSL called synchronously), so the request path is an upper bound.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./servers.mjs";
import { fmt, importTs, median } from "./util.mjs";

const FREE_PLAN_CPU_MS = 10;
const GMAIL_PROXY_UA = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const MESSAGES = 300;
const BATCH = 100;

const cpuMicros = (since) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

/**
 * A D1 stand-in over node:sqlite, in this process, on the project's migrations: the consumer's statements run for
 * real, and the CPU they spend inside SQLite is counted apart (`sqlMicros`) and taken out, since production D1 runs
 * them on its own servers. (wrangler's getPlatformProxy would be the real binding, but its calls wait on workerd
 * by spinning, which is CPU of its own.)
 */
async function sqliteD1() {
  const { DatabaseSync } = await import("node:sqlite");
  const sqlite = new DatabaseSync(":memory:");
  const dir = path.join(ROOT, "worker", "migrations");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort())
    sqlite.exec(readFileSync(path.join(dir, file), "utf8"));
  const cache = new Map();
  const d1 = { sqlMicros: 0 };
  const execute = (sql, params) => {
    const start = process.cpuUsage();
    try {
      const statement = cache.get(sql) ?? sqlite.prepare(sql);
      cache.set(sql, statement);
      if (/^\s*(SELECT|WITH)\b/i.test(sql)) return { results: statement.all(...params), meta: { changes: 0 } };
      return { results: [], meta: { changes: Number(statement.run(...params).changes) } };
    } finally {
      d1.sqlMicros += cpuMicros(start);
    }
  };
  const prepared = (sql, params = []) => ({
    sql,
    params,
    bind: (...values) =>
      prepared(
        sql,
        values.map((v) => (v === undefined ? null : v)),
      ),
    all: async () => execute(sql, params),
    run: async () => execute(sql, params),
    first: async (column) => {
      const row = execute(sql, params).results[0] ?? null;
      return column ? (row?.[column] ?? null) : row;
    },
  });
  d1.prepare = (sql) => prepared(sql);
  d1.batch = async (statements) => {
    sqlite.exec("BEGIN");
    try {
      const results = statements.map((s) => execute(s.sql, s.params));
      sqlite.exec("COMMIT");
      return results;
    } catch (error) {
      sqlite.exec("ROLLBACK");
      throw error;
    }
  };
  return d1;
}

export async function benchCpu({ report, log, rounds }) {
  log("timing CPU per hit: the worker's fetch and queue handlers called directly in Node…");
  const worker = (await importTs("worker/src/index.ts", "cpu-worker")).default;
  const { mintTrackingId, signedClickUrl } = await importTs("shared/protocol.ts", "protocol");
  const { deriveSigningKey } = await importTs("worker/src/keys.ts", "cpu-keys");
  const { hitMessages } = await importTs("worker/src/queue.ts", "cpu-queue");
  const secret = "bench-signing-secret-".padEnd(48, "x");
  const accountId = "abcdefghijklmnop";
  const key = { accountId, keyId: 1, secret: await deriveSigningKey(secret, accountId, 1) };
  const ids = await Promise.all(Array.from({ length: MESSAGES }, () => mintTrackingId(key)));
  const clicks = await Promise.all(ids.map((id, i) => signedClickUrl("https://t.example", key, id, 0, `https://www.example.com/p/${i}`)));
  const queued = [];
  const env = {
    SIGNING_SECRET: secret,
    HITS: {
      sendBatch: async (messages) => void queued.push(...messages.flatMap((m) => JSON.parse(JSON.stringify(m.body)))),
      // The retention purge's timer, which a batch that runs the purge queues (worker/src/db/retention.ts).
      send: async () => {},
    },
    INVALID_HITS: { limit: async () => ({ success: true }) },
  };
  const pixel = (i) =>
    new Request(`https://t.example/o/${ids[i % MESSAGES]}.gif`, {
      headers: { "user-agent": GMAIL_PROXY_UA, "cf-connecting-ip": `192.0.2.${i % 250}` },
    });
  const click = (i) =>
    new Request(clicks[i % MESSAGES], { headers: { "user-agent": DESKTOP_UA, "cf-connecting-ip": `192.0.2.${i % 250}` } });

  /**
   * Per request: [µs until the response, µs of its waitUntil work]. Requests come in groups of GROUP, one right
   * after the other, as they do under load: their hits are gathered and sent together (worker/src/queue.ts). The
   * waitUntil work of a group (completing its hits and sending them, in the request that opened the gathering) is
   * shared out evenly. Awaiting each hit's gathering alone would leave the process idle for its window after every request,
   * and the next request would then run on caches that other processes had taken over: 4 to 5 times the CPU.
   */
  const GROUP = 10;
  async function requestPath(make, n) {
    const answer = [];
    const after = [];
    for (let i = 0; i < n; i += GROUP) {
      const pending = [];
      const ctx = { waitUntil: (p) => pending.push(p), passThroughOnException() {} };
      let afterMicros = 0;
      for (let j = i; j < i + GROUP; j++) {
        const request = make(j);
        const start = process.cpuUsage();
        const response = await worker.fetch(request, env, ctx);
        await response.arrayBuffer();
        answer.push(cpuMicros(start));
        // Whatever a request leaves running after its response, before the next one arrives.
        const later = process.cpuUsage();
        for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
        afterMicros += cpuMicros(later);
      }
      const later = process.cpuUsage();
      await Promise.all(pending);
      afterMicros += cpuMicros(later);
      after.push(afterMicros / GROUP);
    }
    return { answer: median(answer) / 1000, after: median(after) / 1000 };
  }
  const n = Math.max(500, rounds * 10);
  await requestPath(pixel, 200); // warm-up: JIT, imported keys
  await requestPath(click, 200);
  const pixelCpu = await requestPath(pixel, n);
  const clickCpu = await requestPath(click, n);
  for (const [name, cpu, what] of [
    ["cpu-per-pixel-hit", pixelCpu, "a Gmail proxy open"],
    ["cpu-per-click", clickCpu, "a desktop click"],
  ]) {
    const total = cpu.answer + cpu.after;
    report(
      name,
      `${fmt(total)} ms CPU per request (${fmt(total / FREE_PLAN_CPU_MS)}x the free plan's ${FREE_PLAN_CPU_MS} ms per invocation; ` +
        `${fmt(cpu.answer)} ms before the response, ${fmt(cpu.after)} ms after it in waitUntil; ${what}, median of ${n}; ` +
        `fetch handler called directly in Node ${process.version})`,
    );
  }

  // The consumer: the hits just queued, in batches of 100, through the queue handler into a real local D1.
  const db = await sqliteD1();
  {
    await db
      .prepare("INSERT INTO accounts (id, name, token_hash, current_key_id, created_at) VALUES (?, 'bench', 'x', 1, ?)")
      .bind(accountId, Date.now())
      .run();
    const sentAt = Date.now() - 3_600_000;
    for (const id of ids) {
      await db
        .prepare(
          "INSERT INTO messages (id, account_id, thread_id, subject, recipients, sent_at, registered_at, updated_at) VALUES (?, ?, ?, 'Proposal', '[]', ?, ?, ?)",
        )
        .bind(id, accountId, `t-${id.slice(-8)}`, sentAt, sentAt, sentAt)
        .run();
    }
    const opens = queued.filter((hit) => hit.kind === "open").slice(-5 * BATCH);
    const clicksQueued = queued.filter((hit) => hit.kind === "click").slice(-5 * BATCH);
    const hits = opens.flatMap((open, i) => [open, clicksQueued[i]]).filter(Boolean);
    const perEvent = [];
    const sqlPerEvent = [];
    for (let i = 0; i + BATCH <= hits.length; i += BATCH) {
      let acked = false;
      const batch = {
        queue: "mailtracker-hits",
        // As the worker packs them: HITS_PER_MESSAGE hits to a message.
        messages: hitMessages(hits.slice(i, i + BATCH)).map(({ body }, j) => ({
          id: `m${i}-${j}`,
          timestamp: new Date(),
          attempts: 1,
          body,
          ack() {},
          retry() {},
        })),
        ackAll: () => {
          acked = true;
        },
        retryAll: () => {
          throw new Error("the queue handler asked for a batch again: storing it failed");
        },
      };
      // The invocation's waitUntil work (the retention purge's overdue check, worker/src/db/retention.ts) is its CPU too.
      const afterwards = [];
      const ctx = { waitUntil: (promise) => void afterwards.push(promise), passThroughOnException() {} };
      const start = process.cpuUsage();
      const sqlBefore = db.sqlMicros;
      await worker.queue(batch, { ...env, DB: db }, ctx);
      await Promise.all(afterwards);
      perEvent.push((cpuMicros(start) - (db.sqlMicros - sqlBefore)) / BATCH / 1000);
      sqlPerEvent.push((db.sqlMicros - sqlBefore) / BATCH / 1000);
      if (!acked) throw new Error("the queue handler did not acknowledge a batch");
    }
    const stored = (await db.prepare("SELECT count(*) AS n FROM events").first()).n;
    if (stored !== perEvent.length * BATCH) throw new Error(`the consumer stored ${stored} of ${perEvent.length * BATCH} hits`);
    const each = median(perEvent);
    report(
      "cpu-per-event-consumer",
      `${fmt(each)} ms CPU per event in the queue consumer (${fmt((each * BATCH) / FREE_PLAN_CPU_MS)}x the free plan's ${FREE_PLAN_CPU_MS} ms ` +
        `for a full batch of ${BATCH}: ${fmt(each * BATCH)} ms; half opens, half clicks; queue handler called directly in Node with ` +
        `its statements run in node:sqlite and their ${fmt(median(sqlPerEvent))} ms per event inside SQLite taken out, as D1 runs ` +
        `them on its own servers; median of ${perEvent.length} batches)`,
    );
  }

  await benchRescoring({ report, log });
}

/** A contact of many emails, and a listing request's share of contacts, each as they are seeded below. */
const HEAVY = { emails: 2_300, others: 2, opens: 10 };
const SHARE = { emails: 20, others: 1, opens: 5 };
/**
 * Timed runs of each scoring, the first WARM_UPS of them left out (JIT, SQLite's page cache): the process's CPU clock
 * counts V8 compiling on its background threads too, and with fewer warm-ups those compiles fell inside the timed runs
 * (docs/benchmarks.md, `cpu-contact-rescore`).
 */
const RESCORING_RUNS = 19;
const WARM_UPS = 12;

/**
 * Scoring contacts from their emails (`scoredContacts`), which a listing or a contact's page does once for each
 * contact changed since it was scored: the Worker's CPU, with SQLite's taken out as D1 runs the SQL on its own
 * servers. Summed in the Worker, one contact of HEAVY took about 170 ms (2026-12-01): 17 times the free plan's 10 ms.
 */
async function benchRescoring({ report, log }) {
  log("timing CPU to score contacts from their emails…");
  const { scoredContacts } = await importTs("worker/src/db/contacts.ts", "cpu-contacts");
  const { RESCORED_PER_REQUEST } = await importTs("worker/src/db/contact-scores.ts", "cpu-contact-scores");
  const db = await sqliteD1();
  const accountId = "abcdefghijklmnop";
  const now = Date.now();
  await db
    .prepare("INSERT INTO accounts (id, name, token_hash, current_key_id, created_at) VALUES (?, 'bench', 'x', 1, ?)")
    .bind(accountId, now)
    .run();
  // `contacts` contacts of `emails` emails each, every email with `others` more recipients and `opens` opens, half of
  // them through Gmail's proxy. The counts go into the SQL as literals: node:sqlite binds a JavaScript number as a
  // REAL, and i / 20.0 names no email.
  const seed = async (prefix, contacts, { emails, others, opens }) => {
    const count = contacts * emails;
    const numbers = (n) => `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})`;
    await db.batch([
      db
        .prepare(
          `INSERT INTO messages (id, account_id, thread_id, subject, recipients, sent_at, registered_at, updated_at, recipient_count)
           ${numbers(count)} SELECT ?1 || i, ?2, ?1 || i, 'Proposal', '[]', ?3 - i * 60000, ?3, ?3, ${1 + others} FROM n`,
        )
        .bind(prefix, accountId, now - 86_400_000),
      db
        .prepare(
          `INSERT INTO message_recipients (message_id, account_id, email)
           ${numbers(count)} SELECT ?1 || i, ?2, ?1 || (i / ${emails}) || '@acme.example' FROM n`,
        )
        .bind(prefix, accountId),
      db
        .prepare(
          `INSERT INTO message_recipients (message_id, account_id, email)
           ${numbers(count * others)} SELECT ?1 || (i / ${others}), ?2, ?1 || 'other' || i || '@example.org' FROM n`,
        )
        .bind(prefix, accountId),
      db
        .prepare(
          `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label)
           ${numbers(count * opens)} SELECT ?1 || 'e' || i, ?2, ?1 || (i / ${opens}), 'open', ?3 + i, ?3 + i,
             CASE i % 2 WHEN 0 THEN 'human' ELSE 'gmail-proxy' END, CASE i % 2 WHEN 0 THEN 'human' ELSE 'gmail-proxy' END FROM n`,
        )
        .bind(prefix, accountId, now - 3_600_000 - count * opens),
    ]);
    return Array.from({ length: contacts }, (_, c) => `${prefix}${c}@acme.example`);
  };
  const heavy = await seed("heavy", 1, HEAVY);
  const share = await seed("share", RESCORED_PER_REQUEST, SHARE);
  const timed = async (emails) => {
    const runs = [];
    for (let run = 0; run < RESCORING_RUNS; run++) {
      const sqlBefore = db.sqlMicros;
      const start = process.cpuUsage();
      const scored = (await scoredContacts(db, accountId, now, emails)).length;
      if (scored !== emails.length) throw new Error(`scored ${scored} of ${emails.length} contacts`);
      runs.push({ worker: (cpuMicros(start) - (db.sqlMicros - sqlBefore)) / 1000, sql: (db.sqlMicros - sqlBefore) / 1000 });
    }
    const later = runs.slice(WARM_UPS);
    return { worker: median(later.map((r) => r.worker)), sql: median(later.map((r) => r.sql)) };
  };
  const one = await timed(heavy);
  const request = await timed(share);
  report(
    "cpu-contact-rescore",
    `${fmt(one.worker)} ms CPU to score one contact of ${HEAVY.emails} emails (each with ${HEAVY.others} other recipients and ` +
      `${HEAVY.opens} opens), ${fmt(request.worker)} ms for a listing request's ${RESCORED_PER_REQUEST} contacts of ${SHARE.emails} ` +
      `emails (${fmt(request.worker / FREE_PLAN_CPU_MS)}x the free plan's ${FREE_PLAN_CPU_MS} ms); scoredContacts called directly in ` +
      `Node with its SQL run in node:sqlite and the ${fmt(one.sql)} and ${fmt(request.sql)} ms inside SQLite taken out, as D1 runs it ` +
      `on its own servers; median of ${RESCORING_RUNS - WARM_UPS} after ${WARM_UPS} warm-ups)`,
  );
}
