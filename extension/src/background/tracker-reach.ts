// Whether the rep's tracker answers this browser, followed from every call the background makes to it with the stored
// credentials (api.ts onTrackerAnswer), the feed poll of every minute among them. A tracker out of reach for a few
// minutes, or refusing this browser's token, is said where the rep looks without opening anything: a "!" on the
// toolbar button (gmail-health.ts showTrackerTrouble) and one desktop notification, both taken back by the next answer.
// The Gmail tabs keep the marks and panels they last read, saying why and since when they may be out of date
// (staleReason). Kept in browser.storage.session: a service worker stopped between two polls must not forget an outage
// it already told of, nor tell of it twice; not in storage.local, where every failed call's write would reach each
// Gmail tab's storage.onChanged. A browser restarted meanwhile starts afresh, as an outage after QUIET_GAP_MS does. But
// the record of emails still waiting when an outage's notice was taken back (Unaccepted), and the time the tracker
// last ended an outage by answering while emails waited (Answered), are in storage.local: written a few times per
// outage, not per call, and an email whose registration still fails after a browser restart must be told of in the
// same words as before it. A call the browser keeps from the tracker's site (its access withdrawn) says nothing of the
// tracker: what was said of it is taken back, and the emails it keeps waiting are told so (TrackerReach.withdrawn).
import { MINUTE_MS } from "../../../shared/durations";
import { serialRunner } from "../serial";
import {
  errorText,
  subjectShown,
  TOKEN_REFUSED,
  TRACKER_ACCESS_OFF_TITLE,
  timeShown,
  tokenRefused,
  trackerAccessOffAdvice,
} from "../words";
import { type CallKind, TrackerError } from "./api";
import { type Credentials, ofAnotherAccount } from "./credentials";
import type { KeyValueArea, OutboxEntry } from "./outbox";

/**
 * How long the tracker may fail to answer before the rep is told: three periods of the feed poll (one a minute).
 * A tracker's deploy or restart, a change of Wi-Fi or a laptop coming back from sleep pass in less; three minutes
 * without one answer is an outage, and the marks the rep reads meanwhile stop changing for as long as it lasts. Sooner
 * when an email waits on it: the outbox hands it over after ATTEMPTS_BEFORE_TELLING attempts (about a minute, by
 * backoffMs), and the outage is told then (TrackerReach.waits), naming it.
 */
export const TELL_AFTER_MS = 3 * 60_000;
/**
 * Failures further apart than this start a new outage: while the browser runs, the feed is polled every minute, so a
 * longer gap means nothing was asked meanwhile (the computer asleep, the browser closed), and the first failure after
 * waking up is not the continuation of one seen the evening before.
 */
export const QUIET_GAP_MS = 5 * 60_000;

/** Whether the tracker answers, and if not why, in the words the popup and the options page show. */
export interface Reachability {
  reachable: boolean;
  problem: string | null;
  /** The tracker answers, but refuses this browser's API token (401): only connecting again mends it. */
  refused: boolean;
  /**
   * The browser withholds the tracker's site (api.ts TrackerError.access): nothing is known of whether it
   * answers, and only giving the access back mends it. Absent where not heard (TrackerReach.reachability).
   */
  accessWithdrawn?: boolean;
}

/**
 * The one derivation of Reachability from a call's failure (null: it was answered): the popup's (from the feed poll
 * it makes) and the options page's (from the calls heard, TrackerReach.reachability).
 */
export function reachabilityOf(failure: unknown): Reachability {
  if (failure === null) return { reachable: true, problem: null, refused: false };
  const refused = failure instanceof TrackerError && failure.status === 401;
  const accessWithdrawn = failure instanceof TrackerError && failure.access === "withdrawn";
  return { reachable: false, problem: refused ? TOKEN_REFUSED : errorText(failure), refused, accessWithdrawn };
}

type Heard = "answered" | "unreachable" | "refused" | "access withdrawn";

/**
 * What a call's outcome says of the tracker's reachability. Out of reach: no answer, a server error (the tracker down
 * behind its host's proxy, 502 to 504), or a success that is not the tracker's (a Wi-Fi login page). Any other answer,
 * a 404 for one email say, is the tracker answering.
 */
function heardOf(failure: unknown): Heard {
  if (!(failure instanceof TrackerError)) return "answered";
  // Said on every tab by gmail-health.ts, in its own words: not the tracker's outage, and nothing of whether it answers
  // (TrackerReach.withdrawn).
  if (failure.access === "withdrawn") return "access withdrawn";
  if (failure.status === 401) return "refused";
  return failure.status === null || failure.status >= 500 || failure.status < 300 ? "unreachable" : "answered";
}

/** The outage of the tracker at `trackerUrl`, as stored while it lasts (no entry while the tracker answers). */
interface Outage {
  trackerUrl: string;
  /** The outage's first failure and its latest. */
  since: number;
  lastFailureAt: number;
  refused: boolean;
  /** Reachability's problem for the latest failure. */
  problem: string;
  /** What the rep was told of it (the notification and the badge), if anything yet. */
  told: "unreachable" | "refused" | null;
  /**
   * A Gmail tab's read failed in it and was answered with staleReason: that tab shows "May be out of date", and its
   * conversation panels stopped reading on a refused token (conversation-panel.ts DISCONNECTED), until it reads again.
   * Absent from an outage stored before it was kept.
   */
  tabsTold?: boolean;
  /**
   * A call other than an email's delivery (the feed poll, a Gmail tab's status read: api.ts CallKind) failed in it:
   * the tracker is out of reach, not one route of it. Never so while only PUT /api/messages/:id fails, timing out or
   * answering 5xx, however its failure reads: the feed, polled every minute, is answered between. Absent from an
   * outage stored before it was kept.
   */
  othersFailed?: boolean;
}

const KEY = "trackerReach";

/** The emails the outbox holds for the tracker, by their subjects as shown, oldest first: what an outage keeps waiting. */
export interface WaitingEmails {
  /** Sent emails whose registrations wait. */
  sent: string[];
  /** Sends taken back in Gmail (Undo, Cancel send) that the tracker is still to be told to remove. */
  takenBack: string[];
}

const NONE_WAITING: WaitingEmails = { sent: [], takenBack: [] };

const waitingCount = ({ sent, takenBack }: WaitingEmails): number => sent.length + takenBack.length;

/**
 * What the outbox's entries keep waiting on the connected tracker (index.ts gives it the outbox's snapshot and the
 * stored credentials). Another account's wait on the rep connecting to it, not on this tracker (delivery.ts): named
 * here, they would be told as waiting on it, and the notice never cleared while the rep stays connected to this one.
 */
export function waitingIn(entries: OutboxEntry[], credentials: Credentials | null): WaitingEmails {
  if (!credentials) return NONE_WAITING;
  const pending = entries.filter((entry) => entry.state === "pending" && !ofAnotherAccount(credentials, entry.trackingId));
  const subjects = (list: OutboxEntry[]) => list.map((entry) => `"${subjectShown(entry.request.subject)}"`);
  return { sent: subjects(pending.filter((e) => !e.withdraw)), takenBack: subjects(pending.filter((e) => e.withdraw)) };
}

/**
 * The waiting emails in a sentence or two (each ending with a space), the first of each kind named; "" for none. The
 * tracker is `tracker`: "it", after a sentence that names it last.
 */
function waitingWords({ sent, takenBack }: WaitingEmails, tracker = "it"): string {
  const sentWords =
    sent.length === 0
      ? ""
      : sent.length === 1
        ? `The email you sent ${sent[0]} waits to be registered with ${tracker}, and is tracked once it is. `
        : `${sent.length} emails you sent wait to be registered with ${tracker}, the first ${sent[0]}, and are tracked once they are. `;
  const takenBackWords =
    takenBack.length === 0
      ? ""
      : takenBack.length === 1
        ? `The email you took back in Gmail ${takenBack[0]} waits to be removed from ${tracker}. `
        : `${takenBack.length} emails you took back in Gmail wait to be removed from ${tracker}, the first ${takenBack[0]}. `;
  return sentWords + takenBackWords;
}

/**
 * What the rep is told of an outage: the notification, and the toolbar button's sentence. True to what the Gmail tabs
 * show meanwhile: their marks and panels stay, with what the tracker said before (their tooltips say they may be out
 * of date), and only what it records from now on is neither shown nor notified. It names the emails that wait on the
 * tracker: the one notice of them (the outbox leaves an email the tracker did not answer, or refused the token for,
 * to it: outbox.ts tellTrouble), so the rep is not told the same trouble twice in two wordings.
 */
export function outageNote(
  outage: Outage,
  now: number,
  waiting: WaitingEmails = NONE_WAITING,
): { title: string; message: string; sentence: string } {
  const host = new URL(outage.trackerUrl).host;
  const waits = waitingWords(waiting);
  if (outage.refused)
    return {
      title: "Your tracker does not accept this browser's API token",
      message: `${tokenRefused(`Your tracker at ${host}`, "Mailtracker's options")}. ${waits}Until then, emails you send, or take back with Undo, wait to reach it, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
      sentence: `New opens and clicks are not shown or notified: ${tokenRefused(`your tracker (${host})`, "Mailtracker's options")}.${waits ? ` ${waits.trimEnd()}` : ""}`,
    };
  const since = timeShown(outage.since, now);
  return {
    title: "Mailtracker cannot reach your tracker",
    message: `Mailtracker cannot reach your tracker at ${host} since ${since}. ${waits}Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
    sentence: `New opens and clicks are not shown or notified: Mailtracker cannot reach your tracker (${host}) since ${since}. ${waits}Gmail's marks show what it said before.`,
  };
}

/**
 * Emails an outage's notice named, still waiting when the tracker answered again and the notice was taken back, as
 * stored while they wait (no entry once nothing does): the rep, seeing the notice go, believes them tracked. The
 * tracker may answer the feed and still not take them (one route failing, PUT /api/messages/:id timing out or answering
 * 5xx): their next failure is then told again (TrackerReach.stillWaits), once, until they are all delivered. Told at
 * once when the browser withholds the tracker's site (TrackerReach.withdrawn), as are the emails of an outage's notice
 * shown then, and again at their next failure once it is given back (TrackerReach.accessBack).
 */
interface Unaccepted {
  trackerUrl: string;
  /** Whether the rep was told of them again (waitingNote): the notification and the toolbar's sentence are shown. */
  told: boolean;
  /** The failure they were told again with, for the toolbar's sentence of a background started again. */
  problem?: string;
  /** Told that they wait for the tracker's site withheld (withdrawnNote), not that the tracker answers. */
  withdrawn?: boolean;
  /**
   * When the tracker answered the probe that "answers" was told on (TrackerReach.waits, probeOrTellWithheld): an email
   * handed over within PROBE_ANSWER_HOLDS_MS of it is told so without asking again. Absent when told otherwise
   * (stillWaits), or stored before it was kept: the next email handed over asks.
   */
  probeAnsweredAt?: number;
}

const UNACCEPTED_KEY = "trackerReachUnaccepted";

/**
 * How long the tracker's answer to a probe speaks for it: one period of the feed poll. A whole tracker gone out of
 * reach since fails the feed's next poll (Outage.othersFailed), at most a minute later, and every email after it is
 * then told the outage; the probe's answer stands for that minute and no longer, so that "answers" is never older than
 * what the popup reads. Emails handed over together (the outbox's flush) ask once; one handed over later asks again.
 */
export const PROBE_ANSWER_HOLDS_MS = MINUTE_MS;

/**
 * When the tracker at `trackerUrl` last answered after a failure heard (the answer that ended an outage), as stored
 * until the next: an email whose registration failed over calls the tracker answered between is refused by it, not
 * kept from it (TrackerReach.waits). Written once per outage, not at every answer; any answer after an email's first
 * failure ends the outage that failure began, so none that matters is missed. Nor while no email waits: one put after
 * that answer began waiting after it, and is told nothing by it.
 */
interface Answered {
  trackerUrl: string;
  at: number;
}

const ANSWERED_KEY = "trackerReachAnswered";

/**
 * What the rep is told of emails still waiting on a tracker that answers again (Unaccepted): not that it is out of
 * reach, which the feed's answers belie, but that it has not taken them, with the failure their registration met.
 */
export function unacceptedNote(
  trackerUrl: string,
  problem: string,
  waiting: WaitingEmails,
): { title: string; message: string; sentence: string } {
  const host = new URL(trackerUrl).host;
  const count = waitingCount(waiting);
  const emails = count === 1 ? "an email" : `${count} emails`;
  const waits = waitingWords(waiting);
  return {
    title: `Your tracker answers, but has not accepted ${emails} yet`,
    message: `Your tracker at ${host} answers, but has not accepted ${count === 1 ? "this email" : "these emails"} yet (${problem}). ${waits}The extension keeps trying.`,
    sentence: `Your tracker (${host}) answers, but has not accepted ${emails} yet (${problem}). ${waits.trimEnd()}`,
  };
}

/**
 * What the rep is told of emails waiting while the browser withholds the tracker's site (Chrome's "Site access",
 * Firefox's add-on permissions). Every call then fails without an answer, as with a tracker out of reach, but nothing
 * is known of the tracker: it is said neither to answer nor to be out of reach, only what gives the access back (the
 * options page's button, in the words of api.ts's failure). The toolbar's sentence is the emails alone: the button
 * says the access is off already, on every tab, in the sentence before it (gmail-health.ts noTrackerAccessSentence).
 */
export function withdrawnNote(trackerUrl: string, waiting: WaitingEmails): { title: string; message: string; sentence: string } {
  const advice = trackerAccessOffAdvice(trackerUrl);
  const waits = waitingWords(waiting, "your tracker");
  return {
    title: TRACKER_ACCESS_OFF_TITLE,
    message: `${advice}. ${waits}Until the access is given back, new opens and clicks are not notified, and Gmail's marks and panels show what your tracker said before.`,
    sentence: waits.trimEnd(),
  };
}

/** The notice of emails known to wait (Unaccepted), in the words of what keeps them. */
function waitingNote(
  { trackerUrl, problem = "", withdrawn }: Unaccepted,
  waiting: WaitingEmails,
): { title: string; message: string; sentence: string } {
  return withdrawn ? withdrawnNote(trackerUrl, waiting) : unacceptedNote(trackerUrl, problem, waiting);
}

/** One record kept under `key` in `area`, read once and then held: the background is its only writer. */
class StoredRecord<T extends object> {
  /** Undefined until read. */
  private value: T | null | undefined;

  constructor(
    private readonly area: KeyValueArea,
    private readonly key: string,
  ) {}

  async read(): Promise<T | null> {
    if (this.value === undefined) {
      const stored = (await this.area.get(this.key))[this.key];
      this.value = stored && typeof stored === "object" ? (stored as T) : null;
    }
    return this.value;
  }

  async write(value: T | null): Promise<void> {
    this.value = value;
    await this.area.set({ [this.key]: value });
  }
}

export interface TrackerReachDeps {
  /** Where the outage is kept (storage.session): it outlives a stopped service worker, not a browser restart. */
  area: KeyValueArea;
  /** Where Unaccepted is kept (storage.local): it outlives a browser restart, as the emails waiting do. */
  lasting: KeyValueArea;
  now?: () => number;
  /** Shows the one notification of an outage (replacing the one shown before), or takes it away (null). */
  notify(note: { title: string; message: string } | null): Promise<void>;
  /** Puts the sentence on the toolbar button of every tab, or takes it away (null). */
  toolbar(sentence: string | null): Promise<void>;
  /**
   * Has every Gmail tab read its marks and panels again at once (the background's news, which they watch): the
   * tracker answers again after an outage they or the rep were told of. Else a panel stopped by a refused token
   * waited for the feed's next news or a reload, and a mark for its retry, up to a minute, to lose "May be out of date".
   */
  readAgain(): void;
  /** The emails the outbox keeps waiting on the tracker now (waitingIn): an outage's notice names them. None if absent. */
  waiting?(): Promise<WaitingEmails>;
  /**
   * Asks the tracker at `trackerUrl` whether it answers, by its cheapest call (api.ts probeTracker, GET /): resolves if
   * it does, rejects if not, within PROBE_TIMEOUT_MS (probeTracker's fetch is aborted then: a tracker that hangs is
   * one that does not answer). Not heard (no token): its answer must not end the outage that names the emails waiting.
   */
  probe(trackerUrl: string): Promise<unknown>;
}

/**
 * `outage` if it is the tracker at `trackerUrl`'s and still going at `now` (its last failure within QUIET_GAP_MS: a
 * longer silence ends it), else null.
 */
function ongoingOutage(outage: Outage | null, trackerUrl: string, now: number): Outage | null {
  return outage?.trackerUrl === trackerUrl && now - outage.lastFailureAt <= QUIET_GAP_MS ? outage : null;
}

export class TrackerReach {
  /** Every read-modify-write in turn: a success and a failure heard at once must not undo each other. */
  private readonly serial = serialRunner();
  /** The stored outage (storage.session). */
  private readonly outage: StoredRecord<Outage>;
  /** The stored Unaccepted (storage.local). */
  private readonly unaccepted: StoredRecord<Unaccepted>;
  /** The stored Answered (storage.local): the emails it speaks of outlive a browser restart. */
  private readonly answered: StoredRecord<Answered>;

  constructor(private readonly deps: TrackerReachDeps) {
    this.outage = new StoredRecord(deps.area, KEY);
    this.unaccepted = new StoredRecord(deps.lasting, UNACCEPTED_KEY);
    this.answered = new StoredRecord(deps.lasting, ANSWERED_KEY);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Whether any email waits on the tracker (none when that cannot be read). */
  private async anyWaiting(): Promise<boolean> {
    return waitingCount(await this.waiting()) > 0;
  }

  /**
   * Tells the rep of the emails waiting, in the words of `told` (waitingNote: the tracker answers but has not accepted
   * them, or its site is withheld), and keeps it.
   */
  private async tellWaiting(told: Unaccepted, waiting: WaitingEmails): Promise<void> {
    const { title, message, sentence } = waitingNote(told, waiting);
    await Promise.all([this.deps.notify({ title, message }), this.deps.toolbar(sentence)]);
    await this.unaccepted.write(told);
  }

  private async untell(outage: Outage | null): Promise<void> {
    if (outage?.told) await Promise.all([this.deps.notify(null), this.deps.toolbar(null)]);
  }

  /**
   * A call to the tracker at `trackerUrl` was answered (`failure` null) or failed. `connected` says, once it is this
   * one's turn, whether the call was made with the stored credentials: a token being tried on the options page says
   * nothing of the one this browser holds. `call` says which call it was (api.ts CallKind: another call unless said).
   */
  heard(
    trackerUrl: string,
    failure: unknown,
    { connected = async () => true, call = "other" }: { connected?: () => Promise<boolean>; call?: CallKind } = {},
  ): Promise<void> {
    return this.serial(async () => {
      if (!(await connected())) return;
      const kind = heardOf(failure);
      if (kind === "access withdrawn") return this.withdrawn(trackerUrl);
      await this.accessBack();
      const before = await this.outage.read();
      if (kind === "answered") {
        const unaccepted = await this.unaccepted.read();
        // The outbox read once, and only when it matters: an outage ending, or emails known to wait.
        const anyWaiting = before || unaccepted ? await this.anyWaiting() : false;
        if (before) {
          if (anyWaiting) await this.answered.write({ trackerUrl, at: this.now() });
          await this.outage.write(null);
          await this.untell(before);
          if (before.told || before.tabsTold) this.deps.readAgain();
          // Its notice (which named every email waiting then) taken back: one still waiting is told again if it fails.
          if (before.told && before.trackerUrl === trackerUrl && anyWaiting) {
            await this.unaccepted.write({ trackerUrl, told: false });
            return;
          }
        }
        // Some known to wait: once none does, their notice goes.
        if (unaccepted && !anyWaiting) {
          await this.unaccepted.write(null);
          if (unaccepted.told) await Promise.all([this.deps.notify(null), this.deps.toolbar(null)]);
        }
        return;
      }
      const now = this.now();
      const current = before?.trackerUrl === trackerUrl ? before : null;
      if (before && !current) await this.untell(before);
      const continued = ongoingOutage(current, trackerUrl, now);
      const outage: Outage = {
        trackerUrl,
        since: continued?.since ?? now,
        lastFailureAt: now,
        refused: kind === "refused",
        problem: reachabilityOf(failure).problem ?? "",
        told: current?.told ?? null,
        tabsTold: current?.tabsTold ?? false,
        othersFailed: continued?.othersFailed === true || call !== "delivery",
      };
      // A refusal at once: it is never a blip, and every call fails until the rep connects again.
      const due = outage.refused ? "refused" : now - outage.since >= TELL_AFTER_MS ? "unreachable" : null;
      if (due !== null && due !== outage.told) await this.tell(outage, due, now);
      await this.outage.write(outage);
    });
  }

  /**
   * A call the browser kept from the tracker's site at `trackerUrl` (its access withdrawn): nothing is heard of the
   * tracker until it is given back, and what was heard before no longer says why emails wait. The outage's record goes
   * (the Gmail tabs told of it read again, their failures now saying the access: staleReason), and its notice with it;
   * the emails a notice named (the outage's, or one taken back since: Unaccepted) that still wait are told at once
   * what keeps them and what gives it back (withdrawnNote), in its place: else the rep would read "cannot reach" or
   * "answers" and wait for the tracker, or believe them tracked. Others are told by the outbox, in the words of their
   * failure (waits), or named in this notice once shown. `handedOver`: an email the outbox hands over now (waits) is
   * told so at once.
   */
  private async withdrawn(trackerUrl: string, handedOver = false): Promise<void> {
    const before = await this.outage.read();
    const unaccepted = await this.unaccepted.read();
    if (before) {
      await this.outage.write(null);
      if (before.told || before.tabsTold) this.deps.readAgain();
    }
    if (unaccepted?.withdrawn) return;
    const waiting = before?.told || unaccepted || handedOver ? await this.waiting() : NONE_WAITING;
    if (waitingCount(waiting) > 0) {
      await this.tellWaiting({ trackerUrl, told: true, withdrawn: true }, waiting);
      return;
    }
    await this.untell(before);
  }

  /**
   * A call heard that the browser let through: the tracker's site is no longer withheld. The notice that emails wait
   * for it (withdrawnNote) is taken back, and those still waiting are told again at their next failure (stillWaits;
   * the outbox attempts them at once: index.ts, permissions.onAdded), in the words of then.
   */
  private async accessBack(): Promise<void> {
    const unaccepted = await this.unaccepted.read();
    if (!unaccepted?.withdrawn) return;
    await this.unaccepted.write({ trackerUrl: unaccepted.trackerUrl, told: false });
    await Promise.all([this.deps.notify(null), this.deps.toolbar(null)]);
  }

  /** Shows the outage's notification and toolbar sentence, replacing those shown before, with the emails waiting now. */
  private async tell(outage: Outage, told: "unreachable" | "refused", now: number): Promise<void> {
    outage.told = told;
    const { title, message, sentence } = outageNote({ ...outage, refused: told === "refused" }, now, await this.waiting());
    await Promise.all([this.deps.notify({ title, message }), this.deps.toolbar(sentence)]);
  }

  /** The emails waiting on the tracker now; none when they cannot be read (the outage is told all the same). */
  private async waiting(): Promise<WaitingEmails> {
    try {
      return (await this.deps.waiting?.()) ?? NONE_WAITING;
    } catch (error) {
      console.warn("waiting emails not read", error);
      return NONE_WAITING;
    }
  }

  /**
   * An email registered with (or withdrawn from) the tracker at `trackerUrl`, waiting since `waitingSince`, still waits
   * after the outbox's attempts (ATTEMPTS_BEFORE_TELLING), for want of an answer or for a refused token: true when this
   * outage's notification now names it, in place of the outbox's own notice (outbox.ts tellTrouble). Told at once,
   * however young the outage (a failure after a long silence starts one anew: QUIET_GAP_MS), and the one notification
   * shown already is replaced (the same id), its count of waiting emails brought up to date. False when there is no
   * outage of that tracker to name it, its last failure too long ago to be this email's (the tracker answered since,
   * or its failure was not heard here: another token's, the site's access withdrawn): the outbox then tells of it in
   * its own words, so that an email waiting is never left untold; unless the tracker's site is withheld and its notice
   * shown (TrackerReach.withdrawn), which then names it too.
   *
   * When the tracker answered since the email began waiting (the feed, between its attempts: one route failing,
   * PUT /api/messages/:id timing out or answering 5xx), "cannot reach your tracker" would be false: it is told in the
   * words of a tracker that answers but has not accepted it (unacceptedNote), as stillWaits tells it, which then
   * tells it no more. Unless a call other than the emails' deliveries failed in this outage (Outage.othersFailed):
   * then the whole tracker went out of reach after that answer, and "answers" would be false. Its HTTP status cannot
   * say which: a route that hangs fails without one, as a tracker out of reach does. Nor can the calls heard when the
   * email's attempt is the outage's first failure, before the feed's next poll: the tracker is asked then
   * (probeOrTellWithheld), and "answers" said only if it does; its answer names the emails handed over within
   * PROBE_ANSWER_HOLDS_MS after it without asking again, not one handed over later, which may be the first to meet a
   * whole tracker gone since (the feed's poll not failed yet): that one asks again.
   */
  waits(trackerUrl: string, waitingSince: number): Promise<boolean> {
    return this.serial(async () => {
      const unaccepted = await this.unaccepted.read();
      if (unaccepted?.withdrawn && unaccepted.trackerUrl === trackerUrl) {
        // Shown again, as tell does an outage's: the same id, its count brought up to date.
        await this.tellWaiting(unaccepted, await this.waiting());
        return true;
      }
      const now = this.now();
      const outage = ongoingOutage(await this.outage.read(), trackerUrl, now);
      if (!outage) return false;
      // An outage told of already (three minutes without an answer since) stays told in its words, as does one in
      // which another call failed. An answer heard before a silence (QUIET_GAP_MS: the browser closed, the computer
      // asleep) says nothing of the tracker since.
      const answered = outage.refused || outage.told || outage.othersFailed ? null : await this.answered.read();
      const answeredSince = answered?.trackerUrl === trackerUrl && answered.at > waitingSince && outage.since - answered.at <= QUIET_GAP_MS;
      // Asked once a minute at most: an email told that the tracker answers, its probe answered within
      // PROBE_ANSWER_HOLDS_MS, names the next ones too. Later, the tracker may have gone since (the feed's poll not yet
      // failed): asked again.
      const held =
        unaccepted?.trackerUrl === trackerUrl && unaccepted.told && !unaccepted.withdrawn ? unaccepted.probeAnsweredAt : undefined;
      const probeAnsweredAt = !answeredSince
        ? undefined
        : held !== undefined && now - held <= PROBE_ANSWER_HOLDS_MS
          ? held
          : await this.probeOrTellWithheld(trackerUrl);
      // The probe refused by the browser for the tracker's site withheld since: told so already (probeOrTellWithheld).
      if (probeAnsweredAt === "access withdrawn") return true;
      if (probeAnsweredAt !== undefined) {
        // Shown again for each email handed over, as tell does: the same id, its count brought up to date.
        await this.tellWaiting({ trackerUrl, told: true, problem: outage.problem, probeAnsweredAt }, await this.waiting());
        return true;
      }
      await this.tellOutage(outage, now);
      return true;
    });
  }

  /**
   * When the tracker at `trackerUrl` answered, asked now (deps.probe) before an email waiting on it is told it answers
   * (undefined: it did not): only deliveries failed in the outage so far, which a whole tracker gone out of reach since
   * its last answer does as well as one route failing, until the feed's next poll (a minute at most) fails too. A
   * failure, or no answer within PROBE_TIMEOUT_MS (a tracker that hangs: deps.probe rejects then), is the tracker out of
   * reach: the outage is told then, and names the emails after this one without asking again (waits); an answer names
   * those handed over in the next PROBE_ANSWER_HOLDS_MS (Unaccepted.probeAnsweredAt). "access withdrawn": the browser
   * refused the probe for the tracker's site withheld (api.ts probeTracker), which says nothing of the tracker: told
   * here what keeps the emails, as any call kept from it is (withdrawn; the probe is not heard), in place of the
   * caller's notice, never that the tracker answers or is out of reach (waits, stillWaits). Refused so but failing only
   * once the access was given back, it is made again (api.ts reaching): its answer is that second call's, the lock
   * held twice as long at most. Asked under the lock: what comes meanwhile (the calls heard, a Gmail tab's failed read
   * asking staleReason, the options page asking reachability) waits that long at most, as it did for the call that
   * failed; never an email's delivery (the outbox tells without waiting on it: index.ts tellOutboxTrouble).
   */
  private async probeOrTellWithheld(trackerUrl: string): Promise<number | "access withdrawn" | undefined> {
    const answer = await this.deps.probe(trackerUrl).then(
      () => this.now(),
      (failure: unknown) => heardOf(failure),
    );
    if (typeof answer === "number") return answer;
    if (answer !== "access withdrawn") return undefined;
    await this.withdrawn(trackerUrl, true);
    return answer;
  }

  /** Tells of the outage at once, however young, naming the emails waiting now (waits, stillWaits). */
  private async tellOutage(outage: Outage, now: number): Promise<void> {
    await this.tell(outage, outage.refused ? "refused" : "unreachable", now);
    await this.outage.write(outage);
  }

  /**
   * An email told of already (ATTEMPTS_BEFORE_TELLING) failed again for want of an answer of the tracker at
   * `trackerUrl`, with `problem` (outbox.ts tellTrouble). Told again when the outage's notice that named it was taken
   * back, the tracker answering again (Unaccepted), in words that do not say it is out of reach (unacceptedNote):
   * else the rep, seeing the notice go, believes it tracked. Once for that trouble, not at every attempt: until the
   * emails waiting are delivered, or an outage's notice takes the place of this one (and its end sets it again).
   * Nothing while an outage's notice is shown (it names the emails waiting), nor for an email its own notice told of
   * (the outbox's, which is never taken back). The whole tracker out of reach again (a call other than the emails'
   * deliveries failed in this outage: Outage.othersFailed; or, none yet, the tracker does not answer when asked:
   * probeOrTellWithheld) is told as the outage, at once, as waits tells it: not that the tracker answers. Nor is the
   * tracker's site withheld: its first call kept from it, heard before this email's failure comes here, told it
   * (withdrawn); or, withheld since, the probe kept from it tells it (probeOrTellWithheld).
   */
  stillWaits(trackerUrl: string, problem: string): Promise<void> {
    return this.serial(async () => {
      const read = await this.outage.read();
      const outage = read?.trackerUrl === trackerUrl ? read : null;
      if (outage?.told) return;
      const unaccepted = await this.unaccepted.read();
      if (unaccepted?.trackerUrl !== trackerUrl || unaccepted.told) return;
      const waiting = await this.waiting();
      if (waitingCount(waiting) === 0) return;
      const now = this.now();
      const ongoing = ongoingOutage(outage, trackerUrl, now);
      const probed = ongoing && !ongoing.othersFailed ? await this.probeOrTellWithheld(trackerUrl) : undefined;
      // The tracker's site withheld since the email's failure: told so (probeOrTellWithheld).
      if (probed === "access withdrawn") return;
      if (ongoing && probed === undefined) await this.tellOutage(ongoing, now);
      else await this.tellWaiting({ trackerUrl, told: true, problem }, waiting);
    });
  }

  /** The tracker at `trackerUrl`, as last heard: answering unless a call failed since the last answer. */
  reachability(trackerUrl: string): Promise<Reachability> {
    return this.serial(async () => {
      const outage = await this.outage.read();
      return outage?.trackerUrl === trackerUrl
        ? { reachable: false, problem: outage.problem, refused: outage.refused }
        : reachabilityOf(null);
    });
  }

  /**
   * A Gmail tab's read failed with `error`: why what it drew before may be out of date, in its words (words.ts
   * outOfDate), or null for a failure that says nothing of the tracker's reachability (the failure's own words say it
   * then: the tracker's site withheld, and what gives it back, say). After the failure is heard; the outage it belongs
   * to then has the tabs read again when it ends.
   */
  staleReason(error: unknown): Promise<string | null> {
    return this.serial(async () => {
      const kind = heardOf(error);
      if (kind === "answered" || kind === "access withdrawn") return null;
      const outage = await this.outage.read();
      // Written once an outage: its end has the tabs read again (readAgain).
      if (outage && !outage.tabsTold) await this.outage.write({ ...outage, tabsTold: true });
      if (kind === "refused") return TOKEN_REFUSED;
      const now = this.now();
      return `the tracker could not be reached since ${timeShown(outage?.since ?? now, now)}`;
    });
  }

  /** Another tracker or account connected, or none: what was heard of the one before no longer speaks for it. */
  forget(): Promise<void> {
    return this.serial(async () => {
      const before = await this.outage.read();
      if (await this.answered.read()) await this.answered.write(null);
      const unaccepted = await this.unaccepted.read();
      if (unaccepted) {
        await this.unaccepted.write(null);
        if (unaccepted.told && !before?.told) await Promise.all([this.deps.notify(null), this.deps.toolbar(null)]);
      }
      if (!before) return;
      await this.outage.write(null);
      await this.untell(before);
    });
  }

  /**
   * A background started again: the toolbar's sentence of an outage it told of is drawn again (the badge of every tab
   * is drawn anew from the background's memory); the notification, shown or dismissed, is the rep's already. Emails
   * told again (Unaccepted) that were all delivered or withdrawn before an answer was heard (the background stopped
   * between) are not said to wait: their record goes, and their notification with it, as the next answer would.
   */
  restore(): Promise<void> {
    return this.serial(async () => {
      const outage = await this.outage.read();
      if (!outage?.told) {
        const unaccepted = await this.unaccepted.read();
        if (!unaccepted) return;
        const waiting = await this.waiting();
        if (waitingCount(waiting) === 0) {
          await this.unaccepted.write(null);
          if (unaccepted.told) await this.deps.notify(null);
          return;
        }
        if (unaccepted.told) await this.deps.toolbar(waitingNote(unaccepted, waiting).sentence);
        return;
      }
      await this.deps.toolbar(outageNote({ ...outage, refused: outage.told === "refused" }, this.now(), await this.waiting()).sentence);
    });
  }
}
