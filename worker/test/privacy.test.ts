import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ContactsCheckResponse } from "../../shared/api";
import { mintTrackingId } from "../../shared/protocol";
import { recordPendingOptOut } from "../src/db/opt-outs";
import { purgeExpiredEvents } from "../src/db/retention";
import { hitFromRequest, queuedHit } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { d1WithWriteBeforeEachBatch, d1WithWriteBeforeFirstBatch, FlakyD1 } from "./faults";
import {
  BASE,
  blankAccount,
  CHROME_UA,
  call,
  clickLink,
  countedCall,
  createAccount,
  DAY,
  HOUR,
  migrateRowsAcross,
  openPixel,
  registration,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
} from "./helpers";

/** Builds a hit on the message through the real request path and hands it to the queue consumer: how many were stored. */
async function storeHitNow(
  account: TestAccount,
  messageId: string,
  kind: "open" | "click",
  at = Date.now(),
  headers: Record<string, string> = {},
): Promise<number> {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA, ...headers } });
  const target = { accountId: account.accountId, messageId, accountKey, kind, linkIndex: kind === "click" ? 0 : null };
  return storeHits(env.DB, [await hitFromRequest(request, target, at)]);
}

/** D1 calls one registration of an email with no opt-out held for it makes (a batch is one). */
const REGISTRATION_D1_QUERIES = 6;

/** Every row of every table, as text: what a database dump would reveal. */
async function dumpDatabase(): Promise<string> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
  ).all<{ name: string }>();
  const rows = [];
  for (const { name } of tables) rows.push(...(await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["accounts", "messages", "events", "links", "sender_views"]));
  return JSON.stringify(rows);
}

describe("privacy", () => {
  it("persists no raw client address anywhere, in any form", async () => {
    const account = await createAccount();
    const url = "https://example.com/private";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    const addresses = ["203.0.113.77", "2001:db8::1234:5678"];
    for (const address of addresses) {
      await openPixel(message.id, { "cf-connecting-ip": address, "x-forwarded-for": address, "x-real-ip": address });
      await clickLink(account, message.id, 0, url, { headers: { "cf-connecting-ip": address, "x-forwarded-for": address } });
    }
    await waitForEvents(message.id, 4);
    const dump = await dumpDatabase();
    for (const address of addresses) {
      expect(dump).not.toContain(address);
      expect(dump).not.toContain(address.split(".").slice(0, 3).join(".")); // not even truncated
    }
    expect(dump).not.toContain("2001:db8");
  });

  it("keeps no reader's city: not from a request, nor from a hit queued or written by the version before", async () => {
    // A city, beside an open's time and the email it opened, can name the reader: a country and a region only.
    const account = await createAccount();
    const message = await sentMessage(account);
    const cf = { country: "FR", region: "Île-de-France", city: "Paris" };
    await openPixel(message.id, {}, cf);
    expect((await waitForEvents(message.id, 1))[0]).toMatchObject({ country: "FR", region: "Île-de-France", city: null });
    // The hit as queued carries none, and one queued by the version before (with its city) is read without it.
    const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
    const request = new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA }, cf } as RequestInit);
    const hit = await hitFromRequest(
      request,
      { accountId: account.accountId, messageId: message.id, accountKey, kind: "open", linkIndex: null },
      0,
    );
    expect(hit).toMatchObject({ country: "FR", region: "Île-de-France" });
    expect(hit).not.toHaveProperty("city");
    expect(queuedHit.parse({ ...hit, city: "Lyon" })).not.toHaveProperty("city");
    // A row the version before writes while this one is deployed (after migration 0019) keeps none either.
    await env.DB.prepare(
      `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label, country, region, city)
       VALUES (?, ?, ?, 'open', 1, 1, 'human', 'human', 'FR', 'Provence', 'Marseille')`,
    )
      .bind(crypto.randomUUID(), account.accountId, message.id)
      .run();
    expect((await storedEvents(message.id)).map((event) => [event.region, event.city])).toEqual([
      ["Île-de-France", null],
      ["Provence", null],
    ]);
  });

  it("clears, in migration 0019, the cities, deleted emails' campaigns and purged activity's scores stored before it", async () => {
    const db = env.MIGRATION_TEST_DB;
    const hourAgo = Date.now() - HOUR;
    const insert = (eventId: string, city: string | null) =>
      db
        .prepare(
          `INSERT INTO events (event_id, account_id, message_id, kind, occurred_at, inserted_at, request_label, label, country, region, city)
           VALUES (?, 'acct-a', 'm-a', 'open', 1, 1, 'human', 'human', 'DE', 'Bavaria', ?)`,
        )
        .bind(eventId, city);
    await migrateRowsAcross("0019_forget_cities_campaigns_and_purged_scores.sql", [
      blankAccount("acct-a"),
      insert("e-1", "Munich"),
      insert("e-2", null),
      // A deleted email's tombstone as deletions left it, with its campaign, and the stored row of its other recipient,
      // marked but not rescored yet, still listing it beside the campaign of that recipient's other email.
      db.prepare(
        "INSERT INTO messages (id, account_id, campaign, updated_at, deleted_at) VALUES ('m-gone', 'acct-a', 'Secret launch', 0, 0)",
      ),
      db.prepare("INSERT INTO messages (id, account_id, campaign, updated_at) VALUES ('m-kept', 'acct-a', 'Renewal', 0)"),
      db.prepare("INSERT INTO message_recipients (message_id, account_id, email) VALUES ('m-kept', 'acct-a', 'bea@acme.example')"),
      db.prepare(
        `UPDATE contact_scores SET dirty = 1, campaigns = '["Secret launch","Renewal"]' WHERE account_id = 'acct-a' AND email = 'bea@acme.example'`,
      ),
      // Stored rows the purge marked and left as they were, one's latest activity past the 90 days' retention, the
      // other's not; and a row rescored since, left alone.
      db
        .prepare(
          `INSERT INTO contact_scores (account_id, email, dirty, activity_key, score_key) VALUES
             ('acct-a', 'faded@acme.example', 1, ?1, 3.5), ('acct-a', 'mixed@acme.example', 2, ?2, 4.5),
             ('acct-a', 'rescored@acme.example', 0, ?2, 2.5)`,
        )
        .bind(Date.now() - 91 * DAY, hourAgo),
    ]);
    const { results } = await db.prepare("SELECT event_id, country, region, city FROM events ORDER BY event_id").all();
    expect(results).toEqual([
      { event_id: "e-1", country: "DE", region: "Bavaria", city: null },
      { event_id: "e-2", country: "DE", region: "Bavaria", city: null },
    ]);
    expect(
      await db
        .prepare("SELECT id, campaign FROM messages ORDER BY id")
        .all()
        .then((r) => r.results),
    ).toEqual([
      { id: "m-gone", campaign: null },
      { id: "m-kept", campaign: "Renewal" },
    ]);
    const scores = await db.prepare("SELECT email, campaigns, activity_key, score_key FROM contact_scores ORDER BY email").all();
    expect(scores.results).toEqual([
      { email: "bea@acme.example", campaigns: '["Renewal"]', activity_key: -1, score_key: -1e300 },
      { email: "faded@acme.example", campaigns: "[]", activity_key: -1, score_key: -1e300 },
      { email: "mixed@acme.example", campaigns: "[]", activity_key: hourAgo, score_key: -1e300 },
      { email: "rescored@acme.example", campaigns: "[]", activity_key: hourAgo, score_key: 2.5 },
    ]);
  });

  it("keeps a hash of the client's network, never one that tells two addresses of a network apart", async () => {
    // The rep holds the account key, so a keyed hash of a whole IPv4 address gives the address back to whoever hashes
    // all 2^32: stored hashes must be equal across an IPv4 /24 and an IPv6 /48, and differ between networks.
    const account = await createAccount();
    const url = "https://example.com/private";
    const message = await sentMessage(account, { links: [{ index: 0, url }] });
    const addresses = ["203.0.113.77", "203.0.113.200", "198.51.100.77", "2001:db8:85a3::1", "2001:db8:85a3:ffff::2", "2001:db8:85a4::1"];
    for (const address of addresses) await clickLink(account, message.id, 0, url, { headers: { "cf-connecting-ip": address } });
    const stored = await waitForEvents(message.id, addresses.length);
    const [v4a, v4b, v4other, v6a, v6b, v6other] = stored.map((event) => event.ip_hash);
    expect(v4a).toMatch(/^[\w-]{16}$/);
    expect(v4b).toBe(v4a);
    expect(v4other).not.toBe(v4a);
    expect(v6a).toMatch(/^[\w-]{16}$/);
    expect(v6b).toBe(v6a);
    expect(v6other).not.toBe(v6a);
    expect(v6a).not.toBe(v4a);
  });

  it("forgets an open's address hash once the sender's own views it was kept for are gone, and keeps a click's", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { sentAt: new Date(Date.now() - 30 * DAY).toISOString() });
    const now = Date.now();
    const address = { "cf-connecting-ip": "203.0.113.77" };
    for (const [kind, daysAgo] of [
      ["open", 8],
      ["open", 6],
      ["click", 8],
    ] as const)
      expect(await storeHitNow(account, message.id, kind, now - daysAgo * DAY, address)).toBe(1);
    const hashes = async () =>
      (await storedEvents(message.id)).map((event) => [
        event.kind,
        Math.round((now - Number(event.occurred_at)) / DAY),
        event.ip_hash !== null,
      ]);
    expect(await hashes()).toEqual([
      ["open", 8, true],
      ["open", 6, true],
      ["click", 8, true],
    ]);

    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "23 * * * *" }), env);
    // Past the 7 days sender views are kept, an open's hash can match none; a click's still counts unique clicks.
    expect(await hashes()).toEqual([
      ["open", 8, false],
      ["open", 6, true],
      ["click", 8, true],
    ]);
  });

  it("answers a database failure with a plain error that carries no secret, and logs none", async () => {
    const account = await createAccount();
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    try {
      const response = await worker.fetch(
        new Request(`${BASE}/api/messages/status`, {
          method: "POST",
          headers: { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" },
          body: JSON.stringify({ threadIds: ["t1"] }),
        }),
        {
          ...env,
          DB: new FlakyD1(env.DB, () => true).asD1(),
          CACHE: { get: async () => null, put: async () => {} } as unknown as KVNamespace,
        },
        createExecutionContext(),
      );
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: "internal error" });
    } finally {
      spy.mockRestore();
    }
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) {
      expect(line).not.toContain(account.apiToken.slice(20));
      expect(line).not.toContain(account.signingKey.secret);
      expect(line).not.toContain(env.SIGNING_SECRET ?? "never");
      expect(line).not.toMatch(/\n\s+at /);
    }
  });

  it("logs a failed request by its route, never by a path that holds a recipient's address", async () => {
    const account = await createAccount();
    await sentMessage(account, { recipients: [{ email: "jane.private@acme.example" }] });
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    try {
      const response = await worker.fetch(
        new Request(`${BASE}/api/contacts/jane.private%40acme.example`, { headers: { authorization: `Bearer ${account.apiToken}` } }),
        { ...env, DB: new FlakyD1(env.DB, (call) => call >= 1).asD1() },
        createExecutionContext(),
      );
      expect(response.status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    expect(logged).toContain("GET /contacts/:email failed Error: D1_ERROR: Network connection lost.");
    expect(logged.join("\n")).not.toMatch(/jane/);
  });

  describe("the opt-out page of an email whose registration has not arrived", () => {
    const optOutForm = (email: string) => ({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email }).toString(),
    });
    const optOutsOf = (accountId: string) =>
      env.DB.prepare("SELECT email, message_id, created_at FROM opt_outs WHERE account_id = ?")
        .bind(accountId)
        .all()
        .then((r) => r.results);
    const unsubscribes = (messageId: string) =>
      env.DB.prepare("SELECT email, occurred_at FROM signals WHERE message_id = ? AND kind = 'unsubscribe'")
        .bind(messageId)
        .all()
        .then((r) => r.results);
    const pending = (messageId: string) =>
      env.DB.prepare("SELECT count(*) AS n FROM pending_opt_outs WHERE message_id = ?").bind(messageId).first("n");

    it("takes the opt-out at once, and records it for a recipient's address once the registration names it", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      // An open before the opt-out is stored, and kept: it happened before.
      expect(await storeHitNow(account, id, "open", Date.now() - 1_000)).toBe(1);
      const page = await call(`/u/${id}`);
      expect(page.status).toBe(200);
      // Nobody to check an address against yet: the page asks for it.
      expect(await page.text()).toContain('name="email"');
      const done = await call(`/u/${id}`, optOutForm("Reader@Acme.example"));
      expect(done.status).toBe(200);
      expect(await done.text()).toMatch(/tracking is off/i);
      const optedOutAt = Date.now();
      // From then on the email's hits store nothing, before any registration.
      expect(await storeHitNow(account, id, "open")).toBe(0);
      expect(await storeHitNow(account, id, "click")).toBe(0);
      expect(await optOutsOf(account.accountId)).toEqual([]);
      // The API does not know the email until the extension registers it.
      expect((await account.json("GET", `/api/messages/${id}`)).status).toBe(404);
      const sent = registration({ recipients: [{ email: "reader@acme.example" }, { email: "boss@acme.example" }] });
      expect((await account.json("PUT", `/api/messages/${id}`, sent)).status).toBe(200);
      // The address was a recipient: its opt-out is recorded as made then, for every email of the account to it.
      const [optOut] = (await optOutsOf(account.accountId)) as { email: string; message_id: string; created_at: number }[];
      expect(optOut).toMatchObject({ email: "reader@acme.example", message_id: id });
      expect(optOut?.created_at).toBeLessThanOrEqual(optedOutAt);
      expect(await unsubscribes(id)).toEqual([{ email: "reader@acme.example", occurred_at: optOut?.created_at }]);
      expect(await pending(id)).toBe(0);
      expect(await storeHitNow(account, id, "open")).toBe(0);
      const later = await sentMessage(account, { recipients: [{ email: "reader@acme.example" }] });
      expect(await storeHitNow(account, later.id, "open")).toBe(0);
      expect(await storedEvents(id)).toHaveLength(1);
      // The registration repeated (the outbox) changes nothing, and the email's page shows as for any email.
      expect((await account.json("PUT", `/api/messages/${id}`, sent)).status).toBe(200);
      expect(await optOutsOf(account.accountId)).toHaveLength(1);
      expect(await unsubscribes(id)).toHaveLength(1);
      const detail = await account.json<{ subject: string }>("GET", `/api/messages/${id}`);
      expect(detail.body.subject).toBe(sent.subject);
    });

    it("keeps an address the email did not go to off the account's opt-outs, and the email untracked", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      expect((await call(`/u/${id}`, optOutForm("forwarded@elsewhere.example"))).status).toBe(200);
      expect((await account.json("PUT", `/api/messages/${id}`, registration())).status).toBe(200);
      expect(await optOutsOf(account.accountId)).toEqual([]);
      // A reader turned tracking off; who, the page does not reveal.
      expect(await unsubscribes(id)).toEqual([{ email: "", occurred_at: expect.any(Number) }]);
      expect(await pending(id)).toBe(0);
      expect(await storeHitNow(account, id, "open")).toBe(0);
      const other = await sentMessage(account, { recipients: [{ email: "forwarded@elsewhere.example" }] });
      expect(await storeHitNow(account, other.id, "open")).toBe(1);
    });

    it("settles an opt-out whose email was registered while the page was being answered, and keeps none for one deleted meanwhile", async () => {
      const account = await createAccount();
      const sent = await sentMessage(account, { recipients: [{ email: "reader@acme.example" }] });
      // The page read the email before its registration committed, and held the address.
      await recordPendingOptOut(env.DB, env.SIGNING_SECRET ?? "", account.accountId, sent.id, "reader@acme.example", Date.now());
      expect(await optOutsOf(account.accountId)).toEqual([expect.objectContaining({ email: "reader@acme.example" })]);
      expect(await pending(sent.id)).toBe(0);
      // Or deleted meanwhile: nothing of the address is kept.
      const deleted = await sentMessage(account, { recipients: [{ email: "other@acme.example" }] });
      expect((await account.json("DELETE", `/api/messages/${deleted.id}`)).status).toBeLessThan(300);
      await recordPendingOptOut(env.DB, env.SIGNING_SECRET ?? "", account.accountId, deleted.id, "other@acme.example", Date.now());
      expect(await pending(deleted.id)).toBe(0);
    });

    it("reads the addresses held for an email in its registration's own batch, and settles one held just before it", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      const sent = registration({ recipients: [{ email: "reader@acme.example" }] });
      // The account's record read (and cached in KV) before: the count is the registration's own.
      expect((await account.json("GET", `/api/messages/${id}`)).status).toBe(404);
      const registered = await countedCall(account, `/api/messages/${id}`, "PUT", sent);
      expect(registered.response.status).toBe(200);
      // The first read (deleted?), the registration's batch (which reads the held opt-outs too), relabelling its hits,
      // the row and its status: none of the queries is the held opt-outs' own.
      expect(registered.d1Queries).toBe(REGISTRATION_D1_QUERIES);

      // An opt-out that commits between the registration's first read and its batch is read by the batch and settled
      // (as the query after the batch read it before: this guards the change rather than proving it).
      const raced = await mintTrackingId(account.key);
      const db = d1WithWriteBeforeFirstBatch(env.DB, () =>
        recordPendingOptOut(env.DB, env.SIGNING_SECRET ?? "", account.accountId, raced, "reader@acme.example", Date.now()),
      );
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${BASE}/api/messages/${raced}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" },
          body: JSON.stringify(sent),
        }),
        { ...env, DB: db },
        ctx,
      );
      expect(response.status).toBe(200);
      expect(await pending(raced)).toBe(0);
      expect(await optOutsOf(account.accountId)).toEqual([expect.objectContaining({ email: "reader@acme.example", message_id: raced })]);
      // Recorded for the address: the account's other email to it stores no hits either.
      expect(await storeHitNow(account, raced, "open")).toBe(0);
      expect(await storeHitNow(account, id, "open")).toBe(0);
    });

    it("settles one held address in three queries past the registration's: the email, its opt-out with the account's own emails, the drop", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      expect((await call(`/u/${id}`, optOutForm("reader@acme.example"))).status).toBe(200);
      // The account's record read (and cached in KV) before: the count is the registration's own.
      expect((await account.json("GET", `/api/messages/${id}`)).status).toBe(404);
      const registered = await countedCall(
        account,
        `/api/messages/${id}`,
        "PUT",
        registration({ recipients: [{ email: "reader@acme.example" }] }),
      );
      expect(registered.response.status).toBe(200);
      expect(await optOutsOf(account.accountId)).toEqual([expect.objectContaining({ email: "reader@acme.example", message_id: id })]);
      expect(await pending(id)).toBe(0);
      // One address held, the usual case: the account's own emails are read in its opt-out's batch, not up front.
      expect(registered.d1Queries).toBe(REGISTRATION_D1_QUERIES + 3);
    });

    it("holds at most 20 addresses for one email, says so to a reader past them, and records them as given a day later if it is never registered", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      // One reader was removed from another email (a deleted contact): their opt-out must reach that email too.
      const shared = await sentMessage(account, { recipients: [{ email: "reader0@acme.example" }, { email: "stays@acme.example" }] });
      expect((await account.json("DELETE", "/api/contacts/reader0%40acme.example")).status).toBe(204);
      const start = Date.now();
      for (let i = 0; i < 25; i++) {
        const answer = await call(`/u/${id}`, optOutForm(`reader${i}@acme.example`));
        expect(answer.status).toBe(200);
        // Past the cap the email is untracked all the same, but the page does not promise the reader's other emails.
        const text = await answer.text();
        expect(text).toContain(i < 20 ? "every other email from them" : "could not be recorded for their other emails yet");
        expect(text).not.toContain(i < 20 ? "could not be recorded" : "every other email from them");
      }
      // An address already held is still promised.
      expect(await (await call(`/u/${id}`, optOutForm("reader3@acme.example"))).text()).toContain("every other email from them");
      expect(await pending(id)).toBe(20);
      const other = await sentMessage(account, { recipients: [{ email: "reader3@acme.example" }] });
      // Within the hold the registration may still come and say who the email went to: nothing is recorded yet.
      await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", start + 23 * HOUR);
      expect(await pending(id)).toBe(20);
      expect(await optOutsOf(account.accountId)).toEqual([]);
      expect(await storeHitNow(account, other.id, "open")).toBe(1);
      expect(await storeHitNow(account, shared.id, "open")).toBe(1);
      // A day on, none came: each held address is an opt-out of the account, as typed then, and the email stays untracked.
      await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", start + 25 * HOUR);
      expect(await pending(id)).toBe(0);
      const optOuts = (await optOutsOf(account.accountId)) as { email: string; message_id: string; created_at: number }[];
      expect(optOuts.map((o) => o.email).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `reader${i}@acme.example`).sort());
      for (const optOut of optOuts)
        expect(optOut).toMatchObject({ message_id: id, created_at: expect.toSatisfy((t: number) => t >= start && t <= start + HOUR) });
      // Recorded at the time they were typed, they take the hits stored since on the emails they reach.
      expect(await storedEvents(other.id)).toEqual([]);
      expect(await storedEvents(shared.id)).toEqual([]);
      expect(await storeHitNow(account, id, "open")).toBe(0);
      expect(await storeHitNow(account, other.id, "open")).toBe(0);
      expect(await storeHitNow(account, shared.id, "open")).toBe(0);
      // Nothing is said on an email the rep never saw registered.
      expect(await unsubscribes(id)).toEqual([]);
      // A registration that comes after all changes none of it.
      expect((await account.json("PUT", `/api/messages/${id}`, registration())).status).toBe(200);
      expect(await optOutsOf(account.accountId)).toHaveLength(20);
      expect(await storeHitNow(account, id, "open")).toBe(0);
    });

    it("records the addresses held for an email as given when its sender deletes it before its registration", async () => {
      const account = await createAccount();
      const other = await sentMessage(account, { recipients: [{ email: "carol@x.example" }] });
      const id = await mintTrackingId(account.key);
      const typedAt = Date.now();
      expect((await call(`/u/${id}`, optOutForm("Carol@X.example"))).status).toBe(200);
      expect(await storeHitNow(account, other.id, "open")).toBe(1);
      expect((await account.json("DELETE", `/api/messages/${id}`)).status).toBe(204);
      expect(await pending(id)).toBe(0);
      const check = await account.json<ContactsCheckResponse>("POST", "/api/contacts/check", { emails: ["carol@x.example"] });
      expect(check.body.contacts.map((c) => c.optedOut)).toEqual([true]);
      expect(await optOutsOf(account.accountId)).toEqual([
        { email: "carol@x.example", message_id: id, created_at: expect.toSatisfy((t: number) => t >= typedAt && t <= Date.now()) },
      ]);
      expect(await storeHitNow(account, other.id, "open")).toBe(0);
      // As for a deleted email's page: nothing is said on the email, which keeps no address.
      expect(await unsubscribes(id)).toEqual([]);
      expect((await account.json("PUT", `/api/messages/${id}`, registration())).status).toBe(410);
    });

    it("keeps an address still held for an email deleted with its contact, and records it a day on", async () => {
      const account = await createAccount();
      const sent = await sentMessage(account, { recipients: [{ email: "dave@x.example" }] });
      const other = await sentMessage(account, { recipients: [{ email: "erin@x.example" }, { email: "stays@x.example" }] });
      // Held, and not yet settled: the settling after the registration failed, or its address was typed meanwhile.
      const typedAt = Date.now();
      await env.DB.prepare("INSERT INTO pending_opt_outs (message_id, account_id, email, created_at) VALUES (?, ?, ?, ?)")
        .bind(sent.id, account.accountId, "erin@x.example", typedAt)
        .run();
      expect((await account.json("DELETE", "/api/contacts/dave%40x.example")).status).toBe(204);
      expect(await pending(sent.id)).toBe(1);
      await purgeExpiredEvents(env.DB, env.SIGNING_SECRET ?? "", typedAt + 25 * HOUR);
      expect(await pending(sent.id)).toBe(0);
      expect(await optOutsOf(account.accountId)).toEqual([{ email: "erin@x.example", message_id: sent.id, created_at: typedAt }]);
      expect(await storeHitNow(account, other.id, "open")).toBe(0);
    });

    it("turns tracking off for the sender's other emails through a deleted email's page, and deleting an email records the addresses held for it", async () => {
      const account = await createAccount();
      const id = await mintTrackingId(account.key);
      expect((await call(`/u/${id}`, optOutForm("reader@acme.example"))).status).toBe(200);
      expect((await account.json("DELETE", `/api/messages/${id}`)).status).toBeLessThan(300);
      expect(await pending(id)).toBe(0);
      expect((await account.json("PUT", `/api/messages/${id}`, registration())).status).toBe(410);
      // An email registered to one reader and deleted: its recipients went with it, so the page asks for the address.
      const sent = await sentMessage(account, { recipients: [{ email: "Later@Acme.example" }], optOutLink: true });
      expect((await account.json("DELETE", `/api/messages/${sent.id}`)).status).toBeLessThan(300);
      const page = await call(`/u/${sent.id}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('name="email"');
      const next = await sentMessage(account, { recipients: [{ email: "later@acme.example" }] });
      expect(await storeHitNow(account, next.id, "open")).toBe(1);
      const done = await call(`/u/${sent.id}`, optOutForm("Later@Acme.example"));
      expect(done.status).toBe(200);
      expect(await done.text()).toContain("every other email from them");
      const optOuts = await optOutsOf(account.accountId);
      expect(optOuts).toHaveLength(2);
      expect(optOuts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ email: "reader@acme.example", message_id: id }),
          expect.objectContaining({ email: "later@acme.example", message_id: sent.id }),
        ]),
      );
      expect(await storeHitNow(account, next.id, "open")).toBe(0);
      // The deleted email keeps no address.
      expect(await unsubscribes(sent.id)).toEqual([]);
      const row = await env.DB.prepare("SELECT recipients FROM messages WHERE id = ?").bind(sent.id).first<{ recipients: string }>();
      expect(row?.recipients).toBe("[]");
    });
  });

  it("keeps honouring an opt-out on a shared email after the opted-out contact is deleted", async () => {
    const account = await createAccount();
    const links = [{ index: 0, url: "https://example.com/" }];
    const recipients = [{ email: "out@acme.example" }, { email: "stays@acme.example" }];
    const shared = await sentMessage(account, { recipients, links, optOutLink: true });
    expect(await storeHitNow(account, shared.id, "open")).toBe(1);
    const optOut = await call(`/u/${shared.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=out%40acme.example",
    });
    expect(optOut.status).toBe(200);
    expect(await storeHitNow(account, shared.id, "open")).toBe(0);
    expect((await account.json("DELETE", "/api/contacts/out%40acme.example")).status).toBe(204);
    // The recipient row is gone; the promise is not: opens and clicks on the shared email still store nothing.
    const { results } = await env.DB.prepare("SELECT email FROM message_recipients WHERE message_id = ?").bind(shared.id).all();
    expect(results).toEqual([{ email: "stays@acme.example" }]);
    expect(await storeHitNow(account, shared.id, "open")).toBe(0);
    expect(await storeHitNow(account, shared.id, "click")).toBe(0);
    // Re-registering the email (the extension's outbox repeating itself) keeps it so too.
    expect((await account.json("PUT", `/api/messages/${shared.id}`, registration({ ...shared, recipients }))).status).toBe(200);
    expect(await storeHitNow(account, shared.id, "open")).toBe(0);
    expect(await storedEvents(shared.id)).toHaveLength(1);
  });

  it("takes a deleted email's campaign from its other recipients' stored rows at once, where no other email of theirs has it", async () => {
    const account = await createAccount();
    const deleted = await sentMessage(account, {
      recipients: [{ email: "bea@acme.example" }, { email: "cy@acme.example" }],
      campaign: "Secret launch",
    });
    await sentMessage(account, { recipients: [{ email: "bea@acme.example" }], campaign: "Renewal" });
    await sentMessage(account, { recipients: [{ email: "cy@acme.example" }], campaign: "Secret launch" });
    const stored = async () =>
      (
        await env.DB.prepare("SELECT email, campaigns FROM contact_scores WHERE account_id = ? ORDER BY email")
          .bind(account.accountId)
          .all<{ email: string; campaigns: string }>()
      ).results.map((row) => [row.email, (JSON.parse(row.campaigns) as string[]).sort()]);
    // The people list stores each contact's row when it is listed.
    expect((await account.json("GET", "/api/contacts?limit=10")).status).toBe(200);
    expect(await stored()).toEqual([
      ["bea@acme.example", ["Renewal", "Secret launch"]],
      ["cy@acme.example", ["Secret launch"]],
    ]);
    expect((await account.api(`/api/messages/${deleted.id}`, { method: "DELETE" })).status).toBe(204);
    // Read before any listing rescores them: the rows are right already.
    expect(await stored()).toEqual([
      ["bea@acme.example", ["Renewal"]],
      ["cy@acme.example", ["Secret launch"]],
    ]);
  });

  it("keeps no row of a deleted contact, or of one whose only email was deleted, in the people list's stored scores", async () => {
    const account = await createAccount();
    await sentMessage(account, { recipients: [{ email: "dana@wingtip.example", name: "Dana Reyes" }, { email: "stays@acme.example" }] });
    const stored = () =>
      env.DB.prepare("SELECT email, name FROM contact_scores WHERE account_id = ? ORDER BY email").bind(account.accountId).all();
    // The people list stores each contact's row when it is listed.
    expect((await account.json("GET", "/api/contacts?limit=10")).status).toBe(200);
    expect((await stored()).results).toEqual([
      { email: "dana@wingtip.example", name: "Dana Reyes" },
      expect.objectContaining({ email: "stays@acme.example" }),
    ]);
    expect((await account.json("DELETE", "/api/contacts/dana%40wingtip.example")).status).toBe(204);
    expect((await stored()).results).toEqual([expect.objectContaining({ email: "stays@acme.example" })]);
    // Nor of a contact whose only email the sender deleted; one with other emails keeps its row, rescored.
    const only = await sentMessage(account, {
      recipients: [{ email: "solo@wingtip.example", name: "Sol Oh" }, { email: "stays@acme.example" }],
    });
    expect((await account.json("GET", "/api/contacts?limit=10")).status).toBe(200);
    expect((await stored()).results).toEqual([
      expect.objectContaining({ email: "solo@wingtip.example" }),
      expect.objectContaining({ email: "stays@acme.example" }),
    ]);
    expect((await account.json("DELETE", `/api/messages/${only.id}`)).status).toBeLessThan(300);
    expect((await stored()).results).toEqual([expect.objectContaining({ email: "stays@acme.example" })]);
  });

  it("honours an opt-out made through a shared email after the sender deleted that contact", async () => {
    const account = await createAccount();
    const links = [{ index: 0, url: "https://example.com/" }];
    const recipients = [{ email: "Gone@Acme.example" }, { email: "stays@acme.example" }];
    const shared = await sentMessage(account, { recipients, links, optOutLink: true });
    expect((await account.json("DELETE", "/api/contacts/gone%40acme.example")).status).toBe(204);
    // Nothing of the address stays on the email: not its row, not its place in the recipients.
    const row = await env.DB.prepare("SELECT recipients FROM messages WHERE id = ?").bind(shared.id).first<{ recipients: string }>();
    expect(row?.recipients.toLowerCase()).not.toContain("gone@");
    expect(await storeHitNow(account, shared.id, "open")).toBe(1);
    const optOut = await call(`/u/${shared.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=gone%40acme.example",
    });
    expect(optOut.status).toBe(200);
    expect(await storeHitNow(account, shared.id, "open")).toBe(0);
    expect(await storeHitNow(account, shared.id, "click")).toBe(0);
    expect(await storedEvents(shared.id)).toHaveLength(1);
    // And every other email of the account to that address.
    const later = await sentMessage(account, { recipients: [{ email: "gone@acme.example" }] });
    expect(await storeHitNow(account, later.id, "open")).toBe(0);
    // An address that never received the email gets the same page.
    const other = await sentMessage(account, { recipients, links });
    expect((await account.json("DELETE", "/api/contacts/stays%40acme.example")).status).toBe(204);
    const stranger = await call(`/u/${other.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=stranger%40acme.example",
    });
    expect(await stranger.text()).toBe(await optOut.text());
    expect(await storeHitNow(account, other.id, "open")).toBe(0); // gone@ opted out earlier: the email is theirs too
  });

  it("registers an email to addresses zod's z.email() refuses, and honours their opt-out", async () => {
    const account = await createAccount();
    // Addresses Gmail delivers to: internationalised (RFC 6531), a punycode top-level domain, `&` and `=` in the
    // local part, an intranet's single-label domain. One of them used to make the whole registration a 400.
    const unusual = ["jörg@münchen.de", "user@xn--80ak6aa92e.xn--p1ai", "a&b@acme.example", "first=last@acme.example", "admin@intranet"];
    const recipients = [{ email: "buyer@acme.example" }, ...unusual.map((email) => ({ email }))];
    const sent = await sentMessage(account, { recipients, optOutLink: true });
    const detail = await account.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${sent.id}`);
    expect(detail.body.recipients.map((r) => r.email).sort()).toEqual(recipients.map((r) => r.email).sort());
    expect(await storeHitNow(account, sent.id, "open")).toBe(1);
    const optOut = await call(`/u/${sent.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email: "Jörg@München.de" }).toString(),
    });
    expect(optOut.status).toBe(200);
    expect(await storeHitNow(account, sent.id, "open")).toBe(0);
    const later = await sentMessage(account, { recipients: [{ email: "jörg@münchen.de" }] });
    expect(await storeHitNow(account, later.id, "open")).toBe(0);
    // Still refused: what is no address at all.
    for (const email of ["no-at-sign", "two words@acme.example", `${"x".repeat(310)}@acme.example`]) {
      const refused = await account.json("PUT", `/api/messages/${sent.id}`, registration({ ...sent, recipients: [{ email }] }));
      expect(refused.status).toBe(400);
    }
  });

  it("keeps a deleted contact deleted, and a dropped recipient's opt-out honoured, when the email is registered again", async () => {
    const account = await createAccount();
    const recipients = [{ email: "gone@acme.example" }, { email: "stays@acme.example" }];
    const shared = await sentMessage(account, { recipients });
    expect((await account.json("DELETE", "/api/contacts/gone%40acme.example")).status).toBe(204);
    // The extension's outbox delivers the same registration again.
    expect((await account.json("PUT", `/api/messages/${shared.id}`, registration({ ...shared, recipients }))).status).toBe(200);
    const { results } = await env.DB.prepare("SELECT email FROM message_recipients WHERE message_id = ?").bind(shared.id).all();
    expect(results).toEqual([{ email: "stays@acme.example" }]);
    const detail = await account.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${shared.id}`);
    expect(detail.body.recipients.map((r) => r.email)).toEqual(["stays@acme.example"]);
    // A recipient who opted out and that a new registration of the email leaves out: still honoured on it.
    const optedOut = await sentMessage(account, { recipients: [{ email: "out@acme.example" }, { email: "in@acme.example" }] });
    await call(`/u/${optedOut.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=out%40acme.example",
    });
    const without = registration({ ...optedOut, recipients: [{ email: "in@acme.example" }] });
    expect((await account.json("PUT", `/api/messages/${optedOut.id}`, without)).status).toBe(200);
    expect(await storeHitNow(account, optedOut.id, "open")).toBe(0);
  });

  /** Delivers a registration of `messageId` again, with `write` committed between its first read and its batch. */
  async function registerAgainAround(account: TestAccount, messageId: string, body: object, write: () => Promise<unknown>) {
    const response = await worker.fetch(
      new Request(`${BASE}/api/messages/${messageId}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${account.apiToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      { ...env, DB: d1WithWriteBeforeFirstBatch(env.DB, write) },
      createExecutionContext(),
    );
    return response.status;
  }

  it("writes none of a deleted email's recipients or links back when its deletion lands while a registration is on its way", async () => {
    const account = await createAccount();
    const links = [{ index: 0, url: "https://acme.example/private-offer" }];
    const recipients = [{ email: "ceo@acme.example", name: "C. E. O." }];
    const email = await sentMessage(account, { recipients, links });
    const status = await registerAgainAround(account, email.id, registration({ ...email, recipients, links }), () =>
      account.json("DELETE", `/api/messages/${email.id}`),
    );
    expect(status).toBe(410);
    const left = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM message_recipients WHERE message_id = ?1) AS recipients,
         (SELECT count(*) FROM links WHERE message_id = ?1) AS links, (SELECT recipients FROM messages WHERE id = ?1) AS listed`,
    )
      .bind(email.id)
      .first();
    expect(left).toEqual({ recipients: 0, links: 0, listed: "[]" });
  });

  it("keeps a contact deleted when its deletion lands while a registration of one of its emails is on its way", async () => {
    const account = await createAccount();
    const recipients = [{ email: "stays@acme.example" }, { email: "forget-me@acme.example", name: "Forget Me" }];
    const shared = await sentMessage(account, { recipients });
    const status = await registerAgainAround(account, shared.id, registration({ ...shared, recipients }), () =>
      account.json("DELETE", "/api/contacts/forget-me%40acme.example"),
    );
    expect(status).toBe(200);
    const detail = await account.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${shared.id}`);
    expect(detail.body.recipients.map((r) => r.email)).toEqual(["stays@acme.example"]);
    const { results } = await env.DB.prepare("SELECT email FROM message_recipients WHERE message_id = ?").bind(shared.id).all();
    expect(results).toEqual([{ email: "stays@acme.example" }]);
    expect((await account.json("GET", "/api/contacts/forget-me%40acme.example")).status).toBe(404);
  });

  /** Deletes the contact `address`, with `write` committed between the deletion's read and its (first) batch. */
  async function deleteContactAround(account: TestAccount, address: string, write: () => Promise<unknown>, everyBatch = false) {
    const response = await worker.fetch(
      new Request(`${BASE}/api/contacts/${encodeURIComponent(address)}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${account.apiToken}` },
      }),
      { ...env, DB: (everyBatch ? d1WithWriteBeforeEachBatch : d1WithWriteBeforeFirstBatch)(env.DB, write) },
      createExecutionContext(),
    );
    return response.status;
  }

  /** What the account's emails hold of `address` or `name`: their recipient rows and listed recipients naming either. */
  async function heldOf(account: TestAccount, address: string, name: string) {
    const { results } = await env.DB.prepare(
      `SELECT r.message_id FROM message_recipients r WHERE r.account_id = ?1 AND (r.email = ?2 OR r.name = ?3)
       UNION ALL
       SELECT id FROM messages WHERE account_id = ?1 AND (instr(lower(recipients), ?2) > 0 OR instr(recipients, ?3) > 0)`,
    )
      .bind(account.accountId, address, name)
      .all();
    return results;
  }

  it("deletes a contact from the emails registered to it while its deletion is on its way", async () => {
    const account = await createAccount();
    const contact = { email: "forget-me@acme.example", name: "Forget Me" };
    await sentMessage(account, { recipients: [{ email: "stays@acme.example" }, contact] });
    let shared = { id: "" };
    let sole = { id: "" };
    const status = await deleteContactAround(account, contact.email, async () => {
      shared = await sentMessage(account, { recipients: [{ email: "other@acme.example" }, contact] });
      sole = await sentMessage(account, { recipients: [contact] });
    });
    expect(status).toBe(204);
    expect(await heldOf(account, contact.email, contact.name)).toEqual([]);
    expect((await account.json("GET", "/api/contacts/forget-me%40acme.example")).status).toBe(404);
    // As for any email of the contact: the one sent only to it is deleted, the other keeps its other recipient.
    expect((await account.json("GET", `/api/messages/${sole.id}`)).status).toBe(404);
    const detail = await account.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${shared.id}`);
    expect(detail.body.recipients.map((r) => r.email)).toEqual(["other@acme.example"]);
    // The extension's outbox delivering that email's registration again does not bring the contact back.
    const again = registration({ recipients: [{ email: "other@acme.example" }, contact] });
    expect((await account.json("PUT", `/api/messages/${shared.id}`, again)).status).toBe(200);
    expect(await heldOf(account, contact.email, contact.name)).toEqual([]);
  });

  it("writes the recipients a shared email has when its contact's deletion lands, not those it had when the deletion read it", async () => {
    const account = await createAccount();
    const contact = { email: "forget-me@acme.example", name: "Forget Me" };
    const shared = await sentMessage(account, { recipients: [{ email: "stays@acme.example" }, contact] });
    const sole = await sentMessage(account, { recipients: [contact] });
    const deleted = await sentMessage(account, { recipients: [{ email: "private@acme.example" }, contact] });
    // Registered again meanwhile, with a recipient more: the extension read the sent email again. And one deleted.
    const status = await deleteContactAround(account, contact.email, async () => {
      const newcomer = { email: "newcomer@acme.example", name: "New Comer" };
      await account.json("PUT", `/api/messages/${shared.id}`, registration({ ...shared, recipients: [...shared.recipients, newcomer] }));
      await account.json(
        "PUT",
        `/api/messages/${sole.id}`,
        registration({ ...sole, recipients: [contact, { email: "added@acme.example" }] }),
      );
      await account.json("DELETE", `/api/messages/${deleted.id}`);
    });
    expect(status).toBe(204);
    expect(await heldOf(account, contact.email, contact.name)).toEqual([]);
    // The deleted email keeps none of its recipients, nor a fingerprint of the contact.
    const tombstone = await env.DB.prepare(
      "SELECT recipients, (SELECT count(*) FROM removed_recipients WHERE message_id = ?1) AS fingerprints FROM messages WHERE id = ?1",
    )
      .bind(deleted.id)
      .first();
    expect(tombstone).toEqual({ recipients: "[]", fingerprints: 0 });
    const recipientsOf = async (id: string) => {
      const listed = (await account.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${id}`)).body.recipients;
      const { results } = await env.DB.prepare("SELECT email FROM message_recipients WHERE message_id = ? ORDER BY email").bind(id).all();
      return { listed: listed.map((r) => r.email).sort(), rows: results.map((r) => r.email) };
    };
    expect(await recipientsOf(shared.id)).toEqual({
      listed: ["newcomer@acme.example", "stays@acme.example"],
      rows: ["newcomer@acme.example", "stays@acme.example"],
    });
    // No longer sent only to the contact: the email stays, with its other recipient.
    expect(await recipientsOf(sole.id)).toEqual({ listed: ["added@acme.example"], rows: ["added@acme.example"] });
  });

  it("keeps nothing of a deletion that kept meeting registrations, and deletes the contact whole when asked again", async () => {
    const account = await createAccount();
    const contact = { email: "forget-me@acme.example", name: "Forget Me" };
    const first = await sentMessage(account, { recipients: [{ email: "stays@acme.example" }, contact] });
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    let registered = 0;
    try {
      const status = await deleteContactAround(
        account,
        contact.email,
        async () => {
          registered += 1;
          await sentMessage(account, { recipients: [{ email: "other@acme.example" }, contact] });
        },
        true,
      );
      expect(status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    expect(logged).toEqual(["DELETE /contacts/:email failed Error: the contact's emails changed during each of 3 tries to delete it"]);
    // Every try was rolled back whole: the first email still has the contact, and no fingerprint was left.
    const detail = await account.json<{ recipients: { email: string }[] }>("GET", `/api/messages/${first.id}`);
    expect(detail.body.recipients.map((r) => r.email)).toEqual(["stays@acme.example", contact.email]);
    const fingerprints = await env.DB.prepare(
      "SELECT count(*) AS n FROM removed_recipients WHERE message_id IN (SELECT id FROM messages WHERE account_id = ?)",
    )
      .bind(account.accountId)
      .first("n");
    expect(fingerprints).toBe(0);
    // Every email still holds it, a row and a listing each: the first, and each registered before a batch of a try.
    expect(registered).toBeGreaterThanOrEqual(3);
    expect(await heldOf(account, contact.email, contact.name)).toHaveLength(2 * (1 + registered));
    expect((await account.json("DELETE", "/api/contacts/forget-me%40acme.example")).status).toBe(204);
    expect(await heldOf(account, contact.email, contact.name)).toEqual([]);
  });

  it("keeps no sender view of an email whose data was deleted", async () => {
    const account = await createAccount();
    const email = await sentMessage(account);
    expect((await account.json("DELETE", `/api/messages/${email.id}`)).status).toBe(204);
    await account.api("/api/views", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.9" },
      body: JSON.stringify({ messageIds: [email.id] }),
    });
    const views = await env.DB.prepare("SELECT count(*) AS n FROM sender_views WHERE message_id = ?").bind(email.id).first<{ n: number }>();
    expect(views?.n).toBe(0);
  });

  it("stores no opens of an email registered with open tracking off, and no clicks with click tracking off", async () => {
    const account = await createAccount();
    const noOpens = await sentMessage(account, {
      openTracking: false,
      clickTracking: true,
      links: [{ index: 0, url: "https://example.com/" }],
    });
    expect(await storeHitNow(account, noOpens.id, "open")).toBe(0);
    expect(await storeHitNow(account, noOpens.id, "click")).toBe(1);
    const noClicks = await sentMessage(account, { openTracking: true, clickTracking: false, links: [] });
    expect(await storeHitNow(account, noClicks.id, "click")).toBe(0);
    expect(await storeHitNow(account, noClicks.id, "open")).toBe(1);
    // Hits that came before the registration are dropped when it says that kind is off.
    const early = await mintTrackingId(account.key);
    expect(await storeHitNow(account, early, "open")).toBe(1);
    expect(await storeHitNow(account, early, "click")).toBe(1);
    await account.json("PUT", `/api/messages/${early}`, registration({ openTracking: false, clickTracking: true }));
    expect((await storedEvents(early)).map((e) => e.kind)).toEqual(["click"]);
  });
});
