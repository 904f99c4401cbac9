// For unit tests: an in-memory stand-in for browser.storage.local with the same two calls (values are copied in
// and out, as the real storage serialises them), which also lists the keys of every write.
import type { KeyValueArea } from "./outbox";

export function memoryArea(): KeyValueArea & { data: Record<string, unknown>; writes: string[][] } {
  const data: Record<string, unknown> = {};
  const writes: string[][] = [];
  return {
    data,
    writes,
    get: async (key) => (key in data ? { [key]: structuredClone(data[key]) } : {}),
    set: async (items) => {
      writes.push(Object.keys(items));
      Object.assign(data, structuredClone(items));
    },
  };
}
