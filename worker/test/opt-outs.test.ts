// How far a recipient's opt-out reaches (docs/protocol.md §11): every account of the tracker, every spelling of the
// recipient's mailbox, and migration 0017, which matches them, on rows stored before it.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ContactsCheckResponse, ContactsResponse } from "../../shared/api";
import { mailboxKey } from "../../shared/email";
import { mintTrackingId } from "../../shared/protocol";
import { optedOutSince } from "../src/db/events";
import { hitFromRequest } from "../src/hits";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { BASE, CHROME_UA, call, createAccount, registration, sentMessage, storedEvents, type TestAccount } from "./helpers";

/** Builds an open (or click) of the message through the real request path and stores it as the queue consumer does. */
async function hitNow(account: TestAccount, messageId: string, kind: "open" | "click" = "open"): Promise<number> {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA } });
  const target = { accountId: account.accountId, messageId, accountKey, kind, linkIndex: kind === "click" ? 0 : null };
  return storeHits(env.DB, [await hitFromRequest(request, target, Date.now())]);
}

/** The reader's answer on the opt-out page of email `id`, with the address typed when the page asks for one. */
function optOut(id: string, email?: string): Promise<Response> {
  if (email === undefined) return call(`/u/${id}`, { method: "POST" });
  return call(`/u/${id}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email }).toString(),
  });
}

async function optedOut(account: TestAccount, emails: string[]): Promise<boolean[]> {
  const checked = await account.json<ContactsCheckResponse>("POST", "/api/contacts/check", { emails });
  return checked.body.contacts.map((contact) => contact.optedOut);
}

/** A second account on the same tracker: a teammate through REGISTRATION_SECRET, or the rep on a new browser. */
const teammates = async () => [await createAccount("Rep A"), await createAccount("Rep B")] as const;

describe("an opt-out reaches every account of the tracker", () => {
  it("stops hits of the other account's emails to the address, sent before and after it, and of none to others", async () => {
    const [a, b] = await teammates();
    const to = (account: TestAccount, email: string) => sentMessage(account, { recipients: [{ email }], optOutLink: true });
    const earlierInB = await to(b, "leaver@wingtip.example");
    const sharedInB = await sentMessage(b, { recipients: [{ email: "leaver@wingtip.example" }, { email: "stays@wingtip.example" }] });
    const controlInB = await to(b, "stays@wingtip.example");
    expect(await hitNow(b, earlierInB.id)).toBe(1);
    // The reader opts out through account A's email.
    const viaA = await to(a, "leaver@wingtip.example");
    expect((await optOut(viaA.id)).status).toBe(200);
    for (const email of [earlierInB, sharedInB]) {
      expect(await hitNow(b, email.id)).toBe(0);
      expect(await hitNow(b, email.id, "click")).toBe(0);
    }
    expect(await hitNow(b, controlInB.id)).toBe(1);
    expect(await storedEvents(earlierInB.id)).toHaveLength(1); // the open from before the opt-out is kept
    // An email B registers later: hits that came before its registration (stored while it was unknown) go at it.
    const laterId = await mintTrackingId(b.key);
    expect(await hitNow(b, laterId)).toBe(1);
    expect(
      (await b.json("PUT", `/api/messages/${laterId}`, registration({ recipients: [{ email: "leaver@wingtip.example" }] }))).status,
    ).toBe(200);
    expect(await storedEvents(laterId)).toHaveLength(0);
    expect(await hitNow(b, laterId)).toBe(0);
  });

  it("warns the other account's rep, and tells that account nothing of the email or when", async () => {
    const [a, b] = await teammates();
    const viaA = await sentMessage(a, { recipients: [{ email: "quiet@wingtip.example" }], optOutLink: true });
    const inB = await sentMessage(b, { recipients: [{ email: "quiet@wingtip.example" }] });
    expect(await optedOut(b, ["quiet@wingtip.example", "other@wingtip.example"])).toEqual([false, false]);
    expect((await optOut(viaA.id)).status).toBe(200);
    expect(await optedOut(b, ["quiet@wingtip.example", "other@wingtip.example"])).toEqual([true, false]);
    const people = await b.json<ContactsResponse>("GET", "/api/contacts?limit=10");
    expect(people.body.contacts.find((c) => c.email === "quiet@wingtip.example")?.optedOut).toBe(true);
    // The opt-out and its signal stay A's: B's email shows no unsubscribe, and B's timeline of the contact no event.
    const detail = await b.json<{ unsubscribed: boolean }>("GET", `/api/messages/${inB.id}`);
    expect(detail.body.unsubscribed).toBe(false);
    const timeline = await b.json<{ timeline: { kind: string }[] }>("GET", `/api/contacts/${encodeURIComponent("quiet@wingtip.example")}`);
    expect(timeline.body.timeline.map((item) => item.kind)).toEqual(["sent"]);
    const { results } = await env.DB.prepare("SELECT account_id FROM opt_outs WHERE email = ?").bind("quiet@wingtip.example").all();
    expect(results).toEqual([{ account_id: a.accountId }]);
  });

  it("settles an opt-out held for an email not registered yet across accounts once its registration names the address", async () => {
    const [a, b] = await teammates();
    const inB = await sentMessage(b, { recipients: [{ email: "early@wingtip.example" }] });
    const pendingInA = await mintTrackingId(a.key);
    expect((await optOut(pendingInA, "Early@Wingtip.example")).status).toBe(200);
    // Until A's registration says the email went to that address, it is only that email that is untracked.
    expect(await hitNow(b, inB.id)).toBe(1);
    expect(await optedOut(b, ["early@wingtip.example"])).toEqual([false]);
    expect(
      (await a.json("PUT", `/api/messages/${pendingInA}`, registration({ recipients: [{ email: "early@wingtip.example" }] }))).status,
    ).toBe(200);
    expect(await hitNow(b, inB.id)).toBe(0);
    expect(await optedOut(b, ["early@wingtip.example"])).toEqual([true]);
  });

  it("reaches the other account's emails the person was deleted from as a contact, in another spelling too", async () => {
    const [a, b] = await teammates();
    const sharedInB = await sentMessage(b, { recipients: [{ email: "John.Doe@gmail.com" }, { email: "stays@wingtip.example" }] });
    expect((await b.json("DELETE", `/api/contacts/${encodeURIComponent("john.doe@gmail.com")}`)).status).toBe(204);
    expect(await hitNow(b, sharedInB.id)).toBe(1);
    // The person opts out through A's email, in the spelling A used: B's email keeps only fingerprints of them.
    const viaA = await sentMessage(a, { recipients: [{ email: "johndoe+sales@googlemail.com" }], optOutLink: true });
    expect((await optOut(viaA.id)).status).toBe(200);
    expect(await hitNow(b, sharedInB.id)).toBe(0);
  });
});

describe("an opt-out reaches every spelling of the mailbox", () => {
  it("at Gmail: dots, a +tag and googlemail.com are the same mailbox; another address is not", async () => {
    const [a, b] = await teammates();
    const viaA = await sentMessage(a, { recipients: [{ email: "john.doe@gmail.com" }], optOutLink: true });
    const spellings = ["johndoe@gmail.com", "John.Doe+work@gmail.com", "john.doe@googlemail.com", "j.o.h.n.doe@gmail.com"];
    const inB = await Promise.all(spellings.map((email) => sentMessage(b, { recipients: [{ email }] })));
    const unrelated = await sentMessage(b, { recipients: [{ email: "jane.doe@gmail.com" }] });
    expect((await optOut(viaA.id)).status).toBe(200);
    for (const email of inB) expect(await hitNow(b, email.id), email.recipients[0]?.email).toBe(0);
    expect(await hitNow(b, unrelated.id)).toBe(1);
    expect(await optedOut(b, [...spellings, "jane.doe@gmail.com"])).toEqual([true, true, true, true, false]);
    // The addresses stay as they were written: only the matching reads the mailbox.
    const detail = await b.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${inB[1]?.id}`);
    expect(detail.body.recipients.map((r) => r.email)).toEqual(["John.Doe+work@gmail.com"]);
  });

  it("elsewhere: a +tag is the same mailbox, a dot is not", async () => {
    const [a, b] = await teammates();
    const viaA = await sentMessage(a, { recipients: [{ email: "anne.smith@wingtip.example" }, { email: "cto@wingtip.example" }] });
    const tagged = await sentMessage(b, { recipients: [{ email: "anne.smith+news@wingtip.example" }] });
    const undotted = await sentMessage(b, { recipients: [{ email: "annesmith@wingtip.example" }] });
    // Typed in another spelling on a page that asks: still a recipient of the email, so recorded for the address.
    expect((await optOut(viaA.id, "Anne.Smith+Me@wingtip.example")).status).toBe(200);
    expect(await hitNow(b, tagged.id)).toBe(0);
    expect(await hitNow(b, undotted.id)).toBe(1);
    expect(await optedOut(a, ["anne.smith@wingtip.example", "annesmith@wingtip.example"])).toEqual([true, false]);
  });
});

/** Addresses whose key the migration's SQL and mailboxKey must agree on: each rule's cases and its edges. */
const ADDRESSES = [
  "john.doe@gmail.com",
  "john.doe+work@gmail.com",
  "j.o.h.n+a+b@googlemail.com",
  "+tag@gmail.com",
  "anne.smith+news@wingtip.example",
  "anne-marie@yahoo.com",
  "+tag@wingtip.example",
  "a+@wingtip.example",
  "j.doe@mail.gmail.com",
  "jörg+x@münchen.de",
  "user@xn--80ak6aa92e.xn--p1ai",
  "admin@intranet",
  "first=last+x@acme.example",
  "no-at-sign",
];

describe("migration 0017", () => {
  it("gives the rows stored before it their mailbox, as mailboxKey does, and finds opt-outs by it through an index", async () => {
    const db = env.MIGRATION_TEST_DB;
    const before = env.TEST_MIGRATIONS.filter((m) => m.name < "0017");
    const rest = env.TEST_MIGRATIONS.filter((m) => m.name >= "0017");
    expect(rest[0]?.name).toBe("0017_opt_outs_by_mailbox.sql");
    await applyD1Migrations(db, before);
    // Rows as the schema up to 0016 wrote them: addresses trimmed and lower-cased.
    await db.batch(
      ADDRESSES.flatMap((email, i) => [
        db.prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES ('acct-a', ?, 'm-a', ?)").bind(email, i),
        db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES (?, 'acct-b', ?)").bind(`m-${i}`, email),
      ]),
    );
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    const keys = ADDRESSES.map((email): [string, string] => [email, mailboxKey(email)]);
    for (const table of ["opt_outs", "message_recipients"]) {
      const { results } = await db.prepare(`SELECT email, mailbox FROM ${table}`).all<{ email: string; mailbox: string }>();
      expect(new Map(results.map((row) => [row.email, row.mailbox])), table).toEqual(new Map(keys));
    }
    // And on a row written after it.
    await db.prepare("INSERT INTO opt_outs (account_id, email, created_at) VALUES ('acct-c', 'x.y+z@googlemail.com', 0)").run();
    expect(await db.prepare("SELECT mailbox FROM opt_outs WHERE account_id = 'acct-c'").first("mailbox")).toBe("xy@gmail.com");
    // An email of account B finds account A's opt-out of its recipient; each recipient is one seek of the index.
    expect(await db.prepare(`SELECT ${optedOutSince("'m-1'")} AS t`).first("t")).toBe(0);
    const { results: plan } = await db
      .prepare(`EXPLAIN QUERY PLAN SELECT ${optedOutSince("?1")}`)
      .bind("m-1")
      .all<{ detail: string }>();
    expect(plan.map((row) => row.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SEARCH r USING (COVERING )?INDEX sqlite_autoindex_message_recipients_1 \(message_id=\?\)$/),
        expect.stringMatching(/^SEARCH o USING (COVERING )?INDEX opt_outs_by_mailbox \(mailbox=\?\)$/),
      ]),
    );
  });
});
