// A labelled corpus of hits on tracked emails: what reaches a tracker in the real world, and what each hit really
// is. It is a model built from dated public evidence (cited at each kind of hit), not a capture: the user agents,
// networks and timings are the published ones; the addresses are documentation ranges (RFC 5737 / RFC 3849) except
// where a network's own range matters only by its ASN. Times are milliseconds after the email was sent.
//
// Truth:
//  - real: a person's mail client or browser showing the email or following a link (also through a privacy proxy
//    that fetches when the reader opens the email);
//  - machine: a fetch no person asked for (prefetch on delivery, link scanners, Office checking a link);
//  - sender: the sender's own view of the email (the extension reports it to the tracker).
// Cases no tracker can tell apart from the hits alone (a recipient's Gmail-proxied open inside the sender's own
// view window, a scanner that waits minutes and behaves like a reader) are left out: the figures are for the cases a
// careful tracker can get right.
import { HOUR, MINUTE } from "../../../test/durations";

export type Truth = "real" | "machine" | "sender";

export interface CorpusCf {
  asn?: number;
  asOrganization?: string;
  country?: string;
}

export interface CorpusHit {
  at: number;
  kind: "open" | "click";
  link?: number;
  userAgent: string;
  method?: "GET" | "HEAD";
  headers?: Record<string, string>;
  cf?: CorpusCf;
  /** The client address (sent as CF-Connecting-IP). */
  ip?: string;
  /** How long after the hit the queue consumer stores it (ms); default 400. */
  storeDelay?: number;
  truth: Truth;
}

export interface CorpusScenario {
  name: string;
  /** Links in the email (tracked). */
  links: number;
  /** When the extension's registration reaches the tracker (ms after sending); default 300. */
  registeredAt?: number;
  /** The sender's view reports: when they reach the tracker and the address they come from. */
  views?: { at: number; ip: string }[];
  hits: CorpusHit[];
}

// --- User agents, each with where it is documented ---------------------------------------------------------------

/** Google's image proxy, fetching when a Gmail user opens the email (Gmail blog, 2013-12-12; our notes). */
const GOOGLE_IMAGE_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
/** Gmail's prefetch of newly delivered mail, from Google IPs (SparkPost / Bird, "Gmail is Prefetching Images", 2022-01-25). */
const GMAIL_DELIVERY_PREFETCH =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0";
/** Google's link sampler on Gmail content (our notes, field.md). */
const GMAIL_CONTENT_SAMPLING = "Mozilla/5.0 (compatible; Gmail-content-sampling)";
/** Apple Mail Privacy Protection: exactly this (our notes; Litmus and others since 2021). */
const APPLE_MPP = "Mozilla/5.0";
/** Yahoo Mail's image proxy (help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html, named in its own user agent). */
const YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html";
/** HEY's image proxy, fetching images of emails HEY users view (hey.com/image-proxy). */
const HEY_PROXY =
  "hey.com/imageproxy Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36";
/** Outlook for Windows rendering an email (Word engine): a real open on the pixel, Office's own check on a link. */
const OUTLOOK_MS_OFFICE = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)";
const OUTLOOK_OFFICE_16 = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
const OUTLOOK_WORD = "Microsoft Office Word 2014";
/** Outlook.com in a browser: images fetched by Microsoft's service, browser-like user agent (public reports). */
const OUTLOOK_COM_FETCH =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CHROME_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const EDGE =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
/** iPhone Mail with Privacy Protection off, Apple Mail on a Mac, Thunderbird. */
const IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const APPLE_MAIL_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
const THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0";
const HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36";

// --- Networks (ASNs as registered) ---------------------------------------------------------------------------------

const GOOGLE = { asn: 15169, asOrganization: "Google LLC", country: "US" };
const MICROSOFT = { asn: 8075, asOrganization: "Microsoft Corporation", country: "US" };
const YAHOO = { asn: 36647, asOrganization: "Yahoo", country: "US" };
/** iCloud Private Relay egress partners, which carry Apple's MPP fetches (Apple's egress list). */
const RELAY = [
  { asn: 36183, asOrganization: "Akamai Technologies", country: "US" },
  { asn: 13335, asOrganization: "Cloudflare", country: "DE" },
  { asn: 54113, asOrganization: "Fastly", country: "GB" },
];
const RESIDENTIAL = [
  { asn: 7922, asOrganization: "Comcast Cable", country: "US" },
  { asn: 3320, asOrganization: "Deutsche Telekom AG", country: "DE" },
  { asn: 2856, asOrganization: "British Telecommunications PLC", country: "GB" },
  { asn: 701, asOrganization: "Verizon Business", country: "US" },
  { asn: 21928, asOrganization: "T-Mobile USA", country: "US" },
  { asn: 3215, asOrganization: "Orange", country: "FR" },
];
/** Mail-security vendors and clouds scanners run from (vendor documentation names their networks). */
const MIMECAST = { asn: 30031, asOrganization: "Mimecast", country: "GB" };
const PROOFPOINT = { asn: 22843, asOrganization: "Proofpoint", country: "US" };
const BARRACUDA = { asn: 15324, asOrganization: "Barracuda Networks", country: "US" };
const AWS = { asn: 16509, asOrganization: "Amazon.com", country: "US" };
/** Hosting networks no list of ours names: a scanner there is known by what it does, not where it is. */
const UNLISTED_HOSTING = [
  { asn: 51167, asOrganization: "Contabo GmbH", country: "DE" },
  { asn: 8560, asOrganization: "IONOS SE", country: "DE" },
  { asn: 45102, asOrganization: "Alibaba US Technology", country: "US" },
];

const SENDER_IP = "198.51.100.7";

/** Deterministic variety: the same corpus on every run. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function readerIp(i: number): string {
  return `203.0.113.${10 + (i % 200)}`;
}

function scannerIp(i: number): string {
  return `192.0.2.${10 + (i % 200)}`;
}

/** The corpus: a few hundred hits on some 150 emails. */
export function corpus(): CorpusScenario[] {
  const random = prng(20261122);
  const scenarios: CorpusScenario[] = [];
  const add = (name: string, scenario: Omit<CorpusScenario, "name">) => scenarios.push({ name, ...scenario });

  for (let i = 0; i < 12; i++) {
    // A Gmail recipient opens it (proxy), re-opens later; sometimes Gmail prefetched it on delivery while their
    // session was open (SparkPost: 1-6 % of Gmail opens; always within seconds, from Google's network).
    const firstOpen = (2 + random() * 180) * MINUTE;
    const hits: CorpusHit[] = [
      { at: firstOpen, kind: "open", userAgent: GOOGLE_IMAGE_PROXY, cf: GOOGLE, ip: "66.249.84.10", truth: "real" },
      {
        at: firstOpen + (1 + random() * 40) * HOUR,
        kind: "open",
        userAgent: GOOGLE_IMAGE_PROXY,
        cf: GOOGLE,
        ip: "66.249.84.11",
        truth: "real",
      },
    ];
    if (i % 2 === 0)
      hits.unshift({
        at: 1_500 + random() * 4_000,
        kind: "open",
        userAgent: GMAIL_DELIVERY_PREFETCH,
        cf: GOOGLE,
        ip: "66.249.84.12",
        truth: "machine",
      });
    add(`gmail reader ${i}`, { links: 0, hits });
  }

  for (let i = 0; i < 10; i++) {
    // Gmail's delivery prefetch, then nothing (the recipient never opened it), or Google's link sampler on a link.
    const hits: CorpusHit[] = [
      { at: 1_000 + random() * 5_000, kind: "open", userAgent: GMAIL_DELIVERY_PREFETCH, cf: GOOGLE, ip: "66.249.84.20", truth: "machine" },
    ];
    if (i % 2 === 1)
      hits.push({
        at: 3_000 + random() * 20_000,
        kind: "click",
        link: 0,
        userAgent: GMAIL_CONTENT_SAMPLING,
        cf: GOOGLE,
        ip: "66.249.84.21",
        truth: "machine",
      });
    add(`gmail prefetch only ${i}`, { links: 1, hits });
  }

  for (let i = 0; i < 12; i++) {
    // Apple Mail Privacy Protection fetches on arrival (and sometimes again later), whether or not anyone reads it.
    const relay = pick(random, RELAY);
    add(`apple mpp ${i}`, {
      links: 0,
      hits: [
        { at: (0.2 + random() * 20) * MINUTE, kind: "open", userAgent: APPLE_MPP, cf: relay, ip: scannerIp(i), truth: "machine" },
        { at: (3 + random() * 20) * HOUR, kind: "open", userAgent: APPLE_MPP, cf: relay, ip: scannerIp(i + 50), truth: "machine" },
      ],
    });
  }

  for (let i = 0; i < 10; i++) {
    // Outlook for Windows: the pixel (Word engine or ms-office user agent) is a real open. A link clicked in it is
    // first fetched by Office itself, then opened in the browser: the browser's request is the click.
    const net = pick(random, RESIDENTIAL);
    const open = (5 + random() * 300) * MINUTE;
    const click = open + (20 + random() * 200) * 1_000;
    add(`outlook desktop ${i}`, {
      links: 2,
      hits: [
        {
          at: open,
          kind: "open",
          userAgent: pick(random, [OUTLOOK_MS_OFFICE, OUTLOOK_OFFICE_16, OUTLOOK_WORD]),
          cf: net,
          ip: readerIp(i),
          truth: "real",
        },
        {
          at: click,
          kind: "click",
          link: i % 2,
          userAgent: pick(random, [OUTLOOK_MS_OFFICE, OUTLOOK_OFFICE_16]),
          cf: net,
          ip: readerIp(i),
          truth: "machine",
        },
        {
          at: click + 400 + random() * 800,
          kind: "click",
          link: i % 2,
          userAgent: pick(random, [EDGE, CHROME]),
          cf: net,
          ip: readerIp(i),
          truth: "real",
        },
      ],
    });
  }

  for (let i = 0; i < 8; i++) {
    // Outlook.com: images fetched through Microsoft's network when the reader opens the email. Microsoft's ASN also
    // carries Defender's scanners, so the network alone says nothing about an open.
    add(`outlook.com reader ${i}`, {
      links: 0,
      hits: [
        {
          at: (3 + random() * 600) * MINUTE,
          kind: "open",
          userAgent: OUTLOOK_COM_FETCH,
          cf: MICROSOFT,
          ip: `2001:db8:8075::${i + 1}`,
          truth: "real",
        },
      ],
    });
  }

  for (let i = 0; i < 8; i++) {
    // Yahoo and HEY proxy the images of an email when the reader opens it: real opens, the proxy as client.
    const yahoo = i % 2 === 0;
    add(`${yahoo ? "yahoo" : "hey"} reader ${i}`, {
      links: 0,
      hits: [
        {
          at: (2 + random() * 300) * MINUTE,
          kind: "open",
          userAgent: yahoo ? YAHOO_PROXY : HEY_PROXY,
          ...(yahoo ? { cf: YAHOO } : {}),
          ip: scannerIp(100 + i),
          truth: "real",
        },
      ],
    });
  }

  for (let i = 0; i < 12; i++) {
    // People in other clients: iPhone Mail with Privacy Protection off, Apple Mail, Thunderbird, then a click in
    // their browser, sometimes two links far apart, sometimes the same link again.
    const net = pick(random, RESIDENTIAL);
    const open = (1 + random() * 600) * MINUTE;
    const hits: CorpusHit[] = [
      {
        at: open,
        kind: "open",
        userAgent: pick(random, [IPHONE_MAIL, APPLE_MAIL_MAC, THUNDERBIRD]),
        cf: net,
        ip: readerIp(20 + i),
        truth: "real",
      },
      {
        at: open + (15 + random() * 120) * 1_000,
        kind: "click",
        link: 0,
        userAgent: pick(random, [SAFARI_IPHONE, CHROME_MAC, FIREFOX]),
        cf: net,
        ip: readerIp(20 + i),
        truth: "real",
      },
    ];
    if (i % 3 === 0)
      hits.push({ at: open + 10 * MINUTE, kind: "click", link: 1, userAgent: CHROME_MAC, cf: net, ip: readerIp(20 + i), truth: "real" });
    if (i % 3 === 1)
      hits.push({ at: open + 45 * MINUTE, kind: "click", link: 0, userAgent: CHROME_MAC, cf: net, ip: readerIp(20 + i), truth: "real" });
    add(`other client reader ${i}`, { links: 3, hits });
  }

  for (let i = 0; i < 8; i++) {
    // Images blocked (Outlook's default): a click with no open at all, minutes or hours after sending.
    const net = pick(random, RESIDENTIAL);
    add(`click without open ${i}`, {
      links: 4,
      hits: [
        {
          at: (3 + random() * 900) * MINUTE,
          kind: "click",
          link: i % 4,
          userAgent: pick(random, [CHROME, EDGE, FIREFOX]),
          cf: net,
          ip: readerIp(40 + i),
          truth: "real",
        },
      ],
    });
  }

  for (let i = 0; i < 4; i++) {
    // The prospect on a call: "I just sent it" — opens in Gmail within seconds and clicks right away.
    const open = 8_000 + random() * 10_000;
    add(`reader on a call ${i}`, {
      links: 2,
      hits: [
        { at: open, kind: "open", userAgent: GOOGLE_IMAGE_PROXY, cf: GOOGLE, ip: "66.249.84.30", truth: "real" },
        {
          at: open + 6_000 + random() * 10_000,
          kind: "click",
          link: 0,
          userAgent: CHROME,
          cf: pick(random, RESIDENTIAL),
          ip: readerIp(60 + i),
          truth: "real",
        },
      ],
    });
  }

  for (let i = 0; i < 10; i++) {
    // Microsoft Defender Safe Links and other gateways: every link (or the first few) within seconds of delivery,
    // headless or a current browser's user agent, from their own networks; no open before.
    const net = pick(random, [MICROSOFT, MIMECAST, PROOFPOINT, BARRACUDA, AWS]);
    const start = 2_000 + random() * 25_000;
    const links = 3 + (i % 3);
    const walked = i % 2 === 0 ? links : 2;
    const hits: CorpusHit[] = [];
    for (let link = 0; link < walked; link++) {
      hits.push({
        at: start + link * (100 + random() * 600),
        kind: "click",
        link,
        userAgent: pick(random, [CHROME, HEADLESS, EDGE]),
        cf: net,
        ip: scannerIp(20 + i),
        truth: "machine",
      });
    }
    add(`gateway scanner ${i}`, { links, hits });
  }

  for (let i = 0; i < 10; i++) {
    // A scanner that follows two or three of the links from a hosting network no list names, with a current
    // browser's user agent, within a second of each other, seconds to minutes after delivery, with no open.
    const net = pick(random, UNLISTED_HOSTING);
    const start = (15 + random() * 240) * 1_000;
    const walked = 2 + (i % 2);
    const hits: CorpusHit[] = [];
    for (let n = 0; n < walked; n++)
      hits.push({
        at: start + n * (150 + random() * 700),
        kind: "click",
        link: n,
        userAgent: pick(random, [CHROME, EDGE]),
        cf: net,
        ip: scannerIp(60 + i),
        truth: "machine",
      });
    // Half of these emails are then read by a person hours later.
    if (i % 2 === 0)
      hits.push({
        at: start + (2 + random() * 20) * HOUR,
        kind: "click",
        link: 1,
        userAgent: CHROME,
        cf: pick(random, RESIDENTIAL),
        ip: readerIp(80 + i),
        truth: "real",
      });
    add(`partial scanner ${i}`, { links: 5, hits });
  }

  for (let i = 0; i < 6; i++) {
    // A scanner's click seconds after sending, reported before the extension could register the email (it was
    // offline a moment): the send time arrives later, and must still make it a scanner's, never a notification.
    add(`early click, late registration ${i}`, {
      links: 1,
      registeredAt: (20 + random() * 100) * 1_000,
      hits: [
        {
          at: 2_000 + random() * 6_000,
          kind: "click",
          link: 0,
          userAgent: CHROME,
          cf: pick(random, UNLISTED_HOSTING),
          ip: scannerIp(90 + i),
          truth: "machine",
        },
      ],
    });
  }

  for (let i = 0; i < 6; i++) {
    // Headless browsers, empty or tool user agents, speculative prefetches.
    const ua = pick(random, [HEADLESS, "", "python-requests/2.32.3", "curl/8.5.0"]);
    add(`tool ${i}`, {
      links: 1,
      hits: [
        {
          at: (1 + random() * 60) * MINUTE,
          kind: "open",
          userAgent: ua,
          cf: pick(random, [AWS, ...UNLISTED_HOSTING]),
          ip: scannerIp(110 + i),
          truth: "machine",
        },
        {
          at: (2 + random() * 60) * MINUTE,
          kind: "open",
          userAgent: CHROME,
          headers: { "sec-purpose": "prefetch" },
          cf: pick(random, RESIDENTIAL),
          ip: readerIp(100 + i),
          truth: "machine",
        },
      ],
    });
  }

  for (let i = 0; i < 10; i++) {
    // The sender's own views: the extension reports the conversation as Gmail draws it (not again while it stays),
    // Gmail shows it through Google's proxy, the report and the hit race; the sender's phone (no extension) shows
    // it up to a minute before or after; a click on their own link from their own address.
    const view = (5 + random() * 600) * MINUTE;
    const hits: CorpusHit[] = [
      { at: view + 300 + random() * 1_500, kind: "open", userAgent: GOOGLE_IMAGE_PROXY, cf: GOOGLE, ip: "66.249.84.40", truth: "sender" },
    ];
    if (i % 3 === 0)
      hits.push({
        at: view - (20 + random() * 35) * 1_000,
        kind: "open",
        userAgent: GOOGLE_IMAGE_PROXY,
        cf: GOOGLE,
        ip: "66.249.84.41",
        truth: "sender",
      });
    if (i % 3 === 1)
      hits.push({
        at: view - (2 + random() * 10) * 1_000,
        kind: "open",
        userAgent: GOOGLE_IMAGE_PROXY,
        cf: GOOGLE,
        ip: "66.249.84.42",
        truth: "sender",
      });
    if (i % 3 === 2)
      hits.push({
        at: view + (5 + random() * 30) * 1_000,
        kind: "click",
        link: 0,
        userAgent: CHROME,
        cf: RESIDENTIAL[0],
        ip: SENDER_IP,
        truth: "sender",
      });
    // A recipient's own click in the same minute, from their address: theirs, not the sender's.
    if (i % 2 === 0)
      hits.push({
        at: view + (3 + random() * 40) * 1_000,
        kind: "click",
        link: 0,
        userAgent: FIREFOX,
        cf: pick(random, RESIDENTIAL),
        ip: readerIp(120 + i),
        truth: "real",
      });
    add(`sender views ${i}`, { links: 1, views: [{ at: view, ip: SENDER_IP }], hits });
  }

  for (let i = 0; i < 6; i++) {
    // The sender's compose window or an early look loads the pixel before the send time, sometimes before the
    // registration (which carries the send time) reaches the tracker.
    add(`before send ${i}`, {
      links: 0,
      registeredAt: i % 2 === 0 ? 300 : (30 + random() * 60) * 1_000,
      hits: [
        { at: -(5 + random() * 60) * 1_000, kind: "open", userAgent: GOOGLE_IMAGE_PROXY, cf: GOOGLE, ip: "66.249.84.50", truth: "sender" },
        { at: (30 + random() * 600) * MINUTE, kind: "open", userAgent: GOOGLE_IMAGE_PROXY, cf: GOOGLE, ip: "66.249.84.51", truth: "real" },
      ],
    });
  }

  for (let i = 0; i < 6; i++) {
    // Slow hits: the queue stores a real open several seconds late (a D1 hiccup), and a late-registered email
    // opened for real before its registration arrived.
    add(`slow storage ${i}`, {
      links: 0,
      ...(i % 2 === 1 ? { registeredAt: (2 + random() * 2) * MINUTE } : {}),
      hits: [
        {
          at: (1 + random() * 3) * MINUTE,
          kind: "open",
          userAgent: GOOGLE_IMAGE_PROXY,
          cf: GOOGLE,
          ip: "66.249.84.60",
          storeDelay: 2_000 + random() * 10_000,
          truth: "real",
        },
      ],
    });
  }
  for (let i = 0; i < 6; i++) {
    // People who open several links in new tabs (a middle or Ctrl click each), a second or less apart: one who
    // opened the email in Gmail minutes after it was sent, and one whose client blocks images (no open) hours later.
    const net = pick(random, RESIDENTIAL);
    const soon = i % 2 === 0;
    const open = (1 + random() * 5) * MINUTE;
    const firstClick = soon ? open + (20 + random() * 60) * 1_000 : (2 + random() * 30) * HOUR;
    const hits: CorpusHit[] = [0, 1].map((n) => ({
      at: firstClick + n * (300 + random() * 900),
      kind: "click",
      link: n,
      userAgent: pick(random, [CHROME, EDGE, FIREFOX]),
      cf: net,
      ip: readerIp(100 + i),
      truth: "real",
    }));
    if (soon) hits.unshift({ at: open, kind: "open", userAgent: GOOGLE_IMAGE_PROXY, cf: GOOGLE, ip: "66.249.84.70", truth: "real" });
    add(`links opened in tabs ${i}`, { links: 3, hits });
  }
  for (let i = 0; i < 6; i++) {
    // Microsoft Defender's sandbox renders the email on delivery with a current browser's user agent from Microsoft's
    // network, loading the pixel, and follows its links within seconds (Suped, "Why are we seeing automatic opens and
    // clicks on Office 365 hosted recipient domains?", 2025-08-06, updated 2026-05-24). Gmail delivers 5 s or more
    // after the send (its Undo Send hold). Half of these emails are then read for real in Outlook.com, whose image
    // fetches come from Microsoft's network too, from another address.
    const delivered = 5_000 + random() * 20_000;
    const sandbox = `2001:db8:8075:5a::${i + 1}`;
    const hits: CorpusHit[] = [0, 1].map((link) => ({
      at: delivered + 1_000 + link * (100 + random() * 600),
      kind: "click",
      link,
      userAgent: pick(random, [CHROME, EDGE]),
      cf: MICROSOFT,
      ip: sandbox,
      truth: "machine",
    }));
    // Before its link checks or after them.
    hits.push({ at: delivered + (i % 2 === 0 ? 0 : 3_000), kind: "open", userAgent: EDGE, cf: MICROSOFT, ip: sandbox, truth: "machine" });
    if (i % 2 === 0)
      hits.push({
        at: delivered + (1 + random() * 5) * HOUR,
        kind: "open",
        userAgent: OUTLOOK_COM_FETCH,
        cf: MICROSOFT,
        ip: `2001:db8:8075::${20 + i}`,
        truth: "real",
      });
    add(`defender sandbox ${i}`, { links: 3, hits });
  }
  return scenarios;
}
