import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      "worker/vitest.config.ts",
      {
        test: {
          name: "unit",
          include: ["shared/**/*.test.ts", "extension/**/*.test.ts", "scripts/**/*.test.ts"],
          environment: "node",
        },
      },
    ],
  },
});
