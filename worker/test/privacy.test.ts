import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { mintTrackingId } from "../../shared/protocol";
import { hitFromRequest } from "../src/hits";
import worker from "../src/index";
import { deriveSigningKey } from "../src/keys";
import { storeHits } from "../src/queue";
import { FlakyD1 } from "./faults";
import {
  BASE,
  CHROME_UA,
  call,
  clickLink,
  createAccount,
  openPixel,
  registration,
  sentMessage,
  storedEvents,
  type TestAccount,
  waitForEvents,
} from "./helpers";

/** Builds a hit on the message through the real request path and hands it to the queue consumer: how many were stored. */
async function storeHitNow(account: TestAccount, messageId: string, kind: "open" | "click", at = Date.now()): Promise<number> {
  const accountKey = await deriveSigningKey(env.SIGNING_SECRET ?? "", account.accountId, account.key.keyId);
  const request = new Request(`${BASE}/o/${messageId}.gif`, { headers: { "user-agent": CHROME_UA } });
  const target = { accountId: account.accountId, messageId, accountKey, kind, linkIndex: kind === "click" ? 0 : null };
  return storeHits(env.DB, [await hitFromRequest(request, target, at)]);
}

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
