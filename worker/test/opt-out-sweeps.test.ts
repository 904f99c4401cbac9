// An opt-out reaches another account's email the person was deleted from (docs/protocol.md §11): such an email keeps
// only keyed fingerprints of the address, and the hourly purge sweeps the tracker's such emails for them a share at a
// time (migration 0026, db/opt-out-sweeps.ts). In a file of its own: its tests count the tracker's emails that lost a
// recipient, which other files' tests would add to.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mintTrackingId } from "../../shared/protocol";
import { SWEEP_EMAILS_PER_RUN, SWEEP_EMAILS_SQL, SWEEP_GROUP_SQL, SWEEP_HASHES_PER_RUN, SWEEPS_PER_RUN } from "../src/db/opt-out-sweeps";
import { purgeExpiredEvents } from "../src/db/retention";
import { fingerprintsToFindCount } from "../src/recipient-fingerprint";
import { FlakyD1 } from "./faults";
import { createAccount, keyedHashesDuring, migratedUpTo, registration, sentMessage, storedEvents, type TestAccount } from "./helpers";
import { deleteContactBefore0017, hitNow, optOut, ownLocalPart, pause } from "./opt-out-helpers";

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
    expect(
      (await optOut((await sentMessage(a, { recipients: [{ email: `${ownLocalPart()}@wingtip.example` }], optOutLink: true })).id)).status,
    ).toBe(200);
    expect(await sweeps()).toEqual([]);
    // Emails that lose a recipient after the opt-out are the deletion's to mark: the purge still sweeps nothing.
    await seedRemovedEmails("zidle", 5);
    const recorded = new FlakyD1(env.DB, () => false);
    await purgeExpiredEvents(recorded.asD1(), SECRET, Date.now());
    // The sweep's reads ride in the batch that reads the held opt-outs, which the purge makes anyway.
    const withSweep = recorded.log.filter((c) => c.sql.some((sql) => sql.includes("opt_out_sweeps")));
    expect(withSweep).toHaveLength(1);
    expect(withSweep[0]?.sql.some((sql) => sql.includes("FROM pending_opt_outs"))).toBe(true);
    // Local D1 counts a row read for each look into an empty table (`SELECT * FROM opt_out_sweeps` reads 1): each
    // statement looks into the empty opt_out_sweeps (for the lowest cursor, and the rows there) and stops, reading
    // nothing of removed_recipients, whatever the tracker holds.
    const sweepReads = withSweep[0]?.sql.flatMap((sql, i) => (sql.includes("opt_out_sweeps") ? [withSweep[0]?.rowsRead[i]] : [])) ?? [];
    expect(sweepReads).toHaveLength(2);
    for (const rowsRead of sweepReads) expect(rowsRead).toBeLessThanOrEqual(2);
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
    expect((await optOut((await sentMessage(a, { recipients: [{ email: person }], optOutLink: true })).id)).status).toBe(200);
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
    await seedRemovedEmails("long", 2 * SWEEP_EMAILS_PER_RUN);
    expect((await optOut((await sentMessage(a, { recipients: [{ email: person }], optOutLink: true })).id)).status).toBe(200);
    // A run hashes its share and no more: two an email for an address in ASCII.
    expect((await keyedHashesDuring(() => purgeExpiredEvents(env.DB, SECRET, Date.now()))).hashes).toBe(SWEEP_HASHES_PER_RUN);
    expect((await sweeps()).map((s) => s.after_message_id)).toEqual([`0long-${String(SWEEP_EMAILS_PER_RUN - 1).padStart(5, "0")}`]);
    expect(await hitNow(b, shared.id)).toBe(1);
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    expect(await hitNow(b, shared.id)).toBe(1);
    // The third reaches B's email and the end.
    expect(await purgeUntilSwept()).toBe(1);
    expect(await hitNow(b, shared.id)).toBe(0);
    expect(await storedEvents(shared.id)).toEqual([]);
  });

  it("a new opt-out is swept first, at a run's full share, while an older one's long sweep waits where it stopped", async () => {
    const [a, b] = [await createAccount("Rep A"), await createAccount("Rep B")];
    const [older, fresh] = [`older${ownLocalPart()}@wingtip.example`, `fresh${ownLocalPart()}@wingtip.example`];
    const [sharedOlder, sharedFresh] = [await deletedFromSharedEmail(b, older), await deletedFromSharedEmail(b, fresh)];
    // Its own backlog, three runs' worth, before B's emails in the sweep's order ("0back" < "0long", another test's).
    await seedRemovedEmails("back", 3 * SWEEP_EMAILS_PER_RUN);
    expect((await optOut((await sentMessage(a, { recipients: [{ email: older }], optOutLink: true })).id)).status).toBe(200);
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    const stopped = `0back-${String(SWEEP_EMAILS_PER_RUN - 1).padStart(5, "0")}`;
    expect(await sweeps()).toMatchObject([{ email: older, after_message_id: stopped }]);
    // Emails that lost a recipient since, before its cursor: the new one's sweep is not in step with it.
    await seedRemovedEmails("ahead", 10);
    await pause();
    expect((await optOut((await sentMessage(a, { recipients: [{ email: fresh }], optOutLink: true })).id)).status).toBe(200);
    expect(await hitNow(b, sharedFresh.id)).toBe(1);
    // Each run takes the new one alone, from the start, a run's share (150 emails), and the older one stays put.
    await purgeExpiredEvents(env.DB, SECRET, Date.now());
    expect(await sweeps()).toMatchObject([
      { email: fresh, after_message_id: `0back-${String(SWEEP_EMAILS_PER_RUN - 11).padStart(5, "0")}` },
      { email: older, after_message_id: stopped },
    ]);
    let runs = 1;
    while ((await sweeps()).some((sweep) => sweep.email === fresh)) {
      expect((await sweeps()).find((sweep) => sweep.email === older)?.after_message_id).toBe(stopped);
      await purgeExpiredEvents(env.DB, SECRET, Date.now());
      expect(++runs).toBeLessThanOrEqual(20);
    }
    // Done, and B's email reached, before the older one has gone on.
    expect(await sweeps()).toMatchObject([{ email: older, after_message_id: stopped }]);
    expect(await hitNow(b, sharedFresh.id)).toBe(0);
    expect(await storedEvents(sharedFresh.id)).toEqual([]);
    expect(await hitNow(b, sharedOlder.id)).toBe(1);
    // Then it goes on where it stopped and finishes.
    await purgeUntilSwept();
    expect(await hitNow(b, sharedOlder.id)).toBe(0);
  });

  it("a run hashes no more than its share, however many keyed hashes each waiting address costs", async () => {
    await seedRemovedEmails("cost", 5);
    // Ten addresses with an accent and a punycode domain, each hashed in several spellings: a group's email costs 80.
    const addresses = Array.from({ length: SWEEPS_PER_RUN }, (_, i) => `josé${i}${ownLocalPart()}@xn--mnchen-3ya.de`);
    const perEmail = addresses.reduce((sum, address) => sum + fingerprintsToFindCount(address), 0);
    expect(perEmail).toBeGreaterThan(SWEEP_HASHES_PER_RUN / 4);
    expect(SWEEP_HASHES_PER_RUN % perEmail).not.toBe(0);
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
    // As many whole emails as fit, and not one more: the one that would pass the share waits for the next run.
    expect(hashes).toBe(Math.floor(SWEEP_HASHES_PER_RUN / perEmail) * perEmail);
    // The rest would take a run for every three of the file's emails that lost a recipient: dropped, so that the tests
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
    expect((await optOut((await sentMessage(a, { recipients: [{ email: dotless }], optOutLink: true })).id)).status).toBe(200);
    await purgeUntilSwept();
    expect(await hitNow(b, shared.id)).toBe(1);
    // Then `john.doe@` itself, through another account: swept for, though its mailbox opted out before.
    await pause();
    expect((await optOut((await sentMessage(c, { recipients: [{ email: dotted }], optOutLink: true })).id)).status).toBe(200);
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
    expect((await optOut((await sentMessage(a, { recipients: [{ email: person }], optOutLink: true })).id)).status).toBe(200);
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
    const db = await migratedUpTo("0026_opt_out_sweeps.sql");
    await db.batch([
      db.prepare("INSERT INTO removed_recipients (message_id, fingerprint) VALUES ('m-1', 'f-1'), ('m-2', 'f-2')"),
      db.prepare(
        `INSERT INTO opt_outs (account_id, email, message_id, created_at, mailbox_key) VALUES
           ('acct-a', 'x@wingtip.example', 'm-a', 20, 'x@wingtip.example'), ('acct-b', 'x@wingtip.example', 'm-b', 10, 'x@wingtip.example'),
           ('acct-a', 'y@wingtip.example', 'm-a', 30, 'y@wingtip.example')`,
      ),
    ]);
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const { results } = await db.prepare("SELECT * FROM opt_out_sweeps ORDER BY email").all();
    expect(results).toEqual([
      { email: "x@wingtip.example", created_at: 10, after_message_id: "", through_message_id: "m-2" },
      { email: "y@wingtip.example", created_at: 30, after_message_id: "", through_message_id: "m-2" },
    ]);
  });
});

describe("the sweep's reads", () => {
  it("find the newest opt-out and those at its cursor by index, and the emails after it by a range of removed_recipients' key", async () => {
    const plan = async (sql: string, ...params: number[]) =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>()
      ).results.map((row) => row.detail);
    const [group, emails] = [await plan(SWEEP_GROUP_SQL, 1), await plan(SWEEP_EMAILS_SQL, 1, 1)];
    for (const steps of [group, emails]) {
      // The newest opt-out: the last entry of the time index (a scan that stops at its first row, LIMIT 1).
      expect(steps).toContain("SCAN opt_out_sweeps USING INDEX opt_out_sweeps_by_time");
      // Those at its cursor, newest first, in the index's order: no sort of every opt-out waiting there.
      expect(steps).toContain("SEARCH opt_out_sweeps USING INDEX opt_out_sweeps_by_cursor (after_message_id=?)");
      expect(steps.filter((step) => step.includes("TEMP B-TREE"))).toEqual([]);
    }
    expect(emails).toContain("SEARCH removed_recipients USING PRIMARY KEY (message_id>? AND message_id<?)");
  });
});
