// The background: the only context that holds credentials and talks to the tracker. In Chrome it is a service
// worker that may be stopped at any moment, in Firefox an event page: nothing lives only in memory, the outbox is
// in browser.storage.local and a browser.alarms alarm brings the background back for the next retry.
import browser from "webextension-polyfill";
import { type HandlerTable, isEnvelope, type Reply } from "../messaging";
import { onOptionsChanged } from "../options-store";
import { api, TrackerError } from "./api";
import { loadCredentials } from "./credentials";
import { gmailHandlers, pageHandlers } from "./handlers";
import { type DeliveryResult, Outbox, type OutboxEntry } from "./outbox";
import { syncPixelBlockRule } from "./pixel-block";
import { senderKind } from "./sender";

const OUTBOX_ALARM = "outbox-retry";

async function deliver(entry: OutboxEntry): Promise<DeliveryResult> {
  const credentials = await loadCredentials();
  if (!credentials) return { retry: true, error: "not connected to a tracker" };
  try {
    await api.registerMessage(credentials.trackerUrl, credentials.apiToken, entry.trackingId, entry.request);
    return "delivered";
  } catch (error) {
    // 410: the user deleted this message's data on the tracker; it is as delivered as it will ever be.
    if (error instanceof TrackerError && error.status === 410) return "delivered";
    const message = error instanceof Error ? error.message : String(error);
    return { retry: !(error instanceof TrackerError) || error.retryable, error: message };
  }
}

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

const outbox = new Outbox(browser.storage.local, deliver, schedule);
const fromGmail: HandlerTable = gmailHandlers(outbox);
const fromPages: HandlerTable = pageHandlers(outbox);

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender): Promise<Reply<unknown>> | undefined => {
  if (!isEnvelope(message)) return undefined;
  const kind = senderKind(sender, browser.runtime.id, browser.runtime.getURL("/"));
  const table = kind === "gmail" ? fromGmail : kind === "page" ? fromPages : null;
  const handler = table && Object.hasOwn(table, message.type) ? table[message.type] : undefined;
  if (!handler) return Promise.resolve({ ok: false, error: `${message.type} is not answered for this sender` });
  return handler(message.input, sender).then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === OUTBOX_ALARM) void outbox.flush();
});

browser.runtime.onStartup.addListener(() => void outbox.flush());
browser.runtime.onInstalled.addListener(() => void outbox.flush());
// Every start of the background (after a restart, or woken by a message) looks at what is due.
void outbox.flush();
const blockPixels = () => syncPixelBlockRule().catch((error: unknown) => console.warn("pixel block rule not set", error));
void blockPixels();
onOptionsChanged(() => void blockPixels());
