// Builds the extension: `vite build --mode chrome` -> dist/chrome, `vite build --mode firefox` -> dist/firefox,
// from the same sources (extension/manifest.config.ts decides what differs).
import { crx } from "@crxjs/vite-plugin";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";
import { manifestFor, type Target } from "./extension/manifest.config";

export default defineConfig(({ mode }) => {
  if (mode !== "chrome" && mode !== "firefox") throw new Error("build with --mode chrome or --mode firefox");
  const target: Target = mode;
  return {
    root: ".",
    publicDir: false,
    plugins: [preact(), crx({ manifest: manifestFor(target), browser: target })],
    build: {
      outDir: `dist/${target}`,
      emptyOutDir: true,
      // Store reviewers read the code: keep it readable, and the e2e tests get readable stack traces.
      minify: false,
      sourcemap: false,
      target: target === "firefox" ? "firefox128" : "chrome111",
      // Pages the manifest does not name (opened from the popup and options) are built as extra inputs.
      rollupOptions: { input: { dashboard: "extension/src/dashboard/index.html" } },
    },
  };
});
