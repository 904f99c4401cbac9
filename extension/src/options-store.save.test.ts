// Saving settings: two changes made at once (one field, then the next, as a user tabs through the options page)
// must both stay. Storage is an in-memory stand-in for browser.storage.local whose calls take a little while, as
// the real ones do.
import { expect, it, vi } from "vitest";

const stored = vi.hoisted(() => ({}) as Record<string, unknown>);
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
            Object.assign(stored, structuredClone(items));
          },
        },
        onChanged: { addListener: () => {}, removeListener: () => {} },
      },
    },
  };
});

import { loadOptions, saveOptions } from "./options-store";

it("keeps both of two changes saved at once", async () => {
  await Promise.all([
    saveOptions({ excludedRecipientDomains: ["acme.example"] }),
    saveOptions({ excludedLinkDomains: ["intranet.example"] }),
  ]);
  expect(await loadOptions()).toMatchObject({ excludedRecipientDomains: ["acme.example"], excludedLinkDomains: ["intranet.example"] });
});
