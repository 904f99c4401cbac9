import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import { PIXEL_GIF } from "../src/http";
import worker from "../src/index";
import { FlakyD1, unreachableD1, watchedQueue } from "./faults";
import {
  BASE,
  CHROME_UA,
  call,
  createAccount,
  MINUTE,
  openPixel,
  respelled,
  sentMessage,
  storedEvents,
  waitForEvents,
  within,
} from "./helpers";

async function expectPixel(response: Response) {
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("image/gif");
  expect(response.headers.get("cache-control")).toBe("no-store, no-cache, must-revalidate, max-age=0");
  const body = new Uint8Array(await response.arrayBuffer());
  expect(body).toEqual(PIXEL_GIF);
}

describe("GET /o/<id>.gif", () => {
  it("leaves the API on Hono's RegExpRouter, not the slower TrieRouter that one refused route pair would bring", async () => {
    expect((await call("/api/account")).status).toBe(401);
    // Hono 4.13.19's SmartRouter names itself after the router it settled on at the first match.
    expect(app.router.name).toBe("SmartRouter + RegExpRouter");
  });

  it("answers HEAD with the GIF's headers and no body, as it answered through Hono", async () => {
    const response = await call("/o/not-an-id.gif", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/gif");
    expect(response.body).toBeNull();
  });

  it("records an id whose path is percent-encoded, decoded as a router would", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await expectPixel(await call(`/o/${message.id.replaceAll(".", "%2E")}.gif`, { headers: { "user-agent": CHROME_UA } }));
    expect(await waitForEvents(message.id, 1)).toHaveLength(1);
  });

  it("leaves other methods to the app: not found, nothing recorded", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await call(`/o/${message.id}.gif`, { method, headers: { "user-agent": CHROME_UA } });
      expect(response.status, method).toBe(404);
      expect(await response.text()).toBe("Not found\n");
    }
    expect(await storedEvents(message.id)).toHaveLength(0);
  });

  it("is a 1x1 transparent GIF under 100 bytes", () => {
    expect(PIXEL_GIF.byteLength).toBeLessThan(100);
    expect(new TextDecoder().decode(PIXEL_GIF.slice(0, 6))).toBe("GIF89a");
    const view = new DataView(PIXEL_GIF.buffer);
    expect([view.getUint16(6, true), view.getUint16(8, true)]).toEqual([1, 1]);
  });

  it("records one open for a valid id, with place and client", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    await expectPixel(await openPixel(message.id, {}, { country: "DE", region: "Bavaria", city: "Munich", asn: 3320 }));
    const rows = await waitForEvents(message.id, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: "open",
      label: "human",
      account_id: account.accountId,
      country: "DE",
      region: "Bavaria",
      // A city can name a reader: the request's is not kept.
      city: null,
      client: "Chrome (web browser)",
      device: "Windows PC",
    });
  });

  it("answers the same GIF and writes nothing for forged and malformed ids", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const [accountId, keyId, nonce, mac] = message.id.split(".");
    const flipped = `${mac?.[0] === "A" ? "B" : "A"}${mac?.slice(1)}`;
    const forged = [
      `${accountId}.${keyId}.${nonce}.${flipped}`, // wrong MAC
      `${accountId}.${keyId}.${nonce}.${respelled(mac ?? "")}`, // same MAC bytes, another spelling
      `${accountId}.${Number(keyId) + 1}.${nonce}.${mac}`, // another key id
      `aaaaaaaaaaaaaaaa.${keyId}.${nonce}.${mac}`, // another account
      `${accountId}.${keyId}.${nonce}`, // truncated
      message.id.toUpperCase(),
      "x",
      "",
      "a".repeat(5000),
    ];
    for (const id of forged) await expectPixel(await call(`/o/${encodeURIComponent(id)}.gif`, { headers: { "user-agent": CHROME_UA } }));
    for (const path of ["/o/", `/o/${message.id}`, `/o/${message.id}.png`, "/o/..%2f..%2fetc.gif", `/o/${message.id}.gif/extra`]) {
      await expectPixel(await call(path));
    }
    // A valid hit sent after the forged ones is stored; none of the forged ones ever is.
    await openPixel(message.id);
    await waitForEvents(message.id, 1);
    const all = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE account_id = ?")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(all?.n).toBe(1);
  });

  it("answers without touching the database: the hit goes to the queue and lands later", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA } }),
      { ...env, DB: unreachableD1() },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    await expectPixel(response);
    expect(await waitForEvents(message.id, 1)).toHaveLength(1);
  });

  it("answers before the queue send settles; waitUntil keeps the invocation until the hit is queued", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const watched = watchedQueue((messages) => env.HITS.sendBatch(messages), gate);
    const ctx = createExecutionContext();
    try {
      const response = await within(
        "the pixel's response while its queue send is held",
        worker.fetch(
          new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA } }),
          { ...env, HITS: watched.queue },
          ctx,
        ),
      );
      // The GIF is complete, and the send it led to is under way but held: the response did not wait on the queue.
      await expectPixel(response);
      await within("the hit's queue send", watched.called);
      expect(await storedEvents(message.id)).toHaveLength(0);
    } finally {
      // Whatever failed above, the held send goes on, so the invocation ends.
      release();
    }
    await within("the invocation's waitUntil, the send released", waitOnExecutionContext(ctx));
    const sent = watched.hits();
    expect(sent).toHaveLength(1);
    // The queued hit carries the user agent, not its description: the consumer describes it and stores no user agent.
    expect(sent[0]).toMatchObject({ client: null, device: null, userAgent: CHROME_UA });
    const rows = await waitForEvents(message.id, 1);
    expect(rows[0]).toMatchObject({ client: "Chrome (web browser)", device: "Windows PC" });
    expect(rows[0]).not.toHaveProperty("userAgent");
  });

  it("writes the hit straight to D1 after the response when the queue refuses it", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const refusing = watchedQueue(null);
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA } }),
      { ...env, HITS: refusing.queue },
      ctx,
    );
    await expectPixel(response);
    await waitOnExecutionContext(ctx);
    expect(await storedEvents(message.id)).toHaveLength(1);
  });

  it("keeps trying when the queue refuses a hit and D1 fails too: D1 again after a pause, then the queue again", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const refusals = { left: 1 };
    const { queue: queueRefusingOnce } = watchedQueue(async (messages) => {
      if (refusals.left-- > 0) throw new Error("Queue send failed");
      return env.HITS.sendBatch(messages);
    });
    // D1 fails the first direct write (both of its reads), then recovers: a later attempt stores the hit.
    const flaky = new FlakyD1(env.DB, (call) => call < 2);
    const ctx = createExecutionContext();
    await expectPixel(
      await worker.fetch(
        new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA } }),
        { ...env, HITS: queueRefusingOnce, DB: flaky.asD1() },
        ctx,
      ),
    );
    await waitOnExecutionContext(ctx);
    expect(await storedEvents(message.id)).toHaveLength(1);

    // D1 down for good: after the last direct write the hit goes to the queue (working again) and is stored from there.
    refusals.left = 1;
    const ctx2 = createExecutionContext();
    await expectPixel(
      await worker.fetch(
        new Request(`${BASE}/o/${message.id}.gif`, { headers: { "user-agent": CHROME_UA } }),
        { ...env, HITS: queueRefusingOnce, DB: new FlakyD1(env.DB, () => true).asD1() },
        ctx2,
      ),
    );
    await waitOnExecutionContext(ctx2);
    expect(await waitForEvents(message.id, 2)).toHaveLength(2);
  }, 30_000);

  it("records a hit for a message the extension has not registered yet", async () => {
    const account = await createAccount();
    const { mintTrackingId } = await import("../../shared/protocol");
    const id = await mintTrackingId(account.key);
    await expectPixel(await openPixel(id));
    expect(await waitForEvents(id, 1)).toHaveLength(1);
    // Registration afterwards attaches it.
    const res = await account.json<{ openCount: number }>("PUT", `/api/messages/${id}`, {
      subject: "Late registration",
      recipients: [{ email: "x@example.com" }],
      sentAt: new Date(Date.now() - MINUTE).toISOString(),
      threadId: "thread-late",
    });
    expect(res.status).toBe(200);
    expect(res.body.openCount).toBe(1);
  });

  it("is served for HEAD too, labelled scanner", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const response = await exports.default.fetch(
      new Request(`${BASE}/o/${message.id}.gif`, { method: "HEAD", headers: { "user-agent": CHROME_UA } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/gif");
    const rows = await waitForEvents(message.id, 1);
    expect(rows[0]?.label).toBe("scanner");
  });
});
