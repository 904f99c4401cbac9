// An address compared across its spellings (foldAddress: IDNA domain, NFC) wherever the account compares addresses:
// bounces, replies, the compose check, lifting a suppression, a contact's page and deletion (db/spellings.ts,
// migration 0024). Addresses stay stored and shown as written.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type {
  ContactDetail,
  ContactSummary,
  ContactsCheckResponse,
  ContactsResponse,
  SignalsResponse,
  StatusResponse,
} from "../../shared/api";
import { foldAddress, isAscii, mailboxKey } from "../../shared/email";
import {
  ASCII_FOLDS_PER_REQUEST,
  contactPage,
  FOLDED_INTO_ASCII,
  REFRESH_READ_SQL,
  RESCORED_PER_REQUEST,
  ROWS_READ_PER_ROW_ASKED,
  refreshContactScores,
  scoreKey,
} from "../src/db/contact-scores";
import { type ContactAggregate, scoredContacts } from "../src/db/contacts";
import { purgeExpiredEvents } from "../src/db/retention";
import { RECIPIENT_SPELLINGS_SQL, SIGNAL_SPELLINGS_SQL } from "../src/db/spellings";
import { MAX_IN_LIST } from "../src/db/sql";
import { hitFromRequest } from "../src/hits";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { FlakyD1 } from "./faults";
import {
  ago,
  BASE,
  blankAccount,
  CHROME_UA,
  countedCall,
  createAccount,
  FREE_PLAN_D1_QUERIES,
  HOUR,
  migrateRowsAcross,
  seedMessages,
  seedOpens,
  sentMessage,
  type TestAccount,
} from "./helpers";
import { expectShownAs, referenceContacts, shown } from "./reference-contacts";

const nfd = (text: string) => text.normalize("NFD");

/** One address in the spellings a person, Gmail or a mail server may give it. */
const UNICODE = "jörg@münchen.de";
const PUNYCODE = "jörg@xn--mnchen-3ya.de";
const NFD_UNICODE = nfd(UNICODE);

const path = (email: string) => `/api/contacts/${encodeURIComponent(email)}`;

function signals(account: TestAccount, body: unknown) {
  return account.json<SignalsResponse>("POST", "/api/signals", body);
}

async function check(account: TestAccount, emails: string[]) {
  return (await account.json<ContactsCheckResponse>("POST", "/api/contacts/check", { emails })).body.contacts;
}

const hardBounce = (threadId: string, gmailMessageId: string, recipients: string[]) => ({
  kind: "bounce",
  threadId,
  gmailMessageId,
  at: ago(HOUR / 2),
  bounce: { kind: "hard", recipients, reason: "550 5.1.1 user unknown" },
});

const reply = (threadId: string, gmailMessageId: string, from: string) => ({
  kind: "reply",
  threadId,
  gmailMessageId,
  at: ago(HOUR / 2),
  from,
});

/** Stores an open that happened at `occurredAt` through the real hit builder and consumer. */
async function openAt(account: TestAccount, messageId: string, occurredAt: number) {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA } });
  const target = { accountId: account.accountId, messageId, accountKey, kind: "open" as const, linkIndex: null };
  return storeHits(env.DB, [await hitFromRequest(request, target, occurredAt)]);
}

async function rows(sql: string, ...values: unknown[]): Promise<Record<string, unknown>[]> {
  return (
    await env.DB.prepare(sql)
      .bind(...values)
      .all<Record<string, unknown>>()
  ).results;
}

describe("bounces and the suppression list", () => {
  it("a notice naming the punycode of a recipient written in Unicode suppresses that recipient, as the email lists it", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-idn-bounce", recipients: [{ email: UNICODE }, { email: "other@acme.example" }] });
    const res = await signals(account, { signals: [hardBounce("t-idn-bounce", "msg-f:idn1", [PUNYCODE])] });
    expect(res.body.results[0]?.outcome).toBe("recorded");
    const status = await account.json<StatusResponse>("POST", "/api/messages/status", { threadIds: ["t-idn-bounce"] });
    expect(status.body.messages[0]?.bounce).toMatchObject({ kind: "hard", recipients: [UNICODE] });
    expect(await rows("SELECT email FROM suppressions WHERE account_id = ?", account.accountId)).toEqual([{ email: UNICODE }]);
    // The compose window warns in every spelling, and answers in the one it asked about.
    expect(await check(account, [PUNYCODE, NFD_UNICODE, "JÖRG@MÜNCHEN.DE", "other@acme.example"])).toEqual([
      { email: PUNYCODE, suppressed: true, bounceKind: "hard", optedOut: false },
      { email: NFD_UNICODE, suppressed: true, bounceKind: "hard", optedOut: false },
      { email: "jörg@münchen.de", suppressed: true, bounceKind: "hard", optedOut: false },
      { email: "other@acme.example", suppressed: false, bounceKind: null, optedOut: false },
    ]);
  });

  it("a soft notice in NFD counts for the recipient written in NFC, and a reply in punycode clears it", async () => {
    const account = await createAccount();
    const rene = "rené@acme.example";
    await sentMessage(account, { threadId: "t-nfd-soft", recipients: [{ email: rene }], sentAt: ago(3 * HOUR) });
    await signals(account, {
      signals: [
        { ...hardBounce("t-nfd-soft", "msg-f:s1", [nfd(rene)]), at: ago(2 * HOUR), bounce: { kind: "soft", recipients: [nfd(rene)] } },
      ],
    });
    expect((await check(account, [nfd(rene)]))[0]).toMatchObject({ suppressed: false, bounceKind: "soft" });
    await signals(account, { signals: [reply("t-nfd-soft", "msg-f:r1", nfd(rene))] });
    expect((await check(account, [rene, nfd(rene)])).map((c) => c.bounceKind)).toEqual([null, null]);
  });

  it("two soft bounces of one address written in two spellings on two emails count as repeated", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-soft-uni", recipients: [{ email: UNICODE }], sentAt: ago(5 * HOUR) });
    await sentMessage(account, { threadId: "t-soft-puny", recipients: [{ email: PUNYCODE }], sentAt: ago(3 * HOUR) });
    const soft = (threadId: string, id: string, at: string) => ({
      ...hardBounce(threadId, id, [UNICODE]),
      at,
      bounce: { kind: "soft", recipients: [UNICODE] },
    });
    await signals(account, { signals: [soft("t-soft-uni", "msg-f:s1", ago(4 * HOUR))] });
    expect((await check(account, [UNICODE]))[0]).toMatchObject({ suppressed: false, bounceKind: "soft" });
    await signals(account, { signals: [soft("t-soft-puny", "msg-f:s2", ago(2 * HOUR))] });
    expect((await check(account, [UNICODE, PUNYCODE])).map((c) => c.suppressed)).toEqual([true, true]);
  });

  it("an open of an email to the address alone, written in another spelling, clears a soft bounce on the message's status", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-soft-status", recipients: [{ email: UNICODE }], sentAt: ago(3 * HOUR) });
    const later = await sentMessage(account, { threadId: "t-soft-later", recipients: [{ email: PUNYCODE }], sentAt: ago(2 * HOUR) });
    const soft = {
      ...hardBounce("t-soft-status", "msg-f:s1", [UNICODE]),
      at: ago(2.5 * HOUR),
      bounce: { kind: "soft", recipients: [UNICODE] },
    };
    await signals(account, { signals: [soft] });
    const status = async () =>
      (await account.json<StatusResponse>("POST", "/api/messages/status", { threadIds: ["t-soft-status"] })).body.messages[0];
    expect((await status())?.state).toBe("bounced");
    expect(await openAt(account, later.id, Date.now() - HOUR)).toBe(1);
    expect((await status())?.bounce).toBeNull();
  });

  it("the rep lifts a suppression by another spelling of the address", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-idn-lift", recipients: [{ email: PUNYCODE }] });
    await signals(account, { signals: [hardBounce("t-idn-lift", "msg-f:l1", [UNICODE])] });
    expect((await check(account, [UNICODE]))[0]?.suppressed).toBe(true);
    expect((await account.api(`${path(NFD_UNICODE)}/suppression`, { method: "DELETE" })).status).toBe(204);
    expect((await check(account, [PUNYCODE, UNICODE]))[0]?.suppressed).toBe(false);
    expect((await account.api(`${path(UNICODE)}/suppression`, { method: "DELETE" })).status).toBe(404);
  });

  it("a notice naming in punycode a contact deleted under its Unicode domain still suppresses that address", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-idn-removed", recipients: [{ email: UNICODE }, { email: "stayer@acme.example" }] });
    expect((await account.api(path(UNICODE), { method: "DELETE" })).status).toBe(204);
    await signals(account, { signals: [hardBounce("t-idn-removed", "msg-f:d2", [PUNYCODE])] });
    expect((await check(account, [UNICODE, PUNYCODE, "stayer@acme.example"])).map((c) => c.suppressed)).toEqual([true, true, false]);
  });

  it("a notice naming in Unicode NFC a contact deleted as written in NFD with its punycode domain still suppresses that address", async () => {
    const account = await createAccount();
    // Each part in the other spelling: only NFD with the notice's domain folded gives back the address as written.
    const leaver = `${nfd("jörg")}@xn--mnchen-3ya.de`;
    await sentMessage(account, { threadId: "t-nfd-idn-removed", recipients: [{ email: leaver }, { email: "stayer@acme.example" }] });
    expect((await account.api(path(leaver), { method: "DELETE" })).status).toBe(204);
    await signals(account, { signals: [hardBounce("t-nfd-idn-removed", "msg-f:d3", [UNICODE])] });
    expect((await check(account, [leaver, UNICODE, "stayer@acme.example"])).map((c) => c.suppressed)).toEqual([true, true, false]);
  });

  it("a notice naming a contact deleted in another Unicode form still suppresses that address", async () => {
    const account = await createAccount();
    const leaver = nfd("zoë@acme.example");
    await sentMessage(account, { threadId: "t-nfd-removed", recipients: [{ email: leaver }, { email: "stayer@acme.example" }] });
    expect((await account.api(path(leaver), { method: "DELETE" })).status).toBe(204);
    await signals(account, { signals: [hardBounce("t-nfd-removed", "msg-f:d1", ["zoë@acme.example"])] });
    expect((await check(account, [leaver, "zoë@acme.example", "stayer@acme.example"])).map((c) => c.suppressed)).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe("replies", () => {
  it("a reply from the punycode spelling is the recipient's own, on its page and in its score", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, {
      threadId: "t-idn-reply",
      recipients: [{ email: UNICODE }, { email: "other@acme.example" }],
    });
    const res = await signals(account, { signals: [reply("t-idn-reply", "msg-f:r1", PUNYCODE)] });
    expect(res.body.results[0]).toMatchObject({ outcome: "recorded", messageId: message.id });
    expect(await rows("SELECT email FROM signals WHERE message_id = ?", message.id)).toEqual([{ email: UNICODE }]);
    const page = await account.json<ContactDetail>("GET", path(UNICODE));
    expect(page.body.timeline.filter((item) => item.kind === "reply")).toEqual([expect.objectContaining({ shared: false })]);
    // A reply from another recipient is theirs alone; from someone else, it would be shared by both recipients.
    const other = await account.json<ContactDetail>("GET", path("other@acme.example"));
    expect(other.body.timeline.filter((item) => item.kind === "reply")).toEqual([]);
    expect(page.body.contact.score).toBeGreaterThan(other.body.contact.score);
  });

  it("a reply stored before in the sender's spelling becomes the recipient's own at the next purge", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, {
      recipients: [{ email: UNICODE }, { email: "other@acme.example" }],
      sentAt: ago(3 * HOUR),
    });
    // As the worker wrote a reply before it recorded each under the recipient's spelling: as Gmail gave its sender.
    // Migration 0025's trigger lists it, as it lists those the previous release writes while 0025 is being deployed.
    await env.DB.prepare(
      `INSERT INTO signals (account_id, message_id, kind, source_id, email, occurred_at, inserted_at) VALUES (?, ?, 'reply', 'msg-f:old', ?, ?, ?)`,
    )
      .bind(account.accountId, message.id, PUNYCODE, Date.now() - HOUR, Date.now() - HOUR)
      .run();
    const replies = async (email: string) =>
      (await account.json<ContactDetail>("GET", path(email))).body.timeline.filter((item) => item.kind === "reply");
    // Someone not on the email, until then: shared by both recipients.
    expect(await replies("other@acme.example")).toEqual([expect.objectContaining({ shared: true })]);
    await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", Date.now());
    expect(await rows("SELECT email FROM signals WHERE message_id = ?", message.id)).toEqual([{ email: UNICODE }]);
    expect(await replies(UNICODE)).toEqual([expect.objectContaining({ shared: false })]);
    expect(await replies("other@acme.example")).toEqual([]);
    expect(await rows("SELECT seq FROM replies_to_respell")).toEqual([]);
  });

  it("ignores the rep's own message in another spelling of the rep's address", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-idn-self", recipients: [{ email: "buyer@acme.example" }] });
    const own = reply("t-idn-self", "msg-f:o1", nfd("rép@société.example"));
    const res = await signals(account, { self: ["rép@xn--socit-esab.example"], signals: [own] });
    expect(res.body.results[0]?.outcome).toBe("ignored");
  });
});

describe("contacts", () => {
  it("deletes a contact stored in NFD by its NFC spelling: its emails, rows, replies and stored score", async () => {
    const account = await createAccount();
    const stored = nfd("rené@acme.example");
    const alone = await sentMessage(account, { threadId: "t-del-alone", recipients: [{ email: stored }] });
    const shared = await sentMessage(account, {
      threadId: "t-del-shared",
      recipients: [{ email: stored, name: "René" }, { email: "stayer@acme.example" }],
    });
    await signals(account, { signals: [reply("t-del-shared", "msg-f:r1", "rené@acme.example")] });
    expect((await account.json<ContactDetail>("GET", path("rené@acme.example"))).body.contact.email).toBe(stored);

    expect((await account.api(path("rené@acme.example"), { method: "DELETE" })).status).toBe(204);
    const forAccount = [account.accountId, stored];
    expect(await rows("SELECT * FROM message_recipients WHERE account_id = ? AND email = ?", ...forAccount)).toEqual([]);
    expect(await rows("SELECT * FROM signals WHERE account_id = ? AND email = ?", ...forAccount)).toEqual([]);
    expect(await rows("SELECT * FROM contact_scores WHERE account_id = ? AND email = ?", ...forAccount)).toEqual([]);
    expect(await rows("SELECT deleted_at IS NOT NULL AS deleted FROM messages WHERE id = ?", alone.id)).toEqual([{ deleted: 1 }]);
    expect(await rows("SELECT recipients FROM messages WHERE id = ?", shared.id)).toEqual([
      { recipients: JSON.stringify([{ email: "stayer@acme.example" }]) },
    ]);
    for (const spelling of [stored, "rené@acme.example"])
      expect((await account.api(path(spelling), { method: "DELETE" })).status, spelling).toBe(404);
  });

  it("deletes every spelling the account wrote of an address at once, and one registration lists an address once", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-del-uni", recipients: [{ email: UNICODE }] });
    await sentMessage(account, { threadId: "t-del-puny", recipients: [{ email: PUNYCODE }, { email: "stayer@acme.example" }] });
    const both = await sentMessage(account, { threadId: "t-del-both", recipients: [{ email: UNICODE }, { email: PUNYCODE }] });
    expect(await rows("SELECT email FROM message_recipients WHERE message_id = ?", both.id)).toEqual([{ email: UNICODE }]);
    expect((await account.api(path(NFD_UNICODE), { method: "DELETE" })).status).toBe(204);
    expect(await rows("SELECT email FROM message_recipients WHERE account_id = ?", account.accountId)).toEqual([
      { email: "stayer@acme.example" },
    ]);
  });
});

describe("the people list and a contact's page", () => {
  /**
   * Two emails to one person, a day apart, each opened once an hour after it was sent: in the spellings given, and
   * the same in an account that wrote the address all in ASCII, whose one contact is what the person must show as.
   */
  async function twoEmails(first: string, second: string, now = Date.now()) {
    const account = await createAccount();
    const at = (hoursAgo: number) => new Date(now - hoursAgo * HOUR).toISOString();
    const messages = [
      await sentMessage(account, { threadId: "t-person-1", recipients: [{ email: first, name: "Jörg" }], sentAt: at(48) }),
      await sentMessage(account, {
        threadId: "t-person-2",
        recipients: [{ email: second }, { email: "other@acme.example" }],
        sentAt: at(24),
      }),
    ];
    await openAt(account, messages[0]?.id ?? "", now - 47 * HOUR);
    await openAt(account, messages[1]?.id ?? "", now - 23 * HOUR);
    return { account, messages };
  }

  async function listedPeople(account: TestAccount) {
    const res = await account.json<ContactsResponse>("GET", "/api/contacts");
    expect(res.status).toBe(200);
    return res.body.contacts;
  }

  const shownAs = (c: ContactSummary) => [c.email, c.name, c.sent, c.score, c.lastSentAt, c.lastActivityAt];

  it("lists a person written in two spellings once, with the counts and the score of both", async () => {
    const now = Date.now();
    const { account, messages } = await twoEmails(UNICODE, PUNYCODE, now);
    const { account: ascii } = await twoEmails("joerg@muenchen.de", "joerg@muenchen.de", now);
    const [person, other] = await listedPeople(account);
    const [expected] = await listedPeople(ascii);
    expect(person && shownAs(person)).toEqual(expected && [UNICODE, ...shownAs(expected).slice(1)]);
    expect(person?.sent).toBe(2);
    expect(other?.email).toBe("other@acme.example");
    expect((await listedPeople(account)).map((c) => c.email)).toEqual([UNICODE, "other@acme.example"]);
    // An open since, on the email to the spelling not shown, counts for the person.
    await openAt(account, messages[1]?.id ?? "", Date.now() - HOUR);
    const [after] = await listedPeople(account);
    expect(after?.email).toBe(UNICODE);
    expect(after?.score).toBeGreaterThan(person?.score ?? Infinity);
  });

  it("lists a person stored in NFC and NFD once, and in three spellings once, as the NFC one with the domain decoded", async () => {
    const { account } = await twoEmails(NFD_UNICODE, UNICODE);
    await sentMessage(account, { threadId: "t-person-3", recipients: [{ email: PUNYCODE }], sentAt: ago(HOUR) });
    const people = await listedPeople(account);
    // The NFD spelling is first in code-point order ("o" and a combining mark before "ö"), and is not the one shown.
    expect([NFD_UNICODE, UNICODE, PUNYCODE].sort()[0]).toBe(NFD_UNICODE);
    expect(people.map((c) => [c.email, c.sent])).toEqual([
      [UNICODE, 3],
      ["other@acme.example", 1],
    ]);
  });

  it("shows a person as the spelling with the domain decoded, though its punycode is first in code-point order", async () => {
    const decoded = "anke@ämter.de";
    const punycode = "anke@xn--mter-koa.de";
    expect([decoded, punycode].sort()[0]).toBe(punycode);
    const { account } = await twoEmails(punycode, decoded);
    expect((await listedPeople(account)).map((c) => [c.email, c.sent])).toEqual([
      [decoded, 2],
      ["other@acme.example", 1],
    ]);
    const page = await account.json<ContactDetail>("GET", path(punycode));
    expect([page.body.contact.email, page.body.contact.sent]).toEqual([decoded, 2]);
    const csv = await (await account.api("/api/export/contacts.csv")).text();
    expect(csv).toContain(`\n${decoded},`);
    expect(csv).not.toContain(punycode);
  });

  it("answers a contact's page in any spelling with the person in all of them", async () => {
    const { account, messages } = await twoEmails(UNICODE, PUNYCODE);
    const listed = (await listedPeople(account))[0];
    for (const spelling of [UNICODE, PUNYCODE, NFD_UNICODE]) {
      const page = await account.json<ContactDetail>("GET", path(spelling));
      expect(page.status, spelling).toBe(200);
      expect(listed && shownAs(page.body.contact), spelling).toEqual(listed && shownAs(listed));
      expect(new Set(page.body.timeline.filter((item) => item.kind === "sent").map((item) => item.messageId)), spelling).toEqual(
        new Set(messages.map((m) => m.id)),
      );
      expect(page.body.timeline.filter((item) => item.kind === "open").length, spelling).toBe(2);
    }
  });

  it("answers a contact's page before any listing, in the spelling not shown", async () => {
    const { account } = await twoEmails(UNICODE, PUNYCODE);
    const page = await account.json<ContactDetail>("GET", path(PUNYCODE));
    expect(page.status).toBe(200);
    expect([page.body.contact.email, page.body.contact.sent]).toEqual([UNICODE, 2]);
  });

  it("reads the stored spellings of an address once for its contact's page, and shows the person's suppression", async () => {
    const { account } = await twoEmails(UNICODE, PUNYCODE);
    await signals(account, { signals: [hardBounce("t-person-2", "msg-f:person-bounce", [PUNYCODE])] });
    // Counted from the second call: the first may still read the account from D1 (see the compose check's test).
    await countedCall(account, path(NFD_UNICODE));
    const { response, d1Statements } = await countedCall(account, path(NFD_UNICODE));
    expect(((await response.json()) as ContactDetail).contact).toMatchObject({ email: UNICODE, suppressed: true, bounceKind: "hard" });
    expect(d1Statements.filter((sql) => sql === SIGNAL_SPELLINGS_SQL)).toHaveLength(1);
  });

  it("exports a person written in two spellings as one contact", async () => {
    const { account } = await twoEmails(UNICODE, PUNYCODE);
    const csv = await (await account.api("/api/export/contacts.csv")).text();
    const lines = csv.trim().split(/\r?\n/).slice(1);
    expect(lines.map((line) => line.split(",").slice(0, 1).join())).toEqual([UNICODE, "other@acme.example"].sort());
  });

  it("takes a deleted email's campaign from the person's stored row at once, whichever spelling it went to", async () => {
    const account = await createAccount();
    const to = (email: string, campaign: string, threadId: string) =>
      sentMessage(account, { threadId, recipients: [{ email }, { email: "other@acme.example" }], campaign });
    const toShown = await to(UNICODE, "Renewal", "t-campaign-1");
    await to(UNICODE, "Pilot", "t-campaign-2");
    const toHidden = await to(PUNYCODE, "Secret launch", "t-campaign-3");
    await to(PUNYCODE, "Webinar", "t-campaign-4");
    const stored = async () =>
      (await rows("SELECT email, campaigns FROM contact_scores WHERE account_id = ? ORDER BY email", account.accountId)).map((row) => [
        row.email,
        (JSON.parse(row.campaigns as string) as string[]).sort(),
      ]);
    // The people list stores the person on the row of the spelling shown, the other's row hidden behind it.
    expect((await listedPeople(account)).map((c) => c.email)).toEqual([UNICODE, "other@acme.example"]);
    expect(await stored()).toEqual([
      [UNICODE, ["Pilot", "Renewal", "Secret launch", "Webinar"]],
      [PUNYCODE, []],
      ["other@acme.example", ["Pilot", "Renewal", "Secret launch", "Webinar"]],
    ]);
    // Read before any listing rescores them: the person's row is right already, for an email to the spelling not
    // shown (whose row alone the deletion marks) and for one to the spelling shown (whose campaigns are the person's).
    expect((await account.api(`/api/messages/${toHidden.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await stored()).toEqual([
      [UNICODE, ["Pilot", "Renewal", "Webinar"]],
      [PUNYCODE, []],
      ["other@acme.example", ["Pilot", "Renewal", "Webinar"]],
    ]);
    expect((await account.api(`/api/messages/${toShown.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await stored()).toEqual([
      [UNICODE, ["Pilot", "Webinar"]],
      [PUNYCODE, []],
      ["other@acme.example", ["Pilot", "Webinar"]],
    ]);
  });

  it("lists the other spelling once the shown one's only email is deleted", async () => {
    const { account, messages } = await twoEmails(UNICODE, PUNYCODE);
    expect((await listedPeople(account))[0]?.sent).toBe(2);
    expect((await account.api(`/api/messages/${messages[0]?.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await listedPeople(account)).map((c) => [c.email, c.sent])).toEqual([
      [PUNYCODE, 1],
      ["other@acme.example", 1],
    ]);
  });
});

describe("a person asked in more than one of scoredContacts' statements", () => {
  /** Another person (foldAddress) of the mailbox of UNICODE (mailboxKey): a statement that asks it seeks UNICODE's spellings. */
  const TAGGED = "jörg+news@münchen.de";
  /** A statement's worth of addresses (MAX_IN_LIST), all in ASCII, of other people: seedMessages's recipients. */
  const READERS = Array.from({ length: MAX_IN_LIST }, (_, i) => `reader${i}@example.org`);

  /**
   * An account of READERS and of a person written three ways, NFD_UNICODE on two emails, and TAGGED on one: each email
   * opened an hour after it was sent. Returns the emails to the person and TAGGED, in that order.
   */
  async function accountWithPerson() {
    const account = await createAccount();
    await seedMessages(account, MAX_IN_LIST);
    const messages = [];
    for (const [i, email] of [UNICODE, NFD_UNICODE, NFD_UNICODE, PUNYCODE, TAGGED].entries()) {
      const message = await sentMessage(account, { threadId: `t-statements-${i}`, recipients: [{ email }], sentAt: ago((10 - i) * HOUR) });
      await openAt(account, message.id, Date.now() - (9 - i) * HOUR);
      messages.push(message);
    }
    return { account, messages };
  }

  /** The people of the addresses asked but READERS, as scoredContacts gives them asked `asked`, and as the reference does. */
  async function scoredAsReference(account: TestAccount, asked: string[]) {
    const now = Date.now();
    const people = new Set(asked.filter((email) => !READERS.includes(email)).map(foldAddress));
    const exact = (contacts: ContactAggregate[]) =>
      contacts
        .filter((c) => people.has(foldAddress(c.email)))
        .sort((a, b) => (a.email < b.email ? -1 : 1))
        .map(({ campaigns, exactScore, score, ...rest }) => ({
          ...rest,
          campaigns: [...campaigns],
          exactScore: exactScore.toPrecision(12),
        }));
    const scored = exact(await scoredContacts(env.DB, account.accountId, now, asked));
    expect(scored).toEqual(exact(await referenceContacts(account.accountId, now)));
    return scored;
  }

  it("counts a person once whose two spellings are asked in two statements, each of which reads the other's", async () => {
    const { account } = await accountWithPerson();
    // UNICODE and its folded form, PUNYCODE, open the first statement, which READERS fill; NFD_UNICODE is in the
    // second, with PUNYCODE again. Each statement reads every spelling of the person: by name, or by their mailbox.
    const scored = await scoredAsReference(account, [UNICODE, ...READERS, NFD_UNICODE]);
    expect(scored.map((c) => [c.email, c.sent, c.spellings])).toEqual([[UNICODE, 4, [UNICODE, NFD_UNICODE, PUNYCODE]]]);
  });

  it("counts a person once whose mailbox another address asked in another statement has", async () => {
    const { account } = await accountWithPerson();
    const scored = await scoredAsReference(account, [UNICODE, ...READERS, TAGGED]);
    expect(scored.map((c) => [c.email, c.sent])).toEqual([
      [TAGGED, 1],
      [UNICODE, 4],
    ]);
  });

  it("counts once a spelling's email whose mailbox is not keyed yet, which every statement of the account reads", async () => {
    const { account, messages } = await accountWithPerson();
    // As the worker before migration 0023 stored it. The first statement, READERS alone, reads this email alone of the
    // spelling's two; the second, which asks the person, reads both.
    await env.DB.prepare("UPDATE message_recipients SET mailbox_key = NULL WHERE message_id = ?").bind(messages[1]?.id).run();
    const scored = await scoredAsReference(account, [...READERS, UNICODE]);
    expect(scored.map((c) => [c.email, c.sent])).toEqual([[UNICODE, 4]]);
  });

  it("counts a person once whose spellings and another address of their mailbox are asked in one statement", async () => {
    const { account } = await accountWithPerson();
    // The mailbox is sought once, though the four addresses of the statement (UNICODE, TAGGED and their folded forms) each have it.
    const scored = await scoredAsReference(account, [UNICODE, TAGGED]);
    expect(scored.map((c) => [c.email, c.sent])).toEqual([
      [TAGGED, 1],
      [UNICODE, 4],
    ]);
  });

  it("lists a person with the sums of their spellings when a listing rescores them in two statements", async () => {
    const account = await createAccount();
    // A listing rescores the rows in the order they were made (contact_scores_dirty): UNICODE's in the first
    // statement, which READERS' fill, and NFD_UNICODE's in the next. The opens put the person first.
    const first = await sentMessage(account, { threadId: "t-listing-1", recipients: [{ email: UNICODE }], sentAt: ago(3 * HOUR) });
    await seedMessages(account, MAX_IN_LIST);
    const second = await sentMessage(account, { threadId: "t-listing-2", recipients: [{ email: NFD_UNICODE }], sentAt: ago(2 * HOUR) });
    await openAt(account, first.id, Date.now() - 2 * HOUR);
    await openAt(account, second.id, Date.now() - HOUR);
    const { body } = await account.json<ContactsResponse>("GET", "/api/contacts?limit=1");
    expect(body.contacts.map((c) => [c.email, c.sent])).toEqual([[UNICODE, 2]]);
    const expected = (await referenceContacts(account.accountId, Date.now())).filter((c) => c.email === UNICODE);
    expectShownAs(
      body.contacts.map((c) => shown(c)),
      expected.map((c) => shown(c, c.exactScore)),
    );
  });
});

/** A person whose address is all in ASCII but for its domain: its punycode spelling is all in ASCII. */
const JOE_UNICODE = "joe@münchen.de";
const JOE_PUNYCODE = "joe@xn--mnchen-3ya.de";
/** A person whose address is all in ASCII, and the same with its domain in full-width letters. */
const JOE_ASCII = "joe@acme.example";
const JOE_FULL_WIDTH = "joe@ａｃｍｅ.example";

describe("the people list while more contacts are marked than one request rescores", () => {
  /** The listing at `query` page after page, each asked for `limit` contacts, up to `pages` of them, and each page's pendingContacts. */
  async function everyPage(account: TestAccount, query: string, limit: number, pages = 10) {
    const contacts: ContactSummary[] = [];
    const pending: number[] = [];
    for (let cursor: string | null | undefined; cursor !== null && pending.length < pages; ) {
      const after = cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const res: { status: number; body: ContactsResponse } = await account.json("GET", `/api/contacts?limit=${limit}&${query}${after}`);
      expect(res.status).toBe(200);
      contacts.push(...res.body.contacts);
      pending.push(res.body.pendingContacts);
      cursor = res.body.nextCursor;
    }
    return { contacts, pending };
  }

  /**
   * An account with `seeded` emails' contacts, all rescored, and a function that has new opens of those emails mark
   * their rows at the next listing: rows made before the ones the test makes next, which a listing rescores first (it
   * takes the marked rows in the order they were made, contact_scores_dirty). The opens are 20 weeks old, their score
   * far under any minScore asked below. `outsideAscii`: each contact's address is `kundin<i>@société.example`, keyed
   * as the worker keys it, so every row is one a listing behind computes, and each computed takes two places in
   * scoredContacts' statements (spellingChunks): the most queries a listing makes.
   */
  async function accountBehind(seeded: number, { outsideAscii = false } = {}) {
    const account = await createAccount();
    await seedMessages(account, seeded);
    if (outsideAscii) {
      const respelled = Array.from({ length: seeded }, (_, i) => {
        const email = `kundin${i}@société.example`;
        return { from: `reader${i}@example.org`, email, key: mailboxKey(email) };
      });
      await env.DB.batch([
        env.DB.prepare(
          `UPDATE message_recipients SET email = value ->> '$.email', mailbox_key = value ->> '$.key' FROM json_each(?2)
           WHERE account_id = ?1 AND message_recipients.email = value ->> '$.from'`,
        ).bind(account.accountId, JSON.stringify(respelled)),
        env.DB.prepare("DELETE FROM contact_scores WHERE account_id = ?").bind(account.accountId),
      ]);
    }
    while ((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.pendingContacts > 0);
    return { account, markSeeded: () => seedOpens(account, seeded, Date.now() - 140 * 24 * HOUR) };
  }

  const marked = async (account: TestAccount, email: string) =>
    (await rows("SELECT dirty > 0 AS marked FROM contact_scores WHERE account_id = ? AND email = ?", account.accountId, email))[0]?.marked;

  it("lists a person once, on one page or two, while a first email to their readable spelling waits to be rescored", async () => {
    for (const [limit, pages] of [
      [50, 1],
      [1, 3],
    ] as const) {
      const account = await createAccount();
      await sentMessage(account, { threadId: "t-behind-puny", recipients: [{ email: JOE_PUNYCODE }], sentAt: ago(3 * HOUR) });
      expect((await everyPage(account, "", 50)).contacts.map((c) => [c.email, c.sent])).toEqual([[JOE_PUNYCODE, 1]]);
      // Three requests' worth of contacts marked, then the first email to the spelling the person is shown as: a
      // listing rescores marked rows in the order they were made (contact_scores_dirty), so that spelling's row waits
      // for the fourth, and the punycode one's stays unmarked and shown until then. The two are on the first page of
      // 50 (unscored, ordered by address, before reader<i>@example.org), and on the first two of one each.
      await seedMessages(account, 3 * RESCORED_PER_REQUEST);
      await sentMessage(account, { threadId: "t-behind-uni", recipients: [{ email: JOE_UNICODE }], sentAt: ago(2 * HOUR) });
      const person = (await everyPage(account, "", limit, pages)).contacts.filter((c) => c.email.startsWith("joe@"));
      expect(await marked(account, JOE_UNICODE), "the new spelling's row left marked").toBe(1);
      expect(await marked(account, JOE_PUNYCODE)).toBe(0);
      expect(
        person.map((c) => [c.email, c.sent]),
        `limit ${limit}`,
      ).toEqual([[JOE_UNICODE, 2]]);
    }
  });

  it("leaves out of a campaign's listing a contact rescored without it, and lists those after", async () => {
    const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 40);
    const pilot = await sentMessage(account, {
      threadId: "t-behind-pilot",
      recipients: [{ email: "moved@acme.example" }],
      campaign: "Pilot",
    });
    await sentMessage(account, { threadId: "t-behind-stays", recipients: [{ email: "stays@acme.example" }], campaign: "Pilot" });
    // Every page: one of a campaign reads a window of ROWS_READ_PER_ROW_ASKED × 2 rows, and `stays` (no score) comes
    // after the 400 seeded contacts (no score either) by address.
    const pages = Math.ceil((RESCORED_PER_REQUEST + 43) / (ROWS_READ_PER_ROW_ASKED * 2)) + 1;
    expect((await everyPage(account, "campaign=Pilot", 1, pages)).contacts.map((c) => c.email)).toEqual([
      "moved@acme.example",
      "stays@acme.example",
    ]);
    // More contacts marked than one request rescores, their rows first; then the email moved to another campaign.
    await markSeeded();
    const { id, ...registered } = pilot;
    await account.tracker.registerMessage(id, { ...registered, campaign: "Renewal" });
    const listing = await everyPage(account, "campaign=Pilot", 1, pages);
    expect(listing.pending[0]).toBeGreaterThan(0);
    expect(listing.contacts.map((c) => c.email)).toEqual(["stays@acme.example"]);
    expect((await everyPage(account, "campaign=Renewal", 1, pages)).contacts.map((c) => c.email)).toEqual(["moved@acme.example"]);
  });

  it("leaves out a contact rescored under minScore, and lists the contacts above it after", async () => {
    const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 40);
    const opened = await sentMessage(account, {
      threadId: "t-behind-hot",
      recipients: [{ email: "cooled@acme.example" }],
      sentAt: ago(5 * HOUR),
    });
    await sentMessage(account, { threadId: "t-behind-cold", recipients: [{ email: "cooled@acme.example" }], sentAt: ago(4 * HOUR) });
    const warm = await sentMessage(account, {
      threadId: "t-behind-warm",
      recipients: [{ email: "warm@acme.example" }],
      sentAt: ago(4 * HOUR),
    });
    for (const hour of [4, 3, 2]) await openAt(account, opened.id, Date.now() - hour * HOUR);
    await openAt(account, warm.id, Date.now() - 3 * HOUR);
    const before = (await everyPage(account, "minScore=0.5", 1)).contacts;
    expect(before.map((c) => c.email)).toEqual(["cooled@acme.example", "warm@acme.example"]);
    expect(before[0]?.score).toBeGreaterThan(before[1]?.score ?? Infinity);
    // More contacts marked than one request rescores, their rows first; then the email opened deleted.
    await markSeeded();
    expect((await account.api(`/api/messages/${opened.id}`, { method: "DELETE" })).status).toBe(204);
    const listing = await everyPage(account, "minScore=0.5", 1);
    expect(listing.pending[0]).toBeGreaterThan(0);
    expect(listing.contacts.map((c) => c.email)).toEqual(["warm@acme.example"]);
  });

  it("lists over minScore a contact whose score rose past it while they wait to be rescored, in any spelling", async () => {
    const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 40);
    const toRisen = await sentMessage(account, {
      threadId: "t-rises",
      recipients: [{ email: "risen@acme.example" }],
      sentAt: ago(5 * HOUR),
    });
    await sentMessage(account, { threadId: "t-rises-joe-1", recipients: [{ email: JOE_ASCII }], sentAt: ago(5 * HOUR) });
    const toHidden = await sentMessage(account, {
      threadId: "t-rises-joe-2",
      recipients: [{ email: JOE_FULL_WIDTH }],
      sentAt: ago(5 * HOUR),
    });
    const warm = await sentMessage(account, {
      threadId: "t-rises-warm",
      recipients: [{ email: "warm@acme.example" }],
      sentAt: ago(5 * HOUR),
    });
    await openAt(account, warm.id, Date.now() - 4 * HOUR);
    expect((await everyPage(account, "minScore=0.5", 200)).contacts.map((c) => c.email)).toEqual(["warm@acme.example"]);
    // More contacts marked than one request rescores, their rows first; then opens of the other two contacts' emails,
    // one of them to the spelling not shown: each marks only the row of the email's spelling.
    await markSeeded();
    for (const hour of [3, 2, 1]) {
      await openAt(account, toRisen.id, Date.now() - hour * HOUR);
      await openAt(account, toHidden.id, Date.now() - hour * HOUR);
    }
    // One page: its window (ROWS_READ_PER_ROW_ASKED) reaches the rows left marked, before a later request rescores them.
    const listing = await everyPage(account, "minScore=0.5", 200);
    expect(listing.pending[0]).toBeGreaterThan(0);
    expect([await marked(account, "risen@acme.example"), await marked(account, JOE_FULL_WIDTH), await marked(account, JOE_ASCII)]).toEqual([
      1, 1, 0,
    ]);
    expect(listing.contacts.map((c) => c.email).sort()).toEqual([JOE_ASCII, "risen@acme.example", "warm@acme.example"]);
    await expectTrue(account, listing.contacts);
  });

  it("reads on past a contact stored just under minScore to the contacts after it still to be computed", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-band", recipients: [{ email: "band@acme.example" }] });
    const risen = await sentMessage(account, { threadId: "t-band-risen", recipients: [{ email: "risen@acme.example" }] });
    expect((await everyPage(account, "", 50)).contacts).toHaveLength(2);
    // One stored at 0.499, over the 0.498 from which a score may round to a minScore of 0.503, shown as 0.5, under
    // it; the other opened since, its row left marked as a refresh leaves the rows past its share, stored at no score.
    for (const hour of [3, 2, 1]) await openAt(account, risen.id, Date.now() - hour * HOUR);
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("UPDATE contact_scores SET score_key = ? WHERE account_id = ? AND email = 'band@acme.example'").bind(
        scoreKey(0.499, now),
        account.accountId,
      ),
      env.DB.prepare("UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ? AND email = 'risen@acme.example'").bind(
        account.accountId,
      ),
    ]);
    const query = { sort: "score", minScore: 0.503, limit: 1 } as const;
    const left = { count: 1, asciiFolds: [] };
    const first = await contactPage(env.DB, account.accountId, now, query, left);
    expect(first.contacts).toEqual([]);
    expect(first.next).not.toBeNull();
    const second = await contactPage(env.DB, account.accountId, now, { ...query, after: first.next ?? undefined }, left);
    expect(second.contacts.map((c) => c.email)).toEqual(["risen@acme.example"]);
  });

  it("reads a window of rows per page of a minScore listing behind, in proportion to the page, and lists every contact over it", async () => {
    const account = await createAccount();
    const warm = await sentMessage(account, { threadId: "t-window-warm", recipients: [{ email: "warm@acme.example" }] });
    const risen = await sentMessage(account, { threadId: "t-window-risen", recipients: [{ email: "risen@acme.example" }] });
    await openAt(account, warm.id, Date.now() - HOUR);
    // 300 contacts of no score, all stored: under minScore, between the one stored over it and the one left marked
    // (no score, ordered after them by address), which has been opened since.
    await seedMessages(account, 300);
    while ((await account.json<ContactsResponse>("GET", "/api/contacts?limit=1")).body.pendingContacts > 0);
    for (const hour of [3, 2, 1]) await openAt(account, risen.id, Date.now() - hour * HOUR);
    await env.DB.prepare("UPDATE contact_scores SET dirty = dirty + 1 WHERE account_id = ? AND email = 'risen@acme.example'")
      .bind(account.accountId)
      .run();
    const query = { sort: "score", minScore: 0.5, limit: 20 } as const;
    const left = { count: 1, asciiFolds: [] };
    const listed: string[] = [];
    const reads: number[] = [];
    for (let after: readonly [number, string] | undefined, pages = 0; pages < 20; pages++) {
      const counted = new FlakyD1(env.DB, () => false);
      const page = await contactPage(counted.asD1(), account.accountId, Date.now(), { ...query, after }, left);
      reads.push(counted.log[0]?.rowsRead[0] ?? 0);
      listed.push(...page.contacts.map((c) => c.email));
      if (!page.next) break;
      after = page.next;
    }
    expect(listed).toEqual(["warm@acme.example", "risen@acme.example"]);
    // Each page's read of the people list: its window of the index, from the row the page starts after, and one row
    // more where the seek of the tie it starts in ends. Read on to the end of the account, the first page read 302;
    // the window read again to its last row for a page that ended short, 2 × (window + 1).
    const window = ROWS_READ_PER_ROW_ASKED * (query.limit + 1);
    expect(Math.max(...reads), `rows read by each page: ${reads}`).toBeLessThanOrEqual(window + 1);
  });

  /**
   * Listed people as scoring them from scratch gives (referenceContacts, compared as expectShownAs compares them), and
   * each in `campaign` when one is given.
   */
  async function expectTrue(account: TestAccount, listed: ContactSummary[], campaign?: string) {
    const people = new Map((await referenceContacts(account.accountId, Date.now())).map((c) => [c.email, c]));
    const truth = listed.map((contact) => {
      const person = people.get(contact.email);
      return person ? shown(person, person.exactScore) : [`${contact.email}: none in the reference`];
    });
    expectShownAs(
      listed.map((contact) => shown(contact)),
      truth,
    );
    if (campaign !== undefined)
      for (const contact of listed) expect(people.get(contact.email)?.campaigns.has(campaign), contact.email).toBe(true);
  }

  it("lists under a campaign a contact whose first email of it waits to be rescored, within the request's D1 queries", async () => {
    // More marked than one request rescores, and 200 of them left for the page to compute: the most one page computes.
    const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 200);
    await sentMessage(account, { threadId: "t-gains-1", recipients: [{ email: "gains@acme.example" }], campaign: "Pilot" });
    await sentMessage(account, { threadId: "t-gains-stays", recipients: [{ email: "stays@acme.example" }], campaign: "Launch" });
    expect((await everyPage(account, "campaign=Launch", 50)).contacts.map((c) => c.email)).toEqual(["stays@acme.example"]);
    await markSeeded();
    await sentMessage(account, { threadId: "t-gains-2", recipients: [{ email: "gains@acme.example" }], campaign: "Launch" });
    const { response, d1Queries } = await countedCall(account, "/api/contacts?campaign=Launch&limit=200");
    const listing = (await response.json()) as ContactsResponse;
    expect(listing.pendingContacts).toBeGreaterThan(0);
    expect(await marked(account, "gains@acme.example"), "the contact's row left marked").toBe(1);
    // The rows left marked of people with no email of the campaign are left out uncomputed, the contact's computed: the
    // one stored with the campaign is on the same page. When every row left marked was computed, the page's 200 rows
    // were the contact's and 199 of those, and the one stored with it was on the next page.
    expect(listing.contacts.map((c) => [c.email, c.sent])).toEqual([
      ["gains@acme.example", 2],
      ["stays@acme.example", 1],
    ]);
    await expectTrue(account, listing.contacts, "Launch");
    expect(d1Queries).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
    expect((await everyPage(account, "campaign=Launch", 200)).contacts.map((c) => c.email)).toEqual([
      "gains@acme.example",
      "stays@acme.example",
    ]);
  });

  it("lists under a campaign a person whose first email of it went to a spelling not shown, within the request's D1 queries", async () => {
    const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 200, { outsideAscii: true });
    const first = await sentMessage(account, {
      threadId: "t-gains-uni",
      recipients: [{ email: JOE_UNICODE }],
      campaign: "Pilot",
      sentAt: ago(3 * HOUR),
    });
    await sentMessage(account, { threadId: "t-gains-puny", recipients: [{ email: JOE_PUNYCODE }], sentAt: ago(2 * HOUR) });
    // Opened: first by score, before the contacts rescored with their old opens.
    await openAt(account, first.id, Date.now() - 2 * HOUR);
    expect((await everyPage(account, "", 50)).contacts.filter((c) => c.email.startsWith("joe@")).map((c) => c.email)).toEqual([
      JOE_UNICODE,
    ]);
    await markSeeded();
    // The email to the spelling hidden behind the person's row marks that spelling's row alone (migration 0027).
    await sentMessage(account, {
      threadId: "t-gains-puny-2",
      recipients: [{ email: JOE_PUNYCODE }],
      campaign: "Launch",
      sentAt: ago(HOUR),
    });
    // The page's 200 rows are the person's and 199 others outside ASCII, each computed while contacts wait.
    const { response, d1Queries } = await countedCall(account, "/api/contacts?campaign=Launch&limit=200");
    const listing = (await response.json()) as ContactsResponse;
    expect(listing.pendingContacts).toBeGreaterThan(0);
    expect([await marked(account, JOE_PUNYCODE), await marked(account, JOE_UNICODE)]).toEqual([1, 0]);
    expect(listing.contacts.map((c) => [c.email, c.sent])).toEqual([[JOE_UNICODE, 3]]);
    await expectTrue(account, listing.contacts, "Launch");
    expect(d1Queries).toBeLessThanOrEqual(FREE_PLAN_D1_QUERIES);
  });

  it("lists a person right, once, while an email to a spelling of theirs outside ASCII that folds to their ASCII one waits", async () => {
    // The domain in full-width letters: IDNA maps them to ASCII (foldAddress), so the person is shown as the spelling
    // all in ASCII and the row outside ASCII is the one not shown. The person's other row, first in the hidden case.
    expect(foldAddress(JOE_FULL_WIDTH)).toBe(JOE_ASCII);
    for (const spellingStoredBefore of [true, false]) {
      const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 40);
      const first = await sentMessage(account, { threadId: "t-wide-1", recipients: [{ email: JOE_ASCII }], sentAt: ago(4 * HOUR) });
      if (spellingStoredBefore)
        await sentMessage(account, { threadId: "t-wide-2", recipients: [{ email: JOE_FULL_WIDTH }], sentAt: ago(3 * HOUR) });
      // Opened: first by score, before the contacts rescored with their old opens.
      await openAt(account, first.id, Date.now() - 2 * HOUR);
      const sentBefore = spellingStoredBefore ? 2 : 1;
      expect((await everyPage(account, "", 50, 1)).contacts.slice(0, 1).map((c) => [c.email, c.sent])).toEqual([[JOE_ASCII, sentBefore]]);
      await markSeeded();
      await sentMessage(account, { threadId: "t-wide-3", recipients: [{ email: JOE_FULL_WIDTH }], sentAt: ago(HOUR) });
      const listing = await everyPage(account, "", 50, 1);
      expect(listing.pending[0]).toBeGreaterThan(0);
      expect([await marked(account, JOE_FULL_WIDTH), await marked(account, JOE_ASCII)]).toEqual([1, 0]);
      const person = listing.contacts.filter((c) => foldAddress(c.email) === JOE_ASCII);
      expect(
        person.map((c) => [c.email, c.sent]),
        `stored before: ${spellingStoredBefore}`,
      ).toEqual([[JOE_ASCII, sentBefore + 1]]);
      await expectTrue(account, person);
    }
  });

  it("lists a page of 200 contacts that all wait to be computed within the request's D1 queries: the most a listing makes", async () => {
    for (const outsideAscii of [false, true]) {
      const { account, markSeeded } = await accountBehind(RESCORED_PER_REQUEST + 200, { outsideAscii });
      await markSeeded();
      // Outside ASCII, a listing behind computes every row: the first page is 200 of them. In ASCII, only those left
      // marked (it rescores in the order the rows were made): these gain a campaign, whose page is 200 of them.
      await env.DB.prepare(
        `UPDATE messages SET campaign = 'Launch' WHERE id IN (SELECT r.message_id FROM message_recipients r
           WHERE r.email IN (SELECT email FROM contact_scores WHERE account_id = ?1 ORDER BY rowid LIMIT -1 OFFSET ?2))`,
      )
        .bind(account.accountId, RESCORED_PER_REQUEST)
        .run();
      const { response, d1Queries } = await countedCall(account, `/api/contacts?limit=200${outsideAscii ? "" : "&campaign=Launch"}`);
      const listing = (await response.json()) as ContactsResponse;
      expect(listing.pendingContacts).toBe(200);
      expect(listing.contacts).toHaveLength(200);
      expect(d1Queries, `outside ASCII: ${outsideAscii}`).toBe(outsideAscii ? 27 : 19);
    }
  });

  it("keeps a person in place, over minScore and under their campaign, when the row that showed them goes", async () => {
    // Three listings below, each rescoring its share before the person's row.
    const { account, markSeeded } = await accountBehind(3 * RESCORED_PER_REQUEST + 40);
    const toShown = await sentMessage(account, {
      threadId: "t-reshown-uni",
      recipients: [{ email: JOE_UNICODE }],
      campaign: "Pilot",
      sentAt: ago(6 * HOUR),
    });
    const toHidden = await sentMessage(account, {
      threadId: "t-reshown-puny",
      recipients: [{ email: JOE_PUNYCODE }],
      campaign: "Webinar",
      sentAt: ago(5 * HOUR),
    });
    const cooler = await sentMessage(account, {
      threadId: "t-reshown-cool",
      recipients: [{ email: "cooler@acme.example" }],
      sentAt: ago(5 * HOUR),
    });
    await openAt(account, toShown.id, Date.now() - HOUR);
    for (const hour of [4, 3, 2]) await openAt(account, toHidden.id, Date.now() - hour * HOUR);
    await openAt(account, cooler.id, Date.now() - 4 * HOUR);
    const before = (await everyPage(account, "minScore=0.5", 50)).contacts;
    expect(before.map((c) => [c.email, c.sent])).toEqual([
      [JOE_UNICODE, 2],
      ["cooler@acme.example", 1],
    ]);
    // The only email to the spelling shown deleted: its row goes, and the other spelling's is shown again, marked.
    await markSeeded();
    expect((await account.api(`/api/messages/${toShown.id}`, { method: "DELETE" })).status).toBe(204);
    for (const [query, expected] of [
      ["minScore=0.5", [JOE_PUNYCODE, "cooler@acme.example"]],
      ["sort=lastActivity", [JOE_PUNYCODE, "cooler@acme.example"]],
      ["campaign=Webinar", [JOE_PUNYCODE]],
    ] as const) {
      const listing = await everyPage(account, query, 50, 1);
      expect(listing.pending[0], query).toBeGreaterThan(0);
      expect(await marked(account, JOE_PUNYCODE), query).toBe(1);
      expect(
        listing.contacts.slice(0, expected.length).map((c) => c.email),
        query,
      ).toEqual(expected);
      await expectTrue(account, listing.contacts.slice(0, expected.length));
    }
  });
});

describe("the addresses all in ASCII that rows left marked outside ASCII fold to", () => {
  it("come only from a local part in ASCII but for the characters foldAddress maps into it, every code point tried", () => {
    const intoAscii: string[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      if (isAscii(foldAddress(`a${char}b@acme.example`))) intoAscii.push(char);
    }
    expect(intoAscii).toEqual([...FOLDED_INTO_ASCII]);
  });

  it("are those of the first rows left after the rescored ones, up to a bound, passing over local parts outside ASCII", async () => {
    const account = await createAccount();
    const range = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}@ａｃｍｅ.example`);
    // In the order the rows are made, which a listing rescores them in: those it rescores now, a bound's worth whose
    // local part stays outside ASCII, one whose local part folds into ASCII, then one more than the bound leaves room for.
    const made = [
      ...range("now", RESCORED_PER_REQUEST),
      ...range("jö", ASCII_FOLDS_PER_REQUEST),
      "jo\u037ee@ａｃｍｅ.example",
      ...range("later", ASCII_FOLDS_PER_REQUEST),
    ];
    await env.DB.prepare("INSERT INTO contact_scores (account_id, email) SELECT ?1, value FROM json_each(?2)")
      .bind(account.accountId, JSON.stringify(made))
      .run();
    const left = await refreshContactScores(env.DB, account.accountId, Date.now());
    expect(left.count).toBe(made.length - RESCORED_PER_REQUEST);
    expect(left.asciiFolds).toEqual([
      "jo;e@acme.example",
      ...range("later", ASCII_FOLDS_PER_REQUEST - 1).map((email) => foldAddress(email)),
    ]);
  });
});

describe("migration 0027", () => {
  it("marks the rows of a person's punycode spelling too, so a listing that leaves them marked lists the person once", async () => {
    const db = env.MIGRATION_TEST_DB;
    const accountId = "acct-0027";
    // Other people outside ASCII, more than a request rescores, whose rows are made (and rescored) before the person's.
    const others = Array.from({ length: RESCORED_PER_REQUEST + 40 }, (_, i) => `kundin${i}@société.example`);
    const recipients = [...others, JOE_UNICODE, JOE_PUNYCODE].map((email, i) => ({ id: `m-0027-${i}`, email, key: mailboxKey(email) }));
    const sentAt = Date.now() - 2 * HOUR;
    await migrateRowsAcross("0027_contact_scores_one_row_per_person.sql", [
      blankAccount(accountId),
      db
        .prepare(
          `INSERT INTO messages (id, account_id, recipients, sent_at, registered_at, updated_at, recipient_count)
           SELECT value ->> '$.id', ?1, json_array(json_object('email', value ->> '$.email')), ?3, ?3, ?3, 1 FROM json_each(?2)`,
        )
        .bind(accountId, JSON.stringify(recipients), sentAt),
      db
        .prepare(
          `INSERT INTO message_recipients (message_id, account_id, email, mailbox_key)
           SELECT value ->> '$.id', ?1, value ->> '$.email', value ->> '$.key' FROM json_each(?2)`,
        )
        .bind(accountId, JSON.stringify(recipients)),
      // As the worker before 0027 stored them: a row per spelling with its own email counted, nothing marked.
      db.prepare("UPDATE contact_scores SET dirty = 0, sent = 1, last_sent_at = ?2 WHERE account_id = ?1").bind(accountId, sentAt),
      db.prepare("INSERT INTO contact_scores_state (account_id, events_seq) VALUES (?, 0)").bind(accountId),
    ]);
    const markedRows = await db
      .prepare("SELECT email FROM contact_scores WHERE account_id = ? AND dirty > 0 AND email LIKE 'joe@%' ORDER BY email")
      .bind(accountId)
      .all();
    expect(markedRows.results).toEqual([{ email: JOE_UNICODE }, { email: JOE_PUNYCODE }]);
    // Every row marked, the person's two left for a later request.
    const now = Date.now();
    const left = await refreshContactScores(db, accountId, now);
    expect(left.count).toBe(42);
    const { contacts } = await contactPage(db, accountId, now, { sort: "score", limit: 500 }, left);
    expect(contacts.filter((c) => foldAddress(c.email) === foldAddress(JOE_UNICODE)).map((c) => [c.email, c.sent])).toEqual([
      [JOE_UNICODE, 2],
    ]);
    expect(contacts).toHaveLength(others.length + 1);
  });
});

describe("rows stored before", () => {
  it("a contact, its reply and its suppression stored in other spellings by the worker before are found by any spelling", async () => {
    const account = await createAccount();
    const stored = nfd("rené@acme.example");
    const message = await sentMessage(account, {
      threadId: "t-old",
      recipients: [{ email: stored }, { email: "stayer@acme.example" }],
    });
    // As the worker before this release stored them: the reply and the suppression under the spelling each came in.
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO signals (account_id, message_id, kind, source_id, email, occurred_at, inserted_at)
         VALUES (?, ?, 'reply', 'msg-f:old-reply', 'rené@acme.example', ?, ?)`,
      ).bind(account.accountId, message.id, Date.now() - HOUR, Date.now()),
      env.DB.prepare("INSERT INTO suppressions (account_id, email, reason, created_at) VALUES (?, 'rené@acme.example', 'hard', ?)").bind(
        account.accountId,
        Date.now(),
      ),
    ]);
    expect((await check(account, [stored]))[0]).toMatchObject({ suppressed: true, bounceKind: "hard" });
    expect((await account.api(path(stored), { method: "DELETE" })).status).toBe(204);
    expect(await rows("SELECT email FROM signals WHERE account_id = ?", account.accountId)).toEqual([]);
    // The suppression stays with the deleted contact (docs/protocol.md §13), and still warns in every spelling.
    expect((await check(account, [stored, "rené@acme.example"])).map((c) => c.suppressed)).toEqual([true, true]);
  });

  it("a recipient stored before its mailbox was keyed is found in another spelling until it is keyed", async () => {
    const account = await createAccount();
    const stored = nfd("rené@acme.example");
    const message = await sentMessage(account, {
      threadId: "t-unkeyed",
      recipients: [{ email: stored }, { email: "stayer@acme.example" }],
    });
    // As the worker before migration 0023 stored it: no key of its own, so its `mailbox` is 0017's, unfolded.
    await env.DB.prepare("UPDATE message_recipients SET mailbox_key = NULL WHERE message_id = ? AND email = ?")
      .bind(message.id, stored)
      .run();
    expect((await account.api(path("rené@acme.example"), { method: "DELETE" })).status).toBe(204);
    expect(await rows("SELECT email FROM message_recipients WHERE message_id = ?", message.id)).toEqual([{ email: "stayer@acme.example" }]);
  });
});

describe("what a lookup reads", () => {
  /**
   * `count` recipients outside ASCII, each of another person, on emails of the account, written straight to D1 with the
   * key the worker writes (mailboxKey), as a team writing to IDN addresses holds them: registering each through the
   * API would take minutes.
   */
  async function seedOthers(account: TestAccount, count: number) {
    const others = Array.from({ length: count }, (_, i) => {
      const email = `kundin${i}@société.example`;
      return { id: `others-${account.accountId}-${i}`, email, key: mailboxKey(email) };
    });
    await env.DB.prepare(
      `INSERT INTO message_recipients (message_id, account_id, email, mailbox_key)
       SELECT value ->> '$.id', ?1, value ->> '$.email', value ->> '$.key' FROM json_each(?2)`,
    )
      .bind(account.accountId, JSON.stringify(others))
      .run();
  }

  it("the compose check of an address reads as many rows whatever the account's other recipients outside ASCII", async () => {
    const rowsRead = async (others: number) => {
      const account = await createAccount();
      await sentMessage(account, { threadId: "t-read-uni", recipients: [{ email: UNICODE }] });
      await sentMessage(account, { threadId: "t-read-puny", recipients: [{ email: PUNYCODE }] });
      await seedOthers(account, others);
      const check = () => countedCall(account, "/api/contacts/check", "POST", { emails: [NFD_UNICODE, "buyer@acme.example"] });
      // Counted from the second call: the account's cache entry is written after the registrations' responses
      // (auth.ts, waitUntil), which they do not wait on, so the first call may still read the account from D1. The
      // first call waits on its own, so the second reads the account from the cache whatever the timing.
      await check();
      const checked = await check();
      expect(await checked.response.json()).toMatchObject({ contacts: [{ email: NFD_UNICODE }, { email: "buyer@acme.example" }] });
      return checked.d1RowsRead;
    };
    // One other recipient against 400, not none: a seek reads the index entry after its range to see that it ended,
    // when there is one. With none, whether there is depends on whether another account's entries follow in the index,
    // which their random ids decide: the counts then differed by that one read, in most runs of this test alone.
    expect(await rowsRead(400)).toBe(await rowsRead(1));
  });

  it("a listing's refresh reads no more rows than counting the marked ones did, though it also hands back those outside ASCII past its share", async () => {
    const account = await createAccount();
    await seedMessages(account, RESCORED_PER_REQUEST);
    await seedOthers(account, 100);
    await env.DB.prepare("INSERT INTO message_recipients (message_id, account_id, email, mailbox_key) VALUES ('m-wide', ?, ?, ?)")
      .bind(account.accountId, JOE_FULL_WIDTH, mailboxKey(JOE_FULL_WIDTH))
      .run();
    // Every row made and marked (migration 0010's trigger), as an account's first listing finds them; counting them
    // alone, as the refresh did before it handed back any, reads this many.
    const counting = await env.DB.prepare(
      "SELECT count(*) OVER () AS marked FROM contact_scores WHERE account_id = ? AND dirty > 0 LIMIT ?",
    )
      .bind(account.accountId, RESCORED_PER_REQUEST)
      .all();
    const counted = new FlakyD1(env.DB, () => false);
    const left = await refreshContactScores(counted.asD1(), account.accountId, Date.now());
    expect(left).toEqual({ count: 101, asciiFolds: [JOE_ASCII] });
    const [refresh] = counted.log.filter((call) => call.sql.join() === REFRESH_READ_SQL.join());
    expect(refresh?.rowsRead).toHaveLength(2);
    expect((refresh?.rowsRead ?? []).reduce((sum, read) => sum + read, 0)).toBeLessThanOrEqual(counting.meta.rows_read);
  });

  it("a listing's refresh reads the marked rows in the order they were made, by index, with no sort", async () => {
    for (const sql of REFRESH_READ_SQL) {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind("acct", RESCORED_PER_REQUEST).all<{ detail: string }>();
      const steps = results.map((row) => row.detail);
      const reads = steps.filter((step) => /^(SEARCH|SCAN) contact_scores/.test(step));
      expect(reads.length).toBeGreaterThan(0);
      expect(new Set(reads)).toEqual(new Set(["SEARCH contact_scores USING INDEX contact_scores_dirty (account_id=?)"]));
      expect(steps.filter((step) => step.includes("TEMP B-TREE"))).toEqual([]);
    }
  });

  it("a spelling of another address with the same Gmail mailbox is not taken for the address", async () => {
    const account = await createAccount();
    const dotted = await sentMessage(account, { threadId: "t-dots", recipients: [{ email: "jörg.k@gmail.com" }] });
    await sentMessage(account, { threadId: "t-nodots", recipients: [{ email: "jörgk@gmail.com" }] });
    expect((await account.api(path(nfd("jörgk@gmail.com")), { method: "DELETE" })).status).toBe(204);
    expect(await rows("SELECT email FROM message_recipients WHERE account_id = ?", account.accountId)).toEqual([
      { email: "jörg.k@gmail.com" },
    ]);
    expect(await rows("SELECT deleted_at IS NULL AS kept FROM messages WHERE id = ?", dotted.id)).toEqual([{ kept: 1 }]);
  });

  it("seeks recipients by account and mailbox, and reads signals and suppressions from their partial indexes, never by a scan", async () => {
    const searches = async (sql: string, ...values: unknown[]) => {
      const { results: plan } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...values)
        .all<{ detail: string }>();
      return plan.map((row) => row.detail).filter((detail) => /^(SEARCH|SCAN) /.test(detail));
    };
    const byMailbox =
      "SEARCH (r|message_recipients) USING COVERING INDEX message_recipients_outside_ascii_by_mailbox \\(account_id=\\? AND mailbox_key=\\?\\)";
    expect(await searches(RECIPIENT_SPELLINGS_SQL, "acct", JSON.stringify(["jörg@xn--mnchen-3ya.de"]))).toEqual([
      "SCAN k VIRTUAL TABLE INDEX 1:",
      expect.stringMatching(new RegExp(`^${byMailbox}$`)),
      expect.stringMatching(new RegExp(`^${byMailbox}$`)),
    ]);
    expect(await searches(SIGNAL_SPELLINGS_SQL, "acct")).toEqual(
      ["signals", "suppressions"].map((table) =>
        expect.stringMatching(new RegExp(`^SEARCH ${table} USING (COVERING )?INDEX ${table}_outside_ascii \\(account_id=\\?\\)$`)),
      ),
    );
  });
});
