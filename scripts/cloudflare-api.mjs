// The few Cloudflare API v4 reads and creates `npm run deploy` makes itself, before wrangler deploys: checking what the
// deploy needs and looking resources up by name. It uses wrangler's own credentials (`wrangler auth token --json`, so
// `wrangler login` and CLOUDFLARE_API_TOKEN both work) and wrangler's API base URL (CLOUDFLARE_API_BASE_URL).

const DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4";

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
