// The people list's stored scores (table contact_scores, migration 0010): a page reads rows in proportion to the
// page, not to the account nor to its contacts' emails. Every contact's score decays by the same factor as time
// passes (docs/engagement.md), so a key made at any time, log2(score at t) + (t − epoch) / half-life, orders contacts
// as their scores at any later time do, and gives the score at read time (scoreAt): the decay applied at read time.
//
// A stored row is brought up to date after it is marked dirty: by triggers in the migrations (recipients added,
// removed or changed, replies, a label that starts or stops counting, an email's changes that a contact's row shows),
// by the retention purge (retention.ts, which also clears what the row derived from the activity it deletes:
// forgetPurgedActivitySql), or by a listing or a contact's page that finds new events on one of its
// emails since contact_scores_state.events_seq (read by seq through events_by_account, so a hit writes nothing
// here). A listing rescores a bounded share of the marked rows (RESCORED_PER_REQUEST); a marked row it leaves is
// computed from its emails when it is shown.
import { foldAddress, isAscii } from "../../../shared/email";
import { ENGAGEMENT_HALF_LIFE_MS, roundedScore } from "../../../shared/engagement";
import { type ContactAggregate, punycodeLabels, readableFirst, scoredContacts } from "./contacts";
import { ACCOUNT_HAS_OUTSIDE_ASCII_SQL, OUTSIDE_ASCII_SQL, outsideAsciiSql } from "./spellings";
import { chunked, MAX_IN_LIST, numberedPlaceholders } from "./sql";

/** Any fixed time works; a recent one keeps the keys small. */
const KEY_EPOCH_MS = Date.UTC(2026, 0, 1);
/** The key of a contact with no score: below every real key. */
const NO_SCORE_KEY = -1e300;
/** activity_key of a contact with no counted activity (migration 0010). */
const NO_ACTIVITY_KEY = -1;

/**
 * The SET clause that takes from stored rows what they derived from activity the retention purge deletes (retention.ts),
 * at the purge rather than when a listing next rescores them; `cutoffSql` is the row's account's retention cutoff (ms).
 * The score sums every counted activity, so it goes (NO_SCORE_KEY): until rescored the row ranks last by score, but a
 * listing rescores marked rows before it reads a page (refreshContactScores), and a marked row it leaves is computed
 * from its emails, a minScore filter letting it through (contactPage). The latest activity goes when it is older than
 * the cutoff: every activity of the contact then expires, and NO_ACTIVITY_KEY is what rescoring gives; a later one is
 * still the contact's latest, and keeps its place in the list by activity. The row is marked for rescoring from what
 * is left.
 */
export function forgetPurgedActivitySql(cutoffSql: string): string {
  return `dirty = dirty + 1, score_key = ${NO_SCORE_KEY},
    activity_key = CASE WHEN activity_key < ${cutoffSql} THEN ${NO_ACTIVITY_KEY} ELSE activity_key END`;
}

/**
 * Steps of a key per unit (a doubling of the score). The same score computed at two times, or with its activities
 * summed in another order, gives keys a few units in the last place apart; on a grid of 2^-26 they are equal, so
 * contacts of equal score (the recipients of one shared email) tie and are ordered by address, whenever each was
 * scored. A step moves a score by at most 5 in 10^9 of itself.
 */
const KEY_STEPS = 2 ** 26;

/** The ranking key of a score (before rounding) computed at `now`. */
export function scoreKey(exactScore: number, now: number): number {
  if (exactScore <= 0) return NO_SCORE_KEY;
  return Math.round((Math.log2(exactScore) + (now - KEY_EPOCH_MS) / ENGAGEMENT_HALF_LIFE_MS) * KEY_STEPS) / KEY_STEPS;
}

/**
 * The score (before rounding) at `now` of a stored key: the decay applied at read time. Every activity decays by the
 * same factor (docs/engagement.md), so this is the score computed from the events at `now`, but for the key's grid
 * (KEY_STEPS) and the bits that log2 and back lose: 7 significant digits drop those, so a score of exactly 0.125
 * still rounds as computed.
 */
export function scoreAt(key: number, now: number): number {
  return key <= NO_SCORE_KEY ? 0 : Number((2 ** (key - (now - KEY_EPOCH_MS) / ENGAGEMENT_HALF_LIFE_MS)).toPrecision(7));
}

/** A contact_scores row as the people list and a contact's page read it. */
interface StoredContactRow {
  email: string;
  dirty: number;
  name: string | null;
  sent: number;
  last_sent_at: number | null;
  activity_key: number;
  campaigns: string;
  score_key: number;
}

const STORED_CONTACT_COLUMNS = "email, dirty, name, sent, last_sent_at, activity_key, campaigns, score_key";

/** The contact as its stored row has it at `now`: exact when the row is not marked (dirty = 0). */
function storedContact(row: StoredContactRow, now: number): ContactAggregate {
  const exactScore = scoreAt(row.score_key, now);
  return {
    email: row.email,
    name: row.name,
    sent: row.sent,
    lastSentAt: row.last_sent_at,
    lastActivityAt: row.activity_key === NO_ACTIVITY_KEY ? null : row.activity_key,
    campaigns: new Set(JSON.parse(row.campaigns) as string[]),
    score: roundedScore(exactScore),
    exactScore,
    spellings: [row.email],
  };
}

/**
 * These contacts computed from their emails and events at `now`, by each address asked: a person asked in two
 * spellings is one contact under both.
 */
async function computedContacts(db: D1Database, accountId: string, now: number, emails: readonly string[]) {
  const contacts = await scoredContacts(db, accountId, now, emails);
  // By the spellings each contact was computed from, nearly always the ones asked; by folding both sides (foldAddress)
  // only for an address asked that is none of them: two folds a contact, 720 for a listing's share, otherwise.
  const bySpelling = new Map(contacts.flatMap((contact) => contact.spellings.map((spelling) => [spelling, contact] as const)));
  let byFolded: Map<string, ContactAggregate> | undefined;
  const computed = new Map<string, ContactAggregate>();
  for (const email of emails) {
    let contact = bySpelling.get(email);
    if (!contact) {
      byFolded ??= new Map(contacts.map((c) => [foldAddress(c.email), c]));
      contact = byFolded.get(foldAddress(email));
    }
    if (contact) computed.set(email, contact);
  }
  return computed;
}

/**
 * SQL: the campaigns of JSON array ?8 as a stored row lists them, in SQLite's order of text, as an email's deletion
 * lists what it leaves (messages.ts LIVE_CAMPAIGNS_SQL): the same campaigns are the same text, so a row whose
 * campaigns changed only in the order of the emails that gave them keeps its entries of contact_campaigns (migration
 * 0034's trigger writes them all again, 3 rows a campaign, when the text changes). In the order of its emails, an
 * email's deletion that left four people their two campaigns wrote 16 rows, not 4 (worker tests in workerd, 2026-12-07).
 * An aggregate's ORDER BY needs SQLite 3.44 or later (sqlite.org/lang_aggfunc.html): workerd of 2026-07-24, the worker
 * tests' and `wrangler dev`'s D1, bundles SQLite 3.53.4 (the version string in its binary, read 2026-12-07); which
 * SQLite remote D1 runs is not published (searched 2026-12-07), so `npm run deploy` asks its database to run one before
 * any migration and stops on an older SQLite (scripts/deploy.mjs refuseOldSqlite), as the relabelling's SPAN_INPUTS_SQL
 * (events.ts) needs it too. No migration holds one.
 */
const STORED_CAMPAIGNS_SQL = "(SELECT json_group_array(value ORDER BY value) FROM json_each(?8))";

/**
 * A contact_scores row written: ?1 the account, ?2 the spelling, ?3 `shown_as` (NULL for the row that shows the
 * person), ?4 to ?9 its values, ?10 its `dirty` as read before computing (a mark made since stays).
 */
const STORED_ROW_SQL = `INSERT INTO contact_scores (account_id, email, dirty, shown_as, name, sent, last_sent_at, activity_key, campaigns, score_key)
  VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ${STORED_CAMPAIGNS_SQL}, ?9)
  ON CONFLICT (account_id, email) DO UPDATE SET
    dirty = CASE WHEN contact_scores.dirty <= ?10 THEN 0 ELSE contact_scores.dirty END, shown_as = ?3,
    name = ?4, sent = ?5, last_sent_at = ?6, activity_key = ?7, campaigns = excluded.campaigns, score_key = ?9`;

/**
 * A hidden row's values (STORED_ROW_SQL ?4 to ?9): shown by the row of `shown_as`, it holds nothing of its own to show.
 * Shown again when that row is deleted, it takes the person's score and activity keys, marked (migration 0028).
 */
const HIDDEN_ROW_VALUES = [null, 0, null, NO_ACTIVITY_KEY, "[]", NO_SCORE_KEY] as const;

/**
 * Recomputes these contacts' stored rows: `dirtyAsRead` (email → dirty as read before computing) clears only those.
 * A person stored in several spellings (foldAddress) is stored on the row of the first (ContactAggregate.spellings),
 * the others' rows hidden behind it (`shown_as`, migration 0027), whichever of them was asked. Returns the contacts
 * as computed, by each address asked (a contact with no email left has none).
 */
async function storeContacts(
  db: D1Database,
  accountId: string,
  now: number,
  dirtyAsRead: Map<string, number>,
): Promise<Map<string, ContactAggregate>> {
  const computed = await computedContacts(db, accountId, now, [...dirtyAsRead.keys()]);
  const seen = (email: string) => dirtyAsRead.get(email) ?? 0;
  const statements: D1PreparedStatement[] = [];
  for (const contact of new Set(computed.values())) {
    statements.push(
      db
        .prepare(STORED_ROW_SQL)
        .bind(
          accountId,
          contact.email,
          null,
          contact.name,
          contact.sent,
          contact.lastSentAt,
          contact.lastActivityAt ?? NO_ACTIVITY_KEY,
          JSON.stringify([...contact.campaigns]),
          scoreKey(contact.exactScore, now),
          seen(contact.email),
        ),
      ...contact.spellings
        .slice(1)
        .map((spelling) => db.prepare(STORED_ROW_SQL).bind(accountId, spelling, contact.email, ...HIDDEN_ROW_VALUES, seen(spelling))),
    );
  }
  // A spelling on no email left is gone from the list (deleted messages, a deleted contact). After the rows above, so
  // that a shown row deleted (migration 0028's trigger shows its hidden rows again) hides none still hidden.
  for (const email of dirtyAsRead.keys())
    if (!computed.get(email)?.spellings.includes(email))
      statements.push(
        db.prepare("DELETE FROM contact_scores WHERE account_id = ? AND email = ? AND dirty <= ?").bind(accountId, email, seen(email)),
      );
  for (const part of chunked(statements)) await db.batch(part);
  return computed;
}

/**
 * Contacts rescored by one listing request, at most. An account's first listing, or one after a busy week, may find
 * thousands of contacts to rescore, and each chunk of MAX_IN_LIST takes two D1 queries (scoredContacts' statement and
 * the store's batch): all at once, they went past FREE_PLAN_D1_QUERIES (sql.ts) from about 2,000 contacts. So the
 * work is spread over the listing's requests, four chunks each, and the answer says how many contacts are still
 * waiting (`pendingContacts`); the dashboard asks again until none is.
 */
export const RESCORED_PER_REQUEST = 4 * MAX_IN_LIST;

/**
 * Marks what changed since the last refresh (every contact the first time) in one statement whatever its size: the
 * contacts of every email with events after contact_scores_state.events_seq.
 */
async function markChangedContacts(db: D1Database, accountId: string): Promise<void> {
  const [state, latest] = await db.batch([
    db.prepare("SELECT events_seq FROM contact_scores_state WHERE account_id = ?").bind(accountId),
    db.prepare("SELECT coalesce(max(seq), 0) AS seq FROM events WHERE account_id = ?").bind(accountId),
  ]);
  const since = (state?.results[0] as { events_seq: number } | undefined)?.events_seq;
  const upTo = (latest?.results[0] as { seq: number } | undefined)?.seq ?? 0;
  if (since !== undefined && upTo <= since) return;
  const marks =
    since === undefined
      ? // Nothing stored yet: a row for every contact of the account, and every row (a contact gone since has one) marked.
        [
          db
            .prepare(
              `INSERT INTO contact_scores (account_id, email) SELECT DISTINCT account_id, email FROM message_recipients
               WHERE account_id = ?1 ON CONFLICT (account_id, email) DO NOTHING`,
            )
            .bind(accountId),
          db.prepare("UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ?1").bind(accountId),
        ]
      : // The recipients of every email with events after the last refresh (events_by_account, from `since` on).
        [
          db
            .prepare(
              `INSERT INTO contact_scores (account_id, email)
               SELECT DISTINCT ?1, r.email FROM message_recipients r
               WHERE r.message_id IN (SELECT DISTINCT message_id FROM events WHERE account_id = ?1 AND seq > ?2 AND seq <= ?3)
               ON CONFLICT (account_id, email) DO UPDATE SET dirty = dirty + 1`,
            )
            .bind(accountId, since, upTo),
        ];
  // One transaction: the events up to `upTo` are marked exactly when the state says they are.
  await db.batch([
    ...marks,
    db
      .prepare(
        `INSERT INTO contact_scores_state (account_id, events_seq) VALUES (?1, ?2)
         ON CONFLICT (account_id) DO UPDATE SET events_seq = max(events_seq, ?2)`,
      )
      .bind(accountId, upTo),
  ]);
}

/**
 * Characters outside ASCII that foldAddress maps into it in a local part: NFC maps U+037E GREEK QUESTION MARK to `;`
 * and U+1FEF GREEK VARIA to `` ` ``, and lower-casing U+212A KELVIN SIGN to `k`. No other code point (a test folds every
 * one, worker/test/spellings.test.ts): the local part is only lower-cased and put in NFC. The spaces outside ASCII that
 * trimming drops go only at an address's ends, where no stored address has one (normalizeEmail trims it).
 */
export const FOLDED_INTO_ASCII = ["\u037e", "\u1fef", "\u212a"] as const;

/** SQL: the stored address's local part without FOLDED_INTO_ASCII's characters. */
const LOCAL_PART_SQL = FOLDED_INTO_ASCII.reduce(
  (sql, char) => `replace(${sql}, char(${char.codePointAt(0)}), '')`,
  "substr(email, 1, instr(email, '@') - 1)",
);

/**
 * SQL: a stored address outside ASCII that may fold to one all in ASCII (foldAddress): its local part is in ASCII
 * but for FOLDED_INTO_ASCII, so its domain is outside ASCII (`joe@ａｃｍｅ.example`, `joe@münchen.de`), or the local part
 * holds one of those. Any other address outside ASCII has a local part outside ASCII, and so has its folded form.
 */
const MAY_FOLD_TO_ASCII_SQL = `${OUTSIDE_ASCII_SQL} AND NOT (${outsideAsciiSql(LOCAL_PART_SQL)})`;

/**
 * Rows left marked that a listing folds (MarkedLeft.asciiFolds), at most: each fold of a domain outside ASCII is a
 * WHATWG URL parse. Unbounded, the list of an account with thousands of them marked (an account writing to domains
 * outside ASCII, after migration 0027 marked its rows) came back as one cell of every address and was folded at every
 * request. Measured 2026-12-07 in workerd (worker tests, not kept: no timed assertion) on this project's 2-core
 * machine, shared (load average about 5): 200 folds, each of a domain outside ASCII, took 0.5 to 0.9 ms at the fastest
 * of 8 runs of 50 (2.5 to 4.5 µs a fold); a bound of 1,000 would take up to 4.5 ms of the free plan's 10 ms of CPU
 * (developers.cloudflare.com/workers/platform/limits/, read 2026-11-30).
 */
export const ASCII_FOLDS_PER_REQUEST = 200;

/**
 * The refresh's read (refreshContactScores), two statements of one batch, each reading the marked rows by
 * contact_scores_dirty in the order they were made (rowid: the index's order for one account, no sort): ?1 the
 * account, ?2 RESCORED_PER_REQUEST. The first gives the rows rescored now; the second how many are marked in all and,
 * as a JSON array, the first ASCII_FOLDS_PER_REQUEST of those after them that may fold to an address all in ASCII
 * (MAY_FOLD_TO_ASCII_SQL). As many rows read as one statement that counted the marked rows beside those rescored in one
 * window (local D1, 2026-12-07: 1,480 to 1,482 rows read for 560 marked, as that one did).
 */
export const REFRESH_READ_SQL = [
  "SELECT email, dirty FROM contact_scores INDEXED BY contact_scores_dirty WHERE account_id = ?1 AND dirty > 0 ORDER BY rowid LIMIT ?2",
  `SELECT count(*) AS marked, (SELECT json_group_array(email) FROM (SELECT email FROM (SELECT email, rowid FROM contact_scores
     INDEXED BY contact_scores_dirty WHERE account_id = ?1 AND dirty > 0 ORDER BY rowid LIMIT -1 OFFSET ?2)
     WHERE ${MAY_FOLD_TO_ASCII_SQL} ORDER BY rowid LIMIT ${ASCII_FOLDS_PER_REQUEST})) AS outside
   FROM contact_scores WHERE account_id = ?1 AND dirty > 0`,
] as const;

/** What a listing's refresh left marked for later requests (refreshContactScores), which its page reads around. */
export interface MarkedLeft {
  /** How many marked rows are left: the answer's `pendingContacts`. */
  count: number;
  /**
   * The addresses all in ASCII without a punycode label that rows left marked outside ASCII fold to: the spelling
   * their person is shown as when the account wrote it (readableFirst puts it first), as `joe@acme.example` for
   * `joe@ａｃｍｅ.example`, whose domain IDNA maps from full-width letters (foldAddress). Such a row is a spelling of the
   * person that MAY_BE_HIDDEN_SPELLING_SQL cannot tell from any other row all in ASCII. None in an account all in
   * ASCII, and none for a domain written outside ASCII (its folded form has a punycode label). Of the first
   * ASCII_FOLDS_PER_REQUEST rows left that may fold so, in the order they are rescored: a person whose spelling waits
   * past them is shown, by their row all in ASCII, as stored, without that spelling's changes (listed once, but maybe
   * left out of a campaign's or a minScore's listing), until a later request of the listing rescores it or brings it
   * within them (the dashboard asks again while `pendingContacts` is above 0).
   */
  asciiFolds: string[];
}

/**
 * Brings the account's stored rows closer to date: marks what changed (markChangedContacts), then rescores up to
 * RESCORED_PER_REQUEST of the marked contacts. Returns what it left marked for later requests.
 */
export async function refreshContactScores(db: D1Database, accountId: string, now: number): Promise<MarkedLeft> {
  await markChangedContacts(db, accountId);
  const [rescored, left] = await db.batch(REFRESH_READ_SQL.map((sql) => db.prepare(sql).bind(accountId, RESCORED_PER_REQUEST)));
  const rows = (rescored?.results ?? []) as { email: string; dirty: number }[];
  const { marked, outside } = (left?.results[0] ?? { marked: 0, outside: "[]" }) as { marked: number; outside: string };
  await storeContacts(db, accountId, now, new Map(rows.map((row) => [row.email, row.dirty])));
  const asciiFolds = new Set<string>();
  for (const email of JSON.parse(outside) as string[]) {
    const folded = foldAddress(email);
    if (isAscii(folded) && punycodeLabels(folded) === 0) asciiFolds.add(folded);
  }
  return { count: marked - rows.length, asciiFolds: [...asciiFolds] };
}

/**
 * One contact at `now`, for its own page, or null when the account never sent to it (or deleted every email to it):
 * the stored row once the account's changes are marked, or, when a row of the person is marked or missing, computed
 * from its emails and stored. So a contact of a year of mail reads one row, not a few rows per email, until it changes.
 * `spellings` are those the account stored of the address (db/spellings.ts storedSpellings): the person's rows are
 * read in all of them, so a page asked in any spelling shows the one person, and a mark on any of its rows counts.
 */
export async function contactAt(
  db: D1Database,
  accountId: string,
  spellings: readonly string[],
  now: number,
): Promise<ContactAggregate | null> {
  await markChangedContacts(db, accountId);
  // The rows of these spellings, and the rows hidden behind them (contact_scores_hidden: none for an address in ASCII),
  // some of which may be of spellings on no email any more: marked, they are what changed the person.
  const list = numberedPlaceholders(spellings.length, 2);
  const { results } = await db
    .prepare(
      `SELECT ${STORED_CONTACT_COLUMNS}, shown_as FROM contact_scores WHERE account_id = ?1 AND email IN (${list})
       UNION ALL SELECT ${STORED_CONTACT_COLUMNS}, shown_as FROM contact_scores INDEXED BY contact_scores_hidden
         WHERE account_id = ?1 AND shown_as IS NOT NULL AND shown_as IN (${list}) AND email NOT IN (${list})`,
    )
    .bind(accountId, ...spellings)
    .all<StoredContactRow & { shown_as: string | null }>();
  const shown = results.filter((row) => row.shown_as === null);
  const [row] = shown;
  // One shown row, every other row of the person hidden behind it, and none marked: the row is the person.
  if (row && shown.length === 1 && results.every((r) => r.dirty === 0 && (r.shown_as ?? row.email) === row.email))
    return { ...storedContact(row, now), spellings: results.map((r) => r.email).sort(readableFirst) };
  const [asked = ""] = spellings;
  const dirtyAsRead = new Map<string, number>([[asked, 0], ...results.map((r) => [r.email, r.dirty] as const)]);
  return (await storeContacts(db, accountId, now, dirtyAsRead)).get(asked) ?? null;
}

/**
 * Rows of the index a page of a campaign's listing while rows are left marked, or of a minScore's then or by latest
 * activity, reads at most per row it asks for: each row of a person without the campaign, or under minScore, is read
 * and left out (but for those computed), so without a bound a page read on to the account's last row. The page ends
 * where its window does, and the next starts there.
 */
export const ROWS_READ_PER_ROW_ASKED = 4;

export interface ContactPageQuery {
  sort: "score" | "lastActivity";
  campaign?: string;
  minScore?: number;
  /** [key, email] of the last contact of the previous page. */
  after?: readonly [number, string];
  limit: number;
}

/**
 * SQL: whether a stored row's address may be a spelling that another one of its person is shown as (readableFirst):
 * one outside ASCII, or with a punycode label in its domain. An address all in ASCII without one is first among its
 * person's spellings, the only row of nearly every person.
 */
const MAY_BE_HIDDEN_SPELLING_SQL = `(${OUTSIDE_ASCII_SQL} OR '.' || substr(email, instr(email, '@') + 1) LIKE '%.xn--%')`;

/**
 * One page of the account's contacts, best first (score, or latest activity), with their scores at `now`, and where the
 * next page starts (the key and address of the page's last row read, null when no contact follows). Reads the stored
 * rows of the page (and of what a filter skips): a row the listing's refresh left marked (more changed than one request
 * rescores: `left`, refreshContactScores) is computed from its emails instead, exactly, as it is ranked, and shown only
 * if it still passes the filters. While rows are left marked, an unmarked row whose person another of its rows may have
 * changed is computed too: one that may be a spelling another of its person's rows shows (MAY_BE_HIDDEN_SPELLING_SQL;
 * none in an account all in ASCII), whose person may since have gained that row (a first email in `jörg@münchen.de` to
 * a person stored as `jörg@xn--mnchen-3ya.de`), and is then listed there, once, whatever page each row is on; and one
 * that may show a spelling left marked (a new email to a spelling not shown): by that rule too when the spelling shown
 * is outside ASCII or in punycode, and by the address all in ASCII a marked row folds to (`left.asciiFolds`) when it is
 * that address. A campaign's listing, and a minScore's while rows are left marked, read every row they compute whatever
 * campaigns and score the row was stored with: its person may have gained the campaign since (a new email of it, in any
 * spelling) or a score over minScore (a new open), and is kept if their emails give it; a campaign's, of a marked row
 * only one whose person may have the campaign (markedMayHaveCampaignSql), another left out uncomputed. So a minScore page
 * reads past the rows over minScore to the rows computed under it while a listing is behind, one sorted by latest
 * activity past the rows under minScore (no index holds the rows over it in activity order), and a campaign's page
 * while rows are left marked past the people without it: a window of ROWS_READ_PER_ROW_ASKED rows per row asked, past which the page
 * ends, short or empty, and the next starts (unbounded, a minScore page of 20 read 302 rows of an account of 302
 * contacts, one by latest activity 196 of 300, a campaign's page 301 of 300; windowed, at most 85, 85 and 112: worker
 * tests in workerd, 2026-12-07). With no rows left marked, a campaign's page reads its people alone (contact_campaigns,
 * migration 0034), two rows each (theirs there, and their stored row), and the rows marked since the refresh, computed:
 * 43 to 45 rows for a page of 20 of 290 people among 300, where its window read 84 or 85; and a campaign of few people
 * among many gives full pages (the same tests, 2026-12-07). A page starts right after the previous page's last row,
 * within a run of equal keys too (every contact never opened has the same score and the same latest activity).
 */
export async function contactPage(
  db: D1Database,
  accountId: string,
  now: number,
  query: ContactPageQuery,
  left: MarkedLeft,
): Promise<{ contacts: ContactAggregate[]; next: readonly [number, string] | null }> {
  const { sql, binds, window } = contactPageStatement(accountId, now, query, left);
  const { results: rowsRead } = await db
    .prepare(sql)
    .bind(...binds)
    .all<StoredContactRow & { key: number; computed: 0 | 1; listed?: 0 | 1 }>();
  const results = rowsRead.filter((row) => row.listed !== 0);
  // The window's last row, when the window was read to its end: the next page starts after it unless the page fills first.
  const windowEnd = rowsRead.length === window ? rowsRead.at(-1) : undefined;
  const page = results.slice(0, query.limit);
  const computed = await computedContacts(
    db,
    accountId,
    now,
    page.filter((row) => row.computed).map((row) => row.email),
  );
  const passes = (contact: ContactAggregate) =>
    (query.campaign === undefined || contact.campaigns.has(query.campaign)) &&
    (query.minScore === undefined || contact.score >= query.minScore);
  let storedUnderMinScore = false;
  const contacts = page.flatMap((row) => {
    if (!row.computed) {
      const contact = storedContact(row, now);
      if (passes(contact)) return [contact];
      if (query.minScore !== undefined && contact.score < query.minScore) storedUnderMinScore = true;
      return [];
    }
    // A row whose person is now shown by another spelling's row (one stored since and read first, readableFirst, or
    // this one's emails gone) is left to that row: the person is listed once. One computed is shown only if it still
    // has the campaign and the score asked: what it was stored with may have changed.
    const contact = computed.get(row.email);
    return contact && contact.email === row.email && passes(contact) ? [contact] : [];
  });
  // Sorted by score, past a stored row under minScore every later one is under it too (the keys only go down), but for
  // rows computed while rows are left marked, which pass whatever their key; a computed row's key is what it was stored
  // with, which says nothing of the rows after it. Sorted by latest activity, a row under minScore says nothing of the
  // next either. The next page starts after the last row read, shown or not, so a page whose every row was left out
  // does not end the list.
  const last = results.length > query.limit ? page[page.length - 1] : windowEnd;
  const endsList = query.sort === "score" && storedUnderMinScore && left.count === 0;
  return { contacts, next: !endsList && last ? [last.key, last.email] : null };
}

/**
 * SQL: whether the person of a marked row (address `emailSql`) may have campaign `campaignSql` whatever their stored
 * row says: an email of it to that address, or, in an account with a recipient outside ASCII, any (an email of it to
 * another spelling of the person, stored in a row of its own, checked here as no spelling of this row's). A seek of the
 * address's emails (message_recipients_by_email) and of each one's message until one is of the campaign, where the
 * page computed the row from every email and event of the person, and then left it out in a place of the page: a page
 * of 20 of a campaign of 25 people among 300, read just after an email to 50 others marked their rows, showed 10 of
 * them and read 983 rows; checked so, 20 and 293 (worker tests in workerd, 2026-12-07). The marked rows are still
 * every one of the account: none of its indexes holds them by campaign or in the page's order.
 */
function markedMayHaveCampaignSql(emailSql: string, campaignSql: string): string {
  return `(${ACCOUNT_HAS_OUTSIDE_ASCII_SQL}
    OR EXISTS (SELECT 1 FROM message_recipients r JOIN messages m ON m.id = r.message_id
      WHERE r.account_id = ?1 AND r.email = ${emailSql} AND m.campaign = ${campaignSql} AND m.deleted_at IS NULL))`;
}

/**
 * The statement that reads a page's rows (contactPage), its parameters, and the window of the index it reads (for a
 * campaign's page, or a minScore's while rows are left marked): apart, for its plan to be pinned
 * (list-query-plans.test.ts).
 */
export function contactPageStatement(
  accountId: string,
  now: number,
  query: ContactPageQuery,
  left: MarkedLeft,
): { sql: string; binds: (string | number)[]; window: number | undefined } {
  const column = query.sort === "score" ? "score_key" : "activity_key";
  const binds: (string | number)[] = [accountId];
  const bind = (value: string | number) => `?${binds.push(value)}`;
  // The rows the page computes from their emails rather than shows as stored.
  const mayShowMarked =
    left.asciiFolds.length > 0 ? [`email IN (SELECT value FROM json_each(${bind(JSON.stringify(left.asciiFolds))}))`] : [];
  const orComputedSpellings = (marked: string) =>
    left.count > 0 ? `(${[marked, MAY_BE_HIDDEN_SPELLING_SQL, ...mayShowMarked].join(" OR ")})` : marked;
  const computedSql = orComputedSpellings("dirty > 0");
  // A campaign's page computes a marked row only when its person may have the campaign (markedMayHaveCampaignSql): one
  // that cannot is left out uncomputed (read, with a seek of its emails), not computed and left out in a place of the
  // page.
  const campaign = query.campaign === undefined ? "" : bind(query.campaign);
  const markedInCampaign = (row: string) => `${row}.dirty > 0 AND ${markedMayHaveCampaignSql(`${row}.email`, campaign)}`;
  // Where the page's rows are read (`sources`), each part's columns named after `p`: the index of the sort, or, for a
  // campaign's page with no rows left marked, the campaign's people (contact_campaigns, migration 0034) beside the rows
  // marked since the refresh (none but those a write marked meanwhile), which are computed: a marked row's person may
  // have gained the campaign (a new email of it) since its row was stored. While rows are left marked, a campaign's
  // page reads the sort's index in a window (below): those rows' people may have gained it too, and may be many.
  const stored = `SELECT ${STORED_CONTACT_COLUMNS}, shown_as, ${column} AS key, ${computedSql} AS computed FROM contact_scores`;
  const byCampaign = query.campaign !== undefined && left.count === 0;
  const sources: { p: string; read: string; where: string[] }[] = byCampaign
    ? [
        {
          p: "c.",
          // The address of c, in whose order the rows come (s's is the same: the join's).
          read: `SELECT ${STORED_CONTACT_COLUMNS.replace(/\w+/g, (name) => (name === "email" ? "c.email" : `s.${name}`))}, s.shown_as, c.${column} AS key, 0 AS computed
            FROM contact_campaigns c${query.sort === "score" ? "" : " INDEXED BY contact_campaigns_by_activity"}
            JOIN contact_scores s ON s.account_id = c.account_id AND s.email = c.email`,
          where: [`c.campaign = ${campaign}`, "s.dirty = 0"],
        },
        { p: "", read: `${stored} INDEXED BY contact_scores_dirty`, where: [markedInCampaign("contact_scores")] },
      ]
    : [{ p: "", read: `${stored} INDEXED BY contact_scores_by_${query.sort === "score" ? "score" : "activity"}`, where: [] }];
  // The index's range (`range`), and what a row read in it must meet to be on the page (`filters`): a person's other
  // spellings' rows are hidden behind the one that shows it (storeContacts).
  const range: ((p: string) => string)[] = [];
  const filters = ["shown_as IS NULL"];
  // Rounded to 2 decimals, a score shows as at least minScore from minScore − 0.005 on; the exact check is below. A row
  // computed passes whatever its stored key while rows are left marked: its person's score may have risen past
  // minScore since (a new open, in any spelling). Only then: the key alone keeps the read to the rows over minScore.
  // Then the rows under minScore that are not computed are read and left out, as many as the account holds after the
  // cursor: the page reads a window of the index instead (ROWS_READ_PER_ROW_ASKED), and ends where it does. So does a
  // campaign's page while rows are left marked.
  // Sorted by latest activity, the key says nothing of the score: `score_key >= ?` only filters the rows in activity
  // order, so it is windowed too, whether rows are left marked or not.
  let window: number | undefined;
  if (query.minScore !== undefined && query.minScore > 0.005) {
    const overMinScore = `score_key >= ${bind(scoreKey(query.minScore - 0.005, now))}`;
    if (query.sort === "score" && left.count === 0) range.push((p) => `${p}${overMinScore}`);
    else {
      filters.push(left.count > 0 ? `(${computedSql} OR ${overMinScore})` : overMinScore);
      window = ROWS_READ_PER_ROW_ASKED * (query.limit + 1);
    }
  }
  if (query.campaign !== undefined && !byCampaign) {
    filters.push(
      `(${orComputedSpellings(`(${markedInCampaign("w")})`)} OR EXISTS (SELECT 1 FROM json_each(campaigns) j WHERE j.value = ${campaign}))`,
    );
    window = ROWS_READ_PER_ROW_ASKED * (query.limit + 1);
  }
  // The rows after the cursor, in the index's order, each part a seek of the index: those tied with the previous page's
  // last row, from the address after it, then those under its key: 21 or 22 rows read by each of the 15 pages of 20
  // of 300 contacts of no score. One range from the tie's key on read the tie's rows before the address again on every
  // page: 21, 41, ... 300 (worker tests in workerd, 2026-12-07).
  let seeks = [(p: string) => [`${p}account_id = ?1`]];
  if (query.after) {
    const key = bind(query.after[0]);
    const email = bind(query.after[1]);
    seeks = [
      (p) => [`${p}account_id = ?1`, `${p}${column} = ${key}`, `${p}email > ${email}`],
      (p) => [`${p}account_id = ?1`, `${p}${column} < ${key}`],
    ];
  }
  const rowsAfter = (where: ((p: string) => string)[], limit: string) =>
    `${sources
      .flatMap(({ p, read, where: own }) =>
        seeks.map((seek) => `${read} WHERE ${[...seek(p), ...own, ...where.map((term) => term(p))].join(" AND ")}`),
      )
      .join(" UNION ALL ")} ORDER BY key DESC, email LIMIT ${limit}`;
  // Windowed, every row of the window comes back, each saying whether it is on the page: the window's last row says
  // where the next page starts when the page ends short. Rows D1 read for a page of 20 of a campaign over 300 contacts
  // by such a window (worker tests in workerd, 2026-12-07; json_each's rows count): of 1 in 30 of them, 110 to 112;
  // with the page's rows read apart, stopped by its LIMIT, and the window again to its last row for a page that ends
  // short, 195 or 196; with a row_number() beside each row, 279 to 281. Of 1 in 3 of them, 85 to 90; 61 to 84; 181 to
  // 221. Of 29 in 30 of them, 84 or 85 for every full page, where the page's rows alone, stopped by its LIMIT, read 21
  // to 23 (the same tests): four times as many.
  const sql =
    window === undefined
      ? rowsAfter([...range, ...filters.map((filter) => () => filter)], bind(query.limit + 1))
      : `SELECT *, ${filters.join(" AND ")} AS listed FROM (${rowsAfter(range, bind(window))}) w`;
  return { sql, binds, window };
}
