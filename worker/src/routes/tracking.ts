// The two public endpoints recipients' mail clients hit: the open pixel and click redirects.
import { type Context, Hono } from "hono";
import { isAcceptableDestination, parseLinkIndex, verifyLinkSignature } from "../../../shared/protocol";
import type { AppEnv, Bindings } from "../env";
import { errorName } from "../errors";
import { captureHit, type HitTarget } from "../hits";
import { clientAddress, invalidLinkResponse, pixelResponse, redirectResponse, throttledLinkResponse } from "../http";
import { gatherHit } from "../queue";
import { isThrottled, noteInvalidRequest } from "../throttle";
import { type VerifiedId, verifiedTrackingId } from "../verify";

/**
 * Records the hit after the response. Only what the hit needs is read from the request, at once; the queue's
 * gathering (gatherHit) completes and sends it in one request's `waitUntil`, so the reader's client never waits on
 * it and nothing answered is dropped. Never throws: a hit that cannot be recorded must not fail its response.
 */
function recordAfterResponse(c: Context<AppEnv>, target: HitTarget, now: number): void {
  try {
    const sending = gatherHit(c.env, captureHit(c.req.raw, target, now));
    if (sending) c.executionCtx.waitUntil(sending);
  } catch (error) {
    console.error(`${target.kind} not recorded`, errorName(error));
  }
}

export const pixelRoute = new Hono<AppEnv>().get("/*", async (c) => {
  // Whatever happens, the reader's client gets the GIF: a tracker must never show a broken image.
  try {
    const now = Date.now();
    const file = c.req.path.slice(c.req.path.lastIndexOf("/") + 1);
    const verified = file.endsWith(".gif") ? await verifiedTrackingId(c.env, file.slice(0, -".gif".length)) : null;
    if (!verified) {
      // Throttling saves only the work done for invalid hits: a valid one is recorded whoever shares the address.
      const address = clientAddress(c.req.raw);
      if (!isThrottled(address, now)) await noteInvalidRequest(c.env, address, now);
      return pixelResponse();
    }
    const { id, accountKey } = verified;
    const target = { accountId: id.accountId, messageId: id.value, accountKey, kind: "open", linkIndex: null } as const;
    recordAfterResponse(c, target, now);
  } catch (error) {
    console.error("pixel hit not recorded", errorName(error));
  }
  return pixelResponse();
});

interface VerifiedClick extends VerifiedId {
  linkIndex: number;
  destination: string;
}

/** The click's id, index and destination if the signature covers exactly them; null for anything else. */
async function verifiedClick(env: Bindings, url: string, idText: string, indexText: string): Promise<VerifiedClick | null> {
  // Form-decoding, exactly as docs/protocol.md specifies; a repeated parameter is ambiguous, so it is refused.
  // Only the query is parsed: the path is read already, and the whole URL cost more to parse than its query.
  const query = url.indexOf("?");
  const params = new URLSearchParams(query === -1 ? "" : url.slice(query + 1));
  const [destination, ...extraDestinations] = params.getAll("u");
  const [signature, ...extraSignatures] = params.getAll("s");
  const linkIndex = parseLinkIndex(indexText);
  if (destination === undefined || signature === undefined || linkIndex === null) return null;
  if (extraDestinations.length > 0 || extraSignatures.length > 0 || !isAcceptableDestination(destination)) return null;
  const verified = await verifiedTrackingId(env, idText);
  if (!verified || !(await verifyLinkSignature(verified.accountKey, verified.id.value, linkIndex, destination, signature))) return null;
  return { ...verified, linkIndex, destination };
}

/**
 * Every path under /c has this one handler, which reads the id and index from the path itself, as the pixel's does.
 * A route for the link beside a catch-all for the rest matched both on every click, and Hono runs two matched
 * handlers through its middleware composition (`compose`: an async dispatch per handler, the response set through
 * the context) instead of calling one directly (`#dispatch` in hono-base.js, Hono 4.13.19).
 */
export const clickRoute = new Hono<AppEnv>().all("*", async (c) => {
  const now = Date.now();
  // "/c/<id>/<index>", GET or HEAD; anything else under /c is an invalid link.
  const [, , idText, indexText, ...rest] = c.req.path.split("/");
  const { method } = c.req;
  const isLink = (method === "GET" || method === "HEAD") && idText && indexText && rest.length === 0;
  const click = isLink ? await verifiedClick(c.env, c.req.url, idText, indexText) : null;
  if (!click) {
    // A valid signed link always redirects, even from an address that floods invalid ones (an office's shared
    // address): only the invalid ones are throttled.
    const address = clientAddress(c.req.raw);
    if (isThrottled(address, now)) return throttledLinkResponse();
    await noteInvalidRequest(c.env, address, now);
    return invalidLinkResponse();
  }
  // HEAD is how link checkers look without following: same answer, nothing recorded.
  if (method !== "HEAD") {
    const target = {
      accountId: click.id.accountId,
      messageId: click.id.value,
      accountKey: click.accountKey,
      kind: "click",
      linkIndex: click.linkIndex,
    } as const;
    recordAfterResponse(c, target, now);
  }
  return redirectResponse(click.destination);
});
