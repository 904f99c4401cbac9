// How far a recipient's opt-out reaches (docs/protocol.md §11): every account of the tracker, every spelling of the
// recipient's mailbox, and migration 0017, which matches them, on rows stored before it.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ContactsCheckResponse, ContactsResponse } from "../../shared/api";
import { mailboxKey, mailboxOf } from "../../shared/email";
import { mintTrackingId } from "../../shared/protocol";
import { optedOutSince } from "../src/db/events";
import { keyStoredMailboxes } from "../src/db/mailboxes";
import { purgeExpiredEvents, SENDER_VIEW_RETENTION_MS } from "../src/db/retention";
import { coveredEventsSql } from "../src/db/signals";
import { fingerprintsToFind, removedFingerprints } from "../src/recipient-fingerprint";
import {
  createAccount,
  HOUR,
  keyedHashesDuring,
  MINUTE,
  migrateRowsAcross,
  registration,
  sentMessage,
  storedEvents,
  type TestAccount,
} from "./helpers";
import { deleteContactBefore0017, deleteContactBefore0023, hitNow, optOut, ownLocalPart, pause } from "./opt-out-helpers";

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

  it("warns the other account's rep, and tells that account not which email", async () => {
    const [a, b] = await teammates();
    const viaA = await sentMessage(a, { recipients: [{ email: "quiet@wingtip.example" }], optOutLink: true });
    const inB = await sentMessage(b, { recipients: [{ email: "quiet@wingtip.example" }] });
    expect(await optedOut(b, ["quiet@wingtip.example", "other@wingtip.example"])).toEqual([false, false]);
    expect((await optOut(viaA.id)).status).toBe(200);
    expect(await optedOut(b, ["quiet@wingtip.example", "other@wingtip.example"])).toEqual([true, false]);
    const people = await b.json<ContactsResponse>("GET", "/api/contacts?limit=10");
    expect(people.body.contacts.find((c) => c.email === "quiet@wingtip.example")?.optedOut).toBe(true);
    // B's email stores no more hits, and says so as the people list does (that the person opted out, not through
    // which email); the opt-out and its signal stay A's: B's timeline of the contact shows no event of it.
    const detail = await b.json<{ unsubscribed: boolean }>("GET", `/api/messages/${inB.id}`);
    expect(detail.body.unsubscribed).toBe(true);
    expect(await hitNow(b, inB.id)).toBe(0);
    const timeline = await b.json<{ timeline: { kind: string }[] }>("GET", `/api/contacts/${encodeURIComponent("quiet@wingtip.example")}`);
    expect(timeline.body.timeline.map((item) => item.kind)).toEqual(["sent"]);
    const { results } = await env.DB.prepare("SELECT account_id FROM opt_outs WHERE email = ?").bind("quiet@wingtip.example").all();
    expect(results).toEqual([{ account_id: a.accountId }]);
  });

  it("an email to someone who opted out before it was sent says unsubscribed from its first registration on, as the tracker enforces", async () => {
    const [a] = await teammates();
    const recipients = [{ email: `${ownLocalPart()}@wingtip.example` }];
    const via = await sentMessage(a, { recipients, optOutLink: true });
    expect((await optOut(via.id)).status).toBe(200);
    const later = await sentMessage(a, { recipients });
    const unsubscribed = async () => (await a.json<{ unsubscribed: boolean }>("GET", `/api/messages/${later.id}`)).body.unsubscribed;
    expect(await unsubscribed()).toBe(true);
    // Registered again (Gmail's answer brings its thread): the same, as its hits store nothing either way.
    expect((await a.json("PUT", `/api/messages/${later.id}`, registration({ recipients, threadId: "18f7a1b2c3d4e5aa" }))).status).toBe(200);
    expect(await unsubscribed()).toBe(true);
    expect(await hitNow(a, later.id)).toBe(0);
  });

  it("settles an opt-out held for an email not registered yet across accounts once its registration names the address", async () => {
    const [a, b] = await teammates();
    const inB = await sentMessage(b, { recipients: [{ email: "early@wingtip.example" }] });
    const pendingInA = await mintTrackingId(a.key);
    expect(await hitNow(b, inB.id)).toBe(1);
    const before = await storedEvents(inB.id);
    await pause();
    expect((await optOut(pendingInA, "Early@Wingtip.example")).status).toBe(200);
    // Until A's registration says the email went to that address, it is only that email that is untracked.
    expect(await hitNow(b, inB.id)).toBe(1);
    expect(await optedOut(b, ["early@wingtip.example"])).toEqual([false]);
    const scoreOfB = async () =>
      (await b.json<ContactsResponse>("GET", "/api/contacts?limit=10")).body.contacts.find((c) => c.email === "early@wingtip.example")
        ?.score;
    const scoredWithBoth = await scoreOfB();
    expect(
      (await a.json("PUT", `/api/messages/${pendingInA}`, registration({ recipients: [{ email: "early@wingtip.example" }] }))).status,
    ).toBe(200);
    expect(await hitNow(b, inB.id)).toBe(0);
    expect(await optedOut(b, ["early@wingtip.example"])).toEqual([true]);
    // Recorded at the time it was typed, it takes the hit B stored since: the one before stays, and B's people list
    // scores the contact without it.
    expect(await storedEvents(inB.id)).toEqual(before);
    expect(await scoreOfB()).toBeLessThan(scoredWithBoth ?? 0);
  });

  it("finds the emails whose hits a backdated opt-out deletes by one seek of their recipients' mailbox, whichever account", async () => {
    const { results: plan } = await env.DB.prepare(
      `EXPLAIN QUERY PLAN DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE ${coveredEventsSql("?1", "?2", "?3")})`,
    )
      .bind("someone@wingtip.example", "[]", 0)
      .all<{ detail: string }>();
    expect(plan.map((row) => row.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SEARCH message_recipients USING (COVERING )?INDEX message_recipients_by_mailbox \(mailbox=\?\)$/),
        expect.stringMatching(/^SEARCH e USING (COVERING )?INDEX events_by_message \(message_id=\?\)$/),
      ]),
    );
  });

  it("keeps a held opt-out's earlier time when the address opted out through the same account since", async () => {
    const a = await createAccount("Rep A");
    const person = `late${ownLocalPart()}@wingtip.example`;
    const other = await sentMessage(a, { recipients: [{ email: person }] });
    const registered = await sentMessage(a, { recipients: [{ email: person }], optOutLink: true });
    const pendingInA = await mintTrackingId(a.key);
    expect((await optOut(pendingInA, person)).status).toBe(200);
    const typedAt = (await env.DB.prepare("SELECT created_at FROM pending_opt_outs WHERE message_id = ?")
      .bind(pendingInA)
      .first<number>("created_at")) as number;
    await pause();
    expect(await hitNow(a, other.id)).toBe(1);
    await pause();
    // Through a registered email now: recorded at once, at this later time.
    expect((await optOut(registered.id)).status).toBe(200);
    expect((await a.json("PUT", `/api/messages/${pendingInA}`, registration({ recipients: [{ email: person }] }))).status).toBe(200);
    const row = await env.DB.prepare("SELECT message_id, created_at FROM opt_outs WHERE email = ?").bind(person).first();
    expect(row).toEqual({ message_id: registered.id, created_at: typedAt });
    expect(await storedEvents(other.id)).toEqual([]);
  });

  it("reaches the account's own emails the person was deleted from as a contact, in another spelling too", async () => {
    // At once, the account's own: the search for a deleted contact's fingerprints costs keyed hashes per email read,
    // so the opt-out's request searches only the newest of the account it came through (db/opt-outs.ts
    // OWN_SEARCH_HASHES). Its older ones, and another account's email the person was deleted from, are reached by
    // the hourly purge (opt-out-sweeps.test.ts); one that still lists them at once, by mailbox (the tests above).
    const b = await createAccount("Rep B");
    const local = ownLocalPart();
    const shared = await sentMessage(b, { recipients: [{ email: `John.Doe${local}@gmail.com` }, { email: "stays@wingtip.example" }] });
    expect((await b.json("DELETE", `/api/contacts/${encodeURIComponent(`john.doe${local}@gmail.com`)}`)).status).toBe(204);
    expect(await hitNow(b, shared.id)).toBe(1);
    // The person opts out through B's other email, in another spelling: the shared email keeps only fingerprints of them.
    const other = await sentMessage(b, { recipients: [{ email: `johndoe${local}+sales@googlemail.com` }], optOutLink: true });
    expect((await optOut(other.id)).status).toBe(200);
    expect(await hitNow(b, shared.id)).toBe(0);
  });
});

describe("an opt-out reaches every spelling of the mailbox", () => {
  it("at Gmail: dots, a +tag and googlemail.com are the same mailbox; another address is not", async () => {
    const [a, b] = await teammates();
    const local = ownLocalPart();
    const viaA = await sentMessage(a, { recipients: [{ email: `john.doe${local}@gmail.com` }], optOutLink: true });
    const spellings = [
      `johndoe${local}@gmail.com`,
      `John.Doe${local}+work@gmail.com`,
      `john.doe${local}@googlemail.com`,
      `j.o.h.n.doe${local}@gmail.com`,
    ];
    const inB = await Promise.all(spellings.map((email) => sentMessage(b, { recipients: [{ email }] })));
    const unrelated = await sentMessage(b, { recipients: [{ email: `jane.doe${local}@gmail.com` }] });
    expect(await optedOut(b, spellings)).toEqual([false, false, false, false]);
    expect((await optOut(viaA.id)).status).toBe(200);
    for (const email of inB) expect(await hitNow(b, email.id), email.recipients[0]?.email).toBe(0);
    expect(await hitNow(b, unrelated.id)).toBe(1);
    expect(await optedOut(b, [...spellings, `jane.doe${local}@gmail.com`])).toEqual([true, true, true, true, false]);
    // The addresses stay as they were written: only the matching reads the mailbox.
    const detail = await b.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${inB[1]?.id}`);
    expect(detail.body.recipients.map((r) => r.email)).toEqual([`John.Doe${local}+work@gmail.com`]);
  });

  it("elsewhere: a +tag is the same mailbox, a dot is not", async () => {
    const [a, b] = await teammates();
    const anne = `anne.smith${ownLocalPart()}`;
    const viaA = await sentMessage(a, { recipients: [{ email: `${anne}@wingtip.example` }, { email: "cto@wingtip.example" }] });
    const tagged = await sentMessage(b, { recipients: [{ email: `${anne}+news@wingtip.example` }] });
    const undotted = await sentMessage(b, { recipients: [{ email: `${anne.replace(".", "")}@wingtip.example` }] });
    // Typed in another spelling on a page that asks: still a recipient of the email, so recorded for the address.
    expect((await optOut(viaA.id, `${anne}+Me@wingtip.example`)).status).toBe(200);
    expect(await hitNow(b, tagged.id)).toBe(0);
    expect(await hitNow(b, undotted.id)).toBe(1);
    expect(await optedOut(a, [`${anne}@wingtip.example`, `${anne.replace(".", "")}@wingtip.example`])).toEqual([true, false]);
  });

  it("records one typed in another spelling under the recipient's address: its timeline shows it, its deletion takes the signal", async () => {
    const a = await createAccount("Rep A");
    const anne = `anne.smith${ownLocalPart()}@wingtip.example`;
    const typed = anne.replace("@", "+me@");
    const shared = await sentMessage(a, { recipients: [{ email: anne }, { email: "cto@wingtip.example" }] });
    expect((await optOut(shared.id, typed)).status).toBe(200);
    const timeline = await a.json<{ timeline: { kind: string }[] }>("GET", `/api/contacts/${encodeURIComponent(anne)}`);
    expect(timeline.body.timeline.map((item) => item.kind)).toEqual(["unsubscribe", "sent"]);
    expect((await a.json("DELETE", `/api/contacts/${encodeURIComponent(anne)}`)).status).toBe(204);
    const named = (table: string) =>
      env.DB.prepare(`SELECT email FROM ${table} WHERE email IN (?, ?)`).bind(anne, typed).all<{ email: string }>();
    // Every unsubscribe naming the contact goes with it; its opt-out stays, under its address (docs/protocol.md §13).
    expect((await named("signals")).results).toEqual([]);
    expect((await named("opt_outs")).results).toEqual([{ email: anne }]);
  });
});

describe("an opt-out reaches every spelling of an international address", () => {
  const nfd = (text: string) => text.normalize("NFD");

  it("a Unicode domain and its punycode are one mailbox, each way round", async () => {
    const [a, b] = await teammates();
    for (const [registeredInA, registeredInB] of [
      ["münchen.de", "xn--mnchen-3ya.de"],
      ["xn--mnchen-3ya.de", "MÜNCHEN.DE"],
    ]) {
      const jorg = `jörg${ownLocalPart()}`;
      const viaA = await sentMessage(a, { recipients: [{ email: `${jorg}@${registeredInA}` }], optOutLink: true });
      const inB = await sentMessage(b, { recipients: [{ email: `${jorg}@${registeredInB}` }] });
      expect((await optOut(viaA.id)).status).toBe(200);
      expect(await hitNow(b, inB.id), registeredInB).toBe(0);
      expect(await optedOut(b, [`${jorg}@${registeredInB}`]), registeredInB).toEqual([true]);
    }
  });

  it("typed on the page in the other spelling, it is recorded under the recipient's address", async () => {
    const [a, b] = await teammates();
    const jorg = `jörg${ownLocalPart()}`;
    const viaA = await sentMessage(a, { recipients: [{ email: `${jorg}@xn--mnchen-3ya.de` }, { email: "cto@wingtip.example" }] });
    const inB = await sentMessage(b, { recipients: [{ email: `${jorg}@münchen.de` }] });
    expect((await optOut(viaA.id, `${jorg.toUpperCase()}@München.de`)).status).toBe(200);
    expect(await hitNow(b, inB.id)).toBe(0);
    const { results } = await env.DB.prepare("SELECT email FROM opt_outs WHERE message_id = ?").bind(viaA.id).all();
    expect(results).toEqual([{ email: `${jorg}@xn--mnchen-3ya.de` }]);
  });

  it("an accent as one code point (NFC) and as a letter and a combining mark (NFD) are one mailbox", async () => {
    const [a, b] = await teammates();
    const rene = `rené${ownLocalPart()}@acme.example`;
    expect(nfd(rene)).not.toBe(rene);
    const viaA = await sentMessage(a, { recipients: [{ email: nfd(rene) }], optOutLink: true });
    const inB = await sentMessage(b, { recipients: [{ email: rene }] });
    expect((await optOut(viaA.id)).status).toBe(200);
    expect(await hitNow(b, inB.id)).toBe(0);
    expect(await optedOut(b, [rene, nfd(rene)])).toEqual([true, true]);
  });

  it("reaches an email the person was deleted from as a contact, by the other spelling", async () => {
    const b = await createAccount("Rep B");
    const jorg = `jörg${ownLocalPart()}`;
    const shared = await sentMessage(b, { recipients: [{ email: `${jorg}@münchen.de` }, { email: "stays@wingtip.example" }] });
    expect((await b.json("DELETE", `/api/contacts/${encodeURIComponent(`${jorg}@münchen.de`)}`)).status).toBe(204);
    expect(await hitNow(b, shared.id)).toBe(1);
    const other = await sentMessage(b, { recipients: [{ email: `${jorg}@xn--mnchen-3ya.de` }], optOutLink: true });
    expect((await optOut(other.id)).status).toBe(200);
    expect(await hitNow(b, shared.id)).toBe(0);
  });

  it("reaches an email the person was deleted from before migration 0023, in NFD, by an opt-out typed in NFC", async () => {
    const b = await createAccount("Rep B");
    const rene = `rené${ownLocalPart()}@acme.example`;
    const shared = await sentMessage(b, { recipients: [{ email: nfd(rene) }, { email: "stays@wingtip.example" }] });
    // Its mailbox key did not fold the address then.
    await deleteContactBefore0023(b, shared.id, nfd(rene));
    expect(await hitNow(b, shared.id)).toBe(1);
    // Through B's other email to them, registered in NFC.
    const other = await sentMessage(b, { recipients: [{ email: rene }], optOutLink: true });
    expect((await optOut(other.id)).status).toBe(200);
    expect(await hitNow(b, shared.id)).toBe(0);
  });

  it("reaches an email the person was deleted from before migration 0023 under a Unicode domain, by an opt-out typed in punycode", async () => {
    const b = await createAccount("Rep B");
    // The domain as the contact was typed then, in either form a keyboard gives: 0023's keys before it did not fold it.
    for (const domain of ["münchen.de", nfd("münchen.de")]) {
      const jorg = `jorg${ownLocalPart()}`;
      const shared = await sentMessage(b, { recipients: [{ email: `${jorg}@${domain}` }, { email: "stays@wingtip.example" }] });
      await deleteContactBefore0023(b, shared.id, `${jorg}@${domain}`);
      expect(await hitNow(b, shared.id), domain).toBe(1);
      // Through B's other email to them, registered with the domain's punycode: only a decoding of it gives the Unicode.
      const other = await sentMessage(b, { recipients: [{ email: `${jorg}@xn--mnchen-3ya.de` }], optOutLink: true });
      expect((await optOut(other.id)).status).toBe(200);
      expect(await hitNow(b, shared.id), domain).toBe(0);
    }
  });

  it("reaches an email the person was deleted from before migration 0017 under a Unicode domain, by an opt-out typed in punycode", async () => {
    const b = await createAccount("Rep B");
    for (const domain of ["münchen.de", nfd("münchen.de")]) {
      const jorg = `jorg${ownLocalPart()}`;
      const shared = await sentMessage(b, { recipients: [{ email: `${jorg}@${domain}` }, { email: "stays@wingtip.example" }] });
      await deleteContactBefore0017(b, shared.id, `${jorg}@${domain}`);
      expect(await hitNow(b, shared.id), domain).toBe(1);
      const other = await sentMessage(b, { recipients: [{ email: `${jorg}@xn--mnchen-3ya.de` }], optOutLink: true });
      expect((await optOut(other.id)).status).toBe(200);
      expect(await hitNow(b, shared.id), domain).toBe(0);
    }
  });

  it("reaches an email the person was deleted from before migration 0017 in NFC, by an opt-out typed in NFD", async () => {
    const b = await createAccount("Rep B");
    const rene = `rené${ownLocalPart()}@acme.example`;
    const shared = await sentMessage(b, { recipients: [{ email: rene }, { email: "stays@wingtip.example" }] });
    await deleteContactBefore0017(b, shared.id, rene);
    expect(await hitNow(b, shared.id)).toBe(1);
    // Typed on the page of the email itself: the address is recorded, for the account's other emails too.
    expect((await optOut(shared.id, nfd(rene))).status).toBe(200);
    expect(await hitNow(b, shared.id)).toBe(0);
    expect(await optedOut(b, [rene])).toEqual([true]);
  });

  it("looks for an address all in ASCII with no punycode label by the two fingerprints its deletion leaves, at two hashes", async () => {
    const secret = env.SIGNING_SECRET ?? "";
    for (const email of ["anne.smith+news@acme.example", "john.doe@googlemail.com", "admin@intranet"]) {
      const left = await removedFingerprints(secret, "m-ascii", email);
      const found = await keyedHashesDuring(() => fingerprintsToFind(secret, "m-ascii", email));
      expect(found.result, email).toEqual(left);
      expect(found.hashes, email).toBe(2);
    }
  });

  it("an opt-out stored before migration 0023 reaches a recipient registered since in the other spelling", async () => {
    const [a, b] = await teammates();
    const jorg = `jörg${ownLocalPart()}`;
    const viaA = await sentMessage(a, { recipients: [{ email: `${jorg}@münchen.de` }] });
    // As the worker wrote it then: no mailbox_key, so migration 0017's key over the Unicode domain.
    await env.DB.prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES (?, ?, ?, ?)")
      .bind(a.accountId, `${jorg}@münchen.de`, viaA.id, Date.now() - MINUTE)
      .run();
    const inB = await sentMessage(b, { recipients: [{ email: `${jorg}@xn--mnchen-3ya.de` }] });
    expect(await hitNow(b, inB.id)).toBe(0);
    expect(await storedEvents(inB.id)).toEqual([]);
  });

  it("a recipient stored before migration 0023 is reached by an opt-out in the other spelling, and loses the hits stored since", async () => {
    const [a, b] = await teammates();
    const jorg = `jörg${ownLocalPart()}`;
    const inB = await sentMessage(b, { recipients: [{ email: `${jorg}@xn--mnchen-3ya.de` }] });
    expect(await hitNow(b, inB.id)).toBe(1);
    // An opt-out of the Unicode spelling an hour ago, stored (as above) with 0017's key: B's email did not match it,
    // and stored the hit above.
    const viaA = await sentMessage(a, { recipients: [{ email: `${jorg}@münchen.de` }] });
    await env.DB.batch([
      env.DB.prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES (?, ?, ?, ?)").bind(
        a.accountId,
        `${jorg}@münchen.de`,
        viaA.id,
        Date.now() - HOUR,
      ),
      // And B's recipient row as 0023 found it.
      env.DB.prepare("UPDATE message_recipients SET mailbox_key = NULL WHERE message_id = ?").bind(inB.id),
    ]);
    expect(await keyStoredMailboxes(env.DB)).toBe(true);
    expect(await storedEvents(inB.id)).toEqual([]);
    expect(await hitNow(b, inB.id)).toBe(0);
    const keys = await env.DB.prepare("SELECT mailbox_key FROM message_recipients WHERE message_id = ?").bind(inB.id).all();
    expect(keys.results).toEqual([{ mailbox_key: `${jorg}@xn--mnchen-3ya.de` }]);
  });
});

describe("an address taken as given", () => {
  it("is recorded for at most 20 per email, and the page tells a reader past them", async () => {
    const a = await createAccount("Rep A");
    const deleted = await sentMessage(a, { recipients: [{ email: "gone@wingtip.example" }], optOutLink: true });
    expect((await a.json("DELETE", `/api/messages/${deleted.id}`)).status).toBe(204);
    const local = ownLocalPart();
    const typed = Array.from({ length: 21 }, (_, i) => `anyone${i}.${local}@wingtip.example`);
    for (const [i, email] of typed.entries()) {
      const text = await (await optOut(deleted.id, email)).text();
      expect(text, email).toContain(i < 20 ? "every other email from them" : "could not be recorded for their other emails");
    }
    expect(await optedOut(a, typed.slice(19))).toEqual([true, false]);
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM opt_outs WHERE message_id = ?").bind(deleted.id).all();
    expect(results).toEqual([{ n: 20 }]);
    // An address it holds already is still promised.
    expect(await (await optOut(deleted.id, typed[3] ?? "")).text()).toContain("every other email from them");
  });
});

describe("the hourly purge", () => {
  it("forgets open addresses before it settles abandoned opt-outs, so a failure there cannot keep them", async () => {
    const a = await createAccount("Rep A");
    // A held address due, and a deleted contact of its account: settling it computes keyed hashes.
    const local = ownLocalPart();
    await sentMessage(a, { recipients: [{ email: `gone${local}@wingtip.example` }, { email: "stays@wingtip.example" }] });
    expect((await a.json("DELETE", `/api/contacts/gone${local}%40wingtip.example`)).status).toBe(204);
    expect((await optOut(await mintTrackingId(a.key), `held${local}@wingtip.example`)).status).toBe(200);
    const now = Date.now() + 25 * HOUR;
    // The settling fails as a run past the CPU limit would.
    const sign = vi.spyOn(crypto.subtle, "sign").mockRejectedValue(new Error("exceeded CPU"));
    try {
      await expect(purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", now)).rejects.toThrow("exceeded CPU");
    } finally {
      sign.mockRestore();
    }
    const forgotten = await env.DB.prepare("SELECT open_addresses_forgotten_before AS t FROM retention_purge WHERE id = 1").first("t");
    expect(forgotten).toBe(now - SENDER_VIEW_RETENTION_MS);
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
    // Rows as the schema up to 0016 wrote them: addresses trimmed and lower-cased.
    await migrateRowsAcross(
      "0017_opt_outs_by_mailbox.sql",
      ADDRESSES.flatMap((email, i) => [
        db.prepare("INSERT INTO opt_outs (account_id, email, message_id, created_at) VALUES ('acct-a', ?, 'm-a', ?)").bind(email, i),
        db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES (?, 'acct-b', ?)").bind(`m-${i}`, email),
      ]),
    );
    // 0017's rules over the address as stored, not folded: migration 0023 keys the one with a Unicode domain again
    // (mailboxes.test.ts); every other is what mailboxKey makes of it.
    const keys = ADDRESSES.map((email): [string, string] => [email, mailboxOf(email)]);
    expect(keys.filter(([email, key]) => key !== mailboxKey(email)).map(([email]) => email)).toEqual(["jörg+x@münchen.de"]);
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
