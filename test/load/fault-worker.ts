// A test-only entry point, never deployed: the real worker, with a fraction of its D1 calls failing in the queue
// consumer (FAULT_RATE) and, with REDELIVER=1, every successfully stored batch delivered a second time.
// Production has no switch for any of this: wrangler.toml's `main` is worker/src/index.ts.
import type { Bindings } from "../../worker/src/env";
import type { HitMessage } from "../../worker/src/hits";
import worker from "../../worker/src/index";
import { FlakyD1 } from "../../worker/test/faults";

interface FaultBindings extends Bindings {
  FAULT_RATE?: string;
  REDELIVER?: string;
}

/** What was injected, so a test can prove the faults really happened (GET /__test/faults). */
const injected = { failedCalls: 0, failedBatches: 0, redeliveredBatches: 0 };
/** Queue message ids already delivered a second time on purpose (each is redelivered once, not forever). */
const redelivered = new Set<string>();

export default {
  fetch(request: Request, env: FaultBindings, ctx: ExecutionContext) {
    if (new URL(request.url).pathname === "/__test/faults") return Response.json(injected);
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
  async queue(batch: MessageBatch<HitMessage>, env: FaultBindings, ctx: ExecutionContext): Promise<void> {
    const rate = Number(env.FAULT_RATE ?? "0");
    const db = new FlakyD1(env.DB, () => {
      const fail = Math.random() < rate;
      if (fail) injected.failedCalls++;
      return fail;
    }).asD1();
    // Redeliver at once instead of after the production backoff, so the suite's time stays bounded.
    let retried = false;
    const fastRetry = new Proxy(batch, {
      get(target, prop) {
        if (prop === "retryAll") {
          return () => {
            retried = true;
            injected.failedBatches++;
            target.retryAll({ delaySeconds: 0 });
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await worker.queue(fastRetry, { ...env, DB: db }, ctx);
    if (!retried && env.REDELIVER === "1" && batch.messages.some((m) => !redelivered.has(m.id))) {
      for (const message of batch.messages) redelivered.add(message.id);
      injected.redeliveredBatches++;
      batch.retryAll({ delaySeconds: 0 });
    }
  },
} satisfies ExportedHandler<FaultBindings, HitMessage>;
