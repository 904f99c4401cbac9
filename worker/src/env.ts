import type { AccountRecord } from "./db/accounts";
import type { Hit } from "./hits";

export interface Bindings {
  DB: D1Database;
  CACHE: KVNamespace;
  HITS: Queue<Hit>;
  INVALID_HITS: RateLimit;
  ACCOUNT_CREATION: RateLimit;
  /** Derives every account's signing keys (see keys.ts). A secret: `.dev.vars` locally, `wrangler secret` deployed. */
  SIGNING_SECRET?: string;
  /** When set, creating an account requires it. */
  REGISTRATION_SECRET?: string;
  FEED_SETTLE_SECONDS?: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: { account: AccountRecord };
}
