// The one ingest path every hit takes: read what it needs from a verified request (captureHit), then make it the Hit
// the queue carries (completeHit). The raw client address is hashed there and goes no further; place is the coarse
// country and region Cloudflare attaches to the request. Its city is never read: a city (with a time and an email)
// can name a person, where a country or a region names many.
import { z } from "zod";
import { EVENT_KINDS, EVENT_LABELS, type EventKind } from "../../shared/api";
import { addressIdentifiesClient, mailProxy, type RequestFacts, requestLabel } from "./classify";
import { describeUserAgent } from "./client-description";
import { clientAddress } from "./http";
import { hashClientAddress } from "./keys";

/** A describing field a hit may lack or carry in an older form: stored as unknown (null) rather than refused. */
const description = z.string().nullable().catch(null);

/**
 * A hit as the queue carries it, and as the consumer reads it back from a message. What identifies and labels it
 * must be there; one that lacks it (a message this code did not write) cannot be stored, and is set aside without
 * holding back the hits queued with it.
 */
export const queuedHit = z.object({
  eventId: z.string().min(1),
  accountId: z.string().min(1),
  messageId: z.string().min(1),
  kind: z.enum(EVENT_KINDS),
  linkIndex: z.number().int().nonnegative().nullable(),
  occurredAt: z.number().finite(),
  requestLabel: z.enum(EVENT_LABELS),
  country: description,
  region: description,
  // No city: a hit queued before cities were dropped may still carry one, and parsing strips it (zod drops keys the
  // object does not name), so it is never stored.
  client: description,
  device: description,
  ipHash: description,
  /**
   * The request's user agent, for the consumer to describe as client and device (withClientDescription) and then
   * drop: it is never stored. Absent on hits queued before descriptions moved off the request path.
   */
  userAgent: z.string().optional().catch(undefined),
});

export type Hit = z.infer<typeof queuedHit>;

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
 * What a hit needs from its request, read while the request is answered, with no await: the rest (label, address
 * hash, event id) is worked out by completeHit, together with the other hits the isolate gathers (queue.ts), in the
 * one invocation that sends them. The raw address stays in the isolate's memory until then; it is never queued.
 */
export interface CapturedHit {
  target: HitTarget;
  occurredAt: number;
  facts: RequestFacts;
  country: string | null;
  region: string | null;
  address: string | null;
}

/**
 * Reads the request once, synchronously. `request.cf` is read only when a rule needs it: workerd parses it from
 * JSON and deep-freezes it on first access (`CfProperty::getRef`, `jsg::recursivelyFreeze` in a perf profile of
 * workerd 1.20261023.1, 2026-11-30), a few per cent of a hit's CPU (docs/benchmarks.md, fourth pass). An open
 * through a mail service's image proxy needs neither: its label is the proxy's whatever the network
 * (requestLabel), and its place would be the proxy's, so none is recorded. `method` is the request's, for a caller
 * that has read it already.
 */
export function captureHit(request: Request, target: HitTarget, now: number, method = request.method): CapturedHit {
  // Each property of a request is a call into workerd (about 2 µs each in a perf profile): each is read once.
  const { headers } = request;
  const userAgent = headers.get("user-agent") ?? "";
  const proxiedOpen = target.kind === "open" && mailProxy(userAgent) !== null;
  const cf: Partial<IncomingRequestCfProperties> = proxiedOpen ? {} : ((request as { cf?: IncomingRequestCfProperties }).cf ?? {});
  return {
    target,
    occurredAt: now,
    facts: {
      method,
      userAgent,
      asn: typeof cf.asn === "number" ? cf.asn : null,
      purpose: purposeHeaders(headers),
    },
    country: capped(cf.country),
    region: capped(cf.region),
    address: clientAddress(request),
  };
}

/** The hit as queued: labelled, its address hashed (or, when the address says nothing of the client, dropped). */
export async function completeHit(captured: CapturedHit): Promise<Hit> {
  const { target, address } = captured;
  const label = requestLabel(target.kind, captured.facts);
  return {
    eventId: crypto.randomUUID(),
    accountId: target.accountId,
    messageId: target.messageId,
    kind: target.kind,
    linkIndex: target.linkIndex,
    occurredAt: captured.occurredAt,
    requestLabel: label,
    country: captured.country,
    region: captured.region,
    client: null,
    device: null,
    ipHash: addressIdentifiesClient(label) ? await addressHash(address, target.accountKey) : null,
    userAgent: captured.facts.userAgent.slice(0, USER_AGENT_MAX),
  };
}

/** The keyed hash of a client address, or null without one: what a hit and a sender-view report keep, so they compare. */
export async function addressHash(address: string | null, accountKey: string): Promise<string | null> {
  return address ? hashClientAddress(accountKey, address) : null;
}

/** Both steps at once, for callers that store a hit without gathering it. */
export function hitFromRequest(request: Request, target: HitTarget, now: number): Promise<Hit> {
  return completeHit(captureHit(request, target, now));
}

/** The hit as stored: client and device described from the user agent it carried, which goes no further. */
export function withClientDescription(hit: Hit): Hit {
  const { userAgent, ...stored } = hit;
  return userAgent === undefined ? stored : { ...stored, ...describeUserAgent(userAgent) };
}
