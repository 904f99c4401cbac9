// Debug logging for the content script, off unless the "debug" option is on. Never throws.
let enabled = false;
const reported = new Set<string>();

export function setDebug(on: boolean): void {
  enabled = on;
}

export function debug(...args: unknown[]): void {
  if (enabled) console.debug("[mailtracker]", ...args);
}

/** Logs a problem once per key (a selector that stops matching would otherwise log on every mutation). */
export function debugOnce(key: string, ...args: unknown[]): void {
  if (!enabled || reported.has(key)) return;
  reported.add(key);
  console.warn("[mailtracker]", ...args);
}
