// The account's contacts scored from scratch, the plain way: every recipient, counted event and reply read as rows
// and summed in JavaScript by engagementSum (shared/engagement.ts, docs/engagement.md). What the tracker shows comes
// from stored keys and from scoredContacts' SQL; the tests compare both with this.
import { env } from "cloudflare:workers";
import { type EngagementActivity, engagementSum, roundedScore } from "../../shared/engagement";
import { type ContactAggregate, MAX_RANK } from "../src/db/contacts";
import { COUNTED_SQL } from "../src/db/sql";

interface RecipientRow {
  email: string;
  name: string | null;
  message_id: string;
  sent_at: number | null;
  campaign: string | null;
  recipient_count: number;
}

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
  const byMessage = new Map<string, string[]>();
  const sharers = new Map<string, number>();
  const contacts = new Map<string, ContactAggregate & { activities: EngagementActivity[] }>();
  for (const row of (recipients?.results ?? []) as RecipientRow[]) {
    byMessage.set(row.message_id, [...(byMessage.get(row.message_id) ?? []), row.email]);
    sharers.set(row.message_id, row.recipient_count);
    const contact = contacts.get(row.email) ?? {
      email: row.email,
      name: null,
      sent: 0,
      lastSentAt: null,
      lastActivityAt: null,
      campaigns: new Set<string>(),
      score: 0,
      exactScore: 0,
      spellings: [row.email],
      activities: [],
    };
    contacts.set(row.email, contact);
    contact.sent++;
    if (row.name) contact.name = row.name; // oldest first: the latest name wins
    contact.lastSentAt = Math.max(contact.lastSentAt ?? 0, row.sent_at ?? 0) || null;
    if (row.campaign !== null) contact.campaigns.add(row.campaign);
  }
  const shareOf = (messageId: string) => 1 / Math.max(byMessage.get(messageId)?.length ?? 0, sharers.get(messageId) ?? 0);
  const touch = (contact: ContactAggregate, at: number) => {
    contact.lastActivityAt = Math.max(contact.lastActivityAt ?? at, at);
  };
  // Every counted event is an activity of each recipient of its email, but only the first MAX_RANK of each email and
  // kind in time are scored (repeats beyond them add under 0.1 %); the latest is each one's last activity.
  const rank = new Map<string, number>();
  for (const row of (events?.results ?? []) as { message_id: string; kind: "open" | "click"; occurred_at: number }[]) {
    const key = `${row.message_id} ${row.kind}`;
    const ranked = (rank.get(key) ?? 0) + 1;
    rank.set(key, ranked);
    for (const email of byMessage.get(row.message_id) ?? []) {
      const contact = contacts.get(email);
      if (!contact) continue;
      if (ranked <= MAX_RANK)
        contact.activities.push({ emailId: row.message_id, kind: row.kind, at: row.occurred_at, share: shareOf(row.message_id) });
      touch(contact, row.occurred_at);
    }
  }
  // A reply from a recipient is that recipient's; from anyone else, it is shared among the recipients.
  for (const row of (replies?.results ?? []) as { message_id: string; email: string; occurred_at: number }[]) {
    const emails = byMessage.get(row.message_id) ?? [];
    const own = emails.includes(row.email);
    for (const email of own ? [row.email] : emails) {
      const contact = contacts.get(email);
      if (!contact) continue;
      contact.activities.push({ emailId: row.message_id, kind: "reply", at: row.occurred_at, share: own ? 1 : shareOf(row.message_id) });
      touch(contact, row.occurred_at);
    }
  }
  return [...contacts.values()].map(({ activities, ...contact }) => {
    const exact = engagementSum(activities, now);
    return { ...contact, score: roundedScore(exact), exactScore: exact };
  });
}
