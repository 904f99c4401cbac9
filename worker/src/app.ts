import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { REGISTRATION_BODY_MAX_BYTES } from "../../shared/api";
import type { AppEnv } from "./env";
import { errorName } from "./errors";
import { jsonError } from "./http";
import { accountRoute, accountsRoute } from "./routes/accounts";
import { activityRoute } from "./routes/activity";
import { campaignsRoute } from "./routes/campaigns";
import { contactsRoute } from "./routes/contacts";
import { eventsRoute } from "./routes/events";
import { exportRoute } from "./routes/export";
import { messagesRoute } from "./routes/messages";
import { optOutRoute } from "./routes/optout";
import { signalsRoute } from "./routes/signals";
import { viewsRoute } from "./routes/views";

const MAX_API_BODY_BYTES = 256 * 1024;

const apiBodyLimit = bodyLimit({
  maxSize: MAX_API_BODY_BYTES,
  onError: (c) => jsonError(c, 413, `request body over ${MAX_API_BODY_BYTES} bytes`),
});
/**
 * A registration may be far longer than any other request (REGISTRATION_BODY_MAX_BYTES: a thousand long links), and
 * one refused as too large is never retried: its limit is the longest body the schema accepts, and a body past it
 * is told so in words the extension shows the rep.
 */
const registrationBodyLimit = bodyLimit({
  maxSize: REGISTRATION_BODY_MAX_BYTES,
  onError: (c) =>
    jsonError(c, 413, `registration body over ${REGISTRATION_BODY_MAX_BYTES} bytes, longer than any valid registration: not registered`),
});

/** PUT /messages/<id> (routes/messages.ts), the only route of the API that PUT and that path reach. */
const isRegistration = (c: Context) => c.req.method === "PUT" && /^\/messages\/[^/]+$/.test(c.req.path);

/** The authenticated API. No CORS headers anywhere: web pages get no cross-origin access; the extension needs none. */
const api = new Hono<AppEnv>()
  .use((c, next) => (isRegistration(c) ? registrationBodyLimit : apiBodyLimit)(c, next))
  .route("/accounts", accountsRoute)
  .route("/account", accountRoute)
  .route("/messages", messagesRoute)
  .route("/events", eventsRoute)
  .route("/views", viewsRoute)
  .route("/signals", signalsRoute)
  .route("/contacts", contactsRoute)
  .route("/campaigns", campaignsRoute)
  .route("/export", exportRoute)
  .route("/activity", activityRoute)
  .notFound((c) => jsonError(c, 404, "no such API endpoint"))
  .onError((error, c) => {
    if (error instanceof HTTPException && error.status < 500) return jsonError(c, error.status, error.message || "bad request");
    return internalError(error, c, () => jsonError(c, 500, "internal error"));
  });

/**
 * Never a stack trace or a secret in the response; the log gets the route's pattern (a path can hold a recipient's
 * address: `/contacts/:email`) and the error's name and message only.
 */
function internalError(error: unknown, c: Context, answer: () => Response): Response {
  console.error(`${c.req.method} ${c.req.routePath} failed`, errorName(error));
  return answer();
}

/**
 * The public pages and the API. Pixels and clicks never come here: they are answered before this router
 * (serveHit in routes/tracking.ts). The API is mounted, not merged: merged, its routes would share one router with
 * the public pages, and `/messages/status` next to `/messages/:id/stop` is a pair Hono's RegExpRouter refuses
 * (UnsupportedPathError, Hono 4.13.19), so every request fell back to the slower TrieRouter. Mounted, the API sees
 * its paths without `/api`.
 */
export const app = new Hono<AppEnv>()
  .route("/u", optOutRoute)
  .mount("/api", api.fetch)
  .get("/", (c) => c.text("mailtracker: this server records email opens and clicks for its owner.\n"));

app.notFound((c) => c.text("Not found\n", 404));
app.onError((error, c) => {
  if (error instanceof HTTPException && error.status < 500) return c.text("Bad request\n", error.status);
  return internalError(error, c, () => c.text("Internal error\n", 500));
});

export type AppType = typeof api;
