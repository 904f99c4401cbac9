import { Hono } from "hono";
import { type SignalsResponse, signalsRequest } from "../../../shared/api";
import { requireAccount } from "../auth";
import { recordSignals } from "../db/signals";
import type { AppEnv } from "../env";
import { validated } from "../http";

/**
 * `POST /api/signals`: replies and bounce notices the extension saw in tracked threads (docs/protocol.md §10).
 * Each Gmail message is recorded once, so re-renders never count twice.
 */
export const signalsRoute = new Hono<AppEnv>().use(requireAccount).post("/", validated("json", signalsRequest), async (c) => {
  const { self, signals } = c.req.valid("json");
  const body: SignalsResponse = {
    results: await recordSignals(c.env.DB, c.get("account").id, self, signals, Date.now(), c.env.SIGNING_SECRET ?? ""),
  };
  return c.json(body);
});
