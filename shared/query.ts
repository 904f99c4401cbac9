// Query strings, for the extension's requests to the tracker and the dashboard's list keys.

/** `?a=1&b=x` from the defined values (non-empty strings, finite numbers), or "" when there are none. */
export function searchString(params: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if ((typeof value === "string" && value !== "") || (typeof value === "number" && Number.isFinite(value)))
      search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : "";
}
