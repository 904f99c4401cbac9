// The plans of the statements that take a list as a JSON array read by json_each. This project runs no ANALYZE or
// `PRAGMA optimize` on D1 (which can gather statistics: developers.cloudflare.com/d1/best-practices/use-indexes/,
// read 2026-12-07), so SQLite's planner chooses from the schema alone, here as in production: a list written
// `x IN (SELECT value FROM json_each(?))` beside `account_id = ?` was once planned as a read of the account's every
// recipient by another index (db/spellings.ts, since a join with the list first). Each plan is pinned whole, on the
// real migrations, so a query or an index changed into a scan of an account or a table fails here.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AWAITING_REPLY_SQL, QUARTER_HOUR_COUNTS_SQL, RECENTLY_ACTIVE_SQL } from "../src/db/activity";
import { contactPageStatement } from "../src/db/contact-scores";
import { RELABEL_SQL } from "../src/db/events";
import { FORBIDDEN_EVENTS_SQL, KEY_OPT_OUTS_SQL, KEY_RECIPIENTS_SQL } from "../src/db/mailboxes";
import { INSERT_LINKS_SQL, INSERT_RECIPIENTS_SQL, LISTED_RECIPIENTS_SQL } from "../src/db/messages";
import { FOLD_MESSAGES_SQL, FOLD_RECIPIENTS_SQL } from "../src/db/search-text";
import { coveredEventsSql, UNSUBSCRIBED_AMONG_SQL } from "../src/db/signals";
import {
  RECIPIENT_SPELLINGS_SQL,
  RESPELL_LISTED_DONE_SQL,
  RESPELL_REPLIES_SQL,
  RESPELLED_DUPLICATES_SQL,
  RESPELLED_SCORES_DIRTY_SQL,
} from "../src/db/spellings";
import { readsTooMuch, triggerStatements, unboundedReads } from "./statement-plans";

/** Each step of a statement's plan (EXPLAIN QUERY PLAN), in order. */
async function plan(sql: string): Promise<string[]> {
  const parameters = Math.max(1, ...[...sql.matchAll(/\?(\d+)/g)].map((match) => Number(match[1])));
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...Array.from({ length: parameters }, () => "[]"))
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

/** The tables a statement reads and how (SEARCH by an index, SCAN whole), in its plan's order. */
async function reads(sql: string): Promise<string[]> {
  return (await plan(sql)).filter((detail) => /^(SEARCH|SCAN) /.test(detail));
}

/** The sorts and groupings a statement's plan makes in a temporary B-tree, which `reads` leaves out. */
async function temporaryBtrees(sql: string): Promise<string[]> {
  return (await plan(sql)).filter((detail) => detail.includes("TEMP B-TREE"));
}

const LIST = "SCAN json_each VIRTUAL TABLE INDEX 1:";
/** optedOutSince's reads for each message (db/events.ts): its recipients, their mailboxes' opt-outs, its own. */
const OPTED_OUT_SINCE = [
  "SEARCH r USING INDEX sqlite_autoindex_message_recipients_1 (message_id=?)",
  "SEARCH o USING INDEX opt_outs_by_mailbox (mailbox=?)",
  "SEARCH kept USING INDEX sqlite_autoindex_messages_1 (id=?)",
];

describe("statements that take a list in JSON", () => {
  it("read the list first, then each of its rows by its key", async () => {
    expect(await reads(FOLD_MESSAGES_SQL)).toEqual([LIST, "SEARCH messages USING INDEX sqlite_autoindex_messages_1 (id=?)"]);
    const recipient = "SEARCH message_recipients USING INDEX sqlite_autoindex_message_recipients_1 (message_id=? AND email=?)";
    expect(await reads(FOLD_RECIPIENTS_SQL)).toEqual([LIST, recipient]);
    expect(await reads(KEY_RECIPIENTS_SQL)).toEqual([LIST, recipient]);
    expect(await reads(KEY_OPT_OUTS_SQL)).toEqual([
      LIST,
      "SEARCH opt_outs USING INDEX sqlite_autoindex_opt_outs_1 (account_id=? AND email=?)",
    ]);
    const relabel = await reads(RELABEL_SQL);
    // The list, each event by its seq, and between them the span's inputs (SPAN_INPUTS_SQL), one message's rows.
    expect([relabel[0], relabel.at(-1)]).toEqual([LIST, "SEARCH events USING INTEGER PRIMARY KEY (rowid=?)"]);
    expect(relabel.filter((detail) => detail.startsWith("SCAN "))).toEqual([LIST]);
    expect(await reads(UNSUBSCRIBED_AMONG_SQL)).toEqual([
      LIST,
      ...OPTED_OUT_SINCE,
      "SEARCH (subquery-2)",
      "SEARCH s USING COVERING INDEX signals_by_message (message_id=? AND kind=?)",
    ]);
  });

  it("write a registration's recipients and links from its list, checking one message's rows for each", async () => {
    const message = "SEARCH messages USING INDEX sqlite_autoindex_messages_1 (id=?)";
    const removed = "SEARCH removed_recipients USING PRIMARY KEY (message_id=? AND fingerprint=?)";
    expect(await reads(LISTED_RECIPIENTS_SQL)).toEqual([message, LIST, removed]);
    expect(await reads(INSERT_RECIPIENTS_SQL)).toEqual([
      "SEARCH messages EXISTS USING INDEX sqlite_autoindex_messages_1 (id=?)",
      LIST,
      removed,
    ]);
    expect(await reads(INSERT_LINKS_SQL)).toEqual(["SEARCH messages EXISTS USING INDEX sqlite_autoindex_messages_1 (id=?)", LIST]);
  });

  it("find an account's recipients in the listed mailboxes by the list first, never by the account's every recipient", async () => {
    const byMailbox = "USING COVERING INDEX message_recipients_outside_ascii_by_mailbox (account_id=? AND mailbox_key=?)";
    expect(await reads(RECIPIENT_SPELLINGS_SQL)).toEqual([
      "SCAN k VIRTUAL TABLE INDEX 1:",
      `SEARCH r ${byMailbox}`,
      `SEARCH message_recipients ${byMailbox}`,
    ]);
  });

  it("respell the listed replies (respellStoredReplies): each by its seq, their emails' recipients and scores by index", async () => {
    const signal = "SEARCH signals USING INTEGER PRIMARY KEY (rowid=?)";
    // The listed replies' emails (the IN list, built first) give their recipients, each contact's score sought by key.
    expect(await reads(RESPELLED_SCORES_DIRTY_SQL)).toEqual([
      "SEARCH contact_scores USING COVERING INDEX sqlite_autoindex_contact_scores_1 (account_id=? AND email=?)",
      "SEARCH r USING INDEX sqlite_autoindex_message_recipients_1 (message_id=?)",
      "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)",
      LIST,
    ]);
    expect(await reads(RESPELL_REPLIES_SQL)).toEqual([LIST, signal]);
    expect(await reads(RESPELLED_DUPLICATES_SQL)).toEqual([signal, LIST, "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)"]);
    expect(await reads(RESPELL_LISTED_DONE_SQL)).toEqual(["SEARCH replies_to_respell USING INTEGER PRIMARY KEY (rowid=?)", LIST]);
  });

  it("find the events opt-outs forbid by the listed emails and mailboxes, each email's events by index", async () => {
    const events = ["SEARCH events USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH e USING COVERING INDEX events_by_message (message_id=?)"];
    expect(await reads(`DELETE FROM events WHERE seq IN (${FORBIDDEN_EVENTS_SQL})`)).toEqual([
      ...events,
      LIST,
      "SEARCH r USING INDEX message_recipients_by_mailbox (mailbox=?)",
      LIST,
      ...OPTED_OUT_SINCE,
      "SEARCH (subquery-5)",
    ]);
    expect(await reads(`DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE ${coveredEventsSql("?1", "?2", "?3")})`)).toEqual(
      [
        ...events,
        "SEARCH message_recipients USING INDEX message_recipients_by_mailbox (mailbox=?)",
        LIST,
        ...OPTED_OUT_SINCE,
        "SEARCH (subquery-4)",
      ],
    );
  });

  it("look up a message's campaign wait in the list for each of the account's messages in the range, by index", async () => {
    // The list is the campaigns' waits, looked up by key for each message: the messages are read by account and time,
    // newest first in the index's order (by messages_by_sent, dropped in migration 0032, they were sorted on id).
    expect(await reads(AWAITING_REPLY_SQL)).toEqual([
      "SEARCH m USING INDEX messages_by_account_newest (account_id=? AND <expr>>?)",
      "SCAN w VIRTUAL TABLE INDEX 1:",
      ...OPTED_OUT_SINCE,
      "SEARCH (subquery-3)",
      "SEARCH s USING COVERING INDEX signals_by_message (message_id=? AND kind=?)",
    ]);
    expect(await temporaryBtrees(AWAITING_REPLY_SQL)).toEqual([]);
  });
});

describe("reads of an account's events in a window of time", () => {
  it("read the window by events_by_time, every account's, and each event's message by its id", async () => {
    const window = "SEARCH events USING INDEX events_by_time (occurred_at>?)";
    const message = "SEARCH m USING INDEX sqlite_autoindex_messages_1 (id=?)";
    expect(await reads(RECENTLY_ACTIVE_SQL)).toEqual([
      window,
      "SEARCH signals USING INDEX signals_by_account_time (account_id=? AND occurred_at>?)",
      "SCAN recent",
      message,
    ]);
    expect(await reads(QUARTER_HOUR_COUNTS_SQL)).toEqual([window.replace("events", "e"), message]);
  });
});

describe("the people list's page after a cursor (contactPage)", () => {
  /** Every step of the statement's plan, its order-by's temporary b-trees too, as EXPLAIN QUERY PLAN lists them. */
  async function plan({ sql, binds }: { sql: string; binds: (string | number)[] }): Promise<string[]> {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...binds)
      .all<{ detail: string }>();
    return results.map((row) => row.detail);
  }
  const nothingMarked = { count: 0, asciiFolds: [] };
  const after = [5, "dana@acme.example"] as const;
  /**
   * Whether a marked row's person may have the page's campaign (subqueries `n` and `n + 1`): the account's first
   * recipient outside ASCII, once, then the row's address's emails, each one's message by its key.
   */
  const mayHaveCampaign = (n: number) => [
    `SCALAR SUBQUERY ${n}`,
    "SEARCH message_recipients USING COVERING INDEX message_recipients_outside_ascii_by_mailbox (account_id=?)",
    `CORRELATED SCALAR SUBQUERY ${n + 1}`,
    "SEARCH r USING INDEX message_recipients_by_email (account_id=? AND email=?)",
    "SEARCH m USING INDEX sqlite_autoindex_messages_1 (id=?)",
  ];
  /** The two seeks of the index, merged in its order: the cursor's ties after its address, then the lower keys. */
  const merged = (index: string, column: string) => [
    "MERGE (UNION ALL)",
    "LEFT",
    `SEARCH contact_scores USING INDEX ${index} (account_id=? AND ${column}=? AND email>?)`,
    "RIGHT",
    `SEARCH contact_scores USING INDEX ${index} (account_id=? AND ${column}<?)`,
  ];

  it("reads the ties after the cursor, then the lower keys, each by a seek of the index, merged with no sort", async () => {
    const page = (sort: "score" | "lastActivity") => contactPageStatement("a", 0, { sort, after, limit: 20 }, nothingMarked);
    expect(await plan(page("score"))).toEqual(merged("contact_scores_by_score", "score_key"));
    expect(await plan(page("lastActivity"))).toEqual(merged("contact_scores_by_activity", "activity_key"));
  });

  it("a campaign's page reads the campaign's people by the same two seeks, each one's row by its key, and the marked rows", async () => {
    /** The two seeks of the campaign's people (migration 0034) in the sort's order, each row's contact_scores beside. */
    const people = (index: string, column: string) =>
      [`${column}=? AND email>?`, `${column}<?`].flatMap((seek, i) => [
        i === 0 ? "LEFT" : "RIGHT",
        `SEARCH c USING ${index} (account_id=? AND campaign=? AND ${seek})`,
        "SEARCH s USING INDEX sqlite_autoindex_contact_scores_1 (account_id=? AND email=?)",
      ]);
    /**
     * The rows marked since the listing's refresh whose person may have the campaign: none but those a write marked
     * meanwhile, sorted.
     */
    const marked = [
      "LEFT",
      "SEARCH contact_scores USING INDEX contact_scores_dirty (account_id=?)",
      ...mayHaveCampaign(3),
      "USE TEMP B-TREE FOR LAST TERM OF ORDER BY",
      "RIGHT",
      "SEARCH contact_scores USING INDEX contact_scores_dirty (account_id=?)",
      ...mayHaveCampaign(6),
      "USE TEMP B-TREE FOR ORDER BY",
    ];
    for (const [sort, index, column] of [
      ["score", "PRIMARY KEY", "score_key"],
      ["lastActivity", "COVERING INDEX contact_campaigns_by_activity", "activity_key"],
    ] as const) {
      const page = contactPageStatement("a", 0, { sort, after, limit: 20, campaign: "Webinar" }, nothingMarked);
      expect(await plan(page)).toEqual([
        "MERGE (UNION ALL)",
        "LEFT",
        "MERGE (UNION ALL)",
        ...people(index, column),
        "RIGHT",
        "MERGE (UNION ALL)",
        ...marked,
      ]);
    }
  });

  it("a campaign's page while rows are left marked reads its window by the same two seeks, and each row's campaigns in its own JSON", async () => {
    const page = contactPageStatement("a", 0, { sort: "score", after, limit: 20, campaign: "Webinar" }, { count: 1, asciiFolds: [] });
    expect(await plan(page)).toEqual([
      "CO-ROUTINE w",
      ...merged("contact_scores_by_score", "score_key"),
      "SCAN w",
      ...mayHaveCampaign(1),
      "CORRELATED SCALAR SUBQUERY 3",
      "SCAN j VIRTUAL TABLE INDEX 1:",
    ]);
  });
});

describe("the plan check of every statement the worker prepares (statement-plans.ts)", () => {
  it("finds a read of a whole table, or of an account by an index of account_id alone, and lets a seek through", async () => {
    expect(await readsTooMuch("SELECT id FROM messages WHERE subject = ?", ["Proposal"])).toEqual(["SCAN messages"]);
    // A reply's mark as migration 0010 wrote it, which 0029 rewrote: it read the account's every person.
    expect(
      await readsTooMuch(
        `UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ?1
           AND (email = ?2 OR email IN (SELECT email FROM message_recipients WHERE message_id = ?3))`,
        ["a", "b", "c"],
      ),
    ).toEqual([expect.stringMatching(/^SEARCH contact_scores USING (COVERING )?INDEX \w+ \(account_id=\?\)$/)]);
    // The retention purge's mark of the replies' contacts before its pairs were a subquery of their own: every row of
    // contact_scores, each account's, for each chunk purged.
    expect(
      await readsTooMuch(
        `WITH chunk AS (SELECT * FROM signals WHERE occurred_at < ?1 LIMIT 10)
         UPDATE contact_scores SET dirty = dirty + 1 WHERE (account_id, email) IN (SELECT account_id, email FROM chunk
           UNION ALL SELECT account_id, email FROM message_recipients WHERE message_id IN (SELECT message_id FROM chunk))`,
        [0],
      ),
    ).toEqual(["SCAN contact_scores"]);
    expect(await readsTooMuch("SELECT id FROM messages WHERE id = ?", ["m"])).toEqual([]);
    // A window of time across accounts (db/activity.ts): in proportion to the window, not the account.
    expect(await readsTooMuch("SELECT seq FROM events WHERE occurred_at >= ? AND +account_id = ?", [0, "a"])).toEqual([]);
    expect(await readsTooMuch("SELECT email FROM contact_scores WHERE account_id = ? AND email = ?", ["a", "b"])).toEqual([]);
  });

  it("finds a read of an account by a WITHOUT ROWID table's primary key, and lets a seek by the whole key through", async () => {
    await env.DB.exec("CREATE TABLE plan_check_keyed (account_id TEXT, id TEXT, PRIMARY KEY (account_id, id)) WITHOUT ROWID");
    try {
      expect(await readsTooMuch("SELECT id FROM plan_check_keyed k WHERE account_id = ?", ["a"])).toEqual([
        "SEARCH k USING PRIMARY KEY (account_id=?)",
      ]);
      expect(await readsTooMuch("SELECT id FROM plan_check_keyed WHERE account_id = ? AND id = ?", ["a", "b"])).toEqual([]);
    } finally {
      await env.DB.exec("DROP TABLE plan_check_keyed");
    }
  });

  it("reads each trigger's statements, NEW and OLD as parameters", async () => {
    const triggers = await triggerStatements();
    expect(triggers).toContain(
      "UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ? AND email IN (SELECT ? UNION ALL SELECT email FROM message_recipients WHERE message_id = ?)",
    );
    // A WHEN clause runs for each row written too: its subqueries are planned as a SELECT.
    expect(triggers).toContain("SELECT 1 WHERE ? > coalesce((SELECT max(seq) FROM events), 0)");
    expect(await unboundedReads(triggers.map((sql) => [sql, []]))).toEqual([]);
  });
});
