import { app } from "./app";
import { consumeHits } from "./consumer";
import type { Bindings } from "./env";
import type { Hit } from "./hits";

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeHits(batch, env),
} satisfies ExportedHandler<Bindings, Hit>;
