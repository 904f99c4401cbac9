// Development only: under `wrangler dev` a request has no real `request.cf` (no network, country or city), so the
// labels that depend on the network cannot be tried locally. With DEV_REQUEST_CF set to "1" (written to .dev.vars
// by `npm start`; never in wrangler.toml, never deployed) a request to a loopback host may carry the properties
// in an X-Dev-Request-Cf header, as JSON: `{"asn": 8075, "country": "US"}`. Anywhere else the header is ignored.
import type { Bindings } from "./env";

export const DEV_REQUEST_CF_HEADER = "x-dev-request-cf";
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The request with the header's `cf` properties when development allows them, else the request as it came. */
export function withDevRequestCf(request: Request, env: Pick<Bindings, "DEV_REQUEST_CF">): Request {
  // The variable first: on Cloudflare it is never set, and reading it costs less than reading a header.
  if (env.DEV_REQUEST_CF !== "1") return request;
  const header = request.headers.get(DEV_REQUEST_CF_HEADER);
  if (header === null || !LOOPBACK_HOSTS.has(new URL(request.url).hostname)) return request;
  let cf: unknown;
  try {
    cf = JSON.parse(header);
  } catch {
    return request;
  }
  if (typeof cf !== "object" || cf === null || Array.isArray(cf)) return request;
  return new Request(request, { cf } as RequestInit);
}
