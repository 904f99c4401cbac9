// Stands in for webextension-polyfill when bench/rewrite-bench.ts is bundled for a plain page or Node: the rewrite
// functions never call the extension APIs, but their module's imports load the polyfill, which refuses to load
// outside an extension.
export default {};
