// Follow-ups: the emails that wait for a reply, and "remind me if no reply in N days" reminders set in the compose
// window. A reminder is kept in extension storage by tracking id; when it comes due the tracker is asked about the
// email (GET /api/messages/<id>): a reply, a bounce, an opt-out or stopped tracking settles it silently, otherwise
// one desktop notification names the email and opens its thread. A reply detected in Gmail settles it at once
// (settleReplied, from the background's news). The clock is injected: unit tests and the end-to-end run move it.
import { z } from "zod";
import { type FollowUpItem, MAX_CAMPAIGN_DAYS_JSON, type MessageDetail, type MessageStatus } from "../../../shared/api";
import { DAY_MS } from "../../../shared/durations";
import { FOLLOW_UPS_MAX } from "../../../shared/limits";
import { accountOf } from "../../../shared/protocol";
import { loadOptions, type Options, pickDays } from "../options-store";
import { serialRunner } from "../serial";
import { counted, midSentence, noOpenWords, remindersFull, remindersFullOfRecipients, subjectShown } from "../words";
import { TrackerError } from "./api";
import { type Credentials, ofAnotherAccount, type TrackerAccess } from "./credentials";
import { type DeletedContact, withoutContact } from "./deleted-contact";
import { handler, noInput } from "./handler";
import type { KeyValueArea } from "./outbox";

export const REMINDERS_KEY = "followUpReminders";
/**
 * In development builds (npm start, the end-to-end tests) the reminders' clock is moved by the milliseconds stored
 * under this key (background/index.ts). Nothing in the extension writes it; the end-to-end tests do, to bring a
 * reminder due days ahead without waiting days. Store builds ignore it.
 */
export const CLOCK_SKEW_KEY = "clockSkewMs";
/**
 * At most this many reminders wait at once, a bound on storage (each write rewrites them all). Past it a new one is
 * refused, in words the compose window shows ("not kept: ..."), and none that waits is pushed out: every stored
 * reminder is one the rep still expects (those notified, answered or cancelled are gone already), so dropping one
 * would be a reminder that silently never comes. A rep on a large campaign learns it when ticking the box, and the
 * dashboard's list, where each can be cancelled, says the same. A typical reminder (a subject, one to three
 * recipients) takes about 300 bytes: 500 of them about 150 kB of the 10 MB chrome.storage.local gives without
 * unlimitedStorage (developer.chrome.com/docs/extensions/reference/api/storage, read 2026-12). Emails with many
 * recipients take far more (about 60 bytes a recipient, for its name and address): REMINDERS_MAX_BYTES bounds that.
 */
export const MAX_REMINDERS = 500;
/**
 * At most this many bytes of reminders, as storage counts them: past it a new reminder is refused in words, as past
 * MAX_REMINDERS, and none that waits is pushed out. chrome.storage.local holds 10 MB without unlimitedStorage,
 * "measured by the JSON stringification of every value plus every key's length", and a write that would pass it fails
 * (developer.chrome.com/docs/extensions/reference/api/storage, QUOTA_BYTES, read 2026-12); Firefox applies its
 * IndexedDB limits to storage.local (developer.mozilla.org/docs/Mozilla/Add-ons/WebExtensions/API/storage/local, read
 * 2026-12). Reminders take a fifth of it: the outbox, the feed and the options share the rest, and a reminder's email
 * is described only once it is sent (describe), within what is left of the bound: one whose recipients would pass it
 * keeps its subject and how many they are, and says so on the dashboard (recipientsNotNamed).
 * Measured (2026-12-07): a reminder of an email to 60 recipients takes about 3.9 kB, so 500 of them 2 MB; to 500
 * recipients, 32 kB, so 500 of them 16 MB, past the quota.
 */
export const REMINDERS_MAX_BYTES = 2_000_000;
/** The bytes `value` takes in storage: its JSON, in UTF-8, as Chrome counts it (see REMINDERS_MAX_BYTES). */
export const storedBytes = (value: unknown): number => new TextEncoder().encode(JSON.stringify(value)).length;
/**
 * How many bytes more than `before` the reminders `after` take in storage (fewer: negative), from those only one of
 * them holds: a reminder changed is a new object (set, describe), one left as it was the same. The list's JSON is its
 * reminders' with a comma between two.
 */
export function bytesChanged(before: readonly Reminder[], after: readonly Reminder[]): number {
  const had = new Set(before);
  const has = new Set(after);
  const bytesOf = (list: readonly Reminder[]) => list.reduce((sum, r) => sum + storedBytes(r), 0);
  const commas = (list: readonly Reminder[]) => Math.max(0, list.length - 1);
  return bytesOf(after.filter((r) => !had.has(r))) - bytesOf(before.filter((r) => !has.has(r))) + commas(after) - commas(before);
}
/**
 * Why `reminder`, a new one, is not kept beside those waiting (`all`, which take `bytes`), in words; null: it is. Those
 * of another account than `connected` count (they share the storage), and are said to be: the dashboard lists only the
 * connected one's.
 */
function whyNotKept(all: readonly Reminder[], bytes: number, reminder: Reminder, connected: string | null): string | null {
  const others = () => all.filter((r) => (accountOf(r.trackingId) ?? connected) !== connected).length;
  if (all.length >= MAX_REMINDERS) return remindersFull(MAX_REMINDERS, others());
  if (bytes + bytesChanged(all, [...all, reminder]) > REMINDERS_MAX_BYTES) return remindersFullOfRecipients(all.length, others());
  return null;
}
/** A reminder whose email the tracker never heard of this long after it was due was never sent: dropped. */
const UNSENT_GRACE_MS = 7 * DAY_MS;

/**
 * The same local time `days` calendar days after `at`: "in 3 days" at 9:00 is 9:00, across a daylight saving change
 * too (72 hours would be 8:00 or 10:00).
 */
export function daysAfter(at: number, days: number): number {
  const date = new Date(at);
  date.setDate(date.getDate() + days);
  return date.getTime();
}

export interface Reminder {
  trackingId: string;
  days: number;
  /** When the rep asked; the wait counts from the send once the tracker knows it. */
  setAt: number;
  dueAt: number;
  /** What the email is, from its registration at send time (describe): the dashboard's list names it. */
  subject?: string | null;
  /** Its recipients as Gmail names them (else their addresses). */
  recipients?: string[];
  /** Their addresses, in the same order: a deleted contact is taken out by them. Missing in reminders stored before. */
  addresses?: string[];
  /**
   * How many recipients its email has that it does not name (recipients and addresses empty): named, they would have
   * taken the reminders past REMINDERS_MAX_BYTES. The dashboard says so (words.ts recipientsNotNamed).
   */
  recipientsNotNamed?: number;
}

/** The subject and recipients of a registration as queued: it may not validate (never dropped), so read with care. */
function describedBy(request: { subject?: unknown; recipients?: unknown }): Pick<Reminder, "subject" | "recipients" | "addresses"> {
  const recipients = (Array.isArray(request.recipients) ? request.recipients : []).filter(
    (r: { email?: unknown; name?: unknown } | null) => typeof r?.email === "string" && r.email !== "",
  ) as { email: string; name?: unknown }[];
  return {
    subject: typeof request.subject === "string" ? request.subject : null,
    recipients: recipients.map((r) => (typeof r.name === "string" && r.name) || r.email),
    addresses: recipients.map((r) => r.email.toLowerCase()),
  };
}

export interface ReminderDeps {
  area: KeyValueArea;
  /** Milliseconds since the epoch: Date.now in the extension, moved by tests. */
  now(): Promise<number>;
  requireCredentials(): Promise<Credentials>;
  /** The tracker's detail of one of the account's emails. */
  detail(credentials: Credentials, trackingId: string): Promise<MessageDetail>;
  /** Whether the email is still in the outbox, not registered yet (a reminder then waits). */
  inOutbox(trackingId: string): Promise<boolean>;
  notify(reminder: Reminder, detail: MessageDetail): Promise<void>;
  /** Brings the background back at `at` (an alarm), or clears it with null. */
  schedule(at: number | null): void;
}

/** Why a due reminder says nothing: the email got an answer of some kind, or is not tracked any more. */
function settledBy(detail: MessageStatus): string | null {
  if (detail.replyCount > 0) return "replied";
  if (detail.bounce) return "bounced";
  if (detail.unsubscribed) return "opted out";
  if (detail.state === "stopped") return "tracking stopped";
  return null;
}

export class Reminders {
  /** Read-modify-writes in turn: a compose setting one while a check runs loses neither. */
  private readonly serial = serialRunner();

  /**
   * The bytes the stored reminders take (storedBytes), measured once per background start (Chrome ends an idle
   * extension service worker after 30 s, developer.chrome.com/docs/extensions/develop/concepts/service-workers/lifecycle,
   * read 2026-12-07), the first time it needs them, and kept since by each write from what it changed (bytesChanged):
   * measured whole at each look, up to REMINDERS_MAX_BYTES were serialized at every Follow-ups page load and cancel.
   * Only this background writes the reminders.
   */
  private bytes: number | null = null;

  constructor(private readonly deps: ReminderDeps) {}

  async all(): Promise<Reminder[]> {
    const stored = (await this.deps.area.get(REMINDERS_KEY))[REMINDERS_KEY];
    return Array.isArray(stored) ? (stored as Reminder[]) : [];
  }

  /** The bytes the reminders `all` (as this background last read them) take in storage. */
  private storedSize(all: readonly Reminder[]): number {
    this.bytes ??= storedBytes({ [REMINDERS_KEY]: all });
    return this.bytes;
  }

  /** Stores `reminders` in place of `before`, those read in the same turn (serial), whose objects it keeps unchanged. */
  private async write(reminders: Reminder[], before: readonly Reminder[]): Promise<void> {
    const bytes = this.bytes === null ? null : this.bytes + bytesChanged(before, reminders);
    await this.deps.area.set({ [REMINDERS_KEY]: reminders });
    this.bytes = bytes;
    const next = reminders.reduce<number | null>((at, r) => (at === null || r.dueAt < at ? r.dueAt : at), null);
    this.deps.schedule(next === null ? null : next + 1000);
  }

  /**
   * Sets (or replaces) the reminder of one email; a replaced one's description is kept. Throws, in words, for a new
   * one while MAX_REMINDERS wait, or when it would take the reminders past REMINDERS_MAX_BYTES.
   */
  set(trackingId: string, days: number): Promise<Reminder> {
    return this.serial(async () => {
      const now = await this.deps.now();
      const all = await this.all();
      const previous = all.find((r) => r.trackingId === trackingId);
      const reminder: Reminder = {
        trackingId,
        days,
        setAt: now,
        dueAt: daysAfter(now, days),
        ...(previous?.subject !== undefined
          ? {
              subject: previous.subject,
              recipients: previous.recipients ?? [],
              addresses: previous.addresses,
              recipientsNotNamed: previous.recipientsNotNamed,
            }
          : {}),
      };
      const refused = previous ? null : whyNotKept(all, this.storedSize(all), reminder, await this.connectedAccount());
      if (refused) throw new Error(refused);
      await this.write([...all.filter((r) => r.trackingId !== trackingId), reminder], all);
      return reminder;
    });
  }

  /**
   * Why a reminder the rep asks for now would not be kept, in the words `set` would throw; null when it would be. The
   * dashboard says it above its list, so a rep learns it before ticking the box. Measured with a new reminder of a
   * tracking id at its longest (TRACKING_ID_PATTERN), as `set` stores it before its email is described.
   */
  whyFull(): Promise<string | null> {
    return this.serial(async () => {
      const now = await this.deps.now();
      const longestId = `${"a".repeat(16)}.9999.${"A".repeat(22)}.${"A".repeat(22)}`;
      const reminder = { trackingId: longestId, days: 1, setAt: now, dueAt: daysAfter(now, 1) };
      const all = await this.all();
      return whyNotKept(all, this.storedSize(all), reminder, await this.connectedAccount());
    });
  }

  /** The account connected now; null while none is. */
  private connectedAccount(): Promise<string | null> {
    return this.deps.requireCredentials().then(
      (credentials) => credentials.accountId,
      () => null,
    );
  }

  /**
   * The email of a reminder was sent: its subject and recipients are kept with the reminder. False: it has none. Within
   * REMINDERS_MAX_BYTES: recipients whose names would pass it are counted, not named (recipientsNotNamed); when its
   * subject alone would, the reminder is kept as it was (the dashboard names it "An email"). Never dropped.
   */
  describe(trackingId: string, request: { subject?: unknown; recipients?: unknown }): Promise<boolean> {
    return this.serial(async () => {
      const all = await this.all();
      const previous = all.find((r) => r.trackingId === trackingId);
      if (!previous) return false;
      const bytes = this.storedSize(all);
      const fits = (reminder: Reminder) => bytes + bytesChanged([previous], [reminder]) <= REMINDERS_MAX_BYTES;
      // Named now: a count kept from an earlier description without room no longer holds.
      const { recipientsNotNamed: _countedBefore, ...named } = previous;
      const described = { ...named, ...describedBy(request) };
      const unnamed = { ...described, recipients: [], addresses: [], recipientsNotNamed: described.recipients?.length };
      const kept = [described, unnamed].find(fits);
      if (kept !== described)
        console.warn(`reminder of ${trackingId} kept with its email ${kept ? "recipients counted, not named" : "not named"}: no room`);
      if (kept)
        await this.write(
          all.map((r) => (r === previous ? kept : r)),
          all,
        );
      return true;
    });
  }

  /** Drops the reminders of these emails; returns those dropped. */
  cancel(trackingIds: readonly string[]): Promise<Reminder[]> {
    return this.cancelWhere((r) => trackingIds.includes(r.trackingId));
  }

  /** Cancels the reminders `cancelled` picks, read and written in one step (a reminder set meanwhile is not missed). */
  cancelWhere(cancelled: (reminder: Reminder) => boolean): Promise<Reminder[]> {
    return this.serial(async () => {
      const all = await this.all();
      const left = all.filter((r) => !cancelled(r));
      if (left.length !== all.length) await this.write(left, all);
      return all.filter(cancelled);
    });
  }

  /**
   * A contact the rep deleted on the tracker: the reminders of emails sent only to it go (the tracker deleted those
   * emails), and the others no longer name it.
   */
  forgetContact(contact: DeletedContact): Promise<void> {
    return this.serial(async () => {
      const all = await this.all();
      const left = all.flatMap((r) => withoutContact(r, contact) ?? []);
      if (left.some((r, i) => r !== all[i]) || left.length !== all.length) await this.write(left, all);
    });
  }

  /**
   * The tracker has news for some threads (a reply or a bounce just recorded): reminders of their emails that are
   * answered now are settled at once. `statuses` are those threads' messages as the tracker has them now.
   */
  async settleAnswered(statuses: readonly MessageStatus[]): Promise<number> {
    const answered = statuses.filter((s) => settledBy(s) !== null).map((s) => s.id);
    return answered.length > 0 ? (await this.cancel(answered)).length : 0;
  }

  /**
   * Looks at every reminder that is due: settles the answered ones, notifies the others once (then drops them),
   * and leaves the ones it could not check (tracker down, email still in the outbox) for the next look.
   */
  check(): Promise<{ notified: string[]; settled: string[] }> {
    return this.serial(async () => {
      const now = await this.deps.now();
      const all = await this.all();
      const notified: string[] = [];
      const settled: string[] = [];
      if (!all.some((r) => r.dueAt <= now)) return { notified, settled };
      const credentials = await this.deps.requireCredentials();
      // One of another account (the rep connected to another since it was set) is not this tracker's to answer: its 404
      // would drop it. It waits, kept, until the rep connects to its account again.
      const due = all.filter((r) => r.dueAt <= now && !ofAnotherAccount(credentials, r.trackingId));
      if (due.length === 0) return { notified, settled };
      const done = new Set<string>();
      const moved = new Map<string, number>();
      /** Due and unanswered: notified once the look is written. */
      const toNotify: { reminder: Reminder; detail: MessageDetail }[] = [];
      for (const reminder of due) {
        let detail: MessageDetail;
        try {
          detail = await this.deps.detail(credentials, reminder.trackingId);
        } catch (error) {
          // 404/410: never registered (a compose closed unsent) or deleted. Kept while the outbox still holds it.
          const gone = error instanceof TrackerError && (error.status === 404 || error.status === 410);
          if (gone && !(await this.deps.inOutbox(reminder.trackingId)) && now - reminder.dueAt > UNSENT_GRACE_MS) {
            done.add(reminder.trackingId);
            settled.push(reminder.trackingId);
          }
          if (!gone) break; // the tracker does not answer: every other due reminder waits too
          continue;
        }
        // The wait counts from the send: a reminder set long before sending comes due that much later.
        const sentAt = detail.sentAt ? Date.parse(detail.sentAt) : reminder.setAt;
        const dueAt = Math.max(reminder.dueAt, daysAfter(sentAt, reminder.days));
        if (dueAt > now) {
          moved.set(reminder.trackingId, dueAt);
          continue;
        }
        done.add(reminder.trackingId);
        if (settledBy(detail)) settled.push(reminder.trackingId);
        else toNotify.push({ reminder, detail });
      }
      // Written before any notification, as the feed does: a background stopped after showing one and before this
      // write would show it again when it starts.
      await this.write(
        all
          .filter((r) => !done.has(r.trackingId))
          .map((r) => (moved.has(r.trackingId) ? { ...r, dueAt: moved.get(r.trackingId) ?? r.dueAt } : r)),
        all,
      );
      for (const { reminder, detail } of toNotify) {
        // A notification the browser fails to show (or shows, then fails to record) is not tried again, and never
        // stops the others.
        await this.deps.notify(reminder, detail).then(
          () => notified.push(reminder.trackingId),
          (error: unknown) => console.warn("reminder not notified", error),
        );
      }
      return { notified, settled };
    });
  }
}

/** The notification of a due reminder: the email's subject and recipients, and what the recipient did. */
export function reminderNote(detail: MessageDetail, days: number): { title: string; message: string } {
  const who = detail.recipients.map((r) => r.name || r.email).join(", ") || "the recipient";
  const what =
    detail.clickCount > 0 ? "clicked a link" : detail.openCount > 0 ? `opened it ${detail.openCount}×` : midSentence(noOpenWords(detail));
  return {
    title: `No reply in ${counted(days, "day")}: ${subjectShown(detail.subject)}`,
    message: `To ${who}: ${what}. Click to open the thread and follow up.`,
  };
}

/** The wait that applies to an email: its campaign's, else the rep's default. */
export function followUpDays(options: Pick<Options, "followUpDays" | "followUpDaysByCampaign">, campaign: string | null): number {
  return (campaign ? options.followUpDaysByCampaign[campaign] : undefined) ?? options.followUpDays;
}

export interface FollowUp extends FollowUpItem {
  /** The Gmail address of its thread, in the account that sent it. */
  threadUrl: string;
  /** Days this email waits before it needs a follow-up (its campaign's or the default). */
  days: number;
}

/** The follow-up list as the dashboard shows it. */
export interface FollowUpList {
  followUps: FollowUp[];
  /** The rep's default wait, in days. */
  days: number;
  reminders: Reminder[];
  /** Why a new reminder would not be kept now (Reminders.whyFull): said above the dashboard's list. Null: it would be. */
  remindersFull: string | null;
  /**
   * When the tracker's list stopped at its limit (FOLLOW_UPS_MAX), how many emails need a follow-up in all: null when
   * not known (more than the tracker looks at, or a tracker that does not say). Null `cut`: nothing was left out.
   */
  cut: { total: number | null } | null;
}

/**
 * The waits as the tracker takes them (followUpsQuery): `days`, the shortest, for a tracker that knows no other;
 * the rest for one that applies each email's own wait before its limit. Campaigns that wait the default are left out,
 * and all of them, with the default, if they would make the address too long: the tracker then applies the shortest
 * to every email, and the extension leaves out what is within its wait.
 */
export function followUpWaits(options: Pick<Options, "followUpDays" | "followUpDaysByCampaign">): {
  days: number;
  defaultDays?: number;
  campaignDays?: string;
} {
  const own = Object.entries(options.followUpDaysByCampaign).filter(([, days]) => days !== options.followUpDays);
  const campaignDays = JSON.stringify(Object.fromEntries(own));
  const days = Math.min(options.followUpDays, ...own.map(([, days]) => days));
  // Measured as sent, escaped: the tracker's own limit is on the text, which escaping only lengthens.
  if (own.length > 0 && encodeURIComponent(campaignDays).length > MAX_CAMPAIGN_DAYS_JSON) {
    // The default alone would hold back a campaign that waits less for as long as the default: the shortest for all.
    return { days };
  }
  return { days, defaultDays: options.followUpDays, ...(own.length > 0 ? { campaignDays } : {}) };
}

export interface FollowUpPageDeps extends TrackerAccess {
  reminders: Reminders;
  /** Each email's thread address in the Gmail account that sent it (SentAccounts.threadUrls). */
  threadUrls(): Promise<(trackingId: string, threadId: string | null) => string>;
}

export function followUpPageHandlers(deps: FollowUpPageDeps) {
  return {
    /**
     * The "needs a follow-up" view: emails with no reply after their wait (per campaign, else the default), ranked
     * clicked, opened, nothing. Due reminders are looked at on the way, so opening the view never misses one.
     */
    listFollowUps: handler(noInput, async (): Promise<FollowUpList> => {
      const c = await deps.requireCredentials();
      const options = await loadOptions();
      void deps.reminders.check().catch((error: unknown) => console.warn("reminders not checked", error));
      const [{ messages, total }, threadUrl] = await Promise.all([deps.tracker(c).followUps(followUpWaits(options)), deps.threadUrls()]);
      const now = Date.now();
      const followUps: FollowUp[] = [];
      for (const m of messages) {
        // A tracker that applies the waits itself sent none within theirs; one before it, or a list of campaigns too
        // long to send, did.
        const days = followUpDays(options, m.campaign);
        if (m.sentAt && now - Date.parse(m.sentAt) < days * DAY_MS) continue;
        followUps.push({ ...m, days, threadUrl: threadUrl(m.id, m.threadId) });
      }
      // A tracker before `total` says nothing: a full list may have been cut.
      const known = typeof total === "number" ? total : null;
      const cut = known === null ? messages.length >= FOLLOW_UPS_MAX : known > messages.length;
      return {
        followUps,
        days: options.followUpDays,
        // The connected account's: another's are kept for when the rep connects to it again (Reminders.check).
        reminders: (await deps.reminders.all()).filter((r) => !ofAnotherAccount(c, r.trackingId)),
        remindersFull: await deps.reminders.whyFull(),
        cut: cut ? { total: known } : null,
      };
    }),
    /**
     * The dashboard's Cancel on a reminder: once the email is sent, the compose window's box is gone with it, and this
     * is the rep's only way to say "no need to remind me". False when it was not waiting any more (notified, settled).
     * With why a new one would still not be kept after it (null: it would be), for the dashboard to say.
     */
    cancelReminder: handler(
      z.object({ trackingId: z.string() }),
      async ({ trackingId }): Promise<{ cancelled: boolean; remindersFull: string | null }> => {
        const dropped = await deps.reminders.cancel([trackingId]);
        return { cancelled: dropped.length > 0, remindersFull: await deps.reminders.whyFull() };
      },
    ),
  };
}

/** `heldId` throws for a tracking id of no account this browser holds or held (handlers.ts requireHeldAccountId). */
export function followUpGmailHandlers(reminders: Reminders, heldId: (trackingId: string) => Promise<void>) {
  return {
    /** The compose window's "remind me if no reply in N days": on (days) or off (null) for its email. */
    remindIfNoReply: handler(
      z.object({ trackingId: z.string(), days: z.number().nullable() }),
      async (input): Promise<{ reminder: Reminder | null }> => {
        await heldId(input.trackingId);
        if (input.days === null) {
          await reminders.cancel([input.trackingId]);
          return { reminder: null };
        }
        const days = pickDays(input.days);
        if (days === undefined) throw new Error("a reminder waits 1 to 365 days");
        return { reminder: await reminders.set(input.trackingId, days) };
      },
    ),
  };
}
