// Lengths of time in milliseconds: one definition for the extension, the tracker and their tests (test/durations.ts).
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
