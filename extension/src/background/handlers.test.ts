// The background's message handlers with the browser and the tracker stood in for: what the rep's actions leave
// behind in extension storage.
import { expect, it, vi } from "vitest";

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
const trackerAccounts = vi.hoisted(() => ({ byToken: {} as Record<string, string>, created: 0 }));
/** The tracker's follow-up list (GET /api/activity/follow-ups): its answer, and the waits it was asked with. */
const followUpsAnswer = vi.hoisted(() => ({
  body: { messages: [] as unknown[] } as { messages: unknown[]; total?: number | null },
  asked: [] as unknown[],
}));
/** The emails the stood-in tracker has (GET /api/messages/:id, POST /api/messages/status), by tracking id. */
const trackerEmails = vi.hoisted(() => ({}) as Record<string, unknown>);
const storage = vi.hoisted(() => ({
  local: {
    get: async (key: string) => (key in stored ? { [key]: structuredClone(stored[key]) } : {}),
    set: async (items: Record<string, unknown>) => void Object.assign(stored, structuredClone(items)),
    remove: async (key: string) => void delete stored[key],
  },
  onChanged: { addListener: () => {}, removeListener: () => {} },
}));
vi.mock("webextension-polyfill", () => ({ default: { storage } }));
vi.mock("../web-ext", () => ({ browser: { storage } }));
vi.mock("./private-area", () => ({ privateArea }));
vi.mock("./api", async (original) => {
  const actual = await original<typeof import("./api")>();
  return {
    ...actual,
    probeTracker: async () => undefined,
    trackerApi: (_url: string, token?: string) => ({
      account: async () => {
        const accountId = token ? trackerAccounts.byToken[token] : undefined;
        if (!accountId) throw new actual.TrackerError("the tracker answered 401", 401);
        return { accountId, signingKey: { keyId: 1, secret: "A".repeat(43) } };
      },
      createAccount: async () => {
        trackerAccounts.created += 1;
        const accountId = `created${String(trackerAccounts.created).padStart(9, "0")}`;
        trackerAccounts.byToken[`mt_${accountId}`] = accountId;
        return { accountId, apiToken: `mt_${accountId}`, signingKey: { keyId: 1, secret: "C".repeat(43) } };
      },
      remove: async (id: string) => void removed.push(id),
      detail: async (id: string) => {
        if (!trackerEmails[id]) throw new actual.TrackerError("the tracker answered 404: no such message in this account", 404);
        return structuredClone(trackerEmails[id]);
      },
      status: async (threadIds: string[]) => ({
        messages: Object.values(trackerEmails).filter((m) => threadIds.includes((m as { threadId: string }).threadId)),
      }),
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
import { TrackerError } from "./api";
import { ContactCheckCache } from "./contact-checks";
import type { Credentials } from "./credentials";
import { TOTALS_MAX_AGE_MS, TrackerTotals } from "./digest";
import { followUpWaits, Reminders } from "./follow-ups";
import { runHandler } from "./handler";
import { gmailHandlers, NEW_ACCOUNT_NEEDS_CONFIRMATION, OTHER_ACCOUNT_NEEDS_CONFIRMATION, pageHandlers } from "./handlers";
import { HeldSignals } from "./held-signals";
import { memoryArea } from "./memory-area";
import { FeedPoller, type PollerDeps, readFeedState } from "./notifications";
import { type DeliveryResult, Outbox } from "./outbox";
import { SentAccounts } from "./sent-accounts";
import { StatusCache } from "./status-cache";
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
  trackerAccounts.byToken = { [CONNECTED.apiToken]: CONNECTED.accountId, other: "otheraccount0000" };
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
  const receipts = {
    statusCache: new StatusCache(),
    poller,
    news: () => undefined,
    feedState: () => readFeedState(area, ACCOUNT),
    sentAccounts: new SentAccounts(area),
    totals: new TrackerTotals(),
    reach: new TrackerReach({ area, notify: async () => undefined, toolbar: async () => undefined }),
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
  const signals = {
    requireCredentials: unused,
    tracker: () => {
      throw new Error("unused");
    },
    trackedThreads: async () => new Set<string>(),
    outboxThreads: async () => new Set<string>(),
    held: new HeldSignals(area),
    news: () => undefined,
    checks,
  };
  return {
    area,
    outbox,
    reminders,
    reach: receipts.reach,
    gmail: gmailHandlers(outbox, receipts, signals, reminders),
    pages: pageHandlers(outbox, receipts, checks, reminders),
  };
}

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
  expect(await runHandler("cancelReminder", pages.cancelReminder, { trackingId: sent }, fromDashboard)).toEqual({ cancelled: true });
  expect((await reminders.all()).map((r) => r.trackingId)).toEqual([other]);
  // Already gone (notified, settled, cancelled in another tab): said, not thrown.
  expect(await runHandler("cancelReminder", pages.cancelReminder, { trackingId: sent }, fromDashboard)).toEqual({ cancelled: false });
  await expect(runHandler("cancelReminder", pages.cancelReminder, {}, fromDashboard)).rejects.toThrow(
    "cancelReminder does not take this input",
  );
});

it("the follow-up list sends each campaign's wait to apply before the limit, and says when the list was cut", async () => {
  const { pages } = background();
  stored.options = { trackerUrl: "https://t.example", version: 2, followUpDays: 3, followUpDaysByCampaign: { Webinar: 7, Q4: 2, Same: 3 } };
  const fromDashboard = { id: "ext", url: "chrome-extension://ext/extension/src/dashboard/index.html#follow-ups" };
  const sentAt = new Date(Date.now() - 10 * 86_400_000).toISOString();
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

it("deleting a contact takes it out of the activity and the reminders, and its only emails with their counts", async () => {
  const [only, shared] = [await trackingId(), await trackingId()];
  const dana = { email: "dana@wingtip.example", name: "Dana Reyes" };
  const erin = { email: "erin@wingtip.example", name: "Erin" };
  const event = (cursor: string, messageId: string, recipients: FeedEvent["recipients"]): FeedEvent => ({
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
  let page: EventsResponse = { events: [event("1", only, [dana]), event("2", shared, [dana, erin])], cursor: "2" };
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
  const open = (cursor: string, at: number): FeedEvent => ({
    cursor,
    messageId: `m${cursor}`,
    threadId: null,
    subject: "Proposal",
    recipients: [],
    kind: "open",
    linkIndex: null,
    label: "human",
    counted: true,
    at: new Date(at).toISOString(),
  });
  const { pages } = background(async () => ({ events: [open("1", Date.now()), open("2", Date.now())], cursor: "2" }));
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
  const open = (cursor: string): FeedEvent => ({
    cursor,
    messageId: `totals-${cursor}`,
    threadId: null,
    subject: "Proposal",
    recipients: [dana],
    kind: "open",
    linkIndex: null,
    label: "human",
    counted: true,
    at: new Date().toISOString(),
  });
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

it("Disconnect only once confirmed; after it, Connect without a token asks before creating a new account", async () => {
  const { pages } = background();
  const trackerUrl = "https://t.example";
  // The options page can show the token first: only it brings the account back.
  expect(await pages.storedApiToken.run(null, fromOptions)).toEqual({ accountId: CONNECTED.accountId, apiToken: CONNECTED.apiToken });
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
  expect(await pages.connect.run({ trackerUrl, newAccount: true }, fromOptions)).toMatchObject({ created: true });
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
  expect(await pages.connect.run({ trackerUrl, apiToken: "other", otherAccount: true }, fromOptions)).toMatchObject({
    accountId: "otheraccount0000",
    created: false,
  });
  expect(secrets.credentials).toMatchObject({ accountId: "otheraccount0000", apiToken: "other" });
});

it("the stored API token is a page's to ask for, never a Gmail tab's", () => {
  const { gmail, pages } = background();
  expect(Object.hasOwn(pages, "storedApiToken")).toBe(true);
  expect(Object.hasOwn(gmail, "storedApiToken")).toBe(false);
});

it("connected to a tracker its recipients cannot reach, the pages and every compose window hear what it costs", async () => {
  const { gmail, pages } = background();
  const compose = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  // A deployed tracker: nothing to say.
  expect((await pages.getState.run(null, fromOptions)).connection.notice).toBeNull();
  expect((await gmail.mintId.run(null, compose)).notice).toBeNull();

  // `npm start`'s tracker, on this computer.
  await pages.connect.run({ trackerUrl: "http://127.0.0.1:8787", apiToken: CONNECTED.apiToken }, fromOptions);
  const notice =
    "Recipients cannot reach your tracker at 127.0.0.1:8787 (this computer or a private network): their opens are not recorded and tracked links do not open for them. To track real recipients, deploy a tracker (npm run deploy) and connect to it.";
  expect((await pages.getState.run(null, fromOptions)).connection).toMatchObject({ connected: true, notice });
  expect((await gmail.mintId.run(null, compose)).notice).toBe(notice);
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
