// The tracker's reachability as the background hears it from its calls, with in-memory storage areas standing in for
// browser.storage.session and browser.storage.local: when the rep is told (the notification and the toolbar's sentence), once, and when it is
// taken back; what a Gmail tab is told of a failed read; and what a background started again still knows.
import { afterEach, describe, expect, it, vi } from "vitest";
import { mintTrackingId } from "../../../shared/protocol";
import { MINUTE } from "../../../test/durations";
import { TOKEN_REFUSED, TRACKER_ACCESS_OFF_TITLE, timeShown } from "../words";
import { onTrackerAnswer, PROBE_TIMEOUT_MS, probeTracker, TrackerError, trackerApi } from "./api";
import type { Credentials } from "./credentials";
import { memoryArea } from "./memory-area";
import { ATTEMPTS_BEFORE_TELLING, type DeliveryResult, Outbox, tellTrouble } from "./outbox";
import { QUIET_GAP_MS, reachabilityOf, TELL_AFTER_MS, TrackerReach, type WaitingEmails, waitingIn } from "./tracker-reach";

/** The sites the browser withholds from the extension (Chrome's "Site access", Firefox's add-on permissions): api.ts asks. */
const withheld = vi.hoisted(() => new Set<string>());
vi.mock("../web-ext", () => ({
  browser: { permissions: { contains: async ({ origins }: { origins: string[] }) => !origins.some((o) => withheld.has(o)) } },
}));
afterEach(() => withheld.clear());

const URL = "https://track.example.com";
const CONNECTED: Credentials = {
  trackerUrl: URL,
  accountId: "abcdefghijklmnop",
  apiToken: "mt_token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};
const unreachable = () => new TrackerError(`cannot reach the tracker at ${URL} (Failed to fetch)`, null);
const refused = () => new TrackerError("the tracker answered 401: missing or invalid API token (Authorization: Bearer mt_…)", 401);
const serverError = () => new TrackerError("the tracker answered 503: Service Unavailable", 503);
/** A call the browser kept from the tracker's site: the rep took the extension's access to it away. */
const accessWithdrawn = () =>
  new TrackerError(
    "Mailtracker's access to your tracker (track.example.com) is turned off in the browser's extension settings: …",
    null,
    "withdrawn",
  );

/**
 * A TrackerReach at `now`, with what it told: the notifications shown (null: taken away), the toolbar's sentences, and
 * how many times the Gmail tabs were had to read again. `area` stands for storage.session, `lasting` for storage.local:
 * a background started again keeps both, a browser started again only `lasting`. `probe` is api.ts probeTracker's
 * stand-in (the tracker answering it, unless said), and `probes` counts its calls.
 */
function reachAt(
  start: number,
  area = memoryArea(),
  waiting?: () => Promise<WaitingEmails>,
  lasting = memoryArea(),
  probe: () => Promise<unknown> = async () => undefined,
) {
  const clock = { now: start };
  const notes: ({ title: string; message: string } | null)[] = [];
  const toolbar: (string | null)[] = [];
  const tabs = { readAgain: 0 };
  const probes = { made: 0 };
  const reach = new TrackerReach({
    area,
    lasting,
    now: () => clock.now,
    notify: async (note) => void notes.push(note),
    toolbar: async (sentence) => void toolbar.push(sentence),
    readAgain: () => void tabs.readAgain++,
    waiting,
    probe: () => {
      probes.made++;
      return probe();
    },
  });
  return { reach, clock, notes, toolbar, area, lasting, tabs, probes };
}

describe("the tracker's reachability", () => {
  const start = new Date(2026, 10, 23, 10, 42).getTime();

  it("tells once, in words, when the tracker has not answered for three poll periods, and takes it back at the next answer", async () => {
    const { reach, clock, notes, toolbar } = reachAt(start);
    // A poll a minute, every one failing; a status read in between too.
    for (let minute = 0; minute < 3; minute++) {
      await reach.heard(URL, unreachable());
      clock.now += MINUTE / 2;
      await reach.heard(URL, serverError());
      clock.now += MINUTE / 2;
    }
    expect(notes).toEqual([]);
    await reach.heard(URL, unreachable());
    expect(clock.now - start).toBe(TELL_AFTER_MS);
    const since = timeShown(start, clock.now);
    expect(notes).toEqual([
      {
        title: "Mailtracker cannot reach your tracker",
        message: `Mailtracker cannot reach your tracker at track.example.com since ${since}. Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
      },
    ]);
    // What the Gmail tabs show meanwhile: their marks stay, their tooltips saying they may be out of date.
    expect(toolbar).toEqual([
      `New opens and clicks are not shown or notified: Mailtracker cannot reach your tracker (track.example.com) since ${since}. Gmail's marks show what it said before.`,
    ]);
    // Still down: not told again.
    for (let minute = 0; minute < 10; minute++) {
      clock.now += MINUTE;
      await reach.heard(URL, unreachable());
    }
    expect(notes).toHaveLength(1);
    // An answer of the tracker's, a 404 for one email say: both taken away, once.
    await reach.heard(URL, new TrackerError("the tracker answered 404: not found", 404));
    await reach.heard(URL, null);
    expect(notes).toEqual([expect.anything(), null]);
    expect(toolbar).toEqual([expect.any(String), null]);
    expect(await reach.reachability(URL)).toEqual({ reachable: true, problem: null, refused: false });
  });

  it("says at once that the tracker refuses this browser's token", async () => {
    const { reach, notes, toolbar } = reachAt(start);
    await reach.heard(URL, refused());
    // In the words the popup, the options page and the Gmail tabs say it in (TOKEN_REFUSED), of this tracker.
    expect(notes).toEqual([
      {
        title: "Your tracker does not accept this browser's API token",
        message:
          "Your tracker at track.example.com does not accept this browser's API token any more: connect again with a valid token in Mailtracker's options. Until then, emails you send, or take back with Undo, wait to reach it, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.",
      },
    ]);
    expect(toolbar).toEqual([
      "New opens and clicks are not shown or notified: your tracker (track.example.com) does not accept this browser's API token any more: connect again with a valid token in Mailtracker's options.",
    ]);
    expect(TOKEN_REFUSED).toBe(
      "the tracker does not accept this browser's API token any more: connect again with a valid token in the options",
    );
    await reach.heard(URL, refused());
    expect(notes).toHaveLength(1);
    expect(await reach.reachability(URL)).toEqual({ reachable: false, problem: TOKEN_REFUSED, refused: true });
  });

  it("has the Gmail tabs read again once the tracker answers after an outage a tab or the rep was told of, not after a blip", async () => {
    // A failed poll nobody saw: the tabs drew nothing out of date, and reading all again would be a burst for nothing.
    const blip = reachAt(start);
    await blip.reach.heard(URL, unreachable());
    await blip.reach.heard(URL, null);
    expect(blip.tabs.readAgain).toBe(0);

    // A Sent list's read failed in the outage: its marks say "May be out of date" until they are read again.
    const seen = reachAt(start);
    await seen.reach.heard(URL, unreachable());
    expect(await seen.reach.staleReason(unreachable())).toMatch(/^the tracker could not be reached since /);
    seen.clock.now += MINUTE;
    // Another failure of the same outage keeps that a tab was told.
    await seen.reach.heard(URL, unreachable());
    expect(seen.tabs.readAgain).toBe(0);
    await seen.reach.heard(URL, null);
    expect(seen.tabs.readAgain).toBe(1);
    await seen.reach.heard(URL, null);
    expect(seen.tabs.readAgain).toBe(1);

    // A refused token: told at once, and the panels stop reading (they cannot mend it) until the tabs read again.
    const refusedFirst = reachAt(start);
    await refusedFirst.reach.heard(URL, refused());
    await refusedFirst.reach.heard(URL, null);
    expect(refusedFirst.tabs.readAgain).toBe(1);

    // An outage of three minutes and more, told of, without a tab's read failing in it (the Gmail tabs closed, say).
    const told = reachAt(start);
    for (let minute = 0; minute <= 3; minute++) {
      await told.reach.heard(URL, unreachable());
      told.clock.now += MINUTE;
    }
    await told.reach.heard(URL, null);
    expect([told.notes.length, told.tabs.readAgain]).toEqual([2, 1]);
  });

  it("counts a failure after a long silence (the computer asleep) as the start of a new outage, not the end of an old one", async () => {
    const { reach, clock, notes } = reachAt(start);
    await reach.heard(URL, unreachable());
    clock.now += QUIET_GAP_MS + MINUTE;
    await reach.heard(URL, unreachable());
    expect(notes).toEqual([]);
    expect(await reach.staleReason(unreachable())).toBe(`the tracker could not be reached since ${timeShown(clock.now, clock.now)}`);
  });

  it("writes nothing to storage.local for answers, nor for a blip ended while no email waits; once per outage ended while one does", async () => {
    const nothingWaits = reachAt(start);
    for (let minute = 0; minute < 10; minute++) {
      await nothingWaits.reach.heard(URL, minute % 3 === 1 ? unreachable() : null);
      nothingWaits.clock.now += MINUTE;
    }
    expect(nothingWaits.lasting.writes).toEqual([]);
    const oneWaits = reachAt(start, memoryArea(), async () => ({ sent: ['"Q3 pricing"'], takenBack: [] }));
    for (let minute = 0; minute < 10; minute++) {
      await oneWaits.reach.heard(URL, minute % 3 === 1 ? unreachable() : null);
      oneWaits.clock.now += MINUTE;
    }
    // Three outages (the 2nd, 5th and 8th minutes), each ended by the next answer; the answers between write nothing.
    expect(oneWaits.lasting.writes).toEqual([["trackerReachAnswered"], ["trackerReachAnswered"], ["trackerReachAnswered"]]);
    // Another tracker connected: the answer heard from this one is not kept for it.
    await oneWaits.reach.forget();
    expect(oneWaits.lasting.data.trackerReachAnswered).toBeNull();
  });

  it("reads the emails waiting once for an answer that ends a blip while earlier emails are known to wait", async () => {
    let reads = 0;
    const { reach, clock, notes } = reachAt(start, memoryArea(), async () => {
      reads++;
      return { sent: ['"Q3 pricing"'], takenBack: [] };
    });
    // An outage told, then ended while the email still waits: it is known to wait (Unaccepted).
    for (let minute = 0; minute <= 3; minute++) {
      await reach.heard(URL, unreachable());
      clock.now += MINUTE;
    }
    await reach.heard(URL, null);
    expect(notes.map((note) => note?.title ?? null)).toEqual(["Mailtracker cannot reach your tracker", null]);
    // A blip, ended by the next answer: that answer reads the outbox snapshot once, for both its questions.
    await reach.heard(URL, unreachable());
    clock.now += MINUTE;
    reads = 0;
    await reach.heard(URL, null);
    expect(reads).toBe(1);
  });

  it("leaves out calls the browser kept from the tracker's site (its access taken away): the toolbar says that in its own words", async () => {
    const { reach, clock, notes, toolbar } = reachAt(start);
    for (let minute = 0; minute <= 10; minute++) {
      await reach.heard(URL, accessWithdrawn());
      clock.now += MINUTE;
    }
    expect([notes, toolbar]).toEqual([[], []]);
    // The popup, from its own poll of the feed, hears it as such: not that the tracker does not answer (notReachedLine).
    expect(reachabilityOf(accessWithdrawn())).toMatchObject({ reachable: false, refused: false, accessWithdrawn: true });
  });

  it("takes back an outage's notice once the browser keeps the calls from the tracker's site: nothing is known of the tracker then", async () => {
    const { reach, clock, notes, toolbar, tabs } = reachAt(start);
    for (let minute = 0; minute <= 3; minute++) {
      await reach.heard(URL, unreachable());
      clock.now += MINUTE;
    }
    expect(notes.map((note) => note?.title)).toEqual(["Mailtracker cannot reach your tracker"]);
    await reach.heard(URL, accessWithdrawn());
    // Not "cannot reach your tracker since 10:42" for as long as the access is withheld: said on the toolbar, by
    // gmail-health.ts, in its own words. The Gmail tabs read again, to say why their marks may be out of date now.
    expect([notes.at(-1), toolbar.at(-1), tabs.readAgain]).toEqual([null, null, 1]);
    // Given back, the tracker still out of reach: a new outage, since then, told after TELL_AFTER_MS.
    clock.now += MINUTE;
    const back = clock.now;
    for (let minute = 0; minute <= 3; minute++) {
      await reach.heard(URL, unreachable());
      clock.now += MINUTE;
    }
    expect(notes.at(-1)?.message).toContain(`since ${timeShown(back, clock.now)}.`);
  });

  it("a call refused while the tracker's site was withheld, made again once it is given back and answered, takes back the access notice and starts no outage", async () => {
    const waiting = async (): Promise<WaitingEmails> => ({ sent: ['"Q3 pricing"'], takenBack: [] });
    const { reach, clock, notes, toolbar } = reachAt(start, memoryArea(), waiting);
    for (let minute = 0; minute <= 3; minute++) {
      await reach.heard(URL, unreachable());
      clock.now += MINUTE;
    }
    // The site withheld: the email waiting is told so (withdrawnNote).
    await reach.heard(URL, accessWithdrawn());
    expect(notes.map((note) => note?.title ?? null)).toEqual(["Mailtracker cannot reach your tracker", TRACKER_ACCESS_OFF_TITLE]);
    // Calls heard as index.ts hears them. Each leaves while the site is withheld; the rep gives the access back before
    // the browser's refusal comes, and the call is made again (api.ts reaching): the tracker answers that one.
    const heard: Promise<void>[] = [];
    onTrackerAnswer((url, _token, failure, call) => void heard.push(reach.heard(url, failure, { call })));
    const refusedThenAnswered = async () => {
      withheld.add(`${URL}/*`);
      let made = 0;
      await trackerApi(URL, "mt_token", async () => {
        if (made++ > 0) return Response.json({});
        withheld.clear();
        throw new TypeError("Failed to fetch");
      }).account();
      await Promise.all(heard.splice(0));
    };
    await refusedThenAnswered();
    expect([notes.at(-1), toolbar.at(-1)]).toEqual([null, null]);
    // However many and long: no outage, the tracker answered each.
    for (let minute = 0; minute <= 5; minute++) {
      await refusedThenAnswered();
      clock.now += MINUTE;
    }
    expect(notes).toHaveLength(3);
    expect(await reach.reachability(URL)).toMatchObject({ reachable: true });
  });

  it("leaves out calls made with another token than the stored one (a token tried on the options page)", async () => {
    const { reach, notes } = reachAt(start);
    await reach.heard(URL, refused(), { connected: async () => false });
    expect(notes).toEqual([]);
    expect((await reach.reachability(URL)).reachable).toBe(true);
  });

  it("gives a Gmail tab the reason its marks may be out of date, and nothing for a failure that is not the tracker's reach (its site withheld, say)", async () => {
    const { reach, clock } = reachAt(start);
    await reach.heard(URL, unreachable());
    clock.now += MINUTE;
    expect(await reach.staleReason(unreachable())).toBe(`the tracker could not be reached since ${timeShown(start, clock.now)}`);
    expect(await reach.staleReason(refused())).toBe(TOKEN_REFUSED);
    expect(await reach.staleReason(new TrackerError("the tracker answered 404: not found", 404))).toBeNull();
    expect(await reach.staleReason(new Error("not connected to a tracker yet"))).toBeNull();
    // Kept from the tracker's site: the call's own words say so, and what gives it back (api.ts), not "could not be reached".
    expect(await reach.staleReason(accessWithdrawn())).toBeNull();
  });

  it("draws the toolbar's sentence again in a background started again, without a second notification; forgets on a new connection", async () => {
    const first = reachAt(start);
    await first.reach.heard(URL, refused());
    const again = reachAt(start, first.area);
    await again.reach.restore();
    expect(again.toolbar).toEqual(first.toolbar);
    expect(again.notes).toEqual([]);
    await again.reach.heard(URL, refused());
    expect(again.notes).toEqual([]);
    await again.reach.forget();
    expect(again.notes).toEqual([null]);
    expect(again.toolbar.at(-1)).toBeNull();
    expect((await again.reach.reachability(URL)).reachable).toBe(true);
  });
});

describe("one notice per trouble: the emails waiting on the tracker are named in its outage's notification", () => {
  const start = new Date(2026, 10, 23, 10, 42).getTime();
  const STEP = 10_000;
  const request = (subject: string) => ({
    subject,
    recipients: [],
    sentAt: new Date(start).toISOString(),
    openTracking: true,
    clickTracking: true,
  });

  /**
   * The background's outbox and tracker-reach over one clock, wired as index.ts wires them: a registration's failure is
   * heard by tracker-reach (api.ts onTrackerAnswer), the outbox's telling goes through tellTrouble, and the outage's
   * notice names what the outbox holds (waitingIn). The feed is polled each minute, and fails with `feedFailure` (null:
   * answered), as does the probe of the tracker unless `probe` is given (api.ts probeTracker: any call but a delivery
   * answers as the feed); every registration fails with `failure` (null: it is delivered). `notes` are the outage's one
   * notification ("mt-tracker-reach"), shown, replaced or taken back (null); `outboxNotes` the outbox's own ("mt-outbox").
   * `restarted` is what a browser started again keeps: storage.local (the outbox's and `lasting`), at its clock's time.
   */
  function background(
    failure: () => TrackerError | null,
    feedFailure: () => TrackerError | null = failure,
    restarted?: { lasting: ReturnType<typeof memoryArea>; now: number },
    probe = async () => {
      const error = feedFailure();
      if (error) throw error;
    },
  ) {
    let outbox: Outbox | undefined;
    const lasting = restarted?.lasting ?? memoryArea();
    const at = reachAt(
      restarted?.now ?? start,
      memoryArea(),
      async () => waitingIn((await outbox?.snapshot()) ?? [], CONNECTED),
      lasting,
      probe,
    );
    const { reach, clock } = at;
    const outboxNotes: { title: string; message: string }[] = [];
    const tellings: Promise<void>[] = [];
    outbox = new Outbox(
      lasting,
      async (): Promise<DeliveryResult> => {
        const error = failure();
        void reach.heard(URL, error, { call: "delivery" });
        return error ? { retry: true, error: error.message, status: error.status } : "delivered";
      },
      () => undefined,
      () => clock.now,
      (entry) =>
        void tellings.push(
          tellTrouble(entry, {
            outage: (waiting) => reach.waits(URL, waiting.createdAt),
            stillWaits: (waiting) => reach.stillWaits(URL, waiting.lastError ?? ""),
            notify: async (note) => void outboxNotes.push(note),
          }),
        ),
    );
    /** The background's time from now to `until`: the feed polled each minute, the outbox flushed as it is due. */
    const runUntil = async (until: number) => {
      while (clock.now < until) {
        clock.now += STEP;
        if ((clock.now - start) % MINUTE === 0) await reach.heard(URL, feedFailure());
        await outbox?.flush();
        await Promise.all(tellings.splice(0));
      }
    };
    return { ...at, outbox, outboxNotes, runUntil };
  }

  it("names only the connected account's emails as waiting on its tracker: another account's wait on the rep connecting to it", async () => {
    const own = await mintTrackingId(CONNECTED.signingKey);
    const otherKey = { accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) };
    const [sent, takenBack] = [await mintTrackingId(otherKey), await mintTrackingId(otherKey)];
    const outbox = new Outbox(
      memoryArea(),
      async () => "delivered",
      () => undefined,
      () => start,
    );
    await outbox.put(own, request("Q3 pricing"));
    await outbox.put(sent, request("Renewal"));
    await outbox.put(takenBack, request("Intro"));
    await outbox.withdraw(takenBack);
    expect(waitingIn(await outbox.snapshot(), CONNECTED)).toEqual({ sent: ['"Q3 pricing"'], takenBack: [] });
    expect(waitingIn(await outbox.snapshot(), null)).toEqual({ sent: [], takenBack: [] });
  });

  it("an email sent while the tracker is out of reach is told once, in the outage's notice, and a second updates that notice", async () => {
    const { clock, outbox, notes, outboxNotes, toolbar, runUntil } = background(unreachable);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 4 * MINUTE);
    const since = timeShown(start + STEP, clock.now);
    const first = {
      title: "Mailtracker cannot reach your tracker",
      message: `Mailtracker cannot reach your tracker at track.example.com since ${since}. The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
    };
    // Told when the outbox's attempts ran out (about a minute), not again at the outage's three minutes, never twice.
    expect(notes).toEqual([first]);
    expect(outboxNotes).toEqual([]);
    expect(toolbar).toEqual([
      `New opens and clicks are not shown or notified: Mailtracker cannot reach your tracker (track.example.com) since ${since}. The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. Gmail's marks show what it said before.`,
    ]);
    await outbox.put("second", request("Renewal"));
    await runUntil(start + 10 * MINUTE);
    // The same notification, brought up to date: the outbox said nothing of its own.
    expect(outboxNotes).toEqual([]);
    expect(notes).toEqual([
      first,
      {
        ...first,
        message: `Mailtracker cannot reach your tracker at track.example.com since ${since}. 2 emails you sent wait to be registered with it, the first "Q3 pricing", and are tracked once they are. Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
      },
    ]);
  });

  it("an email waiting while the outage is new (a failure after a long silence) is told at once, not at three minutes or never", async () => {
    // The tracker fails from the start; the computer sleeps from the 40th second to eight hours later.
    const asleep = { from: start + 40_000, to: start + 8 * 60 * MINUTE };
    const { clock, outbox, notes, outboxNotes, reach, runUntil } = background(unreachable);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(asleep.from);
    expect((await outbox.entries())[0]?.attempts).toBeLessThan(ATTEMPTS_BEFORE_TELLING);
    clock.now = asleep.to;
    // Awake: the first failure starts a new outage (QUIET_GAP_MS), whose three minutes are still to come.
    await runUntil(asleep.to + MINUTE);
    expect(await reach.staleReason(unreachable())).toBe(`the tracker could not be reached since ${timeShown(asleep.to + STEP, clock.now)}`);
    expect(notes.map((note) => note?.message.match(/"Q3 pricing" waits/)?.[0])).toEqual(['"Q3 pricing" waits']);
    await runUntil(asleep.to + 10 * MINUTE);
    expect([notes.length, outboxNotes]).toEqual([1, []]);
  });

  it("an email named by an outage's notice, still refused by a tracker that answers the feed, is told again once, then taken back", async () => {
    // The tracker out of reach for its first minutes; then PUT /api/messages/:id alone answers 503 (a route failing, say),
    // while the feed answers every minute.
    const routeDown = { now: true };
    const trackerDown = { now: true };
    const { outbox, notes, outboxNotes, toolbar, runUntil, clock, area, lasting } = background(
      () => (trackerDown.now ? unreachable() : routeDown.now ? serverError() : null),
      () => (trackerDown.now ? unreachable() : null),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 4 * MINUTE);
    trackerDown.now = false;
    await runUntil(start + 30 * MINUTE);
    // Named by the outage's notice when its attempts ran out, which the feed's next answer took back; told again at
    // its next failure, in words that do not say the tracker is out of reach; not at each attempt after that.
    expect(notes.map((note) => note?.title ?? null)).toEqual([
      "Mailtracker cannot reach your tracker",
      null,
      "Your tracker answers, but has not accepted an email yet",
    ]);
    expect(notes[2]).toEqual({
      title: "Your tracker answers, but has not accepted an email yet",
      message:
        'Your tracker at track.example.com answers, but has not accepted this email yet (the tracker answered 503: Service Unavailable). The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. The extension keeps trying.',
    });
    expect(toolbar.at(-1)).toBe(
      'Your tracker (track.example.com) answers, but has not accepted an email yet (the tracker answered 503: Service Unavailable). The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is.',
    );
    expect(outboxNotes).toEqual([]);
    // A background started again draws the toolbar's sentence again, without a second notification.
    const again = reachAt(clock.now, area, async () => waitingIn(await outbox.snapshot(), CONNECTED), lasting);
    await again.reach.restore();
    expect([again.toolbar, again.notes]).toEqual([[toolbar.at(-1)], []]);
    // The route mended: the email is delivered, and the next answer takes the notice back.
    routeDown.now = false;
    await runUntil(start + 50 * MINUTE);
    expect(await outbox.entries()).toEqual([]);
    expect(notes.at(-1)).toBeNull();
    expect(toolbar.at(-1)).toBeNull();
    expect(notes).toHaveLength(4);
  });

  it("an email the tracker does not take while it answers the feed is told so at its sixth attempt, not that the tracker is out of reach", async () => {
    // PUT /api/messages/:id alone answers 503; the feed answers every minute, between the email's attempts too.
    const routeDown = { now: true };
    const { outbox, notes, outboxNotes, toolbar, runUntil } = background(
      () => (routeDown.now ? serverError() : null),
      () => null,
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 30 * MINUTE);
    const told = {
      title: "Your tracker answers, but has not accepted an email yet",
      message:
        'Your tracker at track.example.com answers, but has not accepted this email yet (the tracker answered 503: Service Unavailable). The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. The extension keeps trying.',
    };
    // Once, when its attempts ran out: not again at each attempt after, nor by the outbox in its own words.
    expect(notes).toEqual([told]);
    expect(toolbar).toEqual([
      'Your tracker (track.example.com) answers, but has not accepted an email yet (the tracker answered 503: Service Unavailable). The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is.',
    ]);
    expect(outboxNotes).toEqual([]);
    // The route mended: the email is delivered, and the next answer takes the notice back.
    routeDown.now = false;
    await runUntil(start + 50 * MINUTE);
    expect(await outbox.entries()).toEqual([]);
    expect([notes, toolbar.at(-1)]).toEqual([[told, null], null]);
  });

  it("emails the tracker does not take while it answers the feed are named in the same notice, the tracker asked once a minute at most", async () => {
    // PUT /api/messages/:id alone answers 503; the feed answers every minute. The second email is sent 20 s after the
    // first, the third after both were told of.
    const { outbox, notes, outboxNotes, runUntil, probes } = background(serverError, () => null);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 20_000);
    await outbox.put("second", request("Renewal"));
    await runUntil(start + 5 * MINUTE);
    // Not asked again for the second, handed over within the minute: each probe may hold the lock PROBE_TIMEOUT_MS.
    expect([notes.map((note) => note?.title), probes.made]).toEqual([
      ["Your tracker answers, but has not accepted 2 emails yet", "Your tracker answers, but has not accepted 2 emails yet"],
      1,
    ]);
    await outbox.put("third", request("Onboarding"));
    await runUntil(start + 30 * MINUTE);
    // Asked again for the third, minutes after the tracker last answered the probe.
    expect([notes.at(-1)?.title, notes.length, outboxNotes, probes.made]).toEqual([
      "Your tracker answers, but has not accepted 3 emails yet",
      3,
      [],
      2,
    ]);
  });

  it("a later email whose sixth attempt is the first failure of a whole tracker gone out of reach is told it cannot be reached, though an earlier one was told it answers", async () => {
    // PUT /api/messages/:id alone answers 503 while the feed answers; then nothing answers, from 365 s to eight
    // minutes: the second email's sixth attempt (400 s) fails before the feed's next poll (420 s), so that no call but
    // the emails' has failed since the tracker last answered. The probe of the tracker then fails too.
    const down = () => clock.now >= start + 365_000 && clock.now < start + 8 * MINUTE;
    const { clock, outbox, notes, outboxNotes, runUntil, probes } = background(
      () => (down() ? unreachable() : serverError()),
      () => (down() ? unreachable() : null),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 5 * MINUTE);
    expect([notes.map((note) => note?.title), probes.made]).toEqual([["Your tracker answers, but has not accepted an email yet"], 1]);
    await outbox.put("second", request("Renewal"));
    await runUntil(start + 400_000);
    expect((await outbox.entries()).find((entry) => entry.trackingId === "second")?.attempts).toBe(ATTEMPTS_BEFORE_TELLING);
    // Not "answers, but has not accepted 2 emails yet": it answers nothing since 365 s, as the probe of then finds.
    expect([notes.at(-1)?.title, notes.length, outboxNotes, probes.made]).toEqual(["Mailtracker cannot reach your tracker", 2, [], 2]);
  });

  it("an email whose route hangs while the tracker answers the feed is told at its sixth attempt that it is not accepted, though no status came", async () => {
    // PUT /api/messages/:id alone never answers, so api.ts's timeout ends each attempt (AbortSignal.timeout's
    // "signal timed out"): no HTTP status, as for a tracker out of reach; the feed answers each minute.
    const hung = () => new TrackerError(`cannot reach the tracker at ${URL} (signal timed out)`, null);
    const { outbox, notes, outboxNotes, runUntil } = background(hung, () => null);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 30 * MINUTE);
    expect(notes).toEqual([
      {
        title: "Your tracker answers, but has not accepted an email yet",
        message: `Your tracker at track.example.com answers, but has not accepted this email yet (${hung().message}). The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. The extension keeps trying.`,
      },
    ]);
    expect(outboxNotes).toEqual([]);
  });

  it("an email whose route failed while the tracker answered, the whole tracker out of reach by its sixth attempt, is told the tracker cannot be reached", async () => {
    // PUT /api/messages/:id alone answers 503 while the feed answers (at the first minute, after the email's first
    // attempts); then nothing answers, from 70 s: the feed's poll at two minutes fails before the email's sixth attempt.
    const { clock, outbox, notes, outboxNotes, runUntil } = background(
      () => (clock.now < start + 70_000 ? serverError() : unreachable()),
      () => (clock.now < start + 70_000 ? null : unreachable()),
    );
    await runUntil(start + 20_000);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 2 * MINUTE);
    expect((await outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING);
    await runUntil(start + 10 * MINUTE);
    // Not "answers, but has not accepted this email yet (cannot reach the tracker …)": it answered nothing since 70 s.
    expect(notes).toEqual([
      {
        title: "Mailtracker cannot reach your tracker",
        message: `Mailtracker cannot reach your tracker at track.example.com since ${timeShown(start + 80_000, start + 2 * MINUTE)}. The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
      },
    ]);
    expect(outboxNotes).toEqual([]);
  });

  it("an email whose sixth attempt is the first failure of a whole tracker gone out of reach since the feed's answer is told the tracker cannot be reached", async () => {
    // PUT /api/messages/:id alone answers 503 while the feed answers (at the first minute); then nothing answers, from
    // 65 s to four minutes: the email's sixth attempt (100 s) fails before the feed's next poll (120 s), so that no call
    // but the email's has failed since the tracker last answered. The probe of the tracker then fails too.
    const down = () => clock.now >= start + 65_000 && clock.now < start + 4 * MINUTE;
    const { clock, outbox, notes, outboxNotes, runUntil, probes } = background(
      () => (down() ? unreachable() : clock.now < start + 65_000 ? serverError() : null),
      () => (down() ? unreachable() : null),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 100_000);
    expect((await outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING);
    // Not "answers, but has not accepted this email yet (cannot reach the tracker …)": it answers nothing since 65 s.
    expect(notes).toEqual([
      {
        title: "Mailtracker cannot reach your tracker",
        message: `Mailtracker cannot reach your tracker at track.example.com since ${timeShown(start + MINUTE, clock.now)}. The email you sent "Q3 pricing" waits to be registered with it, and is tracked once it is. Until it answers again, new opens and clicks are not notified, and Gmail's marks and panels show what it said before.`,
      },
    ]);
    expect([outboxNotes, probes.made]).toEqual([[], 1]);
    // Its attempts go on as they were due: delivered at its eighth (300 s), once the tracker answers again.
    await runUntil(start + 6 * MINUTE);
    expect(await outbox.entries()).toEqual([]);
    expect([notes.length, notes.at(-1), probes.made]).toEqual([2, null, 1]);
  });

  it("an email told again after an outage's notice was taken back, the whole tracker out of reach again, is told the tracker cannot be reached", async () => {
    // Nothing answers for the first four minutes, nor again from 250 s: the feed's poll at five minutes fails before
    // the email's eighth attempt, in the same second.
    const down = () => clock.now < start + 4 * MINUTE || clock.now >= start + 250_000;
    const { clock, outbox, notes, outboxNotes, runUntil } = background(
      () => (down() ? unreachable() : null),
      () => (down() ? unreachable() : null),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 10 * MINUTE);
    // Named when its attempts ran out; taken back at the feed's answer of four minutes; told again, in the words of an
    // outage, when the email failed again.
    expect(notes.map((note) => note?.title ?? null)).toEqual([
      "Mailtracker cannot reach your tracker",
      null,
      "Mailtracker cannot reach your tracker",
    ]);
    expect(outboxNotes).toEqual([]);
  });

  it("an email told again after an outage's notice was taken back, its next attempt the first failure of the whole tracker out of reach again, is told the tracker cannot be reached", async () => {
    // Nothing answers for the first four minutes, nor again from 305 s: the email's eighth attempt (320 s) fails before
    // the feed's next poll (360 s), so that no call but the email's has failed since the tracker last answered.
    const down = () => clock.now < start + 4 * MINUTE || clock.now >= start + 305_000;
    const { clock, outbox, notes, outboxNotes, runUntil, probes } = background(
      () => (down() ? unreachable() : null),
      () => (down() ? unreachable() : null),
    );
    await runUntil(start + 20_000);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 320_000);
    expect((await outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING + 2);
    expect(notes.map((note) => note?.title ?? null)).toEqual([
      "Mailtracker cannot reach your tracker",
      null,
      "Mailtracker cannot reach your tracker",
    ]);
    expect([outboxNotes, probes.made]).toEqual([[], 1]);
  });

  it("a probe of the tracker that is not answered counts as the tracker out of reach once PROBE_TIMEOUT_MS is past", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    // AbortSignal.timeout on the faked clock: vitest's fake timers leave it on the real one.
    vi.spyOn(AbortSignal, "timeout").mockImplementation((ms) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new DOMException("signal timed out", "TimeoutError")), ms);
      return controller.signal;
    });
    // The tracker's address takes the probe's connection and never answers it: the fetch ends when it is aborted.
    vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
      const { signal } = init;
      return new Promise((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
    });
    try {
      const waiting: WaitingEmails = { sent: ['"Q3 pricing"'], takenBack: [] };
      const { reach, clock, notes, probes } = reachAt(
        start,
        memoryArea(),
        async () => waiting,
        memoryArea(),
        () => probeTracker(URL),
      );
      // The email's registration failed, the feed answered after it, and the registration failed again.
      await reach.heard(URL, serverError(), { call: "delivery" });
      clock.now += STEP;
      await reach.heard(URL, null);
      clock.now += STEP;
      await reach.heard(URL, unreachable(), { call: "delivery" });
      let told: boolean | undefined;
      const telling = reach.waits(URL, start).then((named) => {
        told = named;
      });
      await vi.advanceTimersByTimeAsync(PROBE_TIMEOUT_MS - 1);
      expect([told, notes, probes.made]).toEqual([undefined, [], 1]);
      await vi.advanceTimersByTimeAsync(1);
      await telling;
      expect(told).toBe(true);
      expect(notes.map((note) => note?.title)).toEqual(["Mailtracker cannot reach your tracker"]);
      // Told: a second email waiting is named in its notice without asking again.
      expect(await reach.waits(URL, start)).toBe(true);
      expect([notes.map((note) => note?.title), probes.made]).toEqual([
        ["Mailtracker cannot reach your tracker", "Mailtracker cannot reach your tracker"],
        1,
      ]);
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
      vi.unstubAllGlobals();
    }
  });

  it("a background started again after the emails told again were delivered, no answer heard since, draws nothing", async () => {
    const { outbox, notes, runUntil, clock, area, lasting } = background(serverError, () => null);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 30 * MINUTE);
    expect(notes.map((note) => note?.title)).toEqual(["Your tracker answers, but has not accepted an email yet"]);
    // The route mended, the email is delivered, and the background stops before that answer is heard.
    const later = clock.now + 15 * MINUTE;
    const unheard = new Outbox(
      lasting,
      async (): Promise<DeliveryResult> => "delivered",
      () => undefined,
      () => later,
      () => undefined,
    );
    await unheard.flush();
    expect(await unheard.entries()).toEqual([]);
    const again = reachAt(later, area, async () => waitingIn(await unheard.snapshot(), CONNECTED), lasting);
    await again.reach.restore();
    // No "has not accepted 0 emails yet": the toolbar untouched, the notice taken back, its record gone.
    expect([again.toolbar, again.notes]).toEqual([[], [null]]);
    expect(lasting.data.trackerReachUnaccepted).toBeNull();
    await again.reach.restore();
    expect([again.toolbar, again.notes]).toEqual([[], [null]]);
  });

  it("an email still waiting when an outage's notice was taken back is told again after a browser restart", async () => {
    const before = background(unreachable);
    await before.outbox.put("first", request("Q3 pricing"));
    await before.runUntil(start + 4 * MINUTE);
    expect(before.notes.map((note) => note?.title)).toEqual(["Mailtracker cannot reach your tracker"]);
    // The feed answers: the notice is taken back, the email still waiting. The browser is closed then.
    await before.reach.heard(URL, null);
    expect(before.notes.at(-1)).toBeNull();
    // Started again an hour later (storage.session emptied): the tracker answers the feed, not the email's registration.
    const after = background(serverError, () => null, { lasting: before.lasting, now: before.clock.now + 60 * MINUTE });
    await after.runUntil(after.clock.now + 30 * MINUTE);
    expect(after.notes.map((note) => note?.title)).toEqual(["Your tracker answers, but has not accepted an email yet"]);
    expect(after.outboxNotes).toEqual([]);
  });

  /**
   * The email's first five attempts meet a 503 (PUT /api/messages/:id failing alone) while the feed answers between them,
   * and the browser is closed before its sixth; `after` is the background of a browser started again `later` that
   * long after, with `failure` and `feedFailure` as the tracker now answers.
   */
  async function closedBeforeSixthAttempt(
    later: number,
    failure: () => TrackerError | null,
    feedFailure: () => TrackerError | null = failure,
  ) {
    const before = background(serverError, () => null);
    await before.outbox.put("first", request("Q3 pricing"));
    await before.runUntil(start + MINUTE);
    expect((await before.outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING - 1);
    expect(before.notes).toEqual([]);
    const after = background(failure, feedFailure, { lasting: before.lasting, now: before.clock.now + later });
    // The sixth attempt is the first call after the restart: no answer of the feed's is heard before it.
    await after.runUntil(after.clock.now + STEP);
    expect((await after.outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING);
    return after;
  }

  it("an email the tracker answered around before a browser restart is told at its sixth attempt after it that it is not accepted, not that the tracker is out of reach", async () => {
    const after = await closedBeforeSixthAttempt(2 * MINUTE, serverError, () => null);
    expect(after.notes.map((note) => note?.title)).toEqual(["Your tracker answers, but has not accepted an email yet"]);
    expect(after.outboxNotes).toEqual([]);
  });

  it("an email waiting on a tracker silent since a browser restart long after its last answer is told the tracker cannot be reached", async () => {
    const after = await closedBeforeSixthAttempt(60 * MINUTE, unreachable);
    // Not "answers, but has not accepted this email yet (cannot reach the tracker …)": that answer was an hour ago.
    expect(after.notes.map((note) => note?.title)).toEqual(["Mailtracker cannot reach your tracker"]);
    expect(after.outboxNotes).toEqual([]);
  });

  // From the start; or from 61 s, after nothing answered the email's first five attempts nor the feed's poll at one
  // minute (an outage of the tracker's, not said: not "cannot reach your tracker" at its sixth attempt).
  it.each([0, MINUTE + 1000])(
    "an email waiting for want of an answer that is no outage of the tracker's (its site's access taken away from %i ms) is told by the outbox",
    async (withheldFrom) => {
      const { clock, outbox, notes, outboxNotes, runUntil } = background(() =>
        clock.now < start + withheldFrom ? unreachable() : accessWithdrawn(),
      );
      await outbox.put("first", request("Q3 pricing"));
      await runUntil(start + 10 * MINUTE);
      expect(notes).toEqual([]);
      expect(outboxNotes).toEqual([
        {
          title: "An email is not tracked yet",
          message: `"Q3 pricing" was sent, but the tracker could not be told of it: ${accessWithdrawn().message}. The extension keeps trying.`,
        },
      ]);
    },
  );

  /** What the rep is told of emails waiting while the tracker's site is withheld (tracker-reach.ts withdrawnNote). */
  const accessOff =
    "Mailtracker's access to your tracker (track.example.com) is turned off in the browser's extension settings: allow it again with the \"Allow Mailtracker to reach your tracker\" button on Mailtracker's options page.";

  it("an email whose outage's notice was taken back, the tracker's site then withheld, is told that at once, not that the tracker answers", async () => {
    // Nothing answers for the first four minutes; the feed answers at four minutes; from then on the browser keeps
    // every call from the tracker's site (the rep turned the extension's access to it off): each fails without an
    // answer, as a tracker out of reach does.
    const withheld = () => clock.now > start + 4 * MINUTE;
    const { clock, outbox, notes, outboxNotes, toolbar, runUntil } = background(
      () => (clock.now < start + 4 * MINUTE ? unreachable() : accessWithdrawn()),
      () => (clock.now < start + 4 * MINUTE ? unreachable() : withheld() ? accessWithdrawn() : null),
    );
    await runUntil(start + 20_000);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 4 * MINUTE);
    expect(notes.map((note) => note?.title ?? null)).toEqual(["Mailtracker cannot reach your tracker", null]);
    // The feed's next poll, kept from the tracker: told then, before the email's next attempt (at 320 s).
    await runUntil(start + 5 * MINUTE);
    expect((await outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING + 1);
    const told = {
      title: TRACKER_ACCESS_OFF_TITLE,
      message: `${accessOff} The email you sent "Q3 pricing" waits to be registered with your tracker, and is tracked once it is. Until the access is given back, new opens and clicks are not notified, and Gmail's marks and panels show what your tracker said before.`,
    };
    // Not "Your tracker answers, but has not accepted an email yet (Mailtracker's access … is turned off …)".
    expect(notes.slice(2)).toEqual([told]);
    // On the toolbar, the emails alone: the sentence before it says the access is off (gmail-health.ts noTrackerAccessSentence).
    expect(toolbar.at(-1)).toBe('The email you sent "Q3 pricing" waits to be registered with your tracker, and is tracked once it is.');
    // Once: not again at each of its attempts, nor by the outbox.
    await runUntil(start + 30 * MINUTE);
    expect([notes.slice(2), outboxNotes]).toEqual([[told], []]);
  });

  it("an email the tracker does not take while it answers the feed, the tracker's site withheld as it is handed over, is told that, not that the tracker is out of reach", async () => {
    // PUT /api/messages/:id alone answers 503 while the feed answers; right after the email's sixth attempt the rep
    // turns the extension's access to the tracker's site off: the probe asked then (api.ts probeTracker) is refused.
    let withheld = false;
    let attempts = 0;
    const { outbox, notes, outboxNotes, runUntil, probes } = background(
      () => {
        if (withheld) return accessWithdrawn();
        withheld = ++attempts === ATTEMPTS_BEFORE_TELLING;
        return serverError();
      },
      () => (withheld ? accessWithdrawn() : null),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 5 * MINUTE);
    expect([notes[0], probes.made, outboxNotes]).toEqual([
      {
        title: TRACKER_ACCESS_OFF_TITLE,
        message: `${accessOff} The email you sent "Q3 pricing" waits to be registered with your tracker, and is tracked once it is. Until the access is given back, new opens and clicks are not notified, and Gmail's marks and panels show what your tracker said before.`,
      },
      1,
      [],
    ]);
  });

  it("an email the tracker does not take while it answers the feed, its probe refused for the site withheld and given back before the refusal came, is made again: not told the tracker is out of reach", async () => {
    // PUT /api/messages/:id alone answers 503 while the feed answers. The probe asked at the email's sixth attempt
    // leaves while the rep has the tracker's site withheld, and fails once the rep gave it back: made again (api.ts
    // reaching), it is answered.
    withheld.add(`${URL}/*`);
    const fetch = vi.fn(async () => {
      if (fetch.mock.calls.length > 1) return new Response("mailtracker");
      withheld.clear();
      throw new TypeError("Failed to fetch");
    });
    const { outbox, notes, outboxNotes, runUntil, probes } = background(
      serverError,
      () => null,
      undefined,
      () => probeTracker(URL, fetch),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 5 * MINUTE);
    expect([notes.map((note) => note?.title), probes.made, fetch.mock.calls.length, outboxNotes]).toEqual([
      ["Your tracker answers, but has not accepted an email yet"],
      1,
      2,
      [],
    ]);
  });

  it("an email told again after an outage's notice was taken back, the tracker's site withheld as it fails again, is told that, not that the tracker answers or is out of reach", async () => {
    // Nothing answers for the first four minutes; the feed answers at four minutes; the email's eighth attempt (320 s)
    // meets a 503, and right after it the rep turns the extension's access to the tracker's site off: the probe asked
    // then (api.ts probeTracker) is refused, before the feed's next poll (360 s) is.
    let withheld = false;
    const { clock, outbox, notes, outboxNotes, runUntil, probes } = background(
      () => {
        if (withheld) return accessWithdrawn();
        if (clock.now < start + 4 * MINUTE) return unreachable();
        withheld = clock.now >= start + 320_000;
        return serverError();
      },
      () => (withheld ? accessWithdrawn() : clock.now < start + 4 * MINUTE ? unreachable() : null),
    );
    await runUntil(start + 20_000);
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 320_000);
    expect((await outbox.entries())[0]?.attempts).toBe(ATTEMPTS_BEFORE_TELLING + 2);
    const told = {
      title: TRACKER_ACCESS_OFF_TITLE,
      message: `${accessOff} The email you sent "Q3 pricing" waits to be registered with your tracker, and is tracked once it is. Until the access is given back, new opens and clicks are not notified, and Gmail's marks and panels show what your tracker said before.`,
    };
    expect([notes.map((note) => note?.title ?? null), probes.made]).toEqual([
      ["Mailtracker cannot reach your tracker", null, TRACKER_ACCESS_OFF_TITLE],
      1,
    ]);
    expect(notes[2]).toEqual(told);
    // Once: not again at the feed's polls or the email's attempts kept from the site, nor by the outbox.
    await runUntil(start + 30 * MINUTE);
    expect([notes.slice(2), outboxNotes]).toEqual([[told], []]);
  });

  it("an outage's notice naming an email, the tracker's site then withheld, says that instead at once, and names the next email too", async () => {
    // Nothing answers for the first four minutes; then the browser keeps every call from the tracker's site.
    const { clock, outbox, notes, outboxNotes, toolbar, runUntil, tabs, area, lasting } = background(() =>
      clock.now < start + 4 * MINUTE ? unreachable() : accessWithdrawn(),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 4 * MINUTE - STEP);
    expect(notes.map((note) => note?.title)).toEqual(["Mailtracker cannot reach your tracker"]);
    expect(tabs.readAgain).toBe(0);
    await runUntil(start + 4 * MINUTE);
    // The same notification, replaced: the tracker is no longer said to be out of reach, nor since when.
    expect(notes.slice(1)).toEqual([
      {
        title: TRACKER_ACCESS_OFF_TITLE,
        message: `${accessOff} The email you sent "Q3 pricing" waits to be registered with your tracker, and is tracked once it is. Until the access is given back, new opens and clicks are not notified, and Gmail's marks and panels show what your tracker said before.`,
      },
    ]);
    // The Gmail tabs read again: their marks no longer say the tracker could not be reached (staleReason).
    expect(tabs.readAgain).toBe(1);
    // A second email's attempts run out: named in that notice, not in one of the outbox's own.
    await outbox.put("second", request("Renewal"));
    await runUntil(start + 6 * MINUTE);
    expect(outboxNotes).toEqual([]);
    expect(notes.slice(2)).toEqual([
      {
        title: TRACKER_ACCESS_OFF_TITLE,
        message: `${accessOff} 2 emails you sent wait to be registered with your tracker, the first "Q3 pricing", and are tracked once they are. Until the access is given back, new opens and clicks are not notified, and Gmail's marks and panels show what your tracker said before.`,
      },
    ]);
    // A background started again draws that sentence again, without a second notification.
    const again = reachAt(clock.now, area, async () => waitingIn(await outbox.snapshot(), CONNECTED), lasting);
    await again.reach.restore();
    expect([again.toolbar, again.notes]).toEqual([[toolbar.at(-1)], []]);
    expect(toolbar.at(-1)).toBe(
      '2 emails you sent wait to be registered with your tracker, the first "Q3 pricing", and are tracked once they are.',
    );
  });

  it("an email told it waits for the tracker's site, the site given back, is told again in the words of then: the tracker answers but has not accepted it", async () => {
    // Nothing answers for the first four minutes; the feed answers at four minutes; the tracker's site is withheld
    // from then to ten minutes; given back, the tracker answers the feed, but PUT /api/messages/:id answers 503.
    const withheld = () => clock.now > start + 4 * MINUTE && clock.now < start + 10 * MINUTE;
    const { clock, outbox, notes, outboxNotes, runUntil } = background(
      () => (clock.now < start + 4 * MINUTE ? unreachable() : withheld() ? accessWithdrawn() : serverError()),
      () => (clock.now < start + 4 * MINUTE ? unreachable() : withheld() ? accessWithdrawn() : null),
    );
    await outbox.put("first", request("Q3 pricing"));
    await runUntil(start + 10 * MINUTE - STEP);
    const titles = ["Mailtracker cannot reach your tracker", null, TRACKER_ACCESS_OFF_TITLE];
    expect(notes.map((note) => note?.title ?? null)).toEqual(titles);
    // The first call heard after: the access notice taken back; the email told again at its next failure.
    await runUntil(start + 40 * MINUTE);
    expect(notes.map((note) => note?.title ?? null)).toEqual([...titles, null, "Your tracker answers, but has not accepted an email yet"]);
    expect(outboxNotes).toEqual([]);
  });

  it("an email waiting on no outage of this tracker (none, another tracker's, one ended, one heard long ago) is left to the outbox", async () => {
    const { reach, clock, notes } = reachAt(start);
    expect(await reach.waits(URL, start)).toBe(false);
    await reach.heard("https://other.example.com", unreachable());
    expect(await reach.waits(URL, start)).toBe(false);
    // The tracker answered after the last failure (the feed, say): not out, whatever the registration met.
    await reach.heard(URL, unreachable());
    await reach.heard(URL, null);
    expect(await reach.waits(URL, start)).toBe(false);
    // A failure heard too long ago to be the email's: a failure of this email's not heard here would be.
    await reach.heard(URL, unreachable());
    clock.now += QUIET_GAP_MS + 1;
    expect(await reach.waits(URL, start)).toBe(false);
    expect(notes).toEqual([]);
  });

  it("an email waiting on a refused token updates the refusal's notice, told at once, rather than adding its own", async () => {
    const { reach, notes } = reachAt(start);
    await reach.heard(URL, refused());
    expect(await reach.waits(URL, start)).toBe(true);
    expect(notes).toHaveLength(2);
    expect(notes[1]?.title).toBe(notes[0]?.title);
  });
});
