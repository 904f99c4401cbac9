// Small helpers the end-to-end files share.
// @ts-expect-error: plain JavaScript module without type declarations
import { freePort as anyFreePort } from "../../scripts/tracker.mjs";

/** A TCP port free on 127.0.0.1 right now, for a tracker under wrangler dev: the one `npm start` uses. */
export const freePort: () => Promise<number> = anyFreePort;

/**
 * Polls `probe` every `intervalMs` until it returns a value (not undefined); fails with the last state after `timeoutMs`.
 * A probe still running at the deadline (an evaluation in a page that never answers) fails the wait then, saying so,
 * instead of holding it until the test's own timeout, which says nothing of what was awaited.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await beforeDeadline(probe, deadline);
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** `probe`'s answer, or a rejection at `deadline` if it has none by then (the probe itself is left to settle). */
async function beforeDeadline<T>(probe: () => Promise<T>, deadline: number): Promise<T> {
  const left = Math.max(0, deadline - Date.now());
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a probe was still running at the deadline (${left} ms after it started)`)), left);
  });
  try {
    return await Promise.race([(async () => probe())(), late]);
  } finally {
    clearTimeout(timer);
  }
}
