import { COUNTED_LABELS } from "../../../shared/api";

/** D1 binds at most 100 parameters per statement; IN lists are split to stay under it. */
export const MAX_IN_LIST = 90;

export function chunked<T>(items: readonly T[], size = MAX_IN_LIST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** D1's own clock at write time, in ms: rows written one after another get non-decreasing values. */
export const SQL_NOW_MS = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/** The counted labels as an SQL list, for `label IN (${COUNTED_SQL})`. */
export const COUNTED_SQL = COUNTED_LABELS.map((label) => `'${label}'`).join(", ");
