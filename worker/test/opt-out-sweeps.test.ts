// An opt-out reaches another account's email the person was deleted from (docs/protocol.md §11): such an email keeps
// only keyed fingerprints of the address, and the hourly purge sweeps the tracker's such emails for them a share at a
// time (migration 0026, db/opt-out-sweeps.ts). In a file of its own: its tests count the tracker's emails that lost a
// recipient, which other files' tests would add to.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { mintTrackingId } from "../../shared/protocol";
import { SWEEP_EMAILS_PER_GROUP, SWEEP_HASHES_PER_RUN, SWEEP_READ_SQL, SWEEPS_PER_GROUP } from "../src/db/opt-out-sweeps";
import {
  HELD_DUE_ACCOUNTS_SQL,
  HELD_DUE_SQL,
  newestFirst,
  ONE_ACCOUNT_REMOVED_EMAILS_SQL,
  type OptOutTarget,
  OWN_SEARCH_EMAILS,
  OWN_SEARCH_HASHES,
  type OwnRemovedEmail,
  optOutOfEmail,
  optOutTarget,
  ownRemovedEmailsSql,
  settleOptOuts,
  settleOptOutsInPurge,
} from "../src/db/opt-outs";
import { purgeExpiredEvents } from "../src/db/retention";
import { fingerprintsToFindCount, removedFingerprints } from "../src/recipient-fingerprint";
import { d1WithWriteBeforeEachBatch, FlakyD1 } from "./faults";
import {
  countedCall,
  createAccount,
  HOUR,
  keyedHashesDuring,
  migrateRowsAcross,
  registration,
  sentMessage,
  storedEvents,
  type TestAccount,
  within,
} from "./helpers";
import { deleteContactBefore0017, hitNow, optOut, optOutOfNewEmail, ownLocalPart, pause } from "./opt-out-helpers";

const SECRET = env.SIGNING_SECRET ?? "";

interface SweepRow {
  email: string;
  created_at: number;
  after_message_id: string;
  through_message_id: string;
}

async function sweeps(): Promise<SweepRow[]> {
  return (await env.DB.prepare("SELECT * FROM opt_out_sweeps ORDER BY email").all<SweepRow>()).results;
}

/** Runs the hourly purge until no opt-out waits to be swept: how many runs it took (at most 20). */
async function purgeUntilSwept(): Promise<number> {
  for (let runs = 1; runs <= 20; runs++) {
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    if ((await sweeps()).length === 0) return runs;
  }
  throw new Error("the sweep did not finish in 20 runs");
}

/** `count` emails that lost a recipient, of some other account, sorting before every real tracking id ('0' < 'a'). */
async function seedRemovedEmails(prefix: string, count: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO removed_recipients (message_id, fingerprint)
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
     SELECT printf('0%s-%05d', ?1, i), 'not-this-address' FROM n`,
  )
    .bind(prefix, count)
    .run();
}

/**
 * A tracker of its own, for a test of the sweeps that must be the only ones: the migration test database with every
 * migration, emptied of opt-outs, sweeps and emails that lost a recipient, then given `emails` of these last
 * ('m-00000' on, in the sweep's order), none of whose lost recipients is anyone opting out.
 */
async function sweepsOnTrackerOfItsOwn(emails: number): Promise<D1Database> {
  const db = env.MIGRATION_TEST_DB;
  await applyD1Migrations(db, env.TEST_MIGRATIONS);
  await db.batch(["opt_out_sweeps", "opt_outs", "removed_recipients"].map((table) => db.prepare(`DELETE FROM ${table}`)));
  await db
    .prepare(
      `INSERT INTO removed_recipients (message_id, fingerprint) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
       SELECT printf('m-%05d', i), 'not-this-address' FROM n`,
    )
    .bind(emails)
    .run();
  return db;
}

/** The n-th seeded email's id in the sweep's order ('0<prefix>-00042'). */
const seeded = (prefix: string, n: number) => `0${prefix}-${String(n).padStart(5, "0")}`;

/**
 * `count` emails of the account the person was deleted from, sent one after another a millisecond apart from `sentAt`
 * (the last the newest).
 */
async function deletedFromMany(account: TestAccount, person: string, count: number, sentAt = Date.now() - count): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `own-${ownLocalPart()}-${String(i).padStart(5, "0")}`);
  const fingerprints = await Promise.all(ids.map((id) => removedFingerprints(SECRET, id, person)));
  await env.DB.batch(
    ids.flatMap((id, i) => [
      env.DB.prepare(
        "INSERT INTO messages (id, account_id, updated_at, registered_at, sent_at, recipient_count) VALUES (?1, ?2, ?3, ?3, ?3, 2)",
      ).bind(id, account.accountId, sentAt + i),
      env.DB.prepare("INSERT INTO removed_recipients (message_id, fingerprint) SELECT ?, value FROM json_each(?)").bind(
        id,
        JSON.stringify(fingerprints[i]),
      ),
    ]),
  );
  return ids;
}

/** Whether each email keeps an opt-out (its hits store nothing). */
async function optedOutOf(ids: readonly string[]): Promise<boolean[]> {
  const kept = await env.DB.prepare("SELECT id FROM messages WHERE opted_out_at IS NOT NULL AND id IN (SELECT value FROM json_each(?))")
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  const keptIds = new Set(kept.results.map((row) => row.id));
  return ids.map((id) => keptIds.has(id));
}

/** Account B's email to `person` and a colleague, `person` then deleted by B as a contact: B keeps fingerprints. */
async function deletedFromSharedEmail(b: TestAccount, person: string) {
  const shared = await sentMessage(b, { recipients: [{ email: person }, { email: "stays@wingtip.example" }] });
  expect((await b.json("DELETE", `/api/contacts/${encodeURIComponent(person)}`)).status).toBe(204);
  return shared;
}

describe("a tracker none of whose emails lost a recipient", () => {
  // First in the file: no test before it has deleted a contact.
  it("queues no sweep at an opt-out, and its purge makes no query for the sweep and reads no row of its emails", async () => {
    const a = await createAccount("Rep A");
    await optOutOfNewEmail(a, `${ownLocalPart()}@wingtip.example`);
    expect(await sweeps()).toEqual([]);
    // Emails that lose a recipient after the opt-out are the deletion's to mark: the purge still sweeps nothing.
    await seedRemovedEmails("zidle", 50);
    const recorded = new FlakyD1(env.DB, () => false);
    await purgeExpiredEvents(recorded.asD1(), SECRET, Date.now());
    // The sweep's reads ride in the batch that reads the held opt-outs, which the purge makes anyway.
    const withSweep = recorded.log.filter((c) => c.sql.some((sql) => sql.includes("opt_out_sweeps")));
    expect(withSweep).toHaveLength(1);
    expect(withSweep[0]?.sql.some((sql) => sql.includes("FROM pending_opt_outs"))).toBe(true);
    // Local D1 counts a row read for each look into an empty table (`SELECT * FROM opt_out_sweeps` reads 1; observed in
    // workerd 1.20261023.1, 2026-12-07): the one statement looks into the empty opt_out_sweeps for each group (the
    // oldest or newest, the rows at its cursor) and into removed_recipients for each range, and stops, reading none of
    // its 50 emails: 6 with 5 emails or with 50.
    const sweepReads = withSweep[0]?.sql.flatMap((sql, i) => (sql.includes("opt_out_sweeps") ? [withSweep[0]?.rowsRead[i]] : [])) ?? [];
    expect(sweepReads).toHaveLength(1);
    expect(sweepReads[0]).toBeLessThanOrEqual(6);
  });
});

describe("an opt-out reaches another account's email the person was deleted from", () => {
  it("after the purge: from the opt-out's time on, that email stores no hit and loses those stored since", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const person = `gone${ownLocalPart()}@wingtip.example`;
    const shared = await deletedFromSharedEmail(b, person);
    expect(await hitNow(b, shared.id)).toBe(1);
    const before = await storedEvents(shared.id);
    await pause();
    await optOutOfNewEmail(a, person);
    const optedOutAt = await env.DB.prepare("SELECT created_at FROM opt_outs WHERE email = ?").bind(person).first<number>("created_at");
    // Until the purge sweeps B's emails, the opt-out has not found this one.
    expect(await sweeps()).toMatchObject([{ email: person, created_at: optedOutAt, after_message_id: "" }]);
    expect(await hitNow(b, shared.id)).toBe(1);
    expect(await purgeUntilSwept()).toBe(1);
    expect(await storedEvents(shared.id)).toEqual(before);
    expect(await hitNow(b, shared.id)).toBe(0);
    const kept = await env.DB.prepare("SELECT opted_out_at FROM messages WHERE id = ?").bind(shared.id).first<number>("opted_out_at");
    expect(kept).toBe(optedOutAt);
    // B's email says so as its status (as B's own contact's opt-out would), not through which email of A's.
    expect((await b.json<{ unsubscribed: boolean }>("GET", `/api/messages/${shared.id}`)).body.unsubscribed).toBe(true);
  });

  it("a sweep longer than one run goes on where it stopped and finishes", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const person = `far${ownLocalPart()}@wingtip.example`;
    const shared = await deletedFromSharedEmail(b, person);
    // Two runs' worth of other emails that lost a recipient, before B's in the sweep's order.
    await seedRemovedEmails("long", 2 * SWEEP_EMAILS_PER_GROUP);
    await optOutOfNewEmail(a, person);
    // A run hashes its share and no more: two an email for an address in ASCII.
    expect((await keyedHashesDuring(() => purgeExpiredEvents(env.DB, SECRET, Date.now()))).hashes).toBe(SWEEP_HASHES_PER_RUN);
    expect((await sweeps()).map((s) => s.after_message_id)).toEqual([seeded("long", SWEEP_EMAILS_PER_GROUP - 1)]);
    expect(await hitNow(b, shared.id)).toBe(1);
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    expect(await hitNow(b, shared.id)).toBe(1);
    // The third reaches B's email and the end.
    expect(await purgeUntilSwept()).toBe(1);
    expect(await hitNow(b, shared.id)).toBe(0);
    expect(await storedEvents(shared.id)).toEqual([]);
  });

  it("a new opt-out is searched from the next run on, at half a run's share, while an older one's long sweep goes on", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const [older, fresh] = [`older${ownLocalPart()}@wingtip.example`, `fresh${ownLocalPart()}@wingtip.example`];
    const [sharedOlder, sharedFresh] = [await deletedFromSharedEmail(b, older), await deletedFromSharedEmail(b, fresh)];
    // Its own backlog, three runs' worth, before B's emails in the sweep's order ("0back" < "0long", another test's).
    await seedRemovedEmails("back", 3 * SWEEP_EMAILS_PER_GROUP);
    await optOutOfNewEmail(a, older);
    // Alone, it has the run's whole share.
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    const stopped = SWEEP_EMAILS_PER_GROUP - 1;
    expect(await sweeps()).toMatchObject([{ email: older, after_message_id: seeded("back", stopped) }]);
    // Emails that lost a recipient since, before its cursor: the new one's sweep is not in step with it.
    await seedRemovedEmails("ahead", 10);
    await pause();
    await optOutOfNewEmail(a, fresh);
    expect(await hitNow(b, sharedFresh.id)).toBe(1);
    // Then each has half a run's: the older goes on where it stopped, the new one from the start (the 10 ahead first).
    const half = SWEEP_EMAILS_PER_GROUP / 2;
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    expect(await sweeps()).toMatchObject([
      { email: fresh, after_message_id: seeded("back", half - 10 - 1) },
      { email: older, after_message_id: seeded("back", stopped + half) },
    ]);
    let runs = 1;
    while ((await sweeps()).some((sweep) => sweep.email === fresh)) {
      await purgeExpiredEvents(env.DB, SECRET, Date.now());
      expect(++runs).toBeLessThanOrEqual(20);
    }
    expect(await hitNow(b, sharedFresh.id)).toBe(0);
    expect(await storedEvents(sharedFresh.id)).toEqual([]);
    await purgeUntilSwept();
    expect(await hitNow(b, sharedOlder.id)).toBe(0);
  });

  it("the oldest opt-out waiting goes on at every run and finishes, however many new ones arrive, each searched at once", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const person = `patient${ownLocalPart()}@wingtip.example`;
    const shared = await deletedFromSharedEmail(b, person);
    await optOutOfNewEmail(a, person);
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    const waiting = async () => (await sweeps()).find((sweep) => sweep.email === person);
    const first = await waiting();
    // What it has left: the emails after its cursor, through the last that had lost a recipient at its opt-out.
    const left = await env.DB.prepare(
      "SELECT count(DISTINCT message_id) AS n FROM removed_recipients WHERE message_id > ? AND message_id <= ?",
    )
      .bind(first?.after_message_id, first?.through_message_id)
      .first<number>("n");
    expect(left).toBeGreaterThan(SWEEP_EMAILS_PER_GROUP);
    // Before every run more new opt-outs arrive than a group holds, each newer than the last: the newest group is
    // always full of them. The oldest still has half of every run: two hashes an email for an address in ASCII.
    let arrived = 0;
    const runsAtMost = Math.ceil((left ?? 0) / (SWEEP_EMAILS_PER_GROUP / 2));
    for (let runs = 1; (await waiting()) !== undefined; runs++) {
      expect(runs).toBeLessThanOrEqual(runsAtMost);
      const before = (await waiting())?.after_message_id;
      const newcomers = Array.from({ length: SWEEPS_PER_GROUP + 1 }, () => `newcomer${arrived++}-${ownLocalPart()}@wingtip.example`);
      const insert = "INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES ('acct-new', ?, 'm-new', ?)";
      await env.DB.batch(newcomers.map((email) => env.DB.prepare(insert).bind(email, Date.now() + arrived)));
      await purgeExpiredEvents(env.DB, SECRET, Date.now());
      expect((await waiting())?.after_message_id).not.toBe(before);
      // And the newest of them was searched from this run on.
      expect((await sweeps()).find((sweep) => sweep.email === newcomers.at(-1))).toMatchObject({
        after_message_id: expect.stringMatching(/./),
      });
    }
    expect(await hitNow(b, shared.id)).toBe(0);
    // The newcomers' sweeps would take a run for every 15 of the file's emails that lost a recipient: dropped, so that
    // the tests after start with none waiting.
    await env.DB.prepare("DELETE FROM opt_out_sweeps WHERE email LIKE 'newcomer%'").run();
  });

  it("a run hashes no more than its share, however many keyed hashes each waiting address costs", async () => {
    await seedRemovedEmails("cost", 5);
    // Two groups of addresses with an accent and a punycode domain, each hashed in several spellings: a group's email
    // costs 40, which half a run's share is no multiple of.
    const addresses = Array.from({ length: 2 * SWEEPS_PER_GROUP }, (_, i) => `josé${i}${ownLocalPart()}@xn--mnchen-3ya.de`);
    const [older, newer] = [addresses.slice(0, SWEEPS_PER_GROUP), addresses.slice(SWEEPS_PER_GROUP)];
    const perEmail = (group: string[]) => group.reduce((sum, address) => sum + fingerprintsToFindCount(address), 0);
    expect(perEmail(older)).toBeGreaterThan(SWEEP_HASHES_PER_RUN / 10);
    expect((SWEEP_HASHES_PER_RUN / 2) % perEmail(older)).not.toBe(0);
    const now = Date.now();
    await env.DB.batch(
      addresses.map((address, i) =>
        env.DB.prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES ('acct-cost', ?, ?, ?)").bind(
          address,
          `m-cost-${i}`,
          now + i,
        ),
      ),
    );
    const { hashes } = await keyedHashesDuring(() => purgeExpiredEvents(env.DB, SECRET, Date.now()));
    // As many whole emails as fit, and not one more: the older group's in half the share, the newer's in what is left.
    const olderHashes = Math.floor(SWEEP_HASHES_PER_RUN / 2 / perEmail(older)) * perEmail(older);
    expect(hashes).toBe(olderHashes + Math.floor((SWEEP_HASHES_PER_RUN - olderHashes) / perEmail(newer)) * perEmail(newer));
    expect(hashes).toBeLessThanOrEqual(SWEEP_HASHES_PER_RUN);
    // The rest would take a run for every few of the file's emails that lost a recipient: dropped, so that the tests
    // after start with none waiting.
    await env.DB.prepare("DELETE FROM opt_out_sweeps WHERE email LIKE 'josé%'").run();
  });

  it("an address opted out after another spelling of its mailbox is swept for as written, for a deletion before 0017", async () => {
    const [a, b, c] = [await createAccount("Rep A"), await createAccount("Rep B"), await createAccount("Rep C")];
    const name = `john${ownLocalPart()}`;
    const [dotless, dotted] = [`${name}doe@gmail.com`, `${name}.doe@gmail.com`];
    // B deleted `john.doe@` before migration 0017: only the fingerprint of the address as written stayed.
    const shared = await sentMessage(b, { recipients: [{ email: dotted }, { email: "stays@wingtip.example" }] });
    await deleteContactBefore0017(b, shared.id, dotted);
    // The mailbox's other spelling opts out first: it hashes its own spellings, and cannot find that one.
    await optOutOfNewEmail(a, dotless);
    await purgeUntilSwept();
    expect(await hitNow(b, shared.id)).toBe(1);
    // Then `john.doe@` itself, through another account: swept for, though its mailbox opted out before.
    await pause();
    await optOutOfNewEmail(c, dotted);
    expect((await sweeps()).map((sweep) => sweep.email)).toEqual([dotted]);
    await purgeUntilSwept();
    expect(await hitNow(b, shared.id)).toBe(0);
  });

  it("an opt-out recorded late at an earlier time (held for an email not registered) sweeps again from that time", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const person = `late${ownLocalPart()}@wingtip.example`;
    const shared = await deletedFromSharedEmail(b, person);
    const held = await mintTrackingId(a.key);
    expect((await optOut(held, person)).status).toBe(200);
    const typedAt = await env.DB.prepare("SELECT created_at FROM pending_opt_outs WHERE message_id = ?")
      .bind(held)
      .first<number>("created_at");
    await pause();
    expect(await hitNow(b, shared.id)).toBe(1);
    await pause();
    await optOutOfNewEmail(a, person);
    await purgeUntilSwept();
    expect(await storedEvents(shared.id)).toHaveLength(1);
    // The held one's registration records it at the time it was typed, before the open above.
    expect((await a.json("PUT", `/api/messages/${held}`, registration({ recipients: [{ email: person }] }))).status).toBe(200);
    expect((await sweeps()).map((s) => s.created_at)).toEqual([typedAt]);
    await purgeUntilSwept();
    expect(await storedEvents(shared.id)).toEqual([]);
    expect(await env.DB.prepare("SELECT opted_out_at FROM messages WHERE id = ?").bind(shared.id).first("opted_out_at")).toBe(typedAt);
  });
});

describe("migration 0026", () => {
  it("queues a sweep for each address opted out before it, at its earliest time, when some email lost a recipient", async () => {
    const db = env.MIGRATION_TEST_DB;
    await migrateRowsAcross("0026_opt_out_sweeps.sql", [
      db.prepare("INSERT INTO removed_recipients (message_id, fingerprint) VALUES ('m-1', 'f-1'), ('m-2', 'f-2')"),
      db.prepare(
        `INSERT INTO opt_outs (account_id, email, message_id, created_at, mailbox_key) VALUES
           ('acct-a', 'x@wingtip.example', 'm-a', 20, 'x@wingtip.example'), ('acct-b', 'x@wingtip.example', 'm-b', 10, 'x@wingtip.example'),
           ('acct-a', 'y@wingtip.example', 'm-a', 30, 'y@wingtip.example')`,
      ),
    ]);
    const { results } = await db
      .prepare("SELECT email, created_at, after_message_id, through_message_id FROM opt_out_sweeps ORDER BY email")
      .all();
    expect(results).toEqual([
      { email: "x@wingtip.example", created_at: 10, after_message_id: "", through_message_id: "m-2" },
      { email: "y@wingtip.example", created_at: 30, after_message_id: "", through_message_id: "m-2" },
    ]);
  });
});

describe("a backlog of opt-outs under a steady arrival of new ones", () => {
  // After "migration 0026", which needs the migration test database before 0026: this test applies every migration.
  it("drains while they keep arriving below the sweep's rate, each finished within the bound of what was older at its arrival", async () => {
    // A tracker of its own, with EMAILS emails that lost a recipient: each opt-out in ASCII costs 2 × EMAILS keyed
    // hashes, so a run's SWEEP_HASHES_PER_RUN sweeps 2.5 opt-outs.
    const EMAILS = 60;
    const db = await sweepsOnTrackerOfItsOwn(EMAILS);
    let arrived = 0;
    const arrive = (count: number) =>
      db.batch(
        Array.from({ length: count }, () =>
          db
            .prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES ('acct-backlog', ?, 'm-backlog', ?)")
            .bind(`backlog${String(arrived).padStart(3, "0")}@wingtip.example`, ++arrived),
        ),
      );
    const waiting = async () =>
      (
        await db
          .prepare(
            `SELECT email, created_at, (SELECT count(DISTINCT message_id) FROM removed_recipients
               WHERE message_id > s.after_message_id AND message_id <= s.through_message_id) AS emails_left
             FROM opt_out_sweeps s`,
          )
          .all<{ email: string; created_at: number; emails_left: number }>()
      ).results;
    // The oldest group's half of a run sweeps at least this many emails for the oldest opt-out, whoever is at its
    // cursor with it (SWEEPS_PER_GROUP addresses in ASCII, two hashes each), and newer opt-outs never take its place.
    // So an opt-out is finished within the runs its elders and itself need at that pace, whatever arrives after it.
    const oldestPerRun = Math.floor(SWEEP_HASHES_PER_RUN / 2 / (SWEEPS_PER_GROUP * 2));
    const bound = new Map<string, number>();
    const due = async (run: number) => {
      const rows = await waiting();
      for (const row of rows) {
        if (bound.has(row.email)) continue;
        const elders = rows.filter((other) => other.created_at <= row.created_at);
        bound.set(row.email, run + elders.reduce((runs, elder) => runs + Math.ceil(elder.emails_left / oldestPerRun), 0));
      }
    };
    const finishedAt = new Map<string, number>();
    const BACKLOG = 30;
    const ARRIVING_RUNS = 40;
    await arrive(BACKLOG);
    await due(1);
    const waitingAfter: number[] = [];
    for (let run = 1; run <= 200; run++) {
      // One new opt-out before each run: 120 hashes of the run's 300.
      if (run <= ARRIVING_RUNS && run > 1) {
        await arrive(1);
        await due(run);
      }
      const before = new Set((await waiting()).map((row) => row.email));
      await settleOptOutsInPurge(db, SECRET, Date.now());
      const after = await waiting();
      for (const email of before) if (!after.some((row) => row.email === email)) finishedAt.set(email, run);
      waitingAfter.push(after.length);
      if (run >= ARRIVING_RUNS && after.length === 0) break;
    }
    expect(finishedAt.size).toBe(arrived);
    for (const [email, run] of finishedAt) expect(run, email).toBeLessThanOrEqual(bound.get(email) ?? 0);
    // The backlog drains while they still arrive: 30 waiting at first, 3 at most over the last 10 runs of arrivals (none
    // from run 22 on, 2026-12-07, from run 23 before a group's unspent share went to the other: each new one is then
    // swept in the run after it arrives).
    expect(Math.max(...waitingAfter.slice(ARRIVING_RUNS - 10, ARRIVING_RUNS))).toBeLessThanOrEqual(3);
  });
});

describe("a run's share of keyed hashes", () => {
  // After "a backlog of opt-outs", on the same tracker of its own (the migration test database, every migration).
  it("is spent whole while an opt-out has emails left: the newest group near its end leaves the rest to the oldest", async () => {
    const db = await sweepsOnTrackerOfItsOwn(400);
    // The oldest opt-out at the start of 400 emails, the newest with 5 left (10 keyed hashes, both in ASCII).
    const insert = "INSERT INTO opt_out_sweeps (email, created_at, after_message_id, through_message_id) VALUES (?, ?, ?, 'm-00399')";
    await db.batch([
      db.prepare(insert).bind("oldest@wingtip.example", 1, ""),
      db.prepare(insert).bind("newest@wingtip.example", 2, "m-00394"),
    ]);
    const { hashes } = await keyedHashesDuring(() => settleOptOutsInPurge(db, SECRET, Date.now()));
    expect(hashes).toBe(SWEEP_HASHES_PER_RUN);
    // The newest finished; the oldest searched the run's hashes but the newest's 10, two an email: 145 emails, not the
    // 75 of its half alone.
    const { results } = await db.prepare("SELECT email, after_message_id FROM opt_out_sweeps").all();
    const searched = (SWEEP_HASHES_PER_RUN - 2 * 5) / 2;
    expect(results).toEqual([{ email: "oldest@wingtip.example", after_message_id: `m-${String(searched - 1).padStart(5, "0")}` }]);
  });
});

describe("an opt-out through an account with more emails the person was deleted from than its request searches", () => {
  /** The keyed hashes of an opt-out request through an account none of whose emails lost a recipient: its link's. */
  async function linkHashes(): Promise<number> {
    const c = await createAccount("Rep C");
    const plain = `plain${ownLocalPart()}@wingtip.example`;
    const through = await sentMessage(c, { recipients: [{ email: plain }], optOutLink: true });
    const { hashes } = await keyedHashesDuring(() => optOut(through.id));
    // Its sweep, which finds nothing, dropped: the tests count the sweep's hashes of their own opt-out.
    await env.DB.prepare("DELETE FROM opt_out_sweeps WHERE email = ?").bind(plain).run();
    return hashes;
  }

  it("answers with the newest searched, within its bound, and the sweep finds the rest", async () => {
    const b = await createAccount("Rep B");
    const person = `many${ownLocalPart()}@wingtip.example`;
    const ids = await deletedFromMany(b, person, OWN_SEARCH_EMAILS + 3);
    const through = await sentMessage(b, { recipients: [{ email: person }], optOutLink: true });
    const link = await linkHashes();
    const request = await keyedHashesDuring(() => optOut(through.id));
    expect(request.result.status).toBe(200);
    expect(await request.result.text()).toContain("every other email from them");
    // Two hashes an email for an address in ASCII: the newest the bound allows, and not the 3 oldest.
    expect(request.hashes - link).toBe(OWN_SEARCH_HASHES);
    expect(await optedOutOf(ids)).toEqual(ids.map((_, i) => i >= 3));
    // Its sweep searches every other email of the tracker that had lost a recipient, the 3 oldest of B's among them,
    // and not again the ones the request searched: two hashes an email.
    const [sweep, ...others] = await sweeps();
    expect([sweep?.email, others]).toEqual([person, []]);
    const inRange = await env.DB.prepare("SELECT count(DISTINCT message_id) AS n FROM removed_recipients WHERE message_id <= ?")
      .bind(sweep?.through_message_id)
      .first<number>("n");
    expect((await keyedHashesDuring(purgeUntilSwept)).hashes).toBe(2 * ((inRange ?? 0) - OWN_SEARCH_EMAILS));
    expect(await optedOutOf(ids)).toEqual(ids.map(() => true));
  });

  it("has its emails searched again by the sweep once an earlier opt-out of the address moves its time earlier", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const person = `earlier${ownLocalPart()}@wingtip.example`;
    const [ownEmail = ""] = await deletedFromMany(b, person, 1);
    // Held for an email of A's not registered yet, typed before the open and the opt-out through B below.
    const held = await mintTrackingId(a.key);
    expect((await optOut(held, person)).status).toBe(200);
    await pause();
    expect(await hitNow(b, ownEmail)).toBe(1);
    await pause();
    const through = await sentMessage(b, { recipients: [{ email: person }], optOutLink: true });
    expect((await optOut(through.id)).status).toBe(200);
    // The request searched B's email and kept its later time there: the open before it stays.
    expect(await optedOutOf([ownEmail])).toEqual([true]);
    expect(await storedEvents(ownEmail)).toHaveLength(1);
    // The held one, recorded at the time it was typed, sweeps from there: B's email too, though the request searched it.
    expect((await a.json("PUT", `/api/messages/${held}`, registration({ recipients: [{ email: person }] }))).status).toBe(200);
    await purgeUntilSwept();
    expect(await storedEvents(ownEmail)).toEqual([]);
  });

  it("is stored and answered when its search of the account's own emails fails, and the sweep finds them all", async () => {
    const b = await createAccount("Rep B");
    const person = `failed${ownLocalPart()}@wingtip.example`;
    const ids = await deletedFromMany(b, person, 3);
    const through = await sentMessage(b, { recipients: [{ email: person }], optOutLink: true });
    const link = await linkHashes();
    // Every hash after the link's fails. A request past its CPU limit gets no response of the Worker's: its client gets
    // error 1102, "Worker exceeded CPU time limit", one of the errors "that prevents it from returning a response"
    // (developers.cloudflare.com/workers/observability/errors/, last updated 2026-10-08, read 2026-12-07). The model
    // here, that nothing of it runs after that (the page does not say so in those words), asks what it stored before
    // its search to be all that stays; the search failing shows the same: the sweep finds what it left.
    const sign = crypto.subtle.sign.bind(crypto.subtle);
    let calls = 0;
    const failing = vi
      .spyOn(crypto.subtle, "sign")
      .mockImplementation((...args) => (calls++ < link ? sign(...args) : Promise.reject(new Error("exceeded CPU"))));
    // The failure is logged, and only that: kept off the test's output.
    const logged: unknown[][] = [];
    const logging = vi.spyOn(console, "error").mockImplementation((...args) => logged.push(args));
    let answer: Response;
    try {
      answer = await optOut(through.id);
    } finally {
      failing.mockRestore();
      logging.mockRestore();
    }
    expect(logged).toEqual([["searching an opt-out's own emails failed, left to the sweep", "Error: exceeded CPU"]]);
    expect(answer.status).toBe(200);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM opt_outs WHERE email = ?").bind(person).first("n")).toBe(1);
    expect(await optedOutOf(ids)).toEqual([false, false, false]);
    await purgeUntilSwept();
    expect(await optedOutOf(ids)).toEqual([true, true, true]);
  });

  it("taken as given through an email registered with no recipients, has its unsubscribe stored before the search", async () => {
    const b = await createAccount("Rep B");
    const person = `unread${ownLocalPart()}@wingtip.example`;
    await deletedFromMany(b, person, 3);
    const unread = await sentMessage(b, { recipients: [], optOutLink: true });
    const target = await optOutTarget(env.DB, b.accountId, unread.id);
    expect(target).toMatchObject({ registered: true, recipientCount: 0 });
    const unsubscribes = () =>
      env.DB.prepare("SELECT email FROM signals WHERE message_id = ? AND kind = 'unsubscribe'").bind(unread.id).all();
    // The search stalls at its first keyed hash, as a request the CPU limit ends there never goes on (the errors page
    // cited in the test above): what it stored before the search is all that stays. Recorded here rather than through
    // the page, whose request, stalled so and released from the test, never answered when this file ran whole
    // (workerd, 2026-12-07).
    const sign = crypto.subtle.sign.bind(crypto.subtle);
    let searching = () => {};
    const searchStarted = new Promise<void>((resolve) => {
      searching = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stalled = vi.spyOn(crypto.subtle, "sign").mockImplementation(async (...args) => {
      searching();
      await released;
      return sign(...args);
    });
    const recording = optOutOfEmail(env.DB, SECRET, target as OptOutTarget, person, Date.now());
    try {
      const first = Promise.race([searchStarted.then(() => "searching"), recording.then(() => "recorded")]);
      expect(await within("the search's first keyed hash, or the recording's end", first)).toBe("searching");
      expect((await unsubscribes()).results).toEqual([{ email: person }]);
    } finally {
      release();
      stalled.mockRestore();
    }
    expect(await within("the recording, its search released", recording)).toBe(true);
    expect((await unsubscribes()).results).toEqual([{ email: person }]);
    // Its sweep, finished: the tests after start with none waiting.
    await purgeUntilSwept();
  });
});

describe("opt-outs held for an email and recorded together share one bound", () => {
  /**
   * Two persons' opt-outs held for a new email of an account that deleted them from its emails, OWN_SEARCH_EMAILS
   * and 3 newer ones, recorded together by `record`: they search one bound of the account's newest emails, half each,
   * and the sweep finds the rest.
   */
  async function sharesOneBound(record: (account: TestAccount, id: string, persons: string[]) => Promise<unknown>): Promise<void> {
    const persons = () => [`first${ownLocalPart()}@wingtip.example`, `second${ownLocalPart()}@wingtip.example`];
    const hashesOf = async (account: TestAccount, held: string[]) => {
      const id = await mintTrackingId(account.key);
      for (const person of held) expect((await optOut(id, person)).status).toBe(200);
      return (await keyedHashesDuring(() => record(account, id, held))).hashes;
    };
    // Recording them through an account none of whose emails lost a recipient: the hashes that are not the search's.
    // Their sweeps would take many runs: dropped.
    const others = persons();
    const without = await hashesOf(await createAccount("Rep C"), others);
    await env.DB.prepare("DELETE FROM opt_out_sweeps WHERE email IN (?, ?)")
      .bind(...others)
      .run();
    const b = await createAccount("Rep B");
    const [first = "", second = ""] = persons();
    // The second's emails all newer than the first's.
    const sentAt = Date.now() - HOUR;
    const ids = [
      ...(await deletedFromMany(b, first, OWN_SEARCH_EMAILS, sentAt)),
      ...(await deletedFromMany(b, second, 3, sentAt + OWN_SEARCH_EMAILS)),
    ];
    expect((await hashesOf(b, [first, second])) - without).toBe(OWN_SEARCH_HASHES);
    // Each searched the newest half: the second's 3, and the first's newest 47.
    const searched = OWN_SEARCH_EMAILS / 2;
    expect(await optedOutOf(ids)).toEqual(ids.map((_, i) => i >= ids.length - searched));
    // Each one's sweep searches every email of the tracker that had lost a recipient but the half its search did (none
    // of them lost a recipient since): two hashes an email.
    const toSweep = await env.DB.prepare(
      `SELECT sum((SELECT count(DISTINCT message_id) FROM removed_recipients WHERE message_id <= s.through_message_id)) AS n
       FROM opt_out_sweeps s WHERE email IN (?, ?)`,
    )
      .bind(first, second)
      .first<number>("n");
    expect((await keyedHashesDuring(purgeUntilSwept)).hashes).toBe(2 * ((toSweep ?? 0) - 2 * searched));
    expect(await optedOutOf(ids)).toEqual(ids.map(() => true));
  }

  it("by the email's registration, which reads the account's own emails once for both", async () => {
    const reads: number[] = [];
    await sharesOneBound(async (account, id, persons) => {
      const body = registration({ recipients: persons.map((email) => ({ email })) });
      const { response, d1Statements } = await countedCall(account, `/api/messages/${id}`, "PUT", body);
      expect(response.status).toBe(200);
      reads.push(d1Statements.filter((sql) => sql === ONE_ACCOUNT_REMOVED_EMAILS_SQL).length);
    });
    expect(reads).toEqual([1, 1]);
  });

  it("by the email's deletion", async () => {
    await sharesOneBound(async (account, id) => expect((await account.json("DELETE", `/api/messages/${id}`)).status).toBe(204));
  });

  it("by the purge, a day on", async () => {
    await sharesOneBound(() => purgeExpiredEvents(env.DB, SECRET, Date.now() + 25 * HOUR));
  });

  it("leave the emails they searched to the sweep: read before the opt-outs, one may have lost the person since", async () => {
    const b = await createAccount("Rep B");
    const [person, other] = [`raced${ownLocalPart()}@wingtip.example`, `beside${ownLocalPart()}@wingtip.example`];
    // B's email to the person that lost another recipient: among those the opt-outs search.
    const earlier = await sentMessage(b, {
      recipients: [{ email: person }, { email: "stays@wingtip.example" }, { email: `left${ownLocalPart()}@wingtip.example` }],
    });
    const left = (await env.DB.prepare("SELECT recipients FROM messages WHERE id = ?").bind(earlier.id).first<string>("recipients")) ?? "";
    const leftAddress = (JSON.parse(left) as { email: string }[])[2]?.email ?? "";
    expect((await b.json("DELETE", `/api/contacts/${encodeURIComponent(leftAddress)}`)).status).toBe(204);
    // Two addresses held for a new email of B's, recorded together: B's own emails are read once, before either is stored.
    const held = await sentMessage(b, { recipients: [{ email: person }, { email: other }] });
    const typedAt = Date.now();
    const pending = [person, other].map((email) => ({ email, created_at: typedAt }));
    // Between that read and the person's opt-out, B deletes the person as a contact: the deletion sees no opt-out, and
    // the read emails do not have the person's fingerprint.
    let batches = 0;
    const meanwhile = d1WithWriteBeforeEachBatch(env.DB, async () => {
      if (++batches === 1) expect((await b.json("DELETE", `/api/contacts/${encodeURIComponent(person)}`)).status).toBe(204);
    });
    await settleOptOuts(meanwhile, SECRET, b.accountId, held.id, pending);
    expect(await optedOutOf([earlier.id])).toEqual([false]);
    // The other's sweep, which finds nothing, dropped: the person's alone finishes within purgeUntilSwept's runs.
    await env.DB.prepare("DELETE FROM opt_out_sweeps WHERE email = ?").bind(other).run();
    await purgeUntilSwept();
    expect(await optedOutOf([earlier.id])).toEqual([true]);
    expect(await hitNow(b, earlier.id)).toBe(0);
  });
});

describe("the sweep's and the opt-out's reads", () => {
  const plan = async (sql: string, ...params: (number | string)[]) =>
    (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((row) => row.detail);

  it("find the oldest and the newest opt-out, and those at their cursors, by index, each group once, and the emails after each by a range of removed_recipients' key", async () => {
    const steps = await plan(SWEEP_READ_SQL, 1, 1);
    const times = (step: string) => steps.filter((s) => s === step).length;
    // The oldest and the newest opt-out: the first and the last entry of the time index (a scan that stops at its first
    // row, LIMIT 1).
    expect(times("SCAN opt_out_sweeps USING INDEX opt_out_sweeps_by_time")).toBe(2);
    // Those at each one's cursor, in the index's order: no sort of every opt-out waiting there; each group read once.
    expect(times("SEARCH opt_out_sweeps USING INDEX opt_out_sweeps_by_cursor (after_message_id=?)")).toBe(2);
    expect(steps.filter((step) => step.startsWith("MATERIALIZE"))).toEqual(["MATERIALIZE oldest", "MATERIALIZE newest"]);
    expect(steps.filter((step) => step.includes("TEMP B-TREE"))).toEqual([]);
    expect(times("SEARCH removed_recipients USING PRIMARY KEY (message_id>? AND message_id<?)")).toBe(2);
  });

  it("find the addresses held longer than a day by their time, oldest first with no sort, not by a scan of every one held", async () => {
    expect(await plan(HELD_DUE_SQL, 0, 50)).toEqual(["SEARCH pending_opt_outs USING INDEX pending_opt_outs_by_time (created_at<?)"]);
  });

  it("find the account's own emails that lost a recipient by index, and search them newest first", async () => {
    // One account's, at an opt-out, a registration or a deletion; the purge's, for the accounts of its held addresses
    // due (found by their time): for each account its newest emails that lost a recipient, from the partial index of
    // them alone (migration 0033), stopped at the LIMIT, then each one's row and fingerprints by their keys.
    const own = [
      "SEARCH m USING INDEX sqlite_autoindex_messages_1 (id=?)",
      "SEARCH messages USING INDEX messages_that_lost_recipients_by_sent (account_id=?)",
      "SEARCH removed_recipients USING PRIMARY KEY (message_id=?)",
    ];
    // Past the accounts, each one's id once (`a`).
    const seeks = (steps: string[]) => steps.filter((step) => /^(SEARCH|SCAN) [a-z]/.test(step) && step !== "SCAN a");
    expect(seeks(await plan(ONE_ACCOUNT_REMOVED_EMAILS_SQL, "acct"))).toEqual(own);
    expect(seeks(await plan(ownRemovedEmailsSql(HELD_DUE_ACCOUNTS_SQL), 0))).toEqual([
      "SEARCH pending_opt_outs USING INDEX pending_opt_outs_by_time (created_at<?)",
      ...own,
    ]);
    // The rows come in no promised order: searched newest first whatever it is.
    const account = await createAccount("Rep B");
    const ids = await deletedFromMany(account, `ordered${ownLocalPart()}@wingtip.example`, 3, Date.now() - HOUR);
    const { results } = await env.DB.prepare(ONE_ACCOUNT_REMOVED_EMAILS_SQL).bind(account.accountId).all<OwnRemovedEmail>();
    for (const rows of [results, [...results].reverse()])
      expect(newestFirst(rows).map((row) => row.message_id)).toEqual([...ids].reverse());
  });
  it("read the account's own emails that lost a recipient in proportion to those, not to the account's every email", async () => {
    const account = await createAccount("Rep B");
    const sentAt = Date.now() - HOUR;
    await deletedFromMany(account, `rare${ownLocalPart()}@wingtip.example`, 3, sentAt);
    const rowsRead = async () => {
      const read = await env.DB.prepare(ONE_ACCOUNT_REMOVED_EMAILS_SQL).bind(account.accountId).all<OwnRemovedEmail>();
      expect(read.results).toHaveLength(3);
      return read.meta.rows_read;
    };
    const few = await rowsRead();
    // 300 more emails of the account that lost no recipient, newer than the 3: the same rows read. Before migration
    // 0033 every email of the account was read (by messages_by_sent), 300 rows more.
    await env.DB.prepare(
      `INSERT INTO messages (id, account_id, updated_at, registered_at, sent_at, recipient_count)
       WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299)
       SELECT printf('kept-%s-%05d', ?2, i), ?1, ?3 + i, ?3 + i, ?3 + i, 1 FROM n`,
    )
      .bind(account.accountId, ownLocalPart(), sentAt + 10)
      .run();
    expect(await rowsRead()).toBe(few);
  });
});
