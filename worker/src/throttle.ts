// Throttling of clients that send invalid tracking ids or links. Verification is CPU only, but a flood still costs
// the shared limiter's calls and log noise: once a network exceeds the INVALID_HITS rate, its invalid requests are
// answered at once (a click with a 429), without counting them, until the period ends. Valid ids and signed links
// from the same network (an office's readers behind one NAT) are still recorded and redirected, and their opt-outs
// honoured: only what fails verification is ever throttled or counted.
import type { Bindings } from "./env";
import { clientAddress, invalidLinkResponse, throttledLinkResponse } from "./http";
import { clientNetwork } from "./keys";

const THROTTLE_MS = 60_000;
const MAX_TRACKED_NETWORKS = 10_000;
const throttledUntil = new Map<string, number>();

/** The key of a cf-connecting-ip that is no address: Cloudflare sets the header, so only a local request has one. */
const NOT_AN_ADDRESS = "not-an-address";

/**
 * What a request is counted under by Cloudflare's rate limiting bindings (INVALID_HITS, ACCOUNT_CREATION) and throttled
 * under in this isolate: its client's network (clientNetwork: an IPv4 /24, an IPv6 /48), never its address. A key is
 * sent to Cloudflare's rate limiting service, and no raw client address leaves the request, as none is stored. So the
 * clients of one network share one budget: an office's readers behind one /24 are throttled together for the invalid
 * links they send (never for valid ones), and create accounts within one budget of 5 a minute. Null without an address
 * (local development, tests): nothing is counted.
 */
export function limiterKey(request: Request): string | null {
  const address = clientAddress(request);
  return address === null ? null : (clientNetwork(address) ?? NOT_AN_ADDRESS);
}

export function isThrottled(key: string | null, now: number): boolean {
  if (key === null) return false;
  const until = throttledUntil.get(key);
  if (until === undefined) return false;
  if (until > now) return true;
  throttledUntil.delete(key);
  return false;
}

/** Counts an invalid request under its limiterKey; throttles that key in this isolate once the shared limiter says no. */
export async function noteInvalidRequest(env: Bindings, key: string | null, now: number): Promise<void> {
  if (key === null) return;
  const { success } = await env.INVALID_HITS.limit({ key });
  if (success) return;
  if (throttledUntil.size >= MAX_TRACKED_NETWORKS) throttledUntil.clear();
  throttledUntil.set(key, now + THROTTLE_MS);
}

/**
 * The answer to a link that failed verification (a click link, an opt-out page): the throttled page while its network
 * is throttled, else the invalid page, the request counted against the network. Called only after verification, so
 * a valid link is never refused for what others sent from its network.
 */
export async function invalidLinkAnswer(env: Bindings, request: Request, now: number): Promise<Response> {
  const key = limiterKey(request);
  if (isThrottled(key, now)) return throttledLinkResponse();
  await noteInvalidRequest(env, key, now);
  return invalidLinkResponse();
}
