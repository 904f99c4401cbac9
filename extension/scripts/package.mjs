// `npm run package`: zips the store builds dist/chrome-store and dist/firefox-store into the archives the stores take
// (dist/mailtracker-chrome-<version>.zip, dist/mailtracker-firefox-<version>.zip), manifest.json at the root.
// A plain ZIP writer on node:zlib, so packaging needs no zip tool on the machine.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crc32, deflateRawSync } from "node:zlib";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

function files(dir, base = dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? files(full, base) : [path.relative(base, full).split(path.sep).join("/")];
    });
}

function zip(dir) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  // A fixed timestamp (1980-01-01) keeps the archives reproducible.
  const time = 0;
  const date = (0 << 9) | (1 << 5) | 1;
  for (const name of files(dir)) {
    const data = readFileSync(path.join(dir, name));
    const packed = deflateRawSync(data, { level: 9 });
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

for (const target of ["chrome", "firefox"]) {
  const dir = path.join(ROOT, "dist", `${target}-store`);
  const out = path.join(ROOT, "dist", `mailtracker-${target}-${version}.zip`);
  writeFileSync(out, zip(dir));
  console.log(`wrote ${path.relative(ROOT, out)}`);
}
