// Stand-ins that take a while on vitest's fake clock (vi.useFakeTimers), as a storage or network call does: calls made
// at once then overlap the same way however loaded the machine is, where a few real milliseconds may not.
import { vi } from "vitest";

/** What `pending` gives once every timer set, and every one those set in turn, has run on the fake clock. */
export async function settled<T>(pending: Promise<T>): Promise<T> {
  // Its failure is the caller's, given back below: not an unhandled rejection while the timers run.
  pending.catch(() => {});
  await vi.runAllTimersAsync();
  return pending;
}
