// The search, after an opt-out, of every account's emails the address was deleted from (migration 0026): they keep
// only keyed fingerprints of it, per email, so each costs a few HMACs, and the tracker may hold thousands. The opt-out
// searches its own account's newest at once, within a bound (db/opt-outs.ts OWN_SEARCH_HASHES); the hourly purge
// sweeps every account's, that one's included, a few at a time, skipping the emails that search recorded (migration
// 0030, ownSearchedStatement). Migration 0026, shipped, says the purge sweeps the newest opt-out first, newest first at
// its cursor: it sweeps the oldest and the newest (sweepStatements), each end found by opt_out_sweeps_by_time and
// those at its cursor read from opt_out_sweeps_by_cursor in its order, oldest or newest first (SWEEP_READ_SQL).
import { fingerprintsToFind, fingerprintsToFindCount } from "../recipient-fingerprint";
import { keptOptOutStatements } from "./signals";

/**
 * Keyed hashes one purge run computes for the sweep, at most: it stops before an email whose hashes would pass this.
 * An address all in ASCII costs two an email (fingerprintsToFind), so 150 emails a run for one opt-out; one with other
 * characters more, 26 at most (fingerprintsToFindCount: removedFingerprints' two, and spellingsToTry's spellings and
 * their mailbox keys, 12 of each at most: 2 spellings × 3 Unicode forms × 2 domains). Measured 2026-12-06 in workerd
 * (a loop in a worker test, not kept: no timed assertion): fingerprintsToFind of an ASCII address for 1,000 emails
 * (2,000 hashes) took 19 ms one after another and 14 ms all at once on this project's 2-core test machine, shared with
 * other work, so about 7 to 10 µs a hash with its await: 2 to 3 ms of the 10 ms of CPU past which the free plan stops
 * an invocation (developers.cloudflare.com/workers/platform/limits/, read 2026-11-30), beside the purge's other work.
 */
export const SWEEP_HASHES_PER_RUN = 300;
/**
 * Emails that lost a recipient one run reads for a group, at most: as many as the hashes allow for one opt-out in ASCII
 * (a group has them all when it is the only one waiting).
 */
export const SWEEP_EMAILS_PER_GROUP = SWEEP_HASHES_PER_RUN / 2;
/**
 * Opt-outs one group holds, at most: many wait at one cursor after migration 0026 (every opt-out recorded before it).
 * So one email's hashes for all of them, 5 × 26 at most, fit in half a run's SWEEP_HASHES_PER_RUN, and each group
 * searches at least one email a run. The others wait for a later run.
 */
export const SWEEPS_PER_GROUP = 5;

/**
 * A group: the opt-outs at the cursor of the oldest (ASC) or the newest (DESC) one waiting, by its time, in that order,
 * ?1 at most. Its range is from its cursor through the farthest end among it. Message ids are tracking ids, in ASCII:
 * SQLite's order of them (BINARY) and JavaScript's are one. Each with the emails its opt-out's request searched
 * (migration 0030) while they were searched for its time, else NULL.
 */
const group = (order: "ASC" | "DESC", besides = "") => `SELECT email, created_at, after_message_id AS after, through_message_id AS through,
    CASE WHEN own_searched_at = created_at THEN own_searched END AS own_searched
  FROM opt_out_sweeps WHERE after_message_id = (SELECT after_message_id FROM opt_out_sweeps ORDER BY created_at ${order} LIMIT 1)${besides}
  ORDER BY created_at ${order} LIMIT ?1`;

/** The emails in a group's range (?2 of them at most), each with the fingerprints of the addresses removed from it. */
const emailsOf = (group: string) => `(SELECT message_id, json_group_array(fingerprint) AS fingerprints FROM removed_recipients
  WHERE message_id > (SELECT max(after) FROM ${group}) AND message_id <= (SELECT max(through) FROM ${group})
  GROUP BY message_id ORDER BY message_id LIMIT ?2)`;

/**
 * A run's read, one statement: the two groups it sweeps (each opt-out a row, `email` set) and the emails in each one's
 * range (each a row, `message_id` set), each row naming its group. The oldest opt-out waiting with those at its cursor,
 * and the newest with those at its cursor that are not in the first (at another cursor, or past the first's
 * SWEEPS_PER_GROUP). Each group is read once (MATERIALIZED, so that the planner never inlines it where it is named
 * again: its emails' range, the other group), with its emails in the same statement, and the emails by a range of
 * removed_recipients' key. Two groups at one cursor (after migration 0026, many wait at the start) read that range twice.
 */
export const SWEEP_READ_SQL = `WITH oldest AS MATERIALIZED (${group("ASC")}),
  newest AS MATERIALIZED (${group("DESC", " AND email NOT IN (SELECT email FROM oldest)")})
  SELECT 'oldest' AS part, email, created_at, after, through, own_searched, NULL AS message_id, NULL AS fingerprints FROM oldest
  UNION ALL SELECT 'newest', email, created_at, after, through, own_searched, NULL, NULL FROM newest
  UNION ALL SELECT 'oldest', NULL, NULL, NULL, NULL, NULL, message_id, fingerprints FROM ${emailsOf("oldest")}
  UNION ALL SELECT 'newest', NULL, NULL, NULL, NULL, NULL, message_id, fingerprints FROM ${emailsOf("newest")}`;

/**
 * The statement that reads a run's sweep (SWEEP_READ_SQL). For the purge's batch of opt-out reads (db/opt-outs.ts
 * settleOptOutsInPurge): no query of its own, and no row of removed_recipients read while no opt-out waits.
 */
export function sweepReadStatement(db: D1Database): D1PreparedStatement {
  return db.prepare(SWEEP_READ_SQL).bind(SWEEPS_PER_GROUP, SWEEP_EMAILS_PER_GROUP);
}

interface Sweep {
  email: string;
  created_at: number;
  through: string;
  after: string;
  /** The emails its opt-out's request searched for its time (a JSON array of message ids), or null. */
  own_searched: string | null;
}

/**
 * Records that the search of `email`'s opt-out at `since` searched the emails `searched`, as it read them (migration
 * 0030): its sweep skips them while it is the sweep of that opt-out (the row's time is `since`). Once the search has
 * ended, after the opt-out is stored (in a later batch, or later in the one that stores it), and only the emails that
 * hold no fingerprint the search did not see: a contact deleted from one of them after the search read it, and before
 * the opt-out was stored, did not see the opt-out (db/contacts.ts keeps one it sees on the email), and left a
 * fingerprint the search missed, so the sweep searches that email again. A contact deleted after this sees the opt-out.
 * So it holds whenever the search read the emails (in the batch that stores the opt-out, or before it: those held for
 * an email and recorded together, those the purge records).
 */
export function ownSearchedStatement(db: D1Database, email: string, since: number, searched: readonly RemovedEmail[]): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE opt_out_sweeps SET own_searched_at = ?2, own_searched = (SELECT json_group_array(s.value ->> '$.message_id') FROM json_each(?1) s
         WHERE NOT EXISTS (SELECT 1 FROM removed_recipients r WHERE r.message_id = s.value ->> '$.message_id'
           AND r.fingerprint NOT IN (SELECT value FROM json_each(s.value ->> '$.fingerprints'))))
       WHERE email = ?3 AND created_at = ?2`,
    )
    .bind(JSON.stringify(searched.map(({ message_id, fingerprints }) => ({ message_id, fingerprints }))), since, email);
}

/** An email that lost a recipient, with the fingerprints of the addresses removed from it (a JSON array). */
export interface RemovedEmail {
  message_id: string;
  fingerprints: string;
}

/** A row of a run's read: an opt-out of a group (`email` set) or an email in its range (`email` null). */
type SweepReadRow = { part: "oldest" | "newest" } & ((Sweep & { email: string }) | (RemovedEmail & { email: null }));

/**
 * What a run of the sweep writes, from what sweepReadStatement read. Fair to every opt-out: the oldest group has half
 * the run's SWEEP_HASHES_PER_RUN, and the newest the rest (a group alone has them all); what either leaves (a group
 * near the end of its range, an email whose hashes did not fit) goes on the other. So a recipient's fresh opt-out
 * is searched for from the next run on, whatever waits before it (after migration 0026, the backfill of every earlier
 * opt-out, which may take weeks), and the oldest one waiting goes on at every run, however many new ones come: newer
 * ones never delay it, and each opt-out waits at most for those older than it (one recorded late at an earlier time
 * joins them), at half a run's hashes or more each. Those between the two wait where they stopped.
 *
 * The bound: the oldest advances at least 15 emails a run (half of SWEEP_HASHES_PER_RUN over SWEEPS_PER_GROUP addresses
 * in ASCII at 2 hashes each), so an opt-out is swept within the sum, over itself and those older than it when it came,
 * of ceil(emails left / 15) runs. This bound holds only for addresses in ASCII: one with other characters costs up to
 * 26 hashes an email, so it and the others of its group advance fewer emails a run. Every run spends its whole share
 * while either group has emails left (but for less than one email's hashes), so the backlog drains while the opt-outs
 * arriving cost fewer hashes an hour than one run's (about 150 email searches an hour for addresses in ASCII); past
 * that rate no order drains it, and each still finishes within that bound. A worker test ("a backlog of opt-outs under
 * a steady arrival") builds one and counts its runs.
 */
export async function sweepStatements(db: D1Database, signingSecret: string, read: D1Result | undefined): Promise<D1PreparedStatement[]> {
  const rows = (read?.results ?? []) as SweepReadRow[];
  const groups = (["oldest", "newest"] as const)
    .map((part) => ({
      sweeps: rows.flatMap((row) => (row.part === part && row.email !== null ? [row] : [])),
      // In key order, as read: a UNION's rows come in no promised order.
      emails: rows
        .flatMap((row) => (row.part === part && row.email === null ? [row] : []))
        .sort((a, b) => (a.message_id < b.message_id ? -1 : 1)),
    }))
    .filter((group) => group.sweeps.length > 0);
  const searches = groups.map(({ sweeps, emails }) => ({
    sweeps,
    emails,
    addresses: sweeps.map((sweep) => ({ ...sweep, skip: new Set<string>(sweep.own_searched ? JSON.parse(sweep.own_searched) : []) })),
    found: new Map<string, string[]>(),
    searched: 0,
  }));
  let hashes = 0;
  /** Searches `group` on from where it stopped, within `maxHashes`. */
  const searchOn = async (group: GroupSearch, maxHashes: number) => {
    const more = await searchRemovedEmails(signingSecret, group.emails.slice(group.searched), group.addresses, maxHashes);
    for (const [email, ids] of more.found) group.found.set(email, [...(group.found.get(email) ?? []), ...ids]);
    group.searched += more.searched;
    hashes += more.hashes;
  };
  for (const [i, group] of searches.entries())
    await searchOn(group, SWEEP_HASHES_PER_RUN - hashes - (i < searches.length - 1 ? SWEEP_HASHES_PER_RUN / 2 : 0));
  // What the shares left (the newest group near its end, or an email whose hashes did not fit in one) goes on the
  // oldest, then the newest: the run spends its whole SWEEP_HASHES_PER_RUN while either has emails left.
  for (const group of searches) await searchOn(group, SWEEP_HASHES_PER_RUN - hashes);
  return searches.flatMap((group) => groupStatements(db, group));
}

/** One group's search in a run: its opt-outs, the emails read in its range, what it found and how many it searched. */
interface GroupSearch {
  sweeps: readonly Sweep[];
  emails: readonly RemovedEmail[];
  addresses: readonly { email: string; through: string; skip: ReadonlySet<string> }[];
  found: Map<string, string[]>;
  searched: number;
}

/**
 * What sweeping one group writes, once searched: each opt-out's time kept on the emails it found (keptOptOutStatements:
 * from then on they store no hit of anyone, and those stored since are deleted, as on the account's own emails), and
 * its cursor moved past the emails searched, or its row dropped when it has searched every email that had lost a
 * recipient when it was recorded. Each cursor moves only from where this run read it, so a run at the same time, or an
 * opt-out moving the time earlier (which starts the sweep again), is not undone.
 */
function groupStatements(db: D1Database, { sweeps, emails, found, searched }: GroupSearch): D1PreparedStatement[] {
  const after = sweeps[0]?.after ?? "";
  // The range read: from the cursor through the farthest end among the group.
  const upto = sweeps.reduce((end, sweep) => (sweep.through > end ? sweep.through : end), after);
  // Read to the range's end, every email searched: the cursor goes to the end. Else to the last email searched.
  const reachedEnd = searched === emails.length && emails.length < SWEEP_EMAILS_PER_GROUP;
  const cursor = reachedEnd ? upto : (emails[searched - 1]?.message_id ?? after);
  const statements: D1PreparedStatement[] = [];
  for (const sweep of sweeps) {
    const ids = found.get(sweep.email) ?? [];
    if (ids.length > 0) statements.push(...keptOptOutStatements(db, sweep.email, sweep.created_at, ids));
    const where = "WHERE email = ? AND after_message_id = ? AND created_at = ?";
    statements.push(
      cursor >= sweep.through
        ? db.prepare(`DELETE FROM opt_out_sweeps ${where}`).bind(sweep.email, sweep.after, sweep.created_at)
        : db.prepare(`UPDATE opt_out_sweeps SET after_message_id = ? ${where}`).bind(cursor, sweep.email, sweep.after, sweep.created_at),
    );
  }
  return statements;
}

/**
 * Searches `emails`, in their order, for the fingerprints of each of `addresses` (fingerprintsToFind: of its
 * spellings), each on the emails up to its `through` when it has one and not on those it is to `skip`, and stops
 * before the first email whose hashes would pass `maxHashes`. The emails found for each address, how many emails it
 * searched (the first ones), and the keyed hashes it computed.
 */
export async function searchRemovedEmails(
  signingSecret: string,
  emails: readonly RemovedEmail[],
  addresses: readonly { email: string; through?: string; skip?: ReadonlySet<string> }[],
  maxHashes: number,
): Promise<{ found: Map<string, string[]>; searched: number; hashes: number }> {
  const cost = new Map(addresses.map((address) => [address.email, fingerprintsToFindCount(address.email)]));
  const found = new Map(addresses.map((address) => [address.email, [] as string[]]));
  let hashes = 0;
  let searched = 0;
  for (const email of emails) {
    const searching = addresses.filter(
      (address) => (address.through === undefined || email.message_id <= address.through) && !address.skip?.has(email.message_id),
    );
    const emailCost = searching.reduce((sum, address) => sum + (cost.get(address.email) ?? 0), 0);
    if (hashes + emailCost > maxHashes) break;
    const fingerprints = new Set<string>(JSON.parse(email.fingerprints));
    for (const address of searching) {
      const own = await fingerprintsToFind(signingSecret, email.message_id, address.email);
      if (own.some((fingerprint) => fingerprints.has(fingerprint))) found.get(address.email)?.push(email.message_id);
    }
    hashes += emailCost;
    searched++;
  }
  return { found, searched, hashes };
}
