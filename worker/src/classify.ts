// Labels for hits. Two stages, both pure functions:
//  1. requestLabel: what the request alone says (method, user agent, network, purpose headers), decided at the edge.
//  2. contextLabel: that label refined with what is known about the message later (send time, the sender's
//     view reports, every link clicked in a burst), re-run whenever that context changes. Nothing is deleted.
import { isbot } from "isbot";
import { COUNTED_LABELS, type EventKind, type EventLabel } from "../../shared/api";

export const GMAIL_PROXY_UA_MARK = "GoogleImageProxy";
/** Yahoo's image proxy fetches when the reader opens the email, like Google's: a real open. */
export const YAHOO_PROXY_UA_MARK = "YahooMailProxy";
/** Apple Mail Privacy Protection fetches with exactly this user agent. */
export const APPLE_MPP_USER_AGENT = "Mozilla/5.0";
/** A hit this close to a sender-view report (before or after) is the sender's own. */
export const SENDER_WINDOW_MS = 60_000;
/** Nobody reads an email and clicks a link this soon after it was sent; scanners do. */
export const CLICK_AFTER_SEND_SCANNER_MS = 10_000;
/** Every link of a message clicked within this span is a scanner walking the message. */
export const LINK_BURST_MS = 5_000;

/**
 * Networks of clouds and mail-security vendors, by autonomous system number. A human reader's mail client does
 * not fetch from these; link scanners and sandboxes do. Google's own ASN is absent: its image proxy is a real open.
 */
const DATACENTER_ASNS = new Set([
  8075, // Microsoft (Defender Safe Links, Exchange Online Protection)
  16509, // Amazon AWS
  14618, // Amazon AWS
  14061, // DigitalOcean
  16276, // OVH
  24940, // Hetzner
  63949, // Akamai Linode
  20473, // Vultr
  30031, // Mimecast
  22843, // Proofpoint
  26211, // Proofpoint
  15324, // Barracuda
  396982, // Google Cloud (GCP customers, not the image proxy)
]);

export interface RequestFacts {
  method: string;
  userAgent: string;
  asn: number | null;
  /** Purpose, Sec-Purpose, X-Purpose and X-Moz headers, lower-cased and joined. */
  purpose: string;
}

export function requestLabel(kind: EventKind, facts: RequestFacts): EventLabel {
  const ua = facts.userAgent.trim();
  if (facts.method === "HEAD") return "scanner";
  if (/\b(prefetch|preview|prerender)\b/.test(facts.purpose)) return "prefetch";
  if (kind === "open" && ua.includes(GMAIL_PROXY_UA_MARK)) return "gmail-proxy";
  if (kind === "open" && ua === APPLE_MPP_USER_AGENT) return "apple-mpp";
  if (kind === "open" && ua.includes(YAHOO_PROXY_UA_MARK)) return "human";
  if (ua === "" || isbot(ua)) return "scanner";
  if (facts.asn !== null && DATACENTER_ASNS.has(facts.asn)) return "scanner";
  return "human";
}

export interface ContextEvent {
  seq: number;
  kind: EventKind;
  linkIndex: number | null;
  occurredAt: number;
  requestLabel: EventLabel;
  /** Keyed hash of the client address; null when none was known. */
  ipHash: string | null;
}

export interface SenderView {
  viewedAt: number;
  /** Keyed hash of the address the report came from (the sender's browser); null when none was known. */
  ipHash: string | null;
}

export interface MessageContext {
  sentAt: number | null;
  linkCount: number;
  senderViews: readonly SenderView[];
}

/** Final labels for all of one message's events, by seq. Deterministic: re-running it changes nothing. */
export function contextLabels(events: readonly ContextEvent[], message: MessageContext): Map<number, EventLabel> {
  const labels = new Map<number, EventLabel>();
  const burstClicks = clicksInLinkBursts(events, message.linkCount);
  for (const event of events) labels.set(event.seq, contextLabel(event, message, burstClicks));
  return labels;
}

function contextLabel(event: ContextEvent, message: MessageContext, burstClicks: ReadonlySet<number>): EventLabel {
  if (!COUNTED_LABELS.includes(event.requestLabel)) return event.requestLabel;
  if (message.sentAt !== null && event.occurredAt < message.sentAt) return "sender";
  if (message.senderViews.some((view) => Math.abs(view.viewedAt - event.occurredAt) <= SENDER_WINDOW_MS && couldBeFrom(event, view)))
    return "sender";
  if (event.kind === "click") {
    if (message.sentAt !== null && event.occurredAt - message.sentAt < CLICK_AFTER_SEND_SCANNER_MS) return "scanner";
    if (burstClicks.has(event.seq)) return "scanner";
  }
  return event.requestLabel;
}

/**
 * Whether a hit near a sender view could be that view. Google's proxy fetches for sender and recipients alike, so
 * a proxied open can always be the sender's. A direct hit (a click, an open in another client) comes from the
 * reader's own address: when both addresses are known and differ, it is not the sender's browser.
 */
function couldBeFrom(event: ContextEvent, view: SenderView): boolean {
  if (event.requestLabel === "gmail-proxy") return true;
  return event.ipHash === null || view.ipHash === null || event.ipHash === view.ipHash;
}

/** Clicks that belong to a span of at most LINK_BURST_MS in which every link of a multi-link message was clicked. */
function clicksInLinkBursts(events: readonly ContextEvent[], linkCount: number): Set<number> {
  const inBurst = new Set<number>();
  if (linkCount < 2) return inBurst;
  const clicks = events
    .filter((e) => e.kind === "click" && e.linkIndex !== null && COUNTED_LABELS.includes(e.requestLabel))
    .sort((a, b) => a.occurredAt - b.occurredAt || a.seq - b.seq);
  for (let start = 0; start < clicks.length; start++) {
    const first = clicks[start];
    if (!first) continue;
    const window = [];
    for (let i = start; i < clicks.length; i++) {
      const click = clicks[i];
      if (!click || click.occurredAt - first.occurredAt > LINK_BURST_MS) break;
      window.push(click);
    }
    if (new Set(window.map((c) => c.linkIndex)).size >= linkCount) for (const c of window) inBurst.add(c.seq);
  }
  return inBurst;
}
