import { app } from "./app";
import { purgeOnSchedule } from "./db/retention";
import { withDevRequestCf } from "./dev-request-cf";
import type { Bindings, QueueMessage } from "./env";
import { consumeHits } from "./queue";
import { serveHit } from "./routes/tracking";

export default {
  fetch(incoming: Request, env: Bindings, ctx: ExecutionContext) {
    const request = withDevRequestCf(incoming, env);
    return serveHit(request, env, ctx) ?? app.fetch(request, env, ctx);
  },
  queue: (batch, env, ctx) => consumeHits(batch, env, ctx),
  /**
   * Hourly: delete events past each account's retention. The scheduled time is the clock, so tests can move it.
   * Without a Cron Trigger (the account's are all taken), the tracker's traffic runs the purge instead (purgeIfOverdue).
   */
  scheduled: async (controller, env) => {
    const { deleted } = await purgeOnSchedule(env.DB, env.SIGNING_SECRET ?? "", controller.scheduledTime);
    console.log(`retention purge deleted ${deleted} events`);
  },
} satisfies ExportedHandler<Bindings, QueueMessage>;
