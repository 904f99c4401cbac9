// The one ingest path every hit takes: turn a verified request into a Hit for the queue. The raw client address is
// hashed here and goes no further; place is the coarse country/region/city Cloudflare attaches to the request.
import type { EventKind, EventLabel } from "../../shared/api";
import { addressIdentifiesClient, mailProxy, requestLabel } from "./classify";
import { describeUserAgent } from "./client-description";
import { clientAddress } from "./http";
import { hashClientAddress } from "./keys";

export interface Hit {
  eventId: string;
  accountId: string;
  messageId: string;
  kind: EventKind;
  linkIndex: number | null;
  occurredAt: number;
  requestLabel: EventLabel;
  country: string | null;
  region: string | null;
  city: string | null;
  client: string | null;
  device: string | null;
  ipHash: string | null;
  /**
   * The request's user agent, for the consumer to describe as client and device (withClientDescription) and then
   * drop: it is never stored. Absent on hits queued before descriptions moved off the request path.
   */
  userAgent?: string;
}

/**
 * What one queue message carries: the hits an isolate answered together, or a single hit (as queued before hits
 * were gathered; such messages may still be waiting in a queue when this version is deployed).
 */
export type HitMessage = Hit | Hit[];

const FIELD_MAX = 100;
/** Longer user agents are padding or abuse; the description needs only the start. */
const USER_AGENT_MAX = 512;

function capped(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value.slice(0, FIELD_MAX) : null;
}

function purposeHeaders(headers: Headers): string {
  return ["purpose", "sec-purpose", "x-purpose", "x-moz"]
    .map((name) => headers.get(name) ?? "")
    .join(" ")
    .toLowerCase();
}

export interface HitTarget {
  accountId: string;
  messageId: string;
  accountKey: string;
  kind: EventKind;
  linkIndex: number | null;
}

/**
 * The keyed hash of the request's client address, or null without one: what a hit stores, and what a sender-view
 * report is stored with, so the two compare. `accountKey` is the message id's own key (verifiedTrackingId).
 */
export function clientAddressHash(request: Request, accountKey: string): Promise<string | null> {
  const address = clientAddress(request);
  // Not an async function: one returning another's promise costs two more turns of the microtask queue per hit.
  return address ? hashClientAddress(accountKey, address) : Promise.resolve(null);
}

export async function hitFromRequest(request: Request, target: HitTarget, now: number): Promise<Hit> {
  const userAgent = request.headers.get("user-agent") ?? "";
  // Read only when a rule needs it: workerd parses `request.cf` from JSON and deep-freezes it on first access
  // (`CfProperty::getRef`, `jsg::recursivelyFreeze` in a perf profile of workerd 1.20261023.1, 2026-11-30), a few
  // per cent of a hit's CPU (docs/benchmarks.md, fourth pass); a proxied open needs neither its network nor place.
  let cf: Partial<IncomingRequestCfProperties> | undefined;
  const requestCf = () => (cf ??= (request as { cf?: IncomingRequestCfProperties }).cf ?? {});
  const label = requestLabel(target.kind, {
    method: request.method,
    userAgent,
    get asn() {
      const asn = requestCf().asn;
      return typeof asn === "number" ? asn : null;
    },
    purpose: purposeHeaders(request.headers),
  });
  // A mail service's image proxy hides the reader: its place would be the proxy's, so none is recorded.
  const place = target.kind === "open" && mailProxy(userAgent) !== null ? {} : requestCf();
  return {
    eventId: crypto.randomUUID(),
    accountId: target.accountId,
    messageId: target.messageId,
    kind: target.kind,
    linkIndex: target.linkIndex,
    occurredAt: now,
    requestLabel: label,
    country: capped(place.country),
    region: capped(place.region),
    city: capped(place.city),
    client: null,
    device: null,
    ipHash: addressIdentifiesClient(label) ? await clientAddressHash(request, target.accountKey) : null,
    userAgent: userAgent.slice(0, USER_AGENT_MAX),
  };
}

/** The hit as stored: client and device described from the user agent it carried, which goes no further. */
export function withClientDescription(hit: Hit): Hit {
  const { userAgent, ...stored } = hit;
  return userAgent === undefined ? stored : { ...stored, ...describeUserAgent(userAgent) };
}
