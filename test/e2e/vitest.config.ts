// The end-to-end suite: real Chromium and Firefox ESR, the built extension, the real tracker under wrangler dev.
// Files run one after the other (2 cores are shared); `npm run test:e2e` builds the extension first.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    root: import.meta.dirname,
    include: ["**/*.e2e.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
