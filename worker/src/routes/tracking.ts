// The two public endpoints recipients' mail clients hit: the open pixel and click redirects.
import { Hono } from "hono";
import { isAcceptableDestination, parseLinkIndex, verifyLinkSignature } from "../../../shared/protocol";
import type { AppEnv } from "../env";
import { enqueueHit, errorName, hitFromRequest } from "../hits";
import { invalidLinkResponse, pixelResponse, redirectResponse } from "../http";
import { verifiedTrackingId } from "../verify";

export const pixelRoute = new Hono<AppEnv>().get("/*", async (c) => {
  // Whatever happens, the reader's client gets the GIF: a tracker must never show a broken image.
  try {
    const file = c.req.path.slice(c.req.path.lastIndexOf("/") + 1);
    if (file.endsWith(".gif")) {
      const verified = await verifiedTrackingId(c.env, file.slice(0, -".gif".length));
      if (verified) {
        const { id, accountKey } = verified;
        const hit = await hitFromRequest(
          c.req.raw,
          { accountId: id.accountId, messageId: id.value, accountKey, kind: "open", linkIndex: null },
          Date.now(),
        );
        await enqueueHit(c.env, c.executionCtx, hit);
      }
    }
  } catch (error) {
    console.error("pixel hit not recorded", errorName(error));
  }
  return pixelResponse();
});

export const clickRoute = new Hono<AppEnv>()
  .get("/:id/:index", async (c) => {
    // Form-decoding, exactly as docs/protocol.md specifies; a repeated parameter is ambiguous, so it is refused.
    const params = new URL(c.req.url).searchParams;
    const [destination, ...extraDestinations] = params.getAll("u");
    const [signature, ...extraSignatures] = params.getAll("s");
    const linkIndex = parseLinkIndex(c.req.param("index"));
    if (destination === undefined || signature === undefined || linkIndex === null) return invalidLinkResponse();
    if (extraDestinations.length > 0 || extraSignatures.length > 0) return invalidLinkResponse();
    if (!isAcceptableDestination(destination)) return invalidLinkResponse();
    const verified = await verifiedTrackingId(c.env, c.req.param("id"));
    if (!verified || !(await verifyLinkSignature(verified.accountKey, verified.id.value, linkIndex, destination, signature))) {
      return invalidLinkResponse();
    }
    // HEAD is how link checkers look without following: same answer, nothing recorded.
    if (c.req.method !== "HEAD") {
      try {
        const { id, accountKey } = verified;
        const hit = await hitFromRequest(
          c.req.raw,
          { accountId: id.accountId, messageId: id.value, accountKey, kind: "click", linkIndex },
          Date.now(),
        );
        await enqueueHit(c.env, c.executionCtx, hit);
      } catch (error) {
        console.error("click not recorded", errorName(error));
      }
    }
    return redirectResponse(destination);
  })
  .all("*", () => invalidLinkResponse());
