// Builds the extension from the same sources (extension/manifest.config.ts decides what differs):
//   `vite build --mode chrome|firefox`             development builds -> dist/chrome, dist/firefox (npm start, e2e tests)
//   `vite build --mode chrome-store|firefox-store` store builds       -> dist/chrome-store, dist/firefox-store (npm run package)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crx } from "@crxjs/vite-plugin";
import preact from "@preact/preset-vite";
import { transform } from "esbuild";
import { defineConfig, type Plugin } from "vite";
import { type Flavour, manifestFor, type Target } from "./extension/manifest.config";

/**
 * Removes from the built pages two pieces of library code the extension never runs, so that store review
 * (addons-linter) finds no eval and no innerHTML assignment. The build fails if a library update changes either
 * piece, so the question is asked again rather than silently answered.
 * - zod's probe for eval (`new Function("")`, to decide whether to compile validators). Manifest V3 forbids eval in
 *   every extension context (its content security policy), so the probe always answers false there; this answers
 *   false without probing, as zod's own `jitless` setting does at run time.
 * - Preact's support for `dangerouslySetInnerHTML`, the only `innerHTML =` in the build. No component uses it; it
 *   now throws instead of writing HTML.
 */
function withoutUnusedDynamicCode(): Plugin {
  const patches = [
    {
      file: /node_modules[\\/]zod[\\/]v4[\\/]core[\\/]util\.js$/,
      find: /export const allowsEval = \/\* @__PURE__\*\/ cached\(\(\) => \{[\s\S]*?\n\}\);/,
      replace: "export const allowsEval = /* @__PURE__*/ cached(() => false);",
    },
    {
      file: /node_modules[\\/]preact[\\/]dist[\\/]preact\.mjs$/,
      find: "||(t.innerHTML=h.__html)",
      replace: '||(()=>{throw new Error("dangerouslySetInnerHTML is not supported in this extension")})()',
    },
  ];
  return {
    name: "without-unused-dynamic-code",
    enforce: "pre",
    transform(code, id) {
      const patch = patches.find((candidate) => candidate.file.test(id));
      if (!patch) return undefined;
      const patched = code.replace(patch.find, patch.replace);
      if (patched === code) this.error(`${id} changed: review withoutUnusedDynamicCode in vite.config.ts`);
      return { code: patched, map: null };
    },
  };
}

/**
 * The two scripts every Gmail tab loads (the content script and the page-world script, built by crxjs as IIFEs in a
 * build of their own that takes no plugins) are printed by esbuild without whitespace or comments, every name kept:
 * a formatter (Prettier, the browsers' "pretty print") gives store reviewers the same code back, with its names. Both
 * stores allow it: the Chrome Web Store's code readability policy names "removal of whitespace, newlines, code
 * comments" as allowed minification (developer.chrome.com, program-policies/code-readability, updated 2022-11-01);
 * addons.mozilla.org asks for the source and its build instructions with any bundled or transpiled add-on, which this
 * one already is, and with minified code too, which it allows though it does not recommend it (MDN, "Source code
 * submission"). Gzipped, the content script is about 2.6 KiB smaller than printed
 * with its layout (docs/benchmarks.md, the sizes). The comments stay in the sources. The build fails if crxjs stops
 * writing either file where the manifest names it.
 */
function contentScriptsWithoutWhitespace(): Plugin {
  let outDir = "";
  let target = "";
  return {
    name: "content-scripts-without-whitespace",
    apply: "build",
    enforce: "post",
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
      target = String(config.build.target);
    },
    async closeBundle() {
      for (const file of ["extension/src/content/index.iife.js", "extension/src/page-world/page-world.iife.js"]) {
        const built = path.join(outDir, file);
        if (!existsSync(built)) this.error(`${file} was not built: review contentScriptsWithoutWhitespace in vite.config.ts`);
        const { code } = await transform(readFileSync(built, "utf8"), {
          loader: "js",
          minifyWhitespace: true,
          legalComments: "none",
          target,
          charset: "utf8",
        });
        writeFileSync(built, code);
      }
    },
  };
}

export default defineConfig(({ mode }) => {
  const [target, store] = mode.split("-") as [Target, string | undefined];
  if ((target !== "chrome" && target !== "firefox") || (store !== undefined && store !== "store")) {
    throw new Error("build with --mode chrome, firefox, chrome-store or firefox-store");
  }
  const flavour: Flavour = store ? "store" : "development";
  return {
    root: ".",
    publicDir: false,
    plugins: [
      withoutUnusedDynamicCode(),
      preact(),
      crx({ manifest: manifestFor(target, flavour), browser: target }),
      contentScriptsWithoutWhitespace(),
    ],
    // extension/src/build-flags.d.ts: test seams exist in development builds only; what Firefox does otherwise.
    define: { DEVELOPMENT_BUILD: JSON.stringify(flavour === "development"), FIREFOX_BUILD: JSON.stringify(target === "firefox") },
    build: {
      outDir: store ? `dist/${target}-store` : `dist/${target}`,
      emptyOutDir: true,
      // Store reviewers read the code: keep it readable, and the e2e tests get readable stack traces (the two scripts
      // Gmail's tabs load lose their whitespace after the build: contentScriptsWithoutWhitespace).
      minify: false,
      sourcemap: false,
      target: target === "firefox" ? "firefox140" : "chrome111",
      // Pages the manifest does not name (opened from the popup and options) are built as extra inputs.
      rollupOptions: { input: { dashboard: "extension/src/dashboard/index.html" } },
    },
  };
});
