import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type EventsResponse, type MessageDetail, SENDER_WINDOW_MS } from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import {
  CLICK_AFTER_DELIVERY_SCANNER_MS,
  CLICK_REACH_MS,
  type ContextEvent,
  contextLabels,
  GMAIL_DEFAULT_UNDO_SEND_MS,
  LABEL_FINAL_AFTER_MS,
  LINK_BURST_MS,
  LINK_PAIR_MS,
  type MessageContext,
  RELABEL_MARGIN_MS,
  SAME_NETWORK_AS_SCANNER_MS,
  SANDBOX_AFTER_DELIVERY_MS,
} from "../src/classify";
import { eventsAfter, recordSenderViews, relabelMessages } from "../src/db/events";
import { keyStoredMailboxesOnce } from "../src/db/mailboxes";
import { purgeExpiredEvents, SENDER_VIEW_RETENTION_MS } from "../src/db/retention";
import { hitFromRequest } from "../src/hits";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { d1WithWriteBeforeBatchOf, FlakyD1, TRANSIENT_D1_ERROR } from "./faults";
import {
  BASE,
  CHROME_UA,
  clickLink,
  createAccount,
  DAY,
  GMAIL_PROXY_UA,
  HOUR,
  MINUTE,
  openPixel,
  registration,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
} from "./helpers";

async function labelsOf(messageId: string): Promise<string[]> {
  return (await storedEvents(messageId)).map((r) => r.label as string);
}

/** A person's hit that happened at `occurredAt`, as the real hit builder makes it. */
async function hitMadeAt(
  account: TestAccount,
  messageId: string,
  occurredAt: number,
  kind: "open" | "click" = "open",
  linkIndex: number | null = null,
) {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA } });
  return hitFromRequest(request, { accountId: account.accountId, messageId, accountKey, kind, linkIndex }, occurredAt);
}

/** Stores a hit that happened at `occurredAt`, through the real hit builder and consumer (the queue only adds delay). */
async function hitAt(...args: Parameters<typeof hitMadeAt>) {
  await storeHits(env.DB, [await hitMadeAt(...args)]);
}

/** A client as the tracker sees it: its user agent, address (CF-Connecting-IP) and network (`request.cf.asn`). */
interface Client {
  userAgent: string;
  address?: string;
  asn?: number;
}

/** Stores `client`'s hit at `occurredAt` on the pixel, or on link `linkIndex`, through the real hit builder and consumer. */
async function hitFrom(account: TestAccount, messageId: string, client: Client, occurredAt: number, linkIndex: number | null = null) {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const kind = linkIndex === null ? "open" : "click";
  const path = kind === "open" ? `/o/${messageId}.gif` : `/c/${messageId}/${linkIndex}`;
  const headers = { "user-agent": client.userAgent, ...(client.address ? { "cf-connecting-ip": client.address } : {}) };
  const request = new Request(`${BASE}${path}`, { headers, ...(client.asn ? { cf: { asn: client.asn } } : {}) } as RequestInit);
  const target = { accountId: account.accountId, messageId, accountKey, kind, linkIndex } as const;
  await storeHits(env.DB, [await hitFromRequest(request, target, occurredAt)]);
}

/** Microsoft Defender's sandbox: a current browser's user agent, from Microsoft's network. */
const DEFENDER_SANDBOX: Client = { userAgent: CHROME_UA, address: "192.0.2.80", asn: 8075 };

describe("labels from the request", () => {
  it.each([
    ["a person's browser", { "user-agent": CHROME_UA }, undefined, "human"],
    ["Google's image proxy", { "user-agent": GMAIL_PROXY_UA }, undefined, "gmail-proxy"],
    [
      "Yahoo's image proxy",
      { "user-agent": "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html" },
      undefined,
      "human",
    ],
    ["Apple Mail Privacy Protection", { "user-agent": "Mozilla/5.0" }, undefined, "apple-mpp"],
    [
      "a headless browser",
      { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36" },
      undefined,
      "scanner",
    ],
    ["no user agent", { "user-agent": "" }, undefined, "scanner"],
    ["a datacenter network", { "user-agent": CHROME_UA }, { asn: 16509 }, "scanner"],
    // Outlook.com fetches images through Microsoft's network on a real open; Defender's scanners share it.
    ["Microsoft's network (not a scanner by network alone)", { "user-agent": CHROME_UA }, { asn: 8075 }, "human"],
    [
      "Gmail's delivery prefetch",
      {
        "user-agent":
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0",
      },
      { asn: 15169 },
      "prefetch",
    ],
    ["Outlook's Word engine", { "user-agent": "Microsoft Office Word 2014" }, undefined, "human"],
    ["Outlook for Windows", { "user-agent": "Mozilla/4.0 (compatible; ms-office; MSOffice 16)" }, undefined, "human"],
    [
      "HEY's image proxy",
      {
        "user-agent":
          "hey.com/imageproxy Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36",
      },
      undefined,
      "human",
    ],
    ["a speculative prefetch", { "user-agent": CHROME_UA, "sec-purpose": "prefetch;prerender" }, undefined, "prefetch"],
  ])("labels an open from %s", async (_what, headers, cf, label) => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await openPixel(message.id, headers, cf);
    await waitForEvents(message.id, 1);
    expect(await labelsOf(message.id)).toEqual([label]);
  });

  it.each([
    [
      "Office checking the link before the browser opens it",
      { "user-agent": "Mozilla/4.0 (compatible; ms-office; MSOffice 16)" },
      undefined,
      "prefetch",
    ],
    ["Google's link sampler", { "user-agent": "Mozilla/5.0 (compatible; Gmail-content-sampling)" }, { asn: 15169 }, "scanner"],
    ["Microsoft's network (Defender Safe Links)", { "user-agent": CHROME_UA }, { asn: 8075 }, "scanner"],
    ["a person's browser", { "user-agent": CHROME_UA }, { asn: 7922 }, "human"],
  ])("labels a click from %s", async (_what, headers, cf, label) => {
    const account = await createAccount();
    const url = "https://example.com/";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    await clickLink(account, message.id, 0, url, { headers, ...(cf ? { cf } : {}) } as RequestInit);
    await waitForEvents(message.id, 1);
    expect(await labelsOf(message.id)).toEqual([label]);
  });

  it("records the proxy, not a place, for an open through a mail service's image proxy", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await openPixel(
      message.id,
      { "user-agent": "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html" },
      { country: "US", region: "California" },
    );
    const [row] = await waitForEvents(message.id, 1);
    expect(row).toMatchObject({ label: "human", client: "Yahoo Mail (through its image proxy)", country: null, region: null });
  });

  it("keeps no address hash for an open through Google's image proxy, and one for a reader's direct open and click", async () => {
    // Google's proxy fetches from its own addresses and forwards no recipient's (docs/gmail.md, "Images and the
    // sender's own opens"; the user agent as in classify.ts's MAIL_PROXIES, Gmail blog 2013-12-12).
    const account = await createAccount();
    const url = "https://example.com/pricing";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    const address = { "cf-connecting-ip": "203.0.113.7" };
    await openPixel(message.id, { "user-agent": GMAIL_PROXY_UA, ...address });
    await openPixel(message.id, address);
    await clickLink(account, message.id, 0, url, { headers: address });
    const rows = await waitForEvents(message.id, 3);
    const proxied = rows.find((row) => row.label === "gmail-proxy");
    const direct = rows.filter((row) => row.label === "human");
    expect(proxied?.ip_hash).toBeNull();
    expect(direct).toHaveLength(2);
    // The same address hashes alike for the open and the click: unique clicks still count readers.
    expect(direct[0]?.ip_hash).toEqual(expect.any(String));
    expect(direct[1]?.ip_hash).toBe(direct[0]?.ip_hash);
  });

  it("reads request.cf only when a rule needs it, and once", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
    const target = { accountId: account.accountId, messageId: message.id, accountKey, linkIndex: null };
    let reads = 0;
    const requestWith = (userAgent: string) => {
      const request = new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": userAgent } });
      // Counts the reads of the properties workerd parses and freezes on first access (`CfProperty::getRef` in a
      // perf profile of workerd 1.20261023.1, 2026-11-30; hits.ts, captureHit).
      Object.defineProperty(request, "cf", {
        get: () => {
          reads++;
          return { asn: 16509, country: "DE", region: "Berlin" };
        },
      });
      return request;
    };
    const proxied = await hitFromRequest(requestWith(GMAIL_PROXY_UA), { ...target, kind: "open" }, Date.now());
    expect(proxied).toMatchObject({ requestLabel: "gmail-proxy", country: null, region: null });
    expect(reads).toBe(0);
    const click = await hitFromRequest(requestWith(CHROME_UA), { ...target, kind: "click", linkIndex: 0 }, Date.now());
    // Its network (a cloud's) and its place both come from the one read.
    expect(click).toMatchObject({ requestLabel: "scanner", country: "DE", region: "Berlin" });
    expect(reads).toBe(1);
  });

  it("counts human and Gmail-proxy opens only", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    for (const ua of [CHROME_UA, GMAIL_PROXY_UA, "Mozilla/5.0", "curl/8.5.0"]) await openPixel(message.id, { "user-agent": ua });
    await waitForEvents(message.id, 4);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect(body.openCount).toBe(2);
    expect(body.opens.map((o) => o.label).sort()).toEqual(["apple-mpp", "gmail-proxy", "human", "scanner"]);
  });
});

const SENT_AT = Date.UTC(2026, 11, 1, 9);

/** The context labels of these events of a 5-link email sent at SENT_AT, in their order. */
function judged(events: readonly Omit<ContextEvent, "seq">[], message: Partial<MessageContext> = {}): (string | undefined)[] {
  const numbered = events.map((event, seq) => ({ ...event, seq }));
  const labels = contextLabels(numbered, { sentAt: SENT_AT, linkCount: 5, senderViews: [], firstCountedOpenAt: null, ...message });
  return numbered.map((event) => labels.get(event.seq));
}

/** An open `at` ms after sending, from the network hashed as `ipHash`. */
function openOf(at: number, ipHash: string | null, requestLabel: ContextEvent["requestLabel"] = "human"): Omit<ContextEvent, "seq"> {
  return { kind: "open", linkIndex: null, occurredAt: SENT_AT + at, requestLabel, ipHash };
}

function clickOf(at: number, linkIndex: number, ipHash: string | null, requestLabel: ContextEvent["requestLabel"] = "human") {
  return { kind: "click", linkIndex, occurredAt: SENT_AT + at, requestLabel, ipHash } satisfies Omit<ContextEvent, "seq">;
}

describe("the context rules on an open from a scanner's network", () => {
  it("labels an open from the network of a scanner's click within a minute, before or after it, as the scanner's", () => {
    // Defender's sandbox on Microsoft's network: the open by its browser user agent alone is a person's, the click
    // from Microsoft's network a scanner's.
    expect(judged([openOf(39_000, "sandbox"), clickOf(40_000, 0, "sandbox", "scanner")])).toEqual(["scanner", "scanner"]);
    expect(judged([openOf(39_000, "reader"), clickOf(40_000, 0, "sandbox", "scanner")])).toEqual(["human", "scanner"]);
    // Within SANDBOX_AFTER_DELIVERY_MS of delivery, either way round.
    const at = 30_000;
    expect(judged([openOf(at, "sandbox"), clickOf(at + SAME_NETWORK_AS_SCANNER_MS, 0, "sandbox", "scanner")])).toEqual([
      "scanner",
      "scanner",
    ]);
    expect(judged([openOf(at, "sandbox"), clickOf(at + SAME_NETWORK_AS_SCANNER_MS + 1, 0, "sandbox", "scanner")])).toEqual([
      "human",
      "scanner",
    ]);
    expect(judged([clickOf(at, 0, "sandbox", "scanner"), openOf(at + SAME_NETWORK_AS_SCANNER_MS, "sandbox")])).toEqual([
      "scanner",
      "scanner",
    ]);
    // A click labelled a scanner's by its context (seconds after delivery) counts alike.
    expect(judged([openOf(4_000, "sandbox"), clickOf(5_000, 0, "sandbox")])).toEqual(["scanner", "scanner"]);
  });

  it("leaves an open through Gmail's proxy, which keeps no address hash, a person's beside a scanner's click with none", () => {
    expect(judged([openOf(39_000, null, "gmail-proxy"), clickOf(40_000, 0, null, "scanner")])).toEqual(["gmail-proxy", "scanner"]);
  });

  it("takes two links followed within a second after an open from the same network for a scanner's: the open does not vouch for them", () => {
    // On a network no list names: without the open, the link pair alone is a scanner's.
    const pair = [clickOf(40_000, 0, "sandbox"), clickOf(40_600, 1, "sandbox")];
    expect(judged(pair)).toEqual(["scanner", "scanner"]);
    expect(judged([openOf(39_000, "sandbox"), ...pair])).toEqual(["scanner", "scanner", "scanner"]);
  });

  it("still takes two links followed within a second after a person's open from another network, or long before, for the person's", () => {
    expect(judged([openOf(39_000, "reader"), clickOf(40_000, 0, "sandbox"), clickOf(40_600, 1, "sandbox")])).toEqual([
      "human",
      "human",
      "human",
    ]);
    const clicked = 40_000 + SAME_NETWORK_AS_SCANNER_MS + 1;
    expect(judged([openOf(40_000, "reader"), clickOf(clicked, 0, "reader"), clickOf(clicked + 600, 1, "reader")])).toEqual([
      "human",
      "human",
      "human",
    ]);
  });

  it("leaves a person reading in a mail client on their own network, minutes after delivery, their open and the links they open in tabs", () => {
    // Outlook, Thunderbird or Apple Mail without its privacy protection load the pixel from the reader's own network,
    // the one their clicks come from: past SANDBOX_AFTER_DELIVERY_MS that is no sandbox's.
    const opened = GMAIL_DEFAULT_UNDO_SEND_MS + SANDBOX_AFTER_DELIVERY_MS + 1;
    expect(judged([openOf(opened, "reader"), clickOf(opened + 20_000, 0, "reader"), clickOf(opened + 20_600, 1, "reader")])).toEqual([
      "human",
      "human",
      "human",
    ]);
    // A scanner's click from that network does not take the open with it either.
    expect(judged([openOf(opened, "reader"), clickOf(opened + 1_000, 0, "reader", "scanner")])).toEqual(["human", "scanner"]);
    // At the limit, it is judged as a sandbox's.
    const sooner = opened - 1;
    expect(judged([openOf(sooner, "reader"), clickOf(sooner + 1_000, 0, "reader", "scanner")])).toEqual(["scanner", "scanner"]);
  });
});

describe("labels from the message's context", () => {
  it("labels hits before the send time as the sender's, even when registration comes later", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const sentAt = Date.now();
    await hitAt(account, id, sentAt - 5_000);
    await hitAt(account, id, sentAt + MINUTE);
    expect(await labelsOf(id)).toEqual(["human", "human"]);
    await account.json("PUT", `/api/messages/${id}`, registration({ sentAt: new Date(sentAt).toISOString() }));
    expect(await labelsOf(id)).toEqual(["sender", "human"]);
  });

  it("stores hits with what their message and the sender's views say of them from the insert on, before the relabelling that follows it", async () => {
    // The relabelling is the consumer's next D1 call; until it, a reader saw the insert's labels. Here it fails, so
    // what stays is what the insert wrote. Stored with their request labels, all three hits counted until then (an
    // end-to-end test of a scheduled send once saw its preview's open counted).
    const account = await createAccount();
    const now = Date.now();
    const scheduled = await sentMessage(account, { sentAt: new Date(now + HOUR).toISOString() });
    const justSent = await sentMessage(account, {
      sentAt: new Date(now - 1_000).toISOString(),
      links: [{ index: 0, url: "https://example.com/" }],
    });
    const viewed = await sentMessage(account, { sentAt: new Date(now - HOUR).toISOString() });
    await account.json("POST", "/api/views", { messageIds: [viewed.id], threadIds: [] });
    const hits = [
      await hitMadeAt(account, scheduled.id, now),
      await hitMadeAt(account, justSent.id, now, "click", 0),
      await hitMadeAt(account, viewed.id, Date.now()),
    ];
    // Calls: the accounts, the messages and the sender's views (together), the insert, then the relabelling. (And
    // first, once an isolate, the check for rows to key, db/mailboxes.ts: done here.)
    await keyStoredMailboxesOnce(env.DB);
    const relabellingFails = new FlakyD1(env.DB, (call) => call === 4);
    await expect(storeHits(relabellingFails.asD1(), hits)).rejects.toThrow(TRANSIENT_D1_ERROR);
    expect(relabellingFails.calls).toBe(5);
    expect(await labelsOf(scheduled.id)).toEqual(["sender"]);
    expect(await labelsOf(justSent.id)).toEqual(["scanner"]);
    expect(await labelsOf(viewed.id)).toEqual(["sender"]);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${scheduled.id}`);
    expect(body.openCount).toBe(0);
  });

  it("takes the send time by the tracker's clock when the sender's clock is off", async () => {
    const account = await createAccount();
    const sentAt = Date.now() - MINUTE;
    const register = async (id: string, clockOff: number) => {
      // Both times by the sender's clock, `clockOff` from the tracker's.
      const sent = registration({
        sentAt: new Date(sentAt + clockOff).toISOString(),
        clockAt: new Date(Date.now() + clockOff).toISOString(),
      });
      expect((await account.json("PUT", `/api/messages/${id}`, sent)).status).toBe(200);
      const stored = await env.DB.prepare("SELECT sent_at FROM messages WHERE id = ?").bind(id).first<{ sent_at: number }>();
      return Math.abs((stored?.sent_at ?? 0) - sentAt);
    };
    // A clock five minutes fast: the reader's open half a minute after the send is not taken for the sender's.
    const fast = await mintTrackingId(account.key);
    await hitAt(account, fast, sentAt + 30_000);
    expect(await register(fast, 5 * MINUTE)).toBeLessThan(1_000);
    expect(await labelsOf(fast)).toEqual(["human"]);
    // A clock five minutes slow: a link scanner's click on delivery is still a scanner's.
    const slow = await mintTrackingId(account.key);
    await hitAt(account, slow, sentAt + 2_000, "click", 0);
    expect(await register(slow, -5 * MINUTE)).toBeLessThan(1_000);
    expect(await labelsOf(slow)).toEqual(["scanner"]);
    // A scheduled send: a send time ahead of both clocks stays ahead.
    const scheduled = await mintTrackingId(account.key);
    const later = registration({ sentAt: new Date(Date.now() + HOUR).toISOString(), clockAt: new Date().toISOString() });
    expect((await account.json("PUT", `/api/messages/${scheduled}`, later)).status).toBe(200);
    const stored = await env.DB.prepare("SELECT sent_at FROM messages WHERE id = ?").bind(scheduled).first<{ sent_at: number }>();
    expect(stored?.sent_at).toBe(Date.parse(later.sentAt));
  });

  it("labels clicks seconds after delivery, which Gmail's default Undo Send holds 5 s past the send time, as a scanner's", async () => {
    const account = await createAccount();
    const sentAt = Date.now() - HOUR;
    const message = await sentMessage(account, {
      sentAt: new Date(sentAt).toISOString(),
      links: [{ index: 0, url: "https://example.com/" }],
    });
    const deliveredAt = sentAt + GMAIL_DEFAULT_UNDO_SEND_MS;
    await hitAt(account, message.id, deliveredAt + CLICK_AFTER_DELIVERY_SCANNER_MS - 1, "click", 0);
    await hitAt(account, message.id, deliveredAt + CLICK_AFTER_DELIVERY_SCANNER_MS, "click", 0);
    expect(await labelsOf(message.id)).toEqual(["scanner", "human"]);
  });

  it("labels every link of a message clicked within seconds as a scanner walking it", async () => {
    const account = await createAccount();
    const links = [0, 1, 2].map((index) => ({ index, url: `https://example.com/${index}` }));
    const message = await sentMessage(account, { links });
    const start = Date.now() - 600_000;
    for (const link of links) await hitAt(account, message.id, start + link.index * 1_000, "click", link.index);
    // A person clicking two of the three links, far apart, later on.
    await hitAt(account, message.id, start + 120_000, "click", 0);
    await hitAt(account, message.id, start + 120_000 + LINK_BURST_MS + 1_000, "click", 1);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner", "scanner", "human", "human"]);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect(body.clickCount).toBe(2);
    expect(body.links[2]).toMatchObject({ clicks: 0, otherClicks: [{ label: "scanner" }] });
  });

  it("labels two of five links clicked within a second, with no open before, as a scanner's; a reader's two clicks seconds apart as theirs", async () => {
    const account = await createAccount();
    const links = [0, 1, 2, 3, 4].map((index) => ({ index, url: `https://example.com/${index}` }));
    const sentAt = Date.now() - 6 * HOUR;
    const message = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    // A scanner on a network no list names, 40 s after delivery: links 0 and 1, 600 ms apart.
    await hitAt(account, message.id, sentAt + 40_000, "click", 0);
    await hitAt(account, message.id, sentAt + 40_600, "click", 1);
    // Hours later the reader opens the email and clicks two links, LINK_PAIR_MS and more apart.
    await hitAt(account, message.id, sentAt + 3 * HOUR, "open");
    await hitAt(account, message.id, sentAt + 3 * HOUR + 20_000, "click", 2);
    await hitAt(account, message.id, sentAt + 3 * HOUR + 20_000 + LINK_PAIR_MS + 500, "click", 3);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner", "human", "human", "human"]);
  });

  it("labels a reader's two links opened in new tabs a second apart as theirs: after an open soon after sending, or hours later with no open", async () => {
    const account = await createAccount();
    const links = [0, 1, 2].map((index) => ({ index, url: `https://example.com/${index}` }));
    const sentAt = Date.now() - 6 * HOUR;
    // On a call: opens two minutes after the send, then opens links 0 and 1 in tabs, 800 ms apart.
    const onCall = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    await hitAt(account, onCall.id, sentAt + 120_000, "open");
    await hitAt(account, onCall.id, sentAt + 150_000, "click", 0);
    await hitAt(account, onCall.id, sentAt + 150_800, "click", 1);
    expect(await labelsOf(onCall.id)).toEqual(["human", "human", "human"]);
    // Images blocked (no open), hours later: the same two quick clicks.
    const blocked = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    await hitAt(account, blocked.id, sentAt + 4 * HOUR, "click", 0);
    await hitAt(account, blocked.id, sentAt + 4 * HOUR + 800, "click", 1);
    expect(await labelsOf(blocked.id)).toEqual(["human", "human"]);
  });

  it("keeps a burst labelled scanner when a later click arrives at the edge of its time span", async () => {
    const account = await createAccount();
    const links = [0, 1].map((index) => ({ index, url: `https://example.com/${index}` }));
    const message = await sentMessage(account, { links });
    const start = Date.now() - 600_000;
    await hitAt(account, message.id, start, "click", 0);
    await hitAt(account, message.id, start + LINK_BURST_MS - 1_000, "click", 1);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner"]);
    // Only the second click of the burst is within the new one's reach (the span relabelled): relabelling it must
    // still see the first.
    await hitAt(account, message.id, start + LINK_BURST_MS - 1_000 + CLICK_REACH_MS - 500, "click", 1);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner", "human"]);
  });

  it("relabels a sandbox's open as a scanner's when a click from its network arrives up to a minute later, and the feed never releases it as a person's", async () => {
    // A sandbox on a network no list names loads the pixel, then follows link 0 a minute later and link 1 4 s after
    // that: every link within LINK_BURST_MS, a scanner's, which makes the open from its network one too.
    const account = await createAccount();
    const links = [0, 1].map((index) => ({ index, url: `https://example.com/${index}` }));
    const openedAt = Date.now();
    // Delivered 20 s before the sandbox's open.
    const message = await sentMessage(account, { links, sentAt: new Date(openedAt - GMAIL_DEFAULT_UNDO_SEND_MS - 20_000).toISOString() });
    const sandbox = { userAgent: CHROME_UA, address: "192.0.2.81", asn: 51167 };
    await hitFrom(account, message.id, sandbox, openedAt);
    await hitFrom(account, message.id, sandbox, openedAt + SAME_NETWORK_AS_SCANNER_MS - 1_000, 0);
    expect(await labelsOf(message.id)).toEqual(["human", "human"]);
    // Until the burst's last click may come, the open is not final: the feed holds it.
    const held = await eventsAfter(env.DB, account.accountId, 0, openedAt + SAME_NETWORK_AS_SCANNER_MS + LINK_BURST_MS - 1, 100);
    expect([...held.rows, ...held.ahead]).toEqual([]);
    await hitFrom(account, message.id, sandbox, openedAt + SAME_NETWORK_AS_SCANNER_MS + LINK_BURST_MS - 2_000, 1);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner", "scanner"]);
    const { rows } = await eventsAfter(env.DB, account.accountId, 0, openedAt + LABEL_FINAL_AFTER_MS + RELABEL_MARGIN_MS, 100);
    expect(rows.map((row) => [row.kind, row.label])).toEqual([["open", "scanner"]]);
  });

  it("keeps a sandbox's open a scanner's when a reader's open a minute later relabels the events around it", async () => {
    // Defender's sandbox follows the link, then renders the email; the reader opens it through Gmail a minute after.
    const account = await createAccount();
    const clickedAt = Date.now() - 600_000;
    const sentAt = new Date(clickedAt - GMAIL_DEFAULT_UNDO_SEND_MS - 20_000).toISOString();
    const message = await sentMessage(account, { links: [{ index: 0, url: "https://example.com/" }], sentAt });
    await hitFrom(account, message.id, DEFENDER_SANDBOX, clickedAt, 0);
    await hitFrom(account, message.id, DEFENDER_SANDBOX, clickedAt + SAME_NETWORK_AS_SCANNER_MS - 10_000);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner"]);
    // The reader's open is within reach of the sandbox's open, not of its click: relabelling must still read the click.
    const readerAt = clickedAt + SAME_NETWORK_AS_SCANNER_MS - 10_000 + CLICK_REACH_MS - 1_000;
    await hitFrom(account, message.id, { userAgent: GMAIL_PROXY_UA }, readerAt);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner", "gmail-proxy"]);
  });

  it("labels alike whether relabelled around new hits or as a whole message, with a scanner's open long before", async () => {
    // Relabelling around a hit reads the opens before its margins as stored; the whole message's, as labelled anew.
    const account = await createAccount();
    const links = [0, 1, 2].map((index) => ({ index, url: `https://example.com/${index}` }));
    const sentAt = Date.now() - HOUR;
    const { id, ...sent } = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    // Defender's sandbox opens it and follows link 0 on delivery; minutes later two of the three links are followed
    // 600 ms apart from another network.
    await hitFrom(account, id, DEFENDER_SANDBOX, sentAt + 20_000);
    await hitFrom(account, id, DEFENDER_SANDBOX, sentAt + 21_000, 0);
    const elsewhere = { userAgent: CHROME_UA, address: "203.0.113.90", asn: 7922 };
    await hitFrom(account, id, elsewhere, sentAt + 300_000, 0);
    await hitFrom(account, id, elsewhere, sentAt + 300_600, 1);
    const aroundHits = await labelsOf(id);
    expect(aroundHits.slice(0, 2)).toEqual(["scanner", "scanner"]);
    // The extension's outbox sends the registration again: every event is relabelled from the whole message.
    expect((await account.json("PUT", `/api/messages/${id}`, sent)).status).toBe(200);
    expect(await labelsOf(id)).toEqual(aroundHits);
  });

  it("labels a hit after a sender-view report as the sender's", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    expect((await account.json<{ recorded: number }>("POST", "/api/views", { messageIds: [message.id] })).body.recorded).toBe(1);
    await openPixel(message.id, { "user-agent": GMAIL_PROXY_UA });
    await waitForEvents(message.id, 1);
    expect(await labelsOf(message.id)).toEqual(["sender"]);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect(body.openCount).toBe(0);
  });

  it("relabels a hit that arrived before the sender-view report, found by thread id", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-sender-late" });
    await openPixel(message.id, { "user-agent": GMAIL_PROXY_UA });
    await waitForEvents(message.id, 1);
    expect(await labelsOf(message.id)).toEqual(["gmail-proxy"]);
    expect((await account.json<{ recorded: number }>("POST", "/api/views", { threadIds: ["t-sender-late"] })).body.recorded).toBe(1);
    expect(await labelsOf(message.id)).toEqual(["sender"]);
  });

  it("accepts a view report for a message not registered yet", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    await account.json("POST", "/api/views", { messageIds: [id] });
    await openPixel(id, { "user-agent": GMAIL_PROXY_UA });
    await waitForEvents(id, 1);
    expect(await labelsOf(id)).toEqual(["sender"]);
  });

  it("in the sender window, takes proxied opens and hits from the sender's own address for the sender's, not a recipient's direct click", async () => {
    const account = await createAccount();
    const url = "https://example.com/pricing";
    const message = await sentMessage(account, { links: [{ index: 0, url }], sentAt: new Date(Date.now() - 600_000).toISOString() });
    const senderAddress = "198.51.100.20";
    const report = await account.api("/api/views", {
      method: "POST",
      headers: { "cf-connecting-ip": senderAddress },
      body: JSON.stringify({ messageIds: [message.id] }),
    });
    expect(report.status).toBe(200);
    // A recipient clicks from their own network while the sender happens to have the thread open.
    await clickLink(account, message.id, 0, url, { headers: { "user-agent": CHROME_UA, "cf-connecting-ip": "203.0.113.50" } });
    await waitForEvents(message.id, 1);
    // The sender clicks their own link, from the browser that sent the report.
    await clickLink(account, message.id, 0, url, { headers: { "user-agent": CHROME_UA, "cf-connecting-ip": senderAddress } });
    await waitForEvents(message.id, 2);
    // Google's proxy fetches for sender and recipient alike: a proxied open in the window stays the sender's.
    await openPixel(message.id, { "user-agent": GMAIL_PROXY_UA, "cf-connecting-ip": "66.249.84.1" });
    await waitForEvents(message.id, 3);
    expect(await labelsOf(message.id)).toEqual(["human", "sender", "sender"]);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect([body.clickCount, body.openCount]).toEqual([1, 0]);
  });

  it("keeps a recipient's link burst labelled scanner when a sender view's window takes in only part of it", async () => {
    const account = await createAccount();
    const links = [0, 1].map((index) => ({ index, url: `https://example.com/${index}` }));
    const message = await sentMessage(account, { links, sentAt: new Date(Date.now() - 600_000).toISOString() });
    const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
    const clickFrom = async (address: string, occurredAt: number, linkIndex: number) => {
      const request = new Request(`${BASE}/c/${message.id}/${linkIndex}`, {
        headers: { "user-agent": CHROME_UA, "cf-connecting-ip": address },
      });
      await storeHits(env.DB, [
        await hitFromRequest(
          request,
          { accountId: account.accountId, messageId: message.id, accountKey, kind: "click", linkIndex },
          occurredAt,
        ),
      ]);
    };
    // A scanner at the recipient's address walks both links, 3 s apart, about a minute from now.
    const now = Date.now();
    await clickFrom("203.0.113.50", now + SENDER_WINDOW_MS - 1_000, 0);
    await clickFrom("203.0.113.50", now + SENDER_WINDOW_MS + 2_000, 1);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner"]);
    // The sender views the message from another address: the window reaches the first click only.
    const report = await account.api("/api/views", {
      method: "POST",
      headers: { "cf-connecting-ip": "198.51.100.20" },
      body: JSON.stringify({ messageIds: [message.id] }),
    });
    expect(report.status).toBe(200);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner"]);
  });

  it("judges clicks by the open before them as relabelled: a proxied open that a view report makes the sender's no longer vouches for a link pair", async () => {
    const account = await createAccount();
    const links = [0, 1, 2].map((index) => ({ index, url: `https://example.com/${index}` }));
    // The view report below comes 70 s after the send.
    const sentAt = Date.now() - 70_000;
    const message = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
    const hitFrom = async (headers: Record<string, string>, occurredAt: number, kind: "open" | "click", linkIndex: number | null) => {
      const request = new Request(`${BASE}/o/${message.id}.gif`, { headers });
      const target = { accountId: account.accountId, messageId: message.id, accountKey, kind, linkIndex };
      await storeHits(env.DB, [await hitFromRequest(request, target, occurredAt)]);
    };
    // The sender previews the email through Google's proxy 20 s after sending; a scanner at the recipient's address
    // follows links 0 and 1 a second apart, 10 s later.
    await hitFrom({ "user-agent": GMAIL_PROXY_UA }, sentAt + 20_000, "open", null);
    const scanner = { "user-agent": CHROME_UA, "cf-connecting-ip": "203.0.113.50" };
    await hitFrom(scanner, sentAt + 30_000, "click", 0);
    await hitFrom(scanner, sentAt + 31_000, "click", 1);
    // Until the report, the open counts, so the two clicks after it look like a reader's.
    expect(await labelsOf(message.id)).toEqual(["gmail-proxy", "human", "human"]);
    const report = await account.api("/api/views", {
      method: "POST",
      headers: { "cf-connecting-ip": "198.51.100.20" },
      body: JSON.stringify({ messageIds: [message.id] }),
    });
    expect(report.status).toBe(200);
    expect(await labelsOf(message.id)).toEqual(["sender", "scanner", "scanner"]);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect([body.openCount, body.clickCount]).toEqual([0, 0]);
  });

  it("settles on the labels a relabelling from scratch gives when a view report lands between a relabelling's reads and its writes", async () => {
    const account = await createAccount();
    const links = [0, 1, 2].map((index) => ({ index, url: `https://example.com/${index}` }));
    const sentAt = Date.now() - 70_000;
    const message = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
    const hit = (headers: Record<string, string>, occurredAt: number, kind: "open" | "click", linkIndex: number | null) =>
      hitFromRequest(
        new Request(`${BASE}/o/${message.id}.gif`, { headers }),
        { accountId: account.accountId, messageId: message.id, accountKey, kind, linkIndex },
        occurredAt,
      );
    // A scanner at the recipient's address follows links 0 and 1 a second apart, with no open before: a scanner's.
    const scanner = { "user-agent": CHROME_UA, "cf-connecting-ip": "203.0.113.50" };
    await storeHits(env.DB, [await hit(scanner, sentAt + 30_000, "click", 0)]);
    await storeHits(env.DB, [await hit(scanner, sentAt + 31_000, "click", 1)]);
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner"]);
    // The sender's preview through Google's proxy, 20 s after sending, arrives late: by itself it vouches for the pair.
    // The sender's view report lands after the consumer read the events to relabel and before it writes their labels.
    const viewReport = () =>
      account.api("/api/views", {
        method: "POST",
        headers: { "cf-connecting-ip": "198.51.100.20" },
        body: JSON.stringify({ messageIds: [message.id] }),
      });
    const racing = d1WithWriteBeforeBatchOf(env.DB, /^UPDATE events SET label/, async () => expect((await viewReport()).status).toBe(200));
    await storeHits(racing, [await hit({ "user-agent": GMAIL_PROXY_UA }, sentAt + 20_000, "open", null)]);
    // As if the report had come first, or after: the open is the sender's and vouches for nothing.
    expect(await labelsOf(message.id)).toEqual(["scanner", "scanner", "sender"]);
    expect(await relabelMessages(env.DB, [message.id], Date.now())).toBe(0);
  });

  it("leaves hits outside the sender window alone", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const now = Date.now();
    await hitAt(account, message.id, now - SENDER_WINDOW_MS - 5_000);
    await hitAt(account, message.id, now - SENDER_WINDOW_MS + 5_000);
    await account.json("POST", "/api/views", { messageIds: [message.id] });
    expect(await labelsOf(message.id)).toEqual(["human", "sender"]);
  });

  it("keeps an open that a sender view made the sender's once the view is purged, when the registration comes again days later", async () => {
    const account = await createAccount();
    const sentAt = Date.now() - 10 * DAY;
    const { id, ...sent } = await sentMessage(account, { sentAt: new Date(sentAt).toISOString() });
    const viewedAt = sentAt + HOUR;
    await recordSenderViews(env.DB, [{ messageId: id, ipHash: null }], viewedAt);
    await hitAt(account, id, viewedAt + 5_000);
    await hitAt(account, id, viewedAt + 2 * SENDER_WINDOW_MS);
    expect(await labelsOf(id)).toEqual(["sender", "human"]);
    // Sender views are kept 7 days, and an open's address hash with them.
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now());
    expect(await env.DB.prepare("SELECT count(*) AS n FROM sender_views WHERE message_id = ?").bind(id).first("n")).toBe(0);
    // The extension's outbox sends the registration again: the send time and links are relabelled, the view is not undone.
    expect((await account.json("PUT", `/api/messages/${id}`, sent)).status).toBe(200);
    expect(await labelsOf(id)).toEqual(["sender", "human"]);
    expect((await account.json<MessageDetail>("GET", `/api/messages/${id}`)).body.openCount).toBe(1);
  });

  it("keeps a sandbox's open a scanner's once its address hash is cleared, when the registration comes again days later", async () => {
    const account = await createAccount();
    // Within the day before the purge's cutoff, which it reads whatever ran before.
    const sentAt = Date.now() - SENDER_VIEW_RETENTION_MS - HOUR;
    const links = [{ index: 0, url: "https://example.com/" }];
    const { id, ...sent } = await sentMessage(account, { links, sentAt: new Date(sentAt).toISOString() });
    await hitFrom(account, id, DEFENDER_SANDBOX, sentAt + 20_000);
    await hitFrom(account, id, DEFENDER_SANDBOX, sentAt + 21_000, 0);
    expect(await labelsOf(id)).toEqual(["scanner", "scanner"]);
    // An open's address hash is kept 7 days, with the sender's views.
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now());
    expect((await storedEvents(id)).map((row) => row.ip_hash === null)).toEqual([true, false]);
    expect((await account.json("PUT", `/api/messages/${id}`, sent)).status).toBe(200);
    expect(await labelsOf(id)).toEqual(["scanner", "scanner"]);
    expect((await account.json<MessageDetail>("GET", `/api/messages/${id}`)).body.openCount).toBe(0);
  });

  it("rejects malformed view reports", async () => {
    const account = await createAccount();
    expect((await account.json("POST", "/api/views", {})).status).toBe(400);
    expect((await account.json("POST", "/api/views", { messageIds: ["nope"] })).status).toBe(400);
  });
});

describe("GET /api/events", () => {
  it("returns each new event exactly once, in order, across pages", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { links: [{ index: 0, url: "https://example.com/" }] });
    for (let i = 0; i < 5; i++) await openPixel(message.id);
    await clickLink(account, message.id, 0, "https://example.com/");
    await openPixel(message.id, { "user-agent": "Mozilla/5.0" });
    await waitForEvents(message.id, 7);
    const seen: EventsResponse["events"] = [];
    let cursor = "0";
    for (let page = 0; page < 10; page++) {
      const { body } = await account.json<EventsResponse>("GET", `/api/events?after=${cursor}&limit=3`);
      if (body.events.length === 0) {
        expect(body.cursor).toBe(cursor);
        break;
      }
      seen.push(...body.events);
      cursor = body.cursor;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen.map((e) => e.cursor)).size).toBe(7);
    const cursors = seen.map((e) => Number(e.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    expect(seen[0]).toMatchObject({
      messageId: message.id,
      threadId: message.threadId,
      subject: message.subject,
      kind: "open",
      counted: true,
    });
    expect(seen.filter((e) => e.kind === "click")).toHaveLength(1);
    expect(seen.find((e) => e.label === "apple-mpp")?.counted).toBe(false);
    // More events later continue from the cursor without repeating.
    await openPixel(message.id);
    await waitForEvents(message.id, 8);
    const next = await account.json<EventsResponse>("GET", `/api/events?after=${cursor}`);
    expect(next.body.events).toHaveLength(1);
    expect(Number(next.body.events[0]?.cursor)).toBeGreaterThan(Number(cursor));
  });

  it("rejects bad cursors and limits", async () => {
    const account = await createAccount();
    for (const query of ["after=-1", "after=abc", "after=01", "limit=0", "limit=501", "limit=x"]) {
      expect((await account.json("GET", `/api/events?${query}`)).status).toBe(400);
    }
  });
});
