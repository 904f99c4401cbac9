// Pure helpers for `npm run deploy`, kept apart so they can be tested without a Cloudflare account.

import { stripVTControlCharacters } from "node:util";

const PLACEHOLDER_D1_ID = "00000000-0000-4000-8000-000000000000";
const PLACEHOLDER_KV_ID = "00000000000000000000000000000000";
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Secrets every deployed version must have: wrangler uploads them as "inherit" bindings, so a deploy without them fails. */
export const REQUIRED_SECRETS = ["SIGNING_SECRET", "REGISTRATION_SECRET"];

/**
 * The permissions an API token needs beyond Cloudflare's "Edit Cloudflare Workers" template, in the README's words
 * ("Deploy to your own Cloudflare account and domain"); the deploy names each when Cloudflare refuses the step that
 * takes it.
 */
export const PERMISSIONS = {
  d1: "Account → D1 → Edit",
  queues: "Account → Queues → Edit",
  zone: "Zone → Zone → Read",
  dns: "Zone → DNS → Read",
};

/**
 * wrangler.toml with this deployment's resource ids filled in, the secrets it must carry (`secrets.required`) and, when
 * domains are given (each a hostname and the name of its zone), the worker served on each as a Custom Domain, instead
 * of workers.dev unless `keepWorkersDev` (a tracker moving to a domain, whose emails already sent carry its workers.dev
 * address). The result is written to wrangler.deploy.toml (git-ignored) next to wrangler.toml.
 *
 * Each route names its zone (`zone_name`, which wrangler 4.155.0's publishCustomDomains passes on in the Custom
 * Domain's origin), so Cloudflare does not have to infer it from the hostname: Cloudflare "began rejecting inferred
 * zones with `Can't infer zone from route`" (code 10082; Kilo-Org/cloud pull request 4031, 2026-06-15, which added
 * `zone_name` to its 21 Custom Domains for it; read 2026-12-04). wrangler's configuration has taken the key on a Custom
 * Domain since 2.0 ("{ pattern, custom_domain, zone_id | zone_name }", its route validation).
 */
export function renderDeployConfig(template, { d1DatabaseId, kvNamespaceId, domains = [], keepWorkersDev = false }) {
  if (!template.includes(PLACEHOLDER_D1_ID) || !template.includes(PLACEHOLDER_KV_ID)) {
    throw new Error("wrangler.toml no longer holds the placeholder D1/KV ids this script replaces");
  }
  if (!/^[0-9a-f-]{36}$/.test(d1DatabaseId)) throw new Error(`unexpected D1 database id: ${d1DatabaseId}`);
  if (!/^[0-9a-f]{32}$/.test(kvNamespaceId)) throw new Error(`unexpected KV namespace id: ${kvNamespaceId}`);
  let config = template.replace(PLACEHOLDER_D1_ID, d1DatabaseId).replace(PLACEHOLDER_KV_ID, kvNamespaceId);
  if (domains.length > 0) {
    // A zone name is left out only where none is known (a listing without one): Cloudflare then infers it, as before.
    const names = domains.flatMap(({ hostname, zoneName }) => (zoneName === undefined ? [hostname] : [hostname, zoneName]));
    const invalid = names.find((name) => !HOSTNAME.test(name));
    if (invalid !== undefined) throw new Error(`not a domain name: ${invalid}`);
    const routes = domains
      .map(({ hostname, zoneName }) => `{ pattern = "${hostname}", custom_domain = true${zoneName ? `, zone_name = "${zoneName}"` : ""} }`)
      .join(", ");
    // Top-level keys must come before the first [table], so the routes go right after compatibility_date.
    config = config.replace(/^(compatibility_date = .*)$/m, `$1\nroutes = [${routes}]\nworkers_dev = ${keepWorkersDev === true}`);
  }
  return `${config.trimEnd()}\n\n[secrets]\nrequired = ${JSON.stringify(REQUIRED_SECRETS)}\n`;
}

/**
 * TRACKER_DOMAIN as a hostname, also when pasted as an address ("https://t.example.com/" → "t.example.com"); null when
 * it is not one (a path, a port, a space), so the deploy can refuse it before looking anything up.
 */
export function trackerHostname(value) {
  const hostname = value
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, "")
    .replace(/\/$/, "");
  return HOSTNAME.test(hostname) ? hostname : null;
}

/** The zone names a hostname could belong to, longest first: t.acme.co.uk → t.acme.co.uk, acme.co.uk, co.uk. */
export function candidateZones(hostname) {
  const labels = hostname.split(".");
  return labels.slice(0, -1).map((_, index) => labels.slice(index).join("."));
}

/** What the deploy prints last: where the tracker is and how to connect the extension to it. */
export function nextSteps({ url, registrationSecret, afterRerun = false }) {
  const lines = [`Your tracker: ${url}`];
  if (registrationSecret) {
    lines.push(
      `Registration secret (shown once, keep it somewhere safe): ${registrationSecret}`,
      // A deploy that failed after its upload may have stored the secret in a version that is not live yet.
      afterRerun
        ? "Connect once `npm run deploy` has run again and says Deployed: open the extension's options, set Tracker address to\nthe address above, paste the registration secret"
        : "Connect: open the extension's options, set Tracker address to the address above, paste the registration secret",
      "into Registration secret and press Connect. Only someone with this secret can create accounts on your tracker.",
    );
  } else {
    lines.push(
      "Connect: open the extension's options, set Tracker address to the address above, and paste the registration secret",
      "printed by your first deploy (lost it? npx wrangler secret put REGISTRATION_SECRET --config wrangler.deploy.toml).",
    );
  }
  return lines.join("\n");
}

/**
 * The trigger steps a failed `wrangler deploy` reports as failed, from its "Trigger configuration for "<name>" was only
 * partially updated:" error, which names each one on a line of its own, "  <step>:", above the step's errors and before
 * "Successful trigger changes were not rolled back." ("Cron schedules", "Custom domains", "Queue consumers", …; wrangler
 * 4.155.0, triggersDeploy). Empty when the output holds no such report.
 */
export function failedTriggerSteps(output) {
  const text = stripVTControlCharacters(output);
  const start = text.indexOf("was only partially updated:");
  if (start === -1) return [];
  const end = text.indexOf("Successful trigger changes were not rolled back.", start);
  const report = text.slice(start, end === -1 ? undefined : end);
  return [...report.matchAll(/^\s+([A-Z][\w. ]*):$/gm)].map((match) => match[1]);
}
