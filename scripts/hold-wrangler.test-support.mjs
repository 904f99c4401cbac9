// Loaded into every Node process of a test's `npm start` (NODE_OPTIONS=--import): holds the wrangler command whose first
// words are HELD_WRANGLER_COMMAND ("dev", or "d1" for any d1 command) before it loads, so `npm start` stays in that step
// for as long as a test needs, and a signal sent then is certain to come during it. Every other process runs as usual.
const [, script, ...args] = process.argv;
const held = process.env.HELD_WRANGLER_COMMAND?.split(" ") ?? [];
if (held.length > 0 && /[\\/]wrangler[\\/]bin[\\/]wrangler\.js$/.test(script ?? "") && held.every((word, index) => args[index] === word)) {
  // A pending timer keeps the process alive (a top-level await on nothing would end it); a signal still ends it.
  await new Promise((resolve) => setTimeout(resolve, 2 ** 31 - 1));
}
