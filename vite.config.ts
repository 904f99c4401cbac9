// Builds the extension from the same sources (extension/manifest.config.ts decides what differs):
//   `vite build --mode chrome|firefox`             development builds -> dist/chrome, dist/firefox (npm start, e2e tests)
//   `vite build --mode chrome-store|firefox-store` store builds       -> dist/chrome-store, dist/firefox-store (npm run package)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crx } from "@crxjs/vite-plugin";
import preact from "@preact/preset-vite";
import { parse } from "acorn";
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

const SCRIPT = { ecmaVersion: "latest", sourceType: "script" } as const;

/** A syntax tree without positions: what two spellings of one program share. */
function syntaxOf(tree: ReturnType<typeof parse>): string {
  return JSON.stringify(tree, (key, value) =>
    key === "start" || key === "end" ? undefined : typeof value === "bigint" ? `${value}n` : value,
  );
}

/**
 * The code without its comments, cut where acorn's tokenizer finds them (so never inside a string, a template or a
 * regular expression). esbuild's reprint alone keeps those inside object literals and class bodies (esbuild 0.28.2:
 * every property's and method's JSDoc), about an eighth of the content script gzipped. Throws if the program changed:
 * its syntax tree, positions aside, must be the same after the cut.
 */
function withoutComments(code: string): string {
  let kept = "";
  let from = 0;
  const tree = parse(code, {
    ...SCRIPT,
    onComment: (block, text, start, end) => {
      kept += code.slice(from, start);
      from = end;
      // A block comment over several lines counts as a line break where a statement may end (`return /*…\n…*/ x`
      // returns nothing): it leaves one.
      if (block && /[\n\r\u2028\u2029]/.test(text)) {
        kept += "\n";
        return;
      }
      // Otherwise one space where the comment was, so that the tokens either side stay apart: added when neither side
      // has one, and the second dropped when both have (a line break after a comment is always kept).
      const spaceBefore = /\s/.test(code[start - 1] ?? " ");
      if (!spaceBefore && !/\s/.test(code[end] ?? " ")) kept += " ";
      if (spaceBefore && /[ \t]/.test(code[end] ?? "")) from = end + 1;
    },
  });
  const cut = kept + code.slice(from);
  if (syntaxOf(parse(cut, SCRIPT)) !== syntaxOf(tree))
    throw new Error("cutting the comments changed the program: review withoutComments in vite.config.ts");
  return cut;
}

/**
 * The two scripts every Gmail tab loads (the content script and the page-world script, built by crxjs as IIFEs in
 * a build of their own that takes no plugins) are reprinted by esbuild without comments: still unminified, with
 * their names and layout, for store reviewers, but a quarter smaller gzipped (docs/benchmarks.md, the sizes). The
 * comments stay in the sources. The build fails if crxjs stops writing either file where the manifest names it.
 */
function contentScriptsWithoutComments(): Plugin {
  let outDir = "";
  let target = "";
  return {
    name: "content-scripts-without-comments",
    apply: "build",
    enforce: "post",
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
      target = String(config.build.target);
    },
    async closeBundle() {
      for (const file of ["extension/src/content/index.iife.js", "extension/src/page-world/page-world.iife.js"]) {
        const built = path.join(outDir, file);
        if (!existsSync(built)) this.error(`${file} was not built: review contentScriptsWithoutComments in vite.config.ts`);
        const { code } = await transform(withoutComments(readFileSync(built, "utf8")), {
          loader: "js",
          legalComments: "none",
          target,
          charset: "utf8",
        });
        // esbuild prints its own `/* @__PURE__ */` marks back (38 in the content script), which nothing reads once the
        // script is built: they go too.
        writeFileSync(built, withoutComments(code));
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
      contentScriptsWithoutComments(),
    ],
    // extension/src/build-flags.d.ts: test seams exist in development builds only.
    define: { DEVELOPMENT_BUILD: JSON.stringify(flavour === "development") },
    build: {
      outDir: store ? `dist/${target}-store` : `dist/${target}`,
      emptyOutDir: true,
      // Store reviewers read the code: keep it readable, and the e2e tests get readable stack traces.
      minify: false,
      sourcemap: false,
      target: target === "firefox" ? "firefox140" : "chrome111",
      // Pages the manifest does not name (opened from the popup and options) are built as extra inputs.
      rollupOptions: { input: { dashboard: "extension/src/dashboard/index.html" } },
    },
  };
});
