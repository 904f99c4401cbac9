// Small helpers the end-to-end files share.
// @ts-expect-error: plain JavaScript module without type declarations
import { freePort as anyFreePort } from "../../scripts/tracker.mjs";

/** A TCP port free on 127.0.0.1 right now, for a tracker under wrangler dev: the one `npm start` uses. */
export const freePort: () => Promise<number> = anyFreePort;

/** Polls `probe` every `intervalMs` until it returns a value (not undefined); fails with the last state after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
