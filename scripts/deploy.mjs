// `npm run deploy`: puts the tracker on your own Cloudflare account (and, with TRACKER_DOMAIN, your own domain).
// Creates what is missing (D1 database, KV namespace, queues, SIGNING_SECRET), applies the migrations remotely,
// then deploys. Safe to re-run: existing resources and the existing secret are kept.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findId, renderDeployConfig } from "./deploy-config.mjs";
import { ROOT } from "./tracker.mjs";

const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
const DEPLOY_CONFIG = path.join(ROOT, "wrangler.deploy.toml");
const NAME = "mailtracker";

function wrangler(args, { input, allowFailure = false } = {}) {
  const result = spawnSync(WRANGLER, args, {
    cwd: ROOT,
    encoding: "utf8",
    input,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

function jsonOut(args) {
  const out = wrangler(args).stdout;
  return JSON.parse(out.slice(out.search(/[[{]/)));
}

function ensureD1() {
  const existing = findId(jsonOut(["d1", "list", "--json"]), "name", NAME, "uuid");
  if (existing) return existing;
  console.log(`Creating D1 database ${NAME}…`);
  wrangler(["d1", "create", NAME]);
  return findId(jsonOut(["d1", "list", "--json"]), "name", NAME, "uuid");
}

function ensureKv() {
  const title = `${NAME}-CACHE`;
  const existing = findId(jsonOut(["kv", "namespace", "list"]), "title", title, "id");
  if (existing) return existing;
  console.log(`Creating KV namespace ${title}…`);
  wrangler(["kv", "namespace", "create", "CACHE"]);
  return findId(jsonOut(["kv", "namespace", "list"]), "title", title, "id");
}

function ensureQueue(name) {
  const result = wrangler(["queues", "create", name], { allowFailure: true });
  if (result.status !== 0 && !/already exists|already taken|11009/i.test(result.stdout + result.stderr)) {
    throw new Error(`creating queue ${name} failed:\n${result.stdout}\n${result.stderr}`);
  }
}

function ensureSigningSecret() {
  const secrets = wrangler(["secret", "list", "--config", DEPLOY_CONFIG, "--format", "json"], { allowFailure: true });
  if (secrets.status === 0 && secrets.stdout.includes('"SIGNING_SECRET"')) return;
  console.log("Setting a random SIGNING_SECRET (keep it: changing it invalidates every email already sent)…");
  wrangler(["secret", "put", "SIGNING_SECRET", "--config", DEPLOY_CONFIG], { input: randomBytes(32).toString("base64url") });
}

const whoami = wrangler(["whoami"], { allowFailure: true });
if (whoami.status !== 0 || /not authenticated/i.test(whoami.stdout)) {
  console.error("Log in first: npx wrangler login (or set CLOUDFLARE_API_TOKEN).");
  process.exit(1);
}
const config = renderDeployConfig(readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"), {
  d1DatabaseId: ensureD1(),
  kvNamespaceId: ensureKv(),
  domain: process.env.TRACKER_DOMAIN,
});
ensureQueue(`${NAME}-hits`);
ensureQueue(`${NAME}-hits-dead`);
writeFileSync(DEPLOY_CONFIG, config);
console.log("Applying migrations to the remote database…");
wrangler(["d1", "migrations", "apply", "DB", "--remote", "--config", DEPLOY_CONFIG], { input: "y\n" });
ensureSigningSecret();
const deployed = wrangler(["deploy", "--config", DEPLOY_CONFIG]);
console.log(deployed.stdout);
console.log(
  process.env.TRACKER_DOMAIN
    ? `Deployed. Your tracker URL: https://${process.env.TRACKER_DOMAIN}`
    : "Deployed. Your tracker URL is the workers.dev address above (set TRACKER_DOMAIN to serve it from your own domain).",
);
