// A stub of the tracker's `POST /api/messages/status` for the extension benches: the Sent list rows they insert are
// all tracked, a third delivered, a third opened and a third clicked. Other paths answer an empty page (the marks
// bench's page, same origin as its requests) or, under /api, a 404 as the tracker does for a route it lacks.
import { createServer } from "node:http";

/** The legacy (hex) thread ids of a bench Sent list's rows, as the benches' row markup carries them. */
export function sentListThreadIds(count) {
  return Array.from({ length: count }, (_, i) => (0x18c2a0b000000000n + BigInt(i) * 7919n).toString(16));
}

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
      if (request.method === "POST" && path === "/api/messages/status") {
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
