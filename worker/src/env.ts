// The worker's bindings. Their types are generated from wrangler.toml by `wrangler types` into
// worker-configuration.d.ts (the global `Env`; `npm run types` regenerates it, `npm test` fails when it is stale),
// and the secrets' names come from worker/secret-names.env. Only what wrangler cannot know is said here.
import type { AuthenticatedAccount } from "./auth";
import type { PurgeTimerMessage } from "./db/retention";
import type { HitMessage } from "./hits";

/** What the hits' queue carries: hits, and the retention purge's timers (db/retention.ts, runOverduePurge). */
export type QueueMessage = HitMessage | PurgeTimerMessage;

export type Bindings = Omit<Env, "HITS" | "HITS_DEAD" | "SIGNING_SECRET" | "REGISTRATION_SECRET"> & {
  /** Every hit goes through this queue, gathered into messages (queue.ts), and so do the purge's timers. */
  HITS: Queue<QueueMessage>;
  /** The dead-letter queue, which the consumer sends hits D1 still refuses back into (queue.ts, queuedAgain). */
  HITS_DEAD: Queue<HitMessage>;
  /**
   * Derives every account's signing keys (see keys.ts). A secret: `.dev.vars` locally, `wrangler secret` deployed;
   * missing until one is set.
   */
  SIGNING_SECRET?: string;
  /** When set, creating an account requires it. */
  REGISTRATION_SECRET?: string;
  /** Development and tests only (not in wrangler.toml): caps how long the events feed holds an event back. */
  FEED_SETTLE_SECONDS?: string;
  /** Development only ("1" in .dev.vars, written by `npm start`): honours X-Dev-Request-Cf (dev-request-cf.ts). */
  DEV_REQUEST_CF?: string;
};

export interface AppEnv {
  Bindings: Bindings;
  Variables: { account: AuthenticatedAccount };
}
