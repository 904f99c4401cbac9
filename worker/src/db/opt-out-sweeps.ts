// The search, after an opt-out, of every account's emails the address was deleted from (migration 0026): they keep
// only keyed fingerprints of it, per email, so each costs a few HMACs, and the tracker may hold thousands. The opt-out
// searches its own account's at once (db/opt-outs.ts); the hourly purge sweeps the tracker's, a few at a time.
import { fingerprintsToFind } from "../recipient-fingerprint";
import { keptOptOutStatements } from "./signals";

/**
 * Keyed hashes one purge run computes for the sweep, at most (then it finishes the email it is on). An address all in
 * ASCII costs two an email (fingerprintsToFind), so 150 emails a run for one opt-out; one with other characters more.
 * Measured in workerd (a loop in a worker test, not kept: no timed assertion): fingerprintsToFind of an ASCII address
 * for 1,000 emails took 19 ms one after another and 14 ms all at once on this project's 2-core test machine, shared
 * with other work, so about 7 to 10 µs a hash with its await: 2 to 3 ms of the free plan's 10 ms of CPU a run has,
 * beside the purge's other work.
 */
export const SWEEP_HASHES_PER_RUN = 300;
/** Emails that lost a recipient one run reads, at most: as many as the hashes allow for one opt-out in ASCII. */
export const SWEEP_EMAILS_PER_RUN = SWEEP_HASHES_PER_RUN / 2;
/**
 * Opt-outs one run sweeps together, at most (those at the lowest cursor, by address): a run always finishes at least
 * one email for each, so this bounds a run's hashes when many wait at once (after migration 0026, every opt-out
 * recorded before it), at 10 × 2 for addresses in ASCII. The others at that cursor wait for the next run.
 */
export const SWEEPS_PER_RUN = 10;

/**
 * The sweep's range this run: the lowest cursor (`after`), and how far from it (`upto`): the farthest end among the
 * opt-outs at that cursor, but not past the next cursor up, where the opt-outs there are, so that the ones here, once
 * they reach it, move on with them (a new opt-out catches up with the sweep under way and joins it). With no cursor
 * up, X'' stands for none: a BLOB sorts after any text, so min() gives the end. No row when nothing waits.
 * Message ids are tracking ids, in ASCII: SQLite's order of them (BINARY) and JavaScript's are one.
 */
const SWEEP_RANGE = `sweep_range AS (SELECT here.after AS after,
    min((SELECT max(through_message_id) FROM opt_out_sweeps WHERE after_message_id = here.after),
      coalesce((SELECT min(after_message_id) FROM opt_out_sweeps WHERE after_message_id > here.after), X'')) AS upto
  FROM (SELECT after_message_id AS after FROM opt_out_sweeps ORDER BY after_message_id LIMIT 1) here)`;

/**
 * The statements that read a run's sweep: the opt-outs at the lowest cursor, and the emails that lost a recipient
 * after it, each with its fingerprints, in key order (removed_recipients' primary key, one range seek). For the
 * purge's batch of opt-out reads (db/opt-outs.ts settleOptOutsInPurge): no query of its own, and no row read while no
 * opt-out waits.
 */
/** The opt-outs at the lowest cursor (?1 of them at most, by address), with the range they sweep this run. */
export const SWEEP_GROUP_SQL = `WITH ${SWEEP_RANGE}
  SELECT email, created_at, through_message_id AS through, after_message_id AS after, (SELECT upto FROM sweep_range) AS upto
  FROM opt_out_sweeps WHERE after_message_id = (SELECT after FROM sweep_range) ORDER BY email LIMIT ?1`;

/** The emails in the range (?1 of them at most), each with the fingerprints of the addresses removed from it, in key order. */
export const SWEEP_EMAILS_SQL = `WITH ${SWEEP_RANGE}
  SELECT message_id, json_group_array(fingerprint) AS fingerprints FROM removed_recipients
  WHERE message_id > (SELECT after FROM sweep_range) AND message_id <= (SELECT upto FROM sweep_range)
  GROUP BY message_id ORDER BY message_id LIMIT ?1`;

export function sweepReadStatements(db: D1Database): D1PreparedStatement[] {
  return [db.prepare(SWEEP_GROUP_SQL).bind(SWEEPS_PER_RUN), db.prepare(SWEEP_EMAILS_SQL).bind(SWEEP_EMAILS_PER_RUN)];
}

interface Sweep {
  email: string;
  created_at: number;
  through: string;
  after: string;
  upto: string;
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
  const emails = (emailRows?.results ?? []) as SweptEmail[];
  const found = new Map<string, string[]>(sweeps.map((sweep) => [sweep.email, []]));
  let hashes = 0;
  let searched = 0;
  for (const email of emails) {
    if (hashes >= SWEEP_HASHES_PER_RUN) break;
    const fingerprints = new Set<string>(JSON.parse(email.fingerprints));
    for (const sweep of sweeps) {
      if (email.message_id > sweep.through) continue;
      const own = await fingerprintsToFind(signingSecret, email.message_id, sweep.email);
      hashes += own.length;
      if (own.some((fingerprint) => fingerprints.has(fingerprint))) found.get(sweep.email)?.push(email.message_id);
    }
    searched++;
  }
  // Read to the range's end, every email searched: the cursor goes to the end (to the next cursor up, where it joins
  // the opt-outs there). Else to the last email searched.
  const reachedEnd = searched === emails.length && emails.length < SWEEP_EMAILS_PER_RUN;
  const cursor = reachedEnd ? first.upto : (emails[searched - 1]?.message_id ?? first.after);
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
