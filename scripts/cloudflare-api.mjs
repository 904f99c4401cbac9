// The few Cloudflare API v4 reads and creates `npm run deploy` makes itself, before wrangler deploys: checking what the
// deploy needs and looking resources up by name. It uses wrangler's own credentials (`wrangler auth token --json`, so
// `wrangler login` and CLOUDFLARE_API_TOKEN both work) and wrangler's API base URL (CLOUDFLARE_API_BASE_URL).

import { randomBytes } from "node:crypto";
import { EnvHttpProxyAgent, setGlobalDispatcher } from "undici";

const DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4";

/** The variables that name an HTTP proxy, as undici's EnvHttpProxyAgent reads them (NO_PROXY lists exceptions). */
const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/**
 * Sends this process's requests through the proxy the environment names, as wrangler sends its own: Node's fetch
 * ignores HTTPS_PROXY (until NODE_USE_ENV_PROXY, Node 22.21 and 24), and wrangler 4.155 sets undici's
 * EnvHttpProxyAgent as the global dispatcher when a proxy variable is set. Without this, a deploy behind a proxy
 * would stop at its first API call where wrangler alone works.
 */
export function useProxyFromEnvironment(env = process.env) {
  if (PROXY_VARIABLES.some((name) => env[name])) setGlobalDispatcher(new EnvHttpProxyAgent());
}

/** Headers for the credentials `wrangler auth token --json` printed (an API token, an OAuth token or a global key). */
export function authHeaders(credentials) {
  if (credentials.type === "api_key") return { "X-Auth-Key": credentials.key, "X-Auth-Email": credentials.email };
  return { Authorization: `Bearer ${credentials.token}` };
}

/**
 * `call(method, path, body)` answers Cloudflare's envelope as `{ ok, status, result, errors }`; a network failure is
 * `{ ok: false, status: 0, errors: [{ code: 0, message }] }`, never an exception, so every caller decides. A GET that
 * fails on the network is sent once more: the deploy blocks on wrangler (spawnSync) for a while, and the kept-alive
 * connection the next request reuses may have been closed meanwhile ("other side closed").
 */
export function cloudflareApi(credentials, baseUrl = process.env.CLOUDFLARE_API_BASE_URL || DEFAULT_BASE_URL) {
  const headers = { ...authHeaders(credentials), "Content-Type": "application/json" };
  return async function call(method, path, body) {
    const answer = await send(method, path, body);
    return answer.status === 0 && method === "GET" ? send(method, path, body) : answer;
  };

  async function send(method, path, body) {
    try {
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, status: response.status, errors: [{ code: 0, message: `HTTP ${response.status}: ${text.slice(0, 200)}` }] };
      }
      return { ok: response.ok && json.success === true, status: response.status, result: json.result, errors: json.errors ?? [] };
    } catch (error) {
      return { ok: false, status: 0, errors: [{ code: 0, message: String(error.cause?.message ?? error.message) }] };
    }
  }
}

/** "message [code: N]; …" for a failed answer. */
export function describeErrors(answer) {
  return answer.errors.map((error) => `${error.message} [code: ${error.code}]`).join("; ") || `HTTP ${answer.status}`;
}

export const hasCode = (answer, code) => answer.errors.some((error) => error.code === code);

/**
 * Whether a DNS record of the zone `zoneName`, at the hostname a Custom Domain is to take, stands in its way. A, AAAA and
 * CNAME records do ("Error 100117 - DNS Record Conflict": "The hostname has A, AAAA, or CNAME records that conflict with
 * the custom domain configuration", developers.cloudflare.com/workers/platform/error-codes/100117/, read 2026-12-04).
 * That page says `override_existing_dns_record`, which wrangler sends outside a terminal, replaces them; deploys that
 * sent it were refused all the same ("HTTP 409, error 100117, … Delete them first or try a different hostname.",
 * vm0-ai/vm0 pull request 33406, 2026-09-11; cloudflare/workers-sdk issue 9878, 2025-07-07), so the deploy takes them
 * as a refusal, not a replacement (deploy.mjs, DNS_CONFLICT). So does an NS record
 * below the zone's apex, which hands the name to other nameservers and shares it with no other record ("NS records
 * cannot exist on the same name as any other record type", developers.cloudflare.com/api/resources/dns/subresources/
 * records/methods/update/, read 2026-12-04). Others, such as MX and TXT, do not: neither source names them, and DNS
 * keeps them beside an address record, the kind a Custom Domain's is, so mail to the name and its site verifications
 * go on working. Nor do CAA records that name other certificate authorities: "If you are using Cloudflare as your DNS
 * provider, then the CAA records will be added on your behalf" for the authorities its certificates come from
 * (developers.cloudflare.com/ssl/edge-certificates/troubleshooting/ca-faq/, read 2026-12-04), and a Custom Domain's
 * zone is always on Cloudflare's DNS.
 */
export function conflictsWithCustomDomain(record, zoneName) {
  if (record.type === "NS") return record.name !== zoneName;
  return ["A", "AAAA", "CNAME"].includes(record.type);
}

/**
 * What public DNS answers for `hostname` (A, AAAA and CNAME, the records a Custom Domain conflicts with), as
 * `{ type, name, content }`, through Cloudflare's DNS over HTTPS in its JSON form: `GET /dns-query?name=&type=` with
 * `accept: application/dns-json`, answering `Status` (0 NOERROR, 3 NXDOMAIN) and `Answer: [{ name, type, data }]`
 * (developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/, read 2026-12-02). It needs
 * no permission, where the API's DNS records do. Throws when DNS does not answer.
 */
export async function publicDnsRecords(hostname, dohUrl = process.env.MAILTRACKER_DOH_URL || "https://cloudflare-dns.com/dns-query") {
  const typeNames = { 1: "A", 5: "CNAME", 28: "AAAA" };
  const found = new Map();
  for (const type of ["A", "AAAA", "CNAME"]) {
    const response = await fetch(`${dohUrl}?name=${encodeURIComponent(hostname)}&type=${type}`, {
      headers: { accept: "application/dns-json" },
    });
    if (!response.ok) throw new Error(`${dohUrl} answered HTTP ${response.status}`);
    const answer = await response.json();
    if (answer.Status !== 0 && answer.Status !== 3) throw new Error(`${dohUrl} answered DNS status ${answer.Status}`);
    for (const record of answer.Answer ?? []) {
      const named = {
        type: typeNames[record.type] ?? String(record.type),
        name: String(record.name).replace(/\.$/, ""),
        content: String(record.data),
      };
      found.set(`${named.type} ${named.name} ${named.content}`, named);
    }
  }
  return [...found.values()];
}

/**
 * Whether public DNS answers `hostname` as it answers a made-up name beside it under `parent`: then the answer is a
 * wildcard's (`*.parent`, or one above it), which answers every name that has no record of its own under the asked name
 * (RFC 4592 §2.2; "A wildcard record applies only when no exact record exists at the queried name", Cloudflare,
 * developers.cloudflare.com/dns/manage-dns-records/reference/wildcard-dns-records/, read 2026-12-03), so it cannot tell
 * whether the name has records of its own. The zone's apex has no wildcard above it: ask only of names below it.
 */
export async function answeredLikeAnyName(hostname, records, parent, dohUrl) {
  const madeUp = `mailtracker-${randomBytes(8).toString("hex")}.${parent}`;
  const asked = (name) => (record) => `${record.type} ${record.name === name ? "" : record.name} ${record.content}`;
  const own = new Set(records.map(asked(hostname)));
  const beside = new Set((await publicDnsRecords(madeUp, dohUrl)).map(asked(madeUp)));
  return beside.size === own.size && [...own].every((record) => beside.has(record));
}
