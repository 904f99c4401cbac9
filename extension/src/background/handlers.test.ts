// The background's message handlers with the browser and the tracker stood in for: what the rep's actions leave
// behind in extension storage.
import { expect, it, vi } from "vitest";

const stored = vi.hoisted(() => ({}) as Record<string, unknown>);
const removed = vi.hoisted(() => [] as string[]);
vi.mock("webextension-polyfill", () => ({ default: { storage: { local: {} } } }));
vi.mock("../web-ext", () => ({
  browser: {
    storage: {
      local: {
        get: async (key: string) => (key in stored ? { [key]: structuredClone(stored[key]) } : {}),
        set: async (items: Record<string, unknown>) => void Object.assign(stored, structuredClone(items)),
      },
      onChanged: { addListener: () => {}, removeListener: () => {} },
    },
  },
}));
vi.mock("./credentials", () => ({
  loadCredentials: async () => ({
    trackerUrl: "https://t.example",
    accountId: "abcdefghijklmnop",
    apiToken: "token",
    signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
  }),
  saveCredentials: async () => undefined,
}));
vi.mock("./api", async (original) => ({
  ...(await original<typeof import("./api")>()),
  probeTracker: async () => undefined,
  trackerApi: () => ({ remove: async (id: string) => void removed.push(id) }),
}));

import { mintTrackingId } from "../../../shared/protocol";
import { TrackerError } from "./api";
import { ContactCheckCache } from "./contact-checks";
import { Reminders } from "./follow-ups";
import { gmailHandlers, pageHandlers } from "./handlers";
import { HeldSignals } from "./held-signals";
import { memoryArea } from "./memory-area";
import { FeedPoller } from "./notifications";
import { Outbox } from "./outbox";
import { SentAccounts } from "./sent-accounts";
import { StatusCache } from "./status-cache";

it("deleting an email's data drops its follow-up reminder: no list names it, no look waits for it", async () => {
  stored.options = { trackerUrl: "https://t.example", version: 2 };
  const area = memoryArea();
  const poller = new FeedPoller({
    area,
    account: async () => null,
    fetchEvents: async () => ({ events: [], cursor: "0" }),
    muted: async () => false,
    show: async () => undefined,
    news: () => undefined,
    pollAt: () => undefined,
  });
  const receipts = {
    statusCache: new StatusCache(),
    poller,
    news: () => undefined,
    feedState: async () => null,
    sentAccounts: new SentAccounts(area),
  };
  const outbox = new Outbox(
    area,
    async () => "delivered",
    () => undefined,
  );
  const reminders = new Reminders({
    area,
    now: async () => 0,
    requireCredentials: async () => {
      throw new Error("unused");
    },
    detail: async () => {
      throw new Error("unused");
    },
    inOutbox: async () => false,
    notify: async () => undefined,
    schedule: () => undefined,
  });
  const checks = new ContactCheckCache();
  const signals = {
    requireCredentials: async () => {
      throw new Error("unused");
    },
    tracker: () => {
      throw new Error("unused");
    },
    trackedThreads: async () => new Set<string>(),
    outboxThreads: async () => new Set<string>(),
    held: new HeldSignals(area),
    news: () => undefined,
    checks,
  };
  const handlers = gmailHandlers(outbox, receipts, signals, reminders);
  const trackingId = await mintTrackingId({ accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) });
  await reminders.set(trackingId, 3);
  await reminders.describe(trackingId, { subject: "Proposal", recipients: [{ email: "dana@wingtip.example", name: "Dana" }] });
  const sender = { id: "ext", url: "https://mail.google.com/mail/u/0/#inbox" };
  await handlers.deleteMessageData.run({ trackingId }, sender);
  expect(removed).toEqual([trackingId]);
  expect(await reminders.all()).toEqual([]);
});

it("the popup hears that the tracker refuses this browser's token, not that it does not answer", async () => {
  stored.options = { trackerUrl: "https://t.example", version: 2 };
  const area = memoryArea();
  const poller = new FeedPoller({
    area,
    account: async () => "https://t.example abcdefghijklmnop",
    fetchEvents: async () => {
      throw new TrackerError("the tracker answered 401: missing or invalid API token (Authorization: Bearer mt_…)", 401);
    },
    muted: async () => false,
    show: async () => undefined,
    news: () => undefined,
    pollAt: () => undefined,
  });
  const receipts = {
    statusCache: new StatusCache(),
    poller,
    news: () => undefined,
    feedState: async () => null,
    sentAccounts: new SentAccounts(area),
  };
  const unused = async () => {
    throw new Error("unused");
  };
  const reminders = new Reminders({
    area,
    now: async () => 0,
    requireCredentials: unused,
    detail: unused,
    inOutbox: async () => false,
    notify: async () => undefined,
    schedule: () => undefined,
  });
  const handlers = pageHandlers(
    new Outbox(
      area,
      async () => "delivered",
      () => undefined,
    ),
    receipts,
    new ContactCheckCache(),
    reminders,
  );
  const activity = await handlers.getActivity.run(null, { id: "ext", url: "chrome-extension://ext/popup.html" });
  expect(activity).toMatchObject({ reachable: false, refused: true });
  expect(activity.problem).toMatch(/does not accept this browser's API token.*connect again/);
});
