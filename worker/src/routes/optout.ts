// The recipient's opt-out page, `/u/<trackingId>` (docs/protocol.md §11). It turns tracking off and says so: it
// is not an unsubscribe from mail, and neither it nor the link in the email (options-store.ts optOutText) claims to be. GET only shows a confirmation page, so link
// scanners (which only GET) cannot opt anyone out; POST records the opt-out. Nothing here is tracked.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { isEmailAddress, normalizeEmail } from "../../../shared/email";
import { type OptOutTarget, optOutOfEmail, optOutTarget, recordPendingOptOut } from "../db/opt-outs";
import type { AppEnv } from "../env";
import { htmlPage, invalidLinkResponse } from "../http";
import { invalidLinkAnswer } from "../throttle";
import { verifiedTrackingId } from "../verify";

const MAX_FORM_BYTES = 4096;

/** What every opt-out does at once: this email is tracked no more. */
const UNTRACKED =
  "The sender will not see when this email is opened or its links are clicked any more, and is told that a reader turned tracking off.";
const DONE = () =>
  htmlPage(
    "Tracking is off",
    `<p>${UNTRACKED} If it was sent to that address, the same holds for every other email from them to it.</p><p>You may still receive emails from them: to stop those, reply and ask.</p>`,
  );

/** Said when an opt-out of an email not registered yet could not keep the address (recordPendingOptOut). */
const NOT_HELD = () =>
  htmlPage(
    "Tracking of this email is off",
    `<p>${UNTRACKED}</p><p>Your address could not be recorded for their other emails yet: to turn tracking off for those too, come back to this page in a few minutes and send it again.</p>`,
  );

/**
 * Said when an address taken as given could not be recorded: the email has recorded as many as it may
 * (db/opt-outs.ts MAX_AS_GIVEN_PER_EMAIL), and coming back will not change that.
 */
const NOT_RECORDED = () =>
  htmlPage(
    "Tracking of this email is off",
    `<p>${UNTRACKED}</p><p>Your address could not be recorded for their other emails: to turn tracking off for those too, use the link in another email from them.</p>`,
  );

/**
 * The email the page is for. One whose data the sender deleted is tracked no more, but its reader still turns tracking
 * off for the sender's other emails: its recipients went with its data, so the page asks for the address and takes
 * it as given (optOutOfEmail). One not registered yet (seconds after the send, up to a minute or so when the sender's
 * browser retries; its opens may already be stored) has no row, or only the row an earlier opt-out made: the page
 * asks for the reader's address, as for an email whose recipients are unknown, and the opt-out waits for the
 * registration to say whether the email went to it, a day at most (db/opt-outs.ts).
 */
async function target(c: Context<AppEnv>): Promise<OptOutTarget | Response> {
  // Verified first: a recipient's opt-out is honoured whatever else comes from their address (an office's shared
  // one); only invalid ids are throttled, as click links are (docs/protocol.md §9, "Privacy switches").
  const verified = await verifiedTrackingId(c.env, c.req.param("id") ?? "");
  if (!verified) return invalidLinkAnswer(c.env, c.req.raw, Date.now());
  const { accountId, value: messageId } = verified.id;
  return (
    (await optOutTarget(c.env.DB, accountId, messageId)) ?? {
      accountId,
      messageId,
      registered: false,
      deleted: false,
      recipients: [],
      recipientCount: 0,
    }
  );
}

/** The one address a registered email went to, which the page need not ask for. */
function soleRecipient(found: OptOutTarget): string | undefined {
  return found.registered && found.recipientCount === 1 && found.recipients.length === 1 ? found.recipients[0] : undefined;
}

export const optOutRoute = new Hono<AppEnv>()
  .get("/:id", async (c) => {
    const found = await target(c);
    if (found instanceof Response) return found;
    // A text field, not type="email": browsers' email fields refuse a non-ASCII local part (HTML's "valid email
    // address" is ASCII), so a recipient at jörg@münchen.de could not send the form. The server checks the address.
    const form =
      soleRecipient(found) !== undefined
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
      let email = soleRecipient(found);
      if (email === undefined) {
        const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
        email = typeof form.email === "string" ? normalizeEmail(form.email) : "";
        if (!isEmailAddress(email)) return htmlPage("Address needed", "<p>Go back and enter the address this email was sent to.</p>", 400);
      }
      // An address that did not receive this email gets the same answer, so the page reveals no recipient; its reader
      // (on a list the email went to, an alias, a forwarded copy) is still not tracked reading this email.
      const secret = c.env.SIGNING_SECRET ?? "";
      if (found.registered || found.deleted) {
        if (!(await optOutOfEmail(c.env.DB, secret, found, email, Date.now()))) return NOT_RECORDED();
      } else if (!(await recordPendingOptOut(c.env.DB, secret, found.accountId, found.messageId, email, Date.now()))) return NOT_HELD();
      return DONE();
    },
  )
  .all("*", () => invalidLinkResponse());
