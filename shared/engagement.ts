// The engagement score of a contact (docs/engagement.md): pure, so the tracker and any client compute the same number.
import { DAY_MS } from "./durations";

export const ENGAGEMENT_HALF_LIFE_DAYS = 14;
export const ENGAGEMENT_WEIGHTS = { open: 1, click: 3, reply: 10 } as const;
/** Each further activity of the same kind on the same email counts this fraction of the one before. */
export const ENGAGEMENT_REPEAT_FACTOR = 0.5;

/** The half-life in milliseconds, as the tracker's stored keys and its SQL decay scores. */
export const ENGAGEMENT_HALF_LIFE_MS = ENGAGEMENT_HALF_LIFE_DAYS * DAY_MS;

export type EngagementKind = keyof typeof ENGAGEMENT_WEIGHTS;

export interface EngagementActivity {
  /** The email (tracking id) the activity belongs to: repeats are counted per email and kind. */
  emailId: string;
  kind: EngagementKind;
  /** Milliseconds since the epoch. */
  at: number;
  /** 1 when attributed to this contact alone, 1/n when shared among the n recipients of the email. */
  share: number;
}

/** Decay factor for an activity `ageMs` old: 1 now, 0.5 after one half-life. Future times count as now. */
export function recencyFactor(ageMs: number, halfLifeDays = ENGAGEMENT_HALF_LIFE_DAYS): number {
  return 2 ** (-Math.max(0, ageMs) / (halfLifeDays * DAY_MS));
}

/**
 * The score at `now`: Σ weight(kind) × repeat^(rank−1) × share × 2^(−age/halfLife), where rank orders the activities
 * of one kind on one email by time (ties keep input order). Only pass counted activity: machine and sender events
 * never count. Rounded to 2 decimals.
 */
export function engagementScore(activities: readonly EngagementActivity[], now: number): number {
  return roundedScore(engagementSum(activities, now));
}

/** A score as shown: rounded to 2 decimals. */
export function roundedScore(sum: number): number {
  return Math.round(sum * 100) / 100;
}

/** The score at `now` before rounding (engagementScore rounds it): what a ranking by score compares. */
export function engagementSum(activities: readonly EngagementActivity[], now: number): number {
  const groups = new Map<string, EngagementActivity[]>();
  for (const activity of activities) {
    const key = `${activity.kind}\u0000${activity.emailId}`;
    const group = groups.get(key);
    if (group) group.push(activity);
    else groups.set(key, [activity]);
  }
  let score = 0;
  for (const group of groups.values()) {
    const ordered = group.map((a, i) => ({ a, i })).sort((x, y) => x.a.at - y.a.at || x.i - y.i);
    ordered.forEach(({ a }, rank) => {
      const share = Number.isFinite(a.share) ? Math.min(1, Math.max(0, a.share)) : 0;
      score += ENGAGEMENT_WEIGHTS[a.kind] * ENGAGEMENT_REPEAT_FACTOR ** rank * share * recencyFactor(now - a.at);
    });
  }
  return score;
}
