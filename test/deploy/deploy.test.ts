// The real `npm run deploy`, with the real pinned wrangler, against the local stand-in for Cloudflare's API
// (./cloudflare-api.ts says which of its behaviours come from Cloudflare's docs, which from wrangler's source, which
// from reports of what the real API answered, and which are assumed). Each deploy runs in a scratch copy of the project
// (its own wrangler.deploy.toml and migrations) that links to this checkout's node_modules, worker/src and shared/.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { type AccountState, newAccount, type RecordedRequest, type StandIn, startCloudflareApi } from "./cloudflare-api";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TOKEN = "stand-in-api-token";
/** The repository's migrations, each of which a first deploy applies. */
const MIGRATIONS = readdirSync(path.join(ROOT, "worker", "migrations")).filter((file) => file.endsWith(".sql"));
const scratch: string[] = [];
const standIns: StandIn[] = [];

afterAll(async () => {
  await Promise.all(standIns.map((standIn) => standIn.close()));
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function scratchProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "mailtracker-deploy-test-"));
  scratch.push(dir);
  for (const file of ["package.json", "wrangler.toml", "tsconfig.base.json", "tsconfig.json"])
    cpSync(path.join(ROOT, file), path.join(dir, file));
  cpSync(path.join(ROOT, "scripts"), path.join(dir, "scripts"), { recursive: true });
  mkdirSync(path.join(dir, "worker"));
  cpSync(path.join(ROOT, "worker", "migrations"), path.join(dir, "worker", "migrations"), { recursive: true });
  for (const link of ["node_modules", "shared", path.join("worker", "src")]) symlinkSync(path.join(ROOT, link), path.join(dir, link));
  return dir;
}

async function account(options: Parameters<typeof newAccount>[0] = {}) {
  const standIn = await startCloudflareApi(newAccount(options), TOKEN);
  standIns.push(standIn);
  return { standIn, project: scratchProject() };
}

type Run = { code: number | null; output: string; requests: RecordedRequest[] };

/** The variables that name an HTTP proxy, as wrangler and undici's EnvHttpProxyAgent read them. */
const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];

/**
 * This machine's environment without its HTTP proxy. The deploy under test talks only to the stand-ins, on 127.0.0.1,
 * which no proxy reaches for it: the deploy's own calls go through undici's EnvHttpProxyAgent when a proxy is named,
 * and it proxies 127.0.0.1 too unless NO_PROXY names it (scripts/cloudflare-api.mjs useProxyFromEnvironment). And
 * wrangler warns on every run that a proxy is named, in the output these tests read. The deploy behind a proxy is
 * scripts/cloudflare-api.test.ts's.
 */
function withoutProxy(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !PROXY_VARIABLES.includes(name)));
}

/**
 * `npm run deploy` in `project` against `standIn`; resolves with its exit code, output and the API requests it made.
 * `machine` is the environment it starts from, this process's unless a test says otherwise.
 */
function deploy(project: string, standIn: StandIn, env: Record<string, string> = {}, machine = process.env): Promise<Run> {
  const before = standIn.requests.length;
  return new Promise((resolve) => {
    // A command line through the shell, as a rep types it (npm is npm.cmd on Windows: scripts/start.mjs).
    const child = spawn("npm run --silent deploy", {
      shell: true,
      cwd: project,
      env: {
        ...withoutProxy(machine),
        CLOUDFLARE_API_BASE_URL: standIn.url,
        MAILTRACKER_DOH_URL: standIn.dohUrl,
        CLOUDFLARE_API_TOKEN: TOKEN,
        CLOUDFLARE_ACCOUNT_ID: standIn.account.accountId,
        XDG_CONFIG_HOME: path.join(project, ".config"),
        TRACKER_DOMAIN: "",
        ...env,
      },
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code) => resolve({ code, output, requests: standIn.requests.slice(before) }));
  });
}

/** A live website's record on the domain the tests deploy to. */
const WEBSITE = { zone_name: "acme-sales.com", name: "www.acme-sales.com", type: "CNAME", content: "acme-sales.pages.dev" };

/**
 * A login without DNS Read on the zone (wrangler login's OAuth grant, cloudflare/mcp#202, 2026-08-24): reading the
 * zone's DNS records is refused with code 10000, "Authentication error" (that issue: "deterministically rejected with
 * Cloudflare error 10000 (Authentication error)", read 2026-12-04; the HTTP status, 403, is assumed).
 */
function refuseDnsRecords(standIn: StandIn): void {
  const failure = { status: 403, code: 10000, message: "Authentication error" };
  standIn.account.failures.push({ method: "GET", path: /\/dns_records$/, failure });
}

const writes = (requests: RecordedRequest[]) => requests.filter((request) => request.method !== "GET");
const secretsOf = (state: AccountState) => new Map(state.scripts.get("mailtracker")?.secrets);
const appliedMigrations = (state: AccountState) =>
  (state.d1.get("mailtracker")?.db.prepare("SELECT name FROM d1_migrations ORDER BY id").all() ?? []).map((row) => row.name);

describe("npm run deploy against Cloudflare's API (local stand-in)", { timeout: 180_000 }, () => {
  it("on a fresh account: creates each resource once, applies every migration, deploys with both secrets and says how to connect", async () => {
    const { standIn, project } = await account();
    const run = await deploy(project, standIn);
    expect(run.code, run.output).toBe(0);
    const state = standIn.account;

    expect([...state.d1.keys()]).toEqual(["mailtracker"]);
    expect([...state.kv.values()].map((namespace) => namespace.title)).toEqual(["mailtracker-cache"]);
    expect([...state.queues.keys()].sort()).toEqual(["mailtracker-hits", "mailtracker-hits-dead"]);
    expect(appliedMigrations(state)).toEqual(MIGRATIONS.toSorted());
    expect(appliedMigrations(state)[0]).toBe("0001_initial.sql");

    const worker = state.scripts.get("mailtracker");
    expect(worker?.workersDev).toBe(true);
    expect(worker?.crons).toEqual(["23 * * * *"]);
    // Workers Logs off from the first upload: they would keep each request's URL, and some API URLs hold an address.
    expect(worker?.logs).toBe(false);
    // Built without esbuild's keep-names helper, which defined a `name` on every function it created (fourteen per
    // request in Hono's Context alone): wrangler.toml's keep_names = false.
    expect(worker?.mainModule).toContain("mailtracker:");
    expect(worker?.mainModule).not.toContain("__name(");
    const secrets = secretsOf(state);
    expect([...secrets.keys()].sort()).toEqual(["REGISTRATION_SECRET", "SIGNING_SECRET"]);
    expect(secrets.get("SIGNING_SECRET")).toMatch(/^[\w-]{43}$/);
    // The deployed binding points at the database and namespace that were created.
    expect(worker?.bindings).toContainEqual(expect.objectContaining({ type: "d1", name: "DB", id: state.d1.get("mailtracker")?.uuid }));
    expect(worker?.bindings).toContainEqual(
      expect.objectContaining({ type: "kv_namespace", name: "CACHE", namespace_id: [...state.kv.keys()][0] }),
    );
    // Both consumers are attached, the main queue's with its dead-letter queue.
    expect(state.queues.get("mailtracker-hits")?.consumers).toEqual([
      expect.objectContaining({ script: "mailtracker", dead_letter_queue: "mailtracker-hits-dead" }),
    ]);
    expect(state.queues.get("mailtracker-hits-dead")?.consumers).toEqual([expect.objectContaining({ script: "mailtracker" })]);

    // The end of the output: the URL, and the registration secret that is really set, with how to use it.
    expect(run.output).toContain("Your tracker: https://mailtracker.rep-acme.workers.dev");
    expect(run.output).toContain(`Registration secret (shown once, keep it somewhere safe): ${secrets.get("REGISTRATION_SECRET")}`);
    expect(run.output).toContain("extension's options");
    expect(run.output).not.toContain(secrets.get("SIGNING_SECRET"));
    expect(run.output.trim().split("\n").length).toBeLessThanOrEqual(14);
  });

  it("runs the same on a machine whose environment names an HTTP proxy, which cannot reach the stand-ins", async () => {
    const { standIn, project } = await account();
    // A proxy on a closed port, and a NO_PROXY of the machine's own that names no loopback address (wrangler names
    // 127.0.0.1 itself only when NO_PROXY is unset).
    const dead = "http://127.0.0.1:9";
    const run = await deploy(project, standIn, {}, { ...process.env, HTTP_PROXY: dead, https_proxy: dead, NO_PROXY: "example.com" });
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toContain("proxy");
    expect(run.output).toContain("Your tracker: https://mailtracker.rep-acme.workers.dev");
  });

  it("on an account that answers a missing Worker with code 10090: deploys with both secrets once the account's list of Workers lacks it", async () => {
    const { standIn, project } = await account();
    standIn.account.missingWorkerCode = 10090;
    const run = await deploy(project, standIn);
    expect(run.code, run.output).toBe(0);
    const secrets = secretsOf(standIn.account);
    expect([...secrets.keys()].sort()).toEqual(["REGISTRATION_SECRET", "SIGNING_SECRET"]);
    expect(run.output).toContain(`Registration secret (shown once, keep it somewhere safe): ${secrets.get("REGISTRATION_SECRET")}`);
    expect((await deploy(project, standIn)).code).toBe(0);
    expect(secretsOf(standIn.account)).toEqual(secrets);
  });

  it("stops and changes nothing when the tracker's secrets are answered with 10090 while the account lists the tracker", async () => {
    const { standIn, project } = await account();
    expect((await deploy(project, standIn)).code).toBe(0);
    const secretsBefore = secretsOf(standIn.account);
    const failure = { status: 404, code: 10090, message: "This Worker does not exist on your account." };
    standIn.account.failures.push({ method: "GET", path: /\/workers\/scripts\/mailtracker\/secrets$/, failure });

    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("yet lists a Worker named mailtracker");
    expect(run.output).toContain("signing secret of emails already sent stays as");
    expect(writes(run.requests)).toEqual([]);
    expect(secretsOf(standIn.account)).toEqual(secretsBefore);
  });

  it("on an account that answers 10090, stops and creates nothing when the list of Workers cannot be read", async () => {
    const { standIn, project } = await account();
    standIn.account.missingWorkerCode = 10090;
    const failure = { status: 500, code: 10013, message: "An unknown error has occurred" };
    standIn.account.failures.push({ method: "GET", path: /\/workers\/scripts$/, failure });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("or could not be asked for its list");
    expect(writes(run.requests)).toEqual([]);
  });

  it("on an account that answers 10090, a first upload Cloudflare refuses prints no registration secret, which was never stored", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"], subdomain: null });
    standIn.account.missingWorkerCode = 10090;
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("Cloudflare refused the tracker's first upload [code: 10063]");
    expect(run.output).not.toContain("Registration secret");
  });

  it("re-run: creates nothing, changes no secret, prints no new registration secret", async () => {
    const { standIn, project } = await account();
    expect((await deploy(project, standIn)).code).toBe(0);
    const secretsBefore = secretsOf(standIn.account);
    const run = await deploy(project, standIn);
    expect(run.code, run.output).toBe(0);

    const creations = writes(run.requests).filter((request) => /\/(d1\/database|storage\/kv\/namespaces|queues)$/.test(request.path));
    expect(creations).toEqual([]);
    expect(standIn.account.d1.size + standIn.account.kv.size + standIn.account.queues.size).toBe(4);
    expect(secretsOf(standIn.account)).toEqual(secretsBefore);
    const upload = run.requests.find(
      (request) => request.method === "POST" && request.path.endsWith("/workers/scripts/mailtracker/versions"),
    );
    expect(upload?.body).toContain('"keep_bindings":["secret_text","secret_key"]');
    expect(upload?.body).not.toContain('"type":"secret_text"');
    expect(run.output).not.toContain("Registration secret (shown once");
    expect(run.output).toContain("Your tracker: https://mailtracker.rep-acme.workers.dev");
  });

  it("with CLOUDFLARE_ENV set, in the shell or the project's .env, deploys the Worker whose secrets it checked, and a re-run keeps them", async () => {
    const { standIn, project } = await account();
    // wrangler loads .env itself, and without an [env.production] section deploys the top level as mailtracker-production.
    writeFileSync(path.join(project, ".env"), "CLOUDFLARE_ENV=production\n");
    const first = await deploy(project, standIn);
    expect(first.code, first.output).toBe(0);
    const secretsBefore = secretsOf(standIn.account);
    expect([...secretsBefore.keys()].sort()).toEqual(["REGISTRATION_SECRET", "SIGNING_SECRET"]);

    const again = await deploy(project, standIn, { CLOUDFLARE_ENV: "production" });
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain("CLOUDFLARE_ENV=production is not used: the tracker has one environment.");
    expect([...standIn.account.scripts.keys()]).toEqual(["mailtracker"]);
    expect(secretsOf(standIn.account)).toEqual(secretsBefore);
    expect(again.output).not.toContain("Registration secret (shown once");
  });

  it("deploys a Worker renamed in wrangler.toml under its own name, checking that Worker's secrets, and a re-run keeps them", async () => {
    const { standIn, project } = await account();
    const config = path.join(project, "wrangler.toml");
    writeFileSync(config, readFileSync(config, "utf8").replace(/^name = "mailtracker"$/m, 'name = "acme-tracker"'));
    expect((await deploy(project, standIn)).code).toBe(0);
    const secretsBefore = new Map(standIn.account.scripts.get("acme-tracker")?.secrets);
    expect([...secretsBefore.keys()].sort()).toEqual(["REGISTRATION_SECRET", "SIGNING_SECRET"]);

    const again = await deploy(project, standIn);
    expect(again.code, again.output).toBe(0);
    expect([...standIn.account.scripts.keys()]).toEqual(["acme-tracker"]);
    expect(new Map(standIn.account.scripts.get("acme-tracker")?.secrets)).toEqual(secretsBefore);
    expect(again.output).toContain("Your tracker: https://acme-tracker.rep-acme.workers.dev");
  });

  it("uses the account wrangler.toml names, as wrangler does, before CLOUDFLARE_ACCOUNT_ID or CF_ACCOUNT_ID and without asking", async () => {
    const { standIn, project } = await account();
    const team = { id: randomBytes(16).toString("hex"), name: "Sales team", member: true };
    standIn.account.otherAccounts.push(team);
    const config = path.join(project, "wrangler.toml");
    const text = readFileSync(config, "utf8");
    writeFileSync(config, text.replace(/^(name = .*)$/m, `$1\naccount_id = "${standIn.account.accountId}"`));
    // The stand-in serves the rep's account alone: a deploy that took the team's would fail at its first request there.
    const run = await deploy(project, standIn, { CLOUDFLARE_ACCOUNT_ID: team.id });
    expect(run.code, run.output).toBe(0);
    expect(standIn.account.scripts.has("mailtracker")).toBe(true);
    // Without account_id: CF_ACCOUNT_ID, wrangler's older name, is taken as CLOUDFLARE_ACCOUNT_ID is.
    writeFileSync(config, text);
    const older = await deploy(project, standIn, { CLOUDFLARE_ACCOUNT_ID: "", CF_ACCOUNT_ID: standIn.account.accountId });
    expect(older.code, older.output).toBe(0);
    expect(older.output).not.toContain("choose one with CLOUDFLARE_ACCOUNT_ID");
  });

  it("stops before creating anything when a Worker of the tracker's name is another project's, which wrangler would replace", async () => {
    const { standIn, project } = await account();
    standIn.account.scripts.set("mailtracker", {
      mainModule: "export default { fetch() { return new Response('the team wiki'); } };",
      secrets: new Map([["WIKI_TOKEN", "x"]]),
      deployedSecrets: new Map([["WIKI_TOKEN", "x"]]),
      latestDeployed: true,
      bindings: [],
      uploads: 1,
      crons: [],
      versionId: randomUUID(),
      workersDev: true,
      logs: true,
    });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("already has a Worker named mailtracker with no SIGNING_SECRET: another project's");
    expect(writes(run.requests)).toEqual([]);
    expect(standIn.account.scripts.get("mailtracker")?.uploads).toBe(1);
  });

  it("before the first deploy, stops at a D1 database of the tracker's name that another project made, and uses one an earlier run made", async () => {
    const { standIn, project } = await account();
    const foreign = new DatabaseSync(":memory:");
    foreign.exec(
      "CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO d1_migrations (name) VALUES ('0001_users.sql');",
    );
    foreign.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)");
    standIn.account.d1.set("mailtracker", { uuid: randomUUID(), name: "mailtracker", db: foreign });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "already has a D1 database named mailtracker that the tracker did not make (its tables: d1_migrations, users)",
    );
    expect(writes(run.requests).filter((request) => !request.path.endsWith("/query"))).toEqual([]);
    expect(foreign.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'messages'").get()).toEqual({ n: 0 });

    // The tracker's own database, from a first run whose first migration failed (D1's _cf_KV and wrangler's d1_migrations
    // alone, empty),
    // then from one that stopped after its migrations: used again.
    const failedFirst = new DatabaseSync(":memory:");
    failedFirst.exec("CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB)");
    failedFirst.exec("CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP)");
    standIn.account.d1.set("mailtracker", { uuid: randomUUID(), name: "mailtracker", db: failedFirst });
    const refused = { status: 400, code: 10021, message: "Uncaught Error: the Worker failed to start" };
    standIn.account.failures.push({ method: "PUT", path: /\/workers\/scripts\/mailtracker$/, failure: refused });
    expect((await deploy(project, standIn)).code).not.toBe(0);
    expect(appliedMigrations(standIn.account)).toEqual(MIGRATIONS);
    standIn.account.failures = [];
    const again = await deploy(project, standIn);
    expect(again.code, again.output).toBe(0);
    expect(standIn.account.d1.size).toBe(1);
  });

  it("without CLOUDFLARE_ACCOUNT_ID, deploys to the one account the login can use, chosen as wrangler chooses it", async () => {
    const { standIn, project } = await account();
    const other = (name: string, member: boolean) => ({ id: randomBytes(16).toString("hex"), name, member });
    // /accounts also lists an account the login is no member of: it is not a choice.
    standIn.account.otherAccounts.push(other("Former employer", false));
    const run = await deploy(project, standIn, { CLOUDFLARE_ACCOUNT_ID: "" });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("Your tracker: https://mailtracker.rep-acme.workers.dev");

    // A second account the login can use: it asks which, naming only those two.
    const team = other("Sales team", true);
    standIn.account.otherAccounts.push(team);
    const two = await deploy(project, standIn, { CLOUDFLARE_ACCOUNT_ID: "" });
    expect(two.code).not.toBe(0);
    expect(two.output).toContain("Your login can use 2 Cloudflare accounts; choose one with CLOUDFLARE_ACCOUNT_ID=<id>");
    expect(two.output).toContain(`${team.id}  Sales team`);
    expect(two.output).not.toContain("Former employer");
    expect(writes(two.requests)).toEqual([]);

    // An account's own API token may not read /memberships (code 9106, workers-sdk pull request 13858): /accounts alone.
    standIn.account.otherAccounts = [];
    standIn.account.failures.push({
      method: "GET",
      path: /^\/memberships$/,
      failure: { status: 400, code: 9106, message: "Authentication failed" },
    });
    const accountToken = await deploy(project, standIn, { CLOUDFLARE_ACCOUNT_ID: "" });
    expect(accountToken.code, accountToken.output).toBe(0);
  });

  it("serves the tracker on TRACKER_DOMAIN when its zone is on the account, naming the zone, also when it is pasted as an address", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "https://t.acme-sales.com/" });
    expect(run.code, run.output).toBe(0);
    expect(standIn.account.customDomains).toEqual([{ hostname: "t.acme-sales.com", service: "mailtracker", zone_name: "acme-sales.com" }]);
    // Cloudflare is not left to infer the zone, which it has refused (code 10082; the stand-in's Custom Domains).
    const records = run.requests.find((request) => request.method === "PUT" && request.path.endsWith("/domains/records"));
    expect(JSON.parse(records?.body ?? "{}").origins).toEqual([
      expect.objectContaining({ hostname: "t.acme-sales.com", zone_name: "acme-sales.com" }),
    ]);
    expect(standIn.account.scripts.get("mailtracker")?.workersDev).toBe(false);
    expect(run.output).toContain("Your tracker: https://t.acme-sales.com");

    // Deployed again: the hostname is the tracker's own Custom Domain (with its own DNS record), which is no conflict.
    const again = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(again.code, again.output).toBe(0);
    expect(standIn.account.customDomains).toEqual([{ hostname: "t.acme-sales.com", service: "mailtracker", zone_name: "acme-sales.com" }]);
  });

  it("moving a deployed tracker to TRACKER_DOMAIN keeps its workers.dev address on, where emails already sent point", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    expect((await deploy(project, standIn)).code).toBe(0);
    expect(standIn.account.scripts.get("mailtracker")?.workersDev).toBe(true);

    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code, run.output).toBe(0);
    expect(standIn.account.customDomains).toEqual([{ hostname: "t.acme-sales.com", service: "mailtracker", zone_name: "acme-sales.com" }]);
    expect(standIn.account.scripts.get("mailtracker")?.workersDev).toBe(true);
    expect(run.output).toContain("Your tracker: https://t.acme-sales.com");
    expect(run.output).toContain("It stays on its workers.dev address as well");
  });

  it("moving the tracker to another TRACKER_DOMAIN keeps the first on, where emails already sent point; a deploy without TRACKER_DOMAIN keeps both", async () => {
    // An account with no workers.dev subdomain whose first upload Cloudflare accepts (as maillab/cloud-mail issue 476's,
    // 2026-07-04): a tracker on its own domains needs none.
    const { standIn, project } = await account({ zones: ["acme-sales.com"], subdomain: null });
    standIn.account.firstUploadNeedsSubdomain = false;
    expect((await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" })).code).toBe(0);
    const hostnames = () => standIn.account.customDomains.map((domain) => domain.hostname).sort();

    const moved = await deploy(project, standIn, { TRACKER_DOMAIN: "t2.acme-sales.com" });
    expect(moved.code, moved.output).toBe(0);
    expect(hostnames()).toEqual(["t.acme-sales.com", "t2.acme-sales.com"]);
    // The domain kept from the earlier deploy names its zone too, from the listing of the tracker's Custom Domains.
    const records = moved.requests.find((request) => request.method === "PUT" && request.path.endsWith("/domains/records"));
    expect(JSON.parse(records?.body ?? "{}").origins.map((origin: { zone_name?: string }) => origin.zone_name)).toEqual([
      "acme-sales.com",
      "acme-sales.com",
    ]);
    expect(moved.output).toContain("Your tracker: https://t2.acme-sales.com");
    expect(moved.output).toContain("It stays on https://t.acme-sales.com as well");

    // The deploy of an update, TRACKER_DOMAIN forgotten: served where it was, and no workers.dev address turned on.
    const update = await deploy(project, standIn);
    expect(update.code, update.output).toBe(0);
    expect(hostnames()).toEqual(["t.acme-sales.com", "t2.acme-sales.com"]);
    expect(standIn.account.scripts.get("mailtracker")?.workersDev).toBe(false);
    expect(update.output).not.toContain("workers.dev");
    expect(update.output).toMatch(/Your tracker: https:\/\/t2?\.acme-sales\.com/);
  });

  it("stops before creating anything when TRACKER_DOMAIN has a DNS record, on which Cloudflare refuses a Custom Domain", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const website = { ...WEBSITE };
    standIn.account.dnsRecords.push(website);
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "www.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("TRACKER_DOMAIN=www.acme-sales.com already has DNS records, and Cloudflare does not put a Worker");
    expect(run.output).toContain("CNAME www.acme-sales.com acme-sales.pages.dev");
    expect(run.output).toContain("Nothing was created.");
    expect(writes(run.requests)).toEqual([]);
    expect(standIn.account.dnsRecords).toEqual([website]);
  });

  it("says which records to delete when Cloudflare refuses the Custom Domain after the upload for a record made since the check", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const website = { ...WEBSITE, name: "t.acme-sales.com" };
    // Someone adds a record for the name while wrangler uploads: the check saw none, and wrangler's override does not help.
    standIn.account.beforeRequest = (method, path) => {
      if (method === "PUT" && path.endsWith("/domains/records") && !standIn.account.dnsRecords.includes(website)) {
        standIn.account.dnsRecords.push(website);
      }
    };
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("Cloudflare refused to serve the tracker on t.acme-sales.com [code: 100117]");
    expect(run.output).toContain("Cloudflare does not replace them");
    expect(run.output).toContain("then run `npm run deploy` again");
    expect(run.output).not.toContain("\nDeployed.");
    // Refused, not replaced: the record stays, and the tracker is on no Custom Domain.
    expect(standIn.account.dnsRecords).toEqual([website]);
    expect(standIn.account.customDomains).toEqual([]);

    // The record deleted, the rerun serves the tracker there.
    standIn.account.beforeRequest = undefined;
    standIn.account.dnsRecords = [];
    const rerun = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(rerun.code, rerun.output).toBe(0);
    expect(standIn.account.customDomains.map((domain) => domain.hostname)).toEqual(["t.acme-sales.com"]);
  });

  it("goes on when TRACKER_DOMAIN has only records a Custom Domain leaves in place (MX, TXT), and keeps them; a delegated name stops it", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const mail = [
      { zone_name: "acme-sales.com", name: "t.acme-sales.com", type: "MX", content: "mx.mailprovider.example" },
      { zone_name: "acme-sales.com", name: "t.acme-sales.com", type: "TXT", content: "v=spf1 include:mailprovider.example ~all" },
    ];
    // An NS record below the apex hands the name to other nameservers, which a Custom Domain cannot share it with.
    const delegated = { zone_name: "acme-sales.com", name: "eu.acme-sales.com", type: "NS", content: "ns1.other-dns.example" };
    standIn.account.dnsRecords.push(...mail, delegated);
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code, run.output).toBe(0);
    expect(standIn.account.customDomains).toEqual([{ hostname: "t.acme-sales.com", service: "mailtracker", zone_name: "acme-sales.com" }]);
    expect(standIn.account.dnsRecords).toEqual([...mail, delegated]);

    const stopped = await deploy(project, standIn, { TRACKER_DOMAIN: "eu.acme-sales.com" });
    expect(stopped.code).not.toBe(0);
    expect(stopped.output).toContain("TRACKER_DOMAIN=eu.acme-sales.com already has DNS records");
    expect(stopped.output).toContain("NS eu.acme-sales.com ns1.other-dns.example");
    expect(writes(stopped.requests)).toEqual([]);
  });

  it("asks public DNS when the login cannot read TRACKER_DOMAIN's DNS records: a name that serves something stops it", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    refuseDnsRecords(standIn);
    standIn.account.dnsRecords.push({ ...WEBSITE });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "www.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("TRACKER_DOMAIN=www.acme-sales.com already has DNS records");
    // The website's record is proxied: public DNS answers Cloudflare's addresses, not its CNAME.
    expect(run.output).toContain("A www.acme-sales.com 104.21.48.1");
    expect(run.output).not.toMatch(/at .*\.(m?js|ts):\d+/); // no stack trace
    expect(writes(run.requests)).toEqual([]);
    // A name public DNS does not know: the deploy goes on, and the tracker is served there.
    const unused = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(unused.code, unused.output).toBe(0);
    expect(standIn.account.customDomains.map((domain) => domain.hostname)).toEqual(["t.acme-sales.com"]);
  });

  it("does not take a wildcard's answer in public DNS for records of TRACKER_DOMAIN's own: it says so, where the zone's records decide", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const wildcard = { zone_name: "acme-sales.com", name: "*.acme-sales.com", type: "A", content: "192.0.2.1", proxied: false };
    standIn.account.dnsRecords.push(wildcard, { ...WEBSITE });
    refuseDnsRecords(standIn);
    // Public DNS answers t.acme-sales.com with the wildcard's address, as it answers any name: it cannot tell.
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("public DNS answers it as it answers any name under acme-sales.com (a wildcard record");
    expect(run.output).toContain("Zone → DNS → Read");
    expect(run.output).not.toContain("already has DNS records");
    expect(writes(run.requests)).toEqual([]);
    // A name with a record of its own answers otherwise: that record stops it, as without a wildcard.
    const website = await deploy(project, standIn, { TRACKER_DOMAIN: "www.acme-sales.com" });
    expect(website.code).not.toBe(0);
    expect(website.output).toContain("TRACKER_DOMAIN=www.acme-sales.com already has DNS records");
    expect(writes(website.requests)).toEqual([]);
    // Unless both are proxied: then both answer Cloudflare's addresses, and public DNS cannot tell the website apart.
    wildcard.proxied = true;
    const proxied = await deploy(project, standIn, { TRACKER_DOMAIN: "www.acme-sales.com" });
    expect(proxied.code).not.toBe(0);
    expect(proxied.output).toContain("public DNS answers it as it answers any name under acme-sales.com");
    expect(writes(proxied.requests)).toEqual([]);
    // A login that reads the zone's records sees that t.acme-sales.com has none: the tracker is served there, and the
    // wildcard still answers every other name.
    standIn.account.failures = [];
    const readable = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(readable.code, readable.output).toBe(0);
    expect(standIn.account.customDomains.map((domain) => domain.hostname)).toEqual(["t.acme-sales.com"]);
    expect(standIn.account.dnsRecords).toEqual([wildcard, WEBSITE]);
  });

  it("stops before creating anything when neither the DNS records nor public DNS can be read, saying which permission helps", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    refuseDnsRecords(standIn);
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com", MAILTRACKER_DOH_URL: `${standIn.url}/no-such-dns` });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("Could not check that t.acme-sales.com is unused");
    expect(run.output).toContain("Zone → DNS → Read");
    expect(run.output).not.toMatch(/at .*\.(m?js|ts):\d+/); // no stack trace
    expect(writes(run.requests)).toEqual([]);
  });

  it("stops before creating anything when TRACKER_DOMAIN is another Worker's Custom Domain", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const other = { hostname: "t.acme-sales.com", service: "link-shortener", zone_name: "acme-sales.com" };
    standIn.account.customDomains.push(other);
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('TRACKER_DOMAIN=t.acme-sales.com already serves the Worker "link-shortener"');
    expect(run.output).toContain("Nothing was created.");
    expect(writes(run.requests)).toEqual([]);
    expect(standIn.account.customDomains).toEqual([other]);
  });

  it("refuses a TRACKER_DOMAIN that is not a hostname in one line, before asking Cloudflare anything", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com/track" });
    expect(run.code).not.toBe(0);
    expect(run.output.trim().split("\n")).toEqual([
      "TRACKER_DOMAIN=t.acme-sales.com/track is not a hostname: set it to one like t.example.com (no path, no port). Nothing was created.",
    ]);
    expect(run.requests).toEqual([]);
  });

  it("stops before creating anything when TRACKER_DOMAIN's zone is not on the account", async () => {
    const { standIn, project } = await account({ zones: ["other.com"] });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("TRACKER_DOMAIN=t.acme-sales.com: no zone for it on this Cloudflare account");
    expect(run.output).toContain("Nothing was created.");
    expect(writes(run.requests)).toEqual([]);
  });

  it("stops before creating anything when TRACKER_DOMAIN's zone is not active yet, saying which nameservers to set", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    // Added to the account, its nameservers not changed yet.
    standIn.account.zones.set("acme-sales.com", { id: "0123456789abcdef0123456789abcdef", status: "pending" });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("its zone acme-sales.com is not active on Cloudflare yet (status: pending)");
    expect(run.output).toContain("set its nameservers to ada.ns.cloudflare.com and bob.ns.cloudflare.com");
    expect(run.output).toContain("Nothing was created.");
    expect(run.output).not.toMatch(/at .*\.(m?js|ts):\d+/); // no stack trace
    expect(writes(run.requests)).toEqual([]);
  });

  it("when Cloudflare refuses the first upload to TRACKER_DOMAIN for want of a workers.dev subdomain, says what to do and keeps what it created", async () => {
    // A new account: no workers.dev subdomain, and its first Worker refused until it has one (cloudflare-api.ts).
    const { standIn, project } = await account({ zones: ["acme-sales.com"], subdomain: null });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(standIn.account.scripts.has("mailtracker")).toBe(false);
    expect(run.output).toContain("Cloudflare refused the tracker's first upload [code: 10063]");
    expect(run.output).toContain("no workers.dev subdomain yet");
    expect(run.output).toContain(`https://dash.cloudflare.com/${standIn.account.accountId}/workers/onboarding`);
    expect(run.output).toContain("what was created is kept");
    expect(run.output).not.toContain("Registration secret");
    expect(run.output).not.toMatch(/at .*\.(m?js|ts):\d+/); // no stack trace

    // Registered (as the dashboard does): the rerun uses what the first run created and deploys.
    standIn.account.subdomain = "rep-acme";
    const rerun = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(rerun.code, rerun.output).toBe(0);
    expect(standIn.account.d1.size + standIn.account.kv.size + standIn.account.queues.size).toBe(4);
    expect(standIn.account.customDomains.map((domain) => domain.hostname)).toEqual(["t.acme-sales.com"]);
    expect(rerun.output).toContain("Registration secret (shown once, keep it somewhere safe)");
  });

  it("stops before creating anything on an account without a workers.dev subdomain, saying what to do", async () => {
    const { standIn, project } = await account({ subdomain: null });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("has no workers.dev subdomain yet");
    expect(run.output).toContain(`https://dash.cloudflare.com/${standIn.account.accountId}/workers/onboarding`);
    expect(run.output).toContain("TRACKER_DOMAIN=");
    expect(run.output).not.toMatch(/at .*\.(m?js|ts):\d+/); // no stack trace
    expect(writes(run.requests)).toEqual([]);
  });

  // A 500 with code 10013 ("Error 10013 - Unexpected Error", HTTP 500: cloudflare-docs src/content/docs/workers/platform/
  // error-codes/10013.mdx, read 2026-12-04; the message is wrangler's own tests' mock, helpers/mock-workers-subdomain.ts,
  // where the docs now word it "An unexpected error occurred while processing your request…") and a 429 (code 971,
  // "Please wait and consider throttling your request speed": assumed from Cloudflare's error pages; no source found).
  for (const failure of [
    { status: 500, code: 10013, message: "An unknown error has occurred" },
    { status: 429, code: 971, message: "Please wait and consider throttling your request speed" },
  ]) {
    it(`stops and changes nothing when listing the secrets fails (${failure.status})`, async () => {
      const { standIn, project } = await account();
      expect((await deploy(project, standIn)).code).toBe(0);
      const secretsBefore = secretsOf(standIn.account);
      standIn.account.failures.push({ method: "GET", path: /\/workers\/scripts\/mailtracker\/secrets$/, failure });

      const run = await deploy(project, standIn);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(`Could not read the tracker's secrets (${failure.message} [code: ${failure.code}])`);
      expect(run.output).toContain("signing secret of emails already sent stays as it is");
      expect(writes(run.requests)).toEqual([]);
      expect(secretsOf(standIn.account)).toEqual(secretsBefore);
    });
  }

  it("when the deploy fails after its upload stored the new secrets, prints the registration secret, and a rerun keeps it", async () => {
    const { standIn, project } = await account();
    // The cron trigger is set after the upload [wrangler: triggersDeploy]; a 500 there fails the deploy.
    const failure = { status: 500, code: 10013, message: "An unknown error has occurred" };
    standIn.account.failures.push({ method: "PUT", path: /\/workers\/scripts\/mailtracker\/schedules$/, failure });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    const stored = secretsOf(standIn.account);
    expect([...stored.keys()].sort()).toEqual(["REGISTRATION_SECRET", "SIGNING_SECRET"]);
    expect(run.output).toContain("The deploy failed after its upload, which stored the new secrets");
    expect(run.output).toContain(`Registration secret (shown once, keep it somewhere safe): ${stored.get("REGISTRATION_SECRET")}`);
    expect(run.output).toContain("Your tracker: https://mailtracker.rep-acme.workers.dev");
    expect(run.output).toContain("wrangler deploy failed:");
    expect(run.output).not.toContain(stored.get("SIGNING_SECRET"));

    standIn.account.failures.length = 0;
    const rerun = await deploy(project, standIn);
    expect(rerun.code, rerun.output).toBe(0);
    expect(secretsOf(standIn.account)).toEqual(stored);
    expect(standIn.account.scripts.get("mailtracker")?.crons).toEqual(["23 * * * *"]);
  });

  it("when the deployment of an existing tracker's new version fails, its new secret is stored in that version only, and a rerun deploys it", async () => {
    const { standIn, project } = await account();
    expect((await deploy(project, standIn)).code).toBe(0);
    // REGISTRATION_SECRET deleted since (`wrangler secret delete` deploys a version without it): the deploy sets a new
    // one in the new version it uploads, and Cloudflare then fails to deploy that version.
    const worker = standIn.account.scripts.get("mailtracker");
    worker?.secrets.delete("REGISTRATION_SECRET");
    worker?.deployedSecrets.delete("REGISTRATION_SECRET");
    const failure = { status: 500, code: 10013, message: "An unknown error has occurred" };
    standIn.account.failures.push({ method: "POST", path: /\/workers\/scripts\/mailtracker\/deployments$/, failure });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    // Listed (the latest version's) but not yet deployed: the tracker runs without it until a deploy succeeds.
    const stored = secretsOf(standIn.account);
    expect(stored.get("REGISTRATION_SECRET")).toMatch(/^[\w-]{43}$/);
    expect(standIn.account.scripts.get("mailtracker")?.deployedSecrets.has("REGISTRATION_SECRET")).toBe(false);
    expect(run.output).toContain("The deploy failed after its upload, which stored the new secrets: run `npm run deploy` again to");
    expect(run.output).toContain(`Registration secret (shown once, keep it somewhere safe): ${stored.get("REGISTRATION_SECRET")}`);
    // Not "Connect:" now: the tracker that answers is the version without the secret, which would refuse it.
    expect(run.output).toContain("Connect once `npm run deploy` has run again and says Deployed:");
    expect(run.output).not.toContain("Connect: open");

    standIn.account.failures.length = 0;
    const rerun = await deploy(project, standIn);
    expect(rerun.code, rerun.output).toBe(0);
    expect(rerun.output).not.toContain("Registration secret (shown once");
    expect(secretsOf(standIn.account)).toEqual(stored);
    expect(standIn.account.scripts.get("mailtracker")?.deployedSecrets).toEqual(stored);
  });

  it("when the account's Cron Triggers are all taken, says in words that the tracker purges from its own traffic, less punctually, and how to fix it", async () => {
    const { standIn, project } = await account();
    // Workers Free allows 5 Cron Triggers per account, and the rep's other Workers have them all.
    standIn.account.cronTriggersElsewhere = 5;
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    // The upload went through, with its secrets; Cloudflare refused the schedule alone.
    const worker = standIn.account.scripts.get("mailtracker");
    expect(worker?.crons).toEqual([]);
    const stored = secretsOf(standIn.account);
    expect(run.output).toContain(`Registration secret (shown once, keep it somewhere safe): ${stored.get("REGISTRATION_SECRET")}`);
    expect(run.output).toContain("Your tracker: https://mailtracker.rep-acme.workers.dev");
    expect(run.output).toContain("The tracker is deployed, but without its hourly schedule");
    // Deployed, and a rerun would end the same way: the rep connects now.
    expect(run.output).toContain("Connect: open the extension's options");
    expect(run.output).toContain("Cron Triggers");
    expect(run.output).toContain("5 on Workers Free");
    expect(run.output).toContain("runs its retention purge from its own traffic instead, less punctually than hourly");
    expect(run.output).toContain("after the next hit it stores or the next time the extension asks it for new");
    expect(run.output).toContain("While neither comes, a timer the last run queued runs it every 12 hours");
    expect(run.output).toContain("may stay up to about 12 hours longer");
    expect(run.output).not.toContain("does not run");
    expect(run.output).not.toContain("only grows");
    expect(run.output).toContain("Workers & Pages");
    expect(run.output).toContain("Then run `npm run deploy` again");
    // wrangler's own report is not the last word: it names nothing else that failed.
    expect(run.output).not.toContain("Trigger configuration for");
    expect(run.output).not.toContain("wrangler deploy failed");

    // One of the other Workers' triggers deleted: the rerun sets the schedule and keeps the secrets.
    standIn.account.cronTriggersElsewhere = 4;
    const rerun = await deploy(project, standIn);
    expect(rerun.code, rerun.output).toBe(0);
    expect(standIn.account.scripts.get("mailtracker")?.crons).toEqual(["23 * * * *"]);
    expect(secretsOf(standIn.account)).toEqual(stored);
  });

  it("when the Cron Trigger is refused along with another step, shows wrangler's report of that step too", async () => {
    const { standIn, project } = await account({ zones: ["acme-sales.com"] });
    standIn.account.cronTriggersElsewhere = 5;
    const failure = { status: 500, code: 10013, message: "An unknown error has occurred" };
    standIn.account.failures.push({ method: "PUT", path: /\/workers\/scripts\/mailtracker\/domains\/records$/, failure });
    // Nor can the Worker's schedules be read afterwards: it does not claim to know that there is none.
    standIn.account.failures.push({ method: "GET", path: /\/workers\/scripts\/mailtracker\/schedules$/, failure });
    const run = await deploy(project, standIn, { TRACKER_DOMAIN: "t.acme-sales.com" });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("wrangler also reports these steps as failed: Custom domains.");
    expect(run.output).toContain("An unknown error has occurred [code: 10013]");
    expect(run.output).toContain("The tracker was uploaded, but may be without its hourly schedule");
    expect(run.output).not.toContain("The tracker is deployed");
    // Its Custom Domain failed too, so its address may not answer yet: connect once a deploy has gone through.
    expect(run.output).toContain("Connect once `npm run deploy` has run again and says Deployed:");
    expect(run.output).not.toContain("work as usual");
  });

  it("on an account above its Cron Triggers limit, which refuses every schedule change, says the tracker keeps its earlier schedule", async () => {
    const { standIn, project } = await account();
    expect((await deploy(project, standIn)).code).toBe(0);
    // Triggers from before the limit: 7 elsewhere, so Cloudflare refuses even the tracker's unchanged schedule.
    standIn.account.cronTriggersElsewhere = 7;
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(standIn.account.scripts.get("mailtracker")?.crons).toEqual(["23 * * * *"]);
    expect(run.output).toContain("its hourly purge still runs on the schedule an earlier deploy set");
    expect(run.output).toContain("this account has more Cron Triggers than its plan allows");
    expect(run.output).toContain("every deploy will end like this until the account is within the limit");
    expect(run.output).not.toContain("without its hourly schedule");
    expect(run.output).not.toContain("Registration secret (shown once");
  });

  it("when the upload itself fails, prints no registration secret, since none was stored", async () => {
    const { standIn, project } = await account();
    // Refused as the stand-in refuses a bad upload (code 10021); a 4xx is not retried [wrangler: retryOnAPIFailure
    // retries only 5xx and 429].
    const failure = { status: 400, code: 10021, message: "Uncaught Error: the Worker failed to start" };
    standIn.account.failures.push({ method: "PUT", path: /\/workers\/scripts\/mailtracker$/, failure });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(standIn.account.scripts.has("mailtracker")).toBe(false);
    expect(run.output).toContain("wrangler deploy failed:");
    expect(run.output).not.toContain("Registration secret");
  });

  it("a login refused the D1 databases (code 10000) stops naming the permission that step takes, and creates nothing", async () => {
    const { standIn, project } = await account();
    // What Cloudflare answers a token without the permission: code 10000, "Authentication error" (scripts/deploy.mjs,
    // AUTHENTICATION_ERROR; the HTTP status, 403, as there).
    standIn.account.failures.push({
      method: "GET",
      path: /\/d1\/database$/,
      failure: { status: 403, code: 10000, message: "Authentication error" },
    });
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "Could not list your D1 databases: Authentication error [code: 10000].\nThis step takes the permission Account → D1 → Edit: " +
        "add it to your API token (dash.cloudflare.com/profile/api-tokens). Nothing was created.",
    );
    expect(writes(run.requests)).toEqual([]);
  });

  it("on a D1 whose SQLite is older than 3.44 stops before any migration, says so in words and keeps the database", async () => {
    const { standIn, project } = await account();
    standIn.account.d1SqliteVersion = "3.40.1";
    const run = await deploy(project, standIn);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "The D1 database mailtracker runs an SQLite older than 3.44, and the tracker needs SQLite 3.44 or later: its SQL sorts inside aggregates\n" +
        '(json_group_array(… ORDER BY …)), which older SQLite refuses (near "ORDER": syntax error at offset 30: SQLITE_ERROR [code: 7500]).\n' +
        "Nothing was migrated or deployed; the database mailtracker is kept and a later run uses it.\n" +
        "Please report this, with this output, to the tracker's maintainers",
    );
    const tables = standIn.account.d1.get("mailtracker")?.db.prepare("SELECT name FROM sqlite_master WHERE name = 'd1_migrations'").all();
    expect(tables).toEqual([]);
    expect(run.requests.filter((request) => request.path.includes("/workers/scripts/") && request.method !== "GET")).toEqual([]);
    expect(standIn.account.scripts.size).toBe(0);

    // The same account once its D1 runs a current SQLite: the database made above is used, and the deploy goes on.
    standIn.account.d1SqliteVersion = null;
    const again = await deploy(project, standIn);
    expect(again.code, again.output).toBe(0);
    expect(standIn.account.d1.size).toBe(1);
    expect(appliedMigrations(standIn.account)).toEqual(MIGRATIONS.toSorted());
  });

  it("a check of the D1 database's SQLite that Cloudflare fails (5xx, 403) is said as such, not as an old SQLite", async () => {
    // A D1 failure of its own (HTTP 500, code 7500 [assumed]), and the login's refusal (code 10000, as above); each on a
    // new account, where the check is the first query of the database the deploy made.
    const failures = [
      { status: 500, code: 7500, message: "Internal error", said: "Internal error [code: 7500].\nNothing was migrated or deployed" },
      {
        status: 403,
        code: 10000,
        message: "Authentication error",
        said: "Authentication error [code: 10000].\nThis step takes the permission Account → D1 → Edit",
      },
    ];
    for (const { said, ...failure } of failures) {
      const { standIn, project } = await account();
      standIn.account.failures.push({ method: "POST", path: /\/d1\/database\/[^/]+\/query$/, failure });
      const run = await deploy(project, standIn);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(`Could not check which SQLite the D1 database mailtracker runs: ${said}`);
      expect(run.output).toContain("the database mailtracker is kept and a later run uses it. Run `npm run deploy` again.");
      expect(run.output).not.toContain("3.44");
      expect(standIn.account.d1.has("mailtracker")).toBe(true);
      expect(standIn.account.scripts.size).toBe(0);
    }
  });

  it("a migration that fails says that running the deploy again is safe, and a run after the fix applies only the rest", async () => {
    const { standIn, project } = await account();
    const migration = path.join(project, "worker", "migrations", "0099_deploy_test.sql");
    // Its first statement succeeds and its second fails: the transaction leaves neither.
    writeFileSync(migration, "CREATE TABLE deploy_test_marker (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n");
    const failed = await deploy(project, standIn);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain("Applying the migrations failed; nothing was deployed:");
    expect(failed.output).toContain("Running `npm run deploy` again is safe");
    expect(standIn.account.scripts.get("mailtracker")).toBeUndefined();
    expect(appliedMigrations(standIn.account)).toEqual(MIGRATIONS.toSorted());
    const tables = standIn.account.d1
      .get("mailtracker")
      ?.db.prepare("SELECT name FROM sqlite_master WHERE name = 'deploy_test_marker'")
      .all();
    expect(tables).toEqual([]);

    writeFileSync(migration, "CREATE TABLE deploy_test_marker (id INTEGER PRIMARY KEY);\n");
    const fixed = await deploy(project, standIn);
    expect(fixed.code, fixed.output).toBe(0);
    const applied = fixed.requests
      .filter((request) => request.path.endsWith("/query"))
      .map((request) => JSON.parse(request.body).sql as string)
      .filter((sql) => /INSERT INTO\s+"?d1_migrations/i.test(sql));
    expect(applied).toHaveLength(1);
    expect(applied[0]).toContain("0099_deploy_test.sql");
    expect(appliedMigrations(standIn.account).at(-1)).toBe("0099_deploy_test.sql");
  });

  it("finds the tracker's KV namespace past the first page of the account's namespaces, and creates none", async () => {
    const { standIn, project } = await account();
    expect((await deploy(project, standIn)).code).toBe(0);
    const ours = [...standIn.account.kv.values()].find((namespace) => namespace.title === "mailtracker-cache");
    if (!ours) throw new Error("the first deploy made no KV namespace");
    // 150 other namespaces listed before it: the deploy reads 100 a page.
    const others = Array.from({ length: 150 }, (_, i) => ({ id: randomBytes(16).toString("hex"), title: `other-project-${i}` }));
    standIn.account.kv = new Map([...others, ours].map((namespace) => [namespace.id, namespace]));

    const run = await deploy(project, standIn);
    expect(run.code, run.output).toBe(0);
    expect(run.requests.filter((request) => request.path.endsWith("/storage/kv/namespaces")).map((request) => request.query)).toEqual([
      "?per_page=100&page=1",
      "?per_page=100&page=2",
    ]);
    expect([...standIn.account.kv.values()].filter((namespace) => namespace.title === "mailtracker-cache")).toEqual([ours]);
  });

  it("after a new migration, applies only that one", async () => {
    const { standIn, project } = await account();
    expect((await deploy(project, standIn)).code).toBe(0);
    writeFileSync(
      path.join(project, "worker", "migrations", "0099_deploy_test.sql"),
      "CREATE TABLE deploy_test_marker (id INTEGER PRIMARY KEY);\n",
    );

    const run = await deploy(project, standIn);
    expect(run.code, run.output).toBe(0);
    const statements = run.requests
      .filter((request) => request.path.endsWith("/query"))
      .map((request) => JSON.parse(request.body).sql as string);
    const applied = statements.filter((sql) => /INSERT INTO\s+"?d1_migrations/i.test(sql));
    expect(applied).toHaveLength(1);
    expect(applied[0]).toContain("CREATE TABLE deploy_test_marker");
    expect(appliedMigrations(standIn.account)).toHaveLength(MIGRATIONS.length + 1);
    expect(appliedMigrations(standIn.account).at(-1)).toBe("0099_deploy_test.sql");
  });
});
