// The search, after an opt-out, of every account's emails the address was deleted from (migration 0026): they keep
// only keyed fingerprints of it, per email, so each costs a few HMACs, and the tracker may hold thousands. The opt-out
// searches its own account's at once (db/opt-outs.ts); the hourly purge sweeps the tracker's, a few at a time.
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
/** Emails that lost a recipient one run reads, at most: as many as the hashes allow for one opt-out in ASCII. */
export const SWEEP_EMAILS_PER_RUN = SWEEP_HASHES_PER_RUN / 2;
/**
 * Opt-outs one run sweeps together, at most (those at the newest one's cursor, newest first): many wait at one cursor
 * after migration 0026 (every opt-out recorded before it). So one email's hashes for all of them, 10 × 26 at most,
 * fit in SWEEP_HASHES_PER_RUN, and a run always searches one. The others wait for a later run.
 */
export const SWEEPS_PER_RUN = 10;

/**
 * The group a run sweeps: the opt-outs at the cursor of the newest one waiting (by its time), newest first, ?1 at
 * most. Newest first so that a recipient's fresh opt-out is searched from the next run on, at a run's full share,
 * whatever waits before it (after migration 0026, the backfill of every earlier opt-out, which may take weeks); those
 * wait meanwhile where they stopped, and go on once no newer one waits. The group's range is from its cursor through
 * the farthest end among it. Message ids are tracking ids, in ASCII: SQLite's order of them (BINARY) and
 * JavaScript's are one.
 */
const SWEEP_GROUP = `SELECT email, created_at, after_message_id, through_message_id FROM opt_out_sweeps
  WHERE after_message_id = (SELECT after_message_id FROM opt_out_sweeps ORDER BY created_at DESC LIMIT 1)
  ORDER BY created_at DESC LIMIT ?1`;

/** The group (?1 opt-outs at most). */
export const SWEEP_GROUP_SQL = `SELECT email, created_at, through_message_id AS through, after_message_id AS after FROM (${SWEEP_GROUP})`;

/** The emails in the group's range (?2 of them at most), each with the fingerprints of the addresses removed from it. */
export const SWEEP_EMAILS_SQL = `WITH sweep_group AS (${SWEEP_GROUP})
  SELECT message_id, json_group_array(fingerprint) AS fingerprints FROM removed_recipients
  WHERE message_id > (SELECT max(after_message_id) FROM sweep_group) AND message_id <= (SELECT max(through_message_id) FROM sweep_group)
  GROUP BY message_id ORDER BY message_id LIMIT ?2`;

/**
 * The statements that read a run's sweep: its group of opt-outs, and the emails that lost a recipient in its range,
 * each with its fingerprints, in key order (removed_recipients' primary key, one range seek). For the purge's batch
 * of opt-out reads (db/opt-outs.ts settleOptOutsInPurge): no query of its own, and no row read while no opt-out waits.
 */
export function sweepReadStatements(db: D1Database): D1PreparedStatement[] {
  return [db.prepare(SWEEP_GROUP_SQL).bind(SWEEPS_PER_RUN), db.prepare(SWEEP_EMAILS_SQL).bind(SWEEPS_PER_RUN, SWEEP_EMAILS_PER_RUN)];
}

interface Sweep {
  email: string;
  created_at: number;
  through: string;
  after: string;
}

interface SweptEmail {
  message_id: string;
  fingerprints: string;
}

/**
 * What a run of the sweep writes, from what sweepReadStatements read (their results, in order): each opt-out's time
 * kept on the emails it finds (keptOptOutStatements: from then on they store no hit of anyone, and those stored since
 * are deleted, as on the account's own emails), and its cursor moved past the emails searched, or its row dropped when
 * it has searched every email that had lost a recipient when it was recorded. Each cursor moves only from where this
 * run read it, so a run at the same time, or an opt-out moving the time earlier (which starts the sweep again),
 * is not undone.
 */
export async function sweepStatements(
  db: D1Database,
  signingSecret: string,
  [sweepRows, emailRows]: readonly (D1Result | undefined)[],
): Promise<D1PreparedStatement[]> {
  const sweeps = (sweepRows?.results ?? []) as Sweep[];
  const first = sweeps[0];
  if (!first) return [];
  // The range read: from the cursor through the farthest end among the group as read.
  const upto = sweeps.reduce((end, sweep) => (sweep.through > end ? sweep.through : end), first.after);
  const cost = new Map<string, number>(sweeps.map((sweep) => [sweep.email, fingerprintsToFindCount(sweep.email)]));
  const emails = (emailRows?.results ?? []) as SweptEmail[];
  const found = new Map<string, string[]>(sweeps.map((sweep) => [sweep.email, []]));
  let hashes = 0;
  let searched = 0;
  for (const email of emails) {
    const searching = sweeps.filter((sweep) => email.message_id <= sweep.through);
    // Before an email whose hashes would pass the run's, but always one: the group's for one email fit (SWEEPS_PER_RUN).
    const emailCost = searching.reduce((sum, sweep) => sum + (cost.get(sweep.email) ?? 0), 0);
    if (searched > 0 && hashes + emailCost > SWEEP_HASHES_PER_RUN) break;
    const fingerprints = new Set<string>(JSON.parse(email.fingerprints));
    for (const sweep of searching) {
      const own = await fingerprintsToFind(signingSecret, email.message_id, sweep.email);
      if (own.some((fingerprint) => fingerprints.has(fingerprint))) found.get(sweep.email)?.push(email.message_id);
    }
    hashes += emailCost;
    searched++;
  }
  // Read to the range's end, every email searched: the cursor goes to the end. Else to the last email searched.
  const reachedEnd = searched === emails.length && emails.length < SWEEP_EMAILS_PER_RUN;
  const cursor = reachedEnd ? upto : (emails[searched - 1]?.message_id ?? first.after);
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
