// Saving settings: two changes made at once (one field, then the next, as a user tabs through the options page)
// must both stay. And reading them where `migrate` is not at hand (the Gmail content script): as saved in the current
// shape, else from the background, which stores an older shape anew. Storage is an in-memory stand-in for
// browser.storage.local whose calls take a little while, as the real ones do, and which tells its listeners of each
// change (storage.onChanged). That while is on vitest's fake clock (test/fake-clock.ts).
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { settled } from "../../test/fake-clock";

const stored = vi.hoisted(() => ({}) as Record<string, unknown>);
type ChangeListener = (changes: Record<string, { oldValue?: unknown; newValue?: unknown }>, area: string) => void;
const listeners = vi.hoisted(() => [] as ChangeListener[]);
vi.mock("./web-ext", () => {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    browser: {
      storage: {
        local: {
          get: async (key: string) => {
            await pause(5);
            return key in stored ? { [key]: structuredClone(stored[key]) } : {};
          },
          set: async (items: Record<string, unknown>) => {
            await pause(1);
            const changes = Object.fromEntries(Object.entries(items).map(([key, value]) => [key, { newValue: structuredClone(value) }]));
            Object.assign(stored, structuredClone(items));
            for (const listener of listeners) listener(changes, "local");
          },
        },
        onChanged: { addListener: (listener: ChangeListener) => listeners.push(listener), removeListener: () => {} },
      },
    },
  };
});

import {
  DEFAULT_OPTIONS,
  loadOptions,
  loadSavedOptions,
  OPTIONS_VERSION,
  type Options,
  onSavedOptionsChanged,
  savedOptions,
  saveOptions,
  storeInCurrentShape,
} from "./options-store";

beforeEach(() => {
  for (const key of Object.keys(stored)) delete stored[key];
  listeners.length = 0;
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** What an earlier version stored as 2: fields added since missing, and the opt-out link's former default. */
const STORED_AS_2 = { version: 2, trackerUrl: "https://t.example/", optOutText: "Unsubscribe from these emails", debug: true };

it("keeps both of two changes saved at once", async () => {
  await settled(
    Promise.all([saveOptions({ excludedRecipientDomains: ["acme.example"] }), saveOptions({ excludedLinkDomains: ["intranet.example"] })]),
  );
  expect(await settled(loadOptions())).toMatchObject({
    excludedRecipientDomains: ["acme.example"],
    excludedLinkDomains: ["intranet.example"],
  });
});

it("reads options as saved, and nothing else, without migrate", async () => {
  const saved = await settled(saveOptions({ trackerUrl: "https://t.example", excludedLinkDomains: ["intranet.example"] }));
  expect(savedOptions(stored.options)).toEqual({ ...saved, version: OPTIONS_VERSION });
  expect(savedOptions(stored.options)).toMatchObject(await settled(loadOptions()));
  for (const other of [undefined, null, "options", STORED_AS_2, { ...saved, version: OPTIONS_VERSION + 1 }])
    expect(savedOptions(other)).toBeNull();
});

it("asks for migrated options only when they are not stored as saved", async () => {
  const migrated = vi.fn(async () => ({ ...DEFAULT_OPTIONS, debug: true }));
  expect(await settled(loadSavedOptions(migrated))).toEqual({ ...DEFAULT_OPTIONS, debug: true });
  stored.options = STORED_AS_2;
  expect(await settled(loadSavedOptions(migrated))).toEqual({ ...DEFAULT_OPTIONS, debug: true });
  expect(migrated).toHaveBeenCalledTimes(2);
  const saved = await settled(saveOptions({ followUpDays: 9 }));
  expect(await settled(loadSavedOptions(migrated))).toMatchObject({ ...saved, version: OPTIONS_VERSION });
  expect(migrated).toHaveBeenCalledTimes(2);
});

it("stores an older shape anew as the background starts: complete, and the former opt-out wording gone", async () => {
  await settled(storeInCurrentShape());
  expect(stored).toEqual({});
  stored.options = STORED_AS_2;
  await settled(storeInCurrentShape());
  expect(stored.options).toEqual({ ...DEFAULT_OPTIONS, trackerUrl: "https://t.example", debug: true, version: OPTIONS_VERSION });
  expect(savedOptions(stored.options)).toEqual(stored.options);
});

it("follows changes without migrate, and never goes back to options older than the latest change", async () => {
  const seen: Options[] = [];
  let answer: (options: Options) => void = () => {};
  const migrated = () => new Promise<Options>((resolve) => (answer = resolve));
  onSavedOptionsChanged(
    (options) => seen.push(options),
    migrated,
    (error) => seen.push(error as Options),
  );
  // Stored by an earlier version: the background's answer is needed, and comes after a save made meanwhile.
  stored.options = undefined;
  for (const listener of listeners) listener({ options: { newValue: STORED_AS_2 } }, "local");
  const saved = await settled(saveOptions({ followUpDays: 9 }));
  answer({ ...DEFAULT_OPTIONS, followUpDays: 4 });
  await vi.runAllTimersAsync();
  expect(seen).toEqual([{ ...saved, version: OPTIONS_VERSION }]);
  // Options of another area, or another key, are none of its business.
  for (const listener of listeners) listener({ options: { newValue: stored.options } }, "session");
  for (const listener of listeners) listener({ clockSkewMs: { newValue: 5 } }, "local");
  expect(seen).toHaveLength(1);
});
