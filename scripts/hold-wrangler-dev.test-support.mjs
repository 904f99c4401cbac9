// Loaded into every Node process of a test's `npm start` (NODE_OPTIONS=--import): holds `wrangler dev` before it loads,
// so the tracker stays "starting" for as long as a test needs, and a signal sent then is certain to come before the
// tracker is ready. Every other process (start.mjs, `wrangler d1 migrations apply`) runs as usual.
const [, script, command] = process.argv;
if (command === "dev" && /[\\/]wrangler[\\/]bin[\\/]wrangler\.js$/.test(script ?? "")) {
  // A pending timer keeps the process alive (a top-level await on nothing would end it); a signal still ends it.
  await new Promise((resolve) => setTimeout(resolve, 2 ** 31 - 1));
}
