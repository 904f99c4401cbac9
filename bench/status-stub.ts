// A stub of the tracker for the extension benches. `POST /api/messages/status` knows the Sent list rows they insert
// as all tracked, a third delivered, a third opened and a third clicked; `GET /api/messages/<id>` knows the tracked
// emails of a bench conversation (opened, a link clicked) and `POST /api/views` takes the sender's views of them. It
// also answers what the options page asks when a rep connects with an API token (worker/src/app.ts's `GET /` text,
// worker/src/routes/accounts.ts's `GET /api/account`), so a bench connects the extension as a rep does. Under /api
// anything else is a 404, as the tracker answers a route it lacks; other paths are an empty page (the marks bench's,
// same origin as its requests).
// TypeScript that Node 22 runs as it is (type-only imports, nothing to compile); `npm run typecheck` checks its
// answers against the tracker's types (tsconfig.node.json).
import { createServer } from "node:http";
import type { AccountResponse, MessageDetail, MessageStatus, StatusResponse } from "../shared/api.ts";
import { TRANSPARENT_GIF_BASE64 } from "../shared/pixel.ts";

/** The legacy (hex) thread ids of a bench Sent list's rows, as the benches' row markup carries them. */
export function sentListThreadIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (0x18c2a0b000000000n + BigInt(i) * 7919n).toString(16));
}

const PIXEL_GIF = Buffer.from(TRANSPARENT_GIF_BASE64, "base64");

/** The account the stub answers for any token. */
const STUB_ACCOUNT: AccountResponse = {
  accountId: "benchaccountaaaa",
  name: "bench",
  createdAt: "2026-11-01T00:00:00.000Z",
  retentionDays: 365,
  signingKey: { keyId: 1, secret: "YmVuY2gtc2lnbmluZy1rZXktYmVuY2gtc2lnbmluZy0" },
  earlierKeys: [],
};

/** The signing key of the stub's account: a bench mints its tracked emails' ids and signs their links with it. */
export const STUB_SIGNING_KEY = { accountId: STUB_ACCOUNT.accountId, ...STUB_ACCOUNT.signingKey };

/** A tracked email of the conversation as the tracker details it: opened three times (one a prefetch), a link clicked. */
function trackedEmailDetail(id: string, threadId: string): MessageDetail {
  const place = { country: "DE", region: "Berlin" };
  return {
    id,
    threadId,
    syncThreadId: null,
    state: "clicked",
    openCount: 2,
    firstOpenAt: "2026-11-22T10:00:00.000Z",
    lastOpenAt: "2026-11-22T11:00:00.000Z",
    clickCount: 1,
    lastClickAt: "2026-11-22T11:05:00.000Z",
    replyCount: 0,
    lastReplyAt: null,
    bounce: null,
    unsubscribed: false,
    subject: "Proposal 0 for the next quarter",
    campaign: null,
    recipients: [{ email: "reader0@example.org" }],
    sentAt: "2026-11-22T09:00:00.000Z",
    gmailMessageId: null,
    openTracking: true,
    clickTracking: true,
    opens: [
      { at: "2026-11-22T09:00:05.000Z", label: "apple-mpp", place: null, client: null, device: null },
      { at: "2026-11-22T10:00:00.000Z", label: "human", place, client: "Gmail", device: "Desktop" },
      { at: "2026-11-22T11:00:00.000Z", label: "gmail-proxy", place: null, client: "Gmail", device: null },
    ],
    links: [
      {
        index: 0,
        url: "https://www.example.com/page",
        clicks: 1,
        uniqueClicks: 1,
        clickTimes: ["2026-11-22T11:05:00.000Z"],
        otherClicks: [],
      },
    ],
  };
}

/**
 * Starts the stub: `legacyIds` are the Sent list's threads, `tracked` the tracked emails of a conversation (their
 * tracking ids, minted with STUB_SIGNING_KEY) and its thread.
 */
export async function statusStub(
  legacyIds: readonly string[],
  tracked: { ids: readonly string[]; threadId: string } = { ids: [], threadId: "" },
): Promise<{ url: string; close: () => Promise<void> }> {
  const details = new Map(tracked.ids.map((id) => [id, trackedEmailDetail(id, tracked.threadId)]));
  const byId = new Map<string, MessageStatus>(
    legacyIds.map((id, i) => [
      id,
      {
        id: `msg-${i}`,
        threadId: id,
        syncThreadId: null,
        state: i % 3 === 0 ? "delivered" : i % 3 === 1 ? "opened" : "clicked",
        openCount: i % 3 === 0 ? 0 : 1 + (i % 5),
        firstOpenAt: i % 3 === 0 ? null : "2026-11-22T10:00:00.000Z",
        lastOpenAt: i % 3 === 0 ? null : "2026-11-22T11:00:00.000Z",
        clickCount: i % 3 === 2 ? 1 : 0,
        lastClickAt: i % 3 === 2 ? "2026-11-22T11:05:00.000Z" : null,
        replyCount: 0,
        lastReplyAt: null,
        bounce: null,
        unsubscribed: false,
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
      const detail = path.startsWith("/api/messages/") ? details.get(decodeURIComponent(path.slice("/api/messages/".length))) : undefined;
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        response.end("mailtracker: the benchmark's stub of a tracker.\n");
      } else if (request.method === "GET" && path === "/api/account") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(STUB_ACCOUNT));
      } else if (request.method === "GET" && detail) {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(detail));
      } else if (request.method === "POST" && path === "/api/views") {
        const { messageIds = [] }: { messageIds?: string[] } = JSON.parse(body || "{}");
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ recorded: messageIds.length }));
      } else if (request.method === "POST" && path === "/api/messages/status") {
        const { threadIds = [] }: { threadIds?: string[] } = JSON.parse(body || "{}");
        const answer: StatusResponse = { messages: threadIds.flatMap((id) => byId.get(id) ?? []) };
        response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        response.end(JSON.stringify(answer));
      } else if (path.startsWith("/o/")) {
        // A pixel, fetched by the simulated image proxy for a Gmail without the extension.
        response.writeHead(200, { "content-type": "image/gif", "cache-control": "no-store" });
        response.end(PIXEL_GIF);
      } else if (path.startsWith("/api/")) {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "not in the bench's stub" }));
      } else {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the status stub has no TCP port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
