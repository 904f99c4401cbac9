// Replies, bounces, the suppression list, compose checks and recipient opt-outs (docs/protocol.md §10-11).
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type {
  ContactsCheckResponse,
  ErrorResponse,
  MessageStatus,
  RegisterMessageRequest,
  SignalsRequest,
  SignalsResponse,
  StatusResponse,
} from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import { recordSignals } from "../src/db/signals";
import { hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { FlakyD1 } from "./faults";
import {
  ago,
  BASE,
  CHROME_UA,
  call,
  clickLink,
  countedCall,
  createAccount,
  d1Cost,
  forged,
  HOUR,
  MINUTE,
  openPixel,
  registration,
  seedEmailActivity,
  seedMessages,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
} from "./helpers";

async function statusOf(account: TestAccount, threadId: string): Promise<MessageStatus> {
  const res = await account.json<StatusResponse>("POST", "/api/messages/status", { threadIds: [threadId] });
  const status = res.body.messages[0];
  if (!status) throw new Error(`no status for ${threadId}`);
  return status;
}

/**
 * Registers an email with `clockAt` as given (the extension's client sets it to the clock as the request leaves), under
 * a new id or `id` again.
 */
async function registeredAsGiven(account: TestAccount, overrides: Partial<RegisterMessageRequest>, id?: string) {
  const trackingId = id ?? (await mintTrackingId(account.key));
  const body = registration(overrides);
  expect((await account.json("PUT", `/api/messages/${trackingId}`, body)).status).toBe(200);
  return { id: trackingId, ...body };
}

function signals(account: TestAccount, body: unknown) {
  return account.json<SignalsResponse>("POST", "/api/signals", body);
}

function check(account: TestAccount, emails: string[]) {
  return account.json<ContactsCheckResponse>("POST", "/api/contacts/check", { emails });
}

/** Stores a hit that happened at `occurredAt` through the real hit builder and consumer. */
async function hitAt(account: TestAccount, messageId: string, occurredAt: number, kind: "open" | "click" = "open") {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA } });
  const target = { accountId: account.accountId, messageId, accountKey, kind, linkIndex: kind === "click" ? 0 : null };
  return storeHits(env.DB, [await hitFromRequest(request, target, occurredAt)]);
}

type Signal = SignalsRequest["signals"][number];

const bounce = (threadId: string, gmailMessageId: string, kind: "hard" | "soft", recipients: string[], at = ago(HOUR / 2)) => ({
  kind: "bounce",
  threadId,
  gmailMessageId,
  at,
  bounce: { kind, recipients, reason: kind === "hard" ? "550 5.1.1 user unknown" : "452 4.2.2 mailbox full" },
});

describe("replies", () => {
  it("records a reply once however often it is reported, and ignores the sender's own", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-reply" });
    const reply = { kind: "reply", threadId: "t-reply", gmailMessageId: "msg-f:100", at: ago(HOUR / 2), from: "Buyer@Acme.example" };
    const first = await signals(account, { self: ["rep@example.com"], signals: [reply] });
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([{ gmailMessageId: "msg-f:100", outcome: "recorded", messageId: message.id }]);
    for (let i = 0; i < 3; i++) {
      const again = await signals(account, { self: ["rep@example.com"], signals: [reply, reply] });
      expect(again.body.results.map((r) => r.outcome)).toEqual(["duplicate", "duplicate"]);
    }
    const own = { ...reply, gmailMessageId: "msg-f:101", from: "REP@example.com" };
    expect((await signals(account, { self: ["rep@example.com"], signals: [own] })).body.results[0]?.outcome).toBe("ignored");
    const status = await statusOf(account, "t-reply");
    expect(status).toMatchObject({ replyCount: 1, state: "delivered", bounce: null });
    expect(status.lastReplyAt).toBeTruthy();
  });

  it("never records a signal keyed by the tracked email's own Gmail message id (a Sent row misread as a reply)", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-own-id", gmailMessageId: "18f7000000000abc", sentAt: ago(HOUR) });
    const misread = { kind: "reply", threadId: "t-own-id", gmailMessageId: "18f7000000000abc", at: ago(0), from: "dave@acme.example" };
    // The same id in Gmail's other form ("msg-f:<decimal>"), and a real reply after them.
    const decimal = { ...misread, gmailMessageId: `msg-f:${BigInt("0x18f7000000000abc")}` };
    const real = { ...misread, gmailMessageId: "18f7000000000abd" };
    const res = await signals(account, { self: ["rep@example.com"], signals: [misread, decimal, real] });
    expect(res.body.results).toEqual([
      { gmailMessageId: "18f7000000000abc", outcome: "ignored", messageId: null },
      { gmailMessageId: decimal.gmailMessageId, outcome: "ignored", messageId: null },
      { gmailMessageId: "18f7000000000abd", outcome: "recorded", messageId: message.id },
    ]);
    expect((await statusOf(account, "t-own-id")).replyCount).toBe(1);
  });

  it("does not count messages of the thread from before the tracked email, nor unknown threads", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-earlier", sentAt: ago(HOUR) });
    const before = { kind: "reply", threadId: "t-earlier", gmailMessageId: "msg-f:1", at: ago(2 * HOUR), from: "buyer@acme.example" };
    const unknown = { ...before, threadId: "t-nowhere", gmailMessageId: "msg-f:2", at: ago(0) };
    const res = await signals(account, { signals: [before, unknown] });
    expect(res.body.results.map((r) => r.outcome)).toEqual(["unmatched", "unmatched"]);
    expect((await statusOf(account, "t-earlier")).replyCount).toBe(0);
  });

  it("attributes a reply to the latest tracked email sent before it", async () => {
    const account = await createAccount();
    const first = await sentMessage(account, { threadId: "t-follow", sentAt: ago(3 * HOUR) });
    const followUp = await sentMessage(account, { threadId: "t-follow", sentAt: ago(HOUR) });
    const res = await signals(account, {
      signals: [
        { kind: "reply", threadId: "t-follow", gmailMessageId: "msg-f:a", at: ago(2 * HOUR), from: "buyer@acme.example" },
        { kind: "reply", threadId: "t-follow", gmailMessageId: "msg-f:b", at: ago(HOUR / 2), from: "buyer@acme.example" },
      ],
    });
    expect(res.body.results.map((r) => r.messageId)).toEqual([first.id, followUp.id]);
  });

  // The client sends its clock as `clockAt` (now), within CLOCK_TOLERANCE_MS of the tracker's: each email's send time
  // stands as given, as that of a sender whose clock is 1.5 s fast would (sent 10 minutes ago, written 1.5 s later).
  // Every time in a test comes from one read of the clock, so the gap between the send time and the notice's stays as
  // written however long the registration request takes.
  const FAST_CLOCK_MS = 1_500;

  it("matches a bounce that came a second after its email, by a sender's clock up to 2 s fast (before the send time it gave)", async () => {
    const account = await createAccount();
    const now = Date.now();
    const message = await sentMessage(account, { threadId: "t-fast", sentAt: ago(10 * MINUTE - FAST_CLOCK_MS, now) });
    const notice = bounce("t-fast", "msg-f:fast", "hard", ["buyer@acme.example"], ago(10 * MINUTE - 1_000, now));
    const res = await signals(account, { signals: [notice] });
    expect(res.body.results).toEqual([{ gmailMessageId: "msg-f:fast", outcome: "recorded", messageId: message.id }]);
    expect((await check(account, ["buyer@acme.example"])).body.contacts[0]?.suppressed).toBe(true);
  });

  it("matches a bounce 2.5 s before the send time a clock 3.5 s fast gave, which stands as its clockAt (1.5 s on its way) is within the tolerance", async () => {
    const account = await createAccount();
    const now = Date.now();
    // The clock as the request left, 3.5 s fast, arrives 1.5 s later by the tracker's: 2 s apart, the send time stands.
    const message = await registeredAsGiven(account, {
      threadId: "t-fast-slow",
      sentAt: ago(10 * MINUTE - 3_500, now),
      clockAt: new Date(now + 2_000).toISOString(),
    });
    const stored = await env.DB.prepare("SELECT sent_at FROM messages WHERE id = ?").bind(message.id).first<{ sent_at: number }>();
    expect(stored?.sent_at).toBe(Date.parse(message.sentAt));
    const notice = bounce("t-fast-slow", "msg-f:fast-slow", "hard", ["buyer@acme.example"], ago(10 * MINUTE - 1_000, now));
    const res = await signals(account, { signals: [notice] });
    expect(res.body.results).toEqual([{ gmailMessageId: "msg-f:fast-slow", outcome: "recorded", messageId: message.id }]);
  });

  it("moves the send time a clock a minute fast gave back by its clockAt, so a bounce a second after the send matches it", async () => {
    const account = await createAccount();
    const now = Date.now();
    // Sent 10 minutes ago by a clock a minute fast: as given, the send time is 59 s after the notice, past the 4 s.
    const message = await registeredAsGiven(account, {
      threadId: "t-minute-fast",
      sentAt: ago(10 * MINUTE - MINUTE, now),
      clockAt: new Date(now + MINUTE).toISOString(),
    });
    const notice = bounce("t-minute-fast", "msg-f:minute-fast", "hard", ["buyer@acme.example"], ago(10 * MINUTE - 1_000, now));
    const res = await signals(account, { signals: [notice] });
    expect(res.body.results).toEqual([{ gmailMessageId: "msg-f:minute-fast", outcome: "recorded", messageId: message.id }]);
  });

  it("moves the send time a clock two hours slow gave forward by its clockAt, so a reply goes to that follow-up, not to the email before it", async () => {
    const account = await createAccount();
    const now = Date.now();
    await sentMessage(account, { threadId: "t-hours-slow", sentAt: ago(HOUR, now) });
    // Sent 10 minutes ago by a clock two hours slow: as given, the follow-up would seem sent before the first email.
    const followUp = await registeredAsGiven(account, {
      threadId: "t-hours-slow",
      sentAt: ago(2 * HOUR + 10 * MINUTE, now),
      clockAt: ago(2 * HOUR, now),
    });
    const answer = {
      kind: "reply",
      threadId: "t-hours-slow",
      gmailMessageId: "msg-f:slow",
      at: ago(5 * MINUTE, now),
      from: "buyer@acme.example",
    };
    const res = await signals(account, { signals: [answer] });
    expect(res.body.results).toEqual([{ gmailMessageId: "msg-f:slow", outcome: "recorded", messageId: followUp.id }]);
  });

  it("leaves a bounce of seconds after the send unmatched while a registration held 10 s on its way made its email seem sent late, and matches it once the one sent again sets the send time back", async () => {
    const account = await createAccount();
    const now = Date.now();
    const sent = { threadId: "t-held", sentAt: ago(10 * MINUTE, now) };
    // A right clock: the request left 10 s before it arrived, which the tracker takes for the clock being 10 s behind.
    const message = await registeredAsGiven(account, { ...sent, clockAt: ago(10_000, now) });
    const notice = bounce("t-held", "msg-f:held", "hard", ["buyer@acme.example"], ago(10 * MINUTE - 1_000, now));
    expect((await signals(account, { signals: [notice] })).body.results[0]?.outcome).toBe("unmatched");
    // The extension's prompt registration of the same email, sent again (delivery.ts).
    await registeredAsGiven(account, { ...sent, clockAt: new Date(now).toISOString() }, message.id);
    expect((await signals(account, { signals: [notice] })).body.results).toEqual([
      { gmailMessageId: "msg-f:held", outcome: "recorded", messageId: message.id },
    ]);
  });

  it("gives such a bounce to the follow-up it came after, not to the earlier email of the thread; a reply seconds earlier stays the earlier's", async () => {
    const account = await createAccount();
    const now = Date.now();
    const first = await sentMessage(account, { threadId: "t-fast-two", sentAt: ago(HOUR, now) });
    const followUp = await sentMessage(account, { threadId: "t-fast-two", sentAt: ago(10 * MINUTE - FAST_CLOCK_MS, now) });
    const res = await signals(account, {
      signals: [
        bounce("t-fast-two", "msg-f:notice", "hard", ["buyer@acme.example"], ago(10 * MINUTE - 1_000, now)),
        // 4.5 s before the follow-up's send time: past the 4 s it may be late, an answer to the first email.
        {
          kind: "reply",
          threadId: "t-fast-two",
          gmailMessageId: "msg-f:answer",
          at: ago(10 * MINUTE + 3_000, now),
          from: "buyer@acme.example",
        },
      ],
    });
    expect(res.body.results.map((r) => [r.outcome, r.messageId])).toEqual([
      ["recorded", followUp.id],
      ["recorded", first.id],
    ]);
  });

  it("dates a reply reported as arriving later than now at now, so the retention purge still reaches it", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-future", sentAt: ago(HOUR) });
    const before = Date.now();
    const res = await signals(account, {
      signals: [
        { kind: "reply", threadId: "t-future", gmailMessageId: "msg-f:future", at: "2099-01-01T00:00:00Z", from: "buyer@acme.example" },
      ],
    });
    expect(res.body.results[0]?.outcome).toBe("recorded");
    const stored = await env.DB.prepare("SELECT occurred_at FROM signals WHERE account_id = ?")
      .bind(account.accountId)
      .first<{ occurred_at: number }>();
    expect(stored?.occurred_at).toBeGreaterThanOrEqual(before);
    expect(stored?.occurred_at).toBeLessThanOrEqual(Date.now());
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now() + 200 * 24 * HOUR, cron: "23 * * * *" }), env);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE account_id = ?")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("finds an email by Gmail's sync id of its thread too: its status, and a reply read from a row that carries only that id", async () => {
    const account = await createAccount();
    // 2022-09-09-cvOnSend_response.json: a thread the rep started, thread-a:r263523620390330024, is 183234ce86ffa010.
    const sent = await sentMessage(account, {
      threadId: "183234ce86ffa010",
      syncThreadId: "thread-a:r263523620390330024",
      sentAt: ago(HOUR),
    });
    const bySync = await statusOf(account, "thread-a:r263523620390330024");
    expect(bySync).toMatchObject({ id: sent.id, threadId: "183234ce86ffa010", syncThreadId: "thread-a:r263523620390330024" });
    const res = await signals(account, {
      signals: [
        { kind: "reply", threadId: "thread-a:r263523620390330024", gmailMessageId: "msg-f:s1", at: ago(1_000), from: "buyer@acme.example" },
      ],
    });
    expect(res.body.results.map((r) => [r.outcome, r.messageId])).toEqual([["recorded", sent.id]]);
    expect((await statusOf(account, "183234ce86ffa010")).replyCount).toBe(1);
    // Deleting the email forgets both ids.
    expect((await account.json("DELETE", `/api/messages/${sent.id}`)).status).toBe(204);
    const gone = await account.json<StatusResponse>("POST", "/api/messages/status", { threadIds: ["thread-a:r263523620390330024"] });
    expect(gone.body.messages).toEqual([]);
  });

  it("moves an email registered under its compose's thread id to the thread Gmail named after the send, when sent again with that id: its replies there count from then on", async () => {
    const account = await createAccount();
    // Registered with the compose's ids when Gmail's answer to the send was not seen in time (compose-tracking.ts),
    // then again, in the outbox's place (outbox.ts put), with the thread Gmail's late answer named.
    const first = await registeredAsGiven(account, { threadId: "thread-a:r-draft-thread", sentAt: ago(HOUR) });
    const answer = {
      kind: "reply",
      threadId: "18f7000000000def",
      gmailMessageId: "msg-f:late-thread",
      at: ago(0),
      from: "buyer@acme.example",
    };
    expect((await signals(account, { signals: [answer] })).body.results[0]?.outcome).toBe("unmatched");
    const asked = await account.json<StatusResponse>("POST", "/api/messages/status", { threadIds: ["18f7000000000def"] });
    expect(asked.body.messages).toEqual([]);
    await registeredAsGiven(
      account,
      { threadId: "18f7000000000def", syncThreadId: "thread-a:r-sent-thread", sentAt: first.sentAt },
      first.id,
    );
    expect(await statusOf(account, "18f7000000000def")).toMatchObject({ id: first.id, syncThreadId: "thread-a:r-sent-thread" });
    expect((await signals(account, { signals: [answer] })).body.results).toEqual([
      { gmailMessageId: "msg-f:late-thread", outcome: "recorded", messageId: first.id },
    ]);
  });

  it("moves an email registered without its conversation's legacy id to the one the sender's Gmail shows it in, once: its replies and Sent mark there count from then on", async () => {
    const account = await createAccount();
    // Registered with the compose's ids: Gmail's answer to the send was never seen (compose-tracking.ts).
    const sent = await registeredAsGiven(account, { threadId: "thread-a:r-draft-thread", sentAt: ago(HOUR) });
    const reply = { kind: "reply", threadId: "18f70000000000aa", gmailMessageId: "msg-f:shown", at: ago(0), from: "buyer@acme.example" };
    expect((await signals(account, { signals: [reply] })).body.results[0]?.outcome).toBe("unmatched");
    const move = (threadId: unknown, id = sent.id, by = account) =>
      by.json<MessageStatus & ErrorResponse>("POST", `/api/messages/${id}/thread`, { threadId });

    const moved = await move("18f70000000000aa");
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: sent.id, threadId: "18f70000000000aa", syncThreadId: "thread-a:r-draft-thread" });
    // Found by either id: the Sent row by the legacy one, or one that names the thread by the compose's.
    expect(await statusOf(account, "18f70000000000aa")).toMatchObject({ id: sent.id });
    expect(await statusOf(account, "thread-a:r-draft-thread")).toMatchObject({ id: sent.id });
    expect((await signals(account, { signals: [reply] })).body.results).toEqual([
      { gmailMessageId: "msg-f:shown", outcome: "recorded", messageId: sent.id },
    ]);
    // Told again: the same answer. Another conversation afterwards: refused, the email stays where it is.
    expect((await move("18f70000000000aa")).status).toBe(200);
    const other = await move("18f70000000000bb");
    expect([other.status, other.body.error]).toEqual([409, "this email's conversation is known already: it stays in that one"]);
    expect(await statusOf(account, "18f70000000000aa")).toMatchObject({ id: sent.id, replyCount: 1 });
    // A late copy of the original registration (the compose's id) does not move it back.
    const { id: _id, ...original } = sent;
    expect((await account.json("PUT", `/api/messages/${sent.id}`, original)).status).toBe(200);
    expect(await statusOf(account, "18f70000000000aa")).toMatchObject({ id: sent.id, replyCount: 1 });

    // Registered with Gmail's answer: its legacy id stays.
    const answered = await registeredAsGiven(account, { threadId: "18f70000000000cc" });
    expect((await move("18f70000000000dd", answered.id)).status).toBe(409);
    expect((await statusOf(account, "18f70000000000cc")).id).toBe(answered.id);
    // Another account's email, or none: 404; an id that is no legacy one: 400, naming the field.
    expect((await move("18f70000000000ee", sent.id, await createAccount())).status).toBe(404);
    expect((await move("18f70000000000ee", await mintTrackingId(account.key))).status).toBe(404);
    for (const bad of ["thread-a:r-1", "18F7", "", 7]) {
      const refused = await move(bad);
      expect([refused.status, refused.body.issues?.[0]?.path]).toEqual([400, "threadId"]);
    }
    expect((await statusOf(account, "18f70000000000aa")).id).toBe(sent.id);
  });

  it("keeps each account's threads apart and validates the body", async () => {
    const account = await createAccount();
    const other = await createAccount();
    await sentMessage(account, { threadId: "t-mine" });
    const reply = { kind: "reply", threadId: "t-mine", gmailMessageId: "msg-f:x", at: ago(0), from: "buyer@acme.example" };
    expect((await signals(other, { signals: [reply] })).body.results[0]?.outcome).toBe("unmatched");
    const cases: [unknown, string][] = [
      [{ signals: [] }, "signals"],
      [{ signals: [{ ...reply, kind: "forward" }] }, "signals.0.kind"],
      [{ signals: [{ ...reply, from: "nobody" }] }, "signals.0.from"],
      [{ signals: [{ ...reply, at: "yesterday" }] }, "signals.0.at"],
      [{ signals: [{ ...reply, gmailMessageId: "has spaces" }] }, "signals.0.gmailMessageId"],
      [
        { signals: [bounce("t", "g", "hard", ["x@y.example"]), { ...bounce("t", "g", "hard", []), bounce: { kind: "maybe" } }] },
        "signals.1.bounce.kind",
      ],
      [{ signals: Array(101).fill(reply) }, "signals"],
    ];
    for (const [body, path] of cases) {
      const res = await account.json<ErrorResponse>("POST", "/api/signals", body);
      expect(res.status, path).toBe(400);
      expect(res.body.issues?.map((i) => i.path)).toContain(path);
    }
    expect((await call("/api/signals", { method: "POST", body: JSON.stringify({ signals: [reply] }) })).status).toBe(401);
  });

  it("records a reply reading as many rows in an account of 300 emails as in one of 30", async () => {
    const recorded = async (emails: number) => {
      const account = await createAccount();
      await seedMessages(account, emails);
      await seedEmailActivity(account);
      // To the account's second seeded email (seeded-thread-1, to reader1). A seek reads the index entry after its
      // range to see that it ended, when there is one: here the tenth email's (seeded-thread-10, reader10) or another
      // of the account's seeded replies at both sizes, where without them another account's random id would decide.
      const reply = { kind: "reply", threadId: "seeded-thread-1", gmailMessageId: "msg-f:seeded", at: ago(0), from: "reader1@example.org" };
      // Counted from the second call: the first may read the account from D1 before its cache entry is written.
      await countedCall(account, "/api/messages/status", "POST", { threadIds: ["seeded-thread-1"] });
      const call = await countedCall(account, "/api/signals", "POST", { signals: [reply] });
      expect(((await call.response.json()) as SignalsResponse).results[0]?.outcome).toBe("recorded");
      return d1Cost(call);
    };
    expect(await recorded(300)).toEqual(await recorded(30));
  });
});

describe("bounces", () => {
  it("a hard bounce suppresses the address and turns the message red", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-hard", recipients: [{ email: "Gone@Acme.example" }] });
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    const res = await signals(account, { signals: [bounce("t-hard", "msg-f:b1", "hard", ["gone@acme.example"])] });
    expect(res.body.results[0]?.outcome).toBe("recorded");
    const status = await statusOf(account, "t-hard");
    expect(status.state).toBe("bounced");
    expect(status.bounce).toMatchObject({ kind: "hard", recipients: ["gone@acme.example"] });
    const checked = await check(account, ["GONE@acme.example", "fine@acme.example"]);
    expect(checked.body.contacts).toEqual([
      { email: "gone@acme.example", suppressed: true, bounceKind: "hard", optedOut: false },
      { email: "fine@acme.example", suppressed: false, bounceKind: null, optedOut: false },
    ]);
    // Another account knows nothing of it.
    const other = await createAccount();
    expect((await check(other, ["gone@acme.example"])).body.contacts[0]?.suppressed).toBe(false);
  });

  it("a notice naming nobody applies to the only recipient", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-unnamed", recipients: [{ email: "only@acme.example" }] });
    await signals(account, { signals: [bounce("t-unnamed", "msg-f:u1", "hard", [])] });
    expect((await check(account, ["only@acme.example"])).body.contacts[0]?.suppressed).toBe(true);
  });

  it("a notice suppresses only the email's recipients it names: anyone can write a notice into the thread", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-forged", recipients: [{ email: "buyer@acme.example" }], sentAt: ago(3 * HOUR) });
    // A reply dressed as a notice, naming people the email was not sent to: the email bounced, nobody is suppressed.
    const forged = bounce("t-forged", "msg-f:x1", "hard", ["ceo@bigcustomer.example", "cfo@bigcustomer.example"], ago(2 * HOUR));
    expect((await signals(account, { signals: [forged] })).body.results[0]?.outcome).toBe("recorded");
    const people = ["ceo@bigcustomer.example", "cfo@bigcustomer.example", "buyer@acme.example"];
    expect((await check(account, people)).body.contacts.map((c) => c.suppressed)).toEqual([false, false, false]);
    expect((await statusOf(account, "t-forged")).bounce).toMatchObject({ kind: "hard", recipients: [] });
    // A notice naming the recipient among others: the recipient alone.
    await signals(account, { signals: [bounce("t-forged", "msg-f:x2", "hard", ["ceo@bigcustomer.example", "Buyer@Acme.example"])] });
    expect((await check(account, people)).body.contacts.map((c) => c.suppressed)).toEqual([false, false, true]);
    expect((await statusOf(account, "t-forged")).bounce).toMatchObject({ kind: "hard", recipients: ["buyer@acme.example"] });
  });

  it("a notice naming a recipient deleted as a contact still suppresses that address", async () => {
    const account = await createAccount();
    const recipients = [{ email: "leaver@acme.example" }, { email: "stayer@acme.example" }];
    await sentMessage(account, { threadId: "t-removed", recipients, sentAt: ago(3 * HOUR) });
    expect((await account.api(`/api/contacts/${encodeURIComponent("leaver@acme.example")}`, { method: "DELETE" })).status).toBe(204);
    const named = ["outsider@else.example", "leaver@acme.example"];
    await signals(account, { signals: [bounce("t-removed", "msg-f:d1", "hard", named)] });
    const checked = await check(account, ["outsider@else.example", "leaver@acme.example", "stayer@acme.example"]);
    expect(checked.body.contacts.map((c) => c.suppressed)).toEqual([false, true, false]);
  });

  it("a soft bounce followed by a later success is not a bounce", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-soft", recipients: [{ email: "full@acme.example" }], sentAt: ago(3 * HOUR) });
    await signals(account, { signals: [bounce("t-soft", "msg-f:s1", "soft", ["full@acme.example"], ago(2 * HOUR))] });
    expect((await statusOf(account, "t-soft")).state).toBe("bounced");
    expect((await check(account, ["full@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: "soft" });
    // An open before the notice clears nothing; one after it does.
    await hitAt(account, message.id, Date.now() - 2.5 * HOUR);
    expect((await statusOf(account, "t-soft")).state).toBe("bounced");
    await hitAt(account, message.id, Date.now() - HOUR);
    const status = await statusOf(account, "t-soft");
    expect(status).toMatchObject({ state: "opened", bounce: null });
    expect((await check(account, ["full@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: null });
  });

  it("a soft bounce that names none of its email's recipients is cleared by a later success of the email", async () => {
    // Its success is the email's own (effectiveBounces reads each such email's latest counted hit or reply), not an
    // address's.
    const account = await createAccount();
    const recipients = [{ email: "one@acme.example" }, { email: "two@acme.example" }];
    const message = await sentMessage(account, { threadId: "t-soft-unnamed", recipients, sentAt: ago(3 * HOUR) });
    await signals(account, { signals: [bounce("t-soft-unnamed", "msg-f:su1", "soft", [], ago(2 * HOUR))] });
    await hitAt(account, message.id, Date.now() - 2.5 * HOUR);
    expect((await statusOf(account, "t-soft-unnamed")).bounce).toMatchObject({ kind: "soft", recipients: [] });
    await hitAt(account, message.id, Date.now() - HOUR);
    expect(await statusOf(account, "t-soft-unnamed")).toMatchObject({ state: "opened", bounce: null });
  });

  it("a reply from the address after a soft bounce clears it too", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-soft2", recipients: [{ email: "a@acme.example" }, { email: "b@acme.example" }] });
    await signals(account, {
      signals: [
        bounce("t-soft2", "msg-f:s2", "soft", ["a@acme.example"], ago(HOUR / 2)),
        { kind: "reply", threadId: "t-soft2", gmailMessageId: "msg-f:r2", at: ago(HOUR / 4), from: "a@acme.example" },
      ],
    });
    expect((await statusOf(account, "t-soft2")).bounce).toBeNull();
  });

  it("two soft bounces of the same address, across messages, count as hard", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-s1", recipients: [{ email: "flaky@acme.example" }], sentAt: ago(5 * HOUR) });
    await sentMessage(account, { threadId: "t-s2", recipients: [{ email: "flaky@acme.example" }], sentAt: ago(3 * HOUR) });
    await signals(account, { signals: [bounce("t-s1", "msg-f:f1", "soft", ["flaky@acme.example"], ago(4 * HOUR))] });
    expect((await check(account, ["flaky@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: "soft" });
    // The same notice reported again is not a second bounce.
    await signals(account, { signals: [bounce("t-s1", "msg-f:f1", "soft", ["flaky@acme.example"], ago(4 * HOUR))] });
    expect((await check(account, ["flaky@acme.example"])).body.contacts[0]?.suppressed).toBe(false);
    await signals(account, { signals: [bounce("t-s2", "msg-f:f2", "soft", ["flaky@acme.example"], ago(2 * HOUR))] });
    expect((await check(account, ["flaky@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: true, bounceKind: "hard" });
  });

  it("takes one request's signals in order with a fixed number of database calls, however many there are", async () => {
    const account = await createAccount();
    const threads = Array.from({ length: 30 }, (_, i) => `t-many-${i}`);
    for (const threadId of threads)
      await sentMessage(account, { threadId, recipients: [{ email: `${threadId}@acme.example` }], sentAt: ago(5 * HOUR) });
    await sentMessage(account, { threadId: "t-many-flaky", recipients: [{ email: "flaky@acme.example" }], sentAt: ago(5 * HOUR) });
    const replies = threads.map((threadId, i) => ({
      kind: "reply",
      threadId,
      gmailMessageId: `msg-f:m${i}`,
      at: ago(HOUR),
      from: `${threadId}@acme.example`,
    }));
    const flaky = (id: string, at: string) => bounce("t-many-flaky", id, "soft", ["flaky@acme.example"], at);
    const counting = new FlakyD1(env.DB, () => false); // fails nothing: counts the calls
    const results = await recordSignals(
      counting.asD1(),
      account.accountId,
      ["rep@example.com"],
      [
        ...replies,
        replies[0] as Signal, // the same Gmail message twice in one request: recorded once
        { kind: "reply", threadId: "t-many-0", gmailMessageId: "msg-f:own", at: ago(HOUR), from: "Rep@example.com" },
        { kind: "reply", threadId: "t-nowhere", gmailMessageId: "msg-f:lost", at: ago(HOUR), from: "x@acme.example" },
        // Two soft notices with a reply from the address between them: the reply clears the first, so no suppression.
        flaky("msg-f:f1", ago(4 * HOUR)),
        { kind: "reply", threadId: "t-many-flaky", gmailMessageId: "msg-f:fr", at: ago(3 * HOUR), from: "flaky@acme.example" },
        flaky("msg-f:f2", ago(2 * HOUR)),
      ] as Signal[],
      Date.now(),
      env.SIGNING_SECRET ?? "",
    );
    expect(counting.calls).toBeLessThanOrEqual(6);
    expect(results.map((r) => r.outcome)).toEqual([
      ...replies.map(() => "recorded"),
      "duplicate",
      "ignored",
      "unmatched",
      "recorded",
      "recorded",
      "recorded",
    ]);
    expect(results[30]?.messageId).toBe(results[0]?.messageId);
    expect((await check(account, ["flaky@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: "soft" });
    // A third notice, after the reply, is the second since the last success: now the address is suppressed.
    await signals(account, { signals: [flaky("msg-f:f3", ago(HOUR))] });
    expect((await check(account, ["flaky@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: true, bounceKind: "hard" });
  });

  it("the rep lifts a suppression: the compose check clears, the bounce stays, and only a notice about an email sent after the lift suppresses again", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-lift", recipients: [{ email: "fixed@acme.example" }], sentAt: ago(5 * HOUR) });
    await signals(account, { signals: [bounce("t-lift", "msg-f:l1", "hard", ["fixed@acme.example"], ago(2 * HOUR))] });
    expect((await check(account, ["fixed@acme.example"])).body.contacts[0]?.suppressed).toBe(true);
    const lift = (who: TestAccount, email = "Fixed@acme.example") =>
      who.api(`/api/contacts/${encodeURIComponent(email)}/suppression`, { method: "DELETE" });
    expect((await lift(await createAccount())).status).toBe(404); // another account's list is not this one's
    expect((await lift(account, "not-an-address")).status).toBe(400);
    expect((await lift(account)).status).toBe(204);
    expect((await lift(account)).status).toBe(404); // not suppressed any more
    expect((await check(account, ["fixed@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: null });
    expect((await statusOf(account, "t-lift")).state).toBe("bounced");
    // A notice about the email sent before the lift, found late, does not undo it, even dated now (Gmail's dates
    // are read to the minute, or taken as now when unreadable).
    await signals(account, { signals: [bounce("t-lift", "msg-f:l0", "hard", ["fixed@acme.example"], ago(0))] });
    expect((await check(account, ["fixed@acme.example"])).body.contacts[0]?.suppressed).toBe(false);
    // One about an email sent after the lift does.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await sentMessage(account, { threadId: "t-lift-2", recipients: [{ email: "fixed@acme.example" }], sentAt: ago(0) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await signals(account, { signals: [bounce("t-lift-2", "msg-f:l2", "hard", ["fixed@acme.example"], ago(0))] });
    expect((await check(account, ["fixed@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: true, bounceKind: "hard" });
  });

  it("after a lift, soft notices from before it no longer count; two after it suppress the address again", async () => {
    const account = await createAccount();
    await sentMessage(account, { threadId: "t-lift-soft", recipients: [{ email: "busy@acme.example" }], sentAt: ago(5 * HOUR) });
    const soft = (id: string, at: string) => bounce("t-lift-soft", id, "soft", ["busy@acme.example"], at);
    await signals(account, { signals: [soft("msg-f:b1", ago(4 * HOUR)), soft("msg-f:b2", ago(3 * HOUR))] });
    expect((await check(account, ["busy@acme.example"])).body.contacts[0]?.suppressed).toBe(true);
    expect((await account.api("/api/contacts/busy%40acme.example/suppression", { method: "DELETE" })).status).toBe(204);
    expect((await check(account, ["busy@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: null });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await sentMessage(account, { threadId: "t-lift-soft-2", recipients: [{ email: "busy@acme.example" }], sentAt: ago(0) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = (id: string) => bounce("t-lift-soft-2", id, "soft", ["busy@acme.example"], ago(0));
    await signals(account, { signals: [later("msg-f:b3")] });
    expect((await check(account, ["busy@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: false, bounceKind: "soft" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await signals(account, { signals: [later("msg-f:b4")] });
    expect((await check(account, ["busy@acme.example"])).body.contacts[0]).toMatchObject({ suppressed: true, bounceKind: "hard" });
  });

  it("validates the compose check", async () => {
    const account = await createAccount();
    expect((await account.json("POST", "/api/contacts/check", { emails: [] })).status).toBe(400);
    expect((await account.json("POST", "/api/contacts/check", { emails: ["nope"] })).status).toBe(400);
    expect((await account.json("POST", "/api/contacts/check", { emails: Array(101).fill("a@b.example") })).status).toBe(400);
  });
});

describe("opt-out", () => {
  it("GET shows a page and records nothing; POST records the opt-out once", async () => {
    const account = await createAccount();
    // An address of its own: an opt-out holds for every account of the tracker, and the other tests send to the default one.
    const message = await sentMessage(account, { threadId: "t-out", optOutLink: true, recipients: [{ email: "buyer@page.example" }] });
    const page = await call(`/u/${message.id}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    // It says what it does: tracking off, not an unsubscribe from mail.
    expect(html).toContain("Stop tracking my opens and clicks");
    expect(html).toContain("does not unsubscribe you");
    expect(html).not.toContain("buyer@page.example");
    expect(html).not.toContain('name="email"');
    expect((await check(account, ["buyer@page.example"])).body.contacts[0]?.optedOut).toBe(false);
    const done = await call(`/u/${message.id}`, { method: "POST" });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Tracking is off");
    await call(`/u/${message.id}`, { method: "POST" });
    expect((await check(account, ["buyer@page.example"])).body.contacts[0]?.optedOut).toBe(true);
    expect((await statusOf(account, "t-out")).unsubscribed).toBe(true);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE message_id = ? AND kind = 'unsubscribe'")
      .bind(message.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("asks for the address when there are several recipients, and never reveals them", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { recipients: [{ email: "one@acme.example" }, { email: "Two@acme.example" }] });
    const html = await (await call(`/u/${message.id}`)).text();
    expect(html).toContain('name="email"');
    expect(html).not.toMatch(/one@|two@/i);
    const post = (email: string) =>
      call(`/u/${message.id}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `email=${encodeURIComponent(email)}`,
      });
    const stranger = await post("stranger@acme.example");
    const real = await post(" TWO@acme.example ");
    expect(stranger.status).toBe(200);
    expect(await stranger.text()).toBe(await real.text());
    const checked = await check(account, ["one@acme.example", "two@acme.example", "stranger@acme.example"]);
    expect(checked.body.contacts.map((c) => c.optedOut)).toEqual([false, true, false]);
    expect((await call(`/u/${message.id}`, { method: "POST" })).status).toBe(400);
  });

  it("answers 400 for ids that do not verify, and for a deleted message's form sent without an address", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    expect((await call(`/u/${forged(message.id)}`)).status).toBe(400);
    expect((await call(`/u/${forged(message.id)}`, { method: "POST" })).status).toBe(400);
    expect((await call("/u/nonsense")).status).toBe(400);
    await account.json("DELETE", `/api/messages/${message.id}`);
    // Its one recipient went with its data: the page needs the address (privacy.test.ts).
    const answer = await call(`/u/${message.id}`, { method: "POST" });
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain("enter the address");
  });

  it("after an opt-out, hits of every email to that recipient store nothing, earlier ones included; links still redirect", async () => {
    const account = await createAccount();
    const url = "https://example.com/offer";
    const to = (email: string, threadId: string) => sentMessage(account, { threadId, recipients: [{ email }], links: [{ index: 0, url }] });
    const earlier = await to("leaver@acme.example", "t-l1");
    const shared = await sentMessage(account, { recipients: [{ email: "leaver@acme.example" }, { email: "stayer@acme.example" }] });
    const optOutVia = await to("Leaver@acme.example", "t-l2");
    const control = await to("stayer@acme.example", "t-l3");
    await openPixel(earlier.id);
    await waitForEvents(earlier.id, 1);
    expect((await call(`/u/${optOutVia.id}`, { method: "POST" })).status).toBe(200);
    for (const message of [earlier, shared, optOutVia]) {
      await openPixel(message.id);
      const click = await clickLink(account, message.id, 0, url);
      expect(click.status).toBe(302);
      expect(click.headers.get("location")).toBe(url);
    }
    await openPixel(control.id);
    await waitForEvents(control.id, 1);
    // The direct-write fallback applies the same rule.
    expect(await hitAt(account, earlier.id, Date.now())).toBe(0);
    expect(await hitAt(account, control.id, Date.now())).toBe(1);
    // Give the queue time to deliver anything it still holds, then check.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedEvents(earlier.id)).toHaveLength(1); // only the open from before the opt-out
    expect(await storedEvents(shared.id)).toHaveLength(0);
    expect(await storedEvents(optOutVia.id)).toHaveLength(0);
    // An email registered later to the same address is not tracked either.
    const later = await to("leaver@acme.example", "t-l4");
    await openPixel(later.id);
    await openPixel(control.id);
    await waitForEvents(control.id, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedEvents(later.id)).toHaveLength(0);
  });

  it("reaches the emails the person was removed from as a deleted contact, whichever email the opt-out comes through", async () => {
    const account = await createAccount();
    const shared = await sentMessage(account, { recipients: [{ email: "leaver@acme.example" }, { email: "stayer@acme.example" }] });
    await sentMessage(account, { recipients: [{ email: "leaver@acme.example" }] });
    const control = await sentMessage(account, { recipients: [{ email: "stayer@acme.example" }] });
    // The rep deletes the contact first: the shared email keeps only its fingerprint, the other email is deleted.
    expect((await account.api(`/api/contacts/${encodeURIComponent("leaver@acme.example")}`, { method: "DELETE" })).status).toBe(204);
    const later = await sentMessage(account, { recipients: [{ email: "leaver@acme.example" }] });
    // Then the person opts out through a later email: the shared one stops storing their hits too.
    expect((await call(`/u/${later.id}`, { method: "POST" })).status).toBe(200);
    expect(await hitAt(account, shared.id, Date.now())).toBe(0);
    expect(await hitAt(account, later.id, Date.now())).toBe(0);
    expect(await hitAt(account, control.id, Date.now())).toBe(1);
  });

  it("works for an email registered without readable recipients: asks for the address, then stops tracking it", async () => {
    // The extension registers such emails on purpose when it could read no recipient (compose-tracking.ts).
    const account = await createAccount();
    const unread = await sentMessage(account, { recipients: [] });
    const control = await sentMessage(account);
    await openPixel(unread.id);
    await waitForEvents(unread.id, 1);
    const page = await call(`/u/${unread.id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="email"');
    const done = await call(`/u/${unread.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `email=${encodeURIComponent("Reader@acme.example")}`,
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Tracking is off");
    expect((await call(`/u/${unread.id}`, { method: "POST" })).status).toBe(400);
    await openPixel(unread.id);
    await openPixel(control.id);
    await waitForEvents(control.id, 1);
    expect(await hitAt(account, unread.id, Date.now())).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedEvents(unread.id)).toHaveLength(1); // only the open from before the opt-out
    expect((await check(account, ["reader@acme.example"])).body.contacts[0]?.optedOut).toBe(true);
  });

  it("stops tracking the email for a reader it was not sent to (a list, an alias, a forwarded copy), with the same page", async () => {
    const account = await createAccount();
    const recipients = [{ email: "sales@acme.example" }, { email: "cto@acme.example" }];
    const toList = await sentMessage(account, { recipients, optOutLink: true });
    const control = await sentMessage(account, { recipients });
    expect(await hitAt(account, toList.id, Date.now())).toBe(1);
    const optOut = (id: string, email: string) =>
      call(`/u/${id}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `email=${encodeURIComponent(email)}`,
      });
    const asReader = await optOut(toList.id, "bob@acme.example");
    const asRecipient = await optOut(control.id, "cto@acme.example");
    expect(asReader.status).toBe(200);
    expect(await asReader.text()).toBe(await asRecipient.text()); // the page tells no recipient from a reader
    expect(await hitAt(account, toList.id, Date.now())).toBe(0);
    expect(await hitAt(account, toList.id, Date.now(), "click")).toBe(0);
    expect(await storedEvents(toList.id)).toHaveLength(1); // what came before is kept
    // The reader's address is not known to have received anything: it is recorded nowhere, and blocks nothing else.
    const { results } = await env.DB.prepare("SELECT email FROM opt_outs WHERE account_id = ?").bind(account.accountId).all();
    expect(results).toEqual([{ email: "cto@acme.example" }]);
    const toBob = await sentMessage(account, { recipients: [{ email: "bob@acme.example" }] });
    expect(await hitAt(account, toBob.id, Date.now())).toBe(1);
    // The rep sees that a reader turned tracking off, and the email is not tracked again by a repeated registration.
    const detail = await account.json<{ unsubscribed: boolean }>("GET", `/api/messages/${toList.id}`);
    expect(detail.body.unsubscribed).toBe(true);
    expect((await account.json("PUT", `/api/messages/${toList.id}`, registration({ ...toList, recipients }))).status).toBe(200);
    expect(await hitAt(account, toList.id, Date.now())).toBe(0);
  });
});
