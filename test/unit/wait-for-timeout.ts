// Setup of the unit project (vitest.config.ts): vi.waitFor gives up after 5 s unless a test says otherwise, not
// vitest's 1 s (vitest 5.1.1, `timeout = 1e3`). Many unit tests wait through the product's own timers (a debounce, a
// retry, a background write), and on CI's two loaded cores those can run late by more than a second; a wait that
// holds is as fast as before, only one that fails takes longer to say so.
import { vi } from "vitest";

const WAIT_FOR_TIMEOUT_MS = 5_000;

const waitFor = vi.waitFor;
vi.waitFor = ((callback, options) =>
  waitFor(callback, {
    timeout: WAIT_FOR_TIMEOUT_MS,
    ...(typeof options === "number" ? { timeout: options } : options),
  })) as typeof vi.waitFor;
