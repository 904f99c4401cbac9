// Opaque page cursors: a JSON tuple in base64url. A cursor that does not decode to the expected shape is answered
// with 400 (pageCursor).
import type { Context } from "hono";
import { base64UrlDecode, base64UrlEncode, utf8 } from "../../shared/encoding";
import { jsonError } from "./http";

type Shape = readonly ("s" | "n")[];
/** The tuple a shape decodes to: s a string, n a finite number. */
export type CursorValues<S extends Shape> = { -readonly [K in keyof S]: S[K] extends "s" ? string : number };

export function encodeCursor(values: readonly (string | number)[]): string {
  return base64UrlEncode(utf8(JSON.stringify(values)));
}

/** The tuple, if `text` decodes to an array of exactly `shape` (s: string, n: finite number). */
export function decodeCursor<const S extends Shape>(text: string, shape: S): CursorValues<S> | null {
  const bytes = base64UrlDecode(text);
  if (!bytes) return null;
  try {
    const values: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    if (!Array.isArray(values) || values.length !== shape.length) return null;
    const ok = values.every((v, i) => (shape[i] === "s" ? typeof v === "string" : typeof v === "number" && Number.isFinite(v)));
    return ok ? (values as CursorValues<S>) : null;
  } catch {
    return null;
  }
}

/**
 * The `cursor` query parameter decoded: `{ values }` (null when there is none), or `{ error }`, the 400 answer to
 * return for a cursor this endpoint did not issue.
 */
export function pageCursor<const S extends Shape>(c: Context, cursor: string | undefined, shape: S) {
  const values = cursor === undefined ? null : decodeCursor(cursor, shape);
  if (cursor !== undefined && values === null)
    return { error: jsonError(c, 400, "invalid query", [{ path: "cursor", message: "must be a cursor returned by this endpoint" }]) };
  return { values };
}
