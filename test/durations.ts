// Lengths of time in milliseconds, as tests write their clocks: one definition for worker, extension and e2e tests.
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
