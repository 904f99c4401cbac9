// Labels for hits. Two stages, both pure functions:
//  1. requestLabel: what the request alone says (method, user agent, network, purpose headers), decided at the edge.
//  2. contextLabel: that label refined with what is known about the message later (send time, the sender's
//     view reports, every link clicked in a burst), re-run whenever that context changes. Nothing is deleted.
import { isbot } from "isbot";
import { COUNTED_LABELS, type EventKind, type EventLabel, SENDER_WINDOW_MS, UNREGISTERED_HOLD_MS } from "../../shared/api";

/**
 * Mail services that fetch an email's images through their own proxy when the reader opens it: a real open, with
 * the proxy (not the reader) as the client, its network and place the proxy's. Decided per proxy, by the mark each
 * puts in its user agent, before any bot or network rule: `isbot` flags some of them for the domain in their UA.
 */
export const MAIL_PROXIES = [
  // Gmail, since 2013 (Gmail blog, 2013-12-12): "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)".
  { id: "gmail", name: "Gmail", mark: "GoogleImageProxy", label: "gmail-proxy" },
  // Yahoo Mail: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html".
  { id: "yahoo", name: "Yahoo Mail", mark: "YahooMailProxy", label: "human" },
  // HEY: "hey.com/imageproxy Mozilla/5.0 (X11; Linux x86_64) …", fetching images of emails its users view (hey.com/image-proxy).
  { id: "hey", name: "HEY", mark: "hey.com/imageproxy", label: "human" },
] as const satisfies readonly { id: string; name: string; mark: string; label: EventLabel }[];

export type MailProxy = (typeof MAIL_PROXIES)[number];

/** The mail service whose image proxy made this request, or null. Reused to describe the client to the rep. */
export function mailProxy(userAgent: string): MailProxy | null {
  return MAIL_PROXIES.find((proxy) => userAgent.includes(proxy.mark)) ?? null;
}

/**
 * Gmail prefetches the images of mail delivered while the recipient has Gmail open, from Google's network, with
 * Edge 12's user agent ("… Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0"): not an open (SparkPost,
 * "Gmail is Prefetching Images", 2022-01: 1-6 % of Gmail opens). Edge 12 (2015) has no readers left.
 */
export const GMAIL_DELIVERY_PREFETCH_UA_MARK = "Edge/12.246";
/** Google's link sampler on Gmail content: a machine on a link, never a click. */
export const GMAIL_LINK_SAMPLER_UA_MARK = "Gmail-content-sampling";
/**
 * Outlook for Windows and Office: on the pixel, the Word rendering engine showing the email (a real open); on a
 * link, Office fetching the URL itself before it hands it to the browser, whose own request is the click.
 */
const OFFICE_UA = /\bms-office\b|\bMSOffice\b|Microsoft Office|Microsoft Outlook/i;
/** Apple Mail Privacy Protection fetches with exactly this user agent. */
export const APPLE_MPP_USER_AGENT = "Mozilla/5.0";
/**
 * Gmail holds a sent email for the sender's Undo Send period before it delivers it: 5, 10, 20 or 30 s, 5 by default
 * (support.google.com/mail/answer/2819488, as quoted in docs/gmail.md, "Undo Send"). The registered send time is the
 * click on Send, so with the default the email leaves Gmail no sooner than this after it.
 */
export const GMAIL_DEFAULT_UNDO_SEND_MS = 5_000;

/** When an email sent (its Send click) at `sentAt` leaves Gmail at the earliest: after the default undo period. */
function earliestDelivery(sentAt: number): number {
  return sentAt + GMAIL_DEFAULT_UNDO_SEND_MS;
}
/**
 * Nobody reads an email and clicks a link this soon after it is delivered; scanners do, on delivery. Measured from
 * the earliest delivery, the send time + GMAIL_DEFAULT_UNDO_SEND_MS. A rep with a longer undo period still gets
 * scans on delivery counted (unless another rule catches them): the extension cannot read the setting, as nothing
 * public shows where Gmail keeps it.
 */
export const CLICK_AFTER_DELIVERY_SCANNER_MS = 10_000;
/** Every link of a message clicked within this span is a scanner walking the message. */
export const LINK_BURST_MS = 5_000;
/**
 * Two different links of a message clicked this close together: a scanner following several links does not wait.
 * A person can do it too (opening links in new tabs), so it counts as a scan only with both other signs: within
 * SCAN_AFTER_SEND_MS of sending (scanners follow links on delivery) and no counted open before it (a link scanner
 * fetches no images first; a sandbox that does, does it from its own network: SAME_NETWORK_AS_SCANNER_MS).
 */
export const LINK_PAIR_MS = 2_000;
/** Gateways scan links on delivery, which can trail the send time by minutes (greylisting, queues). */
export const SCAN_AFTER_SEND_MS = 10 * 60_000;
/**
 * A sandbox that checks an email on delivery (Microsoft Defender's, and similar) renders it with a browser's user
 * agent from a network real readers' opens also come from (Microsoft's), so it loads the pixel, and follows its links
 * within seconds (Suped, "Why are we seeing automatic opens and clicks on Office 365 hosted recipient domains?",
 * 2025-08-06, updated 2026-05-24: "opening and clicking within seconds of delivery"; Nylas support, "Why am I
 * receiving multiple message.opened webhook notifications": disregard immediate responses). An open from the same
 * network (the same keyed hash of the client's /24 or /48: docs/protocol.md §7) as a click labelled scanner this close
 * to it, before or after, is that machine walking the email; nor is it, for the link-pair rule, a person's open
 * before the click. A reader whose open comes from that network within the minute (an Outlook.com fetch from
 * Microsoft's, right at delivery) is taken for the sandbox too. Opens through Gmail's proxy keep no address hash
 * (addressIdentifiesClient: Google's proxy fetches for everyone), so this never judges them.
 */
export const SAME_NETWORK_AS_SCANNER_MS = 60_000;
/**
 * How soon after the earliest delivery (the send time + GMAIL_DEFAULT_UNDO_SEND_MS) an open must come for the rule
 * above to judge it: a sandbox checks the email as it is delivered ("within seconds of delivery", Suped, above; a
 * vendor blog, check.live-direct-marketing.online's "Microsoft Defender link click pattern", undated, says usually
 * within 60 s), with room for a queue. A person reading in a mail client that loads images from their own network
 * (Outlook, Thunderbird, Apple Mail without its privacy protection) and opening two links in new tabs is never judged
 * by it later than this; one that quick is, and is taken for the sandbox.
 */
export const SANDBOX_AFTER_DELIVERY_MS = 2 * 60_000;

/**
 * Networks of clouds and mail-security vendors, by autonomous system number. A human reader's mail client does
 * not fetch from these; link scanners and sandboxes do. Google's own ASN is absent: its image proxy is a real open.
 */
const DATACENTER_ASNS = new Set([
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

/**
 * Networks that fetch images for real opens but also run link checkers: a click from them is a machine, an open
 * is not one by network alone. Microsoft's (Defender Safe Links, Exchange Online Protection; and, by public
 * reports, Outlook.com's image fetches on a real open) and Google's (its link checks; the image proxy and the
 * delivery prefetch are told apart by user agent).
 */
const LINK_CHECKER_ASNS = new Set([
  8075, // Microsoft
  15169, // Google
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
  if (ua.includes(GMAIL_DELIVERY_PREFETCH_UA_MARK)) return "prefetch";
  if (ua.includes(GMAIL_LINK_SAMPLER_UA_MARK)) return "scanner";
  if (OFFICE_UA.test(ua)) return kind === "open" ? "human" : "prefetch";
  if (kind === "open") {
    const proxy = mailProxy(ua);
    if (proxy) return proxy.label;
    if (ua === APPLE_MPP_USER_AGENT) return "apple-mpp";
  }
  if (ua === "" || isbot(ua)) return "scanner";
  if (facts.asn !== null && (DATACENTER_ASNS.has(facts.asn) || (kind === "click" && LINK_CHECKER_ASNS.has(facts.asn)))) return "scanner";
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
  /**
   * The message's first open counted as a person's by every rule but the scanner's network (SAME_NETWORK_AS_SCANNER_MS),
   * as stored, among the opens that are not in the events labelled with it (those are judged by the labels given them
   * here: a stored label may be the stale one being replaced); null when none is. Its network is not known here, so it
   * counts even when it is a click's own (relabelSpans reads the opens within SAME_NETWORK_AS_SCANNER_MS before every
   * click it judges, so there it is never one; a label on arrival may take it, until the relabelling that follows).
   */
  firstCountedOpenAt: number | null;
}

/** Final labels for all of one message's events, by seq. Deterministic: re-running it changes nothing. */
export function contextLabels(events: readonly ContextEvent[], message: MessageContext): Map<number, EventLabel> {
  const labels = new Map<number, EventLabel>();
  // Opens first, by every rule but the scanner's network, which needs the clicks' labels: whether a person opened the
  // email before a click is one of the signs of a scan.
  for (const event of events) if (event.kind === "open") labels.set(event.seq, contextLabel(event, message, new Set()));
  // An open from the click's own network near it is no sign of a person: a sandbox loads the pixel as it walks the links.
  const openedBefore = (click: ContextEvent) =>
    (message.firstCountedOpenAt !== null && message.firstCountedOpenAt < click.occurredAt) ||
    events.some(
      (e) =>
        e.kind === "open" &&
        e.occurredAt < click.occurredAt &&
        !sameNetworkNear(e, click, message.sentAt) &&
        COUNTED_LABELS.includes(labels.get(e.seq) ?? e.requestLabel),
    );
  const scanClicks = new Set([...clicksInLinkBursts(events, message.linkCount), ...clicksInLinkPairs(events, message, openedBefore)]);
  for (const event of events) if (event.kind === "click") labels.set(event.seq, contextLabel(event, message, scanClicks));
  // Last, the opens by the clicks' final labels, which nothing above reads again.
  const scannerClicks = events.filter((e) => e.kind === "click" && labels.get(e.seq) === "scanner");
  for (const event of events) {
    const label = labels.get(event.seq);
    if (event.kind !== "open" || !label || !COUNTED_LABELS.includes(label)) continue;
    if (scannerClicks.some((click) => sameNetworkNear(event, click, message.sentAt))) labels.set(event.seq, "scanner");
  }
  return labels;
}

/**
 * Whether an open comes from the known network of a click within SAME_NETWORK_AS_SCANNER_MS of it, within
 * SANDBOX_AFTER_DELIVERY_MS of the email's delivery.
 */
function sameNetworkNear(open: ContextEvent, click: ContextEvent, sentAt: number | null): boolean {
  return (
    open.ipHash !== null &&
    open.ipHash === click.ipHash &&
    Math.abs(open.occurredAt - click.occurredAt) <= SAME_NETWORK_AS_SCANNER_MS &&
    sentAt !== null &&
    open.occurredAt - earliestDelivery(sentAt) <= SANDBOX_AFTER_DELIVERY_MS
  );
}

function contextLabel(event: ContextEvent, message: MessageContext, scanClicks: ReadonlySet<number>): EventLabel {
  if (!COUNTED_LABELS.includes(event.requestLabel)) return event.requestLabel;
  if (message.sentAt !== null && event.occurredAt < message.sentAt) return "sender";
  if (message.senderViews.some((view) => Math.abs(view.viewedAt - event.occurredAt) <= SENDER_WINDOW_MS && couldBeFrom(event, view)))
    return "sender";
  if (event.kind === "click") {
    if (message.sentAt !== null && event.occurredAt - earliestDelivery(message.sentAt) < CLICK_AFTER_DELIVERY_SCANNER_MS) return "scanner";
    if (scanClicks.has(event.seq)) return "scanner";
  }
  return event.requestLabel;
}

/**
 * Whether a hit's client address says anything about who made it. Google's proxy fetches for sender and
 * recipients alike, from its own addresses, so a Gmail-proxied open's address says nothing: such an open can always
 * be the sender's (couldBeFrom), and no hash of its address is kept (completeHit).
 */
export function addressIdentifiesClient(label: EventLabel): boolean {
  return label !== "gmail-proxy";
}

/**
 * Whether a hit near a sender view could be that view. A direct hit (a click, an open in another client) comes from
 * the reader's own address: when both addresses are known and differ, it is not the sender's browser.
 */
function couldBeFrom(event: ContextEvent, view: SenderView): boolean {
  if (!addressIdentifiesClient(event.requestLabel)) return true;
  return event.ipHash === null || view.ipHash === null || event.ipHash === view.ipHash;
}

function countedClicksInTimeOrder(events: readonly ContextEvent[]): ContextEvent[] {
  return events
    .filter((e) => e.kind === "click" && e.linkIndex !== null && COUNTED_LABELS.includes(e.requestLabel))
    .sort((a, b) => a.occurredAt - b.occurredAt || a.seq - b.seq);
}

/**
 * Clicks on two different links within LINK_PAIR_MS of each other, when the earlier of the two also comes within
 * SCAN_AFTER_SEND_MS of sending and before any counted open (but one from its own network near it): a scanner
 * following some of the links, not all.
 */
function clicksInLinkPairs(
  events: readonly ContextEvent[],
  message: MessageContext,
  openedBefore: (click: ContextEvent) => boolean,
): Set<number> {
  const paired = new Set<number>();
  const clicks = countedClicksInTimeOrder(events);
  for (let i = 0; i < clicks.length; i++) {
    const first = clicks[i];
    if (!first) continue;
    const soonAfterSend = message.sentAt !== null && first.occurredAt - message.sentAt <= SCAN_AFTER_SEND_MS;
    if (!soonAfterSend || openedBefore(first)) continue;
    for (let j = i + 1; j < clicks.length; j++) {
      const second = clicks[j];
      if (!second || second.occurredAt - first.occurredAt > LINK_PAIR_MS) break;
      if (second.linkIndex === first.linkIndex) continue;
      paired.add(first.seq);
      paired.add(second.seq);
    }
  }
  return paired;
}

/** Clicks that belong to a span of at most LINK_BURST_MS in which every link of a multi-link message was clicked. */
function clicksInLinkBursts(events: readonly ContextEvent[], linkCount: number): Set<number> {
  const inBurst = new Set<number>();
  if (linkCount < 2) return inBurst;
  const clicks = countedClicksInTimeOrder(events);
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

/**
 * How far from a new click other hits' labels can change: the clicks of a link burst or pair it completes, and the
 * opens from the network of any of those clicks that becomes a scanner's (SAME_NETWORK_AS_SCANNER_MS).
 */
export const CLICK_REACH_MS = Math.max(LINK_BURST_MS, LINK_PAIR_MS) + SAME_NETWORK_AS_SCANNER_MS;
/**
 * The longest after a hit that a later report or hit can still change its label under the rules above: a sender
 * view reported up to SENDER_WINDOW_MS after it; a click up to CLICK_REACH_MS after it (the rest of a link burst or
 * pair can make a scanner's a click from an open's network up to SAME_NETWORK_AS_SCANNER_MS after the open). 65 s, so
 * notifications wait 5 s more than the sender window alone needs: an open a sandbox made is not notified before its
 * clicks can come. Not covered: a view report more than this after an open that changes a click near it (makes it
 * the sender's, or an open before it the sender's and so its link pair a scanner's), and through it the open's label,
 * after the open was released.
 */
export const LABEL_FINAL_AFTER_MS = Math.max(SENDER_WINDOW_MS, CLICK_REACH_MS);
/** Room between a write (a hit, a view report, a registration) and the relabel that follows it in another statement. */
export const RELABEL_MARGIN_MS = 2_000;
/** How long an event of a message not registered yet waits for the registration (shared with the extension). */
export { UNREGISTERED_HOLD_MS };

export interface FeedTiming {
  occurredAt: number;
  /** When the event was written. */
  insertedAt: number;
  /** When its message was first registered; null while it is not. */
  registeredAt: number | null;
}

/**
 * When an event's label is final: no report, registration or hit can change it any more under these rules. Null
 * while its message is not registered. The events feed releases it then, and only then may it notify.
 */
export function labelFinalAt(event: FeedTiming): number | null {
  if (event.registeredAt === null) return null;
  return Math.max(event.occurredAt + LABEL_FINAL_AFTER_MS, event.insertedAt, event.registeredAt) + RELABEL_MARGIN_MS;
}

/**
 * Room between the clocks that judge an event released: the feed's (the Worker's Date.now) and the one that records a
 * correction when its label changes (D1's, in migration 0022's trigger, the clock inserted_at is written by). A
 * correction for a change up to this much before the feed could have released its event costs a row, and the
 * extension applies it as a change to nothing; one missed would leave the extension counting a label the tracker no
 * longer has. Less than RELABEL_MARGIN_MS: the relabel that follows a hit's write or a registration (within that
 * margin) must not count as after the release the write itself moved, or every hit written late and relabelled by its
 * own consumer, and every hit from before its email's registration, would write a correction of an event never given.
 * A Worker's Date.now stands still while it runs and moves at its I/O, so the feed's clock lags rather than leads.
 */
export const RELEASE_CLOCK_MARGIN_MS = 1_000;

/**
 * The earliest the events feed (db/events.ts, eventsAfter) may have released an event: UNREGISTERED_HOLD_MS after it,
 * or once written if later, when its message was not registered by then (the feed then released it unregistered, and
 * its registration since does not take that back); else when its label is final (labelFinalAt). A label that changes
 * after this, less RELEASE_CLOCK_MARGIN_MS, is recorded as a correction (migration 0022's trigger states the same rule
 * in SQL; worker/test/corrections.test.ts holds the two together).
 */
export function releasedFrom(event: FeedTiming): number {
  const held = Math.max(event.occurredAt + UNREGISTERED_HOLD_MS, event.insertedAt);
  const finalAt = labelFinalAt(event);
  return finalAt === null || (event.registeredAt !== null && event.registeredAt > held) ? held : finalAt;
}
