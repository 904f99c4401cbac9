// Loaded into every Node process of a test's `npm start` (NODE_OPTIONS=--import): holds the program whose command line
// starts with HELD_COMMAND before it loads, so `npm start` stays in that step for as long as a test needs, and a signal
// sent then is certain to come during it. The program is its script's name: "wrangler dev" (or "wrangler d1" for any d1
// command), "vite build --mode firefox", "start" (scripts/start.mjs). Held until signalled or, with HELD_UNTIL, until
// that file exists. Every other process runs as usual.
import { existsSync } from "node:fs";
import path from "node:path";

const [, script, ...args] = process.argv;
const [program, ...words] = process.env.HELD_COMMAND?.split(" ") ?? [];
const until = process.env.HELD_UNTIL;
// wrangler's is node_modules/wrangler/bin/wrangler.js, vite's node_modules/.bin/vite as the shell found it.
if (program !== undefined && path.parse(script ?? "").name === program && words.every((word, index) => args[index] === word)) {
  // A pending timer keeps the process alive (a top-level await on nothing would end it); a signal still ends it.
  await new Promise((resolve) => {
    const check = () => (until !== undefined && existsSync(until) ? resolve(undefined) : setTimeout(check, 20));
    check();
  });
}
