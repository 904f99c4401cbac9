// The one place that knows the extension's settings: defaults, the derived type, storage and migrations.
// Every context (background, content script, options page, popup) reads settings through here, so a default
// is never duplicated. Credentials are NOT settings: only the background reads or writes them (background/credential-store.ts).

import type Browser from "webextension-polyfill";
import { CAMPAIGN_NAME_MAX } from "../../shared/limits";
import { trimTrailingSlash } from "../../shared/protocol";
import { serialRunner } from "./serial";
import { browser } from "./web-ext";
import { outOfReachNotice } from "./words";

/** The tracker `npm start` runs; a fresh install points here until the user changes it. */
export const DEFAULT_TRACKER_URL = "http://127.0.0.1:8787";

export const DEFAULT_OPTIONS = {
  trackerUrl: DEFAULT_TRACKER_URL,
  /**
   * Trackers this browser was connected to before trackerUrl, oldest first (a tracker moved from workers.dev to its
   * own domain, scripts/deploy.mjs, or another tracker): the emails sent then carry their pixels and click links, which
   * are still this rep's wherever they show. The sender's own views of them are not opens, and a reply quoting one
   * carries none of its pixels or click links (trackerUrls).
   */
  earlierTrackerUrls: [] as string[],
  openTrackingByDefault: true,
  clickTrackingByDefault: true,
  /** Recipients at these domains (and their subdomains) are never tracked, e.g. one's own company. */
  excludedRecipientDomains: [] as string[],
  /** Links to these domains (and their subdomains) are never rewritten. */
  excludedLinkDomains: [] as string[],
  notifications: true,
  /** Each new email starts with the recipient opt-out link on (off by default: the rep turns it on per email). */
  optOutLinkByDefault: false,
  /**
   * The opt-out link's text, the rep's own words. It says what the link does: it stops the tracking, it does not
   * take the recipient off a mailing list (the tracker's page at the link says the same).
   */
  optOutText: "Don't track my opens and clicks",
  /** An email with no reply this many days after it was sent shows in the dashboard's "Needs a follow-up". */
  followUpDays: 3,
  /** Per-campaign waits that replace followUpDays for that campaign's emails (campaign name -> days). */
  followUpDaysByCampaign: {} as Record<string, number>,
  /** Logs every Gmail selector that stops matching, and each tracking decision, to the console. */
  debug: false,
  /**
   * Links are rewritten into click links even while the tracker is out of recipients' reach (outOfRecipientsReach),
   * where they do not open for them: for trying Mailtracker on this computer. Off, such links go out as written
   * (linksTracked).
   */
  trackLinksOutOfReach: false,
};

export type Options = typeof DEFAULT_OPTIONS;

/** Earlier trackers kept, at most: each is one more pattern every image and HTML string Gmail sets is tested against. */
const MAX_EARLIER_TRACKERS = 5;

/** The opt-out link's former default, saved with every setting: it promised an unsubscribe the link never did. */
const FORMER_OPT_OUT_TEXT = "Unsubscribe from these emails";

const OPTIONS_KEY = "options";
/**
 * Bumped with every change to the stored shape, a field added included; `migrate` brings older shapes forward. What
 * saveOptions stores is migrate's output, every field there and checked, so an object stored with this version is read
 * as it is where migrate is not at hand (savedOptions). 3: the same fields as 2, which gained fields without a bump
 * (an object stored as 2 may lack some) and kept the opt-out link's former default (FORMER_OPT_OUT_TEXT). 4:
 * trackLinksOutOfReach.
 */
export const OPTIONS_VERSION = 4;

interface StoredOptions extends Partial<Options> {
  version?: number;
  /** v1 had a single switch for both kinds of tracking. */
  trackByDefault?: boolean;
  /** v1 kept excluded domains as one comma-separated string. */
  excludedDomains?: string;
}

/** Brings any stored shape up to the current one; unknown or invalid fields fall back to defaults. */
export function migrate(stored: unknown): Options {
  const raw: StoredOptions = stored && typeof stored === "object" ? { ...(stored as StoredOptions) } : {};
  if ((raw.version ?? 1) < 2) {
    if (typeof raw.trackByDefault === "boolean") {
      raw.openTrackingByDefault ??= raw.trackByDefault;
      raw.clickTrackingByDefault ??= raw.trackByDefault;
    }
    if (typeof raw.excludedDomains === "string") raw.excludedRecipientDomains ??= parseDomainList(raw.excludedDomains);
  }
  const pickBool = (value: unknown, fallback: boolean) => (typeof value === "boolean" ? value : fallback);
  const pickDomains = (value: unknown) =>
    Array.isArray(value) ? normalizeDomains(value.filter((v): v is string => typeof v === "string")) : [];
  const trackerUrl = (typeof raw.trackerUrl === "string" && normalizeTrackerUrl(raw.trackerUrl)) || DEFAULT_TRACKER_URL;
  const earlier = Array.isArray(raw.earlierTrackerUrls)
    ? raw.earlierTrackerUrls.map((v) => typeof v === "string" && normalizeTrackerUrl(v))
    : [];
  return {
    trackerUrl,
    earlierTrackerUrls: [...new Set(earlier)].filter((url): url is string => !!url && url !== trackerUrl).slice(-MAX_EARLIER_TRACKERS),
    openTrackingByDefault: pickBool(raw.openTrackingByDefault, DEFAULT_OPTIONS.openTrackingByDefault),
    clickTrackingByDefault: pickBool(raw.clickTrackingByDefault, DEFAULT_OPTIONS.clickTrackingByDefault),
    excludedRecipientDomains: pickDomains(raw.excludedRecipientDomains),
    excludedLinkDomains: pickDomains(raw.excludedLinkDomains),
    notifications: pickBool(raw.notifications, DEFAULT_OPTIONS.notifications),
    optOutLinkByDefault: pickBool(raw.optOutLinkByDefault, DEFAULT_OPTIONS.optOutLinkByDefault),
    optOutText:
      typeof raw.optOutText === "string" && raw.optOutText.trim() && raw.optOutText.trim() !== FORMER_OPT_OUT_TEXT
        ? raw.optOutText.trim().slice(0, 200)
        : DEFAULT_OPTIONS.optOutText,
    followUpDays: pickDays(raw.followUpDays) ?? DEFAULT_OPTIONS.followUpDays,
    followUpDaysByCampaign: pickCampaignDays(raw.followUpDaysByCampaign),
    debug: pickBool(raw.debug, DEFAULT_OPTIONS.debug),
    trackLinksOutOfReach: pickBool(raw.trackLinksOutOfReach, DEFAULT_OPTIONS.trackLinksOutOfReach),
  };
}

/** Every tracker whose pixels and click links are this rep's: the current one first, then the earlier ones. */
export function trackerUrls(options: Options): string[] {
  return [options.trackerUrl, ...options.earlierTrackerUrls];
}

/**
 * The changes to `options` once connected to `trackerUrl`: the tracker connected before is kept among the earlier ones,
 * since the emails sent with it carry its pixels and links. A fresh install's default (`npm start`'s local tracker) sent
 * nothing a reader could load, so it is not kept.
 */
export function withTracker(options: Options, trackerUrl: string): Partial<Options> {
  const before = options.trackerUrl;
  const kept = before !== trackerUrl && before !== DEFAULT_TRACKER_URL ? [before] : [];
  return { trackerUrl, earlierTrackerUrls: [...options.earlierTrackerUrls, ...kept] };
}

/** A whole number of days from 1 to 365, or undefined. */
export function pickDays(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 365 ? n : undefined;
}

/** Per-campaign waits kept, at most. */
const MAX_CAMPAIGN_WAITS = 200;

function pickCampaignDays(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!value || typeof value !== "object") return out;
  for (const [name, days] of Object.entries(value).slice(0, MAX_CAMPAIGN_WAITS)) {
    const picked = pickDays(days);
    if (name.trim() && picked !== undefined) out[name.trim().slice(0, CAMPAIGN_NAME_MAX)] = picked;
  }
  return out;
}

/** "acme.com, @Sales.Acme.com\nfoo.org" -> ["acme.com", "sales.acme.com", "foo.org"]; what is not a domain is left out. */
export function parseDomainList(text: string): string[] {
  return normalizeDomains(text.split(/[\s,;]+/));
}

function normalizeDomains(list: string[]): string[] {
  const out = new Set<string>();
  for (const item of list) {
    const domain = domainOf(item);
    if (domain) out.add(domain);
  }
  return [...out];
}

/** The domain one entry of a domain list stands for, or null when it is none. */
function domainOf(item: string): string | null {
  // A link pasted whole ("https://calendly.com/rep") stands for its host: scheme, path, query and port go.
  const host = item
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
    .replace(/[/?#].*$/, "")
    .replace(/:\d*$/, "");
  const domain = host.replace(/^@/, "").replace(/^\*\./, "").replace(/\.$/, "");
  return /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(domain) ? domain : null;
}

/**
 * What the rep typed into one of the options page's fields, read: the value to save, or, when any part of it was not
 * understood, what in words (the page then saves nothing of the field and keeps the rep's text to correct).
 */
export type ReadField<T> = { value: T; problems?: undefined } | { value?: undefined; problems: string[] };

function readOut<T>(value: T, problems: string[]): ReadField<T> {
  return problems.length > 0 ? { problems } : { value };
}

/**
 * A domain list as the rep typed it (parseDomainList), each entry that is not a domain named. An email address is
 * refused, not taken as its domain: "bob@acme.com" in "never track" asks about one person, and acme.com would stop
 * the tracking of everyone there, perhaps the rep's whole customer.
 */
export function readDomainList(text: string): ReadField<string[]> {
  const domains = new Set<string>();
  const problems: string[] = [];
  for (const item of text.split(/[\s,;]+/).filter((entry) => entry !== "")) {
    const domain = domainOf(item);
    const at = item.lastIndexOf("@");
    const addressDomain = at > 0 ? domainOf(item.slice(at + 1)) : null;
    if (domain) domains.add(domain);
    else if (addressDomain) problems.push(`"${item}" is an email address, not a domain: its domain is ${addressDomain}`);
    else problems.push(`"${item}" is not a domain`);
  }
  return readOut([...domains], problems);
}

/** The follow-up wait as typed: a whole number of days from 1 to 365. */
export function readDays(text: string): ReadField<number> {
  const days = pickDays(text);
  if (days !== undefined) return { value: days };
  return {
    problems: [
      text.trim() ? `"${text.trim()}" is not a whole number of days from 1 to 365` : "a whole number of days from 1 to 365 is needed",
    ],
  };
}

/** "Webinar: 5" lines, one per campaign, as typed: each line not understood is named with what it lacks. */
export function readCampaignDays(text: string): ReadField<Record<string, number>> {
  // A Map, not an object: a campaign named "constructor" or "__proto__" is a campaign like any other.
  const out = new Map<string, number>();
  const problems: string[] = [];
  const lines = text.split("\n").map((line) => line.trim());
  for (const line of lines.filter((l) => l !== "")) {
    const at = line.lastIndexOf(":");
    const name = line.slice(0, Math.max(at, 0)).trim();
    const days = pickDays(line.slice(at + 1).trim());
    if (at < 0) problems.push(`"${line}" has no colon: write "Campaign: days", e.g. "Webinar: 5"`);
    else if (!name) problems.push(`"${line}" names no campaign before the colon`);
    else if (name.length > CAMPAIGN_NAME_MAX) problems.push(`"${line}": a campaign name has at most ${CAMPAIGN_NAME_MAX} characters`);
    else if (days === undefined) problems.push(`"${line}": the wait is a whole number of days from 1 to 365`);
    else if (out.has(name)) problems.push(`"${name}" is given twice: keep one line for it`);
    else out.set(name, days);
  }
  if (out.size > MAX_CAMPAIGN_WAITS) problems.push(`at most ${MAX_CAMPAIGN_WAITS} campaigns have a wait of their own`);
  return readOut(Object.fromEntries(out), problems);
}

/**
 * IPv4 ranges no recipient reaches, as [first address, prefix length]: 0/8 "this network" (RFC 1122 3.2.1.3, 0.0.0.0
 * among them), 10/8, 172.16/12 and 192.168/16 (RFC 1918), CGNAT's 100.64/10 (RFC 6598; Tailscale gives its machines
 * addresses there, tailscale.com/kb/1015/100.x-addresses), loopback 127/8 (RFC 1122) and link-local 169.254/16
 * (RFC 3927).
 */
const PRIVATE_IPV4 = (
  [
    ["0.0.0.0", 8],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
  ] as const
).map(([first, bits]) => [ipv4Number(first) ?? 0, bits] as const);

/** A dotted IPv4 address as one 32-bit number, or null for anything else. */
function ipv4Number(address: string): number | null {
  const octets = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  return octets ? octets.slice(1).reduce((n, octet) => n * 256 + Number(octet), 0) : null;
}

/** Whether the IPv4 address `n` is in PRIVATE_IPV4: its first `bits` bits are the range's. */
const privateIpv4 = (n: number): boolean => PRIVATE_IPV4.some(([first, bits]) => (n ^ first) >>> (32 - bits) === 0);

/**
 * Whether `hostname`, as `new URL()` gives it, names this computer or a private network. URL parsing has done the
 * sorting: an IPv4 address in any spelling comes out dotted ("0x7f.1" is 127.0.0.1), names lowercase, and an IPv6
 * address compressed with its IPv4-mapped form in hex ([::ffff:10.0.0.1] is [::ffff:a00:1]): the URL Standard's IPv4
 * and IPv6 serializers (url.spec.whatwg.org, "Host serializing"), seen so in Node 22, Chromium 156 and Firefox ESR 153,
 * 2026-12-07.
 */
function privateHost(hostname: string): boolean {
  const host = hostname.replace(/\.$/, "");
  const v4 = ipv4Number(host);
  if (v4 !== null) return privateIpv4(v4);
  if (host.startsWith("[")) {
    // IPv4-mapped (RFC 4291 2.5.5.2): the IPv4 address's ranges.
    const mapped = /^\[::ffff:([\da-f]+):([\da-f]+)\]$/.exec(host);
    if (mapped) return privateIpv4(Number.parseInt(mapped[1] ?? "", 16) * 65536 + Number.parseInt(mapped[2] ?? "", 16));
    // The first 16 bits, 0 when compressed away ("[::1]"): loopback ::1 and unspecified :: (RFC 4291 2.5.3, 2.5.2),
    // unique-local fc00::/7 (RFC 4193) and link-local fe80::/10 (RFC 4291 2.5.6).
    const first = Number.parseInt(host.slice(1), 16) || 0;
    return host === "[::1]" || host === "[::]" || (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
  }
  // A name of one label ("localhost", "mybox") is looked up on the local network only: public DNS names have a dot.
  // Special-use names: .localhost (RFC 6761 6.3), .local (mDNS, RFC 6762), .home.arpa (RFC 8375), .internal (reserved
  // by ICANN for private use, 2024-07-29), and a tailnet's names (tailnetName). A machine Tailscale Funnel publishes
  // is reachable all the same (tailnetTracker): only the rep knows whether it is, and says so (trackLinksOutOfReach).
  return !host.includes(".") || /\.(localhost|local|home\.arpa|internal)$/.test(host) || tailnetName(host);
}

/**
 * Whether `host` is a Tailscale MagicDNS name, under .ts.net (a trailing dot or not), which only the tailnet resolves
 * (tailscale.com/kb/1081/magicdns, read 2026-12-07).
 */
function tailnetName(host: string): boolean {
  return /\.ts\.net\.?$/.test(host);
}

/**
 * Whether the tracker at `trackerUrl` has a tailnet's name (tailnetName), which recipients reach once Tailscale Funnel
 * publishes it: Funnel sets up public DNS records for the name, pointing at Tailscale's relays, which pass the
 * connections on to the machine (tailscale.com/kb/1223/tailscale-funnel, "How it works", read 2026-12-07). Whether it
 * is published, nothing here can tell: the words say "unless" (words.ts outOfReachNotice), and the option to track its
 * links is offered as "published with Funnel" (options page).
 */
export function tailnetTracker(trackerUrl: string): boolean {
  return URL.canParse(trackerUrl) && tailnetName(new URL(trackerUrl).hostname);
}

/**
 * Whether the tracker at `trackerUrl` is out of its recipients' reach: on the rep's own machine (`npm start`) or a
 * private network, where neither Gmail's image proxy nor a recipient's mail program or browser can reach it.
 */
export function outOfRecipientsReach(trackerUrl: string): boolean {
  return URL.canParse(trackerUrl) && privateHost(new URL(trackerUrl).hostname);
}

/**
 * Whether an email sent through the tracker at `trackerUrl` carries links to it (its click links, its opt-out link):
 * not while recipients cannot reach it, since those links would not open for them and the email would be broken,
 * unless the rep asked for them all the same (trackLinksOutOfReach). Its pixel still goes: one that fails to load
 * shows nothing (rewrite.ts applyTracking).
 */
export function linksTracked(trackerUrl: string, options: Options): boolean {
  return options.trackLinksOutOfReach || !outOfRecipientsReach(trackerUrl);
}

/**
 * What tracking through the tracker at `trackerUrl` costs, when it costs something (words.ts outOfReachNotice): said by
 * the popup, the options page and every compose window.
 */
export const trackerNotice = (trackerUrl: string, options: Options): string | null =>
  outOfRecipientsReach(trackerUrl) ? outOfReachNotice(trackerUrl, linksTracked(trackerUrl, options), tailnetTracker(trackerUrl)) : null;

/**
 * An http(s) origin with an optional path prefix and no trailing slash, or null. An address typed without a scheme
 * ("127.0.0.1:8787", "track.example.com") gets http:// for a local host and https:// for any other, and for a
 * Tailscale MagicDNS name (tailnetName) with no port or 443: `tailscale serve` and Funnel publish one over HTTPS, by
 * default on port 443, with the tailnet's certificate for that name (tailscale.com/docs/reference/tailscale-cli/serve
 * and tailscale.com/kb/1312/serve, "Serve requires you to enable HTTPS certificates"; read 2026-12-07). With another
 * port ("box.tailnet.ts.net:8787") it is most likely the tracker itself reached over the tailnet, plain http.
 */
export function normalizeTrackerUrl(text: string): string | null {
  let trimmed = text.trim();
  if (trimmed && !/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    const typed = `http://${trimmed}`;
    const served = (url: URL) => tailnetName(url.hostname) && (url.port === "" || url.port === "443");
    trimmed = `${outOfRecipientsReach(typed) && !served(new URL(typed)) ? "http" : "https"}://${trimmed}`;
  }
  if (!URL.canParse(trimmed)) return null;
  const url = new URL(trimmed);
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.search || url.hash || url.username || url.password) return null;
  return trimTrailingSlash(`${url.origin}${url.pathname}`);
}

/**
 * Whether the extension may reach `pattern`'s hosts: the rep can take that away (Chrome's "Site access", Firefox's add-on
 * permissions), and the browser then refuses its requests like a network failure. True when the browser cannot say
 * (no permissions API where this runs).
 */
export async function hasHostAccess(pattern: string): Promise<boolean> {
  try {
    return await browser.permissions.contains({ origins: [pattern] });
  } catch {
    return true;
  }
}

/**
 * The match pattern that grants the tracker's host, on any port (none given, a pattern matches every port: Chrome's
 * "Match patterns", read 2026-12-07). An IPv6 host keeps its brackets, "http://[fd12::1]/*": Chromium 156 and Firefox
 * ESR 153 take it and grant fetches to that address (seen 2026-12-07: test/e2e/ipv6-tracker.e2e.test.ts).
 */
export function trackerHostPattern(trackerUrl: string): string {
  const url = new URL(trackerUrl);
  return `${url.protocol}//${url.hostname}/*`;
}

/** Whether the extension may reach the tracker at `trackerUrl` (hasHostAccess). */
export function trackerAccessGranted(trackerUrl: string): Promise<boolean> {
  return hasHostAccess(trackerHostPattern(trackerUrl));
}

/** Whether `host` is one of `domains` or a subdomain of one. */
export function hostMatchesDomains(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return domains.some((d) => h === d || h.endsWith(`.${d}`));
}

export async function loadOptions(): Promise<Options> {
  const stored = await browser.storage.local.get(OPTIONS_KEY);
  return migrate(stored[OPTIONS_KEY]);
}

/**
 * Options as saveOptions stored them (OPTIONS_VERSION), or null for anything else: nothing stored, or an older shape,
 * which only `migrate` reads. The Gmail content script reads them so, and leaves `migrate` to the background: it
 * cost that script about 1 KB of its 30 KiB gzipped (docs/benchmarks.md).
 */
export function savedOptions(stored: unknown): Options | null {
  return stored && typeof stored === "object" && (stored as StoredOptions).version === OPTIONS_VERSION ? (stored as Options) : null;
}

/**
 * The options without `migrate`: as saved (savedOptions), else from `migrated`, which asks the background (its
 * loadOptions). The background stores older shapes anew when it starts (storeInCurrentShape), so that is rare: a fresh
 * install not connected yet, or a tab that starts before the background after an update.
 */
export async function loadSavedOptions(migrated: () => Promise<Options>): Promise<Options> {
  const stored = await browser.storage.local.get(OPTIONS_KEY);
  return savedOptions(stored[OPTIONS_KEY]) ?? migrated();
}

/**
 * onOptionsChanged without `migrate` (loadSavedOptions). An answer of `migrated` that comes after a later change is
 * dropped, so options never go back to older ones; one that fails is `failed`'s.
 */
export function onSavedOptionsChanged(
  listener: (options: Options) => void,
  migrated: () => Promise<Options>,
  failed: (error: unknown) => void,
): void {
  let changes = 0;
  browser.storage.onChanged.addListener((changed, area) => {
    if (area !== "local" || !(OPTIONS_KEY in changed)) return;
    const change = ++changes;
    const saved = savedOptions(changed[OPTIONS_KEY]?.newValue);
    if (saved) listener(saved);
    else
      migrated().then((options) => {
        if (change === changes) listener(options);
      }, failed);
  });
}

/** Saves run in turn: two changes made at once (one field, then the next) both stay. */
const oneSave = /* @__PURE__ */ serialRunner();

/**
 * Stores options kept in an older shape in the current one (`migrate`'s output), so that savedOptions reads them; run
 * as the background starts. Nothing stored stays so: the defaults are read for it, today's and tomorrow's.
 */
export function storeInCurrentShape(): Promise<void> {
  return oneSave(async () => {
    const stored = (await browser.storage.local.get(OPTIONS_KEY))[OPTIONS_KEY];
    if (stored === undefined || stored === null || savedOptions(stored)) return;
    await browser.storage.local.set({ [OPTIONS_KEY]: { ...migrate(stored), version: OPTIONS_VERSION } });
  });
}

export function saveOptions(changes: Partial<Options>): Promise<Options> {
  return oneSave(async () => {
    const next = migrate({ ...(await loadOptions()), ...changes, version: OPTIONS_VERSION });
    await browser.storage.local.set({ [OPTIONS_KEY]: { ...next, version: OPTIONS_VERSION } });
    return next;
  });
}

/** Calls `listener` with fresh options whenever they change in any context. */
export function onOptionsChanged(listener: (options: Options) => void, signal?: AbortSignal): void {
  const handler = (changes: Record<string, Browser.Storage.StorageChange>, area: string) => {
    if (area === "local" && OPTIONS_KEY in changes) listener(migrate(changes[OPTIONS_KEY]?.newValue));
  };
  browser.storage.onChanged.addListener(handler);
  signal?.addEventListener("abort", () => browser.storage.onChanged.removeListener(handler), { once: true });
}
