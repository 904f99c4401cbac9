// A delete whose first call never got an answer (api.test.ts, dashboard.test.ts, handlers.test.ts): the browser
// refused it while the extension's access to the tracker's site was off, and the access was given back as the refusal
// came (the options page's button), so api.ts reaching() makes it again; the tracker answers that second call 404, as
// it does once nothing is left to delete (the first may have landed after all).
import { vi } from "vitest";

/** A fetch answering so, twice; `giveBack` gives the access back as the browser refuses the first call. */
export function refusedThenNotFound(giveBack: () => void) {
  const answers = [
    async () => {
      giveBack();
      throw new TypeError("Failed to fetch");
    },
    async () => Response.json({ error: "not found" }, { status: 404 }),
  ];
  return vi.fn(() => answers.shift()?.() ?? Promise.reject(new Error("a third call")));
}
