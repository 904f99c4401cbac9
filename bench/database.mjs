// Database figures, on two trackers side by side (both bench/probe-worker.ts, which reports D1's rows read and
// written): one with 100,000 stored events, one with 100. Both have the same 1,000 registered messages, one per
// thread; the events are spread evenly over the messages (100 each, or 1 each on the first 100).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { d1Execute, directUrl, freePort, newSigningSecret, removeDir, startProbe, tempDir } from "./servers.mjs";
import { CACHE, createAccount, eachLimit, fmt, importTs, median, percentile, sleep, threadIdFor } from "./util.mjs";

const MESSAGES = 1_000;
const BIG_EVENTS = 100_000;
const SMALL_EVENTS = 100;
const STATUS_THREADS = 100;
const CONSUMER_HITS = 1_000;
const PEOPLE_PAGE = 50;
/** A contact a rep has mailed all year: the first page of its timeline must not make the worker handle all of it. */
const HEAVY_CONTACT_EMAILS = 200;
const TIMELINE_PAGE = 50;
/** A year of a busy rep's mail: the people list's first page must not grow with it. */
const YEAR_CONTACTS = 20_000;
const YEAR_EVENTS = 2_000_000;
const DRAIN_TIMEOUT_MS = 120_000;

/** How many of `events` seeded events belong to the first `threads` messages (event i is message i % MESSAGES's). */
const eventsInFirst = (threads, events) => Array.from({ length: events }, (_, i) => i % MESSAGES).filter((m) => m < threads).length;

const sqlText = (value) => `'${String(value).replaceAll("'", "''")}'`;

/** Seeds messages with `wrangler d1 execute` (a generated file), and `events` events with one recursive INSERT. */
function seed(persistTo, accountId, messageIds, events) {
  const now = Date.now();
  const sentAt = now - 7 * 86_400_000;
  const rows = messageIds.map(
    (id, i) =>
      `(${sqlText(id)}, ${sqlText(accountId)}, ${sqlText(threadIdFor(i))}, ${sqlText(`Proposal ${i}`)}, ` +
      `${sqlText(JSON.stringify([{ email: `reader${i}@example.org` }]))}, ${sentAt}, 1, 1, ${sentAt}, ${sentAt})`,
  );
  const file = path.join(CACHE, `seed-${accountId}.sql`);
  const statements = [];
  for (let i = 0; i < rows.length; i += 100) {
    statements.push(
      "INSERT INTO messages (id, account_id, thread_id, subject, recipients, sent_at, open_tracking, click_tracking, registered_at, updated_at) VALUES\n" +
        `${rows.slice(i, i + 100).join(",\n")};\n`,
    );
  }
  // Each message's one recipient is a contact of the account (the people list reads these).
  statements.push(
    `INSERT INTO message_recipients (message_id, account_id, email)
       SELECT id, account_id, json_extract(recipients, '$[0].email') FROM messages WHERE account_id = ${sqlText(accountId)};\n`,
    `UPDATE messages SET recipient_count = 1 WHERE account_id = ${sqlText(accountId)};\n`,
  );
  // Event i goes to the message numbered i % messages: a table keyed by that number makes it one rowid seek per event.
  statements.push(
    "CREATE TABLE bench_seed_messages (k INTEGER PRIMARY KEY, id TEXT NOT NULL);\n",
    `INSERT INTO bench_seed_messages (k, id) SELECT row_number() OVER (ORDER BY rowid) - 1, id FROM messages WHERE account_id = ${sqlText(accountId)};\n`,
  );
  writeFileSync(file, statements.join(""));
  d1Execute(persistTo, { file });
  // Event i belongs to message i % 1000 (by insertion order); 1 in 5 is a click, labels as real traffic has them,
  // occurred over the last few days in order, written half a second after occurring.
  const span = 3 * 86_400_000;
  d1Execute(persistTo, {
    command: `INSERT INTO events (event_id, account_id, message_id, kind, link_index, occurred_at, inserted_at, request_label, label,
        country, region, client, device, ip_hash)
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${events - 1})
      SELECT 'seed-' || i, ${sqlText(accountId)}, m.id,
        CASE WHEN i % 5 = 0 THEN 'click' ELSE 'open' END,
        CASE WHEN i % 5 = 0 THEN 0 ELSE NULL END,
        ${now - span} + i * ${Math.floor(span / events)},
        ${now - span} + i * ${Math.floor(span / events)} + 500,
        CASE WHEN i % 10 < 6 THEN 'gmail-proxy' WHEN i % 10 < 9 THEN 'human' ELSE 'scanner' END,
        CASE WHEN i % 10 < 6 THEN 'gmail-proxy' WHEN i % 10 < 9 THEN 'human' ELSE 'scanner' END,
        CASE WHEN i % 10 < 6 THEN NULL ELSE 'US' END, CASE WHEN i % 10 < 6 THEN NULL ELSE 'CA' END,
        CASE WHEN i % 10 < 6 THEN 'Gmail image proxy' ELSE 'Chrome 131' END,
        CASE WHEN i % 10 < 6 THEN NULL ELSE 'Windows 10 (desktop)' END,
        CASE WHEN i % 5 = 0 THEN 'h' || (i % 997) ELSE NULL END
      FROM n JOIN bench_seed_messages m ON m.k = i % ${messageIds.length}`,
    timeoutMs: 900_000,
  });
  d1Execute(persistTo, { command: "DROP TABLE bench_seed_messages" });
  return d1Execute(persistTo, { command: "SELECT count(*) AS n, max(seq) AS last FROM events" })[0];
}

/** One timed API request: latency in ms as the client sees it, and the rows D1 read for it. */
async function timed(url, pathname, { token, body }) {
  const start = performance.now();
  const response = await fetch(url + pathname, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const json = await response.json();
  const ms = performance.now() - start;
  if (!response.ok) throw new Error(`${pathname} answered ${response.status}: ${JSON.stringify(json)}`);
  return {
    ms,
    json,
    rowsRead: Number(response.headers.get("x-bench-rows-read")),
    rowsReturned: Number(response.headers.get("x-bench-rows-returned")),
    calls: Number(response.headers.get("x-bench-calls")),
    statements: JSON.parse(response.headers.get("x-bench-statements") ?? "{}"),
  };
}

/**
 * Points a tracker's requests at its own workerd, past wrangler dev's proxy (see servers.mjs), or at the proxy when
 * that workerd cannot be found (`viaProxy`). The proxy adds a few milliseconds a request, so sideBySide refuses to
 * set a tracker behind it against one that is not: until 2026-12-01 the 20,000-contact tracker's people list went
 * through it, unsaid, against the 1,000-contact tracker's direct.
 */
async function aimAt(server) {
  const direct = await directUrl(server.publicUrl);
  server.url = direct ?? server.publicUrl;
  server.viaProxy = direct === null;
}

/**
 * A request to one tracker. wrangler dev reloads a worker whose sources change (someone editing while the
 * benchmark runs), on a new inner port: a request that cannot connect finds the port again and is made again.
 */
async function onServer(server, request) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request(server);
    } catch (error) {
      if (!(error instanceof TypeError) || attempt >= 3) throw error; // fetch's network failures are TypeErrors
      await sleep(3_000);
      await aimAt(server);
    }
  }
}

/** The same request on both trackers, interleaved round by round (order alternating), after a warm-up. */
async function sideBySide(servers, rounds, request) {
  if (servers.big.viaProxy !== servers.small.viaProxy)
    throw new Error(
      `only the ${servers.big.viaProxy ? servers.big.name : servers.small.name} tracker is reached through wrangler dev's proxy`,
    );
  const results = { big: [], small: [] };
  for (const server of ["big", "small"]) for (let i = 0; i < 5; i++) await onServer(servers[server], request);
  for (let round = 0; round < rounds; round++) {
    for (const server of round % 2 === 0 ? ["small", "big"] : ["big", "small"]) {
      results[server].push(await onServer(servers[server], request));
    }
  }
  const stats = (list) => ({
    p50: median(list.map((r) => r.ms)),
    p99: percentile(
      list.map((r) => r.ms),
      99,
    ),
    rowsRead: median(list.map((r) => r.rowsRead)),
    rowsReturned: median(list.map((r) => r.rowsReturned)),
  });
  return { big: stats(results.big), small: stats(results.small), last: { big: results.big.at(-1), small: results.small.at(-1) } };
}

async function consumerTotals(url) {
  const response = await fetch(`${url}/__bench/consumer`, { signal: AbortSignal.timeout(10_000) });
  return response.json();
}

/** Sends `count` valid hits (opens and clicks on registered links) and waits until the consumer has taken them all. */
async function consumeHits(server, paths, count, log) {
  await fetch(`${server.url}/__bench/consumer/reset`, { method: "POST" });
  const before = Number(d1Execute(server.dir, { command: "SELECT count(*) AS n FROM events" })[0].n);
  await eachLimit(paths.slice(0, count), 8, async (pathname) => {
    const response = await fetch(server.url + pathname, {
      redirect: "manual",
      headers: {
        "user-agent": pathname.startsWith("/o/")
          ? "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"
          : "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36",
      },
    });
    await response.arrayBuffer();
    if (response.status !== 200 && response.status !== 302) throw new Error(`${pathname} answered ${response.status}`);
  });
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let totals = await consumerTotals(server.url);
  while (totals.hits < count && Date.now() < deadline) {
    await sleep(500);
    totals = await consumerTotals(server.url);
  }
  if (totals.hits < count) throw new Error(`the queue consumer took ${totals.hits} of ${count} hits within ${DRAIN_TIMEOUT_MS / 1000} s`);
  const after = Number(d1Execute(server.dir, { command: "SELECT count(*) AS n FROM events" })[0].n);
  log(`consumer (${server.name}): ${JSON.stringify(totals)}`);
  return { totals, stored: after - before };
}

export async function benchDatabase({ report, log, rounds }) {
  const { mintTrackingId, pixelUrl, signedClickUrl } = await importTs("shared/protocol.ts", "protocol");
  const { COUNTED_LABELS } = await importTs("shared/labels.ts", "labels");
  const servers = {};
  try {
    for (const [name, events] of [
      ["big", BIG_EVENTS],
      ["small", SMALL_EVENTS],
    ]) {
      const dir = tempDir(`db-${name}`);
      servers[name] = { name, dir, events };
      log(`starting a tracker with ${events} events (bench/probe-worker.ts)…`);
      const probe = await startProbe({ port: await freePort(), persistTo: dir, signingSecret: newSigningSecret() });
      Object.assign(servers[name], probe, { publicUrl: probe.url });
      const account = await createAccount(probe.url);
      const ids = await Promise.all(Array.from({ length: MESSAGES }, () => mintTrackingId(account.key)));
      const seeded = seed(dir, account.key.accountId, ids, events);
      if (Number(seeded.n) !== events) throw new Error(`seeding stored ${seeded.n} events, not ${events}`);
      Object.assign(servers[name], { account, ids, lastCursor: String(seeded.last) });
      await aimAt(servers[name]);
    }

    // Batch status for 100 threads (the first 100, which hold 10,000 events on the big tracker, 100 on the small), each
    // asked for by both ids its Sent row carries, as the extension asks (rowThreadIds): the legacy hex id and its
    // "thread-f:<decimal>" form, which the tracker also looks up among Gmail's sync ids (migration 0015).
    const threadIds = Array.from({ length: STATUS_THREADS }, (_, i) => threadIdFor(i)).flatMap((id) => [
      id,
      `thread-f:${BigInt(`0x${id}`)}`,
    ]);
    const status = await sideBySide(servers, rounds, (s) =>
      timed(s.url, "/api/messages/status", { token: s.account.token, body: { threadIds } }),
    );
    const counted = (side) => status.last[side].json.messages.reduce((sum, m) => sum + m.openCount + m.clickCount, 0);
    if (status.last.big.json.messages.length !== STATUS_THREADS) throw new Error("the status answer does not list the 100 messages");
    const held = `the ${STATUS_THREADS} threads hold ${eventsInFirst(STATUS_THREADS, BIG_EVENTS)} vs ${eventsInFirst(STATUS_THREADS, SMALL_EVENTS)} events`;
    report(
      "status-100-threads-p50",
      `${fmt(status.big.p50)} ms with ${BIG_EVENTS} events stored (${fmt(status.big.p50 / status.small.p50)}x the same request with ` +
        `${SMALL_EVENTS} events stored: ${fmt(status.small.p50)} ms; ${held}, ${counted("big")} vs ${counted("small")} counted; ` +
        `D1 rows read ${status.big.rowsRead} vs ${status.small.rowsRead}; ${rounds} rounds)`,
    );
    report(
      "status-100-threads-p99",
      `${fmt(status.big.p99)} ms with ${BIG_EVENTS} events stored (${fmt(status.big.p99 / status.small.p99)}x the same with ${SMALL_EVENTS}: ${fmt(status.small.p99)} ms)`,
    );
    const messageRows = (side) => status.last[side].statements["SELECT messages"]?.rowsRead ?? 0;
    report(
      "status-100-threads-message-rows-read",
      `${messageRows("big")} rows of the messages table read to find the ${STATUS_THREADS} threads' messages, in an account of ${MESSAGES} ` +
        `(${fmt(messageRows("big") / STATUS_THREADS)}x the ${STATUS_THREADS} rows it needs; same with ${SMALL_EVENTS} events stored: ${messageRows("small")})`,
    );

    // The events feed with nothing new: after the latest cursor.
    const feed = await sideBySide(servers, rounds, (s) => timed(s.url, `/api/events?after=${s.lastCursor}`, { token: s.account.token }));
    if (feed.last.big.json.events.length !== 0 || feed.last.small.json.events.length !== 0)
      throw new Error("the feed after the latest cursor was not empty");
    report(
      "feed-nothing-new-p50",
      `${fmt(feed.big.p50)} ms with ${BIG_EVENTS} events stored (${fmt(feed.big.p50 / feed.small.p50)}x the same request with ` +
        `${SMALL_EVENTS} stored: ${fmt(feed.small.p50)} ms; D1 rows read ${feed.big.rowsRead} vs ${feed.small.rowsRead}; ${rounds} rounds)`,
    );
    report(
      "feed-nothing-new-p99",
      `${fmt(feed.big.p99)} ms with ${BIG_EVENTS} events stored (${fmt(feed.big.p99 / feed.small.p99)}x the same with ${SMALL_EVENTS}: ${fmt(feed.small.p99)} ms)`,
    );

    // The dashboard's people list: its first page by score, at a year of mail (20,000 contacts, 2,000,000 events)
    // against the same page at 1,000 contacts with 100,000 events.
    const year = tempDir("db-year");
    servers.year = { name: "year", dir: year, events: YEAR_EVENTS };
    log(`starting a tracker with ${YEAR_CONTACTS} contacts and ${YEAR_EVENTS} events (bench/probe-worker.ts)…`);
    const yearProbe = await startProbe({ port: await freePort(), persistTo: year, signingSecret: newSigningSecret() });
    Object.assign(servers.year, yearProbe, { publicUrl: yearProbe.url });
    const yearAccount = await createAccount(yearProbe.url);
    const yearIds = await Promise.all(Array.from({ length: YEAR_CONTACTS }, () => mintTrackingId(yearAccount.key)));
    const yearSeeded = seed(year, yearAccount.key.accountId, yearIds, YEAR_EVENTS);
    if (Number(yearSeeded.n) !== YEAR_EVENTS) throw new Error(`seeding stored ${yearSeeded.n} events, not ${YEAR_EVENTS}`);
    Object.assign(servers.year, { account: yearAccount, ids: yearIds });
    await aimAt(servers.year);
    const peoplePath = `/api/contacts?sort=score&limit=${PEOPLE_PAGE}`;
    // The account's first listing scores every contact, a bounded share per request (db/contact-scores.ts), asked
    // again until none is pending as the dashboard asks; it is timed apart, not in the rounds.
    const built = {};
    for (const name of ["year", "big"]) {
      const answers = [];
      while (answers.at(-1)?.json.pendingContacts !== 0) {
        if (answers.length > YEAR_CONTACTS) throw new Error("the first people listing never finished scoring");
        answers.push(await timed(servers[name].url, peoplePath, { token: servers[name].account.token }));
      }
      built[name] = {
        requests: answers.length,
        seconds: answers.reduce((sum, a) => sum + a.ms, 0) / 1000,
        slowest: Math.max(...answers.map((a) => a.ms)) / 1000,
        calls: Math.max(...answers.map((a) => a.calls)),
      };
    }
    const peopleRounds = Math.max(10, Math.floor(rounds / 4));
    const people = await sideBySide({ big: servers.year, small: servers.big }, peopleRounds, (s) =>
      timed(s.url, peoplePath, { token: s.account.token }),
    );
    if (people.last.big.json.contacts.length !== PEOPLE_PAGE) throw new Error("the people list's first page is not full");
    report(
      "people-list-p50",
      `${fmt(people.big.p50)} ms for the first ${PEOPLE_PAGE} of ${YEAR_CONTACTS} contacts by score with ${YEAR_EVENTS} events stored ` +
        `(${fmt(people.big.p50 / people.small.p50)}x the same request at ${MESSAGES} contacts with ${BIG_EVENTS} events: ${fmt(people.small.p50)} ms; ` +
        `D1 rows read ${people.big.rowsRead} vs ${people.small.rowsRead}; ${peopleRounds} rounds; the account's first listing ` +
        `scored every contact in ${built.year.requests} requests vs ${built.big.requests}, the slowest ${fmt(built.year.slowest)} s vs ` +
        `${fmt(built.big.slowest)} s and at most ${built.year.calls} vs ${built.big.calls} D1 calls each (50 on the free plan), ` +
        `${fmt(built.year.seconds)} s vs ${fmt(built.big.seconds)} s in all)`,
    );
    report(
      "people-list-p99",
      `${fmt(people.big.p99)} ms at ${YEAR_CONTACTS} contacts (${fmt(people.big.p99 / people.small.p99)}x the same at ${MESSAGES}: ${fmt(people.small.p99)} ms)`,
    );

    // A contact's timeline, its first page: a contact of HEAVY_CONTACT_EMAILS emails (the year tracker's first ones,
    // given to one address, with their events) against a contact of one email, on the same tracker, after the
    // people list (which this changes).
    const heavy = "heavy@example.org";
    // Event i has message i % YEAR_CONTACTS and a label by i % 10, so each message's events share one label:
    // this one's are human opens, all counted.
    const light = `reader${YEAR_CONTACTS - 4}@example.org`;
    const yearAccountId = sqlText(yearAccount.key.accountId);
    d1Execute(year, {
      command: `UPDATE message_recipients SET email = '${heavy}' WHERE account_id = ${yearAccountId} AND message_id IN
        (SELECT id FROM messages WHERE account_id = ${yearAccountId} ORDER BY rowid LIMIT ${HEAVY_CONTACT_EMAILS})`,
    });
    const items = (email) =>
      d1Execute(year, {
        command: `SELECT count(*) + (SELECT count(*) FROM message_recipients WHERE email = '${email}') AS n
          FROM message_recipients r JOIN events e ON e.message_id = r.message_id
          WHERE r.email = '${email}' AND e.label IN (${COUNTED_LABELS.map(sqlText).join(", ")})`,
      })[0].n;
    const timelinePath = (email) => `/api/contacts/${encodeURIComponent(email)}?limit=${TIMELINE_PAGE}`;
    const timeline = await sideBySide(
      { big: { ...servers.year, contact: heavy }, small: { ...servers.year, contact: light } },
      peopleRounds,
      (s) => timed(s.url, timelinePath(s.contact), { token: s.account.token }),
    );
    if (timeline.last.big.json.timeline.length !== TIMELINE_PAGE) throw new Error("the heavy contact's first timeline page is not full");
    report(
      "contact-timeline-p50",
      `${fmt(timeline.big.p50)} ms for the first ${TIMELINE_PAGE} items of the timeline of a contact of ${HEAVY_CONTACT_EMAILS} emails ` +
        `and ${items(heavy)} items (${fmt(timeline.big.p50 / timeline.small.p50)}x the same request for a contact of one email and ` +
        `${items(light)} items: ${fmt(timeline.small.p50)} ms; D1 rows read ${timeline.big.rowsRead} vs ${timeline.small.rowsRead}, ` +
        `rows handed to the worker ${timeline.big.rowsReturned} vs ${timeline.small.rowsReturned}; ${peopleRounds} rounds)`,
    );

    // Rows written per event: 1,000 hits (half opens, half clicks, on different messages) through the real
    // queue consumer, on each tracker; D1's rows_written and rows_read summed over every consumer statement.
    for (const name of ["small", "big"]) {
      const s = servers[name];
      const paths = [];
      for (let i = 0; i < CONSUMER_HITS / 2; i++) {
        paths.push(pixelUrl("", s.ids[i]));
        paths.push(await signedClickUrl("", s.account.key, s.ids[MESSAGES - 1 - i], 0, `https://www.example.com/p/${i}`));
      }
      s.consumer = await consumeHits(s, paths, CONSUMER_HITS, log);
      if (s.consumer.stored !== CONSUMER_HITS)
        throw new Error(`${s.consumer.stored} of ${CONSUMER_HITS} hits were stored on the ${name} tracker`);
    }
    const per = (s, field) => s.consumer.totals[field] / CONSUMER_HITS;
    const insert = (s, field) => (s.consumer.totals.byStatement["INSERT events"]?.[field] ?? 0) / CONSUMER_HITS;
    const small = servers.small;
    const big = servers.big;
    report(
      "d1-rows-written-per-event",
      `${fmt(per(small, "rowsWritten"))} rows (${fmt(per(small, "rowsWritten") / insert(small, "rowsWritten"))}x the event's own INSERT, ` +
        `which writes ${fmt(insert(small, "rowsWritten"))} rows: the table row and its index entries; ` +
        `${CONSUMER_HITS} hits through the queue consumer, ${small.consumer.totals.batches} batches; ${fmt(per(big, "rowsWritten"))} with ${BIG_EVENTS} events stored)`,
    );
    report(
      "d1-rows-read-per-event",
      `${fmt(per(small, "rowsRead"))} rows with ${SMALL_EVENTS} events stored, ${fmt(per(big, "rowsRead"))} with ${BIG_EVENTS} ` +
        `(${fmt(per(big, "rowsRead") / per(small, "rowsRead"))}x; to relabel, the consumer reads only the events near each new hit in time: ` +
        `${fmt((big.consumer.totals.byStatement["SELECT events"]?.rowsRead ?? 0) / CONSUMER_HITS)} rows per event from SELECT … FROM events)`,
    );
  } finally {
    for (const s of Object.values(servers)) {
      await s.stop?.();
      removeDir(s.dir);
    }
  }
}
