// Opaque page cursors: a JSON tuple in base64url. A cursor that does not decode to the expected shape is null,
// which the routes answer with 400.
import { base64UrlDecode, base64UrlEncode, utf8 } from "../../shared/encoding";

export function encodeCursor(values: readonly (string | number)[]): string {
  return base64UrlEncode(utf8(JSON.stringify(values)));
}

/** The tuple, if `text` decodes to an array of exactly `shape` (s: string, n: finite number). */
export function decodeCursor(text: string, shape: readonly ("s" | "n")[]): (string | number)[] | null {
  const bytes = base64UrlDecode(text);
  if (!bytes) return null;
  try {
    const values: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    if (!Array.isArray(values) || values.length !== shape.length) return null;
    const ok = values.every((v, i) => (shape[i] === "s" ? typeof v === "string" : typeof v === "number" && Number.isFinite(v)));
    return ok ? (values as (string | number)[]) : null;
  } catch {
    return null;
  }
}
