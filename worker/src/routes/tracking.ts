// The two public endpoints recipients' mail clients hit: the open pixel and click redirects. They are answered
// before Hono's router (serveHit): every email's every image and link comes here, and the router's context,
// matching and promise chain were about a sixteenth of a click's JavaScript in a CPU profile of the request path
// under load (docs/benchmarks.md, eighth pass). Everything else goes through the Hono app (app.ts).
import { getPath } from "hono/utils/url";
import { isAcceptableDestination, parseLinkIndex } from "../../../shared/protocol";
import type { Bindings } from "../env";
import { errorName } from "../errors";
import { captureHit, type HitTarget } from "../hits";
import { htmlPage, pixelResponse, redirectResponse } from "../http";
import { gatherHit } from "../queue";
import { invalidLinkAnswer, isThrottled, limiterKey, noteInvalidRequest } from "../throttle";
import { type VerifiedId, verifiedLinkId, verifiedTrackingId } from "../verify";

/**
 * Records the hit after the response. Only what the hit needs is read from the request, at once; the queue's
 * gathering (gatherHit) completes and sends it in one request's `waitUntil`, so the reader's client never waits on
 * it and nothing answered is dropped. Never throws: a hit that cannot be recorded must not fail its response.
 */
function recordAfterResponse(hit: HitRequest, target: HitTarget, now: number): void {
  try {
    const sending = gatherHit(hit.env, captureHit(hit.request, target, now, hit.method));
    if (sending) hit.ctx.waitUntil(sending);
  } catch (error) {
    console.error(`${target.kind} not recorded`, errorName(error));
  }
}

/** A request to a hit endpoint, with what its handler needs: the path and method are read once, by the dispatch. */
interface HitRequest {
  request: Request;
  path: string;
  method: string;
  env: Bindings;
  ctx: ExecutionContext;
}

/** GET or HEAD /o/<id>.gif: always the GIF. */
async function servePixel(hit: HitRequest): Promise<Response> {
  // Whatever happens, the reader's client gets the GIF: a tracker must never show a broken image.
  try {
    const now = Date.now();
    const file = hit.path.slice(hit.path.lastIndexOf("/") + 1);
    const verified = file.endsWith(".gif") ? await verifiedTrackingId(hit.env, file.slice(0, -".gif".length)) : null;
    if (!verified) {
      // Throttling saves only the work done for invalid hits: a valid one is recorded whoever shares the network.
      const key = limiterKey(hit.request);
      if (!isThrottled(key, now)) await noteInvalidRequest(hit.env, key, now);
      return pixelResponse();
    }
    const { id, accountKey } = verified;
    const target = { accountId: id.accountId, messageId: id.value, accountKey, kind: "open", linkIndex: null } as const;
    recordAfterResponse(hit, target, now);
  } catch (error) {
    console.error("pixel hit not recorded", errorName(error));
  }
  return pixelResponse();
}

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
  const verified = await verifiedLinkId(env, idText, linkIndex, destination, signature);
  return verified && { ...verified, linkIndex, destination };
}

/** Every method and path under /c: "/c/<id>/<index>", GET or HEAD, is a link; anything else is an invalid link. */
async function serveClick(hit: HitRequest): Promise<Response> {
  try {
    const now = Date.now();
    const { request, env, method } = hit;
    const [, , idText, indexText, ...rest] = hit.path.split("/");
    const isLink = (method === "GET" || method === "HEAD") && idText && indexText && rest.length === 0;
    const click = isLink ? await verifiedClick(env, request.url, idText, indexText) : null;
    if (!click) {
      // A valid signed link always redirects, even from an address that floods invalid ones (an office's shared
      // address): only the invalid ones are throttled. Awaited, so a failing limiter is answered by the catch below.
      return await invalidLinkAnswer(env, request, now);
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
      recordAfterResponse(hit, target, now);
    }
    return redirectResponse(click.destination);
  } catch (error) {
    // A binding that failed (the invalid-hit limiter): nothing from the request is echoed, and the reader is told
    // the link may work a moment later.
    console.error("click not answered", errorName(error));
    return htmlPage(
      "This link could not be followed",
      "<p>Something went wrong on the sender's tracking server. Try the link again in a minute.</p>",
      500,
    );
  }
}

/**
 * The answer to a pixel or click request, or null for any other request (the Hono app's). A HEAD request gets the
 * GET answer without its body, as Hono answers HEAD.
 */
export function serveHit(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> | null {
  // Hono's own path reader (no URL parse; percent-decoded as its router sees a path), without its router.
  const path = getPath(request);
  const { method } = request;
  const isPixel = (method === "GET" || method === "HEAD") && (path.startsWith("/o/") || path === "/o");
  const serve = isPixel ? servePixel : path.startsWith("/c/") || path === "/c" ? serveClick : null;
  if (!serve) return null;
  const answer = serve({ request, path, method, env, ctx });
  return method === "HEAD" ? answer.then((response) => new Response(null, response)) : answer;
}
