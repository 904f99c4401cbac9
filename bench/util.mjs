// Small helpers shared by the benchmark sections: statistics, formatting, bundling TypeScript for Node, the API.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { ROOT } from "./servers.mjs";

export const CACHE = path.join(ROOT, ".cache", "bench");

export function median(values) {
  return percentile(values, 50);
}

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Three significant figures, without exponent notation. */
export function fmt(value) {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 4));
}

export function ratio(value, baseline) {
  return `${fmt(value / baseline)}x`;
}

/** Bundles a TypeScript entry for Node into .cache/bench and imports it. */
export async function importTs(entry, name, { alias = {}, platform = "node" } = {}) {
  mkdirSync(CACHE, { recursive: true });
  const outfile = path.join(CACHE, `${name}.mjs`);
  await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    format: "esm",
    platform,
    target: "node22",
    outfile,
    alias,
    logLevel: "warning",
  });
  return import(`${outfile}?v=${Date.now()}`);
}

/** Bundles a TypeScript entry into a browser IIFE and returns its source text. */
export async function bundleForBrowser(entry, { alias = {}, globalName } = {}) {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    format: "iife",
    globalName,
    platform: "browser",
    target: "chrome111",
    write: false,
    alias,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

/** A JSON request to the tracker's API; throws on a non-2xx answer. */
export async function api(url, method, pathname, { token, body } = {}) {
  const response = await fetch(`${url}${pathname}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${pathname} answered ${response.status}: ${text.slice(0, 500)}`);
  return { body: text ? JSON.parse(text) : null, headers: response.headers };
}

/** A new account: its API token and the signing key `mintTrackingId` takes. */
export async function createAccount(url) {
  const { body } = await api(url, "POST", "/api/accounts", { body: {} });
  return { token: body.apiToken, key: { accountId: body.accountId, keyId: body.signingKey.keyId, secret: body.signingKey.secret } };
}

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function eachLimit(items, concurrency, task) {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  });
  await Promise.all(workers);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Gmail-style legacy thread id (16 hex digits) for the i-th seeded thread. */
export function threadIdFor(i) {
  return (0x18f0000000000000n + BigInt(i)).toString(16);
}
