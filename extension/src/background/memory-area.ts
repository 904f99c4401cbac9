// For unit tests: an in-memory stand-in for browser.storage.local, and for the background's private area
// (private-area.ts), with the same calls (values are copied in and out, as the real ones serialise them), which also
// lists the keys of every write.
import type { KeyValueArea } from "./outbox";

// PrivateArea's calls, written out: the worker's type check (no DOM library) loads this file, and private-area.ts
// names IndexedDB's types.
export function memoryArea(): KeyValueArea & {
  get(keys: string | string[]): Promise<Record<string, unknown>>;
  remove(keys: string | string[]): Promise<void>;
  data: Record<string, unknown>;
  writes: string[][];
} {
  const data: Record<string, unknown> = {};
  const writes: string[][] = [];
  return {
    data,
    writes,
    get: async (keys: string | string[]) =>
      Object.fromEntries(
        (Array.isArray(keys) ? keys : [keys]).filter((key) => key in data).map((key) => [key, structuredClone(data[key])]),
      ),
    set: async (items) => {
      writes.push(Object.keys(items));
      Object.assign(data, structuredClone(items));
    },
    remove: async (keys: string | string[]) => {
      for (const key of Array.isArray(keys) ? keys : [keys]) delete data[key];
    },
  };
}
