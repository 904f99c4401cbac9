// The background's message handlers with the browser and the tracker stood in for: what the rep's actions leave
// behind in extension storage.
import { expect, it, vi } from "vitest";
import { DAY, MINUTE } from "../../../test/durations";

/** browser.storage.local: the options and the rest. */
const stored = vi.hoisted(() => ({}) as Record<string, unknown>);
/** The background's private area (private-area.ts): the credentials (credential-store.ts). */
const { privateArea } = await vi.hoisted(async () => ({ privateArea: (await import("./memory-area")).memoryArea() }));
const secrets = privateArea.data;
const removed = vi.hoisted(() => [] as string[]);
const deletedContacts = vi.hoisted(() => [] as string[]);
/** The tracker's answer to the daily counts (GET /api/activity/daily): the days it was asked, or a failure. */
const daily = vi.hoisted(() => ({ days: null as { day: string; opens: number; clicks: number }[] | null, asked: [] as unknown[][] }));
/** The accounts the stood-in tracker knows, by API token, and those it creates (POST /api/accounts). */
const trackerAccounts = vi.hoisted(() => ({
  byToken: {} as Record<string, string>,
  created: 0,
  /**
   * How the token replacement (POST /api/account/token) goes: answered; its answer lost on the way back (the token
   * replaced all the same); the tracker out of reach (nothing replaced); KV refusing to forget the old token (503,
   * nothing replaced); or the new token refused as malformed (400).
   */
  replacement: "answered" as "answered" | "answer lost" | "unreachable" | "kv refused" | "malformed",
  /** The tokens the replacements asked for, each with the pending token this browser held as it asked. */
  asked: [] as { apiToken: string; pendingAtAsk: string | undefined }[],
  /** Whether GET /api/account is out of reach too (the tracker down after a replacement's answer was lost). */
  unreachable: false,
  /** The signing key GET /api/account answers: 2 once the account's key was rotated elsewhere. */
  keyId: 1,
  /** The earlier keys GET /api/account answers (`earlierKeys`): none, as a tracker older than them answers. */
  earlierKeys: undefined as unknown,
  /** Run once, while the next GET /api/account is under way (the rep acting from another tab meanwhile). */
  meanwhile: undefined as (() => Promise<unknown>) | undefined,
}));
/** The tracker's follow-up list (GET /api/activity/follow-ups): its answer, and the waits it was asked with. */
const followUpsAnswer = vi.hoisted(() => ({
  body: { messages: [] as unknown[] } as { messages: unknown[]; total?: number | null },
  asked: [] as unknown[],
}));
/** The emails the stood-in tracker has (GET /api/messages/:id, POST /api/messages/status), by tracking id. */
const trackerEmails = vi.hoisted(() => ({}) as Record<string, unknown>);
/** The replies the stood-in tracker recorded (POST /api/signals): each with the account whose token carried it. */
const trackerSignals = vi.hoisted(() => [] as [string, string][]);
/** While set, how the stood-in tracker's status and detail reads fail: its words and HTTP status (null: no answer). */
const trackerFails = vi.hoisted(() => ({ with: null as { message: string; status: number | null } | null }));
/** The emails the stood-in tracker was asked to move to a conversation (POST /api/messages/:id/thread), as asked. */
const trackerMoves = vi.hoisted(() => [] as [string, string][]);
/** The fetch the tracker's client deletes an email over (api.ts remove), when a test gives one; else recorded in `removed`. */
const trackerRemoveFetch = vi.hoisted(() => ({ with: null as typeof fetch | null }));
/** While set, how the stood-in tracker's moves to a conversation fail. */
const trackerMoveFails = vi.hoisted(() => ({ with: null as { message: string; status: number | null } | null }));
const storage = vi.hoisted(() => ({
  local: {
    get: async (key: string) => (key in stored ? { [key]: structuredClone(stored[key]) } : {}),
    set: async (items: Record<string, unknown>) => void Object.assign(stored, structuredClone(items)),
    remove: async (key: string) => void delete stored[key],
  },
  onChanged: { addListener: () => {}, removeListener: () => {} },
}));
vi.mock("webextension-polyfill", () => ({ default: { storage } }));
/** The sites the browser withholds from the extension (Chrome's "Site access", Firefox's add-on permissions). */
const withheld = vi.hoisted(() => new Set<string>());
/** Whether the rep gives the withheld sites back as the browser refuses the probe (the options page's button meanwhile). */
const givenBackAsRefused = vi.hoisted(() => ({ yes: false }));
vi.mock("../web-ext", () => ({
  browser: { storage, permissions: { contains: async ({ origins }: { origins: string[] }) => !origins.some((o) => withheld.has(o)) } },
}));
vi.mock("./private-area", () => ({ privateArea }));
vi.mock("./api", async (original) => {
  const actual = await original<typeof import("./api")>();
  return {
    ...actual,
    // The real probe, over a network where the tracker answers GET / unless the browser withholds its site.
    probeTracker: (trackerUrl: string) =>
      actual.probeTracker(trackerUrl, async () => {
        if (!withheld.has(`${trackerUrl}/*`)) return new Response("mailtracker");
        if (givenBackAsRefused.yes) withheld.clear();
        throw new TypeError("Failed to fetch");
      }),
    trackerApi: (url: string, token?: string) => ({
      account: async () => {
        if (trackerAccounts.unreachable)
          throw new actual.TrackerError("cannot reach the tracker at https://t.example (Failed to fetch)", null);
        const accountId = token ? trackerAccounts.byToken[token] : undefined;
        if (!accountId) throw new actual.TrackerError("the tracker answered 401", 401);
        const keyId = trackerAccounts.keyId;
        // Answered as the request reached the tracker; the answer on its way back while the rep acts meanwhile.
        const meanwhile = trackerAccounts.meanwhile;
        trackerAccounts.meanwhile = undefined;
        await meanwhile?.();
        return { accountId, signingKey: { keyId, secret: (keyId === 1 ? "A" : "B").repeat(43) }, earlierKeys: trackerAccounts.earlierKeys };
      },
      replaceToken: async (apiToken: string) => {
        const pending = (privateArea.data.credentials as { pendingToken?: { apiToken: string } } | undefined)?.pendingToken;
        trackerAccounts.asked.push({ apiToken, pendingAtAsk: pending?.apiToken });
        const unreachable = new actual.TrackerError("cannot reach the tracker at https://t.example (signal timed out)", null);
        if (trackerAccounts.replacement === "unreachable") throw unreachable;
        const accountId = token ? trackerAccounts.byToken[token] : undefined;
        if (!token || !accountId) throw new actual.TrackerError("the tracker answered 401", 401);
        if (trackerAccounts.replacement === "malformed")
          throw new actual.TrackerError("the tracker answered 400: invalid request body: apiToken is not random enough", 400);
        if (trackerAccounts.replacement === "kv refused")
          throw new actual.TrackerError("the tracker answered 503: the token was not replaced: the old token still works", 503);
        delete trackerAccounts.byToken[token];
        trackerAccounts.byToken[apiToken] = accountId;
        if (trackerAccounts.replacement === "answer lost") throw unreachable;
        return { accountId };
      },
      createAccount: async () => {
        const meanwhile = trackerAccounts.meanwhile;
        trackerAccounts.meanwhile = undefined;
        await meanwhile?.();
        trackerAccounts.created += 1;
        const accountId = `created${String(trackerAccounts.created).padStart(9, "0")}`;
        trackerAccounts.byToken[`mt_${accountId}`] = accountId;
        return { accountId, apiToken: `mt_${accountId}`, signingKey: { keyId: 1, secret: "C".repeat(43) } };
      },
      remove: async (id: string) => {
        if (trackerRemoveFetch.with) return actual.trackerApi(url, token, trackerRemoveFetch.with).remove(id);
        removed.push(id);
      },
      detail: async (id: string) => {
        if (trackerFails.with) throw new actual.TrackerError(trackerFails.with.message, trackerFails.with.status);
        if (!trackerEmails[id]) throw new actual.TrackerError("the tracker answered 404: no such message in this account", 404);
        return structuredClone(trackerEmails[id]);
      },
      // As the tracker moves one: only an email without a legacy id.
      moveToThread: async (id: string, threadId: string) => {
        trackerMoves.push([id, threadId]);
        const fails = trackerMoveFails.with;
        if (fails) throw new actual.TrackerError(fails.message, fails.status);
        const email = trackerEmails[id] as { threadId: string | null; syncThreadId: string | null };
        if (email.threadId !== null && /^[0-9a-f]+$/.test(email.threadId) && email.threadId !== threadId)
          throw new actual.TrackerError("the tracker answered 409: this email's conversation is known already", 409);
        Object.assign(email, { syncThreadId: email.syncThreadId ?? email.threadId, threadId });
        return structuredClone(email);
      },
      status: async (threadIds: string[]) => {
        if (trackerFails.with) throw new actual.TrackerError(trackerFails.with.message, trackerFails.with.status);
        return { messages: Object.values(trackerEmails).filter((m) => threadIds.includes((m as { threadId: string }).threadId)) };
      },
      signals: async (body: { signals: { gmailMessageId: string }[] }) => {
        for (const signal of body.signals) trackerSignals.push([trackerAccounts.byToken[token ?? ""] ?? "", signal.gmailMessageId]);
        return { results: body.signals.map((s) => ({ gmailMessageId: s.gmailMessageId, outcome: "recorded", messageId: "m" })) };
      },
      deleteContact: async (email: string) => void deletedContacts.push(email),
      followUps: async (waits: unknown) => {
        followUpsAnswer.asked.push(waits);
        return structuredClone(followUpsAnswer.body);
      },
      dailyActivity: async (...query: unknown[]) => {
        daily.asked.push(query);
        if (!daily.days) throw new TypeError("Failed to fetch");
        return { days: daily.days };
      },
    }),
  };
});

import type { EventsResponse, FeedEvent } from "../../../shared/api";
import { mintTrackingId, signedClickUrl } from "../../../shared/protocol";
import { detailOf } from "../message-detail.test-support";
import { saveOptions } from "../options-store";
import { TOKEN_REFUSED, trackerAccessOffAbove } from "../words";
import { underAccountLock } from "./account-lock";
import { TrackerError } from "./api";
import { refusedThenNotFound } from "./api.test-support";
import { ContactCheckCache } from "./contact-checks";
import { loadCredentials, removeCredentials } from "./credential-store";
import type { Credentials } from "./credentials";
import { outboxDelivery, waitsForItsAccount } from "./delivery";
import { TOTALS_MAX_AGE_MS, TrackerTotals } from "./digest";
import { followUpWaits, Reminders } from "./follow-ups";
import { runHandler } from "./handler";
import { gmailHandlers, NEW_ACCOUNT_NEEDS_CONFIRMATION, OTHER_ACCOUNT_NEEDS_CONFIRMATION, pageHandlers, signalDeps } from "./handlers";
import { HELD_SIGNALS_KEY, HeldSignals, UNLISTED_SIGNALS_KEY, UNMATCHED_SIGNALS_KEY } from "./held-signals";
import { memoryArea } from "./memory-area";
import { FEED_KEY, FeedPoller, MIN_POLL_GAP_MS, type PollerDeps, readFeedState } from "./notifications";
import { type DeliveryResult, Outbox } from "./outbox";
import { SentAccounts } from "./sent-accounts";
import { releaseHeldSignals } from "./signals";
import { StatusCache } from "./status-cache";
import { NOTICE_MAX, noticeTab } from "./tab-notices";
import { PENDING_TOKEN_KEPT_MS, settlementNote, settlePendingToken, tellsOfStoredToken } from "./token-replacement";
import { TrackerReach } from "./tracker-reach";

const unused = async () => {
  throw new Error("unused");
};
const ACCOUNT = "https://t.example abcdefghijklmnop";
const fromPopup = { id: "ext", url: "chrome-extension://ext/popup.html" };
const fromOptions = { id: "ext", url: "chrome-extension://ext/extension/src/options/index.html" };

/** The connected account's stored credentials (credential-store.ts); a test may give it keys rotated since. */
const CONNECTED: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "mt_token_of_the_connected_account",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};

/**
 * The background's parts over one memory area, the feed answered by `feed` for the connected account. The extension's
 * own storage starts as a browser connected to CONNECTED, and to nothing before it.
 */
function background(
  feed: PollerDeps["fetchEvents"] = async () => ({ events: [], cursor: "0" }),
  deliver: ConstructorParameters<typeof Outbox>[1] = async () => "delivered",
) {
  for (const key of Object.keys(stored)) delete stored[key];
  stored.options = { trackerUrl: "https://t.example", version: 2 };
  secrets.credentials = structuredClone(CONNECTED);
  delete secrets.heldAccounts;
  trackerAccounts.byToken = { [CONNECTED.apiToken]: CONNECTED.accountId, other: "otheraccountwxyz" };
  trackerAccounts.replacement = "answered";
  trackerAccounts.asked = [];
  trackerAccounts.unreachable = false;
  trackerAccounts.keyId = 1;
  trackerAccounts.earlierKeys = undefined;
  trackerAccounts.meanwhile = undefined;
  givenBackAsRefused.yes = false;
  trackerRemoveFetch.with = null;
  const area = memoryArea();
  const poller = new FeedPoller({
    area,
    account: async () => ACCOUNT,
    fetchEvents: feed,
    muted: async () => false,
    show: async () => undefined,
    news: () => undefined,
    pollAt: () => undefined,
  });
  /** The desktop notifications shown, by id. */
  const notifications: { id: string; title: string; message: string }[] = [];
  /** The news the Gmail tabs were told of (NEWS_KEY): the threads named, all when none. */
  const news: string[][] = [];
  const receipts = {
    statusCache: new StatusCache(),
    poller,
    news: (threadIds: string[]) => void news.push(threadIds),
    sentAccounts: new SentAccounts(area),
    totals: new TrackerTotals(),
    reach: new TrackerReach({
      area,
      lasting: area,
      notify: async () => undefined,
      toolbar: async () => undefined,
      readAgain: () => undefined,
      probe: async () => undefined,
    }),
  };
  const outbox = new Outbox(area, deliver, () => undefined);
  const reminders = new Reminders({
    area,
    now: async () => 0,
    requireCredentials: unused,
    detail: unused,
    inOutbox: async () => false,
    notify: async () => undefined,
    schedule: () => undefined,
  });
  const checks = new ContactCheckCache();
  const signals = signalDeps(outbox, receipts, new HeldSignals(area, loadCredentials), checks);
  const releaseHeld = () =>
    void releaseHeldSignals(signals).catch((error: unknown) => console.warn("held signals not reported yet", error));
  return {
    area,
    outbox,
    reminders,
    signals,
    held: signals.held,
    checks,
    news,
    reach: receipts.reach,
    notifications,
    gmail: gmailHandlers(outbox, receipts, signals, reminders, async (id, note) => void notifications.push({ id, ...note })),
    pages: pageHandlers(outbox, receipts, checks, reminders, signals.held, releaseHeld),
  };
}

/** A counted open of `messageId` by a person, now, at `cursor` in the feed. */
const openEvent = (cursor: string, messageId: string, recipients: FeedEvent["recipients"] = []): FeedEvent => ({
  cursor,
  messageId,
  threadId: null,
  subject: "Proposal",
  recipients,
  kind: "open",
  linkIndex: null,
  label: "human",
  counted: true,
  at: new Date().toISOString(),
});

const trackingId = () => mintTrackingId({ accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) });

it("deleting an email's data drops its follow-up reminder: no list names it, no look waits for it", async () => {
  const { gmail, reminders } = background();
  const id = await trackingId();
  await reminders.set(id, 3);
  await reminders.describe(id, { subject: "Proposal", recipients: [{ email: "dana@wingtip.example", name: "Dana" }] });
  await gmail.deleteMessageData.run({ trackingId: id }, { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" });
  expect(removed).toEqual([id]);
  expect(await reminders.all()).toEqual([]);
});

it("the dashboard's message page deletes an email's data as Gmail's conversation panel does, its reminder with it", async () => {
  const { pages, reminders } = background();
  const fromDashboard = { id: "ext", url: "chrome-extension://ext/extension/src/dashboard/index.html#message/x" };
  const id = await trackingId();
  await reminders.set(id, 3);
  await runHandler("deleteMessageData", pages.deleteMessageData, { trackingId: id }, fromDashboard);
  expect(removed.at(-1)).toBe(id);
  expect(await reminders.all()).toEqual([]);
  // Only this account's emails.
  const another = await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) });
  await expect(runHandler("deleteMessageData", pages.deleteMessageData, { trackingId: another }, fromDashboard)).rejects.toThrow(
    "not a tracking id of this account",
  );
  expect(removed.at(-1)).toBe(id);
});

it("the dashboard cancels a reminder of an email already sent: it is gone from storage, and the others wait on", async () => {
  const { pages, reminders } = background();
  const fromDashboard = { id: "ext", url: "chrome-extension://ext/extension/src/dashboard/index.html#follow-ups" };
  const [sent, other] = [await trackingId(), await trackingId()];
  await reminders.set(sent, 3);
  await reminders.set(other, 5);
  expect(await runHandler("cancelReminder", pages.cancelReminder, { trackingId: sent }, fromDashboard)).toEqual({
    cancelled: true,
    remindersFull: null,
  });
  expect((await reminders.all()).map((r) => r.trackingId)).toEqual([other]);
  // Already gone (notified, settled, cancelled in another tab): said, not thrown.
  expect(await runHandler("cancelReminder", pages.cancelReminder, { trackingId: sent }, fromDashboard)).toEqual({
    cancelled: false,
    remindersFull: null,
  });
  await expect(runHandler("cancelReminder", pages.cancelReminder, {}, fromDashboard)).rejects.toThrow(
    "cancelReminder does not take this input",
  );
});

it("the follow-up list sends each campaign's wait to apply before the limit, and says when the list was cut", async () => {
  const { pages } = background();
  stored.options = { trackerUrl: "https://t.example", version: 2, followUpDays: 3, followUpDaysByCampaign: { Webinar: 7, Q4: 2, Same: 3 } };
  const fromDashboard = { id: "ext", url: "chrome-extension://ext/extension/src/dashboard/index.html#follow-ups" };
  const sentAt = new Date(Date.now() - 10 * DAY).toISOString();
  const emails = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `m${i}`, threadId: null, sentAt, campaign: null, engagement: "none", recipients: [] }));
  const list = async (body: { messages: unknown[]; total?: number | null }) => {
    followUpsAnswer.body = body;
    return runHandler("listFollowUps", pages.listFollowUps, null, fromDashboard);
  };

  const cut = await list({ messages: emails(200), total: 347 });
  expect(followUpsAnswer.asked.at(-1)).toEqual({ days: 2, defaultDays: 3, campaignDays: JSON.stringify({ Webinar: 7, Q4: 2 }) });
  expect(cut.followUps).toHaveLength(200);
  expect(cut.cut).toEqual({ total: 347 });
  expect((await list({ messages: emails(200), total: null })).cut).toEqual({ total: null });
  expect((await list({ messages: emails(12), total: 12 })).cut).toBeNull();
  // A tracker before `total`: a full list may have been cut, how much is not known; a shorter one was not.
  expect((await list({ messages: emails(200) })).cut).toEqual({ total: null });
  expect((await list({ messages: emails(12) })).cut).toBeNull();

  // Waits too many to send: the shortest only, for every email (the default alone would hold Q4 back a day longer), and
  // the extension leaves out what is within its wait itself.
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`Campaign number ${i} of a long series of webinars`, 5]));
  expect(followUpWaits({ followUpDays: 3, followUpDaysByCampaign: { ...many, Q4: 2 } })).toEqual({ days: 2 });
});

it("the popup hears that the tracker refuses this browser's token, not that it does not answer", async () => {
  const { pages } = background(async () => {
    throw new TrackerError("the tracker answered 401: missing or invalid API token (Authorization: Bearer mt_…)", 401);
  });
  const activity = await pages.getActivity.run(null, fromPopup);
  expect(activity).toMatchObject({ reachable: false, refused: true });
  expect(activity.problem).toMatch(/does not accept this browser's API token.*connect again/);
});

it("the popup hears how many replies and bounces the tracker never counted, listed or not, cleared ones left out", async () => {
  const { pages, area } = background();
  const signal = (gmailMessageId: string) => ({
    signal: { kind: "reply", threadId: "t", gmailMessageId, at: "2026-11-22T10:00:00.000Z", from: "carol@prospect.example" },
    times: 5,
    givenUpAt: 0,
  });
  await area.set({ [UNMATCHED_SIGNALS_KEY]: [signal("r1"), { ...signal("r2"), cleared: true }], [UNLISTED_SIGNALS_KEY]: 2 });
  expect((await pages.getActivity.run(null, fromPopup)).notCounted).toEqual({ listed: 1, unlisted: 2 });
});

it("the options page hears, without a call of its own, that the tracker refuses the token or does not answer", async () => {
  const { pages, reach } = background();
  expect((await pages.getState.run(null, fromOptions)).tracker).toEqual({ reachable: true, problem: null, refused: false });
  await reach.heard(CONNECTED.trackerUrl, new TrackerError("the tracker answered 401: missing or invalid API token", 401));
  const refused = (await pages.getState.run(null, fromOptions)).tracker;
  expect(refused).toMatchObject({ reachable: false, refused: true });
  // The popup's words for the same refusal (one derivation).
  expect(refused?.problem).toMatch(/does not accept this browser's API token.*connect again/);
  await reach.heard(CONNECTED.trackerUrl, new TrackerError("cannot reach the tracker at https://t.example (Failed to fetch)", null));
  expect((await pages.getState.run(null, fromOptions)).tracker).toEqual({
    reachable: false,
    problem: "cannot reach the tracker at https://t.example (Failed to fetch)",
    refused: false,
  });
  await reach.heard(CONNECTED.trackerUrl, null);
  expect((await pages.getState.run(null, fromOptions)).tracker?.reachable).toBe(true);
});

it("the popup and the options page answer while a registration waits on a tracker that does not answer", async () => {
  // A delivery that never ends, as one to a tracker that holds the connection until api.ts's timeout.
  const { pages, outbox } = background(undefined, () => new Promise<never>(() => undefined));
  const waiting = await trackingId();
  await outbox.put(waiting, { subject: "Pricing", recipients: [], sentAt: new Date().toISOString() });
  void outbox.flush();
  // Before, both waited for the delivery under way: this test then never ends (vitest's timeout fails it).
  expect((await pages.getState.run(null, fromOptions)).outbox).toEqual([expect.objectContaining({ trackingId: waiting })]);
  expect((await pages.getActivity.run(null, fromPopup)).state.outbox).toEqual([expect.objectContaining({ trackingId: waiting })]);
});

it("deleting a contact takes it out of the activity and the reminders, and its only emails with their counts", async () => {
  const [only, shared] = [await trackingId(), await trackingId()];
  const dana = { email: "dana@wingtip.example", name: "Dana Reyes" };
  const erin = { email: "erin@wingtip.example", name: "Erin" };
  let page: EventsResponse = { events: [openEvent("1", only, [dana]), openEvent("2", shared, [dana, erin])], cursor: "2" };
  const { area, pages, reminders } = background(async () => page);
  await pages.getActivity.run(null, fromPopup);
  page = { events: [], cursor: "2" };
  // A reminder stored before addresses were kept names Dana only by her name.
  await area.set({
    followUpReminders: [{ trackingId: only, days: 3, setAt: 0, dueAt: 1, subject: "Proposal", recipients: ["Dana Reyes"] }],
  });
  await reminders.set(shared, 3);
  await reminders.describe(shared, { subject: "Proposal", recipients: [dana, erin] });
  const before = await pages.getActivity.run(null, fromPopup);
  expect([before.activity.length, before.today.opens]).toEqual([2, 2]);

  await runHandler("deleteContact", pages.deleteContact, { email: "Dana@Wingtip.example", name: "Dana Reyes" }, fromPopup);
  expect(deletedContacts).toEqual(["dana@wingtip.example"]);
  const after = await pages.getActivity.run(null, fromPopup);
  expect(after.activity).toEqual([expect.objectContaining({ messageId: shared, recipients: ["Erin"], addresses: [erin.email] })]);
  expect(after.today.opens).toBe(1);
  expect(await reminders.all()).toEqual([expect.objectContaining({ trackingId: shared, recipients: ["Erin"], addresses: [erin.email] })]);
  expect(JSON.stringify(area.data)).not.toMatch(/dana|Reyes/i);
});

it("the popup's totals are the tracker's count when it answers, which leaves out deleted data the extension still counts", async () => {
  const { pages } = background(async () => ({ events: [openEvent("1", "m1"), openEvent("2", "m2")], cursor: "2" }));
  // The tracker does not answer the daily counts: the extension's own.
  daily.days = null;
  expect(await pages.getActivity.run(null, fromPopup)).toMatchObject({ today: { opens: 2, clicks: 0 }, week: { opens: 2, clicks: 0 } });
  // It answers: one of those opens was deleted on the tracker (a contact's, past the activity the extension keeps).
  const days = ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"];
  daily.days = days.map((day, i) => ({ day, opens: i === 6 ? 1 : i, clicks: i === 2 ? 3 : 0 }));
  const activity = await pages.getActivity.run(null, fromPopup);
  expect(activity).toMatchObject({ today: { opens: 1, clicks: 0 }, week: { opens: 16, clicks: 3 } });
  // Asked for the last 7 days in this browser's local days (its offset, and its zone when the tracker knows it).
  expect(daily.asked.at(-1)?.slice(0, 2)).toEqual([7, new Date().getTimezoneOffset()]);
});

it("the popup's refreshes ask the tracker for its totals again only when they may have changed", async () => {
  const dana = { email: "dana@wingtip.example", name: "Dana" };
  const open = (cursor: string) => openEvent(cursor, `totals-${cursor}`, [dana]);
  let page: EventsResponse = { events: [open("1")], cursor: "1" };
  const { gmail, pages } = background(async () => page);
  daily.days = [{ day: "today", opens: 1, clicks: 0 }];
  const asked = () => daily.asked.length;
  const start = asked();
  vi.useFakeTimers({ toFake: ["Date"], now: new Date(2026, 11, 4, 12, 0) });
  try {
    // The popup open, refreshing every 3 s, with nothing new: one request for the totals.
    await pages.getActivity.run(null, fromPopup);
    page = { events: [], cursor: "1" };
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(3_000);
      await pages.getActivity.run(null, fromPopup);
    }
    expect(asked() - start).toBe(1);

    // A poll that brings an event asks again, at once.
    page = { events: [open("2")], cursor: "2" };
    vi.advanceTimersByTime(3_000);
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(2);
    page = { events: [], cursor: "2" };
    vi.advanceTimersByTime(3_000);
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(2);
    // So does one taken ahead of an event still held (the cursor stays where it was).
    page = { events: [], ahead: [open("4")], cursor: "2" };
    vi.advanceTimersByTime(3_000);
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(3);
    page = { events: [], cursor: "2" };

    // The rep deletes a contact: the counts may have dropped.
    await runHandler("deleteContact", pages.deleteContact, { email: dana.email, name: dana.name }, fromPopup);
    vi.advanceTimersByTime(3_000);
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(4);
    // So may an email's whose events the extension no longer keeps (its own counts do not change).
    await gmail.deleteMessageData.run({ trackingId: await trackingId() }, { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" });
    vi.advanceTimersByTime(3_000);
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(5);

    // A minute with nothing the extension can see (a relabel on the tracker) asks again.
    vi.advanceTimersByTime(TOTALS_MAX_AGE_MS);
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(6);

    // A new local day asks again, however recent the last answer.
    vi.setSystemTime(new Date(2026, 11, 4, 23, 59, 50));
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(7);
    vi.setSystemTime(new Date(2026, 11, 5, 0, 0, 5));
    await pages.getActivity.run(null, fromPopup);
    expect(asked() - start).toBe(8);
  } finally {
    vi.useRealTimers();
  }
});

it("a refresh after the tracker failed to give its totals asks again", async () => {
  const { pages } = background();
  daily.days = null;
  const start = daily.asked.length;
  await pages.getActivity.run(null, fromPopup);
  daily.days = [{ day: "today", opens: 3, clicks: 0 }];
  expect(await pages.getActivity.run(null, fromPopup)).toMatchObject({ today: { opens: 3, clicks: 0 } });
  expect(daily.asked.length - start).toBe(2);
});

it("a popup refresh reads the stored feed once: the state its poll left serves the activity and the totals", async () => {
  const open = (cursor: string) => openEvent(cursor, `read-once-${cursor}`);
  vi.useFakeTimers({ toFake: ["Date"], now: new Date(2026, 11, 4, 12, 0) });
  let page: EventsResponse = { events: [open("1")], cursor: "1" };
  const { area, pages } = background(async () => page);
  daily.days = null;
  const gets = vi.spyOn(area, "get");
  /** The reads of the feed's head (FEED_KEY): each read of the stored state asks for it, then for it again. */
  const feedReads = () => gets.mock.calls.filter(([keys]) => [keys].flat().includes(FEED_KEY)).length;
  try {
    await pages.getActivity.run(null, fromPopup);
    gets.mockClear();
    expect(await readFeedState(area, ACCOUNT)).not.toBeNull();
    const oneRead = feedReads();
    expect(oneRead).toBeGreaterThan(0);
    gets.mockClear();
    // Past the poll's shortest gap: the refresh's poll reads the state, and brings a second open.
    page = { events: [open("2")], cursor: "2" };
    vi.advanceTimersByTime(MIN_POLL_GAP_MS);
    const activity = await pages.getActivity.run(null, fromPopup);
    expect(feedReads()).toBe(oneRead);
    expect(activity.activity.map((item) => item.messageId).sort()).toEqual(["read-once-1", "read-once-2"]);
    expect(activity.today.opens).toBe(2);
  } finally {
    vi.useRealTimers();
    gets.mockRestore();
  }
});

it("a send keeps the Gmail account it came from, by the sending tab's path and the address its title names", async () => {
  const { gmail, area } = background();
  const accounts = new SentAccounts(area);
  const id = await trackingId();
  const request = { subject: "Pricing", recipients: [{ email: "dana@wingtip.example" }], sentAt: new Date(0).toISOString() };
  const mailbox = {
    id: "ext",
    url: "https://mail.google.com/mail/u/1/#inbox",
    tab: { title: "Re: Call - bob@prospect.example - notes - rep@acme.example - Gmail" },
  };
  await gmail.messageSent.run({ trackingId: id, request }, mailbox as never);
  await vi.waitFor(async () => expect(await accounts.get(id)).toEqual({ path: "/mail/u/1/", address: "rep@acme.example" }));
  // Reported again from its compose pop-out, whose title is not read: the address stays. The accounts are written
  // one after the other (SentAccounts' serial runner): once another email sent after it is kept, this report was
  // handled.
  const popOut = { id: "ext", url: "https://mail.google.com/mail/u/1/?view=cm&fs=1", tab: { title: "Pricing - dana@wingtip.example - x" } };
  await gmail.messageSent.run({ trackingId: id, request }, popOut as never);
  const next = await trackingId();
  await gmail.messageSent.run({ trackingId: next, request }, mailbox as never);
  await vi.waitFor(async () => expect(await accounts.get(next)).toEqual({ path: "/mail/u/1/", address: "rep@acme.example" }));
  expect(await accounts.get(id)).toEqual({ path: "/mail/u/1/", address: "rep@acme.example" });
});

it("signs a compose's links with the key its id was minted with when the account's key rotated since, and refuses a key it never held", async () => {
  const { gmail } = background();
  const compose = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  const first = CONNECTED.signingKey;
  const openedBefore = await trackingId();
  const rotated = { accountId: first.accountId, keyId: 2, secret: "B".repeat(43) };
  secrets.credentials = { ...CONNECTED, signingKey: rotated, earlierKeys: [first] };
  const links = [{ index: 0, url: "https://example.com/pricing" }];
  const [signed] = await gmail.signLinks.run({ trackingId: openedBefore, links }, compose);
  // The tracker checks the link under the key the id names (docs/protocol.md §5): the earlier one.
  expect(signed?.clickUrl).toBe(await signedClickUrl("https://t.example", first, openedBefore, 0, "https://example.com/pricing"));
  const openedAfter = await mintTrackingId(rotated);
  const [current] = await gmail.signLinks.run({ trackingId: openedAfter, links }, compose);
  expect(current?.clickUrl).toBe(await signedClickUrl("https://t.example", rotated, openedAfter, 0, "https://example.com/pricing"));
  // A key this browser never held cannot sign a link the tracker would accept: the compose sends its links unchanged.
  const unknown = await mintTrackingId({ ...rotated, keyId: 3 });
  await expect(gmail.signLinks.run({ trackingId: unknown, links }, compose)).rejects.toThrow(/does not hold/);
});

it("a compose opened before a rotation signs its links after a Disconnect, or a switch to another account and back, once connected again", async () => {
  const { pages, gmail } = background();
  const compose = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  const links = [{ index: 0, url: "https://example.com/pricing" }];
  const openedBefore = await trackingId();
  const signedBefore = await signedClickUrl("https://t.example", CONNECTED.signingKey, openedBefore, 0, links[0]?.url ?? "");
  // Rotated elsewhere since: the tracker's current key is 2, and it answers key 1 among the earlier ones.
  trackerAccounts.keyId = 2;
  trackerAccounts.earlierKeys = [{ keyId: 1, secret: CONNECTED.signingKey.secret }];
  const connect = (apiToken: string, leaving: string) =>
    pages.connect.run({ trackerUrl: "https://t.example", apiToken, otherAccount: true, leaving }, fromOptions);
  const signed = async () => (await gmail.signLinks.run({ trackingId: openedBefore, links }, compose))[0]?.clickUrl;
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  await connect(CONNECTED.apiToken, CONNECTED.accountId);
  expect(await signed()).toBe(signedBefore);
  await connect("other", CONNECTED.accountId);
  await connect(CONNECTED.apiToken, "otheraccountwxyz");
  expect(await signed()).toBe(signedBefore);
  // A tracker older than the earlier keys answers only its current one: the compose's links go out unchanged, as before.
  trackerAccounts.earlierKeys = undefined;
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  await connect(CONNECTED.apiToken, CONNECTED.accountId);
  await expect(signed()).rejects.toThrow(/does not hold/);
});

it("a Connect with a token drops a pending replacement but while it is the token that replacement was made for", async () => {
  const { pages } = background();
  const pendingToken = { apiToken: `mt_${CONNECTED.accountId}_pending`, askedAt: Date.now() };
  const connect = async (apiToken: string) => {
    secrets.credentials = { ...CONNECTED, pendingToken };
    trackerAccounts.byToken[apiToken] = CONNECTED.accountId;
    await pages.connect.run({ trackerUrl: "https://t.example", apiToken }, fromOptions);
    return secrets.credentials as Credentials;
  };
  // The old token again: a request carrying the pending one may still land, and settling it decides, as before.
  expect(await connect(CONNECTED.apiToken)).toEqual({ ...CONNECTED, pendingToken });
  // The pending one pasted: in use. Another one (another browser replaced the token): the pending one can never land.
  for (const apiToken of [pendingToken.apiToken, "mt_from_another_browser"]) {
    expect(await connect(apiToken)).toEqual({ ...CONNECTED, apiToken });
    // Nor does a refusal of the token go untold as the pending replacement's to judge.
    expect(tellsOfStoredToken(await loadCredentials(), CONNECTED.trackerUrl, apiToken, true)).toBe(true);
  }
});

it("a Connect with the token held, replaced from another tab while the tracker answers it, keeps the replacement: the token typed opens nothing now", async () => {
  const { pages } = background();
  let replaced = "";
  trackerAccounts.meanwhile = async () => {
    replaced = (await runHandler("replaceApiToken", pages.replaceApiToken, { confirmed: true }, fromOptions)).apiToken;
  };
  await pages.connect.run({ trackerUrl: "https://t.example", apiToken: CONNECTED.apiToken }, fromOptions);
  expect(replaced).not.toBe(CONNECTED.apiToken);
  expect(trackerAccounts.byToken[replaced]).toBe(CONNECTED.accountId);
  expect(held()).toEqual({ ...CONNECTED, apiToken: replaced });
});

it("a recipient check asked as a Connect to another account switches keeps no answer of the account before", async () => {
  const { pages, checks } = background();
  const asked: string[] = [];
  const check = async () => {
    const { accountId } = await loadCredentials().then((credentials) => credentials ?? { accountId: "none" });
    return checks.get(["dana@d.example"], async (emails) => {
      asked.push(accountId);
      return emails.map((email) => ({ email, suppressed: accountId === CONNECTED.accountId, bounceKind: null, optedOut: false }));
    });
  };
  // Asked as the credentials are written: after the account left was cleared for, before the switch.
  const set = privateArea.set;
  privateArea.set = async (items) => {
    if ("credentials" in items) {
      privateArea.set = set;
      await check();
    }
    return set(items);
  };
  try {
    const other = { trackerUrl: "https://t.example", apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId };
    await pages.connect.run(other, fromOptions);
  } finally {
    privateArea.set = set;
  }
  expect(held().accountId).toBe("otheraccountwxyz");
  expect(await check()).toEqual([{ email: "dana@d.example", suppressed: false, bounceKind: null, optedOut: false }]);
  expect(asked).toEqual([CONNECTED.accountId, "otheraccountwxyz"]);
});

it("Disconnect only once confirmed; after it, Connect without a token asks before creating a new account", async () => {
  const { pages } = background();
  const trackerUrl = "https://t.example";
  // The options page can show the token first: only it brings the account back.
  expect(await pages.storedApiToken.run(null, fromOptions)).toEqual({
    accountId: CONNECTED.accountId,
    apiToken: CONNECTED.apiToken,
    replaced: false,
    unsettled: null,
  });
  await expect(runHandler("disconnect", pages.disconnect, null, fromOptions)).rejects.toThrow(/does not take this input/);
  expect(secrets.credentials).toEqual(CONNECTED);
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  expect(JSON.stringify([stored, secrets])).not.toContain(CONNECTED.apiToken);
  await expect(pages.storedApiToken.run(null, fromOptions)).rejects.toThrow("this browser holds no API token");

  // The page hears which account it was, and that only its token brings it back.
  const { connection } = await pages.getState.run(null, fromOptions);
  expect(connection).toMatchObject({ connected: false, accountId: null, lastAccountId: CONNECTED.accountId });
  expect(connection.problem).toBe(`disconnected from account ${CONNECTED.accountId}: connect again with its API token`);
  // Connect with an empty token field: asked first, nothing created.
  const created = trackerAccounts.created;
  await expect(pages.connect.run({ trackerUrl }, fromOptions)).rejects.toThrow(NEW_ACCOUNT_NEEDS_CONFIRMATION);
  expect(trackerAccounts.created).toBe(created);
  expect(secrets.credentials).toBeUndefined();
  // Answered: a new account. Its old token, entered after a disconnect, needs no question (nothing is held).
  expect(await pages.connect.run({ trackerUrl, newAccount: true, leaving: CONNECTED.accountId }, fromOptions)).toMatchObject({
    created: true,
  });
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  expect(await pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken }, fromOptions)).toMatchObject({
    accountId: CONNECTED.accountId,
    created: false,
  });
});

it("Connect with another account's token while connected asks first; the same account's token connects at once", async () => {
  const { pages } = background();
  const trackerUrl = "https://t.example";
  await expect(pages.connect.run({ trackerUrl, apiToken: "other" }, fromOptions)).rejects.toThrow(OTHER_ACCOUNT_NEEDS_CONFIRMATION);
  expect(secrets.credentials).toEqual(CONNECTED);
  expect(await pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken }, fromOptions)).toMatchObject({
    accountId: CONNECTED.accountId,
    created: false,
  });
  expect(
    await pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId }, fromOptions),
  ).toMatchObject({
    accountId: "otheraccountwxyz",
    created: false,
  });
  expect(secrets.credentials).toMatchObject({ accountId: "otheraccountwxyz", apiToken: "other" });
});

it("connecting again has every Gmail tab read its marks and panels at once, which a refused token had stopped", async () => {
  const { pages, reach, news } = background();
  await reach.heard(CONNECTED.trackerUrl, new TrackerError("the tracker answered 401: missing or invalid API token", 401));
  trackerAccounts.byToken.renewed = CONNECTED.accountId;
  await pages.connect.run({ trackerUrl: "https://t.example", apiToken: "renewed" }, fromOptions);
  expect(secrets.credentials).toMatchObject({ accountId: CONNECTED.accountId, apiToken: "renewed" });
  // All threads: the tabs' panels read again whatever they show.
  expect(news).toEqual([[]]);
});

/**
 * A background whose outbox delivers through the real delivery (delivery.ts) with the credentials stored then (each
 * registration, and each withdrawal as "withdraw <id>", kept in `sentTo` with the account whose token it went with), and
 * what a connected browser keeps for its account's tracker: an email waiting in the outbox with a reply held for it,
 * a reply the tracker answered `unmatched` (to be sent again), a recent one of a thread it knew no tracked email of
 * (its sender and text), the list of those it never counted, a reminder, and a compose's cached recipient check.
 */
async function keptForTheAccount() {
  /** The registrations the tracker was sent: with which account's token, of which email. */
  const sentTo: [string, string][] = [];
  const parts = background(
    undefined,
    outboxDelivery({
      credentials: loadCredentials,
      api: (c) => ({
        registerMessage: async (id) => {
          sentTo.push([c.accountId, id]);
          return { id, state: "delivered", openCount: 0, clickCount: 0 } as never;
        },
        remove: async (id) => void sentTo.push([c.accountId, `withdraw ${id}`]),
      }),
      news: () => undefined,
      releaseHeld: () => undefined,
      registered: () => undefined,
    }),
  );
  const { outbox, held, reminders, checks, area } = parts;
  const waiting = await trackingId();
  const at = new Date().toISOString();
  const reply = (gmailMessageId: string, threadId: string) =>
    ({ kind: "reply", threadId, gmailMessageId, at, from: "carol@prospect.example", text: "Sounds good" }) as const;
  await outbox.put(waiting, { subject: "Proposal", recipients: [], sentAt: at, threadId: "waiting", links: [] }, Date.now() + MINUTE);
  await held.hold(["me@example.com"], [reply("w1", "waiting")], () => CONNECTED.accountId);
  await held.unmatched(CONNECTED.accountId, ["me@example.com"], [reply("m1", "tracked")]);
  await held.untracked(CONNECTED.accountId, ["me@example.com"], [reply("u1", "private")], false);
  await area.set({ [UNMATCHED_SIGNALS_KEY]: [{ signal: reply("r1", "t"), times: 5, givenUpAt: 0 }], [UNLISTED_SIGNALS_KEY]: 2 });
  await reminders.set(waiting, 3);
  const dana = { email: "dana@wingtip.example", suppressed: true, bounceKind: "hard" as const, optedOut: false };
  await checks.get([dana.email], async () => [dana]);
  /** What is kept there still, once the outbox's deliveries are done; `checksAsked`: the check was asked again. */
  const stillKept = async () => {
    await outbox.flush();
    let checksAsked = false;
    await checks.get([dana.email], async () => {
      checksAsked = true;
      return [];
    });
    return {
      outbox: (await outbox.snapshot()).map((e) => ({ trackingId: e.trackingId, lastError: e.lastError })),
      sentTo: [...sentTo],
      held: (await held.all()).map((h) => h.signal.gmailMessageId),
      listing: await held.listing(),
      reminders: (await reminders.all()).map((r) => r.trackingId),
      checksAsked,
    };
  };
  return { ...parts, waiting, stillKept };
}

it("Disconnect takes what only the tracker could use: its answers, the rep's other mail, the checks; an email waiting, its reply and reminder stay", async () => {
  const { pages, waiting, stillKept, area } = await keptForTheAccount();
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  expect(await stillKept()).toEqual({
    outbox: [{ trackingId: waiting, lastError: null }],
    sentTo: [],
    held: ["w1"],
    listing: { signals: [], unlisted: 0 },
    reminders: [waiting],
    checksAsked: true,
  });
  expect(JSON.stringify(area.data)).not.toContain("private");
});

it("a reply kept before its account was, whose email is delivered while Disconnect waits for the held signals, goes with the account", async () => {
  const { pages, outbox, held, area } = background();
  const email = await trackingId();
  const at = new Date().toISOString();
  const reply = (gmailMessageId: string, threadId: string) =>
    ({ kind: "reply", threadId, gmailMessageId, at, from: "carol@prospect.example", text: "Sounds good" }) as const;
  await outbox.put(email, { subject: "Proposal", recipients: [], sentAt: at, threadId: "legacy", links: [] }, Date.now() + MINUTE);
  // Kept by an earlier version, with no account: it stays past a switch only while its email is in the outbox.
  await area.set({ [HELD_SIGNALS_KEY]: [{ self: [], signal: reply("l1", "legacy") }] });
  // Another held-signal write is under way (a Gmail tab's report): the disconnect waits for it.
  let openWrite: () => void = () => undefined;
  const writeHeld = new Promise<void>((resolve) => {
    openWrite = resolve;
  });
  const set = area.set;
  area.set = async (items) => {
    if (HELD_SIGNALS_KEY in items) await writeHeld;
    return set(items);
  };
  const report = held.hold([], [reply("x1", "other")], () => CONNECTED.accountId);
  const leave = vi.spyOn(held, "changeAccount");
  const disconnect = runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  await vi.waitFor(() => expect(leave).toHaveBeenCalled());
  // Meanwhile its email is delivered: its reply is the account's left, for no other account's tracker.
  await outbox.retry(email);
  await outbox.flush();
  expect(await outbox.snapshot()).toEqual([]);
  openWrite();
  await Promise.all([report, disconnect]);
  area.set = set;
  expect((await held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["x1"]);
});

it("connecting to another account takes the same, and sends it no email of the one before, which waits for it in words", async () => {
  const trackerUrl = "https://t.example";
  // Connected, or disconnected by an earlier version, which left all the rest with the account's mark.
  for (const leftBy of ["connected", "an earlier disconnect"]) {
    const { pages, waiting, stillKept } = await keptForTheAccount();
    if (leftBy === "an earlier disconnect") await removeCredentials();
    await pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId }, fromOptions);
    expect(secrets.credentials).toMatchObject({ accountId: "otheraccountwxyz" });
    expect(await stillKept()).toEqual({
      outbox: [{ trackingId: waiting, lastError: waitsForItsAccount(waiting) }],
      sentTo: [],
      held: ["w1"],
      listing: { signals: [], unlisted: 0 },
      reminders: [waiting],
      checksAsked: true,
    });
    // The dashboard's follow-ups are the connected account's: the reminder waits unlisted.
    const fromDashboard = { id: "ext", url: "chrome-extension://ext/extension/src/dashboard/index.html#follow-ups" };
    expect((await runHandler("listFollowUps", pages.listFollowUps, null, fromDashboard)).reminders).toEqual([]);
    // Its account connected again: it goes to it at once, with its reply and reminder.
    await pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken, otherAccount: true, leaving: "otheraccountwxyz" }, fromOptions);
    expect(await stillKept()).toMatchObject({ outbox: [], sentTo: [[CONNECTED.accountId, waiting]], held: ["w1"], reminders: [waiting] });
    expect((await runHandler("listFollowUps", pages.listFollowUps, null, fromDashboard)).reminders).toMatchObject([
      { trackingId: waiting },
    ]);
  }
});

it("a Connect the tracker answers after another tab connected to another account leaves that one: nothing kept for it reaches the first's tracker", async () => {
  const { pages, held } = background();
  const trackerUrl = "https://t.example";
  const at = new Date().toISOString();
  // While the tracker answers this tab's Connect to the account connected, another tab connects to another account,
  // whose tracker answers a reply `unmatched`: kept to be sent again, to its tracker only.
  trackerAccounts.meanwhile = async () => {
    await pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId }, fromOptions);
    await held.unmatched(
      "otheraccountwxyz",
      ["me@example.com"],
      [{ kind: "reply", threadId: "b", gmailMessageId: "b1", at, from: "erin@b.example" }],
    );
  };
  await pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken, otherAccount: true, leaving: "otheraccountwxyz" }, fromOptions);
  expect(secrets.credentials).toMatchObject({ accountId: CONNECTED.accountId });
  expect(await held.all()).toEqual([]);
});

it("a Connect to the account connected, another tab connecting to another one while the tracker answered, asks first and writes nothing", async () => {
  const { pages, held } = background();
  const trackerUrl = "https://t.example";
  const at = new Date().toISOString();
  const unmatched = { kind: "reply" as const, threadId: "b", gmailMessageId: "b1", at, from: "erin@b.example" };
  trackerAccounts.meanwhile = async () => {
    await pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId }, fromOptions);
    await held.unmatched("otheraccountwxyz", ["me@example.com"], [unmatched]);
  };
  await expect(pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken }, fromOptions)).rejects.toThrow(
    OTHER_ACCOUNT_NEEDS_CONFIRMATION,
  );
  expect(secrets.credentials).toMatchObject({ accountId: "otheraccountwxyz", apiToken: "other" });
  expect((await held.all()).map((h) => [h.signal.gmailMessageId, h.account])).toEqual([["b1", "otheraccountwxyz"]]);
});

it("a Connect to the account connected keeps a signing key Test connection took up from another tab while the tracker answered", async () => {
  const { pages } = background();
  const rotated = { accountId: CONNECTED.accountId, keyId: 2, secret: "B".repeat(43) };
  // Connect's answer carries key 1; the key is rotated and taken up by Test connection before that answer arrives.
  trackerAccounts.meanwhile = async () => {
    trackerAccounts.keyId = 2;
    await pages.testConnection.run(null, fromOptions);
  };
  trackerAccounts.byToken.renewed = CONNECTED.accountId;
  await pages.connect.run({ trackerUrl: "https://t.example", apiToken: "renewed" }, fromOptions);
  const { signingKey, earlierKeys } = secrets.credentials as Credentials;
  expect([signingKey, ...(earlierKeys ?? [])]).toEqual(expect.arrayContaining([CONNECTED.signingKey, rotated]));
  expect(secrets.credentials).toMatchObject({ accountId: CONNECTED.accountId, apiToken: "renewed" });
});

it("a new account created while another tab connected to an account takes none's place: that one stays, the new token goes back to be kept", async () => {
  const { pages } = background();
  const trackerUrl = "https://t.example";
  delete secrets.credentials;
  // Nothing held as the rep pressed Connect without a token: nothing to ask. Another tab connects while the tracker creates it.
  trackerAccounts.meanwhile = () => pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken }, fromOptions);
  const created = await pages.connect.run({ trackerUrl }, fromOptions);
  const accountId = `created${String(trackerAccounts.created).padStart(9, "0")}`;
  expect(created).toEqual({ accountId, apiToken: `mt_${accountId}`, created: true, connectedMeanwhile: CONNECTED.accountId });
  expect(secrets.credentials).toEqual(CONNECTED);
  // Its token, kept by the rep, connects it, asked first as any other account's.
  await expect(pages.connect.run({ trackerUrl, apiToken: `mt_${accountId}` }, fromOptions)).rejects.toThrow(
    OTHER_ACCOUNT_NEEDS_CONFIRMATION,
  );
});

it("a switch the rep agreed to for the account the page named asks again when another tab connected to another one since", async () => {
  const { pages } = background();
  const trackerUrl = "https://t.example";
  trackerAccounts.byToken.third = "thirdaccountwxyz";
  // The page asked about leaving the connected account; another tab connects to a third one while the tracker answers.
  trackerAccounts.meanwhile = () =>
    pages.connect.run({ trackerUrl, apiToken: "third", otherAccount: true, leaving: CONNECTED.accountId }, fromOptions);
  const agreed = { trackerUrl, apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId };
  await expect(pages.connect.run(agreed, fromOptions)).rejects.toThrow(OTHER_ACCOUNT_NEEDS_CONFIRMATION);
  expect(secrets.credentials).toMatchObject({ accountId: "thirdaccountwxyz", apiToken: "third" });
  // A new account agreed to for the account no longer held: asked again, nothing created.
  const created = trackerAccounts.created;
  await expect(pages.connect.run({ trackerUrl, newAccount: true, leaving: CONNECTED.accountId }, fromOptions)).rejects.toThrow(
    NEW_ACCOUNT_NEEDS_CONFIRMATION,
  );
  expect(trackerAccounts.created).toBe(created);
  // Asked about the one connected now, and agreed: connected.
  expect(await pages.connect.run({ ...agreed, leaving: "thirdaccountwxyz" }, fromOptions)).toMatchObject({ accountId: "otheraccountwxyz" });
});

it("an answer about leaving an account must name it: one that names none is refused in words, and past the schema asked again", async () => {
  const { pages } = background();
  const trackerUrl = "https://t.example";
  const created = trackerAccounts.created;
  for (const answer of [{ apiToken: "other", otherAccount: true }, { newAccount: true }])
    await expect(runHandler("connect", pages.connect, { trackerUrl, ...answer }, fromOptions)).rejects.toThrow(
      "connect does not take this input (leaving: an answer about leaving an account names the account it was for)",
    );
  // An agreement that names no account is no agreement to leave the one held.
  await expect(pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true }, fromOptions)).rejects.toThrow(
    OTHER_ACCOUNT_NEEDS_CONFIRMATION,
  );
  await expect(pages.connect.run({ trackerUrl, newAccount: true }, fromOptions)).rejects.toThrow(NEW_ACCOUNT_NEEDS_CONFIRMATION);
  expect([secrets.credentials, trackerAccounts.created]).toEqual([CONNECTED, created]);
});

it("a Connect to the account connected at a new tracker address keeps the signing keys its ids were minted with", async () => {
  const { pages } = background();
  const rotated = { accountId: CONNECTED.accountId, keyId: 2, secret: "B".repeat(43) };
  secrets.credentials = { ...CONNECTED, signingKey: rotated, earlierKeys: [CONNECTED.signingKey] };
  trackerAccounts.keyId = 2;
  await pages.connect.run({ trackerUrl: "https://moved.example", apiToken: CONNECTED.apiToken }, fromOptions);
  expect(secrets.credentials).toEqual({
    ...CONNECTED,
    trackerUrl: "https://moved.example",
    signingKey: rotated,
    earlierKeys: [CONNECTED.signingKey],
  });
});

it("a reply held for an account left waits for it, due for no release, and goes to its tracker as soon as the rep connects to it again", async () => {
  const { pages, signals, held } = background();
  const trackerUrl = "https://t.example";
  for (const key of Object.keys(trackerEmails)) delete trackerEmails[key];
  trackerSignals.length = 0;
  // Its email registered, but its tracker down as the release sent the reply: held for its account, which the rep left.
  const registered = await trackingId();
  trackerEmails[registered] = detailOf(registered, { threadId: "delivered" });
  const at = new Date().toISOString();
  await held.hold(
    ["me@example.com"],
    [{ kind: "reply", threadId: "delivered", gmailMessageId: "w1", at, from: "carol@prospect.example" }],
    () => CONNECTED.accountId,
  );
  await pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId }, fromOptions);
  // Every minute's release (index.ts), connected to another account, then to none: nothing sent, nothing thrown.
  expect(await releaseHeldSignals(signals)).toBe(0);
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  expect(await releaseHeldSignals(signals)).toBe(0);
  expect(trackerSignals).toEqual([]);
  // Its account connected again: sent to its tracker at once, not at the next minute's release.
  await pages.connect.run({ trackerUrl, apiToken: CONNECTED.apiToken, otherAccount: true, leaving: "otheraccountwxyz" }, fromOptions);
  await vi.waitFor(() => expect(trackerSignals).toEqual([[CONNECTED.accountId, "w1"]]));
  await vi.waitFor(async () => expect(await held.all()).toEqual([]));
});

it("the options page hears which other account emails or replies wait for, and stops waiting for it only once asked, nothing of another account's gone", async () => {
  const { pages, outbox, reminders, held, area, waiting } = await keptForTheAccount();
  // An email of the account left, registered already: only its reminder waits.
  const registered = await trackingId();
  await reminders.set(registered, 4);
  await pages.connect.run(
    { trackerUrl: "https://t.example", apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId },
    fromOptions,
  );
  // One of its emails taken back in Gmail (Undo in a compose opened before the switch): its withdrawal waits.
  const undone = await trackingId();
  await outbox.withdraw(undone);
  const credentials = structuredClone(secrets.credentials);
  // The connected account's own: an email in the outbox, and its reminder.
  const own = await mintTrackingId({ accountId: "otheraccountwxyz", keyId: 1, secret: "A".repeat(43) });
  await outbox.put(own, { subject: "Pricing", recipients: [], sentAt: new Date().toISOString(), links: [] }, Date.now() + MINUTE);
  await reminders.set(own, 2);
  // Replies held (held-signals.ts), beside w1 of the waiting email: one of the account left's registered email (its
  // tracker down as it was sent), one kept by an earlier version without its account (its email waits in the outbox),
  // the connected account's own, and a third account's, of which nothing else waits.
  const reply = (gmailMessageId: string, threadId: string) =>
    ({ kind: "reply", threadId, gmailMessageId, at: new Date().toISOString(), from: "carol@prospect.example" }) as const;
  await held.hold([], [reply("d1", "delivered")], () => CONNECTED.accountId);
  await area.set({ [HELD_SIGNALS_KEY]: [...(await held.all()), { self: [], signal: reply("l1", "waiting") }] });
  await held.hold([], [reply("o1", "own")], () => "otheraccountwxyz");
  await held.hold([], [reply("q1", "third")], () => "qrstuvwxyzabcdef");
  const left = { accountId: CONNECTED.accountId, trackerUrl: CONNECTED.trackerUrl };
  const third = { accountId: "qrstuvwxyzabcdef", trackerUrl: null, emails: 0, takenBack: 0, reminders: 0, replies: 1 };
  expect(await runHandler("accountsWaiting", pages.accountsWaiting, null, fromOptions)).toEqual([
    { ...left, emails: 1, takenBack: 1, reminders: 1, replies: 3 },
    third,
  ]);
  // Not without the rep's word, never for the connected account, and not while more of its emails taken back wait to
  // be withdrawn than the rep let go of.
  const stop = (input: unknown) => runHandler("stopWaitingForAccount", pages.stopWaitingForAccount, input, fromOptions);
  await expect(stop({ accountId: left.accountId, takenBack: 1 })).rejects.toThrow("confirmed");
  await expect(stop({ accountId: "otheraccountwxyz", confirmed: true, takenBack: 0 })).rejects.toThrow(
    "account otheraccountwxyz is the one connected: nothing of it waits",
  );
  await expect(stop({ accountId: left.accountId, confirmed: true, takenBack: 0 })).rejects.toThrow(
    `not stopped: 1 email taken back in Gmail waits to be withdrawn from account ${left.accountId}'s tracker, and you agreed to let go of none. Connect to account ${left.accountId} again to send its withdrawal, or press Stop waiting again to let it go.`,
  );
  expect((await outbox.snapshot()).map((e) => e.trackingId).sort()).toEqual([own, waiting, undone].sort());
  expect((await reminders.all()).map((r) => r.trackingId).sort()).toEqual([own, registered, waiting].sort());
  expect((await held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["w1", "d1", "l1", "o1", "q1"]);
  // Stopped, its withdrawal let go of: that account's emails, reminders and replies go; the connected account's and
  // the third's stay, the credentials untouched.
  expect(await stop({ accountId: left.accountId, confirmed: true, takenBack: 1 })).toEqual([third]);
  expect((await outbox.snapshot()).map((e) => e.trackingId)).toEqual([own]);
  expect((await reminders.all()).map((r) => r.trackingId)).toEqual([own]);
  expect((await held.all()).map((h) => h.signal.gmailMessageId)).toEqual(["o1", "q1"]);
  expect(secrets.credentials).toEqual(credentials);
});

it("Stop waiting for an account a Connect to it is switching to from another tab is refused, its emails and replies kept", async () => {
  // Connected to another account, or disconnected from this one (its emails wait then too): Connect switches to it.
  for (const from of ["another account", "disconnected"]) {
    const { pages, held, waiting, stillKept } = await keptForTheAccount();
    if (from === "another account")
      await pages.connect.run(
        { trackerUrl: "https://t.example", apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId },
        fromOptions,
      );
    else await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
    // The Connect is writing this account's credentials when the rep presses Stop waiting in another tab.
    let openWrite: () => void = () => undefined;
    const writeCredentials = new Promise<void>((resolve) => {
      openWrite = resolve;
    });
    let writing = false;
    const set = privateArea.set;
    privateArea.set = async (items) => {
      if ((items.credentials as Credentials | undefined)?.accountId === CONNECTED.accountId) {
        writing = true;
        await writeCredentials;
      }
      return set(items);
    };
    const connect = pages.connect.run(
      { trackerUrl: "https://t.example", apiToken: CONNECTED.apiToken, otherAccount: true, leaving: "otheraccountwxyz" },
      fromOptions,
    );
    await vi.waitFor(() => expect(writing).toBe(true));
    const drop = vi.spyOn(held, "dropAccount");
    const stop = runHandler(
      "stopWaitingForAccount",
      pages.stopWaitingForAccount,
      { accountId: CONNECTED.accountId, confirmed: true, takenBack: 0 },
      fromOptions,
    );
    await vi.waitFor(() => expect(drop).toHaveBeenCalled());
    openWrite();
    await expect(stop).rejects.toThrow(`account ${CONNECTED.accountId} is the one connected: nothing of it waits`);
    await connect;
    privateArea.set = set;
    // Connected, its email delivered to it with its reply, its reminder kept.
    expect(await stillKept()).toMatchObject({ outbox: [], sentTo: [[CONNECTED.accountId, waiting]], held: ["w1"], reminders: [waiting] });
  }
});

it("a compose opened before another account or a disconnect sends, takes back and sets its reminder: queued for its own account", async () => {
  const { pages, gmail, outbox, reminders, waiting, stillKept } = await keptForTheAccount();
  const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  const email = (subject: string) => ({ subject, recipients: [], sentAt: new Date().toISOString() });
  const sent = async (trackingId: string) => gmail.messageSent.run({ trackingId, request: email("Pricing") }, fromGmail);
  // The composes opened while connected to this account, which an earlier version connected to (never recorded).
  const [sentAfterSwitch, undoneAfterSwitch, scheduled, sentDisconnected] = [
    await trackingId(),
    await trackingId(),
    await trackingId(),
    await trackingId(),
  ];
  // Registered at once, before the switch.
  expect(await sent(undoneAfterSwitch)).toEqual({ queued: true });
  await outbox.flush();
  expect((await stillKept()).sentTo).toEqual([[CONNECTED.accountId, undoneAfterSwitch]]);
  await pages.connect.run(
    { trackerUrl: "https://t.example", apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId },
    fromOptions,
  );
  expect(await sent(sentAfterSwitch)).toEqual({ queued: true });
  expect(await gmail.remindIfNoReply.run({ trackingId: sentAfterSwitch, days: 2 }, fromGmail)).toMatchObject({
    reminder: { trackingId: sentAfterSwitch, days: 2 },
  });
  // Gmail's Undo after the switch: withdrawn, and a late registration of it refused.
  expect(await gmail.messageUnsent.run({ trackingId: undoneAfterSwitch }, fromGmail)).toEqual({ reminderDays: null });
  expect(await outbox.put(undoneAfterSwitch, email("Pricing"))).toBe(false);
  // A scheduled send cancelled in Gmail after the switch: still in the outbox, taken back there with no tracker asked.
  const tomorrow = new Date(Date.now() + DAY).toISOString();
  await gmail.messageSent.run({ trackingId: scheduled, request: { ...email("Webinar"), sentAt: tomorrow } }, fromGmail);
  expect(await gmail.scheduledSendReopened.run({ trackingId: scheduled }, fromGmail)).toEqual({
    cancelled: { subject: "Webinar", reminderDays: null },
  });
  // Disconnected: still queued.
  await runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  expect(await sent(sentDisconnected)).toEqual({ queued: true });
  // An account this browser never held: refused as before, connected or not, and nothing queued.
  const never = await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) });
  await expect(sent(never)).rejects.toThrow(`disconnected from account otheraccountwxyz`);
  await pages.connect.run({ trackerUrl: "https://t.example", apiToken: "other" }, fromOptions);
  await expect(sent(never)).rejects.toThrow("not a tracking id of this account");
  await expect(gmail.messageUnsent.run({ trackingId: never }, fromGmail)).rejects.toThrow("not a tracking id of this account");
  await expect(gmail.remindIfNoReply.run({ trackingId: never, days: 2 }, fromGmail)).rejects.toThrow("not a tracking id of this account");
  expect((await outbox.snapshot()).map((e) => e.trackingId)).not.toContain(never);
  // Each waits for its own account, in words, and goes to it once it is connected again.
  const waits = (id: string) => ({ trackingId: id, lastError: waitsForItsAccount(id) });
  expect((await stillKept()).outbox).toEqual(
    expect.arrayContaining([waits(sentAfterSwitch), waits(undoneAfterSwitch), waits(scheduled), waits(sentDisconnected)]),
  );
  await pages.connect.run(
    { trackerUrl: "https://t.example", apiToken: CONNECTED.apiToken, otherAccount: true, leaving: "otheraccountwxyz" },
    fromOptions,
  );
  const after = await stillKept();
  expect(after.outbox).toEqual([]);
  expect(after.sentTo.map(([account, id]) => `${account} ${id}`).sort()).toEqual(
    [waiting, undoneAfterSwitch, sentAfterSwitch, sentDisconnected, `withdraw ${undoneAfterSwitch}`, `withdraw ${scheduled}`]
      .map((id) => `${CONNECTED.accountId} ${id}`)
      .sort(),
  );
  expect(await reminders.all()).toEqual(expect.arrayContaining([expect.objectContaining({ trackingId: sentAfterSwitch, days: 2 })]));
});

it("connecting to the same account again, with a new token or at a new address, keeps everything", async () => {
  const { pages, waiting, stillKept } = await keptForTheAccount();
  const before = await stillKept();
  expect(before).toMatchObject({ held: ["w1", "m1", "u1"], listing: { unlisted: 2 }, reminders: [waiting], checksAsked: false });
  trackerAccounts.byToken.renewed = CONNECTED.accountId;
  await pages.connect.run({ trackerUrl: "https://t.example", apiToken: "renewed" }, fromOptions);
  await pages.connect.run({ trackerUrl: "https://moved.example", apiToken: "renewed" }, fromOptions);
  expect(secrets.credentials).toMatchObject({ accountId: CONNECTED.accountId, trackerUrl: "https://moved.example" });
  // Connect sends what waits at once, to the same account: the rest as it was.
  expect(await stillKept()).toEqual({ ...before, outbox: [], sentTo: [[CONNECTED.accountId, waiting]] });
});

/** The credentials stored now. */
const held = () => secrets.credentials as Credentials;
/** Whether the stood-in tracker lets `token` into the connected account. */
const opens = (token: string) => trackerAccounts.byToken[token] === CONNECTED.accountId;

it("Replace the API token only once confirmed: this browser makes the token and keeps it before asking, then uses it, the signing keys kept", async () => {
  const { pages } = background();
  const rotated = { accountId: CONNECTED.accountId, keyId: 2, secret: "B".repeat(43) };
  secrets.credentials = { ...CONNECTED, signingKey: rotated, earlierKeys: [CONNECTED.signingKey] };
  await expect(runHandler("replaceApiToken", pages.replaceApiToken, null, fromOptions)).rejects.toThrow(/does not take this input/);
  expect(trackerAccounts.asked).toEqual([]);

  const replaced = await runHandler("replaceApiToken", pages.replaceApiToken, { confirmed: true }, fromOptions);
  const apiToken = replaced.apiToken;
  expect(apiToken).toMatch(new RegExp(`^mt_${CONNECTED.accountId}_[A-Za-z0-9_-]{43}$`));
  // Kept before the tracker was asked: had the answer been lost, the token would not have been.
  expect(trackerAccounts.asked).toEqual([{ apiToken, pendingAtAsk: apiToken }]);
  expect(replaced).toEqual({ accountId: CONNECTED.accountId, apiToken, kept: true, problem: null, answerLost: null });
  expect(held()).toEqual({ ...CONNECTED, apiToken, signingKey: rotated, earlierKeys: [CONNECTED.signingKey] });
  expect(await pages.storedApiToken.run(null, fromOptions)).toEqual({
    accountId: CONNECTED.accountId,
    apiToken,
    replaced: false,
    unsettled: null,
  });
  expect(JSON.stringify([stored, secrets])).not.toContain(`"${CONNECTED.apiToken}"`);
});

it("a replacement whose answer was lost after the tracker put the token in place ends with the new token in use, and says so", async () => {
  const { pages } = background();
  trackerAccounts.replacement = "answer lost";
  const replaced = await pages.replaceApiToken.run({ confirmed: true }, fromOptions);
  expect(opens(replaced.apiToken)).toBe(true);
  expect(opens(CONNECTED.apiToken)).toBe(false);
  expect(replaced).toEqual({
    accountId: CONNECTED.accountId,
    apiToken: replaced.apiToken,
    kept: true,
    problem: null,
    answerLost: "cannot reach the tracker at https://t.example (signal timed out)",
  });
  expect(held()).toEqual({ ...CONNECTED, apiToken: replaced.apiToken });
});

it("a replacement KV refused (503) or that never reached the tracker leaves the old token in use, and says so", async () => {
  const { pages } = background();
  for (const [how, reason] of [
    ["kv refused", "the tracker answered 503: the token was not replaced: the old token still works"],
    ["unreachable", "cannot reach the tracker at https://t.example (signal timed out)"],
  ] as const) {
    trackerAccounts.replacement = how;
    await expect(pages.replaceApiToken.run({ confirmed: true }, fromOptions)).rejects.toThrow(
      `the token was not replaced (${reason}); this browser's token still works`,
    );
    expect(held().apiToken).toBe(CONNECTED.apiToken);
    expect(opens(CONNECTED.apiToken)).toBe(true);
  }
  // The same token each time: a request carrying it may still be on its way, and could land after a fresh one.
  const [first, second] = trackerAccounts.asked;
  expect(second?.apiToken).toBe(first?.apiToken);
  trackerAccounts.replacement = "answered";
  const replaced = await pages.replaceApiToken.run({ confirmed: true }, fromOptions);
  expect(replaced.apiToken).toBe(first?.apiToken);
  expect(held()).toEqual({ ...CONNECTED, apiToken: replaced.apiToken });
});

it("a token the tracker refuses as malformed (400) is dropped, and the old one stays", async () => {
  const { pages } = background();
  trackerAccounts.replacement = "malformed";
  await expect(pages.replaceApiToken.run({ confirmed: true }, fromOptions)).rejects.toThrow(
    "the token was not replaced (the tracker answered 400: invalid request body: apiToken is not random enough); this browser's token still works",
  );
  expect(held()).toEqual(CONNECTED);
});

it("a pending token left at restart is settled: used when the tracker took it, dropped once the old one is known to stay", async () => {
  const { pages } = background();
  // The answer lost and the tracker out of reach to try either token: not known, the new token kept.
  trackerAccounts.replacement = "answer lost";
  trackerAccounts.unreachable = true;
  await expect(pages.replaceApiToken.run({ confirmed: true }, fromOptions)).rejects.toThrow(
    /^the tracker did not answer \(cannot reach .*\), so whether it replaced the token is not known yet\. This browser keeps the new token/,
  );
  const pending = held().pendingToken?.apiToken ?? "";
  expect(opens(pending)).toBe(true);
  expect(held().apiToken).toBe(CONNECTED.apiToken);
  // The background starts again, the tracker answering: the new token is tried, works, and is used.
  trackerAccounts.unreachable = false;
  const settled = await settlePendingToken();
  expect(settled).toEqual({ outcome: "replaced", apiToken: pending, problem: null });
  expect(settlementNote(settled)?.message).toMatch(
    /^The API token replacement you asked for went through: this browser uses the new token now/,
  );
  expect(held()).toEqual({ ...CONNECTED, apiToken: pending });

  // A pending token the tracker never took: kept while a request carrying it may still land, then dropped and said.
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_never_taken", askedAt: 1_000 } };
  trackerAccounts.byToken = { [CONNECTED.apiToken]: CONNECTED.accountId };
  const soon = await settlePendingToken(() => 1_000 + PENDING_TOKEN_KEPT_MS - 1);
  expect(soon).toEqual({ outcome: "not replaced", dropped: false });
  expect(settlementNote(soon)).toBeNull();
  expect(held().pendingToken?.apiToken).toBe("mt_never_taken");
  const later = await settlePendingToken(() => 1_000 + PENDING_TOKEN_KEPT_MS);
  expect(later).toEqual({ outcome: "not replaced", dropped: true });
  expect(settlementNote(later)?.message).toMatch(
    /^The API token replacement you asked for did not go through: this browser's token still works/,
  );
  expect(held()).toEqual(CONNECTED);
  expect(await settlePendingToken()).toBeNull();

  // Both refused (another browser replaced the token): the pending one can never land; dropped, and said.
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_never_taken", askedAt: 1_000 } };
  trackerAccounts.byToken = {};
  const refused = await settlePendingToken();
  expect(refused).toEqual({ outcome: "both refused" });
  expect(settlementNote(refused)?.message).toMatch(/^The tracker refuses this browser's API token and the new one/);
  expect(held()).toEqual(CONNECTED);
});

it("Test connection settles a pending token first, and says what it came to", async () => {
  const { pages } = background();
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_taken_meanwhile", askedAt: 1_000 } };
  trackerAccounts.byToken = { mt_taken_meanwhile: CONNECTED.accountId };
  const tested = await pages.testConnection.run(null, fromOptions);
  expect("message" in tested && tested.message).toMatch(
    /^The API token replacement you asked for went through.* connected to https:\/\/t\.example as account abcdefghijklmnop$/,
  );
  expect(held()).toEqual({ ...CONNECTED, apiToken: "mt_taken_meanwhile" });
});

it("Test connection, a key rotated elsewhere, writes it to the credentials as they are once the tracker answered: a Connect, a disconnect or a token replacement made meanwhile from another tab stays", async () => {
  const { pages } = background();
  const rotated = { accountId: CONNECTED.accountId, keyId: 2, secret: "B".repeat(43) };
  trackerAccounts.keyId = 2;
  const test = () => pages.testConnection.run(null, fromOptions);

  // Another account connected meanwhile: it stays connected, the account tested does not come back.
  const other = { trackerUrl: "https://t.example", apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId };
  trackerAccounts.meanwhile = () => runHandler("connect", pages.connect, other, fromOptions);
  await expect(test()).rejects.toThrow("this browser was connected to another account meanwhile");
  expect(held()).toEqual({
    trackerUrl: "https://t.example",
    accountId: "otheraccountwxyz",
    apiToken: "other",
    signingKey: { ...rotated, accountId: "otheraccountwxyz" },
  });

  // Disconnected meanwhile: the token the rep asked to be gone does not come back.
  secrets.credentials = structuredClone(CONNECTED);
  trackerAccounts.meanwhile = () => runHandler("disconnect", pages.disconnect, { confirmed: true }, fromOptions);
  await expect(test()).rejects.toThrow("this browser was disconnected meanwhile");
  expect(secrets.credentials).toBeUndefined();

  // The token replaced meanwhile: the new token is kept (the old one opens nothing now), and the rotated key goes with it.
  secrets.credentials = structuredClone(CONNECTED);
  let replaced = "";
  trackerAccounts.meanwhile = async () => {
    replaced = (await runHandler("replaceApiToken", pages.replaceApiToken, { confirmed: true }, fromOptions)).apiToken;
  };
  expect(await test()).toEqual({ ok: true, message: "connected to https://t.example as account abcdefghijklmnop" });
  expect(replaced).not.toBe(CONNECTED.apiToken);
  expect(held()).toEqual({ ...CONNECTED, apiToken: replaced, signingKey: rotated, earlierKeys: [CONNECTED.signingKey] });
});

it("Test connection and Connect refused by the browser for the tracker's site withheld say so as their answer, and change nothing", async () => {
  const { pages } = background();
  withheld.add("https://t.example/*");
  const withheldAnswer = { accessWithheld: true, trackerUrl: "https://t.example", problem: trackerAccessOffAbove("https://t.example") };
  try {
    expect(await pages.testConnection.run(null, fromOptions)).toEqual(withheldAnswer);
    const connect = { trackerUrl: "https://t.example", apiToken: "other", otherAccount: true, leaving: CONNECTED.accountId };
    expect(await runHandler("connect", pages.connect, connect, fromOptions)).toEqual(withheldAnswer);
    expect(held()).toEqual(CONNECTED);
  } finally {
    withheld.clear();
  }
  // Given back, both reach the tracker.
  expect(await pages.testConnection.run(null, fromOptions)).toEqual({
    ok: true,
    message: "connected to https://t.example as account abcdefghijklmnop",
  });
});

it("Test connection and Connect, their probe refused for the tracker's site withheld and given back before the refusal came, reach the tracker: the probe is made again", async () => {
  const { pages } = background();
  givenBackAsRefused.yes = true;
  try {
    withheld.add("https://t.example/*");
    expect(await pages.testConnection.run(null, fromOptions)).toEqual({
      ok: true,
      message: "connected to https://t.example as account abcdefghijklmnop",
    });
    withheld.add("https://t.example/*");
    const connect = { trackerUrl: "https://t.example", apiToken: CONNECTED.apiToken };
    expect(await runHandler("connect", pages.connect, connect, fromOptions)).toEqual({
      accountId: CONNECTED.accountId,
      apiToken: CONNECTED.apiToken,
      created: false,
    });
  } finally {
    withheld.clear();
  }
});

it("Show the API token settles a replacement left unsettled first, and shows the token it came to, or both while not known", async () => {
  const { pages } = background();
  // Taken by the tracker while no page was open (its answer lost): the token shown is the new one, said so.
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_taken_meanwhile", askedAt: 1_000 } };
  trackerAccounts.byToken = { mt_taken_meanwhile: CONNECTED.accountId };
  expect(await pages.storedApiToken.run(null, fromOptions)).toEqual({
    accountId: CONNECTED.accountId,
    apiToken: "mt_taken_meanwhile",
    replaced: true,
    unsettled: null,
  });
  expect(held()).toEqual({ ...CONNECTED, apiToken: "mt_taken_meanwhile" });
  // The tracker out of reach: both, and why which one it takes is not known.
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_not_known", askedAt: 1_000 } };
  trackerAccounts.unreachable = true;
  expect(await pages.storedApiToken.run(null, fromOptions)).toEqual({
    accountId: CONNECTED.accountId,
    apiToken: CONNECTED.apiToken,
    replaced: false,
    unsettled: {
      apiToken: "mt_not_known",
      why: "the tracker did not answer (cannot reach the tracker at https://t.example (Failed to fetch))",
    },
  });
});

it("Disconnect settles a replacement left unsettled before the token goes, and hands back what the rep must keep", async () => {
  const { pages } = background();
  // The tracker put the new token in place (its answer lost): only it opens the account now, and the rep may have
  // kept the old one alone. Settled first, and handed back.
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_taken_meanwhile", askedAt: 1_000 } };
  trackerAccounts.byToken = { mt_taken_meanwhile: CONNECTED.accountId };
  expect(await pages.disconnect.run({ confirmed: true }, fromOptions)).toEqual({
    ok: true,
    keep: { accountId: CONNECTED.accountId, apiToken: "mt_taken_meanwhile", replaced: true, unsettled: null },
  });
  expect(secrets.credentials).toBeUndefined();

  // The tracker out of reach: which token it takes is not known, so both are handed back, with why.
  secrets.credentials = { ...CONNECTED, pendingToken: { apiToken: "mt_not_known", askedAt: 1_000 } };
  trackerAccounts.byToken = { mt_not_known: CONNECTED.accountId };
  trackerAccounts.unreachable = true;
  const { keep } = await pages.disconnect.run({ confirmed: true }, fromOptions);
  expect(keep).toMatchObject({ apiToken: CONNECTED.apiToken, replaced: false, unsettled: { apiToken: "mt_not_known" } });
  expect(keep?.unsettled?.why).toMatch(/^the tracker did not answer \(cannot reach the tracker/);

  // Nothing pending: nothing handed back (the question showed the token already, on request).
  trackerAccounts.unreachable = false;
  secrets.credentials = structuredClone(CONNECTED);
  expect(await pages.disconnect.run({ confirmed: true }, fromOptions)).toEqual({ ok: true, keep: null });
});

it("Disconnect hands back the tokens of the credentials it removes: a replacement made while it waited for the lock is told", async () => {
  const { pages } = background();
  // A release under way holds the lock the removal takes; meanwhile another tab replaces the token, the tracker out
  // of reach: the new token is pending, and may still land.
  let release = () => {};
  const busy = underAccountLock(() => new Promise<void>((resolve) => (release = resolve)));
  const disconnected = pages.disconnect.run({ confirmed: true }, fromOptions);
  trackerAccounts.replacement = "unreachable";
  await expect(runHandler("replaceApiToken", pages.replaceApiToken, { confirmed: true }, fromOptions)).rejects.toThrow(
    "the token was not replaced",
  );
  const pending = (secrets.credentials as Credentials).pendingToken?.apiToken;
  release();
  await busy;
  const { keep } = await disconnected;
  expect(keep).toMatchObject({ apiToken: CONNECTED.apiToken, replaced: false, unsettled: { apiToken: pending } });
  expect(secrets.credentials).toBeUndefined();
});

it("the notification of a token adopted without the options page sends the rep to Show the API token, not to Disconnect", () => {
  const note = settlementNote({ outcome: "replaced", apiToken: "mt_new", problem: null });
  expect(note?.message).toBe(
    "The API token replacement you asked for went through: this browser uses the new token now. Connect your other browsers with it: the extension's options show it (Show the API token).",
  );
});

it("when the new token cannot be kept before asking, the tracker is not asked and nothing changes", async () => {
  const { pages } = background();
  const set = privateArea.set;
  privateArea.set = async (items) => {
    if ("credentials" in items) throw new Error("QuotaExceededError: the disk is full");
    return set(items);
  };
  try {
    await expect(pages.replaceApiToken.run({ confirmed: true }, fromOptions)).rejects.toThrow(
      "the token was not replaced: this browser could not keep a new one (QuotaExceededError: the disk is full), so the tracker was not asked. This browser's token still works",
    );
  } finally {
    privateArea.set = set;
  }
  expect(trackerAccounts.asked).toEqual([]);
  expect(held()).toEqual(CONNECTED);
});

it("when this browser cannot switch to the new token after the answer, it is answered with the reason and settled at restart", async () => {
  const { pages } = background();
  const set = privateArea.set;
  let writes = 0;
  privateArea.set = async (items) => {
    if ("credentials" in items && ++writes > 1) throw new Error("QuotaExceededError: the disk is full");
    return set(items);
  };
  const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
  let replaced: Awaited<ReturnType<typeof pages.replaceApiToken.run>>;
  try {
    replaced = await pages.replaceApiToken.run({ confirmed: true }, fromOptions);
  } finally {
    privateArea.set = set;
    warned.mockRestore();
  }
  expect(replaced).toEqual({
    accountId: CONNECTED.accountId,
    apiToken: replaced.apiToken,
    kept: false,
    problem: "QuotaExceededError: the disk is full",
    answerLost: null,
  });
  expect(held()).toEqual({ ...CONNECTED, pendingToken: { apiToken: replaced.apiToken, askedAt: expect.any(Number) } });
  expect(await settlePendingToken()).toMatchObject({ outcome: "replaced", problem: null });
  expect(held()).toEqual({ ...CONNECTED, apiToken: replaced.apiToken });
});

it("while a replacement is pending, the old token refused is the settlement's to judge, not a refusal the rep is told of", () => {
  const url = CONNECTED.trackerUrl;
  const pending = { ...CONNECTED, pendingToken: { apiToken: "mt_pending", askedAt: 1_000 } };
  // The tracker may have put the pending token in place a moment ago: the calls still carrying the old one are refused.
  expect(tellsOfStoredToken(pending, url, CONNECTED.apiToken, true)).toBe(false);
  // Anything else still tells of the stored token: no answer at all, an answer, a refusal with nothing pending.
  expect(tellsOfStoredToken(pending, url, CONNECTED.apiToken, false)).toBe(true);
  expect(tellsOfStoredToken(CONNECTED, url, CONNECTED.apiToken, true)).toBe(true);
  // Not the stored credentials' calls: another token, another tracker, none stored.
  expect(tellsOfStoredToken(CONNECTED, url, "mt_pending", true)).toBe(false);
  expect(tellsOfStoredToken(CONNECTED, "https://other.example", CONNECTED.apiToken, false)).toBe(false);
  expect(tellsOfStoredToken(null, url, CONNECTED.apiToken, false)).toBe(false);
});

it("the stored API token is a page's to ask for, never a Gmail tab's", () => {
  const { gmail, pages } = background();
  expect(Object.hasOwn(pages, "storedApiToken")).toBe(true);
  expect(Object.hasOwn(gmail, "storedApiToken")).toBe(false);
  expect(Object.hasOwn(gmail, "replaceApiToken")).toBe(false);
});

it("connected to a tracker its recipients cannot reach, the pages hear what it costs, and a compose's id is that tracker's", async () => {
  const { gmail, pages } = background();
  const compose = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  // A deployed tracker: nothing to say, and links are tracked.
  expect((await pages.getState.run(null, fromOptions)).connection.notice).toBeNull();
  expect(await gmail.mintId.run(null, compose)).toEqual({ trackingId: expect.any(String), trackerUrl: CONNECTED.trackerUrl });

  // `npm start`'s tracker, on this computer: links go out as written.
  await pages.connect.run({ trackerUrl: "http://127.0.0.1:8787", apiToken: CONNECTED.apiToken }, fromOptions);
  const notice =
    "Recipients cannot reach your tracker at 127.0.0.1:8787 (this computer or a private network): their opens are not recorded, and links go out as written, not tracked, since recipients could not open them. To track real recipients, deploy a tracker (npm run deploy) and connect to it.";
  expect((await pages.getState.run(null, fromOptions)).connection).toMatchObject({ connected: true, notice });
  expect(await gmail.mintId.run(null, compose)).toEqual({ trackingId: expect.any(String), trackerUrl: "http://127.0.0.1:8787" });

  // The rep asks for links tracked all the same: the words say what that costs.
  await saveOptions({ trackLinksOutOfReach: true });
  const tracked =
    "Recipients cannot reach your tracker at 127.0.0.1:8787 (this computer or a private network): their opens are not recorded, and tracked links do not open for them (the options track links all the same, for trying Mailtracker on this computer). To track real recipients, deploy a tracker (npm run deploy) and connect to it.";
  expect((await pages.getState.run(null, fromOptions)).connection.notice).toBe(tracked);
});

it("signs no link while recipients cannot reach the tracker, whatever a compose asks, unless the rep asked for links tracked", async () => {
  const { gmail, pages } = background();
  const compose = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  await pages.connect.run({ trackerUrl: "http://127.0.0.1:8787", apiToken: CONNECTED.apiToken }, fromOptions);
  const { trackingId: id } = await gmail.mintId.run(null, compose);
  const links = [{ index: 0, url: "https://example.com/pricing" }];
  await expect(gmail.signLinks.run({ trackingId: id, links }, compose)).rejects.toThrow(
    "links are not tracked while recipients cannot reach the tracker: they go out as written",
  );
  await saveOptions({ trackLinksOutOfReach: true });
  const [signed] = await gmail.signLinks.run({ trackingId: id, links }, compose);
  expect(signed?.clickUrl.startsWith(`http://127.0.0.1:8787/c/${id}/0?u=`)).toBe(true);
});

it("an email registered without its conversation's legacy id is moved to the one the panel shows it in, once; a known one stays", async () => {
  for (const key of Object.keys(trackerEmails)) delete trackerEmails[key];
  trackerMoves.length = 0;
  const { gmail, news } = background();
  const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#sent/18c2f0a1b2c3d5a1" };
  const [unconfirmed, answered, refused, unreached] = [await trackingId(), await trackingId(), await trackingId(), await trackingId()];
  // Registered with the compose's ids (Gmail's answer to the send not seen), or with Gmail's answer.
  for (const id of [unconfirmed, refused, unreached]) trackerEmails[id] = detailOf(id, { threadId: "thread-a:r-draft" });
  trackerEmails[answered] = detailOf(answered, { threadId: "18c2f0a1b2c3d5b1" });
  const detail = (trackingId: string, threadId?: string) =>
    gmail.messageDetail.run({ trackingId, ...(threadId === undefined ? {} : { threadId }) }, fromGmail);

  // No conversation read, or one known by Gmail's sync id alone: nothing to move it to.
  expect(await detail(unconfirmed)).toMatchObject({ threadId: "thread-a:r-draft" });
  expect(await detail(unconfirmed, "thread-a:r263523620390330024")).toMatchObject({ threadId: "thread-a:r-draft" });
  expect(trackerMoves).toEqual([]);
  // Opened in its conversation ("#" as Gmail writes it): moved there, and the tabs hear of both its ids.
  expect(await detail(unconfirmed, "#18c2f0a1b2c3d5a1")).toMatchObject({
    threadId: "18c2f0a1b2c3d5a1",
    syncThreadId: "thread-a:r-draft",
  });
  expect(news).toEqual([["18c2f0a1b2c3d5a1", "thread-a:r-draft"]]);
  // Once: the next reads ask nothing more, whichever conversation the tab says.
  await detail(unconfirmed, "18c2f0a1b2c3d5a1");
  await detail(unconfirmed, "18c2f0a1b2c3d5a2");
  // One registered with Gmail's answer is never moved, whatever a tab shows it in.
  expect(await detail(answered, "18c2f0a1b2c3d5a3")).toMatchObject({ threadId: "18c2f0a1b2c3d5b1" });
  expect(trackerMoves).toEqual([[unconfirmed, "18c2f0a1b2c3d5a1"]]);

  // The conversation by its "thread-f:<decimal>" id: the legacy id it is the number of.
  trackerMoves.length = 0;
  trackerEmails[answered] = detailOf(answered, { threadId: "thread-a:r-other" });
  await detail(answered, `thread-f:${BigInt("0x18c2f0a1b2c3d5a4")}`);
  expect(trackerMoves).toEqual([[answered, "18c2f0a1b2c3d5a4"]]);

  // Refused by the tracker (it knows the email's conversation already): not asked again. Out of reach: asked again at
  // the next read. Either way the panel shows the detail as it is.
  trackerMoves.length = 0;
  try {
    trackerMoveFails.with = { message: "the tracker answered 409: this email's conversation is known already", status: 409 };
    expect(await detail(refused, "18c2f0a1b2c3d5a5")).toMatchObject({ id: refused, threadId: "thread-a:r-draft" });
    await detail(refused, "18c2f0a1b2c3d5a5");
    trackerMoveFails.with = { message: "cannot reach the tracker at https://t.example (Failed to fetch)", status: null };
    expect(await detail(unreached, "18c2f0a1b2c3d5a6")).toMatchObject({ id: unreached, threadId: "thread-a:r-draft" });
  } finally {
    trackerMoveFails.with = null;
  }
  expect(await detail(unreached, "18c2f0a1b2c3d5a6")).toMatchObject({ threadId: "18c2f0a1b2c3d5a6" });
  expect(trackerMoves).toEqual([
    [refused, "18c2f0a1b2c3d5a5"],
    [unreached, "18c2f0a1b2c3d5a6"],
    [unreached, "18c2f0a1b2c3d5a6"],
  ]);
  // A conversation id of no Gmail shape: refused in words, as any input the handler does not take.
  await expect(runHandler("messageDetail", gmail.messageDetail, { trackingId: unconfirmed, threadId: "a b" }, fromGmail)).rejects.toThrow(
    "messageDetail does not take this input (threadId:",
  );
});

it("an email the tracker does not have while the outbox holds its registration is said to be on its way, or refused: never deleted", async () => {
  for (const key of Object.keys(trackerEmails)) delete trackerEmails[key];
  let answer: DeliveryResult = { retry: true, error: "the tracker answered 503: D1 is down" };
  const { gmail, outbox } = background(undefined, async () => answer);
  const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#sent" };
  const [waiting, refused, held, registered, gone] = [
    await trackingId(),
    await trackingId(),
    await trackingId(),
    await trackingId(),
    await trackingId(),
  ];
  const request = (threadId: string) => ({ subject: "Pricing", recipients: [], sentAt: new Date().toISOString(), threadId });
  await outbox.put(waiting, request("18c2f0a1b2c3d4e5"));
  await outbox.flush();
  answer = { retry: false, error: "the tracker answered 400: recipients: must be an email address" };
  await outbox.put(refused, request("18c2f0a1b2c3d4e6"));
  await outbox.flush();
  await outbox.put(held, request("18c2f0a1b2c3d4e7"), Date.now() + 45_000);
  trackerEmails[registered] = detailOf(registered, { threadId: "18c2f0a1b2c3d4e8", openCount: 1 });

  const detail = (id: string) => gmail.messageDetail.run({ trackingId: id }, fromGmail);
  expect(await detail(waiting)).toEqual({
    unregistered: expect.stringMatching(
      /^Not registered with your tracker yet \(it will be sent again at .+\): the tracker answered 503: D1 is down$/,
    ),
  });
  expect(await detail(refused)).toEqual({
    unregistered:
      "Not registered: your tracker refused this email (the tracker answered 400: recipients: must be an email address). Retry it in the extension's options.",
  });
  expect(await detail(held)).toEqual({
    unregistered: expect.stringMatching(/^Not registered with your tracker yet: its registration is sent at .+\.$/),
  });
  expect(await detail(registered)).toMatchObject({ id: registered, openCount: 1 });
  // Not in the outbox (deleted, or another browser's): the tracker's 404, which the panel says is deleted data.
  await expect(detail(gone)).rejects.toThrow("404");

  // The Sent list: the threads of the emails the outbox holds, each with its words; the registered one as the tracker has it.
  const status = await gmail.threadStatus.run(
    { threadIds: ["18c2f0a1b2c3d4e5", "18c2f0a1b2c3d4e6", "18c2f0a1b2c3d4e8", "18c2f0a1b2c3d4e9"] },
    fromGmail,
  );
  expect(status.messages.map((m) => m.id)).toEqual([registered]);
  expect(status.unregistered).toEqual([
    { threadIds: ["18c2f0a1b2c3d4e5"], title: "Waiting to reach your tracker" },
    { threadIds: ["18c2f0a1b2c3d4e6"], title: "Not registered: your tracker refused it" },
  ]);
  // Withdrawn (Gmail's Undo): the email never left, and is not waiting for anything.
  await outbox.withdraw(waiting);
  expect((await gmail.threadStatus.run({ threadIds: ["18c2f0a1b2c3d4e5"] }, fromGmail)).unregistered).toEqual([]);
  await expect(detail(waiting)).rejects.toThrow("404");
});

it("while the tracker cannot be read, down or refusing the token, a thread whose registration waits is marked waiting, and its panel says why", async () => {
  for (const key of Object.keys(trackerEmails)) delete trackerEmails[key];
  const unreachable = { message: "cannot reach the tracker at https://t.example (Failed to fetch)", status: null };
  const refused = { message: "the tracker answered 401: missing or invalid API token (Authorization: Bearer mt_…)", status: 401 };
  let answer: DeliveryResult = { retry: true, error: unreachable.message, status: null };
  const { gmail, outbox, reach } = background(undefined, async () => answer);
  const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#sent" };
  const waiting = await trackingId();
  await outbox.put(waiting, { subject: "Pricing", recipients: [], sentAt: new Date().toISOString(), threadId: "18c2f0a1b2c3d4f1" });
  await outbox.flush();
  const [waitingThread, otherThread] = ["18c2f0a1b2c3d4f1", "18c2f0a1b2c3d4f2"];
  const status = (threadIds: string[]) => gmail.threadStatus.run({ threadIds }, fromGmail);
  const detail = () => gmail.messageDetail.run({ trackingId: waiting }, fromGmail);

  try {
    // The tracker down, as its reach heard it (api.ts onTrackerAnswer hears every call before its caller does).
    trackerFails.with = unreachable;
    await reach.heard(CONNECTED.trackerUrl, new TrackerError(unreachable.message, null));
    const since = /^the tracker could not be reached since .+/;
    expect(await status([waitingThread, otherThread])).toEqual({
      messages: [],
      unregistered: [{ threadIds: [waitingThread], title: "Waiting to reach your tracker" }],
      stale: expect.stringMatching(since),
    });
    // None of the threads waiting: the failure, as before, which the tab keeps its marks through.
    await expect(status([otherThread])).rejects.toThrow(unreachable.message);
    expect(await detail()).toEqual({
      unregistered: expect.stringMatching(
        /^Not registered with your tracker yet \(it will be sent again at .+\): cannot reach the tracker at https:\/\/t\.example \(Failed to fetch\)$/,
      ),
    });

    // The token refused: said in the words the rep was told of it in, and what mends it; the panel is not left empty.
    trackerFails.with = refused;
    answer = { retry: true, error: refused.message, status: 401 };
    await reach.heard(CONNECTED.trackerUrl, new TrackerError(refused.message, 401));
    await outbox.retry();
    await outbox.flush();
    expect(await status([waitingThread])).toEqual({
      messages: [],
      unregistered: [{ threadIds: [waitingThread], title: "Waiting to reach your tracker" }],
      stale: TOKEN_REFUSED,
    });
    expect(await detail()).toEqual({
      unregistered: `Not registered with your tracker yet: ${TOKEN_REFUSED}. It is sent as soon as you do.`,
    });
  } finally {
    trackerFails.with = null;
  }
});

it("a notice a hidden Gmail tab said is shown on the desktop, naming the tab a click brings back; bad input is refused in words", async () => {
  const { gmail, notifications } = background();
  const fromTab = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox", tab: { id: 42 } as never };
  const text = `Mailtracker: "Pricing" tracked, but Gmail's confirmation of the send was not seen: replies are not seen, and its Sent mark may not show`;
  expect(await runHandler("noticeWhileHidden", gmail.noticeWhileHidden, { text }, fromTab)).toEqual({ shown: true });
  await runHandler("noticeWhileHidden", gmail.noticeWhileHidden, { text: `Mailtracker: ${"x".repeat(NOTICE_MAX + 100)}` }, fromTab);
  expect(notifications[0]).toEqual({
    id: expect.stringMatching(/^mt-notice:42:/),
    title: "Mailtracker",
    message: `"Pricing" tracked, but Gmail's confirmation of the send was not seen: replies are not seen, and its Sent mark may not show`,
  });
  // Two notices, two notifications: the second does not take the first one's place.
  expect(notifications[1]?.id).not.toBe(notifications[0]?.id);
  expect(notifications[1]?.message).toHaveLength(NOTICE_MAX);
  expect(notifications[1]?.message.endsWith("…")).toBe(true);
  expect(notifications.map((n) => noticeTab(n.id))).toEqual([42, 42]);
  // Not a notice's: the outbox's and the feed's notifications are left to their own clicks.
  expect([noticeTab("mt-outbox"), noticeTab("mt-tracker-reach")]).toEqual([null, null]);
  for (const input of [{ text: "   " }, { text: 5 }, null])
    await expect(runHandler("noticeWhileHidden", gmail.noticeWhileHidden, input, fromTab)).rejects.toThrow(
      /^noticeWhileHidden does not take this input \(/,
    );
  expect(notifications).toHaveLength(2);
});

it("an email back in a compose before its scheduled time is a cancelled scheduled send: withdrawn, its reminder's days answered", async () => {
  for (const key of Object.keys(trackerEmails)) delete trackerEmails[key];
  const delivered: { trackingId: string; withdraw?: true }[] = [];
  const { gmail, outbox, reminders } = background(undefined, async (entry) => {
    delivered.push({ trackingId: entry.trackingId, ...(entry.withdraw ? { withdraw: entry.withdraw } : {}) });
    return "delivered";
  });
  const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#drafts" };
  const reopened = (id: string) => gmail.scheduledSendReopened.run({ trackingId: id }, fromGmail);
  const [registered, waiting, sentAlready, unknown] = [await trackingId(), await trackingId(), await trackingId(), await trackingId()];
  const tomorrow = new Date(Date.now() + DAY).toISOString();
  // Registered on the tracker, scheduled for tomorrow, with a reminder set in its compose.
  trackerEmails[registered] = detailOf(registered, { subject: "Proposal", sentAt: tomorrow });
  await reminders.set(registered, 3);
  expect(await reopened(registered)).toEqual({ cancelled: { subject: "Proposal", reminderDays: 3 } });
  await vi.waitFor(() => expect(delivered).toContainEqual({ trackingId: registered, withdraw: true }));
  expect(await reminders.all()).toEqual([]);
  // Still in the outbox (the tracker unreachable since): its registration becomes the withdrawal, and never goes out.
  await outbox.put(waiting, { subject: "Pricing", recipients: [], sentAt: tomorrow }, Date.now() + MINUTE);
  expect(await reopened(waiting)).toEqual({ cancelled: { subject: "Pricing", reminderDays: null } });
  expect(await outbox.put(waiting, { subject: "Pricing", recipients: [], sentAt: tomorrow })).toBe(false);
  // Its time passed: it went out, and a compose holding it (an Undo's, a copy) takes nothing back.
  trackerEmails[sentAlready] = detailOf(sentAlready, { sentAt: new Date(Date.now() - MINUTE).toISOString() });
  await reminders.set(sentAlready, 2);
  expect(await reopened(sentAlready)).toEqual({ cancelled: null });
  expect((await reminders.all()).map((r) => r.trackingId)).toEqual([sentAlready]);
  // Not on the tracker (deleted, withdrawn already): nothing to do.
  expect(await reopened(unknown)).toEqual({ cancelled: null });
  expect(delivered.filter((d) => d.withdraw).map((d) => d.trackingId)).toEqual([registered, waiting]);
  // Only this account's emails.
  const another = await mintTrackingId({ accountId: "qrstuvwxyzabcdef", keyId: 1, secret: "B".repeat(43) });
  await expect(reopened(another)).rejects.toThrow("not a tracking id of this account");
});

it("a Gmail tab that found options in an older shape reads them migrated here", async () => {
  const { gmail } = background();
  stored.options = { version: 2, trackerUrl: "https://t.example/", optOutText: "Unsubscribe from these emails", debug: true };
  const fromGmail = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  expect(await runHandler("options", gmail.options, null, fromGmail)).toMatchObject({
    trackerUrl: "https://t.example",
    earlierTrackerUrls: [],
    optOutText: "Don't track my opens and clicks",
    debug: true,
  });
});

it("an email's delete made again that the tracker answers 404 is done: its reminder goes, and the Gmail tabs are told", async () => {
  const { gmail, reminders, news } = background();
  const id = await trackingId();
  await reminders.set(id, 3);
  withheld.add("https://t.example/*");
  const fetch = refusedThenNotFound(() => withheld.clear());
  trackerRemoveFetch.with = fetch;
  expect(await gmail.deleteMessageData.run({ trackingId: id }, { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" })).toEqual({
    ok: true,
  });
  expect(fetch).toHaveBeenCalledTimes(2);
  expect(await reminders.all()).toEqual([]);
  expect(news).toEqual([[]]);
});
