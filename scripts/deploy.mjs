// `npm run deploy`: puts the tracker on your own Cloudflare account (and, with TRACKER_DOMAIN, your own domain).
// 1. Checks, creating nothing: Node, login, the account, where the tracker will be served (a workers.dev subdomain, or
//    TRACKER_DOMAIN's active zone on the account with the hostname unused) and which secrets the deployed tracker
//    already has.
// 2. Creates what is missing, looked up by the names wrangler's own provisioning gives them: the D1 database
//    `mailtracker` (database_name in wrangler.toml), the KV namespace `mailtracker-cache` (<worker>-<binding>), the
//    queues wrangler.toml names. Once the database exists, it stops when the database's SQLite is too old for the
//    tracker's SQL (refuseOldSqlite), before any migration.
// 3. Applies new migrations remotely (wrangler tracks which ran), then `wrangler deploy` with the new secrets in the
//    same upload (--secrets-file). A secret is only ever set when the Worker provably lacks it; the deploy config lists
//    both as `secrets.required`, so wrangler refuses to deploy a version without them. A failure after the upload that
//    the rep must act on is said in words: the account's Cron Triggers all taken (the tracker then runs its retention
//    purge from its own traffic, less punctually than hourly); so is a first upload refused for want of a workers.dev
//    subdomain.
// Safe to re-run: a second run finds everything, creates nothing and changes no secret.
import "./require-node.mjs";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { experimental_readRawConfig } from "wrangler";
import {
  answeredLikeAnyName,
  cloudflareApi,
  conflictsWithCustomDomain,
  describeErrors,
  hasCode,
  publicDnsRecords,
  useProxyFromEnvironment,
} from "./cloudflare-api.mjs";
import {
  candidateZones,
  failedTriggerSteps,
  nextSteps,
  PERMISSIONS,
  REQUIRED_SECRETS,
  renderDeployConfig,
  trackerHostname,
} from "./deploy-config.mjs";
import { ROOT, runWrangler } from "./tracker.mjs";

const DEPLOY_CONFIG = path.join(ROOT, "wrangler.deploy.toml");
// The names are read from wrangler.toml by wrangler's own reader, so that what this script checks (above all the
// Worker's secrets) is what wrangler then deploys to, also in a copy where the rep renamed the Worker.
const { rawConfig } = experimental_readRawConfig({ config: path.join(ROOT, "wrangler.toml") });
const NAME = rawConfig.name;
const DATABASE = rawConfig.d1_databases[0].database_name;
const KV_TITLE = `${NAME}-cache`;
const QUEUES = rawConfig.queues.producers.map((producer) => producer.queue);
/**
 * Given to every wrangler command that reads the configuration. wrangler deploys to the environment `--env` or
 * CLOUDFLARE_ENV names, read from the shell or from a `.env` file it loads itself, and with no such section in
 * wrangler.toml only warns and deploys the top level under the name `<name>-<env>` (getCloudflareEnv, loadDotEnv and
 * appendEnvName, wrangler 4.155.0). That Worker is not the one whose secrets were checked, so every run would give it a
 * new SIGNING_SECRET. An empty `--env` comes first (`args.env ?? getCloudflareEnv()`) and is no environment.
 */
const TOP_LEVEL = "--env=";
// Cloudflare's "not found" code for a workers.dev subdomain (wrangler: getWorkersDevSubdomainInternal).
const SUBDOMAIN_NOT_FOUND = 10007;
// Cloudflare's answers about a Worker that is not on the account: 10007, and 10090 for a Worker's (legacy) environment
// not found, which wrangler reads as a missing Worker too (isWorkerNotFoundError, WORKER_NOT_FOUND_ERR_CODE and
// WORKER_LEGACY_ENVIRONMENT_NOT_FOUND_ERR_CODE, wrangler 4.155.0).
const WORKER_NOT_FOUND = 10007;
const WORKER_ENVIRONMENT_NOT_FOUND = 10090;
// Cloudflare's answer to a Worker's Cron Triggers past the account's limit, counted across all its Workers: 5 on
// Workers Free, 250 on Workers Paid (developers.cloudflare.com/workers/platform/limits/ and "Error 10072 - Cron Trigger
// Limit Reached", developers.cloudflare.com/workers/platform/error-codes/10072/, read 2026-12-04). It comes after the
// upload, which it leaves in place, and its message has changed over the years ("workers.api.error.too_many_crons",
// cloudflare/workers-sdk issue 5998, 2024-06-08; "This account has reached the Workers Free limit of 5 cron triggers per
// account.", issue 15194, 2026-08-14), so only the code is read, as wrangler prints it: "… [code: 10072]".
const CRON_LIMIT = 10072;
// Cloudflare's answer to the upload of a new account's first Worker while the account has no workers.dev subdomain, even
// one served on Custom Domains alone ("Error 10063 - Workers.dev Subdomain Required", developers.cloudflare.com/workers/
// platform/error-codes/10063/; the upload "failed with an opaque API error raised by the upload request itself",
// cloudflare/workers-sdk pull request 14494, 2026-06-30; read 2026-12-04). wrangler 4.155.0 asks for a subdomain first
// only when the deploy publishes to workers.dev, so a deploy to TRACKER_DOMAIN meets it. Not every such account is
// refused (maillab/cloud-mail issue 476, 2026-07-04, uploaded without one), so it is not required up front.
const SUBDOMAIN_REQUIRED = 10063;
/**
 * A Custom Domain's hostname with DNS records of its own (A, AAAA, CNAME): refused after the upload, even with the
 * override wrangler sends outside a terminal ("HTTP 409, error 100117, … Delete them first or try a different
 * hostname.", vm0-ai/vm0 pull request 33406, 2026-09-11; cloudflare/workers-sdk issue 9878, 2025-07-07). The check
 * before the upload finds such records; this is what is left when one appears in between, or the login could not see it.
 */
const DNS_CONFLICT = 100117;

/**
 * Cloudflare's answer to a request the login has no permission for: HTTP 403, code 10000, "Authentication error" ("this
 * is likely an issue with your token permissions", a maintainer in cloudflare/terraform-provider-cloudflare issue 1533,
 * 2022-03-28; a token lacking Email Routing Rules Edit, Curetix/mailflare-extension issue 20, 2024-07-05; read
 * 2026-12-06). A token that is no good at all is answered so too, but the steps that name a permission come after the
 * same login was answered.
 */
const AUTHENTICATION_ERROR = 10000;

/**
 * Cloudflare's errors for a step that failed, and, when the login was refused, the permission the step takes and how to
 * give it.
 */
function failureOf(answer, permission) {
  const errors = describeErrors(answer);
  if (!permission || !hasCode(answer, AUTHENTICATION_ERROR)) return errors;
  return `${errors}.\nThis step takes the permission ${permission}: add it to your API token (dash.cloudflare.com/profile/api-tokens)`;
}

function stop(message) {
  console.error(`\n${message}`);
  process.exit(1);
}

/** The last lines of a failed wrangler command, without its log-file footer. */
function wranglerFailure(result) {
  const text = `${result.stdout}\n${result.stderr}`.replace(/🪵.*Logs were written.*$/m, "").trim();
  return text.split("\n").slice(-15).join("\n");
}

// 1. Checks. Nothing below creates anything until every check has passed.
if (process.env.CLOUDFLARE_ENV) console.log(`CLOUDFLARE_ENV=${process.env.CLOUDFLARE_ENV} is not used: the tracker has one environment.`);
const domainSetting = process.env.TRACKER_DOMAIN?.trim();
const domain = domainSetting ? trackerHostname(domainSetting) : undefined;
if (domain === null) {
  stop(`TRACKER_DOMAIN=${domainSetting} is not a hostname: set it to one like t.example.com (no path, no port). Nothing was created.`);
}

const token = runWrangler(["auth", "token", "--json"]);
if (token.status !== 0)
  stop("Not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run deploy` again.");
useProxyFromEnvironment();
const api = cloudflareApi(JSON.parse(token.stdout.slice(token.stdout.indexOf("{"))));

/** Every page of a list: `{ ok, result }`, or the first failed answer. */
async function allPages(path, perPage = 50) {
  const result = [];
  for (let page = 1; ; page++) {
    const answer = await api("GET", `${path}?per_page=${perPage}&page=${page}`);
    if (!answer.ok) return answer;
    result.push(...answer.result);
    if (answer.result.length < perPage) return { ok: true, result };
  }
}

// The accounts wrangler itself would choose from: those /accounts lists that the login is also a member of, since
// /accounts can list accounts the token cannot use; /accounts alone when the login may not read its memberships
// (9106 for an account's own API token, 10000) (fetchAllAccounts and MEMBERSHIPS_INACCESSIBLE_CODES, wrangler 4.155.0;
// cloudflare/workers-sdk pull requests 13770 and 13858, 2026-05).
// wrangler's own order: `account_id` in wrangler.toml, then CLOUDFLARE_ACCOUNT_ID or its older name CF_ACCOUNT_ID
// (getActiveAccountId and getCloudflareAccountIdFromEnv, wrangler 4.155.0).
let accountId = rawConfig.account_id || process.env.CLOUDFLARE_ACCOUNT_ID || process.env.CF_ACCOUNT_ID;
if (!accountId) {
  const accounts = await allPages("/accounts");
  const memberships = await allPages("/memberships");
  if (!accounts.ok) stop(`Could not list your Cloudflare accounts: ${describeErrors(accounts)}. Check your login (npx wrangler login).`);
  let usable = accounts.result;
  if (memberships.ok) usable = usable.filter((account) => memberships.result.some((membership) => membership.account?.id === account.id));
  else if (!hasCode(memberships, 9106) && !hasCode(memberships, 10000)) {
    stop(`Could not list your Cloudflare accounts: ${describeErrors(memberships)}. Check your login (npx wrangler login).`);
  }
  if (usable.length !== 1) {
    const list = usable.map((account) => `  ${account.id}  ${account.name}`).join("\n");
    stop(`Your login can use ${usable.length} Cloudflare accounts; choose one with CLOUDFLARE_ACCOUNT_ID=<id> npm run deploy:\n${list}`);
  }
  accountId = usable[0].id;
}
const account = `/accounts/${accountId}`;

// The Custom Domains the tracker is served on now: the pixels and links of emails already sent point there. wrangler
// makes a deploy's `routes` the Worker's whole set of Custom Domains (publishCustomDomains sends override_scope to
// `domains/changeset?replace_state=true`, wrangler 4.155.0), and detaches any left out and deletes its DNS record
// (kentcdodds/kody pull request 1015, 2026-07-29), so every one is deployed again, whether or not TRACKER_DOMAIN names it.
const served = await api("GET", `${account}/workers/domains?service=${NAME}`);
if (!served.ok) stop(`Could not look up the tracker's Custom Domains: ${describeErrors(served)}. Nothing was created.`);
// Each with the name of its zone, which its route names (renderDeployConfig); the listing gives it
// (developers.cloudflare.com/api/resources/workers/subresources/domains/methods/list, read 2026-12-04).
const servedDomains = served.result
  .filter((existing) => existing.service === NAME)
  .map((existing) => ({ hostname: existing.hostname, zoneName: existing.zone_name }));
const domains = domain ? [{ hostname: domain }, ...servedDomains.filter((existing) => existing.hostname !== domain)] : servedDomains;

let trackerUrl;
if (domains.length > 0) trackerUrl = `https://${domains[0].hostname}`;
if (domain) {
  let zone = null;
  for (const name of candidateZones(domain)) {
    const zones = await api("GET", `/zones?name=${encodeURIComponent(name)}&account.id=${accountId}`);
    if (!zones.ok) stop(`Could not look up the zone of ${domain}: ${failureOf(zones, PERMISSIONS.zone)}. Nothing was created.`);
    if (zones.result.length > 0) {
      zone = zones.result[0];
      break;
    }
  }
  if (!zone) {
    stop(
      `TRACKER_DOMAIN=${domain}: no zone for it on this Cloudflare account (${accountId}). Add the domain to this account\n` +
        "(dash.cloudflare.com → Add a domain) and run again, or leave TRACKER_DOMAIN unset to use a workers.dev address. Nothing was created.",
    );
  }
  domains[0].zoneName = zone.name;
  // A Custom Domain needs an active zone (developers.cloudflare.com/workers/configuration/routing/custom-domains/, read
  // 2026-12-02); a domain just added stays "pending" until its nameservers are the ones Cloudflare assigned it.
  if (zone.status !== "active") {
    stop(
      `TRACKER_DOMAIN=${domain}: its zone ${zone.name} is not active on Cloudflare yet (status: ${zone.status}), and a Worker can only be\n` +
        `served on an active zone. At your domain's registrar, set its nameservers to ${zone.name_servers?.join(" and ") ?? "the ones Cloudflare shows"}\n` +
        `(dash.cloudflare.com → ${zone.name} → Overview), wait until Cloudflare says the domain is active, and run again. Nothing was created.`,
    );
  }
  // wrangler, run here without a terminal, answers its own questions "Custom Domains already exist … Update them to
  // point to this script instead?" and "You already have DNS records that conflict … Update them?" with yes
  // (workers-sdk packages/deploy-helpers/src/triggers/publish-routes.ts, publishCustomDomains; wrangler 4.155.0). So the
  // hostname is checked here first: taking it from another Worker is the rep's decision. A DNS record of its own (a live
  // website) Cloudflare does not replace, override or not: it refuses after the upload (DNS_CONFLICT), so the deploy
  // says so before creating anything. The tracker's own Custom Domain, from an earlier deploy, is fine, and so is the
  // DNS record it has; so are records a Custom Domain leaves in place, such as MX and TXT (conflictsWithCustomDomain).
  const customDomains = await api("GET", `${account}/workers/domains?hostname=${encodeURIComponent(domain)}`);
  if (!customDomains.ok) stop(`Could not look up the Custom Domains of ${domain}: ${describeErrors(customDomains)}. Nothing was created.`);
  const customDomain = customDomains.result.find((existing) => existing.hostname === domain);
  if (customDomain && customDomain.service !== NAME) {
    stop(
      `TRACKER_DOMAIN=${domain} already serves the Worker "${customDomain.service}" (a Custom Domain); deploying would move it to the tracker.\n` +
        `Choose another hostname, or first remove it from "${customDomain.service}" (dash.cloudflare.com → Workers & Pages → ${customDomain.service}\n` +
        "→ Settings → Domains & Routes) if that Worker no longer needs it. Nothing was created.",
    );
  }
  if (!customDomain) {
    // Reading them takes DNS Read on the zone. wrangler 4.155.0's login asks for zone:read and no DNS scope
    // (DefaultScopes in its bundled workers-auth), and an OAuth grant is refused the zone's records even with DNS Read
    // (cloudflare/mcp#202, 2026-08-24): public DNS then says whether the name serves anything.
    const records = await api("GET", `/zones/${zone.id}/dns_records?name=${encodeURIComponent(domain)}`);
    let existing;
    if (records.ok) existing = records.result.filter((record) => record.name === domain && conflictsWithCustomDomain(record, zone.name));
    else {
      const unchecked = `Could not check that ${domain} is unused: the DNS records of ${zone.name} could not be read (${describeErrors(records)}),\n`;
      const withDnsRead = `Deploy with an API token that has ${PERMISSIONS.dns} (CLOUDFLARE_API_TOKEN=… npm run deploy). Nothing was created.`;
      const parent = domain.slice(domain.indexOf(".") + 1);
      let wildcard = false;
      try {
        existing = await publicDnsRecords(domain);
        wildcard = existing.length > 0 && domain !== zone.name && (await answeredLikeAnyName(domain, existing, parent));
      } catch (error) {
        stop(`${unchecked}nor public DNS (${error.message}). ${withDnsRead}`);
      }
      // A wildcard's answer is no reason to stop, as the zone's own records would show; nor proof that the name has no
      // record of its own (a proxied record answers the zone's proxy addresses, as a proxied wildcard does).
      if (wildcard) {
        stop(
          `${unchecked}and public DNS answers it as it answers any name under ${parent} (a wildcard record, such as *.${parent}),\n` +
            `so it cannot tell whether ${domain} has records of its own, on which Cloudflare refuses the tracker. ${withDnsRead}`,
        );
      }
    }
    if (existing.length > 0) {
      stop(
        `TRACKER_DOMAIN=${domain} already has DNS records, and Cloudflare does not put a Worker on a hostname that has them:\n` +
          `${existing.map((record) => `  ${record.type} ${record.name} ${record.content}`).join("\n")}\n` +
          `Choose a hostname without such records (MX and TXT records are no obstacle), or delete them (dash.cloudflare.com →\n` +
          `${zone.name} → DNS → Records) if nothing needs what they serve: there is no swap, so ${domain} serves nothing until\n` +
          "the deploy has run again. Nothing was created.",
      );
    }
  }
} else if (domains.length === 0) {
  const subdomain = await api("GET", `${account}/workers/subdomain`);
  if (hasCode(subdomain, SUBDOMAIN_NOT_FOUND)) {
    stop(
      "This Cloudflare account has no workers.dev subdomain yet, so the tracker has no address to be served on.\n" +
        `Register one (free) at https://dash.cloudflare.com/${accountId}/workers/onboarding and run \`npm run deploy\` again,\n` +
        "or serve it from a domain on this account: TRACKER_DOMAIN=t.example.com npm run deploy. Nothing was created.",
    );
  }
  if (!subdomain.ok) stop(`Could not read this account's workers.dev subdomain: ${describeErrors(subdomain)}. Nothing was created.`);
  trackerUrl = `https://${NAME}.${subdomain.result.subdomain}.workers.dev`;
}

// Which secrets the deployed Worker has. Only "this Worker does not exist" proves it has none: any other failure (a
// 500, a 429, a network error) stops here, because setting SIGNING_SECRET over an existing one would invalidate every
// tracking id and link already sent.
const secretsPath = `${account}/workers/scripts/${NAME}/secrets`;
const secrets = await api("GET", secretsPath);
let existingSecrets;
if (secrets.ok) existingSecrets = new Set(secrets.result.map((secret) => secret.name));
else if (await workerAbsent(secrets)) existingSecrets = new Set();
else if (hasCode(secrets, WORKER_ENVIRONMENT_NOT_FOUND)) {
  stop(
    `Cloudflare answered that the tracker's Worker is not found (${describeErrors(secrets)}), yet lists a Worker named ${NAME},\n` +
      "or could not be asked for its list. Stopped before changing anything, so the signing secret of emails already sent stays as\n" +
      `it is. Look at ${NAME} in the dashboard (dash.cloudflare.com → Workers & Pages) before running \`npm run deploy\` again.`,
  );
} else {
  stop(
    `Could not read the tracker's secrets (${describeErrors(secrets)}).\n` +
      "Stopped before changing anything, so the signing secret of emails already sent stays as it is. Run `npm run deploy` again in a minute.",
  );
}

// A Worker of the tracker's name whose secrets lack SIGNING_SECRET is no tracker this script deployed: every deploy of
// one uploads it with the Worker's first version. It is another project's Worker (or a tracker an old version of this
// script deployed before its `secret put` failed, which never signed an email), and wrangler, run here without a
// terminal, would replace it without asking (its deploy confirmation answers yes there: getDeployConfirmFunction,
// wrangler 4.155.0).
if (secrets.ok && !existingSecrets.has("SIGNING_SECRET")) {
  stop(
    `This account already has a Worker named ${NAME} with no SIGNING_SECRET: another project's, or a tracker whose signing secret\n` +
      "was never set, which can have sent no working email. Deploying would replace it. Give the tracker another name (`name` in\n" +
      "wrangler.toml), or delete that Worker (dash.cloudflare.com → Workers & Pages) if nothing needs it, and run `npm run deploy`\n" +
      "again. Nothing was created.",
  );
}

/**
 * Whether a failed answer about the tracker's Worker proves it is not on the account: 10007 does; 10090 does not on a
 * route that names no environment, so then the account's list of Workers ("List Workers", GET
 * /accounts/{id}/workers/scripts, one page, each Worker by its name as `id`) must answer and lack it.
 */
async function workerAbsent(answer) {
  if (hasCode(answer, WORKER_NOT_FOUND)) return true;
  if (!hasCode(answer, WORKER_ENVIRONMENT_NOT_FOUND)) return false;
  const scripts = await api("GET", `${account}/workers/scripts`);
  return scripts.ok && !scripts.result.some((script) => script.id === NAME);
}

// A tracker moving from workers.dev to TRACKER_DOMAIN: every email already sent carries its workers.dev address, and
// workers_dev = false would make wrangler turn that address off (wrangler: subdomainDeploy), so it stays on. A tracker
// on its domains keeps workers.dev as it is: routes make wrangler's default off, not on (getSubdomainValues).
let keepWorkersDev = false;
if (domains.length > 0 && secrets.ok) {
  const workersDev = await api("GET", `${account}/workers/scripts/${NAME}/subdomain`);
  if (!workersDev.ok) stop(`Could not read whether the tracker is on workers.dev: ${describeErrors(workersDev)}. Nothing was created.`);
  keepWorkersDev = workersDev.result.enabled === true;
}

async function list(what, pathAndQuery, permission) {
  const answer = await api("GET", pathAndQuery);
  if (!answer.ok) stop(`Could not list your ${what}: ${failureOf(answer, permission)}. Nothing was created.`);
  return answer.result;
}
const databases = await list("D1 databases", `${account}/d1/database?name=${encodeURIComponent(DATABASE)}&per_page=100`, PERMISSIONS.d1);
let databaseId = databases.find((database) => database.name === DATABASE)?.uuid;
if (databaseId && existingSecrets.size === 0) await refuseForeignDatabase(databaseId);
const namespaces = await allPages(`${account}/storage/kv/namespaces`, 100);
if (!namespaces.ok) stop(`Could not list your KV namespaces: ${describeErrors(namespaces)}. Nothing was created.`);
let namespaceId = namespaces.result.find((namespace) => namespace.title === KV_TITLE)?.id;
// One answer holds both queues: the names filter the list, as wrangler's own lookup does (ensureQueuesExistByConfig,
// which also pages through the answers), and Cloudflare's API reference shows List Queues as a single page
// (developers.cloudflare.com/api/resources/queues/methods/list, read 2026-12-05).
const queues = await list("queues", `${account}/queues?${QUEUES.map((queue) => `name=${queue}`).join("&")}`, PERMISSIONS.queues);
const missingQueues = QUEUES.filter((queue) => !queues.some((existing) => existing.queue_name === queue));

/** Runs one statement in the D1 database `id` through Cloudflare's API (its /query route). */
function queryDatabase(id, sql, params = []) {
  return api("POST", `${account}/d1/database/${id}/query`, { sql, params });
}

/**
 * Stops when a D1 database of the tracker's name, found before the tracker's first deploy, is another project's: the
 * migrations would change its tables. One this deploy made has none (a run stopped before its migrations) or lists the
 * tracker's first migration among those applied (a run stopped after them: d1_migrations, wrangler's default
 * `migrations_table`, DEFAULT_MIGRATION_TABLE in wrangler 4.155.0). D1's own table, `_cf_KV`, which a new database
 * already holds ("a reserved table used by D1's underlying storage system", cloudflare/cloudflare-docs pull request
 * 14812, 2024-05-29; test/deploy/cloudflare-api.ts), and SQLite's do not count.
 */
async function refuseForeignDatabase(id) {
  const read = (answer) => {
    if (!answer.ok) stop(`Could not look into the D1 database ${DATABASE}: ${failureOf(answer, PERMISSIONS.d1)}. Nothing was created.`);
    return answer.result[0]?.results ?? [];
  };
  const tables = read(
    await queryDatabase(
      id,
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND substr(name, 1, 4) <> '_cf_'",
    ),
  ).map((row) => row.name);
  // d1_migrations alone: wrangler made it, and the tracker's first migration failed in it.
  if (tables.every((table) => table === "d1_migrations")) return;
  const first = readdirSync(path.join(ROOT, rawConfig.d1_databases[0].migrations_dir))
    .filter((file) => file.endsWith(".sql"))
    .sort()[0];
  const ours =
    tables.includes("d1_migrations") && read(await queryDatabase(id, "SELECT 1 FROM d1_migrations WHERE name = ?", [first])).length > 0;
  if (!ours) {
    stop(
      `This account already has a D1 database named ${DATABASE} that the tracker did not make (its tables: ${tables.slice(0, 5).join(", ")}),\n` +
        "and the tracker's migrations would change it. Give the tracker's database another name (`database_name` in wrangler.toml)\n" +
        "and run `npm run deploy` again. Nothing was created.",
    );
  }
}

/**
 * Stops when the database's SQLite is older than the tracker's SQL needs: an aggregate's ORDER BY
 * (`json_group_array(… ORDER BY …)`: the people list's campaigns, contact-scores.ts; an email's deletion, messages.ts; the
 * relabelling of opens, events.ts) came with SQLite 3.44.0 (sqlite.org/releaselog/3_44_0.html), and an older one refuses
 * it as a syntax error, `near "ORDER": syntax error`, which a deploy would otherwise meet only in the running Worker.
 * Which SQLite remote D1 runs is not published (searched 2026-12-07); workerd's D1 runs 3.53.4. Nor will D1 say:
 * sqlite_version() is left out of the functions workerd's SQLite authorizer allows, with the other "build details …
 * we'd prefer not to reveal" (ALLOWED_SQLITE_FUNCTIONS, cloudflare/workerd src/workerd/util/sqlite.c++), and wrangler's
 * local D1 answered it `not authorized to use function: sqlite_version at offset 7: SQLITE_ERROR` (2026-12-07). So the
 * feature itself is asked, in one request. Any other failure is not taken for an old SQLite: it is said as it came.
 */
async function refuseOldSqlite(id) {
  const kept = `Nothing was migrated or deployed; the database ${DATABASE} is kept and a later run uses it.`;
  const probe = await queryDatabase(id, "SELECT json_group_array(value ORDER BY value) AS ordered FROM json_each('[2,1]')");
  if (probe.ok) return;
  if (!probe.errors.some((error) => error.message.includes('near "ORDER": syntax error'))) {
    stop(
      `Could not check which SQLite the D1 database ${DATABASE} runs: ${failureOf(probe, PERMISSIONS.d1)}.\n${kept} Run \`npm run deploy\` again.`,
    );
  }
  stop(
    `The D1 database ${DATABASE} runs an SQLite older than 3.44, and the tracker needs SQLite 3.44 or later: its SQL sorts inside aggregates\n` +
      `(json_group_array(… ORDER BY …)), which older SQLite refuses (${describeErrors(probe)}).\n${kept}\n` +
      "Please report this, with this output, to the tracker's maintainers (the issues of the repository you got it from).",
  );
}

// 2. Create what is missing.
async function create(what, pathAndQuery, body, permission) {
  console.log(`Creating ${what}…`);
  const answer = await api("POST", pathAndQuery, body);
  if (!answer.ok) stop(`Creating ${what} failed: ${failureOf(answer, permission)}. Run \`npm run deploy\` again: what exists is kept.`);
  return answer.result;
}
databaseId ??= (await create(`the D1 database ${DATABASE}`, `${account}/d1/database`, { name: DATABASE }, PERMISSIONS.d1)).uuid;
await refuseOldSqlite(databaseId);
namespaceId ??= (await create(`the KV namespace ${KV_TITLE}`, `${account}/storage/kv/namespaces`, { title: KV_TITLE })).id;
for (const queue of missingQueues) await create(`the queue ${queue}`, `${account}/queues`, { queue_name: queue }, PERMISSIONS.queues);

writeFileSync(
  DEPLOY_CONFIG,
  renderDeployConfig(readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"), {
    d1DatabaseId: databaseId,
    kvNamespaceId: namespaceId,
    domains,
    keepWorkersDev,
  }),
);

// 3. Migrations, then the upload with any new secrets.
const wranglerEnv = { CLOUDFLARE_ACCOUNT_ID: accountId };
console.log("Applying new database migrations…");
const migrations = runWrangler(["d1", "migrations", "apply", "DB", "--remote", "--config", DEPLOY_CONFIG, TOP_LEVEL], {
  env: wranglerEnv,
});
// Running the deploy again after a failure here applies only what is left: wrangler applies the migrations one at a
// time, each in one /query with the row that records it in the database's d1_migrations table, which D1 runs in one
// transaction ("D1 runs your SQL in a transaction for you", trimSqlQuery), stops at the first that fails, and applies
// only those d1_migrations lacks (getUnappliedMigrations and buildMigrationQuery, wrangler 4.155.0).
if (migrations.status !== 0) {
  stop(
    `Applying the migrations failed; nothing was deployed:\n${wranglerFailure(migrations)}\n` +
      "Running `npm run deploy` again is safe: the database records each migration applied (d1_migrations), the one that failed\n" +
      "left no change, and a re-run applies only the rest. If the cause above is passing (a network error, a rate limit), run it again.",
  );
}

const newSecrets = Object.fromEntries(
  REQUIRED_SECRETS.filter((name) => !existingSecrets.has(name)).map((name) => [name, randomBytes(32).toString("base64url")]),
);
const secretsDir = mkdtempSync(path.join(tmpdir(), "mailtracker-deploy-"));
// Ctrl-C reaches wrangler and this script alike, and Node's own handling would end this script at once, before the
// `finally` below deletes the secrets file: held while wrangler runs, the interruption ends wrangler only.
const holdSignal = () => {};
process.on("SIGINT", holdSignal).on("SIGTERM", holdSignal);
let deployed;
try {
  const args = ["deploy", "--config", DEPLOY_CONFIG, TOP_LEVEL];
  if (Object.keys(newSecrets).length > 0) {
    const file = path.join(secretsDir, "secrets.json");
    writeFileSync(file, JSON.stringify(newSecrets), { mode: 0o600 });
    args.push("--secrets-file", file);
  }
  console.log(`Deploying${Object.keys(newSecrets).length ? ` (setting ${Object.keys(newSecrets).join(" and ")})` : ""}…`);
  deployed = runWrangler(args, { env: wranglerEnv });
} finally {
  rmSync(secretsDir, { recursive: true, force: true });
  process.off("SIGINT", holdSignal).off("SIGTERM", holdSignal);
}
if (deployed.status !== 0) {
  const output = `${deployed.stdout}\n${deployed.stderr}`;
  const cronsRefused = output.includes(`[code: ${CRON_LIMIT}]`);
  // Trigger steps that failed besides the schedule (a Custom Domain, a queue consumer): the tracker is not whole yet.
  const otherFailures = failedTriggerSteps(output).filter((step) => step !== "Cron schedules");
  // wrangler stores the secrets with the upload and fails later steps (cron triggers, queue consumers, the Custom Domain)
  // after it. A rerun then finds REGISTRATION_SECRET set, keeps it and never shows it, so it is shown now, unless the
  // Worker provably lacks it.
  if (newSecrets.REGISTRATION_SECRET) {
    const after = await api("GET", secretsPath);
    const stored = after.ok ? after.result.some((secret) => secret.name === "REGISTRATION_SECRET") : !(await workerAbsent(after));
    if (stored) {
      // With the schedule refused, a rerun finishes nothing until a Cron Trigger is freed: what to do is said below.
      const rerun = cronsRefused ? "." : ": run `npm run deploy` again to\nfinish (it keeps them).";
      console.log(
        `\nThe deploy failed after its upload, which ${after.ok ? "stored" : "may have stored"} the new secrets${rerun} The registration secret will not be shown again.\n` +
          nextSteps({
            url: trackerUrl,
            registrationSecret: newSecrets.REGISTRATION_SECRET,
            afterRerun: !cronsRefused || otherFailures.length > 0,
          }),
      );
    }
  }
  if (output.includes(`[code: ${SUBDOMAIN_REQUIRED}]`) && existingSecrets.size === 0) {
    stop(
      `Cloudflare refused the tracker's first upload [code: ${SUBDOMAIN_REQUIRED}]: this account has no workers.dev subdomain yet, which Cloudflare\n` +
        "asks of an account's first Worker even when it is served on your own domain. Register one (free) at\n" +
        `https://dash.cloudflare.com/${accountId}/workers/onboarding and run \`npm run deploy\` again: what was created is kept and used\n` +
        "again (the database, its migrations, the KV namespace and the queues), and nothing was deployed.",
    );
  }
  if (output.includes(`[code: ${DNS_CONFLICT}]`)) {
    // The hostname as Cloudflare's message names it: one of the tracker's earlier domains may be the one refused.
    const refused = /Hostname '([^']+)' already has externally managed DNS records/.exec(output)?.[1] ?? domain ?? "its domain";
    stop(
      `Cloudflare refused to serve the tracker on ${refused} [code: ${DNS_CONFLICT}]: the hostname has A, AAAA or CNAME records (made\n` +
        "since the deploy checked it, or not visible to its login), and Cloudflare does not replace them. The tracker was uploaded\n" +
        `but is not served there. Delete them (dash.cloudflare.com → the domain → DNS → Records) if nothing needs what they serve,\n` +
        "or choose another TRACKER_DOMAIN, then run `npm run deploy` again.",
    );
  }
  if (cronsRefused) stop(await cronLimitReport(otherFailures));
  stop(`wrangler deploy failed:\n${wranglerFailure(deployed)}`);
}

/**
 * What a deploy whose Cron Trigger Cloudflare refused (CRON_LIMIT) left, in words: the Worker and its other triggers are
 * in place (wrangler sets each trigger apart and reports the failed ones together, triggersDeploy), and the schedule is
 * the one before the deploy, since a refused PUT of a Worker's schedules changes none of them (cloudflare/workers-sdk
 * issue 15194). Without one, the hourly purge (worker/src/index.ts, `scheduled`; worker/src/db/retention.ts) is run by
 * the tracker's own traffic instead, once it is 2 hours overdue (purgeIfOverdue, after a queue batch of hits or the
 * extension's feed request), and while neither comes by the 12-hour timer each such run queues (runOverduePurge).
 * wrangler's own report is shown as well when it names other steps that failed.
 */
async function cronLimitReport(otherFailures) {
  const schedules = await api("GET", `${account}/workers/scripts/${NAME}/schedules`);
  const scheduled = schedules.ok && (schedules.result?.schedules?.length ?? 0) > 0;
  const fix = (what) =>
    `To fix it, delete ${what} no Worker needs (dash.cloudflare.com → Workers & Pages → that Worker → Settings →\n` +
    "Triggers → Cron Triggers; if that Worker is deployed with wrangler, remove it from its configuration too, or its next\n" +
    "deploy sets it again), or move the account to Workers Paid. Then run `npm run deploy` again.";
  const others =
    otherFailures.length > 0
      ? `\nwrangler also reports these steps as failed: ${otherFailures.join(", ")}.\n${wranglerFailure(deployed)}\n\n`
      : "";
  if (scheduled) {
    return (
      `${others}The tracker is deployed, and its hourly purge still runs on the schedule an earlier deploy set, but Cloudflare refused\n` +
      `to set it again [code: ${CRON_LIMIT}]: this account has more Cron Triggers than its plan allows, counted across all its Workers\n` +
      "(5 on Workers Free, 250 on Paid; those set before the limit stay), and while it has, Cloudflare refuses every change to\n" +
      "any of them, so every deploy will end like this until the account is within the limit.\n" +
      fix("Cron Triggers")
    );
  }
  const lead = otherFailures.length > 0 ? "The tracker was uploaded" : "The tracker is deployed";
  const state = schedules.ok ? "but without its hourly schedule" : "but may be without its hourly schedule";
  const working = otherFailures.length > 0 ? "" : "Tracking, links, the dashboard and notifications work as usual.\n";
  return (
    `${others}${lead}, ${state}: Cloudflare refused it [code: ${CRON_LIMIT}] because this account\n` +
    "already has as many Cron Triggers as its plan allows, counted across all its Workers (5 on Workers Free, 250 on Paid).\n" +
    "Until it has one, the tracker runs its retention purge from its own traffic instead, less punctually than hourly: once\n" +
    "2 hours have passed since the last run, after the next hit it stores or the next time the extension asks it for new\n" +
    "events (every minute while Gmail is open). While neither comes, a timer the last run queued runs it every 12 hours.\n" +
    "So opens, clicks, replies and bounces past each account's retention (90 days unless set otherwise), and an open's\n" +
    "network hash past its 7 days, may stay up to about 12 hours longer; a large backlog goes in smaller shares, minutes apart.\n" +
    `${working}${fix("a Cron Trigger")}`
  );
}

console.log(`\nDeployed.\n${nextSteps({ url: trackerUrl, registrationSecret: newSecrets.REGISTRATION_SECRET })}`);
const alsoServed = [
  ...domains.slice(1).map(({ hostname }) => `https://${hostname}`),
  ...(keepWorkersDev ? ["its workers.dev address"] : []),
];
if (alsoServed.length > 0) {
  console.log(
    `It stays on ${alsoServed.join(" and ")} as well: the pixels and links of emails already sent point there and keep working;\n` +
      "emails sent from now on use the address above once the extension's Tracker address is set to it.",
  );
}
