import { COUNTED_LABELS } from "../../../shared/api";

/** D1 binds at most 100 parameters per statement; IN lists are split to stay under it. */
export const MAX_IN_LIST = 90;

/**
 * D1 queries one Worker invocation may make on the free plan: "Queries per Worker invocation (read subrequest
 * limits): 1000 (Workers Paid) / 50 (Free)" (developers.cloudflare.com/d1/platform/limits, as of 2026-04-21). We
 * count a statement run, or a whole batch, as one: the limit is the subrequest limit, and a binding call is one
 * subrequest (the page does not say so in as many words). workerd does not enforce it locally; the worker tests count
 * (countedCall in worker/test/helpers.ts). Work that grows with an account is split so no request comes near it.
 */
export const FREE_PLAN_D1_QUERIES = 50;

/**
 * The longest value, in bytes, one statement of ours binds. D1 takes a string or BLOB of at most 2,000,000 bytes
 * ("Maximum string, `BLOB` or table row size", developers.cloudflare.com/d1/platform/limits/, as quoted in public
 * project notes of 2026-10-07; the page's earlier versions said 1,000,000): under 1 MB, what both versions allow.
 * The local D1 of the tests takes far more (worker/test/faults.ts d1WithBoundValueLimit holds a test to D1's).
 */
export const MAX_BOUND_BYTES = 900_000;

export function chunked<T>(items: readonly T[], size = MAX_IN_LIST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** `count` numbered placeholders from `?first` on (`?4, ?5, ?6`): a list a statement uses more than once. */
export function numberedPlaceholders(count: number, first: number): string {
  return Array.from({ length: count }, (_, i) => `?${first + i}`).join(", ");
}

/** D1's own clock at write time, in ms: rows written one after another get non-decreasing values. */
export const SQL_NOW_MS = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/** The counted labels as an SQL list, for `label IN (${COUNTED_SQL})`. */
export const COUNTED_SQL = COUNTED_LABELS.map((label) => `'${label}'`).join(", ");
