// Stops with one line when this Node is outside package.json's engines (wrangler and vitest need it; others fail later
// with a stack trace). Imported first by `npm start` and `npm run deploy`, and run by `npm install` (preinstall). Plain
// syntax only, so that old versions get as far as this message.
import { readFileSync } from "node:fs";

/**
 * Whether `version` ("22.13.0") is in `range`, alternatives joined by "||", each "^x.y.z" (that major, at least x.y.z)
 * or ">=x.y.z": the only forms package.json's engines uses.
 */
export function nodeSatisfies(version, range) {
  var have = version.split(".").map(Number);
  return range.split("||").some((alternative) => {
    var match = /^\s*(\^|>=)(\d+)\.(\d+)\.(\d+)\s*$/.exec(alternative);
    if (!match) throw new Error(`package.json engines.node: unsupported range ${alternative.trim()}`);
    var wanted = match.slice(2).map(Number);
    if (match[1] === "^" && have[0] !== wanted[0]) return false;
    return have[0] !== wanted[0] ? have[0] > wanted[0] : have[1] !== wanted[1] ? have[1] > wanted[1] : have[2] >= wanted[2];
  });
}

var engines = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).engines.node;
if (!nodeSatisfies(process.versions.node, engines)) {
  console.error(
    "mailtracker needs Node.js " +
      engines +
      " (this is " +
      process.versions.node +
      "): install Node.js 22 LTS or 24 from https://nodejs.org and run this again.",
  );
  process.exit(1);
}
