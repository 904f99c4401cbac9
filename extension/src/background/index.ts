// The background: the only context that holds credentials and talks to the tracker. In Chrome it is a service
// worker that may be stopped at any moment, in Firefox an event page: nothing lives only in memory, the outbox is
// in browser.storage.local and a browser.alarms alarm brings the background back for the next retry.
import browser from "webextension-polyfill";
import { isEnvelope } from "../envelope";
import { DEFAULT_GMAIL_ACCOUNT, type GmailAccount, gmailTabFor, gmailThreadUrl, threadFragment } from "../gmail-ids";
import type { Reply } from "../messaging";
import { loadOptions, onOptionsChanged, storeInCurrentShape } from "../options-store";
import { errorText } from "../words";
import { onTrackerAnswer, probeTracker, trackerApi } from "./api";
import { ContactCheckCache } from "./contact-checks";
import { loadCredentials, movedFromStorageLocal, onCredentialsChanged } from "./credential-store";
import { outboxDelivery } from "./delivery";
import { TrackerTotals } from "./digest";
import type { Note } from "./feed-state";
import { CLOCK_SKEW_KEY, Reminders, reminderNote } from "./follow-ups";
import { markGmailTabsOpenBefore, showTrackerTrouble, watchGmailHealth } from "./gmail-health";
import { type HandlerTable, runHandler } from "./handler";
import { gmailHandlers, pageHandlers, requireCredentials, settleRemindersOnNews, signalDeps } from "./handlers";
import { HeldSignals } from "./held-signals";
import { memoryArea } from "./memory-area";
import { FeedPoller, NEWS_KEY, notificationId, notificationTarget } from "./notifications";
import { type KeyValueArea, Outbox, type OutboxEntry, tellTrouble } from "./outbox";
import { syncPixelBlockRule } from "./pixel-block";
import { senderKind } from "./sender";
import { SentAccounts } from "./sent-accounts";
import { keepShown as keepShownIn, updateShown } from "./shown-notifications";
import { releaseHeldSignals } from "./signals";
import { StatusCache } from "./status-cache";
import { noticeTab } from "./tab-notices";
import { settlementNote, settlePendingToken, tellsOfStoredToken } from "./token-replacement";
import { TrackerReach, waitingIn } from "./tracker-reach";

const OUTBOX_ALARM = "outbox-retry";

let retryTimer: ReturnType<typeof setTimeout> | undefined;

function schedule(at: number | null): void {
  clearTimeout(retryTimer);
  if (at === null) {
    void browser.alarms.clear(OUTBOX_ALARM);
    return;
  }
  // The alarm survives a stopped service worker (Chrome rounds it up to 30 s); the timer is faster while we live.
  void browser.alarms.create(OUTBOX_ALARM, { when: Math.max(at, Date.now() + 1000) });
  const delay = at - Date.now();
  if (delay < 5 * 60_000) retryTimer = setTimeout(() => void outbox.flush(), Math.max(0, delay));
}

/** The one notification about the outbox: a newer trouble replaces it; a click opens the options, where it is listed. */
const OUTBOX_NOTIFICATION = "mt-outbox";

/** A desktop notification of the extension's: its icon, a title and a message. */
function notify(id: string, { title, message }: { title: string; message: string }): Promise<string> {
  return browser.notifications.create(id, {
    type: "basic",
    iconUrl: browser.runtime.getURL("extension/public/icon-128.png"),
    title,
    message,
  });
}

/**
 * An email the tracker refused, or still could not be told of: the rep hears of it at once, in words. One waiting on
 * the tracker's reach or a refused token is named in REACH_NOTIFICATION's one notice of that, while it lasts
 * (outbox.ts tellTrouble).
 */
function tellOutboxTrouble(entry: OutboxEntry): void {
  void tellTrouble(entry, {
    outage: async (waiting) => {
      const credentials = await loadCredentials();
      return credentials !== null && reach.waits(credentials.trackerUrl, waiting.createdAt);
    },
    stillWaits: async (waiting) => {
      const credentials = await loadCredentials();
      if (credentials) await reach.stillWaits(credentials.trackerUrl, waiting.lastError ?? "");
    },
    notify: (note) => notify(OUTBOX_NOTIFICATION, note),
  }).catch((error: unknown) => console.warn("outbox notification not shown", error));
}

const deliver = outboxDelivery({
  credentials: loadCredentials,
  api: (credentials) => trackerApi(credentials.trackerUrl, credentials.apiToken),
  news: (threadIds) => news(threadIds),
  releaseHeld: () => releaseHeld(),
  registered: (entry, status) =>
    void poller
      .registered(entry.trackingId, entry.createdAt, status)
      .catch((error: unknown) => console.warn("hits before the registration not notified", error)),
});
const outbox = new Outbox(browser.storage.local, deliver, schedule, Date.now, tellOutboxTrouble);

/** The one notification of the tracker out of reach or refusing the token (tracker-reach.ts); a click opens the options. */
const REACH_NOTIFICATION = "mt-tracker-reach";
const reach = new TrackerReach({
  // Where there is none (storage.session: Chrome 102, Firefox 115), memory: told again after the background restarts.
  area: (browser.storage as unknown as { session?: KeyValueArea }).session ?? memoryArea(),
  lasting: browser.storage.local,
  notify: (note) =>
    (note ? notify(REACH_NOTIFICATION, note) : browser.notifications.clear(REACH_NOTIFICATION)).then(
      () => undefined,
      (error: unknown) => console.warn("tracker reachability notification not shown", error),
    ),
  toolbar: showTrackerTrouble,
  readAgain: () => news([]),
  // Read without waiting on a running flush: the flush may be the one whose telling asks.
  waiting: async () => waitingIn(await outbox.snapshot(), await loadCredentials()),
  probe: probeTracker,
});
/** The one notification of a token replacement settled without the options page waiting on it; a click opens the options. */
const TOKEN_NOTIFICATION = "mt-token-replacement";
/**
 * A token replacement whose answer was lost, left by a background that stopped meanwhile or not settled then (the
 * tracker out of reach), is settled (token-replacement.ts), and the rep told what it came to.
 */
function settleTokenReplacement(): void {
  void settlePendingToken()
    .then((settled) => {
      const note = settlementNote(settled);
      if (note) return notify(TOKEN_NOTIFICATION, note);
    })
    .catch((error: unknown) => console.warn("token replacement not settled", error));
}
// Every call made with a token is heard, the feed poll's among them; only those with the stored credentials count.
onTrackerAnswer((trackerUrl, token, failure, call) => {
  const refused = failure?.status === 401;
  // One read of the credentials for both questions below, as the call is heard.
  const held = loadCredentials();
  // This browser's token refused: a replacement whose answer was lost may have put the pending token in place since.
  // Not on the pending token's own refusal: its settlement tries it, and would start another.
  if (refused)
    void held.then(
      (credentials) => {
        if (credentials?.pendingToken && credentials.apiToken === token) settleTokenReplacement();
      },
      () => undefined,
    );
  void reach
    .heard(trackerUrl, failure, { connected: async () => tellsOfStoredToken(await held, trackerUrl, token, refused), call })
    .catch((error: unknown) => console.warn("tracker reachability not kept", error));
});
void reach.restore().catch((error: unknown) => console.warn("tracker reachability not shown", error));

// Read receipts: the feed is polled every minute (an alarm outlives a stopped service worker) and right away when a
// Gmail tab gains focus; news for threads reaches the Gmail tabs through this storage key (content script listens).
const FEED_ALARM = "feed-poll";
/**
 * A poll at the moment the feed releases an event it held (its `nextAt`, about 67 s after an open), so the first
 * real open notifies then rather than up to a minute later. Both a timer and an alarm: Chrome fires an alarm no
 * sooner than 30 s after it is set (MV3 packed extensions, chromium extensions/browser/api/alarms/
 * alarms_api_constants.h kMV3ReleaseDelayMinimum) and stops an idle service worker after 30 s, so the timer is
 * on time for a release under 30 s away (the worker that just polled is still alive), the alarm for one further
 * (it wakes a stopped worker); whichever comes second is answered by the first poll (MIN_POLL_GAP_MS).
 */
const FEED_FOLLOW_UP_ALARM = "feed-follow-up";
let followUpTimer: ReturnType<typeof setTimeout> | undefined;
const statusCache = new StatusCache();
const sentAccounts = new SentAccounts(browser.storage.local);

async function feedAccount(): Promise<string | null> {
  const credentials = await loadCredentials();
  return credentials ? `${credentials.trackerUrl} ${credentials.accountId}` : null;
}

function news(threadIds: string[]): void {
  statusCache.invalidate(threadIds.length > 0 ? threadIds : undefined);
  void browser.storage.local.set({ [NEWS_KEY]: { at: Date.now(), threadIds } });
}

/** Keeps a notification among the last shown (shown-notifications.ts). */
function keepShown(id: string, key: string, { title, message }: { title: string; message: string }): Promise<void> {
  return keepShownIn(browser.storage.local, { id, key, title, message, at: Date.now() });
}

async function showNote(note: Note): Promise<void> {
  // The thread id and the Gmail account that sent the message ride in the notification id, so a click still opens
  // the thread in that account after the background restarted.
  const id = notificationId(note, (await sentAccounts.get(note.messageId)) ?? DEFAULT_GMAIL_ACCOUNT);
  await notify(id, note);
  await keepShown(id, note.key, note);
}

/** A hidden Gmail tab's notice on the desktop (tab-notices.ts), kept among the last shown like the feed's. */
async function showTabNotice(id: string, note: { title: string; message: string }): Promise<void> {
  await notify(id, note);
  await keepShown(id, id, note);
}

const poller = new FeedPoller({
  area: browser.storage.local,
  account: feedAccount,
  fetchEvents: async (after, limit, correctionsAfter) => {
    const credentials = await loadCredentials();
    if (!credentials) return { events: [], cursor: after };
    return trackerApi(credentials.trackerUrl, credentials.apiToken).events(after, limit, correctionsAfter);
  },
  muted: async () => !(await loadOptions()).notifications,
  show: showNote,
  // The id showNote gave it; clearing one no longer shown does nothing.
  withdraw: async (note) => {
    await browser.notifications.clear(notificationId(note, (await sentAccounts.get(note.messageId)) ?? DEFAULT_GMAIL_ACCOUNT));
  },
  // A summary a correction changed: the same id, new words, only while still shown.
  update: async (note) => {
    const id = notificationId(note, (await sentAccounts.get(note.messageId)) ?? DEFAULT_GMAIL_ACCOUNT);
    const deps = { area: browser.storage.local, onScreen: () => browser.notifications.getAll(), notify, now: Date.now };
    await updateShown(deps, id, note);
  },
  // The poller writes NEWS_KEY itself, with its feed state.
  news: (threadIds) => statusCache.invalidate(threadIds),
  pollAt: (at) => {
    clearTimeout(followUpTimer);
    followUpTimer = setTimeout(pollFeed, Math.max(0, at - Date.now()));
    void browser.alarms.create(FEED_FOLLOW_UP_ALARM, { when: at });
  },
  detail: async (messageId) => {
    const credentials = await requireCredentials();
    return trackerApi(credentials.trackerUrl, credentials.apiToken).detail(messageId);
  },
  // The tracker answers: registrations waiting out a backoff of up to 15 minutes go now, not at its end.
  answered: () => void outbox.hurry().catch((error: unknown) => console.warn("outbox not flushed", error)),
});
function pollFeed(): void {
  void poller.poll().catch((error: unknown) => console.warn("events feed not polled", error));
}
const receipts = {
  statusCache,
  poller,
  news,
  sentAccounts,
  totals: new TrackerTotals(),
  reach,
};

/** Shows the thread in a Gmail tab of the account that sent it, or in a new tab: another account's tab is left alone. */
async function openThread(threadId: string | null, account: GmailAccount): Promise<void> {
  const tab = gmailTabFor(await browser.tabs.query({ url: "https://mail.google.com/*" }), account);
  if (tab?.id === undefined || tab.url === undefined) {
    await browser.tabs.create({ url: gmailThreadUrl(threadId, account) });
    return;
  }
  // Only the tab's fragment changes, which Gmail follows without loading the page again.
  const url = new URL(tab.url);
  url.hash = threadFragment(threadId);
  await browser.tabs.update(tab.id, { url: url.href, active: true });
  if (tab.windowId !== undefined) await browser.windows.update(tab.windowId, { focused: true });
}

/** Brings a tab to the front of its window, and the window to the front. */
async function showTab(tabId: number): Promise<void> {
  const tab = await browser.tabs.update(tabId, { active: true });
  if (tab?.windowId !== undefined) await browser.windows.update(tab.windowId, { focused: true });
}

browser.notifications.onClicked.addListener((id) => {
  if (id === OUTBOX_NOTIFICATION || id === REACH_NOTIFICATION || id === TOKEN_NOTIFICATION) {
    void browser.runtime.openOptionsPage();
    void browser.notifications.clear(id);
    return;
  }
  // A notice a hidden Gmail tab said (tab-notices.ts): that tab, if it is still open.
  const noticeTabId = noticeTab(id);
  if (noticeTabId !== null) {
    void showTab(noticeTabId).catch((error: unknown) => console.warn("tab of the notice not shown", error));
    void browser.notifications.clear(id);
    return;
  }
  const target = notificationTarget(id);
  if (!target) return;
  void openThread(target.threadId, target.account).catch((error: unknown) => console.warn("thread not opened", error));
  void browser.notifications.clear(id);
});

// Replies and bounces seen while their thread's email was still in the outbox (background/held-signals.ts).
const heldSignals = new HeldSignals(browser.storage.local, loadCredentials);
/** The compose windows' recipient checks, cached per address for the whole background. */
const contactChecks = new ContactCheckCache();
// "Remind me if no reply in N days" (background/follow-ups.ts): due reminders are looked at by their own alarm and
// every minute with the feed; a reply recorded from Gmail settles its email's reminder at once.
const REMINDER_ALARM = "follow-up-reminder";
const reminders = new Reminders({
  area: browser.storage.local,
  now: async () => {
    // Store builds keep real time: the skew is a development build's test seam only.
    if (!DEVELOPMENT_BUILD) return Date.now();
    const skew = (await browser.storage.local.get(CLOCK_SKEW_KEY))[CLOCK_SKEW_KEY];
    return Date.now() + (typeof skew === "number" && Number.isFinite(skew) ? skew : 0);
  },
  requireCredentials,
  detail: (c, trackingId) => trackerApi(c.trackerUrl, c.apiToken).detail(trackingId),
  inOutbox: async (trackingId) => (await outbox.snapshot()).some((e) => e.trackingId === trackingId && !e.withdraw),
  notify: (reminder, detail) =>
    showNote({
      key: `remind:${reminder.trackingId}`,
      messageId: reminder.trackingId,
      threadId: detail.threadId,
      ...reminderNote(detail, reminder.days),
    }),
  schedule: (at) => {
    if (at === null) void browser.alarms.clear(REMINDER_ALARM);
    else void browser.alarms.create(REMINDER_ALARM, { when: Math.max(at, Date.now() + 1000) });
  },
});
const checkReminders = () => void reminders.check().catch((error: unknown) => console.warn("reminders not checked", error));
const settleReminders = settleRemindersOnNews(reminders, receipts);
const signals = {
  ...signalDeps(outbox, receipts, heldSignals, contactChecks),
  news: (threadIds: string[]) => {
    news(threadIds);
    settleReminders(threadIds);
  },
};
/** Not awaited by its callers. Its outbox read waits for a running flush, so a delivery just made is seen. */
function releaseHeld(): void {
  void releaseHeldSignals(signals).catch((error: unknown) => console.warn("held signals not reported yet", error));
}

const fromGmail: HandlerTable = gmailHandlers(outbox, receipts, signals, reminders, showTabNotice);
const fromPages: HandlerTable = pageHandlers(outbox, receipts, contactChecks, reminders, heldSignals, releaseHeld);

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender): Promise<Reply<unknown>> | undefined => {
  if (!isEnvelope(message)) return undefined;
  const kind = senderKind(sender, browser.runtime.id, browser.runtime.getURL("/"));
  const table = kind === "gmail" ? fromGmail : kind === "page" ? fromPages : null;
  const handler = table && Object.hasOwn(table, message.type) ? table[message.type] : undefined;
  if (!handler) return Promise.resolve({ ok: false, error: `${message.type} is not answered for this sender` });
  return runHandler(message.type, handler, message.input, sender).then(
    (value) => ({ ok: true, value }),
    // A Gmail tab keeps what it drew before a failed read, and says why it may be out of date in these words.
    async (error: unknown) => ({ ok: false, error: (kind === "gmail" && (await reach.staleReason(error))) || errorText(error) }),
  );
});

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === OUTBOX_ALARM) void outbox.flush();
  if (alarm.name === FEED_ALARM) {
    pollFeed();
    releaseHeld();
    checkReminders();
  }
  if (alarm.name === REMINDER_ALARM) checkReminders();
  if (alarm.name === FEED_FOLLOW_UP_ALARM) pollFeed();
});
void browser.alarms.get(FEED_ALARM).then((alarm) => {
  if (!alarm) void browser.alarms.create(FEED_ALARM, { periodInMinutes: 1 });
});
pollFeed();
checkReminders();

browser.runtime.onStartup.addListener(() => void outbox.flush());
browser.runtime.onInstalled.addListener((details) => {
  void outbox.flush();
  if (details.reason === "install" || details.reason === "update")
    void markGmailTabsOpenBefore().catch((error: unknown) => console.warn("open Gmail tabs not marked", error));
  // First run: the options page, with its short guide, is where a new rep connects. A tab of its own (openOptionsPage
  // would take over whatever blank tab the browser is just opening, and lose the race with its first load).
  if (details.reason === "install")
    void browser.tabs
      .create({ url: browser.runtime.getURL("extension/src/options/index.html") })
      .catch((error: unknown) => console.warn("options page not opened", error));
});
// Credentials an earlier version kept in storage.local, where content scripts can read them, go to the background's
// private area (credential-store.ts) at the first start after the update.
movedFromStorageLocal().catch((error: unknown) => console.warn("credentials not moved out of storage.local", error));
// Options an earlier version stored in an older shape are stored anew, so Gmail tabs read them without asking here.
storeInCurrentShape().catch((error: unknown) => console.warn("options not stored in the current shape", error));
// Every start of the background (after a restart, or woken by a message) looks at what is due.
void outbox.flush();
settleTokenReplacement();
// The tracker's access is followed while connected to it.
const checkAccess = watchGmailHealth(() =>
  requireCredentials().then(
    ({ trackerUrl }) => trackerUrl,
    () => null,
  ),
);
const blockPixels = () => syncPixelBlockRule().catch((error: unknown) => console.warn("pixel block rule not set", error));
void blockPixels();
onOptionsChanged(() => {
  void blockPixels();
  checkAccess();
});
onCredentialsChanged(() => {
  checkAccess();
  void reach.forget().catch((error: unknown) => console.warn("tracker reachability not reset", error));
});
// Access to a site given back (the tracker's, say): registrations waiting out a backoff of up to 15 minutes go now,
// so the opens the tracker holds for them come with their notifications.
browser.permissions.onAdded.addListener(() => void outbox.hurry().catch((error: unknown) => console.warn("outbox not flushed", error)));
