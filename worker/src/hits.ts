// The one ingest path every hit takes: turn a verified request into a Hit for the queue. The raw client address is
// hashed here and goes no further; place is the coarse country/region/city Cloudflare attaches to the request.
import type { EventKind, EventLabel } from "../../shared/api";
import { requestLabel } from "./classify";
import { describeUserAgent } from "./client-description";
import { hashClientAddress } from "./keys";
import { clientAddress } from "./throttle";

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
}

const FIELD_MAX = 100;

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
export async function clientAddressHash(request: Request, accountKey: string): Promise<string | null> {
  const address = clientAddress(request);
  return address ? hashClientAddress(accountKey, address) : null;
}

export async function hitFromRequest(request: Request, target: HitTarget, now: number): Promise<Hit> {
  const userAgent = request.headers.get("user-agent") ?? "";
  const cf = (request as { cf?: IncomingRequestCfProperties }).cf;
  const label = requestLabel(target.kind, {
    method: request.method,
    userAgent,
    asn: typeof cf?.asn === "number" ? cf.asn : null,
    purpose: purposeHeaders(request.headers),
  });
  // Google's proxy hides the reader: its place and device would be Google's, so none is recorded.
  const viaGoogle = label === "gmail-proxy";
  const { client, device } = describeUserAgent(userAgent);
  return {
    eventId: crypto.randomUUID(),
    accountId: target.accountId,
    messageId: target.messageId,
    kind: target.kind,
    linkIndex: target.linkIndex,
    occurredAt: now,
    requestLabel: label,
    country: viaGoogle ? null : capped(cf?.country),
    region: viaGoogle ? null : capped(cf?.region),
    city: viaGoogle ? null : capped(cf?.city),
    client,
    device,
    ipHash: await clientAddressHash(request, target.accountKey),
  };
}
