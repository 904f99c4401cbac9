// Stops with one line when Node is older than package.json's engines (wrangler and vitest need it; older versions
// fail later with a stack trace). Imported first by `npm start` and `npm run deploy`, and run by `npm install`
// (preinstall). Plain syntax only, so that old versions get as far as this message.
import { readFileSync } from "node:fs";

var engines = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).engines.node;
var wanted = /(\d+)\.(\d+)\.(\d+)/.exec(engines).slice(1).map(Number);
var have = process.versions.node.split(".").map(Number);
var newEnough = have[0] !== wanted[0] ? have[0] > wanted[0] : have[1] !== wanted[1] ? have[1] > wanted[1] : have[2] >= wanted[2];
if (!newEnough) {
  console.error(
    "mailtracker needs Node.js " +
      wanted.join(".") +
      " or newer (this is " +
      process.versions.node +
      "): install Node.js 22 LTS or 24 from https://nodejs.org and run this again.",
  );
  process.exit(1);
}
