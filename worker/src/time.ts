// Times as the API answers them: stored as epoch milliseconds, sent as ISO 8601 in UTC.

/** An ISO 8601 time for stored milliseconds; null when none is stored. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
