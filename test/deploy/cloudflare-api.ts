// A local stand-in for the parts of Cloudflare's API v4 that `npm run deploy` reaches, directly or through the pinned
// wrangler (4.155.0, which honours CLOUDFLARE_API_BASE_URL). Cloudflare cannot be reached from here, so this is a
// model, and each behaviour says where it comes from:
//   [docs]     Cloudflare's API reference (developers.cloudflare.com/api, read 2026-11-29) and Cloudflare's own API
//              client bundled in wrangler (cloudflare@5.2.0, resources/*: the same paths and shapes)
//   [wrangler] what wrangler 4.155.0's own code expects (node_modules/wrangler/wrangler-dist/cli.js, function named)
//   [observed] what the real API answered someone, quoted in a dated public report (named each time)
//   [assumed]  our guess where none of these says; kept as plain as possible
// Every answer uses Cloudflare's envelope {success, errors: [{code, message}], messages, result(, result_info)} [docs].
// Unknown routes answer HTTP 400 with two errors, 7003 "Could not route to <path>, perhaps your object identifier is
// invalid?" and 7000 "No route for that URI" [observed: cloudflare/cloudflare-go issue 118, 2017-03-14, "HTTP status
// 400" with both; JastinXyz/withcoding.me issue 1, 2022-08-16, the same pair; read 2026-12-04]. Every request is
// recorded so tests can assert what was (not) done.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { cutAsD1Remote } from "./d1-remote-cut";

export type RecordedRequest = { method: string; path: string; query: string; body: string };

type Failure = { status: number; code: number; message: string };

export type AccountState = {
  accountId: string;
  /** The account's workers.dev subdomain; null when never registered (a new account). */
  subdomain: string | null;
  /** Zones on the account, by name. A zone added to the account is "pending" until its nameservers are Cloudflare's. */
  zones: Map<string, { id: string; status: "active" | "pending" }>;
  d1: Map<string, { uuid: string; name: string; db: DatabaseSync }>;
  /**
   * The SQLite the account's D1 databases run, by its version; null for Node's own (node:sqlite, 3.51.3 on Node 22.23),
   * which runs all of the tracker's SQL, as workerd's D1 does (3.53.4). Which SQLite remote D1 runs is not published
   * (searched 2026-12-07: Cloudflare's D1 docs and release notes, issues and reports name none), nor can it be asked
   * (BUILD_DETAIL_FUNCTIONS). A version before 3.44.0 models an older one: a statement with an ORDER BY among an
   * aggregate's arguments fails (AGGREGATE_ORDER_BY).
   */
  d1SqliteVersion: string | null;
  kv: Map<string, { id: string; title: string }>;
  queues: Map<
    string,
    {
      queue_id: string;
      queue_name: string;
      consumers: { consumer_id: string; type: string; script: string; dead_letter_queue?: string; settings?: unknown }[];
    }
  >;
  /**
   * Whether Cloudflare refuses the upload of the account's first Worker while it has no workers.dev subdomain (see the
   * upload route): true on a new account, false on one like maillab/cloud-mail issue 476's.
   */
  firstUploadNeedsSubdomain: boolean;
  /**
   * Workers by name: the secrets of their latest version (name → value; what …/secrets lists and sets) and of the
   * version deployed, whether the latest is the one deployed, bindings, routes and main module's source.
   */
  scripts: Map<
    string,
    {
      mainModule: string | null;
      secrets: Map<string, string>;
      deployedSecrets: Map<string, string>;
      latestDeployed: boolean;
      bindings: Record<string, unknown>[];
      uploads: number;
      crons: string[];
      versionId: string;
      workersDev: boolean;
      /** Workers Logs (the Worker's `observability`), which keep each request's URL. */
      logs: boolean;
    }
  >;
  /**
   * Cron Triggers of the account's Workers that are not in `scripts` (other projects), and how many the plan allows
   * across all of them: 5 on Workers Free, 250 on Workers Paid [docs: "Number of Cron Triggers per account",
   * developers.cloudflare.com/workers/platform/limits/, read 2026-12-04].
   */
  cronTriggersElsewhere: number;
  cronTriggerLimit: number;
  customDomains: { hostname: string; service: string; zone_name: string }[];
  /**
   * DNS records made by hand (a website, mail), by zone name; a Custom Domain's own record is not kept here. An A, AAAA
   * or CNAME record is proxied unless `proxied` is false; other types (MX, TXT, NS) never are.
   */
  dnsRecords: { zone_name: string; name: string; type: string; content: string; proxied?: boolean }[];
  /** Other accounts /accounts lists, and whether the login is a member of each (/memberships). */
  otherAccounts: { id: string; name: string; member: boolean }[];
  /**
   * The code of the answer about a Worker the account does not have: 10007 "This Worker does not exist on your account."
   * [docs; wrangler: WORKER_NOT_FOUND_ERR_CODE, workerNotFoundErrorMessage], or 10090, a Worker's (legacy) environment
   * not found [wrangler: WORKER_LEGACY_ENVIRONMENT_NOT_FOUND_ERR_CODE, which isWorkerNotFoundError reads as a missing
   * Worker; which accounts get it, and its message, are not public: assumed, an account that used wrangler's legacy
   * environments, with 10007's message].
   */
  missingWorkerCode: 10007 | 10090;
  /** Answers forced for a route (method + path pattern), e.g. a failing secrets list. */
  failures: { method: string; path: RegExp; failure: Failure }[];
  /** Called before each API request is answered: what changes on the account while a deploy runs (a record added). */
  beforeRequest?: (method: string, path: string) => void;
};

export function newAccount(options: { subdomain?: string | null; zones?: string[] } = {}): AccountState {
  return {
    accountId: randomBytes(16).toString("hex"),
    subdomain: options.subdomain === undefined ? "rep-acme" : options.subdomain,
    zones: new Map((options.zones ?? []).map((name) => [name, { id: randomBytes(16).toString("hex"), status: "active" }])),
    d1: new Map(),
    d1SqliteVersion: null,
    kv: new Map(),
    queues: new Map(),
    firstUploadNeedsSubdomain: true,
    missingWorkerCode: 10007,
    scripts: new Map(),
    cronTriggersElsewhere: 0,
    cronTriggerLimit: 5,
    customDomains: [],
    dnsRecords: [],
    otherAccounts: [],
    failures: [],
  };
}

const envelope = (result: unknown, resultInfo?: Record<string, number>) => ({
  success: true,
  errors: [],
  messages: [],
  result,
  ...(resultInfo ? { result_info: resultInfo } : {}),
});
const errorEnvelope = (code: number, message: string) => ({ success: false, errors: [{ code, message }], messages: [], result: null });
/** The answer to a path the API has no route for, or with an identifier it cannot route (source at the top). */
const noRoute = (path: string) => ({
  success: false,
  errors: [
    { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` },
    { code: 7000, message: "No route for that URI" },
  ],
  messages: [],
  result: null,
});

/**
 * One page of a paged list, the one the query asks for: `page` (from 1, default 1) and `per_page` items, with
 * result_info naming both, `count` and `total_count` [docs: "List D1 Databases": page "minimum 1, default 1", per_page
 * "minimum 10, maximum 10000, default 1000", result_info {count, page, per_page, total_count};
 * developers.cloudflare.com/api/resources/d1/subresources/database/methods/list/ and
 * developers.cloudflare.com/api/operations/cloudflare-d1-list-databases, read 2026-12-06]. The lists Cloudflare's own
 * client pages this way are /accounts, /memberships, /zones, a zone's dns_records, D1 databases and KV namespaces
 * [wrangler: V4PagePaginationArray in the bundled cloudflare@5.2.0]; wrangler asks for the next page while
 * page × per_page < total_count [wrangler: fetchPagedListResult, hasMorePages]. `defaultPerPage` is the route's own
 * where its page says (D1's 1000), else 20 [assumed]; a per_page outside a route's range is not modelled (neither the
 * deploy nor wrangler sends one). `count` is this page's items and `total_count` all the items the filters kept
 * [assumed: the docs call count "Total number of results for the requested service" and total_count "Total results
 * available without any search parameters", which no caller here tells apart].
 */
function page(items: unknown[], url: URL, defaultPerPage = 20) {
  const number = Number(url.searchParams.get("page") ?? 1);
  const perPage = Number(url.searchParams.get("per_page") ?? defaultPerPage);
  const shown = items.slice((number - 1) * perPage, number * perPage);
  return envelope(shown, { page: number, per_page: perPage, count: shown.length, total_count: items.length });
}

/**
 * A list Cloudflare answers whole, whatever the query: queues, a queue's consumers, a Worker's secrets [wrangler:
 * SinglePage in the bundled cloudflare@5.2.0; docs: "List Queues -> SinglePage", developers.cloudflare.com/api/
 * resources/queues/methods/get/, read 2026-12-06]. Its result_info, one page of everything, is assumed.
 */
const singlePage = (items: unknown[]) =>
  envelope(items, { page: 1, per_page: Math.max(items.length, 20), count: items.length, total_count: items.length });

type Handler = (context: { match: [string, string, string]; url: URL; body: Buffer; headers: IncomingMessage["headers"] }) => {
  status?: number;
  json: unknown;
};

function routes(account: AccountState): [string, RegExp, Handler][] {
  const a = account.accountId;
  const accountPath = (rest: string) => new RegExp(`^/accounts/${a}${rest}$`);
  const notFound = (code: number, message: string) => ({ status: 404, json: errorEnvelope(code, message) });
  const workerNotFound = () => notFound(account.missingWorkerCode, "This Worker does not exist on your account.");
  const script = (name: string) => account.scripts.get(name);
  const queueByName = (name: string) => account.queues.get(name);
  const queueById = (id: string) => [...account.queues.values()].find((queue) => queue.queue_id === id);

  /**
   * An upload, as a new Worker (PUT …/scripts/{name}) or a new version of one (POST …/versions) [docs], multipart with
   * a "metadata" part. Bindings of type "inherit" copy the previous version's secret and fail (code 10021, note
   * "inherit binding '…' is invalid") when there is none [wrangler: handleMissingSecretsError reads exactly that note];
   * keep_bindings ["secret_text"] keeps the Worker's other secrets [wrangler: createWorkerUploadForm, keepSecrets].
   *
   * Secrets belong to a version: both kept and inherited ones are copied from the latest version, and …/secrets lists
   * the latest version's ("the existing secrets and config are copied from the latest version"; "`wrangler secret
   * list` will list for the latest version", `versions secret list` the deployed ones: wrangler 3.62.0's release notes,
   * cloudflare/workers-sdk pull request 5950, 2024-06-25, read 2026-12-04). So the upload is one request, and a refused
   * one leaves no version, and no secret, behind [assumed: no source says the API is atomic, but nothing else is sent
   * that could hold them]. A new Worker's upload creates it with the uploaded secrets and deploys it [observed: a first
   * `wrangler deploy --secrets-file` "succeeds — Worker created, secret uploaded with the version", cloudflare/
   * workers-sdk issue 14258, 2026-06-11]; a new version of an existing Worker is only its latest version, with its
   * secrets, until a deployment (below) deploys it: a deployment that fails leaves the new secrets listed but not
   * deployed [from the release notes above].
   */
  function upload(name: string, body: Buffer, headers: IncomingMessage["headers"], kind: "script" | "version") {
    const metadata = multipartPart(body, String(headers["content-type"]), "metadata");
    if (!metadata) return { status: 400, json: errorEnvelope(10021, "No metadata part in the upload") };
    const parsed = JSON.parse(metadata) as {
      main_module?: string;
      bindings: { type: string; name: string; text?: string }[];
      keep_bindings?: string[];
      observability?: { enabled: boolean };
    };
    const previous = script(name);
    // A new account's first Worker is refused while the account has no workers.dev subdomain, HTTP 403 [docs: "Error
    // 10063 - Workers.dev Subdomain Required", cloudflare-docs src/content/docs/workers/platform/error-codes/10063.mdx,
    // read 2026-12-04], with this message [observed: "Deploying a Worker for the first time on an account that has no
    // workers.dev subdomain failed with an opaque API error raised by the upload request itself", cloudflare/
    // workers-sdk pull request 14494, 2026-06-30; issue 9045, 2025-04-24]. wrangler 4.155.0 asks for one first only
    // when the deploy publishes to workers.dev (preUploadApiChecks), so a deploy to Custom Domains alone meets the
    // refusal. Not every account without one is refused: maillab/cloud-mail issue 476 (2026-07-04) shows "Uploaded
    // cloud-mail" on one (firstUploadNeedsSubdomain false).
    if (kind === "script" && !previous && account.subdomain === null && account.firstUploadNeedsSubdomain) {
      const message =
        "You need a workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu. Opening the Workers landing page for the first time will create a workers.dev subdomain automatically.";
      return { status: 403, json: errorEnvelope(10063, message) };
    }
    const secrets = new Map(parsed.keep_bindings?.includes("secret_text") ? previous?.secrets : []);
    const bindings: Record<string, unknown>[] = [];
    for (const binding of parsed.bindings) {
      if (binding.type === "secret_text") secrets.set(binding.name, binding.text ?? "");
      else if (binding.type !== "inherit") bindings.push(binding);
      else if (!previous?.secrets.has(binding.name)) {
        // An inherited non-secret binding (wrangler inherits bindings the last version had [wrangler: canInherit]).
        const inherited = previous?.bindings.find((candidate) => candidate.name === binding.name);
        if (!inherited) return { status: 400, json: errorEnvelope(10021, `inherit binding '${binding.name}' is invalid`) };
        bindings.push(inherited);
      }
    }
    const versionId = randomUUID();
    account.scripts.set(name, {
      // The main module is the part that metadata.main_module names [wrangler: createWorkerUploadForm].
      mainModule: parsed.main_module ? multipartPart(body, String(headers["content-type"]), parsed.main_module) : null,
      secrets,
      deployedSecrets: kind === "script" ? new Map(secrets) : new Map(previous?.deployedSecrets),
      latestDeployed: kind === "script",
      bindings,
      uploads: (previous?.uploads ?? 0) + 1,
      crons: previous?.crons ?? [],
      versionId,
      workersDev: previous?.workersDev ?? false,
      // wrangler puts the configuration's `observability` in an upload's metadata only when it is set [wrangler:
      // createWorkerUploadForm], and a Worker created without it has Workers Logs on ("All newly created Workers will
      // come with the observability setting enabled by default": docs, Workers Logs, updated 2026-10-02, read
      // 2026-12-05).
      logs: parsed.observability?.enabled ?? previous?.logs ?? true,
    });
    const etag = randomBytes(8).toString("hex");
    return kind === "script"
      ? { json: envelope({ id: name, etag, handlers: ["fetch", "queue", "scheduled"], deployment_id: versionId }) }
      : { json: envelope({ id: versionId, resources: { script: { etag } }, startup_time_ms: 5 }) };
  }

  return [
    // Token and account discovery: wrangler reads GET /accounts and GET /memberships when CLOUDFLARE_ACCOUNT_ID is
    // unset, and uses the accounts in both [wrangler 4.155.0: fetchAllAccounts; /accounts can list accounts "the active
    // token couldn't actually use", cloudflare/workers-sdk pull request 13770, 2026-05-01]; /user/tokens/verify is the
    // documented token check [docs].
    ["GET", /^\/user\/tokens\/verify$/, () => ({ json: envelope({ id: "token", status: "active" }) })],
    [
      "GET",
      /^\/accounts$/,
      ({ url }) => ({
        json: page([{ id: a, name: "Rep's account" }, ...account.otherAccounts.map(({ id, name }) => ({ id, name }))], url),
      }),
    ],
    [
      "GET",
      /^\/memberships$/,
      ({ url }) => ({
        json: page(
          [{ id: a, name: "Rep's account" }, ...account.otherAccounts.filter((other) => other.member)].map(({ id, name }) => ({
            id: `membership-${id}`,
            account: { id, name },
          })),
          url,
        ),
      }),
    ],
    // The login's user [docs: "User Details", GET /user, answering the user's `id` and details; developers.cloudflare.com/
    // api/node/resources/user/methods/get, read 2026-12-06]. Its `email` is what wrangler reads [wrangler: getEmail, for
    // whoami]; that page's list of fields does not show it, so it is assumed.
    ["GET", /^\/user$/, () => ({ json: envelope({ id: "user", email: "rep@example.com" }) })],

    // workers.dev subdomain: unregistered answers code 10007 [wrangler: getWorkersDevSubdomainInternal treats 10007 as
    // "no subdomain"; docs: GET /accounts/{id}/workers/subdomain].
    [
      "GET",
      accountPath("/workers/subdomain"),
      () =>
        account.subdomain === null
          ? notFound(10007, "workers.api.error.subdomain_not_found")
          : { json: envelope({ subdomain: account.subdomain }) },
    ],

    // Zones, filtered by name and account [docs: GET /zones?name=&account.id=]. Each has a status (initializing, pending,
    // active or moved) and name_servers, the nameservers Cloudflare assigned it [docs: Zone; developers.cloudflare.com/
    // api/resources/zones/methods/list, read 2026-12-02]; the two names here are made up.
    [
      "GET",
      /^\/zones$/,
      ({ url }) => {
        const name = url.searchParams.get("name");
        const zones = [...account.zones]
          .filter(([zone]) => !name || zone === name)
          .map(([zone, { id, status }]) => ({
            id,
            name: zone,
            account: { id: a },
            status,
            name_servers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
          }));
        return { json: page(zones, url) };
      },
    ],

    // A zone's DNS records, filtered by exact name [docs: GET /zones/{zone_id}/dns_records?name=, "DNS record name (or @
    // for the zone apex)"; developers.cloudflare.com/api/resources/dns/subresources/records/methods/list, read 2026-12-02].
    // A Custom Domain's own record is listed as AAAA 100:: [observed: "The API's /dns_records endpoint shows just the
    // AAAA" (100::) of a Workers Custom Domain, jezweb/vite-flare-starter issue 54, 2026-04-30; DNSControl's Cloudflare
    // provider docs tell users to keep AAAA("worker", "100::") for it, DNSControl/dnscontrol pull request 4907,
    // 2026-09-19; read 2026-12-04]. A zone id the API cannot route answers as an unknown route does, 7003 and 7000
    // [observed: the same sources as at the top, for /zones/<id>/dns_records; whether a well-formed id of another
    // account's zone answers so is assumed].
    [
      "GET",
      /^\/zones\/([0-9a-f]{32})\/dns_records$/,
      ({ match, url }) => {
        const zone = [...account.zones].find(([, { id }]) => id === match[1])?.[0];
        if (!zone) return { status: 400, json: noRoute(`/zones/${match[1]}/dns_records`) };
        const name = url.searchParams.get("name");
        const records = allRecords(account)
          .filter((record) => record.zone_name === zone && (!name || record.name === name))
          .map((record) => ({ id: randomBytes(16).toString("hex"), ...record, zone_id: match[1], proxied: isProxied(record) }));
        return { json: page(records, url) };
      },
    ],

    // D1 [docs: /accounts/{id}/d1/database]. Create answers the database with its uuid; a taken name is code 7502 and
    // an unknown database 7404 [wrangler: createD1Database, D1Handler.isConnectedToExistingResource].
    [
      "GET",
      accountPath("/d1/database"),
      ({ url }) => {
        const name = url.searchParams.get("name");
        return {
          json: page(
            [...account.d1.values()]
              .filter((db) => !name || db.name === name)
              .map(({ uuid, name }) => ({ uuid, name, version: "production" })),
            url,
            1000,
          ),
        };
      },
    ],
    [
      "POST",
      accountPath("/d1/database"),
      ({ body }) => {
        const { name } = JSON.parse(String(body));
        if (account.d1.has(name)) return { status: 400, json: errorEnvelope(7502, "A database with that name already exists") };
        const db = { uuid: randomUUID(), name, db: new DatabaseSync(":memory:") };
        // A new database is not empty: D1 keeps a table of its own in it, `_cf_KV`, which a listing of its tables shows
        // before any migration [documented: "The `_cf_KV` table is a reserved table used by D1's underlying storage
        // system. It cannot be queried", Cloudflare's D1 import guide, cloudflare/cloudflare-docs pull request 14812,
        // 2024-05-29, whose example listing shows `_cf_KV` beside `users`; observed: "a remote read-only catalog query
        // found only `_cf_KV`" on a new database, public project notes of 2026-09-25; its columns assumed].
        db.db.exec("CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB)");
        account.d1.set(name, db);
        return { json: envelope({ uuid: db.uuid, name, created_at: new Date().toISOString() }) };
      },
    ],
    [
      "GET",
      accountPath("/d1/database/([^/]+)"),
      // By uuid or by name: wrangler's getDatabaseInfoFromIdOrName passes either [wrangler].
      ({ match }) => {
        const db = [...account.d1.values()].find((candidate) => candidate.uuid === match[1] || candidate.name === match[1]);
        return db
          ? { json: envelope({ uuid: db.uuid, name: db.name, version: "production" }) }
          : notFound(7404, "The database could not be found");
      },
    ],
    [
      "POST",
      accountPath("/d1/database/([^/]+)/(query|raw)"),
      // One result per statement, each {results, success, meta} [docs: D1 query]. Multi-statement SQL (a migration and
      // its d1_migrations insert, which wrangler sends as one string to /query [wrangler: buildMigrationQuery; observed:
      // cloudflare/workers-sdk issue 15178, 2026-08-13, "migrations apply sends combined SQL to /query"]) runs as one
      // batch with one result [assumed: no report says how many results the real API answers for it; wrangler only
      // checks each success, and its own tests answer a migration's /query with one result: cloudflare/workers-sdk
      // packages/wrangler/src/__tests__/d1/migrate.test.ts, snapshot of 2026-08-22, read 2026-12-04].
      ({ match, body }) => {
        const db = [...account.d1.values()].find((candidate) => candidate.uuid === match[1]);
        if (!db) return notFound(7404, "The database could not be found");
        const { sql, params = [] } = JSON.parse(String(body));
        const meta = { duration: 0.1, changes: 0, rows_read: 0, rows_written: 0, last_row_id: 0, changed_db: false, size_after: 0 };
        const code = withoutStrings(sql);
        const unauthorized = BUILD_DETAIL_FUNCTIONS.exec(code);
        if (unauthorized) {
          const message = `not authorized to use function: ${unauthorized[1]} at offset ${unauthorized.index}: SQLITE_ERROR`;
          return { status: 400, json: errorEnvelope(7500, message) };
        }
        // Read at every statement: a test may change the account's SQLite between two (back to Node's own, null).
        const version = account.d1SqliteVersion ?? String(process.versions.sqlite);
        const refused = beforeAggregateOrderBy(version) ? AGGREGATE_ORDER_BY.exec(code) : null;
        if (refused) {
          const offset = refused.index + refused[0].length;
          const message = `near "${sql.slice(offset, offset + 5)}": syntax error at offset ${offset}: SQLITE_ERROR`;
          return { status: 400, json: errorEnvelope(7500, message) };
        }
        try {
          const statements = cutAsD1Remote(sql);
          if (statements.length > 1) {
            // Each piece run apart, all in one transaction (d1-remote-cut.ts says why and where from).
            db.db.exec("BEGIN");
            try {
              for (const statement of statements) db.db.exec(statement);
              db.db.exec("COMMIT");
            } catch (error) {
              db.db.exec("ROLLBACK");
              throw error;
            }
            return { json: envelope([{ results: [], success: true, meta: { ...meta, changed_db: true } }]) };
          }
          const rows = db.db.prepare(sql).all(...params);
          return { json: envelope([{ results: rows, success: true, meta }]) };
        } catch (error) {
          // A failing statement is HTTP 400 [assumed], code 7500 with SQLite's message and its result code [observed:
          // "statement too long: SQLITE_TOOBIG [code: 7500]" from `d1 migrations apply --remote`, cloudflare/workers-sdk
          // issue 6347, 2024-07-26; "incomplete input: SQLITE_ERROR", issue 15178, 2026-08-13; read 2026-12-04].
          return { status: 400, json: errorEnvelope(7500, `${(error as Error).message}: SQLITE_ERROR`) };
        }
      },
    ],

    // KV namespaces [docs: /accounts/{id}/storage/kv/namespaces]. A duplicate title is code 10014 [wrangler:
    // kvNamespaceCreateCommand turns 10014 into "A KV namespace with the title … already exists"].
    ["GET", accountPath("/storage/kv/namespaces"), ({ url }) => ({ json: page([...account.kv.values()], url) })],
    [
      "POST",
      accountPath("/storage/kv/namespaces"),
      ({ body }) => {
        const { title } = JSON.parse(String(body));
        if ([...account.kv.values()].some((ns) => ns.title === title)) {
          return { status: 400, json: errorEnvelope(10014, "A namespace with this account ID and title already exists.") };
        }
        const ns = { id: randomBytes(16).toString("hex"), title };
        account.kv.set(ns.id, ns);
        return { json: envelope(ns) };
      },
    ],

    // Queues [docs: /accounts/{id}/queues]. The list filters by repeated ?name= [wrangler: ensureQueuesExistByConfig];
    // a taken name is code 11009, "Queue name '<name>' is already taken. Please use a different name and try again."
    // [observed: quoted from wrangler's output by @cparkerwebm/webmonterey's changelog, in the release after 1.6.1 of 2026-09-12:
    // "Wrangler 4.129 says \"Queue name 'x' is already taken … [code: 11009]\"", and by other projects' tests of the
    // full sentence, found by find_string, read 2026-12-04; the queues docs' error list has no such code:
    // developers.cloudflare.com/queues/reference/error-codes/; the HTTP status, 400, is assumed].
    [
      "GET",
      accountPath("/queues"),
      ({ url }) => {
        const names = url.searchParams.getAll("name");
        return {
          json: singlePage(
            [...account.queues.values()].filter((queue) => names.length === 0 || names.includes(queue.queue_name)).map(publicQueue),
          ),
        };
      },
    ],
    [
      "POST",
      accountPath("/queues"),
      ({ body }) => {
        const { queue_name } = JSON.parse(String(body));
        if (account.queues.has(queue_name)) {
          const message = `Queue name '${queue_name}' is already taken. Please use a different name and try again.`;
          return { status: 400, json: errorEnvelope(11009, message) };
        }
        const queue = { queue_id: randomBytes(16).toString("hex"), queue_name, consumers: [] };
        account.queues.set(queue_name, queue);
        return { json: envelope(publicQueue(queue)) };
      },
    ],
    // A queue by id, and its consumers [docs: "Get Queue", "Get details about a specific queue",
    // developers.cloudflare.com/api/resources/queues/methods/get/; "List Queue Consumers", "Returns the consumers for a
    // Queue", a single page, developers.cloudflare.com/api/go/resources/queues/subresources/consumers/methods/list;
    // read 2026-12-06]; an unknown id is code 11000 [assumed, as at the other queue routes].
    [
      "GET",
      accountPath("/queues/([0-9a-f]{32})"),
      ({ match }) => {
        const queue = queueById(match[1]);
        return queue ? { json: envelope(publicQueue(queue)) } : notFound(11000, "Queue does not exist");
      },
    ],
    [
      "GET",
      accountPath("/queues/([0-9a-f]{32})/consumers"),
      ({ match }) => {
        const queue = queueById(match[1]);
        return queue ? { json: singlePage(queue.consumers) } : notFound(11000, "Queue does not exist");
      },
    ],
    [
      "POST",
      accountPath("/queues/([0-9a-f]{32})/consumers"),
      ({ match, body }) => {
        const queue = queueById(match[1]);
        if (!queue) return notFound(11000, "Queue does not exist");
        const consumer = JSON.parse(String(body));
        if (consumer.dead_letter_queue && !queueByName(consumer.dead_letter_queue))
          return notFound(11000, "Dead letter queue does not exist");
        // Requests name the Worker script_name, answers script, with type "worker" [docs: Queues consumers; wrangler:
        // resolveWorkerConsumerByName matches c.type === "worker" && c.script]; a second consumer for the same Worker
        // is refused with code 11004 "workers.api.error.consumer_exists" [observed: cloudflare/workers-sdk issue 5347,
        // 2024-03-21, read 2026-12-04; the HTTP status, 400, is assumed]; wrangler updates an existing one with PUT.
        if (queue.consumers.some((existing) => existing.script === consumer.script_name)) {
          return { status: 400, json: errorEnvelope(11004, "workers.api.error.consumer_exists") };
        }
        const added = {
          consumer_id: randomBytes(16).toString("hex"),
          type: consumer.type,
          script: consumer.script_name,
          dead_letter_queue: consumer.dead_letter_queue,
          settings: consumer.settings,
        };
        queue.consumers.push(added);
        return { json: envelope(added) };
      },
    ],
    [
      "PUT",
      accountPath("/queues/([0-9a-f]{32})/consumers/([0-9a-f]{32})"),
      ({ match, body }) => {
        const queue = queueById(match[1]);
        const consumer = queue?.consumers.find((candidate) => candidate.consumer_id === match[2]);
        if (!consumer) return notFound(11000, "Consumer does not exist");
        const { dead_letter_queue, settings } = JSON.parse(String(body));
        Object.assign(consumer, { dead_letter_queue, settings });
        return { json: envelope(consumer) };
      },
    ],

    // The account's Workers [docs: "List Workers", GET /accounts/{id}/workers/scripts; a Worker's name is its `id`].
    ["GET", accountPath("/workers/scripts"), () => ({ json: envelope([...account.scripts.keys()].map((id) => ({ id }))) })],

    // Worker secrets [docs: GET/PUT /accounts/{id}/workers/scripts/{name}/secrets], those of the latest version (see
    // upload() above). An unknown Worker is answered as `missingWorkerCode` says [docs; wrangler treats 10007
    // as "Worker not found" in secret put]. Setting one makes a new version with it and deploys it ("each secret put
    // redeploys", botiverse/hands pull request 234, 2026-07-10), so it is refused with code 10215 while the latest
    // version is not the deployed one [wrangler: VERSION_NOT_DEPLOYED_ERR_CODE, rewritten to "Secret edit failed. You
    // attempted to modify a secret, but the latest version of your Worker isn't currently deployed."; observed in that
    // pull request; the HTTP status, 400, and the API's own message are assumed].
    [
      "GET",
      accountPath("/workers/scripts/([^/]+)/secrets"),
      ({ match }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        return { json: singlePage([...found.secrets.keys()].map((name) => ({ name, type: "secret_text" }))) };
      },
    ],
    [
      "PUT",
      accountPath("/workers/scripts/([^/]+)/secrets"),
      ({ match, body }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        if (!found.latestDeployed) return { status: 400, json: errorEnvelope(10215, "latest is not deployed") };
        const { name, text } = JSON.parse(String(body));
        found.secrets.set(name, text);
        found.deployedSecrets.set(name, text);
        return { json: envelope({ name, type: "secret_text" }) };
      },
    ],
    // A Worker's service record; unknown is code 10007, which wrangler reads as "first deploy" [wrangler:
    // isWorkerNotFoundError, WORKER_NOT_FOUND_ERR_CODE = 10007]. last_deployed_from "wrangler" asks no questions.
    [
      "GET",
      accountPath("/workers/services/([^/]+)"),
      ({ match }) =>
        script(match[1])
          ? {
              json: envelope({
                id: match[1],
                default_environment: {
                  environment: "production",
                  script: { id: match[1], tag: "t", tags: [], last_deployed_from: "wrangler" },
                },
              }),
            }
          : workerNotFound(),
    ],
    // A Worker's settings, its bindings among them [docs: "Get Settings", GET …/workers/scripts/{script_name}/settings,
    // "Get metadata and config, such as bindings or usage model", developers.cloudflare.com/api/resources/workers/
    // subresources/scripts/subresources/script_and_version_settings, read 2026-12-06; wrangler: getSettings, read by
    // collectPendingResources for the bindings an existing Worker already has].
    [
      "GET",
      accountPath("/workers/scripts/([^/]+)/settings"),
      ({ match }) => {
        const found = script(match[1]);
        return found ? { json: envelope({ bindings: found.bindings }) } : workerNotFound();
      },
    ],

    // A new Worker's upload (see upload() above, and there why it may be refused without a workers.dev subdomain).
    // Where it is not, enabling workers.dev (below) fails with code 10063 [assumed; wrangler 4.155.0 asks for a
    // subdomain before it tries: getWorkersDevSubdomain].
    ["PUT", accountPath("/workers/scripts/([^/]+)"), ({ match, body, headers }) => upload(match[1], body, headers, "script")],
    // An existing Worker gets a new version, then a deployment of it at 100%, then its non-versioned settings
    // [wrangler: the canUseNewVersionsDeploymentsApi branch of deploy; createDeployment; patchNonVersionedScriptSettings].
    ["POST", accountPath("/workers/scripts/([^/]+)/versions"), ({ match, body, headers }) => upload(match[1], body, headers, "version")],
    // A Worker's deployments, the one serving traffic first, each its versions by percentage [docs: "List Deployments",
    // "The first deployment in the list is the latest deployment actively serving traffic", result {deployments: [{id,
    // source, strategy, versions: [{percentage, version_id}], …}]}, developers.cloudflare.com/api/go/resources/workers/
    // subresources/scripts/subresources/deployments/, read 2026-12-06; wrangler: fetchLatestDeployments].
    [
      "GET",
      accountPath("/workers/scripts/([^/]+)/deployments"),
      ({ match }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        return {
          json: envelope({
            deployments: [
              {
                id: randomUUID(),
                source: "wrangler",
                strategy: "percentage",
                versions: [{ version_id: found.versionId, percentage: 100 }],
              },
            ],
          }),
        };
      },
    ],
    // Deploying the latest version makes its secrets the deployed ones (see upload() above).
    [
      "POST",
      accountPath("/workers/scripts/([^/]+)/deployments"),
      ({ match }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        found.deployedSecrets = new Map(found.secrets);
        found.latestDeployed = true;
        return { json: envelope({ id: randomUUID() }) };
      },
    ],
    [
      "PATCH",
      accountPath("/workers/scripts/([^/]+)/script-settings"),
      // An existing Worker's deploy sends its configuration's `observability` here, `{enabled: false}` when it has none
      // [wrangler: patchNonVersionedScriptSettings, after a new version's deployment].
      ({ match, body }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        const observability = (JSON.parse(String(body)) as { observability?: { enabled: boolean } }).observability;
        if (observability) found.logs = observability.enabled;
        return { json: envelope({}) };
      },
    ],
    // The Worker's workers.dev state: read from the Worker record, set through …/subdomain [wrangler: getWorkerSubdomain,
    // then POST {enabled, previews_enabled}].
    [
      "GET",
      accountPath("/workers/workers/([^/]+)"),
      ({ match }) => {
        const found = script(match[1]);
        return found
          ? { json: envelope({ id: match[1], name: match[1], subdomain: { enabled: found.workersDev, previews_enabled: false } }) }
          : workerNotFound();
      },
    ],
    // Whether a Worker is on workers.dev [docs: GET /accounts/{id}/workers/scripts/{name}/subdomain, answering {enabled,
    // previews_enabled}; developers.cloudflare.com/api/resources/workers/subresources/scripts/subresources/subdomain/
    // methods/get, read 2026-12-02; cloudflare@5.2.0 resources/workers/scripts/subdomain, bundled in wrangler].
    [
      "GET",
      accountPath("/workers/scripts/([^/]+)/subdomain"),
      ({ match }) => {
        const found = script(match[1]);
        return found ? { json: envelope({ enabled: found.workersDev, previews_enabled: false }) } : workerNotFound();
      },
    ],
    [
      "POST",
      accountPath("/workers/scripts/([^/]+)/subdomain"),
      ({ match, body }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        const { enabled } = JSON.parse(String(body));
        // HTTP 403 [docs: Error 10063, as at the upload route]; the message is assumed.
        if (enabled && account.subdomain === null)
          return {
            status: 403,
            json: errorEnvelope(10063, "You need to register a workers.dev subdomain before publishing to workers.dev"),
          };
        found.workersDev = Boolean(enabled);
        return { json: envelope({ enabled: found.workersDev, previews_enabled: false }) };
      },
    ],
    // A Worker's Cron Triggers: GET lists them, PUT replaces them all, each answering {schedules: [{cron, created_on,
    // modified_on}]} [docs: developers.cloudflare.com/api/resources/workers/subresources/scripts/subresources/schedules/
    // methods/get; cloudflare@5.2.0 resources/workers/scripts/schedules, bundled in wrangler; wrangler: triggersDeploy,
    // "PUT will override previous schedules on this script"]. A PUT that would take the account past its plan's Cron
    // Triggers (all its Workers together) is refused with HTTP 400 and code 10072 [docs: "Error 10072 - Cron Trigger
    // Limit Reached", cloudflare-docs src/content/docs/workers/platform/error-codes/10072.mdx; DylanDDeng/bubbles-brain
    // pull request 71, 2026-07-19: "/schedules 返回 400 error 10072" on an account whose 5 were taken], and while the
    // account is already above it (triggers from before the limit), every PUT is refused, even one that removes some
    // [cloudflare/workers-sdk issue 15194, 2026-08-14, with the API's answer "10072: This account has reached the Workers
    // Free limit of 5 cron triggers per account."; chmonitor/chmonitor pull request 2866, 2026-08-11]. The refused PUT
    // leaves the Worker's schedules as they were [observed: in issue 15194 `PUT …/schedules` with [] "fails with error
    // 10072 instead of removing that Worker's existing schedules", and the account stays above its limit; read
    // 2026-12-04]. The message is that on Workers Free and the docs page's otherwise; the
    // message has changed over the years ("workers.api.error.too_many_crons [code: 10072]", workers-sdk issues 1633,
    // 2022-08-07, and 5998, 2024-06-08), the code has not.
    [
      "GET",
      accountPath("/workers/scripts/([^/]+)/schedules"),
      ({ match }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        return { json: envelope({ schedules: found.crons.map((cron) => ({ cron, created_on: null, modified_on: null })) }) };
      },
    ],
    [
      "PUT",
      accountPath("/workers/scripts/([^/]+)/schedules"),
      ({ match, body }) => {
        const found = script(match[1]);
        if (!found) return workerNotFound();
        const crons: string[] = JSON.parse(String(body)).map((schedule: { cron: string }) => schedule.cron);
        const elsewhere =
          account.cronTriggersElsewhere +
          [...account.scripts].reduce((sum, [name, other]) => (name === match[1] ? sum : sum + other.crons.length), 0);
        const limit = account.cronTriggerLimit;
        if (elsewhere + crons.length > limit || elsewhere + found.crons.length > limit) {
          const message =
            limit === 5
              ? "This account has reached the Workers Free limit of 5 cron triggers per account."
              : `Cron trigger limit reached: your account allows ${limit} cron triggers. Delete unused triggers or upgrade your plan.`;
          return { status: 400, json: errorEnvelope(10072, message) };
        }
        found.crons = crons;
        return { json: envelope({ schedules: found.crons.map((cron) => ({ cron, created_on: null, modified_on: null })) }) };
      },
    ],

    // The account's Custom Domains, filtered by hostname, service (the Worker) or zone [docs: GET
    // /accounts/{id}/workers/domains; developers.cloudflare.com/api/resources/workers/subresources/domains/methods/list,
    // read 2026-12-02].
    [
      "GET",
      accountPath("/workers/domains"),
      ({ url }) => {
        const filters = (["hostname", "service", "zone_name"] as const).map((key) => [key, url.searchParams.get(key)] as const);
        const domains = account.customDomains.filter((domain) => filters.every(([key, value]) => !value || domain[key] === value));
        return { json: envelope(domains.map((domain) => ({ ...domain, id: domain.hostname, environment: "production" }))) };
      },
    ],

    // Custom Domains, per Worker: a changeset preview, then PUT of the records [wrangler: publishCustomDomains; outside a
    // TTY it ignores a failing changeset and sends override_existing_origin and override_existing_dns_record]. With those,
    // the hostname is taken from another Worker, but a hostname with its own conflicting DNS records is still refused
    // (the PUT's comment below, which supersedes the error-codes page quoted next), and
    // the PUT's origins become the Worker's whole set (override_scope, changeset?replace_state=true): a Custom Domain left
    // out is detached [kentcdodds/kody pull request 1015, 2026-07-29: a deploy 'detached heykody.dev and deleted its DNS
    // record']. The conflicting records are the hostname's A, AAAA and CNAME records [docs: "Error 100117 - DNS Record
    // Conflict", HTTP 409, "The hostname has A, AAAA, or CNAME records that conflict with the custom domain
    // configuration", cloudflare-docs src/content/docs/workers/platform/error-codes/100117.mdx; the API's own message,
    // "Hostname 'example.com' already has externally managed DNS records (A, CNAME, etc). Either delete them, try a
    // different hostname, or use the option 'override_existing_dns_record' to override. [code: 100117]", cloudflare/
    // workers-sdk issue 9878, 2025-07-07]; others, such as MX and TXT, stay beside the Custom Domain's own record, as
    // they may beside any A or AAAA record ("A/AAAA records cannot exist on the same name as CNAME records", docs:
    // developers.cloudflare.com/api/resources/dns/subresources/records/methods/update/, read 2026-12-04; MX and TXT kept
    // beside the Custom Domain in the deploys that vm0-ai/vm0 pull request 33406 and others report]. NS records (a delegated name), which no other record may
    // share a name with (the same page), are not modelled: the deploy stops before on them. The changeset's conflicting
    // lists the hostnames with conflicting records [wrangler: asks "You already have DNS records that conflict" about
    // them in a TTY]. A hostname outside the account's zones is refused [docs: a Custom Domain's zone must be on the same
    // account; the answer is assumed to be "Error 100112 - Hostname Not in Zone", HTTP 400, "Hostname (hostname) does not
    // belong to zone (zone)", same folder, which the docs give for a hostname outside the zone named], and so is one in a
    // zone that is not active [docs: developers.cloudflare.com/workers/configuration/routing/custom-domains/, "an active
    // Cloudflare zone"; the answer is assumed: no source gives it. Its code, 100119, is one the docs' list does not use, so
    // that it reads as no documented answer; 100118, modelled here before, is "Cannot Change Worker" in that list].
    [
      "POST",
      accountPath("/workers/scripts/([^/]+)/domains/changeset"),
      ({ body }) => {
        const origins = JSON.parse(String(body)) as { hostname: string }[];
        const known = new Set(account.customDomains.map((domain) => domain.hostname));
        return {
          json: envelope({
            added: origins.filter((origin) => !known.has(origin.hostname)),
            removed: [],
            updated: [],
            conflicting: origins.filter((origin) => account.dnsRecords.some(conflictsAt(origin.hostname))),
          }),
        };
      },
    ],
    [
      "PUT",
      accountPath("/workers/scripts/([^/]+)/domains/records"),
      ({ match, body }) => {
        const { origins } = JSON.parse(String(body)) as { origins: { hostname: string; zone_name?: string; zone_id?: string }[] };
        const added = [];
        for (const { hostname, zone_name, zone_id } of origins) {
          // An origin that names no zone is refused [observed: "Cloudflare began rejecting inferred zones with `Can't
          // infer zone from route`", code 10082, Kilo-Org/cloud pull request 4031, 2026-06-15, read 2026-12-04; whether
          // every account is refused so is not said, and the HTTP status is assumed]. wrangler passes a route's zone_name
          // or zone_id on in the origin [wrangler: publishCustomDomains].
          if (zone_name === undefined && zone_id === undefined) {
            return { status: 400, json: errorEnvelope(10082, `Can't infer zone from route ${hostname}`) };
          }
          const named = [...account.zones].find(([name, { id }]) => name === zone_name || id === zone_id);
          const zone = named && (hostname === named[0] || hostname.endsWith(`.${named[0]}`)) ? named : undefined;
          if (!zone) {
            const message = `Hostname ${hostname} does not belong to zone ${hostname.slice(hostname.indexOf(".") + 1)}. Use a hostname from this zone and try again.`;
            return { status: 400, json: errorEnvelope(100112, message) };
          }
          if (zone[1].status !== "active") return { status: 400, json: errorEnvelope(100119, `The zone of '${hostname}' is not active`) };
          // Refused with or without override_existing_dns_record: the flag replaces only a record another Worker left,
          // which is not modelled (dnsRecords are made by hand or by other products) [observed: the flag sent and still
          // "HTTP 409, error 100117, `Hostname 'a.okou.io' already has externally managed DNS records (A, CNAME, etc).
          // Delete them first or try a different hostname.`", vm0-ai/vm0 pull request 33406, 2026-09-11, which cites a
          // maintainer's answer in cloudflare/workers-sdk issue 9878 that the option applies to another Worker's record;
          // the same refusal with wrangler's override sent is reported there by its opener, 2025-07-07; "You cannot create a
          // Custom Domain on a hostname with an existing CNAME DNS record", cloudflare-docs custom-domains.mdx at 077e0a3.
          // The error-codes page for 100117 still says the flag replaces them: the observed answers are followed here].
          if (account.dnsRecords.some(conflictsAt(hostname))) {
            const message = `Hostname '${hostname}' already has externally managed DNS records (A, CNAME, etc). Delete them first or try a different hostname.`;
            return { status: 409, json: errorEnvelope(100117, message) };
          }
          added.push({ hostname, service: match[1], zone_name: zone[0] });
        }
        const hostnames = new Set(added.map((domain) => domain.hostname));
        account.customDomains = [
          ...account.customDomains.filter((domain) => domain.service !== match[1] && !hostnames.has(domain.hostname)),
          ...added,
        ];
        return { json: envelope(added.map((domain) => ({ ...domain, id: domain.hostname, environment: "production" }))) };
      },
    ],
  ];
}

/**
 * Up to the ORDER of an ORDER BY among the arguments of one of SQLite's aggregates, through one level of parentheses
 * (the tracker's, json_group_array(json_array(…) ORDER BY …), has no more). SQLite took an aggregate's ORDER BY from
 * 3.44.0 on (sqlite.org/releaselog/3_44_0.html; sqlite.org/lang_aggfunc.html); before, a function's arguments were an
 * expression list (parse.y, `expr ::= id LP distinct exprlist RP`), so its parser stops at ORDER with its syntax error,
 * `near "%T": syntax error` (parse.y, %syntax_error). [observed, of SQLite itself: 3.40.1, Debian 12's sqlite3 and
 * Python's sqlite3 module, answered `near "ORDER": syntax error` to `SELECT json_group_array(column1 ORDER BY column1)
 * FROM (VALUES (2), (1))`, its CLI pointing at ORDER, run 2026-12-07.] D1 gives it with the token's offset, code 7500
 * [observed, D1 in workerd: `near "limit": syntax error at offset 205: SQLITE_ERROR`, cloudflare/workers-sdk issue
 * 10089, 2025-07-27; the remote API's wording assumed the same, and its HTTP status 400 as for the /query route's other
 * failing statements].
 */
const AGGREGATE_ORDER_BY =
  /\b(?:json_group_array|json_group_object|jsonb_group_array|jsonb_group_object|group_concat|string_agg|count|sum|total|avg|min|max)\s*\((?:[^()]|\([^()]*\))*?(?=\bORDER\s+BY\b)/i;

/**
 * The SQLite functions that tell of SQLite's build, which D1 refuses: workerd's authorizer allows a list of functions
 * and leaves these out, "These functions query SQLite internals and build details in a way we'd prefer not to reveal"
 * (ALLOWED_SQLITE_FUNCTIONS, cloudflare/workerd src/workerd/util/sqlite.c++, read 2026-12-07). [observed: wrangler's
 * local D1 answered `SELECT sqlite_version() AS v` with `not authorized to use function: sqlite_version at offset 7:
 * SQLITE_ERROR`, 2026-12-07; the remote API's wrapping assumed as for the route's other failing statements.] The
 * authorizer's other refusals are not modelled: nothing the deploy sends meets them.
 */
const BUILD_DETAIL_FUNCTIONS = /\b(sqlite_version|sqlite_source_id|sqlite_compileoption_get|sqlite_compileoption_used|sqlite_offset)\s*\(/i;

/** `sql` with its string literals' contents blanked, at the same offsets: a parenthesis or ORDER BY in one is no SQL. */
function withoutStrings(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'/g, (literal) => `'${" ".repeat(literal.length - 2)}'`);
}

/** Whether SQLite `version` (3.x.y) is older than 3.44.0, the first to take an aggregate's ORDER BY. */
function beforeAggregateOrderBy(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major < 3 || (major === 3 && minor < 44);
}

function publicQueue(queue: AccountState["queues"] extends Map<string, infer Q> ? Q : never) {
  return {
    queue_id: queue.queue_id,
    queue_name: queue.queue_name,
    consumers: queue.consumers,
    producers: [],
    created_on: "",
    modified_on: "",
  };
}

/** One named part of a multipart/form-data body (the upload's metadata JSON, the main module). */
function multipartPart(body: Buffer, contentType: string, name: string): string | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) return null;
  for (const part of body.toString("utf8").split(`--${boundary[1] ?? boundary[2]}`)) {
    const [head, ...rest] = part.split("\r\n\r\n");
    if (head?.includes(`name="${name}"`)) return rest.join("\r\n\r\n").replace(/\r\n$/, "");
  }
  return null;
}

/** The account's DNS records with each Custom Domain's own, AAAA 100:: (the source is at the dns_records route). */
function allRecords(account: AccountState): AccountState["dnsRecords"] {
  return [
    ...account.dnsRecords,
    ...account.customDomains.map((domain) => ({ zone_name: domain.zone_name, name: domain.hostname, type: "AAAA", content: "100::" })),
  ];
}

const ADDRESS_TYPES = ["A", "AAAA", "CNAME"];
/** Whether a record is one a Custom Domain on `hostname` conflicts with (the source is at the domains/records route). */
const conflictsAt = (hostname: string) => (record: { name: string; type: string }) =>
  record.name === hostname && ADDRESS_TYPES.includes(record.type);
const isProxied = (record: { type: string; proxied?: boolean }) => ADDRESS_TYPES.includes(record.type) && record.proxied !== false;

/**
 * The addresses every proxied name of a zone answers with, two of each family [docs: "For each proxied DNS record in
 * your zone, Cloudflare will transfer out two A and two AAAA records … the Cloudflare IP addresses used for proxying",
 * developers.cloudflare.com/dns/zone-setups/zone-transfers/cloudflare-as-primary/transfer-criteria/, read 2026-12-03;
 * these four are assumed, from cloudflare.com/ips' 104.16.0.0/13, 172.64.0.0/13 and 2606:4700::/32].
 */
const PROXY_ADDRESSES: Record<string, string[]> = {
  A: ["104.21.48.1", "172.67.160.1"],
  AAAA: ["2606:4700:3030::6815:3001", "2606:4700:3036::ac43:a001"],
};

function publicDnsAnswer(account: AccountState, query: URLSearchParams): unknown {
  const name = (query.get("name") ?? "").replace(/\.$/, "");
  const type = query.get("type") ?? "A";
  const numbers: Record<string, number> = { A: 1, CNAME: 5, AAAA: 28 };
  const all = allRecords(account);
  const records = all.filter((record) => record.name === name);
  if (records.length === 0) records.push(...wildcardFor(all, name));
  // A proxied record (a Custom Domain's too) answers the proxy's addresses, a proxied CNAME flattened to them [docs:
  // "Proxied records are flattened by default as they return Cloudflare anycast IPs", developers.cloudflare.com/dns/
  // cname-flattening/set-up-cname-flattening/, read 2026-12-03]; a DNS-only record answers its content, a CNAME as such.
  const proxied = records.some(isProxied) ? (PROXY_ADDRESSES[type] ?? []).map((content) => ({ name, type, content })) : [];
  const dnsOnly = records.filter((record) => !isProxied(record) && (record.type === type || record.type === "CNAME"));
  return {
    Status: records.length === 0 ? 3 : 0,
    Question: [{ name: `${name}.`, type: numbers[type] ?? 1 }],
    Answer: [...proxied, ...dnsOnly].map((record) => ({
      name: `${record.name}.`,
      type: numbers[record.type] ?? 1,
      TTL: 300,
      data: record.content,
    })),
  };
}

export type StandIn = { url: string; dohUrl: string; account: AccountState; requests: RecordedRequest[]; close: () => Promise<void> };

/** Serves `account` on 127.0.0.1 at a free port; the URL is what CLOUDFLARE_API_BASE_URL takes. */
export async function startCloudflareApi(account: AccountState, token: string): Promise<StandIn> {
  const requests: RecordedRequest[] = [];
  const table = routes(account);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://stand-in");
      const path = url.pathname.replace(/^\/client\/v4/, "");
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? "GET", path, query: url.search, body: body.toString("utf8") });
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      // Public DNS over HTTPS, JSON form (served here apart from the API, as cloudflare-dns.com is; no token): the
      // account's records and Custom Domains under their names (a wildcard's under the asked name), Status 0 NOERROR or
      // 3 NXDOMAIN, Answer's `type` by number (1 A, 5 CNAME, 28 AAAA) and `data` [docs: developers.cloudflare.com/1.1.1.1/
      // encryption/dns-over-https/make-api-requests/dns-json/, read 2026-12-02]. A DNS-only CNAME's target is not followed.
      if (url.pathname === "/dns-query") return send(200, publicDnsAnswer(account, url.searchParams));
      // A wrong or missing token is code 10000 "Authentication error" [docs; wrangler: getWorkersDevSubdomainInternal].
      if (req.headers.authorization !== `Bearer ${token}`) return send(403, errorEnvelope(10000, "Authentication error"));
      account.beforeRequest?.(req.method ?? "", path);
      const forced = account.failures.find((failure) => failure.method === req.method && failure.path.test(path));
      if (forced) return send(forced.failure.status, errorEnvelope(forced.failure.code, forced.failure.message));
      for (const [method, pattern, handler] of table) {
        const found = method === req.method ? pattern.exec(path) : null;
        if (found) {
          const match: [string, string, string] = [found[0], found[1] ?? "", found[2] ?? ""];
          const answer = handler({ match, url, body, headers: req.headers });
          return send(answer.status ?? 200, answer.json);
        }
      }
      send(400, noRoute(path));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    dohUrl: `http://127.0.0.1:${port}/dns-query`,
    account,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The records a wildcard answers `name` with, under `name`: those of `*.` the deepest existing name above it, if `name`
 * has no records and nothing below it [RFC 4592 §2.2.1 and §3.3.1, closest encloser; Cloudflare: "A wildcard record
 * applies only when no exact record exists at the queried name" and "a record *.example.com … would cover abc.example.com
 * as well as 123.abc.example.com, as long as there are no specific DNS records that would take precedence",
 * developers.cloudflare.com/dns/manage-dns-records/reference/wildcard-dns-records/, read 2026-12-03].
 */
function wildcardFor<R extends { name: string }>(records: R[], name: string): R[] {
  const exists = (at: string) => records.some((record) => record.name === at || record.name.endsWith(`.${at}`));
  if (exists(name)) return [];
  let encloser = name;
  do encloser = encloser.slice(encloser.indexOf(".") + 1);
  while (!exists(encloser) && encloser.includes("."));
  return records.filter((record) => record.name === `*.${encloser}`).map((record) => ({ ...record, name }));
}
