// The recipient's opt-out page, `/u/<trackingId>` (docs/protocol.md §11). It turns tracking off and says so: it
// is not an unsubscribe from mail, and neither it nor the link in the email (options-store.ts optOutText) claims to be. GET only shows a confirmation page, so link
// scanners (which only GET) cannot opt anyone out; POST records the opt-out. Nothing here is tracked.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { isEmailAddress, normalizeEmail } from "../../../shared/email";
import { emailsRemovedFrom } from "../db/contacts";
import { recordOptOut, recordReaderOptOut } from "../db/signals";
import type { AppEnv } from "../env";
import { htmlPage, invalidLinkResponse } from "../http";
import { recipientFingerprint } from "../recipient-fingerprint";
import { invalidLinkAnswer } from "../throttle";
import { type VerifiedId, verifiedTrackingId } from "../verify";

const MAX_FORM_BYTES = 4096;

const UNKNOWN = () => htmlPage("Email not found", "<p>This email is not known to this server any more, so nothing is tracked.</p>", 404);
/**
 * An email whose registration has not arrived (seconds after the send, up to a minute or so when the sender's browser
 * retries): its opens may already be stored, so "not known, nothing is tracked" would be untrue, and there are no
 * recipients yet to check an address against. The reader is asked to come back; nothing is changed meanwhile.
 */
const NOT_YET = () =>
  htmlPage(
    "Try again in a minute",
    "<p>The sender's server has not been told of this email yet (it usually is within a minute of sending), so tracking cannot be turned off for it yet. Nothing was changed: try again in a minute.</p>",
    503,
    { "Retry-After": "60" },
  );
const DONE = () =>
  htmlPage(
    "Tracking is off",
    "<p>The sender will not see when this email is opened or its links are clicked any more, and is told that a reader turned tracking off. If it was sent to that address, the same holds for every other email from them to it.</p><p>You may still receive emails from them: to stop those, reply and ask.</p>",
  );

interface Target {
  verified: VerifiedId;
  /** Its recipients now (a deleted contact is gone) and how many it was sent to. */
  recipients: string[];
  recipientCount: number;
}

async function target(c: Context<AppEnv>): Promise<Target | Response> {
  // Verified first: a recipient's opt-out is honoured whatever else comes from their address (an office's shared
  // one); only invalid ids are throttled, as click links are (docs/protocol.md §9, "Privacy switches").
  const verified = await verifiedTrackingId(c.env, c.req.param("id") ?? "");
  if (!verified) return invalidLinkAnswer(c.env, c.req.raw, Date.now());
  const message = await c.env.DB.prepare(
    "SELECT id, recipient_count, registered_at, deleted_at FROM messages WHERE id = ? AND account_id = ?",
  )
    .bind(verified.id.value, verified.id.accountId)
    .first<{ id: string; recipient_count: number; registered_at: number | null; deleted_at: number | null }>();
  if (message?.deleted_at) return UNKNOWN();
  if (!message?.registered_at) return NOT_YET();
  // None for an email whose recipients the extension could not read, or whose every contact the sender deleted:
  // its readers can opt out all the same (the form asks for their address).
  const { results } = await c.env.DB.prepare("SELECT email FROM message_recipients WHERE message_id = ? ORDER BY email")
    .bind(message.id)
    .all<{ email: string }>();
  return { verified, recipients: results.map((r) => r.email), recipientCount: message.recipient_count };
}

export const optOutRoute = new Hono<AppEnv>()
  .get("/:id", async (c) => {
    const found = await target(c);
    if (found instanceof Response) return found;
    // A text field, not type="email": browsers' email fields refuse a non-ASCII local part (HTML's "valid email
    // address" is ASCII), so a recipient at jörg@münchen.de could not send the form. The server checks the address.
    const form =
      found.recipientCount === 1 && found.recipients.length === 1
        ? `<form method="post"><button type="submit">Turn tracking off</button></form>`
        : `<form method="post"><label>Your email address <input type="text" inputmode="email" name="email" required maxlength="320" autocomplete="email" spellcheck="false"></label>
<button type="submit">Turn tracking off</button></form>`;
    return htmlPage(
      "Stop tracking my opens and clicks",
      `<p>The sender can see when you open their emails and click their links. Turn this off for every email from them, now and before.</p><p>This does not unsubscribe you from their emails: to stop receiving them, reply and ask.</p>${form}`,
    );
  })
  .post(
    "/:id",
    bodyLimit({ maxSize: MAX_FORM_BYTES, onError: () => htmlPage("Request too large", "<p>Nothing was changed.</p>", 413) }),
    async (c) => {
      const found = await target(c);
      if (found instanceof Response) return found;
      let email = found.recipientCount === 1 && found.recipients.length === 1 ? found.recipients[0] : undefined;
      if (email === undefined) {
        const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
        const given = typeof form.email === "string" ? normalizeEmail(form.email) : "";
        if (!isEmailAddress(given)) return htmlPage("Address needed", "<p>Go back and enter the address this email was sent to.</p>", 400);
        // A contact the sender deleted from this email is no longer among its recipients, but its fingerprint is.
        const wasRemoved = async () =>
          (await c.env.DB.prepare("SELECT 1 FROM removed_recipients WHERE message_id = ? AND fingerprint = ?")
            .bind(found.verified.id.value, await recipientFingerprint(c.env.SIGNING_SECRET ?? "", found.verified.id.value, given))
            .first()) !== null;
        // An email registered with no readable recipients (extension/src/content/features/compose-tracking.ts
        // registers it all the same) has nobody to check the address against: it is taken as given, so a reader of
        // it can always opt out, and the email is no longer tracked (recordOptOut keeps the time on it).
        const unknownRecipients = found.recipientCount === 0;
        email = unknownRecipients || found.recipients.includes(given) || (await wasRemoved()) ? given : undefined;
      }
      // An address that did not receive this email gets the same answer, so the page reveals no recipient; its reader
      // (on a list the email went to, an alias, a forwarded copy) is still not tracked reading this email.
      const { accountId, value: messageId } = found.verified.id;
      if (email === undefined) await recordReaderOptOut(c.env.DB, accountId, messageId, Date.now());
      else {
        const removedFrom = await emailsRemovedFrom(c.env.DB, c.env.SIGNING_SECRET ?? "", accountId, email);
        await recordOptOut(c.env.DB, accountId, messageId, email, Date.now(), removedFrom);
      }
      return DONE();
    },
  )
  .all("*", () => invalidLinkResponse());
