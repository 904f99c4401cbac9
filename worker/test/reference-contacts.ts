// The account's people scored from scratch, the plain way: every recipient, counted event and reply read as rows and
// summed in JavaScript by engagementSum (shared/engagement.ts, docs/engagement.md). What the tracker shows comes from
// stored keys and from scoredContacts' SQL; the tests compare both with this.
//
// One person per address as foldAddress gives it (docs/protocol.md §13): `jörg@münchen.de`, `jörg@xn--mnchen-3ya.de`
// and an NFD "ö" are one person, with every spelling's emails, shown as the spelling readableFirst puts first. An
// email counts once for a person however many of their spellings it lists, and a reply from any of their spellings
// is their own.
//
// shown, reference and expectShownAs put the two side by side: a contact as the list or its page shows it, and as
// this computation gives it, compared with the tolerance a stored score's rounding needs.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { ContactSummary } from "../../shared/api";
import { foldAddress } from "../../shared/email";
import { type EngagementActivity, engagementSum, roundedScore } from "../../shared/engagement";
import { type ContactAggregate, MAX_RANK, readableFirst } from "../src/db/contacts";
import { COUNTED_SQL } from "../src/db/sql";
import { iso } from "../src/time";
import type { TestAccount } from "./helpers";

interface RecipientRow {
  email: string;
  name: string | null;
  message_id: string;
  sent_at: number | null;
  campaign: string | null;
  recipient_count: number;
}

type Person = ContactAggregate & { activities: EngagementActivity[]; emails: Set<string> };

export async function referenceContacts(accountId: string, now: number): Promise<ContactAggregate[]> {
  const [recipients, events, replies] = await env.DB.batch([
    env.DB.prepare(
      `SELECT r.email, r.name, r.message_id, m.sent_at, m.campaign, m.recipient_count
       FROM message_recipients r JOIN messages m ON m.id = r.message_id
       WHERE m.account_id = ?1 AND m.deleted_at IS NULL ORDER BY m.sent_at, m.id`,
    ).bind(accountId),
    env.DB.prepare(
      `SELECT message_id, kind, occurred_at FROM events WHERE account_id = ?1 AND label IN (${COUNTED_SQL}) ORDER BY occurred_at, seq`,
    ).bind(accountId),
    env.DB.prepare(
      "SELECT message_id, email, occurred_at FROM signals WHERE account_id = ?1 AND kind = 'reply' ORDER BY occurred_at, seq",
    ).bind(accountId),
  ]);
  // Each email's people, by folded address.
  const byMessage = new Map<string, Set<string>>();
  const sharers = new Map<string, number>();
  const people = new Map<string, Person>();
  for (const row of (recipients?.results ?? []) as RecipientRow[]) {
    const folded = foldAddress(row.email);
    byMessage.set(row.message_id, (byMessage.get(row.message_id) ?? new Set()).add(folded));
    sharers.set(row.message_id, row.recipient_count);
    const person: Person = people.get(folded) ?? {
      email: row.email,
      name: null,
      sent: 0,
      lastSentAt: null,
      lastActivityAt: null,
      campaigns: new Set<string>(),
      score: 0,
      exactScore: 0,
      spellings: [],
      activities: [],
      emails: new Set(),
    };
    people.set(folded, person);
    if (!person.spellings.includes(row.email)) person.spellings.push(row.email);
    if (!person.emails.has(row.message_id)) person.sent++;
    person.emails.add(row.message_id);
    if (row.name) person.name = row.name; // oldest first: the latest name wins
    person.lastSentAt = Math.max(person.lastSentAt ?? 0, row.sent_at ?? 0) || null;
    if (row.campaign !== null) person.campaigns.add(row.campaign);
  }
  const shareOf = (messageId: string) => 1 / Math.max(byMessage.get(messageId)?.size ?? 0, sharers.get(messageId) ?? 0);
  const touch = (person: ContactAggregate, at: number) => {
    person.lastActivityAt = Math.max(person.lastActivityAt ?? at, at);
  };
  // Every counted event is an activity of each person on its email, but only the first MAX_RANK of each email and
  // kind in time are scored (repeats beyond them add under 0.1 %); the latest is each one's last activity.
  const rank = new Map<string, number>();
  for (const row of (events?.results ?? []) as { message_id: string; kind: "open" | "click"; occurred_at: number }[]) {
    const key = `${row.message_id} ${row.kind}`;
    const ranked = (rank.get(key) ?? 0) + 1;
    rank.set(key, ranked);
    for (const folded of byMessage.get(row.message_id) ?? []) {
      const person = people.get(folded);
      if (!person) continue;
      if (ranked <= MAX_RANK)
        person.activities.push({ emailId: row.message_id, kind: row.kind, at: row.occurred_at, share: shareOf(row.message_id) });
      touch(person, row.occurred_at);
    }
  }
  // A reply from a person on the email, in any spelling, is that person's; from anyone else, it is shared among them.
  for (const row of (replies?.results ?? []) as { message_id: string; email: string; occurred_at: number }[]) {
    const onEmail = byMessage.get(row.message_id) ?? new Set<string>();
    const from = foldAddress(row.email);
    const own = onEmail.has(from);
    for (const folded of own ? [from] : onEmail) {
      const person = people.get(folded);
      if (!person) continue;
      person.activities.push({ emailId: row.message_id, kind: "reply", at: row.occurred_at, share: own ? 1 : shareOf(row.message_id) });
      touch(person, row.occurred_at);
    }
  }
  return [...people.values()].map(({ activities, emails, ...person }) => {
    const exact = engagementSum(activities, now);
    const spellings = person.spellings.sort(readableFirst);
    return { ...person, email: spellings[0] ?? person.email, spellings, score: roundedScore(exact), exactScore: exact };
  });
}

/** What the list and a contact's page show of a contact, and what a from-scratch computation gives, alike. */
export function shown(c: ContactSummary | ContactAggregate, score = c.score) {
  const at = (value: string | number | null) => (typeof value === "number" ? iso(value) : value);
  return [c.email, score, c.sent, c.name, at(c.lastActivityAt), at(c.lastSentAt)];
}
export type Shown = ReturnType<typeof shown>;

/**
 * Every contact by score as a from-scratch computation ranks them (score, then email), with its score before rounding:
 * expectShownAs compares it with what the tracker shows.
 */
export async function reference(account: TestAccount) {
  const now = Date.now();
  return (await referenceContacts(account.accountId, now))
    .sort((a, b) => b.exactScore - a.exactScore || (a.email < b.email ? -1 : 1))
    .map((c) => shown(c, c.exactScore));
}

/**
 * A shown score comes from a stored key (scoreAt: a grid of 5 in 10^9 and 7 significant digits) a moment before or
 * after the reference was computed (2^(−1 s / 14 days) is 1 − 6 × 10^-7). So within a hundred-thousandth of the
 * exact score it may round either way: the new recipients of a shared email score exactly 2.375, and 2.37 or 2.38
 * are both right a second later. Anything else must be what the reference rounds to.
 */
const SCORE_TOLERANCE = 1e-5;
export function expectShownAs(actual: Shown[], expected: Shown[]) {
  const withoutScore = (rows: Shown[]) => rows.map(([email, , ...rest]) => [email, ...rest]);
  expect(withoutScore(actual)).toEqual(withoutScore(expected));
  const expectedScores = expected.map(([, exact], i) => {
    const either = [roundedScore(Number(exact) * (1 - SCORE_TOLERANCE)), roundedScore(Number(exact) * (1 + SCORE_TOLERANCE))];
    const score = actual[i]?.[1];
    return typeof score === "number" && either.includes(score) ? score : roundedScore(Number(exact));
  });
  expect(actual.map(([, score]) => score)).toEqual(expectedScores);
}
