import { exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, it } from "vitest";
import type { AppType } from "../src/app";
import { BASE, createAccount, sentMessage } from "./helpers";

describe("typed client", () => {
  it("calls the API with types taken from the server's routes", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-typed" });
    const client = hc<AppType>(`${BASE}/api`, {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
      headers: { authorization: `Bearer ${account.apiToken}` },
    });
    const response = await client.messages.status.$post({ json: { threadIds: ["t-typed"] } });
    expect(response.status).toBe(200);
    if (response.status !== 200) return;
    const body = await response.json();
    expect(body.messages.map((m) => m.id)).toEqual([message.id]);
    const detail = await client.messages[":id"].$get({ param: { id: message.id } });
    expect(detail.status).toBe(200);
    // The dashboard's and the signals' routes are in AppType too.
    const list = await client.messages.$get({ query: { state: "delivered", limit: "10" } });
    expect(list.status).toBe(200);
    const signals = await client.signals.$post({
      json: {
        signals: [
          { kind: "reply", threadId: "t-typed", gmailMessageId: "msg-f:typed", at: new Date().toISOString(), from: "x@acme.example" },
        ],
      },
    });
    expect(signals.status).toBe(200);
    const checked = await client.contacts.check.$post({ json: { emails: ["x@acme.example"] } });
    expect(checked.status).toBe(200);
    expect((await client.campaigns.$get({ query: {} })).status).toBe(200);
    expect((await client.contacts.$get({ query: { sort: "lastActivity" } })).status).toBe(200);
  });
});
