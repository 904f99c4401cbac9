import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
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
import { clickRoute, pixelRoute } from "./routes/tracking";
import { viewsRoute } from "./routes/views";

const MAX_API_BODY_BYTES = 256 * 1024;

/** The authenticated API. No CORS headers anywhere: web pages get no cross-origin access; the extension needs none. */
const api = new Hono<AppEnv>()
  .use(
    bodyLimit({
      maxSize: MAX_API_BODY_BYTES,
      onError: (c) => jsonError(c, 413, `request body over ${MAX_API_BODY_BYTES} bytes`),
    }),
  )
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
  .notFound((c) => jsonError(c, 404, "no such API endpoint"));

export const app = new Hono<AppEnv>()
  .route("/o", pixelRoute)
  .route("/c", clickRoute)
  .route("/u", optOutRoute)
  .route("/api", api)
  .get("/", (c) => c.text("mailtracker: this server records email opens and clicks for its owner.\n"));

app.notFound((c) => c.text("Not found\n", 404));
app.onError((error, c) => {
  if (error instanceof HTTPException && error.status < 500) {
    return c.req.path.startsWith("/api/")
      ? jsonError(c, error.status, error.message || "bad request")
      : c.text("Bad request\n", error.status);
  }
  // Never a stack trace or a secret in the response; the log gets the error's name and message only.
  console.error(`${c.req.method} ${c.req.path} failed`, errorName(error));
  return c.req.path.startsWith("/api/") ? jsonError(c, 500, "internal error") : c.text("Internal error\n", 500);
});

export type AppType = typeof api;
