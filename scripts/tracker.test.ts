// How `npm start`, `npm run deploy`, the tests and the bench run wrangler, and the ports they start trackers on.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { applyLocalMigrations, freePort, ROOT, runWrangler, StoppedError } from "./tracker.mjs";

/** Runs `test` in a directory of its own, removed after it whatever happens. */
async function inTempDir(prefix: string, test: (dir: string) => unknown): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    await test(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("runWrangler", () => {
  it("runs the pinned wrangler with the Node running the script, whatever `node` PATH finds", async () => {
    // A PATH whose only `node` is one too old for wrangler, as a rep's system Node can be beside the Node 22 they run
    // npm with: node_modules/.bin/wrangler's `#!/usr/bin/env node` would run it.
    await inTempDir("mailtracker-old-node-", (bin) => {
      writeFileSync(path.join(bin, "node"), "#!/bin/sh\necho 'this is Node 18' >&2\nexit 1\n");
      chmodSync(path.join(bin, "node"), 0o755);
      const result = runWrangler(["--version"], { env: { PATH: bin } });
      const pinned = JSON.parse(readFileSync(path.join(ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version;
      expect(result.stderr).not.toContain("Node 18");
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout.trim().split("\n").at(-1)).toContain(pinned);
    });
  });
});

/**
 * wrangler.toml written to `dir`, its paths made absolute and its migrations the first alone (copied to `dir`), and that
 * migration's name. Wrangler
 * 4.155 applies each migration in a Miniflare of its own, started and disposed of in turn (wrangler-dist/cli.js,
 * `for (const migration of unappliedMigrations)` → executeSql → executeLocally): about a second each on a quiet
 * machine, 35 s for the 31 of 2026-12-07, past this test's 60 s under load; the first alone takes 4 s.
 */
function firstMigrationConfig(dir: string): { config: string; migration: string } {
  const shipped = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const migrations = path.join(dir, "migrations");
  mkdirSync(migrations);
  const first = readdirSync(path.join(ROOT, "worker", "migrations"))
    .filter((name) => name.endsWith(".sql"))
    .sort()[0] as string;
  copyFileSync(path.join(ROOT, "worker", "migrations", first), path.join(migrations, first));
  const config = shipped
    .replace(/^main = "([^"]+)"$/m, (_, main) => `main = ${JSON.stringify(path.join(ROOT, main))}`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(migrations)}`);
  if (!config.includes(JSON.stringify(migrations)) || config.includes('main = "worker')) {
    throw new Error("wrangler.toml changed shape: update firstMigrationConfig()");
  }
  const file = path.join(dir, "wrangler.toml");
  writeFileSync(file, config);
  return { config: file, migration: first };
}

describe("applyLocalMigrations", () => {
  it("lets the process run while wrangler applies them (timers, a browser's connection), then has applied them", async () => {
    await inTempDir("mailtracker-migrations-", async (dir) => {
      // Whether the process runs meanwhile does not depend on how many there are: the first one alone is applied.
      const { config, migration } = firstMigrationConfig(dir);
      const persistTo = path.join(dir, "state");
      let settled = false;
      const applying = Promise.resolve(applyLocalMigrations(persistTo, config)).finally(() => {
        settled = true;
      });
      // One turn of the event loop: wrangler, a Node process of its own, cannot have started and ended within it.
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      await applying;
      // Applied: the local D1's own record of its migrations names it (wrangler's d1_migrations table).
      const files = readdirSync(persistTo, { recursive: true, encoding: "utf8" });
      const database = files.filter((file) => file.endsWith(".sqlite") && !file.endsWith("metadata.sqlite"));
      expect(database).toHaveLength(1);
      const db = new DatabaseSync(path.join(persistTo, database[0] as string), { readOnly: true });
      try {
        expect(db.prepare("SELECT name FROM d1_migrations").all()).toEqual([{ name: migration }]);
      } finally {
        db.close();
      }
    });
  }, 60_000);

  it("applies nothing and rejects as stopped when its signal was aborted before the call (a stop while the port was checked)", async () => {
    await inTempDir("mailtracker-migrations-", async (persistTo) => {
      const stopping = new AbortController();
      stopping.abort();
      await expect(applyLocalMigrations(persistTo, undefined, stopping.signal)).rejects.toBeInstanceOf(StoppedError);
      expect(readdirSync(persistTo, { recursive: true, encoding: "utf8" })).toEqual([]);
    });
  }, 60_000);

  it("fails plainly, with wrangler's words, when wrangler cannot apply them", async () => {
    await inTempDir("mailtracker-migrations-", async (persistTo) => {
      const missing = path.join(persistTo, "no-such-wrangler.toml");
      await expect(applyLocalMigrations(persistTo, missing)).rejects.toThrow(
        /^applying migrations failed \(code 1\):\n[\s\S]*no-such-wrangler\.toml/,
      );
    });
  }, 60_000);
});

function kernelRangeLow(): number | null {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

describe("freePort", () => {
  it("picks a port that can be listened on, below the kernel's range for port 0, so no bind to 0 takes it meanwhile", async () => {
    const low = kernelRangeLow();
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    for (const port of ports) {
      expect(Number.isInteger(port) && port >= 1024 && port < 65536, String(port)).toBe(true);
      if (low !== null) expect(port, `kernel range starts at ${low}`).toBeLessThan(low);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
