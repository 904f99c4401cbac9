// Replies, bounces and unsubscribes (docs/protocol.md §10-11), the suppression list and recipient opt-outs.
import type { BounceKind, SignalResult, SignalsRequest } from "../../../shared/api";
import { foldAddress, mailboxKey, normalizeEmail } from "../../../shared/email";
import { stableMessageId } from "../../../shared/gmail-message-id";
import { CLOCK_TOLERANCE_MS, REQUEST_TRANSIT_MAX_MS } from "../../../shared/limits";
import { recipientFingerprint, spellingsToTry } from "../recipient-fingerprint";
import { optedOutSince, unsubscribedSql } from "./events";
import { type MessageRow, messagesByThread } from "./messages";
import { storedSpellings } from "./spellings";
import { COUNTED_SQL, chunked, placeholders, SQL_NOW_MS } from "./sql";

/** IN lists that appear twice in one statement stay under D1's 100 bound parameters. */
const HALF_IN_LIST = 45;

type Signal = Exclude<SignalsRequest["signals"], undefined>[number];

/**
 * When each address last showed it receives mail: a reply from it, or a counted open or click of a message sent
 * to it alone. Clears soft bounces before that time.
 */
export async function latestSuccess(db: D1Database, accountId: string, emails: readonly string[]): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  for (const ids of chunked([...new Set(emails.filter((e) => e !== ""))], HALF_IN_LIST)) {
    const { results } = await latestSuccessStatement(db, accountId, ids).all<{ email: string; at: number }>();
    for (const row of results) latest.set(row.email, row.at);
  }
  return latest;
}

/** latestSuccess's statement for at most HALF_IN_LIST addresses (each twice in it): rows `{ email, at }`. */
function latestSuccessStatement(db: D1Database, accountId: string, ids: readonly string[]): D1PreparedStatement {
  const list = placeholders(ids.length);
  return db
    .prepare(
      `SELECT email, max(at) AS at FROM (
         SELECT r.email AS email, e.occurred_at AS at
         FROM message_recipients r JOIN messages m ON m.id = r.message_id JOIN events e ON e.message_id = r.message_id
         WHERE r.account_id = ? AND r.email IN (${list}) AND e.label IN (${COUNTED_SQL}) AND m.recipient_count = 1
         UNION ALL
         SELECT email, occurred_at AS at FROM signals WHERE account_id = ? AND kind = 'reply' AND email IN (${list})
       ) GROUP BY email`,
    )
    .bind(accountId, ...ids, accountId, ...ids);
}

interface TargetMessage {
  id: string;
  /** Its recipients now (a deleted contact is gone) and how many it was sent to. */
  recipients: string[];
  recipientCount: number;
  /** The fingerprints its deleted contacts left on it (migration 0011): they were its recipients all the same. */
  removed: string[];
  sentAt: number;
}

/** The message each of these Gmail message ids is already recorded for. */
async function recordedSources(db: D1Database, accountId: string, sourceIds: readonly string[]): Promise<Map<string, string>> {
  const recorded = new Map<string, string>();
  for (const ids of chunked([...new Set(sourceIds)])) {
    const { results } = await db
      .prepare(`SELECT source_id, message_id FROM signals WHERE account_id = ? AND source_id IN (${placeholders(ids.length)})`)
      .bind(accountId, ...ids)
      .all<{ source_id: string; message_id: string }>();
    for (const row of results) if (!recorded.has(row.source_id)) recorded.set(row.source_id, row.message_id);
  }
  return recorded;
}

/** The current recipients of each of these messages, and the fingerprints of those deleted as contacts: one query. */
async function recipientsOf(db: D1Database, messageIds: readonly string[]) {
  const recipients = new Map<string, string[]>();
  const removed = new Map<string, string[]>();
  for (const ids of chunked([...new Set(messageIds)], HALF_IN_LIST)) {
    const list = placeholders(ids.length);
    const { results } = await db
      .prepare(
        `SELECT message_id, email, 0 AS removed FROM message_recipients WHERE message_id IN (${list})
         UNION ALL SELECT message_id, fingerprint, 1 FROM removed_recipients WHERE message_id IN (${list})`,
      )
      .bind(...ids, ...ids)
      .all<{ message_id: string; email: string; removed: 0 | 1 }>();
    for (const row of results) {
      const into = row.removed ? removed : recipients;
      into.set(row.message_id, [...(into.get(row.message_id) ?? []), row.email]);
    }
  }
  return { recipients, removed };
}

/** A Gmail message id as the extension keys signals (stableMessageId); any other form as it comes, without its "#". */
function messageKey(id: string): string {
  return stableMessageId(id) ?? id.trim().replace(/^#/, "");
}

/**
 * How late a stored send time may be by the tracker's clock. sentAtByTrackerClock leaves the sender's send time as
 * given while `clockAt` is within CLOCK_TOLERANCE_MS of the tracker's clock as the request arrives, and that gap is the
 * request's time on its way less how fast the sender's clock is: a clock up to CLOCK_TOLERANCE_MS fast, plus a request
 * up to REQUEST_TRANSIT_MAX_MS on its way (the extension sends again a registration answered more slowly: delivery.ts),
 * is left, up to about 4 s late. Past the tolerance the send time is moved by the whole gap, and late by the transit
 * alone. (A tracker slow at every send of the outbox's first attempts, delivery.ts SLOW_ATTEMPTS, is taken as it is:
 * that registration may be later still, and a signal it misses is answered `unmatched` and listed by the extension as
 * not counted.)
 */
const SENT_AT_LATE_MAX_MS = CLOCK_TOLERANCE_MS + REQUEST_TRANSIT_MAX_MS;

/**
 * Each signal's message: the latest registered, live one of its thread sent before the signal, or up to
 * SENT_AT_LATE_MAX_MS after it (ties: the lowest id). `sent`: the Gmail message ids of the account's own emails in
 * those threads, as messageKey gives them.
 *
 * The send time may be up to SENT_AT_LATE_MAX_MS late, while the signal's time is Gmail's: a clock 3 s fast would put a
 * bounce notice that came a second after the send before its email. "Before" is therefore judged to that precision, as
 * a widening rather than a fallback: in a thread of two emails, a fallback would give that notice of the second one to
 * the first, which was sent before it. The widening errs only for a signal of the first that arrived within those 4 s
 * before the second was sent, which it gives to the second: what arrives within seconds of a send is that send's bounce
 * or auto-reply, rarely someone's answer to the email before, and a bounce left unmatched would leave a dead address
 * unmarked.
 */
async function targetMessages(
  db: D1Database,
  accountId: string,
  signals: readonly Signal[],
): Promise<{ targets: Map<Signal, TargetMessage>; sent: Set<string> }> {
  const threads = new Map<string, MessageRow[]>();
  const sent = new Set<string>();
  for (const row of await messagesByThread(db, accountId, [...new Set(signals.map((s) => s.threadId))])) {
    if (row.gmail_message_id) sent.add(messageKey(row.gmail_message_id));
    if (row.registered_at === null) continue;
    // A signal names the thread by either of its ids (a Sent row may carry only Gmail's sync id).
    for (const id of new Set([row.thread_id, row.sync_thread_id])) if (id !== null) threads.set(id, [...(threads.get(id) ?? []), row]);
  }
  const chosen = new Map<Signal, MessageRow>();
  for (const signal of signals) {
    const at = Date.parse(signal.at);
    let best: MessageRow | undefined;
    for (const row of threads.get(signal.threadId) ?? []) {
      if (row.sent_at === null || row.sent_at >= at + SENT_AT_LATE_MAX_MS) continue;
      if (!best || row.sent_at > (best.sent_at ?? 0) || (row.sent_at === best.sent_at && row.id < best.id)) best = row;
    }
    if (best) chosen.set(signal, best);
  }
  // A bounce is recorded for the recipients it names, and a reply for the recipient who wrote it, as the email lists them.
  const { recipients, removed } = await recipientsOf(
    db,
    [...chosen].map(([, row]) => row.id),
  );
  const targets = new Map(
    [...chosen].map(([signal, row]): [Signal, TargetMessage] => [
      signal,
      {
        id: row.id,
        recipients: recipients.get(row.id) ?? [],
        recipientCount: row.recipient_count,
        removed: removed.get(row.id) ?? [],
        // sent_at is set: only messages sent (nearly) before the signal are chosen.
        sentAt: row.sent_at ?? 0,
      },
    ]),
  );
  return { targets, sent };
}

/** A reply's insert also sets its email's last_reply_at, by a trigger (migration 0021), which outlives the signal. */
const INSERT_SIGNAL_INTO =
  "INSERT OR IGNORE INTO signals (account_id, message_id, kind, source_id, email, bounce_kind, reason, occurred_at, inserted_at)";
const INSERT_SIGNAL = `${INSERT_SIGNAL_INTO} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${SQL_NOW_MS})`;

/**
 * Addresses a notice names that are checked against the fingerprints of a message's deleted contacts, beyond its
 * current recipients: a keyed hash each. A real notice names the one or few addresses it failed on.
 */
const MAX_REMOVED_CHECKED = 10;

/**
 * The message's recipient (as its registration spelled it) that `email` is, in any spelling (foldAddress): a notice
 * or a reply may give `jörg@xn--mnchen-3ya.de` for the `jörg@münchen.de` the rep wrote. Signals are stored under the
 * recipient's spelling, so that the contact's score, timeline and deletion find them by it. Undefined when none is.
 */
function recipientSpelling(message: TargetMessage, email: string): string | undefined {
  if (message.recipients.includes(email)) return email;
  const folded = foldAddress(email);
  return message.recipients.find((recipient) => foldAddress(recipient) === folded);
}

/**
 * The fingerprints a deletion of `email` from email `messageId` may have left under another spelling of the address
 * (spellingsToTry: its domain decoded or folded, in NFC or NFD), of the address as written: the one fingerprint every
 * deletion left. The mailbox's fingerprint is not looked for: a bounce names the address it failed on, and a Gmail
 * spelling with other dots or a +tag is another address to suppress.
 */
async function removedSpellingFingerprints(signingSecret: string, messageId: string, email: string): Promise<string[]> {
  return Promise.all([...spellingsToTry(email)].map((spelling) => recipientFingerprint(signingSecret, messageId, spelling)));
}

/**
 * The addresses a bounce notice is recorded for: those it names that are the message's recipients (current, in any
 * spelling, recorded as the email lists them; or deleted as contacts since), else "" (the message bounced, no
 * address). The notice's text is whatever arrived in the thread, and anyone who can write there can make a message
 * look like one (a display name, a postmaster@ address of their own): an address the email was not sent to is never
 * taken from it. A notice naming no address at all applies to
 * the only recipient of a one-recipient message, and to no address otherwise.
 */
async function bouncedEmails(
  signingSecret: string,
  message: TargetMessage,
  signal: Extract<Signal, { kind: "bounce" }>,
): Promise<string[]> {
  const named = [...new Set((signal.bounce.recipients ?? []).map(normalizeEmail))];
  if (named.length === 0) {
    const sole = message.recipientCount === 1 && message.recipients.length === 1;
    return sole ? message.recipients : [""];
  }
  const recipients = new Set<string>();
  const notCurrent: string[] = [];
  for (const email of named) {
    const recipient = recipientSpelling(message, email);
    if (recipient === undefined) notCurrent.push(email);
    else recipients.add(recipient);
  }
  if (message.removed.length > 0) {
    for (const email of notCurrent.slice(0, MAX_REMOVED_CHECKED)) {
      const fingerprints = await removedSpellingFingerprints(signingSecret, message.id, email);
      if (fingerprints.some((fingerprint) => message.removed.includes(fingerprint))) recipients.add(email);
    }
  }
  return recipients.size > 0 ? [...recipients] : [""];
}

/**
 * Records replies and bounce notices once each (by Gmail message id), and applies the bounce rules. Everything is
 * read up front (a query per kind of lookup, not per signal), the signals are then taken in order as if each were
 * written before the next is looked at, and all writes go in one batch.
 */
export async function recordSignals(
  db: D1Database,
  accountId: string,
  self: readonly string[],
  given: readonly Signal[],
  now: number,
  signingSecret: string,
): Promise<SignalResult[]> {
  // Nothing arrived after now: a later date (misread, or from a wrong clock) would outlive every retention limit,
  // which purges by this date.
  const signals = given.map((signal) => (Date.parse(signal.at) > now ? { ...signal, at: new Date(now).toISOString() } : signal));
  const own = new Set(self.map(foldAddress));
  const isOwn = (signal: Signal) => signal.kind === "reply" && own.has(foldAddress(signal.from));
  const wanted = signals.filter((signal) => !isOwn(signal));
  const recorded = await recordedSources(
    db,
    accountId,
    wanted.map((s) => s.gmailMessageId),
  );
  const { targets, sent } = await targetMessages(
    db,
    accountId,
    wanted.filter((s) => !recorded.has(s.gmailMessageId)),
  );
  const bounced = new Map<Signal, string[]>();
  for (const [signal, message] of targets)
    if (signal.kind === "bounce") bounced.set(signal, await bouncedEmails(signingSecret, message, signal));
  // Two soft bounces (different notices) with no success since the first of them: treated as hard. What the
  // rule reads for the addresses soft bounces name: their soft bounces and latest success, kept up to date below.
  const softAddresses = [...targets].flatMap(([signal]) =>
    signal.kind === "bounce" && signal.bounce.kind === "soft" ? (bounced.get(signal) ?? []).filter((e) => e !== "") : [],
  );
  const { softBounces, success } = await softBounceHistory(db, accountId, softAddresses);
  // Both kept by the address folded (softBounceHistory).
  const softNoticesSinceSuccess = (email: string) => {
    const since = success.get(foldAddress(email)) ?? -1;
    return new Set((softBounces.get(foldAddress(email)) ?? []).filter((b) => b.at > since).map((b) => b.source)).size;
  };

  const statements: D1PreparedStatement[] = [];
  const results: SignalResult[] = [];
  for (const signal of signals) {
    const base = { gmailMessageId: signal.gmailMessageId };
    if (isOwn(signal)) {
      results.push({ ...base, outcome: "ignored", messageId: null });
      continue;
    }
    const seen = recorded.get(signal.gmailMessageId);
    if (seen !== undefined) {
      results.push({ ...base, outcome: "duplicate", messageId: seen });
      continue;
    }
    // A signal keyed by one of the account's own sent emails is no reply or notice, whatever the page seemed to show
    // (a Sent row misread as a reply from its last recipient is keyed by the row's latest message: the email itself).
    if (sent.has(messageKey(signal.gmailMessageId))) {
      results.push({ ...base, outcome: "ignored", messageId: null });
      continue;
    }
    const message = targets.get(signal);
    if (!message) {
      results.push({ ...base, outcome: "unmatched", messageId: null });
      continue;
    }
    const at = Date.parse(signal.at);
    recorded.set(signal.gmailMessageId, message.id);
    if (signal.kind === "reply") {
      const from = normalizeEmail(signal.from);
      const email = recipientSpelling(message, from) ?? from;
      statements.push(db.prepare(INSERT_SIGNAL).bind(accountId, message.id, "reply", signal.gmailMessageId, email, null, null, at));
      success.set(foldAddress(email), Math.max(success.get(foldAddress(email)) ?? at, at));
    } else {
      const emails = bounced.get(signal) ?? [""];
      const kind = signal.bounce.kind;
      const reason = signal.bounce.reason ?? null;
      statements.push(
        ...emails.map((email) =>
          db.prepare(INSERT_SIGNAL).bind(accountId, message.id, "bounce", signal.gmailMessageId, email, kind, reason, at),
        ),
      );
      const addresses = emails.filter((e) => e !== "");
      if (kind === "hard") statements.push(...suppressStatements(db, accountId, addresses, "hard", message.sentAt));
      else {
        for (const key of addresses.map(foldAddress))
          softBounces.set(key, [...(softBounces.get(key) ?? []), { source: signal.gmailMessageId, at }]);
        const repeated = addresses.filter((email) => softNoticesSinceSuccess(email) >= 2);
        statements.push(...suppressStatements(db, accountId, repeated, "repeated-soft", message.sentAt));
      }
    }
    results.push({ ...base, outcome: "recorded", messageId: message.id });
  }
  if (statements.length > 0) await db.batch(statements);
  return results;
}

/**
 * The recorded soft bounces (notice and time) of these addresses, and since when their notices count: the latest
 * success (it receives mail) or lift of its suppression (the rep vouched for it), whichever came last. Of every
 * spelling the account stored of each (storedSpellings), keyed by the address folded (foldAddress): one person
 * written `jörg@münchen.de` on one email and `jörg@xn--mnchen-3ya.de` on another bounces twice, not once each.
 */
async function softBounceHistory(db: D1Database, accountId: string, emails: readonly string[]) {
  const softBounces = new Map<string, { source: string; at: number }[]>();
  const success = new Map<string, number>();
  const unique = [...new Set(emails)];
  if (unique.length === 0) return { softBounces, success };
  const latest = (email: string, at: number) => success.set(foldAddress(email), Math.max(success.get(foldAddress(email)) ?? at, at));
  const spellings = [...new Set([...(await storedSpellings(db, accountId, unique)).values()].flat())];
  for (const ids of chunked(spellings, HALF_IN_LIST)) {
    const list = placeholders(ids.length);
    const [succeeded, soft, lifted] = await db.batch([
      latestSuccessStatement(db, accountId, ids),
      db
        .prepare(
          `SELECT email, source_id, occurred_at FROM signals
           WHERE account_id = ? AND email IN (${list}) AND kind = 'bounce' AND bounce_kind = 'soft'`,
        )
        .bind(accountId, ...ids),
      db
        .prepare(`SELECT email, lifted_at FROM suppressions WHERE account_id = ? AND email IN (${list}) AND lifted_at IS NOT NULL`)
        .bind(accountId, ...ids),
    ]);
    for (const row of (succeeded?.results ?? []) as { email: string; at: number }[]) latest(row.email, row.at);
    for (const row of (soft?.results ?? []) as { email: string; source_id: string; occurred_at: number }[]) {
      const key = foldAddress(row.email);
      softBounces.set(key, [...(softBounces.get(key) ?? []), { source: row.source_id, at: row.occurred_at }]);
    }
    for (const row of (lifted?.results ?? []) as { email: string; lifted_at: number }[]) latest(row.email, row.lifted_at);
  }
  return { softBounces, success };
}

/**
 * Puts addresses on the suppression list. A lifted suppression comes back only for a notice about an email sent
 * after the lift: a notice's own date is Gmail's, read to the minute (or now, when unreadable), so an old notice
 * found late could pass for a new one and undo the rep's decision.
 */
function suppressStatements(
  db: D1Database,
  accountId: string,
  emails: readonly string[],
  reason: "hard" | "repeated-soft",
  emailSentAt: number,
) {
  return emails.map((email) =>
    db
      .prepare(
        `INSERT INTO suppressions (account_id, email, reason, created_at) VALUES (?1, ?2, ?3, ${SQL_NOW_MS})
         ON CONFLICT (account_id, email) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, lifted_at = NULL
         WHERE suppressions.lifted_at IS NOT NULL AND suppressions.lifted_at < ?4`,
      )
      .bind(accountId, email, reason, emailSentAt),
  );
}

/**
 * Lifts an address's suppression (docs/protocol.md §10), in every spelling the account stored it (storedSpellings): the
 * compose window warns about all of them. False when it is not suppressed.
 */
export async function liftSuppression(db: D1Database, accountId: string, email: string, now: number): Promise<boolean> {
  const spellings = (await storedSpellings(db, accountId, [email])).get(email) ?? [email];
  const { meta } = await db
    .prepare(
      `UPDATE suppressions SET lifted_at = ? WHERE account_id = ? AND email IN (${placeholders(spellings.length)}) AND lifted_at IS NULL`,
    )
    .bind(now, accountId, ...spellings)
    .run();
  return meta.changes > 0;
}

export interface SignalSummary {
  replyCount: number;
  lastReplyAt: number | null;
  unsubscribed: boolean;
  bounce: { kind: BounceKind; recipients: string[]; at: number; reason: string | null } | null;
}

/** A recorded bounce: one row per address a notice names ("" for none). */
export interface BounceRow {
  message_id: string;
  account_id: string;
  email: string;
  bounce_kind: BounceKind;
  occurred_at: number;
  reason?: string | null;
}

/** The ids of the JSON array ?1 whose messages count as unsubscribed (unsubscribedSql): the list first, by index. */
export const UNSUBSCRIBED_AMONG_SQL = `SELECT value AS message_id FROM json_each(?) WHERE ${unsubscribedSql("value")}`;

/**
 * Replies, unsubscribe and the effective bounce of each message. A hard bounce is always effective; a soft one
 * unless a later success cleared it (for an address: latestSuccess; for a notice naming nobody: a counted open,
 * click or reply of the message itself after it).
 */
export async function signalSummaries(db: D1Database, messageIds: readonly string[]): Promise<Map<string, SignalSummary>> {
  const summaries = new Map<string, SignalSummary>();
  for (const id of messageIds) summaries.set(id, { replyCount: 0, lastReplyAt: null, unsubscribed: false, bounce: null });
  const bounces: BounceRow[] = [];
  for (const ids of chunked(messageIds)) {
    const list = placeholders(ids.length);
    const [counts, unsubscribed, bounceRows] = await db.batch([
      db
        .prepare(
          `SELECT message_id, count(DISTINCT source_id) AS n, max(occurred_at) AS last_at FROM signals
           WHERE message_id IN (${list}) AND kind = 'reply' GROUP BY message_id`,
        )
        .bind(...ids),
      db.prepare(UNSUBSCRIBED_AMONG_SQL).bind(JSON.stringify(ids)),
      db
        .prepare(
          `SELECT message_id, account_id, email, bounce_kind, occurred_at, reason FROM signals WHERE message_id IN (${list}) AND kind = 'bounce'`,
        )
        .bind(...ids),
    ]);
    for (const row of (counts?.results ?? []) as { message_id: string; n: number; last_at: number }[]) {
      const summary = summaries.get(row.message_id);
      if (!summary) continue;
      summary.replyCount = row.n;
      summary.lastReplyAt = row.last_at;
    }
    for (const row of (unsubscribed?.results ?? []) as { message_id: string }[]) {
      const summary = summaries.get(row.message_id);
      if (summary) summary.unsubscribed = true;
    }
    bounces.push(...((bounceRows?.results ?? []) as BounceRow[]));
  }
  if (bounces.length === 0) return summaries;
  const effective = await effectiveBounces(db, bounces);
  for (const row of effective) {
    const summary = summaries.get(row.message_id);
    if (!summary) continue;
    const bounce = summary.bounce ?? { kind: row.bounce_kind, recipients: [], at: row.occurred_at, reason: null };
    if (row.bounce_kind === "hard") bounce.kind = "hard";
    // A hard bounce's reason wins over a soft one's.
    if (row.reason && (!bounce.reason || row.bounce_kind === "hard")) bounce.reason = row.reason;
    if (row.email !== "" && !bounce.recipients.includes(row.email)) bounce.recipients.push(row.email);
    bounce.at = Math.min(bounce.at, row.occurred_at);
    summary.bounce = bounce;
  }
  for (const summary of summaries.values()) summary.bounce?.recipients.sort();
  return summaries;
}

/** The bounce rows that are in effect: hard ones, and soft ones no later success cleared. */
export async function effectiveBounces<Row extends BounceRow>(db: D1Database, rows: readonly Row[]): Promise<Row[]> {
  const soft = rows.filter((r) => r.bounce_kind === "soft");
  // Per account, the latest success of each address in any spelling its rows hold (storedSpellings), by the address folded.
  const successByAccount = new Map<string, Map<string, number>>();
  for (const accountId of new Set(soft.filter((r) => r.email !== "").map((r) => r.account_id))) {
    const emails = soft.filter((r) => r.account_id === accountId && r.email !== "").map((r) => r.email);
    const spellings = [...(await storedSpellings(db, accountId, emails)).values()].flat();
    const success = new Map<string, number>();
    for (const [email, at] of await latestSuccess(db, accountId, spellings))
      success.set(foldAddress(email), Math.max(success.get(foldAddress(email)) ?? at, at));
    successByAccount.set(accountId, success);
  }
  const messageSuccess = new Map<string, number>();
  const unnamed = [...new Set(soft.filter((r) => r.email === "").map((r) => r.message_id))];
  for (const ids of chunked(unnamed, HALF_IN_LIST)) {
    const list = placeholders(ids.length);
    const { results } = await db
      .prepare(
        `SELECT message_id, max(at) AS at FROM (
           SELECT message_id, occurred_at AS at FROM events WHERE message_id IN (${list}) AND label IN (${COUNTED_SQL})
           UNION ALL
           SELECT message_id, occurred_at AS at FROM signals WHERE message_id IN (${list}) AND kind = 'reply'
         ) GROUP BY message_id`,
      )
      .bind(...ids, ...ids)
      .all<{ message_id: string; at: number }>();
    for (const row of results) messageSuccess.set(row.message_id, row.at);
  }
  return rows.filter((row) => {
    if (row.bounce_kind === "hard") return true;
    const success =
      row.email === "" ? messageSuccess.get(row.message_id) : successByAccount.get(row.account_id)?.get(foldAddress(row.email));
    return success === undefined || success <= row.occurred_at;
  });
}

export interface AddressState {
  suppressed: boolean;
  bounceKind: BounceKind | null;
  optedOut: boolean;
}

/**
 * Suppression and uncleared soft bounces of these (normalised) addresses in one account, and whether each opted out.
 * Each address's state is that of all its stored spellings (storedSpellings): a suppression recorded for
 * `jörg@münchen.de` is one of `jörg@xn--mnchen-3ya.de`, and the compose window warns whichever the rep types.
 * An opt-out counts whichever account of the tracker it was made through and however the address was spelled
 * (mailboxKey): the compose window warns the rep before writing to it. Only that it did is told, not through which
 * email, which would tell one account about another's mail. Roughly when may be inferred: the other account can
 * poll this check, and its own registrations delete its events from the opt-out's time on (db/messages.ts), as does an
 * opt-out recorded after it was made (optOutStatements). `knownSpellings`: the stored spellings of some of the
 * addresses, as storedSpellings gives them, when the caller read them already; only the others' are read.
 */
export async function addressStates(
  db: D1Database,
  accountId: string,
  emails: readonly string[],
  knownSpellings: ReadonlyMap<string, readonly string[]> = new Map(),
): Promise<Map<string, AddressState>> {
  const states = new Map<string, AddressState>();
  const unique = [...new Set(emails)];
  for (const email of unique) states.set(email, { suppressed: false, bounceKind: null, optedOut: false });
  // The addresses each stored spelling stands for: a row read by spelling counts for each of them. storedSpellings
  // makes no query when every address's spellings are known.
  const spellings = new Map<string, readonly string[]>([
    ...knownSpellings,
    ...(await storedSpellings(
      db,
      accountId,
      unique.filter((email) => !knownSpellings.has(email)),
    )),
  ]);
  const asked = new Map<string, string[]>();
  for (const email of unique)
    for (const spelling of spellings.get(email) ?? [email]) asked.set(spelling, [...(asked.get(spelling) ?? []), email]);
  const askedFor = (spelling: string) => asked.get(spelling) ?? [];
  const softAt = new Map<string, number>();
  /** A lifted suppression: soft notices before it no longer count. */
  const liftedAt = new Map<string, number>();
  const latest = (times: Map<string, number>, email: string, at: number) => times.set(email, Math.max(times.get(email) ?? at, at));
  const optedOutMailboxes = new Set<string>();
  for (const ids of chunked([...asked.keys()])) {
    const list = placeholders(ids.length);
    // Each spelling's mailbox is its address's: mailboxKey folds the address first.
    const [suppressed, optedOut, soft] = await db.batch([
      db.prepare(`SELECT email, lifted_at FROM suppressions WHERE account_id = ? AND email IN (${list})`).bind(accountId, ...ids),
      db.prepare(`SELECT DISTINCT mailbox FROM opt_outs WHERE mailbox IN (${list})`).bind(...ids.map(mailboxKey)),
      db
        .prepare(
          `SELECT email, max(occurred_at) AS at FROM signals
           WHERE account_id = ? AND email IN (${list}) AND kind = 'bounce' AND bounce_kind = 'soft' GROUP BY email`,
        )
        .bind(accountId, ...ids),
    ]);
    for (const row of (optedOut?.results ?? []) as { mailbox: string }[]) optedOutMailboxes.add(row.mailbox);
    for (const row of (suppressed?.results ?? []) as { email: string; lifted_at: number | null }[])
      for (const email of askedFor(row.email)) {
        const state = states.get(email);
        if (row.lifted_at !== null) latest(liftedAt, email, row.lifted_at);
        else if (state) Object.assign(state, { suppressed: true, bounceKind: "hard" });
      }
    for (const row of (soft?.results ?? []) as { email: string; at: number }[])
      for (const email of askedFor(row.email)) latest(softAt, email, row.at);
  }
  for (const [email, state] of states) if (optedOutMailboxes.has(mailboxKey(email))) state.optedOut = true;
  if (softAt.size > 0) {
    const success = new Map<string, number>();
    const softSpellings = [...softAt.keys()].flatMap((email) => spellings.get(email) ?? [email]);
    for (const [spelling, at] of await latestSuccess(db, accountId, softSpellings))
      for (const email of askedFor(spelling)) latest(success, email, at);
    for (const [email, at] of softAt) {
      const state = states.get(email);
      if (state && !state.suppressed && Math.max(success.get(email) ?? -1, liftedAt.get(email) ?? -1) <= at) state.bounceKind = "soft";
    }
  }
  return states;
}

/**
 * The statement that records an email's unsubscribe once (its source id is the email's): a reader turned tracking off
 * through it, `email` theirs, or '' when the address is not known to have received it (recordReaderOptOut). With
 * `ifOptedOut`, only when the account holds the address's opt-out (optOutRecordedStatement's check): after an opt-out
 * capped in the same batch (db/opt-outs.ts recordAsGiven).
 */
export function unsubscribeStatement(
  db: D1Database,
  accountId: string,
  messageId: string,
  email: string,
  now: number,
  ifOptedOut = false,
): D1PreparedStatement {
  const values = [accountId, messageId, "unsubscribe", `u:${messageId}`, email, null, null, now];
  if (!ifOptedOut) return db.prepare(INSERT_SIGNAL).bind(...values);
  return db
    .prepare(
      `${INSERT_SIGNAL_INTO} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ${SQL_NOW_MS}
       WHERE ${optOutHeldSql("?1", "?5")}`,
    )
    .bind(...values);
}

/**
 * A reader's opt-out through an email that was not sent to the address they gave (a list, an alias, a forwarded
 * copy): this email is tracked no more, for anyone, from now on; no address is recorded, since the one given is
 * not known to have received it. The signal says that a reader turned tracking off, with no address ('').
 */
export async function recordReaderOptOut(db: D1Database, accountId: string, messageId: string, now: number): Promise<void> {
  await db.batch([
    db
      .prepare("UPDATE messages SET opted_out_at = coalesce(opted_out_at, ?) WHERE account_id = ? AND id = ?")
      .bind(now, accountId, messageId),
    unsubscribeStatement(db, accountId, messageId, "", now),
  ]);
}

/**
 * What records a recipient's opt-out through the account's email `messageId`, once: from `now` on, hits of every
 * email of the tracker to the address's mailbox store nothing, whichever account sent it (optedOutSince). The row
 * belongs to the account it was made through, which alone sees its unsubscribe signal. The opt-out is also kept on the
 * message itself, and on `removedFrom`, the account's emails the address was removed from that the caller found
 * (db/opt-outs.ts: the newest ones; the sweep finds the rest), at the earliest opt-out of the mailbox: the address may
 * no longer be among their recipients (a deleted contact), or may leave them later. With `maxPerEmail`, the row is
 * written only while fewer than that many name `messageId` (an address taken as given, db/opt-outs.ts); the caller
 * reads optOutRecordedStatement to know. An opt-out recorded after it was made (`now` in the past: held for an email
 * not registered yet, db/opt-outs.ts) keeps its own time though the account recorded the address later since, and
 * deletes the hits those emails stored from then on (coveredEventsSql).
 */
export function optOutStatements(
  db: D1Database,
  accountId: string,
  messageId: string,
  email: string,
  now: number,
  removedFrom: readonly string[],
  maxPerEmail?: number,
): D1PreparedStatement[] {
  const underCap = maxPerEmail === undefined ? "" : ` AND (SELECT count(*) FROM opt_outs WHERE message_id = ?3) < ${maxPerEmail}`;
  return [
    // The earliest time of the address's opt-outs through the account: one held for an email not registered yet is
    // recorded at the time it was typed, maybe after a later one through another email. The first email stays its.
    // Its insert, or its time moved earlier, queues the search of the other accounts' emails the address was removed
    // from (migration 0026's triggers, db/opt-out-sweeps.ts).
    db
      .prepare(
        `INSERT INTO opt_outs (account_id, email, message_id, created_at, mailbox_key) SELECT ?1, ?2, ?3, ?4, ?5 WHERE true${underCap}
         ON CONFLICT (account_id, email) DO UPDATE SET created_at = min(created_at, excluded.created_at), mailbox_key = excluded.mailbox_key`,
      )
      .bind(accountId, email, messageId, now, mailboxKey(email)),
    // On this email, and on those the address was removed from (removedFrom).
    ...keptOptOutStatements(db, email, now, [messageId, ...removedFrom]),
  ];
}

/**
 * What keeps the opt-out of `email`'s mailbox, made at `since`, on emails `ids` whose recipients may not list it (one
 * it was made through, those a deleted contact's fingerprints tie to the address: optOutStatements, and the sweep of
 * every account's emails, db/opt-out-sweeps.ts): no recipient row joins them to the opt-out, so each keeps its time,
 * the mailbox's earliest opt-out, and the hits they stored from then on are deleted (coveredEventsSql). Nothing is
 * kept while the mailbox has no opt-out (a capped insert may have written none).
 */
export function keptOptOutStatements(db: D1Database, email: string, since: number, ids: readonly string[]): D1PreparedStatement[] {
  // By id alone: an opt-out is the tracker's, whichever account's email it reaches. min() with the NULL of no row
  // would clear the time, hence the EXISTS.
  const optedOut = (chunk: readonly string[]) =>
    db
      .prepare(
        `UPDATE messages SET opted_out_at = min(coalesce(opted_out_at, ?1),
           (SELECT min(created_at) FROM opt_outs WHERE mailbox = ?2))
         WHERE id IN (${placeholders(chunk.length)}) AND EXISTS (SELECT 1 FROM opt_outs WHERE mailbox = ?2)`,
      )
      .bind(since, mailboxKey(email), ...chunk);
  const kept = [...new Set(ids)];
  const covered = coveredEventsSql("?1", "?2", "?3");
  return [
    ...chunked(kept).map(optedOut),
    // The contacts of the emails whose counted hits go below, marked for rescoring: before the delete, in the same
    // batch, so that it reads the same rows.
    db
      .prepare(
        `UPDATE contact_scores SET dirty = dirty + 1 WHERE (account_id, email) IN (SELECT r.account_id, r.email FROM message_recipients r
           WHERE r.message_id IN (SELECT e.message_id FROM events e WHERE ${covered} AND e.label IN (${COUNTED_SQL})))`,
      )
      .bind(mailboxKey(email), JSON.stringify(kept), since),
    db
      .prepare(`DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE ${covered})`)
      .bind(mailboxKey(email), JSON.stringify(kept), since),
  ];
}

/**
 * SQL for the events `e` an opt-out of mailbox `mailbox` made at `since` (SQL expressions) covers: of the emails
 * that list a recipient of that mailbox, whichever account sent them, and of those whose ids the JSON array `kept`
 * holds (the opt-out kept on them, optOutStatements), the hits from `since` on that their emails' earliest opt-out
 * (optedOutSince, the rule every hit's insert checks) no longer lets them store. A fresh opt-out finds none but a hit
 * stored while it was being recorded; one recorded after it was made, held until its email's registration or the
 * day's wait, finds those stored meanwhile. Emails by mailbox: one seek of message_recipients_by_mailbox (migration 0020), then each one's events.
 */
export function coveredEventsSql(mailbox: string, kept: string, since: string): string {
  return `e.message_id IN (SELECT message_id FROM message_recipients WHERE mailbox = ${mailbox} UNION ALL SELECT value FROM json_each(${kept}))
    AND e.occurred_at >= ${since} AND e.occurred_at >= ${optedOutSince("e.message_id")}`;
}

/** SQL: the account `account` holds the opt-out of the address `email` (SQL expressions), as stored. */
function optOutHeldSql(account: string, email: string): string {
  return `EXISTS (SELECT 1 FROM opt_outs WHERE account_id = ${account} AND email = ${email})`;
}

/** The statement that reads whether the account holds `email`'s opt-out (its row: `{ recorded: 0 | 1 }`). */
export function optOutRecordedStatement(db: D1Database, accountId: string, email: string): D1PreparedStatement {
  return db.prepare(`SELECT ${optOutHeldSql("?", "?")} AS recorded`).bind(accountId, email);
}
