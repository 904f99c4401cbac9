import { app } from "./app";
import { purgeExpiredEvents } from "./db/retention";
import { withDevRequestCf } from "./dev-request-cf";
import type { Bindings } from "./env";
import type { HitMessage } from "./hits";
import { consumeHits } from "./queue";
import { serveHit } from "./routes/tracking";

export default {
  fetch(incoming: Request, env: Bindings, ctx: ExecutionContext) {
    const request = withDevRequestCf(incoming, env);
    return serveHit(request, env, ctx) ?? app.fetch(request, env, ctx);
  },
  queue: (batch, env) => consumeHits(batch, env),
  /** Hourly: delete events past each account's retention. The scheduled time is the clock, so tests can move it. */
  scheduled: async (controller, env) => {
    const deleted = await purgeExpiredEvents(env.DB, controller.scheduledTime);
    console.log(`retention purge deleted ${deleted} events`);
  },
} satisfies ExportedHandler<Bindings, HitMessage>;
