// Pure helpers for `npm run deploy`, kept apart so they can be tested without a Cloudflare account.

const PLACEHOLDER_D1_ID = "00000000-0000-4000-8000-000000000000";
const PLACEHOLDER_KV_ID = "00000000000000000000000000000000";

/**
 * wrangler.toml with this deployment's resource ids filled in and, when a domain is given, the worker served on it
 * as a Custom Domain. The result is written to wrangler.deploy.toml (git-ignored) next to wrangler.toml.
 */
export function renderDeployConfig(template, { d1DatabaseId, kvNamespaceId, domain }) {
  if (!template.includes(PLACEHOLDER_D1_ID) || !template.includes(PLACEHOLDER_KV_ID)) {
    throw new Error("wrangler.toml no longer holds the placeholder D1/KV ids this script replaces");
  }
  if (!/^[0-9a-f-]{36}$/.test(d1DatabaseId)) throw new Error(`unexpected D1 database id: ${d1DatabaseId}`);
  if (!/^[0-9a-f]{32}$/.test(kvNamespaceId)) throw new Error(`unexpected KV namespace id: ${kvNamespaceId}`);
  let config = template.replace(PLACEHOLDER_D1_ID, d1DatabaseId).replace(PLACEHOLDER_KV_ID, kvNamespaceId);
  if (domain) {
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(domain)) throw new Error(`not a domain name: ${domain}`);
    // Top-level keys must come before the first [table], so the route goes right after compatibility_date.
    config = config.replace(
      /^(compatibility_date = .*)$/m,
      `$1\nroutes = [{ pattern = "${domain}", custom_domain = true }]\nworkers_dev = false`,
    );
  }
  return config;
}

/** Finds a resource by name in wrangler's JSON output (d1 list --json, kv namespace list). */
export function findId(list, nameKey, name, idKey) {
  const found = list.find((item) => item[nameKey] === name);
  return found ? found[idKey] : null;
}
