import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type Credentials, keysAnswered } from "../../extension/src/background/credentials";
import { outboxDelivery } from "../../extension/src/background/delivery";
import type { OutboxEntry } from "../../extension/src/background/outbox";
import {
  type AccountResponse,
  type ErrorResponse,
  type MessageDetail,
  type MessageStatus,
  REGISTRATION_BODY_MAX_BYTES,
  registerMessageRequest,
  type StatusResponse,
} from "../../shared/api";
import { MAX_EMAIL_LENGTH } from "../../shared/email";
import { GMAIL_ID_MAX } from "../../shared/gmail-message-id";
import { CAMPAIGN_NAME_MAX, EARLIER_KEYS_MAX, RECIPIENT_NAME_MAX, RECIPIENTS_MAX, SUBJECT_MAX } from "../../shared/limits";
import { MAX_DESTINATION_LENGTH, MAX_LINK_INDEX, mintTrackingId } from "../../shared/protocol";
import worker from "../src/index";
import { d1WithBoundValueLimit } from "./faults";
import {
  BASE,
  call,
  clickLink,
  countedCall,
  createAccount,
  d1Cost,
  forged,
  GMAIL_PROXY_UA,
  MINUTE,
  openPixel,
  registration,
  reply,
  seedEmailActivity,
  seedMessages,
  seedOpens,
  sentMessage,
  waitForEvents,
} from "./helpers";

describe("the mounted API", () => {
  it("answers an unknown API path in JSON, and other unknown paths in plain text", async () => {
    const api = await call("/api/no-such-thing");
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: "no such API endpoint" });
    const page = await call("/no-such-thing");
    expect(page.status).toBe(404);
    expect(await page.text()).toBe("Not found\n");
  });
});

describe("accounts", () => {
  it("creates an account with a token stored only as a hash, and a working signing key", async () => {
    const account = await createAccount("Dana");
    expect(account.accountId).toMatch(/^[a-z2-7]{16}$/);
    expect(account.apiToken).toMatch(/^mt_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    const row = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(account.accountId).first<Record<string, unknown>>();
    expect(Object.values(row ?? {}).some((v) => typeof v === "string" && v.includes(account.apiToken.slice(20)))).toBe(false);
    expect(row?.token_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await account.json<AccountResponse>("GET", "/api/account");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ accountId: account.accountId, name: "Dana", signingKey: account.signingKey });
  });

  it("rejects missing, malformed and wrong tokens with 401", async () => {
    const account = await createAccount();
    const wrongSecret = `${account.apiToken.slice(0, -4)}AAAA`;
    for (const authorization of [
      undefined,
      "Bearer",
      `Basic ${account.apiToken}`,
      `Bearer ${wrongSecret}`,
      `Bearer mt_${"a".repeat(16)}_${"A".repeat(43)}`,
    ]) {
      const response = await call("/api/account", authorization ? { headers: { authorization } } : {});
      expect(response.status).toBe(401);
      const body = (await response.json()) as ErrorResponse;
      expect(body.error).toMatch(/API token/);
      expect(JSON.stringify(body)).not.toContain(account.apiToken);
    }
  });

  it("requires REGISTRATION_SECRET when the deployment sets one", async () => {
    const gated = { ...env, REGISTRATION_SECRET: "let-me-in-please" };
    const create = (headers: Record<string, string>) =>
      worker.fetch(
        new Request(`${BASE}/api/accounts`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" }),
        gated,
        createExecutionContext(),
      );
    expect((await create({})).status).toBe(403);
    expect((await create({ "x-registration-secret": "wrong" })).status).toBe(403);
    expect((await create({ "x-registration-secret": "let-me-in-please" })).status).toBe(201);
  });

  it("refuses to create accounts without a usable SIGNING_SECRET, saying what to do", async () => {
    const response = await worker.fetch(
      new Request(`${BASE}/api/accounts`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
      { ...env, SIGNING_SECRET: "short" },
      createExecutionContext(),
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorResponse).error).toContain("SIGNING_SECRET");
  });

  it("rotates keys without breaking ids minted with the old one", async () => {
    const account = await createAccount();
    const old = await sentMessage(account);
    const rotated = await account.json<{ keyId: number; secret: string }>("POST", "/api/account/keys");
    expect(rotated.status).toBe(201);
    expect(rotated.body.keyId).toBe(2);
    expect(rotated.body.secret).not.toBe(account.signingKey.secret);
    expect((await account.json<AccountResponse>("GET", "/api/account")).body).toMatchObject({
      signingKey: rotated.body,
      earlierKeys: [account.signingKey],
    });
    const fresh = await mintTrackingId({ accountId: account.accountId, ...rotated.body });
    expect((await account.json("PUT", `/api/messages/${fresh}`, registration())).status).toBe(200);
    await openPixel(old.id);
    await openPixel(fresh);
    await waitForEvents(old.id, 1);
    await waitForEvents(fresh, 1);
  });

  it("answers the latest earlier keys with the current one, each still signing links the tracker follows", async () => {
    const account = await createAccount();
    expect((await account.json<AccountResponse>("GET", "/api/account")).body.earlierKeys).toEqual([]);
    const rotations = EARLIER_KEYS_MAX + 2;
    for (let i = 0; i < rotations; i++) expect((await account.api("/api/account/keys", { method: "POST" })).status).toBe(201);
    const me = (await account.json<AccountResponse>("GET", "/api/account")).body;
    expect(me.signingKey.keyId).toBe(rotations + 1);
    // The extension's reading of them (credentials.ts): every one taken up, the oldest ones past the bound not answered.
    const { earlierKeys = [] } = keysAnswered(me);
    expect(earlierKeys.map((key) => key.keyId)).toEqual(
      Array.from({ length: EARLIER_KEYS_MAX }, (_, i) => rotations + 1 - EARLIER_KEYS_MAX + i),
    );
    const oldest = earlierKeys[0];
    if (!oldest) throw new Error("no earlier key answered");
    const id = await mintTrackingId(oldest);
    await account.tracker.registerMessage(id, registration({ links: [{ index: 0, url: "https://a.example/" }] }));
    const click = await clickLink({ ...account, key: oldest }, id, 0, "https://a.example/");
    expect([click.status, click.headers.get("location")]).toEqual([302, "https://a.example/"]);
  });
});

describe("messages", () => {
  it("registers idempotently and replaces links on update", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const body = registration({
      links: [
        { index: 0, url: "https://a.example/" },
        { index: 1, url: "https://b.example/" },
      ],
    });
    const first = await account.json<MessageStatus>("PUT", `/api/messages/${id}`, body);
    const second = await account.json<MessageStatus>("PUT", `/api/messages/${id}`, body);
    expect(first).toEqual(second);
    expect(first.body).toMatchObject({ id, state: "delivered", openCount: 0, clickCount: 0, threadId: body.threadId });
    await account.json("PUT", `/api/messages/${id}`, { ...body, links: [{ index: 0, url: "https://c.example/" }] });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE id = ?").bind(id).first<{ n: number }>();
    expect(count?.n).toBe(1);
    const detail = await account.json<MessageDetail>("GET", `/api/messages/${id}`);
    expect(detail.body.links.map((l) => l.url)).toEqual(["https://c.example/"]);
  });

  it("answers 400 naming each bad field", async () => {
    const account = await createAccount();
    const id = await mintTrackingId(account.key);
    const cases: [unknown, string][] = [
      [{ ...registration(), subject: 5 }, "subject"],
      [{ ...registration(), recipients: [{ email: "not-an-address" }] }, "recipients.0.email"],
      [{ ...registration(), sentAt: "yesterday" }, "sentAt"],
      [{ ...registration(), threadId: "bad id with spaces" }, "threadId"],
      [{ ...registration(), links: [{ index: 0, url: "javascript:alert(1)" }] }, "links.0.url"],
      [
        {
          ...registration(),
          links: [
            { index: 0, url: "https://a.example/" },
            { index: 0, url: "https://b.example/" },
          ],
        },
        "links",
      ],
      [{ ...registration(), links: [{ index: 1000, url: "https://a.example/" }] }, "links.0.index"],
    ];
    for (const [body, path] of cases) {
      const res = await account.json<ErrorResponse>("PUT", `/api/messages/${id}`, body);
      expect(res.status).toBe(400);
      expect(res.body.issues?.map((i) => i.path)).toContain(path);
    }
    const malformed = await account.api(`/api/messages/${id}`, { method: "PUT", body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorResponse).error).toBeTruthy();
    const forgedId = await account.json<ErrorResponse>("PUT", `/api/messages/${forged(id)}`, registration());
    expect(forgedId.status).toBe(400);
    // Longer than the API's other requests may be, but within a registration's limit: the schema answers, naming the field.
    const longSubject = await account.json<ErrorResponse>("PUT", `/api/messages/${id}`, {
      ...registration(),
      subject: "x".repeat(300_000),
    });
    expect(longSubject.status).toBe(400);
    expect(longSubject.body.issues?.map((i) => i.path)).toContain("subject");
  });

  describe("a registration's size", () => {
    /** A link of `chars` characters, every one past the host a '"', which JSON doubles. */
    const longLink = (index: number, chars: number) => ({ index, url: `https://a.example/${'"'.repeat(chars - 18)}` });

    it("takes 70 links of 4,000 characters, past the 256 KiB the API's other requests may be", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      const links = Array.from({ length: 70 }, (_, i) => ({ index: i, url: `https://a.example/${String(i).padStart(3982, "x")}` }));
      expect(JSON.stringify({ ...registration(), links }).length).toBeGreaterThan(256 * 1024);
      expect((await account.json("PUT", `/api/messages/${id}`, registration({ links }))).status).toBe(200);
      const stored = await env.DB.prepare("SELECT count(*) AS n FROM links WHERE message_id = ?").bind(id).first("n");
      expect(stored).toBe(70);
    });

    it(
      "takes the longest the schema accepts, a thousand links, within D1's longest bound value",
      async () => {
        const account = await createAccount();
        const id = await mintTrackingId(account.key);
        const links = Array.from({ length: MAX_LINK_INDEX + 1 }, (_, i) => longLink(i, MAX_DESTINATION_LENGTH));
        const ctx = createExecutionContext();
        const response = await worker.fetch(
          new Request(`${BASE}/api/messages/${id}`, {
            method: "PUT",
            headers: { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" },
            body: JSON.stringify(registration({ links })),
          }),
          { ...env, DB: d1WithBoundValueLimit(env.DB) },
          ctx,
        );
        await waitOnExecutionContext(ctx);
        expect(response.status).toBe(200);
        const stored = await env.DB.prepare("SELECT count(*) AS n, min(length(url)) AS shortest FROM links WHERE message_id = ?")
          .bind(id)
          .first();
        expect(stored).toEqual({ n: MAX_LINK_INDEX + 1, shortest: MAX_DESTINATION_LENGTH });
      },
      MINUTE,
    );

    it("bounds the body of every registration the schema accepts, as JSON.stringify writes it", () => {
      // Each string at its longest, in the characters JSON writes longest: \u0001 (6 bytes), '"' (2) in a link.
      const worst = (chars: number) => "\u0001".repeat(chars);
      const time = "2026-12-06T09:53:25.123456789+01:00";
      const gmailId = `#${"f".repeat(GMAIL_ID_MAX)}`;
      const longest = {
        subject: worst(SUBJECT_MAX),
        recipients: Array.from({ length: RECIPIENTS_MAX }, () => ({
          email: `${worst(64)}@${worst(MAX_EMAIL_LENGTH - 65)}`,
          name: worst(RECIPIENT_NAME_MAX),
        })),
        sentAt: time,
        clockAt: time,
        threadId: gmailId,
        syncThreadId: gmailId,
        gmailMessageId: gmailId,
        campaign: worst(CAMPAIGN_NAME_MAX),
        optOutLink: false,
        openTracking: false,
        clickTracking: false,
        links: Array.from({ length: MAX_LINK_INDEX + 1 }, (_, i) => longLink(i, MAX_DESTINATION_LENGTH)),
      };
      // Every field of the schema is at its longest here: one added to it must be counted in the bound too.
      expect(Object.keys(longest).sort()).toEqual(Object.keys(registerMessageRequest.shape).sort());
      expect(registerMessageRequest.safeParse(longest).success).toBe(true);
      const bytes = new TextEncoder().encode(JSON.stringify(longest)).length;
      expect(bytes).toBeLessThanOrEqual(REGISTRATION_BODY_MAX_BYTES);
      // And not far above it (a link's scheme and host, an address's "@" and the shorter indexes are a byte a
      // character, where the bound counts the longest): the limit is no looser than the schema needs.
      expect(REGISTRATION_BODY_MAX_BYTES - bytes).toBeLessThan(REGISTRATION_BODY_MAX_BYTES / 100);
    });

    it("refuses a body past the longest valid one with a 413 the extension keeps as failed and tells, and the others past 256 KiB", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      // Valid, its campaign trimmed, but longer than any the compose window sends: no client writes this.
      const padded = registration({ campaign: `${" ".repeat(REGISTRATION_BODY_MAX_BYTES)}Q4` });
      const answer = await account.json<ErrorResponse>("PUT", `/api/messages/${id}`, padded);
      expect(answer).toEqual({
        status: 413,
        body: { error: `registration body over ${REGISTRATION_BODY_MAX_BYTES} bytes, longer than any valid registration: not registered` },
      });
      // The extension's delivery of it: not retried, and kept with the tracker's words, which the outbox tells the rep.
      const deliver = outboxDelivery({
        credentials: async () => ({ trackerUrl: BASE, accountId: account.accountId, apiToken: account.apiToken }) as Credentials,
        api: () => account.tracker,
        news: () => {},
        releaseHeld: () => {},
        registered: () => {},
      });
      const entry: OutboxEntry = {
        trackingId: id,
        request: padded,
        state: "pending",
        attempts: 0,
        createdAt: 0,
        nextAttemptAt: 0,
        lastError: null,
      };
      expect(await deliver(entry)).toEqual({ retry: false, error: `the tracker answered 413: ${answer.body.error}`, status: 413 });
      // Every other request keeps the API's 256 KiB.
      const signals = await account.api("/api/signals", {
        method: "POST",
        body: JSON.stringify({ signals: [], pad: "x".repeat(256 * 1024) }),
      });
      expect(signals.status).toBe(413);
    });
  });

  it("reports one page of the Sent list in one batch request", async () => {
    const account = await createAccount();
    const opened = await sentMessage(account, { threadId: "t-opened" });
    const clicked = await sentMessage(account, { threadId: "t-clicked", links: [{ index: 0, url: "https://example.com/x" }] });
    await sentMessage(account, { threadId: "t-quiet" });
    await sentMessage(account, { threadId: "t-no-pixel", openTracking: false });
    const apple = await sentMessage(account, { threadId: "t-apple" });
    await openPixel(opened.id);
    await openPixel(opened.id, { "user-agent": GMAIL_PROXY_UA });
    await openPixel(opened.id, { "user-agent": "Mozilla/5.0" }); // Apple prefetch: not counted
    await openPixel(apple.id, { "user-agent": "Mozilla/5.0" });
    await clickLink(account, clicked.id, 0, "https://example.com/x");
    await waitForEvents(opened.id, 3);
    await waitForEvents(clicked.id, 1);
    await waitForEvents(apple.id, 1);
    const res = await account.json<StatusResponse>("POST", "/api/messages/status", {
      threadIds: ["t-opened", "t-clicked", "t-quiet", "t-no-pixel", "t-apple", "t-unknown"],
    });
    expect(res.status).toBe(200);
    const byThread = Object.fromEntries(res.body.messages.map((m) => [m.threadId, m]));
    expect(Object.keys(byThread).sort()).toEqual(["t-apple", "t-clicked", "t-no-pixel", "t-opened", "t-quiet"]);
    // Apple Mail's loads on delivery are counted as nothing, and said apart: a later read of those emails loads nothing.
    expect(byThread["t-apple"]).toMatchObject({ state: "delivered", openCount: 0, appleMailLoads: 1 });
    expect(byThread["t-opened"]).toMatchObject({ openCount: 2, appleMailLoads: 1 });
    expect(byThread["t-quiet"]?.appleMailLoads).toBe(0);
    // An email without its pixel says so: the Sent list must not call it "not opened" (sent-list-marks.ts).
    expect(byThread["t-no-pixel"]).toMatchObject({ state: "delivered", openTracking: false });
    expect(byThread["t-quiet"]?.openTracking).toBe(true);
    expect(byThread["t-opened"]).toMatchObject({ state: "opened", openCount: 2, clickCount: 0 });
    expect(byThread["t-opened"]?.firstOpenAt).toBeTruthy();
    expect(byThread["t-clicked"]).toMatchObject({ state: "clicked", clickCount: 1 });
    expect(byThread["t-quiet"]).toMatchObject({ state: "delivered", openCount: 0, lastOpenAt: null });
    expect((await account.json("POST", "/api/messages/status", { threadIds: [] })).status).toBe(400);
    expect((await account.json("POST", "/api/messages/status", { threadIds: Array(201).fill("t") })).status).toBe(400);
  });

  it("answers a full Sent page (more threads than one query takes) oldest first", async () => {
    const account = await createAccount();
    const newest = Date.now() - MINUTE;
    const threadIds = Array.from({ length: 100 }, (_, i) => `t-page-${i}`);
    // Listed newest first, as Gmail's Sent list shows them.
    for (const [i, threadId] of threadIds.entries())
      await sentMessage(account, { threadId, sentAt: new Date(newest - i * 1_000).toISOString() });
    const res = await account.json<StatusResponse>("POST", "/api/messages/status", { threadIds });
    expect(res.body.messages.map((m) => m.threadId)).toEqual([...threadIds].reverse());
  });

  it("details every open and every link with clicks, unique clicks and times", async () => {
    const account = await createAccount();
    const url = "https://example.com/pricing";
    const message = await sentMessage(account, {
      links: [
        { index: 0, url },
        { index: 1, url: "https://example.com/unused" },
      ],
    });
    await openPixel(message.id, {}, { country: "FR", region: "Île-de-France", city: "Paris" });
    await openPixel(message.id, { "user-agent": GMAIL_PROXY_UA }, { country: "US", city: "Mountain View" });
    await clickLink(account, message.id, 0, url, { headers: { "cf-connecting-ip": "198.51.100.7" } });
    await clickLink(account, message.id, 0, url, { headers: { "cf-connecting-ip": "198.51.100.7" } });
    await clickLink(account, message.id, 0, url, { headers: { "cf-connecting-ip": "203.0.113.9" } });
    const stored = await waitForEvents(message.id, 5);
    const { body } = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect(body.openCount).toBe(2);
    expect(body.opens).toHaveLength(2);
    expect(body.opens.find((o) => o.label === "human")).toMatchObject({ client: "Chrome (web browser)" });
    // Country and region only: the request's city is neither stored nor shown (a city can name a reader).
    expect(body.opens.find((o) => o.label === "human")?.place).toEqual({ country: "FR", region: "Île-de-France" });
    expect(JSON.stringify(body)).not.toContain("Paris");
    expect(stored.map((event) => event.city)).toEqual([null, null, null, null, null]);
    // Through Google's proxy the place and device would be Google's: none is shown.
    expect(body.opens.find((o) => o.label === "gmail-proxy")).toMatchObject({
      place: null,
      client: "Gmail (through Google's proxy)",
      device: null,
    });
    expect(body.links[0]).toMatchObject({ index: 0, url, clicks: 3, uniqueClicks: 2 });
    expect(body.links[0]?.clickTimes).toHaveLength(3);
    expect(body.links[1]).toMatchObject({ index: 1, clicks: 0, uniqueClicks: 0 });
    expect(body).toMatchObject({ subject: message.subject, recipients: message.recipients, clickTracking: true });
    // No raw address anywhere in storage.
    const rows = await env.DB.prepare("SELECT * FROM events WHERE message_id = ?").bind(message.id).all();
    expect(JSON.stringify(rows.results)).not.toMatch(/198\.51\.100\.7|203\.0\.113\.9/);
  });

  it("stops tracking: later hits store nothing, links keep redirecting", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    const stopped = await account.json<MessageStatus>("POST", `/api/messages/${message.id}/stop`);
    expect(stopped.body).toMatchObject({ state: "stopped", openCount: 1 });
    await openPixel(message.id);
    const control = await sentMessage(account);
    await openPixel(control.id);
    await waitForEvents(control.id, 1);
    const detail = await account.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect(detail.body.opens).toHaveLength(1);
  });

  it("deletes a message's data and keeps it deleted", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { links: [{ index: 0, url: "https://example.com/" }], campaign: "Acme renewal" });
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    await reply(account, message.threadId ?? "", "buyer@acme.example", "msg-f:deleted-reply");
    const res = await account.api(`/api/messages/${message.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect((await account.json("GET", `/api/messages/${message.id}`)).status).toBe(404);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE message_id = ?").bind(message.id).first<{ n: number }>();
    expect(events?.n).toBe(0);
    // The tombstone keeps nothing the rep wrote: not the subject, nor the campaign's name; nor when it was answered,
    // whose reply went with its data.
    const tombstone = await env.DB.prepare("SELECT subject, campaign, search_text, recipients, last_reply_at FROM messages WHERE id = ?")
      .bind(message.id)
      .first();
    expect(tombstone).toEqual({ subject: null, campaign: null, search_text: null, recipients: "[]", last_reply_at: null });
    // A late hit stores nothing; a late outbox retry does not bring the message back.
    await openPixel(message.id);
    const control = await sentMessage(account);
    await openPixel(control.id);
    await waitForEvents(control.id, 1);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE message_id = ?").bind(message.id).first<{ n: number }>();
    expect(after?.n).toBe(0);
    expect((await account.json("PUT", `/api/messages/${message.id}`, registration())).status).toBe(410);
    expect((await account.api(`/api/messages/${message.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("deletes an email reading its own rows, as many in an account of 300 emails as in one of 30", async () => {
    const deletion = async (emails: number) => {
      const account = await createAccount();
      await seedMessages(account, emails);
      await seedOpens(account, 2 * emails);
      await seedEmailActivity(account);
      // The email deleted is the account's second seeded one (seeded-<account>-1, to reader1), also sent to reader2,
      // whom the third went to. A seek reads the index entry after its range to see that it ended, when there is one:
      // here the tenth's (seeded-<account>-10, reader10) at both sizes, where a registered email's random id would
      // sometimes have none after it.
      const id = `seeded-${account.accountId}-1`;
      await env.DB.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES (?, ?, 'reader2@example.org')")
        .bind(id, account.accountId)
        .run();
      // Counted from the second call: the first may read the account from D1 before its cache entry is written.
      await countedCall(account, `/api/messages/${id}`);
      const deleted = await countedCall(account, `/api/messages/${id}`, "DELETE");
      expect(deleted.response.status).toBe(204);
      const left = await env.DB.prepare(
        `SELECT (SELECT count(*) FROM events WHERE message_id = ?1) + (SELECT count(*) FROM links WHERE message_id = ?1)
           + (SELECT count(*) FROM sender_views WHERE message_id = ?1) + (SELECT count(*) FROM signals WHERE message_id = ?1)
           + (SELECT count(*) FROM message_recipients WHERE message_id = ?1) + (SELECT count(*) FROM removed_recipients WHERE message_id = ?1) AS n`,
      )
        .bind(id)
        .first<{ n: number }>();
      expect(left?.n).toBe(0);
      return d1Cost(deleted);
    };
    expect(await deletion(300)).toEqual(await deletion(30));
  });
});

describe("cross-account access", () => {
  it("gives another account's data as 404 on every route", async () => {
    const alice = await createAccount("Alice");
    const bob = await createAccount("Bob");
    const message = await sentMessage(alice, { threadId: "t-alice" });
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    expect((await bob.json("GET", `/api/messages/${message.id}`)).status).toBe(404);
    expect((await bob.json("POST", `/api/messages/${message.id}/stop`)).status).toBe(404);
    expect((await bob.api(`/api/messages/${message.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await bob.json("PUT", `/api/messages/${message.id}`, registration())).status).toBe(404);
    expect((await bob.json<StatusResponse>("POST", "/api/messages/status", { threadIds: ["t-alice"] })).body.messages).toEqual([]);
    expect(
      (await bob.json<{ recorded: number }>("POST", "/api/views", { messageIds: [message.id], threadIds: ["t-alice"] })).body.recorded,
    ).toBe(0);
    expect((await bob.json<{ events: unknown[] }>("GET", "/api/events?after=0")).body.events).toEqual([]);
    // Alice's data is untouched.
    const detail = await alice.json<MessageDetail>("GET", `/api/messages/${message.id}`);
    expect(detail.body).toMatchObject({ state: "opened", openCount: 1, subject: message.subject });
  });
});

describe("no cross-origin access for web pages", () => {
  it("sends no CORS headers, even to a preflight", async () => {
    const account = await createAccount();
    const preflight = await call("/api/messages/status", {
      method: "OPTIONS",
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const get = await account.api("/api/account", { headers: { origin: "https://evil.example" } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
    expect(get.headers.get("access-control-allow-credentials")).toBeNull();
  });
});
