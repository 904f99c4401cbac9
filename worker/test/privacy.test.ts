import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { FlakyD1 } from "./faults";
import { BASE, clickLink, createAccount, openPixel, sentMessage, waitForEvents } from "./helpers";

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
});
