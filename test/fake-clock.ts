// Stand-ins that take a while on vitest's fake clock (vi.useFakeTimers), as a storage or network call does: calls made
// at once then overlap the same way however loaded the machine is, where a few real milliseconds may not.
import { vi } from "vitest";

/** What `pending` gives once every timer set, and every one those set in turn, has run on the fake clock. */
export async function settled<T>(pending: Promise<T>): Promise<T> {
  await vi.runAllTimersAsync();
  return pending;
}
