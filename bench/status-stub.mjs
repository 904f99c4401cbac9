// A stub of the tracker for the extension benches: `POST /api/messages/status` knows the Sent list rows they insert
// as all tracked, a third delivered, a third opened and a third clicked. It also answers what the options page asks
// when a rep connects with an API token (worker/src/app.ts's `GET /` text, worker/src/routes/accounts.ts's
// `GET /api/account`), so a bench connects the extension as a rep does. Under /api anything else is a 404, as the
// tracker answers a route it lacks; other paths are an empty page (the marks bench's, same origin as its requests).
import { createServer } from "node:http";

/** The legacy (hex) thread ids of a bench Sent list's rows, as the benches' row markup carries them. */
export function sentListThreadIds(count) {
  return Array.from({ length: count }, (_, i) => (0x18c2a0b000000000n + BigInt(i) * 7919n).toString(16));
}

/** The account the stub answers for any token (an AccountResponse, shared/api.ts). */
const STUB_ACCOUNT = {
  accountId: "benchaccount0000",
  name: "bench",
  createdAt: "2026-11-01T00:00:00.000Z",
  retentionDays: 365,
  signingKey: { keyId: 1, secret: "YmVuY2gtc2lnbmluZy1rZXktYmVuY2gtc2lnbmluZy1r" },
};

export async function statusStub(legacyIds) {
  const byId = new Map(
    legacyIds.map((id, i) => [
      id,
      {
        id: `msg-${i}`,
        threadId: id,
        state: i % 3 === 0 ? "delivered" : i % 3 === 1 ? "opened" : "clicked",
        openCount: i % 3 === 0 ? 0 : 1 + (i % 5),
        firstOpenAt: i % 3 === 0 ? null : "2026-11-22T10:00:00.000Z",
        lastOpenAt: i % 3 === 0 ? null : "2026-11-22T11:00:00.000Z",
        clickCount: i % 3 === 2 ? 1 : 0,
        lastClickAt: i % 3 === 2 ? "2026-11-22T11:05:00.000Z" : null,
      },
    ]),
  );
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const path = new URL(request.url ?? "/", "http://stub").pathname;
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        response.end("mailtracker: the benchmark's stub of a tracker.\n");
      } else if (request.method === "GET" && path === "/api/account") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(STUB_ACCOUNT));
      } else if (request.method === "POST" && path === "/api/messages/status") {
        const { threadIds = [] } = JSON.parse(body || "{}");
        const messages = threadIds.map((id) => byId.get(id)).filter(Boolean);
        response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        response.end(JSON.stringify({ messages }));
      } else if (path.startsWith("/api/")) {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "not in the bench's stub" }));
      } else {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>");
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
