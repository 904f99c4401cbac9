// Throttling of clients that send invalid tracking ids or links. Verification is CPU only, but a flood still costs
// the shared limiter's calls and log noise: once an address exceeds the INVALID_HITS rate, its invalid requests are
// answered at once (a click with a 429), without counting them, until the period ends. Valid ids and signed links
// from the same address (an office's readers behind one NAT) are still recorded and redirected, and their opt-outs
// honoured: only what fails verification is ever throttled or counted.
import type { Bindings } from "./env";
import { clientAddress, invalidLinkResponse, throttledLinkResponse } from "./http";

const THROTTLE_MS = 60_000;
const MAX_TRACKED_ADDRESSES = 10_000;
const throttledUntil = new Map<string, number>();

export function isThrottled(address: string | null, now: number): boolean {
  if (address === null) return false;
  const until = throttledUntil.get(address);
  if (until === undefined) return false;
  if (until > now) return true;
  throttledUntil.delete(address);
  return false;
}

/** Counts an invalid request against the address; throttles it in this isolate once the shared limiter says no. */
export async function noteInvalidRequest(env: Bindings, address: string | null, now: number): Promise<void> {
  if (address === null) return;
  const { success } = await env.INVALID_HITS.limit({ key: address });
  if (success) return;
  if (throttledUntil.size >= MAX_TRACKED_ADDRESSES) throttledUntil.clear();
  throttledUntil.set(address, now + THROTTLE_MS);
}

/**
 * The answer to a link that failed verification (a click link, an opt-out page): the throttled page while its address
 * is throttled, else the invalid page, the request counted against the address. Called only after verification, so
 * a valid link is never refused for what others sent from its address.
 */
export async function invalidLinkAnswer(env: Bindings, request: Request, now: number): Promise<Response> {
  const address = clientAddress(request);
  if (isThrottled(address, now)) return throttledLinkResponse();
  await noteInvalidRequest(env, address, now);
  return invalidLinkResponse();
}
