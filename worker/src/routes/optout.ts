// The recipient's opt-out page, `/u/<trackingId>` (docs/protocol.md §11). GET only shows a confirmation page, so link
// scanners (which only GET) cannot opt anyone out; POST records the opt-out. Nothing here is tracked.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { normalizeEmail, recordOptOut } from "../db/signals";
import type { AppEnv } from "../env";
import { invalidLinkResponse, NO_STORE, throttledLinkResponse } from "../http";
import { clientAddress, isThrottled, noteInvalidRequest } from "../throttle";
import { type VerifiedId, verifiedTrackingId } from "../verify";

const MAX_FORM_BYTES = 4096;

function page(title: string, body: string, status = 200): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="viewport" content="width=device-width">
<title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>
`;
  return new Response(html, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": NO_STORE,
      "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
      "Referrer-Policy": "no-referrer",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

const UNKNOWN = () => page("Email not found", "<p>This email is not known to this server any more, so nothing is tracked.</p>", 404);
const DONE = () =>
  page(
    "You are unsubscribed",
    "<p>If that address received this email, the sender will not track its opens or clicks any more, for this email and every other one, and is told that you opted out.</p>",
  );

interface Target {
  verified: VerifiedId;
  /** Its recipients now (a deleted contact is gone) and how many it was sent to. */
  recipients: string[];
  recipientCount: number;
}

async function target(c: Context<AppEnv>): Promise<Target | Response> {
  const now = Date.now();
  const address = clientAddress(c.req.raw);
  if (isThrottled(address, now)) return throttledLinkResponse();
  const verified = await verifiedTrackingId(c.env, c.req.param("id") ?? "");
  if (!verified) {
    await noteInvalidRequest(c.env, address, now);
    return invalidLinkResponse();
  }
  const message = await c.env.DB.prepare(
    "SELECT id, recipient_count FROM messages WHERE id = ? AND account_id = ? AND deleted_at IS NULL AND registered_at IS NOT NULL",
  )
    .bind(verified.id.value, verified.id.accountId)
    .first<{ id: string; recipient_count: number }>();
  if (!message) return UNKNOWN();
  const { results } = await c.env.DB.prepare("SELECT email FROM message_recipients WHERE message_id = ? ORDER BY email")
    .bind(message.id)
    .all<{ email: string }>();
  if (results.length === 0) return UNKNOWN();
  return { verified, recipients: results.map((r) => r.email), recipientCount: message.recipient_count };
}

export const optOutRoute = new Hono<AppEnv>()
  .get("/:id", async (c) => {
    const found = await target(c);
    if (found instanceof Response) return found;
    const form =
      found.recipientCount === 1 && found.recipients.length === 1
        ? `<form method="post"><button type="submit">Unsubscribe</button></form>`
        : `<form method="post"><label>Your email address <input type="email" name="email" required maxlength="320" autocomplete="email"></label>
<button type="submit">Unsubscribe</button></form>`;
    return page("Unsubscribe", `<p>Stop the sender from tracking whether you open their emails or click their links.</p>${form}`);
  })
  .post(
    "/:id",
    bodyLimit({ maxSize: MAX_FORM_BYTES, onError: () => page("Request too large", "<p>Nothing was changed.</p>", 413) }),
    async (c) => {
      const found = await target(c);
      if (found instanceof Response) return found;
      let email = found.recipientCount === 1 && found.recipients.length === 1 ? found.recipients[0] : undefined;
      if (email === undefined) {
        const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
        const given = typeof form.email === "string" ? normalizeEmail(form.email) : "";
        if (given === "") return page("Address needed", "<p>Go back and enter the address this email was sent to.</p>", 400);
        email = found.recipients.includes(given) ? given : undefined;
      }
      // An address that did not receive this email gets the same answer, so the page reveals no recipient.
      if (email !== undefined) await recordOptOut(c.env.DB, found.verified.id.accountId, found.verified.id.value, email, Date.now());
      return DONE();
    },
  )
  .all("*", () => invalidLinkResponse());
