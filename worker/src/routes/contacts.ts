import { Hono } from "hono";
import { z } from "zod";
import {
  type ContactDetail,
  type ContactSummary,
  type ContactsCheckResponse,
  type ContactsResponse,
  contactsCheckRequest,
  contactsQuery,
  contactTimelineQuery,
  emailAddress,
} from "../../../shared/api";
import { normalizeEmail } from "../../../shared/email";
import { requireAccount } from "../auth";
import { encodeCursor, pageCursor } from "../cursor";
import { contactAt, contactPage, refreshContactScores } from "../db/contact-scores";
import { contactSummaries, contactTimelinePage, deleteContact } from "../db/contacts";
import { addressStates, liftSuppression } from "../db/signals";
import { storedSpellings } from "../db/spellings";
import type { AppEnv } from "../env";
import { jsonError, validated } from "../http";

const NOT_FOUND = "no such contact in this account";
const emailParam = z.object({ email: emailAddress });

/**
 * `/api/contacts`: the compose check, the people list, a contact's timeline, lifting a suppression, and deleting a
 * contact (docs/protocol.md §10, §11, §13).
 */
export const contactsRoute = new Hono<AppEnv>()
  .use(requireAccount)
  .post("/check", validated("json", contactsCheckRequest), async (c) => {
    const emails = c.req.valid("json").emails.map(normalizeEmail);
    const states = await addressStates(c.env.DB, c.get("account").id, emails);
    const body: ContactsCheckResponse = {
      contacts: emails.map((email) => ({ email, suppressed: false, bounceKind: null, optedOut: false, ...states.get(email) })),
    };
    return c.json(body);
  })
  .get("/", validated("query", contactsQuery), async (c) => {
    const { sort, campaign, minScore, cursor, limit } = c.req.valid("query");
    // [stored key, email] of the last contact sent, and the time the listing's first page scored contacts at: every
    // page scores with that clock, and the stored keys order contacts the same at any time (db/contact-scores.ts).
    const { values: after, error } = pageCursor(c, cursor, ["n", "s", "n"]);
    if (error) return error;
    const now = after ? after[2] : Date.now();
    const accountId = c.get("account").id;
    const left = await refreshContactScores(c.env.DB, accountId, now);
    const { contacts, next } = await contactPage(
      c.env.DB,
      accountId,
      now,
      { sort, campaign, minScore, after: after ? [after[0], after[1]] : undefined, limit },
      left,
    );
    const body: ContactsResponse = {
      contacts: await contactSummaries(c.env.DB, accountId, contacts),
      nextCursor: next && encodeCursor([...next, now]),
      pendingContacts: left.count,
    };
    return c.json(body);
  })
  .get("/:email", validated("param", emailParam), validated("query", contactTimelineQuery), async (c) => {
    const accountId = c.get("account").id;
    const email = normalizeEmail(c.req.valid("param").email);
    const { cursor, limit } = c.req.valid("query");
    const { values: before, error } = pageCursor(c, cursor, ["n", "s"]);
    if (error) return error;
    // The person in every spelling the account stored of the address (`jörg@münchen.de`, `jörg@xn--mnchen-3ya.de`,
    // NFC and NFD): one contact, one timeline, whichever spelling is asked.
    const spellings = (await storedSpellings(c.env.DB, accountId, [email])).get(email) ?? [email];
    const [contact, page] = await Promise.all([
      contactAt(c.env.DB, accountId, spellings, Date.now()),
      contactTimelinePage(c.env.DB, accountId, spellings, before, limit),
    ]);
    if (!contact) return jsonError(c, 404, NOT_FOUND);
    // Its suppression, bounce and opt-out state read in the spellings read above, not looked up again: the address
    // shown is one of them (the person's readable spelling), and each folds to the same address.
    const known = new Map([[contact.email, [...new Set([contact.email, ...spellings])]]]);
    const body: ContactDetail = {
      contact: (await contactSummaries(c.env.DB, accountId, [contact], known))[0] as ContactSummary,
      timeline: page.items,
      nextCursor: page.next && encodeCursor(page.next),
    };
    return c.json(body);
  })
  /** Lifts the address's suppression: the rep fixed the address, or the notice was wrong (§10). */
  .delete("/:email/suppression", validated("param", emailParam), async (c) => {
    const email = normalizeEmail(c.req.valid("param").email);
    if (!(await liftSuppression(c.env.DB, c.get("account").id, email, Date.now())))
      return jsonError(c, 404, "this address is not on the suppression list");
    return c.body(null, 204);
  })
  .delete("/:email", validated("param", emailParam), async (c) => {
    const email = normalizeEmail(c.req.valid("param").email);
    if (!(await deleteContact(c.env.DB, c.get("account").id, email, Date.now(), c.env.SIGNING_SECRET ?? "")))
      return jsonError(c, 404, NOT_FOUND);
    return c.body(null, 204);
  });
