// For unit tests: an in-memory stand-in for browser.storage.local, and for the background's private area
// (private-area.ts), with the same calls (values are copied in and out, as the real ones serialise them), which also
// lists the keys of every write.
import type { KeyValueArea } from "./outbox";

// PrivateArea's calls, written out: the worker's type check (no DOM library) loads this file, and private-area.ts
// names IndexedDB's types.
export function memoryArea(): KeyValueArea & { remove(key: string): Promise<void>; data: Record<string, unknown>; writes: string[][] } {
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
    remove: async (key) => {
      delete data[key];
    },
  };
}
