// Whether the rep's tracker answers this browser, followed from every call the background makes to it with the stored
// credentials (api.ts onTrackerAnswer), the feed poll of every minute among them. A tracker out of reach for a few
// minutes, or refusing this browser's token, is said where the rep looks without opening anything: a "!" on the
// toolbar button (gmail-health.ts showTrackerTrouble) and one desktop notification, both taken back by the next answer.
// The Gmail tabs keep the marks and panels they last read, saying why and since when they may be out of date
// (staleReason). Kept in browser.storage.session: a service worker stopped between two polls must not forget an outage
// it already told of, nor tell of it twice; not in storage.local, where every failed call's write would reach each
// Gmail tab's storage.onChanged. A browser restarted meanwhile starts afresh, as an outage after QUIET_GAP_MS does.
import { serialRunner } from "../serial";
import { errorText, TOKEN_REFUSED, timeShown, tokenRefused } from "../words";
import { TrackerError } from "./api";
import type { KeyValueArea } from "./outbox";

/**
 * How long the tracker may fail to answer before the rep is told: three periods of the feed poll (one a minute).
 * A tracker's deploy or restart, a change of Wi-Fi or a laptop coming back from sleep pass in less, and the outbox
 * tells of an email not registered after about two minutes anyway (ATTEMPTS_BEFORE_TELLING); three minutes without
 * one answer is an outage, and the marks the rep reads meanwhile stop changing for as long as it lasts.
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
}

/**
 * The one derivation of Reachability from a call's failure (null: it was answered): the popup's (from the feed poll
 * it makes) and the options page's (from the calls heard, TrackerReach.reachability).
 */
export function reachabilityOf(failure: unknown): Reachability {
  if (failure === null) return { reachable: true, problem: null, refused: false };
  const refused = failure instanceof TrackerError && failure.status === 401;
  return { reachable: false, problem: refused ? TOKEN_REFUSED : errorText(failure), refused };
}

type Heard = "answered" | "unreachable" | "refused" | "access withdrawn";

/**
 * What a call's outcome says of the tracker's reachability. Out of reach: no answer, a server error (the tracker down
 * behind its host's proxy, 502 to 504), or a success that is not the tracker's (a Wi-Fi login page). Any other answer,
 * a 404 for one email say, is the tracker answering.
 */
function heardOf(failure: unknown): Heard {
  if (!(failure instanceof TrackerError)) return "answered";
  // Said on every tab by gmail-health.ts, in its own words: not the tracker's outage, and nothing of whether it answers.
  if (failure.accessWithdrawn) return "access withdrawn";
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
}

const KEY = "trackerReach";

/**
 * What the rep is told of an outage: the notification, and the toolbar button's sentence. True to what the Gmail tabs
 * show meanwhile: their marks and panels stay, with what the tracker said before (their tooltips say they may be out
 * of date), and only what it records from now on is neither shown nor notified.
 */
export function outageNote(outage: Outage, now: number): { title: string; message: string; sentence: string } {
  const host = new URL(outage.trackerUrl).host;
  if (outage.refused)
    return {
      title: "Your tracker does not accept this browser's API token",
      message: `${tokenRefused(`Your tracker at ${host}`, "Mailtracker's options")}. Until then, emails you send, or take back with Undo, wait to reach it, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
      sentence: `New opens and clicks are not shown or notified: ${tokenRefused(`your tracker (${host})`, "Mailtracker's options")}.`,
    };
  const since = timeShown(outage.since, now);
  return {
    title: "Mailtracker cannot reach your tracker",
    message: `Mailtracker cannot reach your tracker at ${host} since ${since}. Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
    sentence: `New opens and clicks are not shown or notified: Mailtracker cannot reach your tracker (${host}) since ${since}. Gmail's marks show what it said before.`,
  };
}

export interface TrackerReachDeps {
  area: KeyValueArea;
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
}

export class TrackerReach {
  /** Every read-modify-write in turn: a success and a failure heard at once must not undo each other. */
  private readonly serial = serialRunner();
  /** The stored outage, once read (undefined until then): the background is its only writer. */
  private outage: Outage | null | undefined;

  constructor(private readonly deps: TrackerReachDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async read(): Promise<Outage | null> {
    if (this.outage === undefined) {
      const stored = (await this.deps.area.get(KEY))[KEY];
      this.outage = stored && typeof stored === "object" ? (stored as Outage) : null;
    }
    return this.outage;
  }

  private async write(outage: Outage | null): Promise<void> {
    this.outage = outage;
    await this.deps.area.set({ [KEY]: outage });
  }

  private async untell(outage: Outage | null): Promise<void> {
    if (outage?.told) await Promise.all([this.deps.notify(null), this.deps.toolbar(null)]);
  }

  /**
   * A call to the tracker at `trackerUrl` was answered (`failure` null) or failed. `connected` says, once it is this
   * one's turn, whether the call was made with the stored credentials: a token being tried on the options page says
   * nothing of the one this browser holds.
   */
  heard(trackerUrl: string, failure: unknown, connected: () => Promise<boolean> = async () => true): Promise<void> {
    return this.serial(async () => {
      if (!(await connected())) return;
      const kind = heardOf(failure);
      if (kind === "access withdrawn") return;
      const before = await this.read();
      if (kind === "answered") {
        if (!before) return;
        await this.write(null);
        await this.untell(before);
        if (before.told || before.tabsTold) this.deps.readAgain();
        return;
      }
      const now = this.now();
      const current = before?.trackerUrl === trackerUrl ? before : null;
      if (before && !current) await this.untell(before);
      const outage: Outage = {
        trackerUrl,
        since: current && now - current.lastFailureAt <= QUIET_GAP_MS ? current.since : now,
        lastFailureAt: now,
        refused: kind === "refused",
        problem: reachabilityOf(failure).problem ?? "",
        told: current?.told ?? null,
        tabsTold: current?.tabsTold ?? false,
      };
      // A refusal at once: it is never a blip, and every call fails until the rep connects again.
      const due = outage.refused ? "refused" : now - outage.since >= TELL_AFTER_MS ? "unreachable" : null;
      if (due !== null && due !== outage.told) {
        outage.told = due;
        const { title, message, sentence } = outageNote(outage, now);
        await Promise.all([this.deps.notify({ title, message }), this.deps.toolbar(sentence)]);
      }
      await this.write(outage);
    });
  }

  /** The tracker at `trackerUrl`, as last heard: answering unless a call failed since the last answer. */
  reachability(trackerUrl: string): Promise<Reachability> {
    return this.serial(async () => {
      const outage = await this.read();
      return outage?.trackerUrl === trackerUrl
        ? { reachable: false, problem: outage.problem, refused: outage.refused }
        : reachabilityOf(null);
    });
  }

  /**
   * A Gmail tab's read failed with `error`: why what it drew before may be out of date, in its words (words.ts
   * outOfDate), or null for a failure that says nothing of the tracker's reachability. After the failure is heard;
   * the outage it belongs to then has the tabs read again when it ends.
   */
  staleReason(error: unknown): Promise<string | null> {
    return this.serial(async () => {
      const kind = heardOf(error);
      if (kind === "answered") return null;
      const outage = await this.read();
      // Written once an outage: its end has the tabs read again (readAgain).
      if (outage && !outage.tabsTold) await this.write({ ...outage, tabsTold: true });
      if (kind === "refused") return TOKEN_REFUSED;
      const now = this.now();
      return `the tracker could not be reached since ${timeShown(outage?.since ?? now, now)}`;
    });
  }

  /** Another tracker or account connected, or none: what was heard of the one before no longer speaks for it. */
  forget(): Promise<void> {
    return this.serial(async () => {
      const before = await this.read();
      if (!before) return;
      await this.write(null);
      await this.untell(before);
    });
  }

  /**
   * A background started again: the toolbar's sentence of an outage it told of is drawn again (the badge of every tab
   * is drawn anew from the background's memory); the notification, shown or dismissed, is the rep's already.
   */
  restore(): Promise<void> {
    return this.serial(async () => {
      const outage = await this.read();
      if (outage?.told) await this.deps.toolbar(outageNote({ ...outage, refused: outage.told === "refused" }, this.now()).sentence);
    });
  }
}
