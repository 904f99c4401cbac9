// How `npm start`, `npm run deploy`, the tests and the bench run wrangler, and the ports they start trackers on.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it, vi } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { applyLocalMigrations, freePort, migrationsFolderReadHere, ROOT, runWrangler, StoppedError } from "./tracker.mjs";

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
 * wrangler.toml written to `dir`, its paths made absolute and its migrations the first `count` alone (copied to `dir`),
 * and those migrations' names. Wrangler
 * 4.155 applies each migration in a Miniflare of its own, started and disposed of in turn (wrangler-dist/cli.js,
 * `for (const migration of unappliedMigrations)` → executeSql → executeLocally): about a second each on a quiet
 * machine, 35 s for the 31 of 2026-12-07, past this test's 60 s under load; the first alone takes 4 s.
 */
function firstMigrationsConfig(dir: string, count = 1): { config: string; migrations: string[] } {
  const shipped = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const migrations = path.join(dir, "migrations");
  mkdirSync(migrations);
  const first = readdirSync(path.join(ROOT, "worker", "migrations"))
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .slice(0, count);
  for (const name of first) copyFileSync(path.join(ROOT, "worker", "migrations", name), path.join(migrations, name));
  const config = shipped
    .replace(/^main = "([^"]+)"$/m, (_, main) => `main = ${JSON.stringify(path.join(ROOT, main))}`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(migrations)}`);
  if (!config.includes(JSON.stringify(migrations)) || config.includes('main = "worker')) {
    throw new Error("wrangler.toml changed shape: update firstMigrationsConfig()");
  }
  const file = path.join(dir, "wrangler.toml");
  writeFileSync(file, config);
  return { config: file, migrations: first };
}

/** The local D1 in `persistTo`: its schema, and the migrations its d1_migrations table records as applied, in order. */
function localDatabase(persistTo: string): { schema: unknown[]; applied: string[] } {
  const files = readdirSync(persistTo, { recursive: true, encoding: "utf8" });
  const database = files.filter((file) => file.endsWith(".sqlite") && !file.endsWith("metadata.sqlite"));
  expect(database).toHaveLength(1);
  const db = new DatabaseSync(path.join(persistTo, database[0] as string), { readOnly: true });
  try {
    return {
      schema: db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").all(),
      applied: db
        .prepare("SELECT name FROM d1_migrations ORDER BY id")
        .all()
        .map((row) => row.name as string),
    };
  } finally {
    db.close();
  }
}

/** `wrangler d1 migrations apply` itself, on the local D1 in `persistTo`. */
const wranglersOwnApply = (persistTo: string, config: string) =>
  runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, "--config", config]);

describe("applyLocalMigrations", () => {
  it("lets the process run while wrangler applies them (timers, a browser's connection), then has applied them", async () => {
    await inTempDir("mailtracker-migrations-", async (dir) => {
      // Whether the process runs meanwhile does not depend on how many there are: the first one alone is applied.
      const { config, migrations } = firstMigrationsConfig(dir);
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
      expect(localDatabase(persistTo).applied).toEqual(migrations);
    });
  }, 60_000);

  it("on a fresh state, leaves what wrangler's own `d1 migrations apply` leaves: the same schema, each migration recorded", async () => {
    await inTempDir("mailtracker-migrations-", async (dir) => {
      // Three, so that they and their records follow one another in the one file as wrangler applies them in turn.
      const { config, migrations } = firstMigrationsConfig(dir, 3);
      const ours = path.join(dir, "ours");
      const wranglers = path.join(dir, "wranglers");
      await applyLocalMigrations(ours, config);
      const own = wranglersOwnApply(wranglers, config);
      expect(own.status, own.stderr).toBe(0);
      expect(localDatabase(ours)).toEqual(localDatabase(wranglers));
      expect(localDatabase(ours).applied).toEqual(migrations);
      // And a later `npm run db:migrate:local` (wrangler's own) finds nothing left to apply.
      const later = wranglersOwnApply(ours, config);
      expect(later.status, later.stderr).toBe(0);
      expect(later.stdout).toContain("No migrations to apply");
    });
  }, 60_000);

  it("on a fresh state, a migration that fails is named, and the ones before it stay applied, as wrangler's own apply leaves them", async () => {
    await inTempDir("mailtracker-migrations-", async (dir) => {
      const { config, migrations } = firstMigrationsConfig(dir, 2);
      writeFileSync(
        path.join(dir, "migrations", "9999_broken.sql"),
        "CREATE TABLE broken (id INTEGER);\nINSERT INTO missing_table VALUES (1);\n",
      );
      const persistTo = path.join(dir, "state");
      // Whether a local D1 is there when it turns to wrangler's own apply: the one the failed run made must be gone.
      const localD1AtWarning: boolean[] = [];
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {
        localD1AtWarning.push(existsSync(path.join(persistTo, "v3", "d1")));
      });
      try {
        await expect(applyLocalMigrations(persistTo, config)).rejects.toThrow(/9999_broken\.sql[\s\S]*no such table: missing_table/);
        // The one-file apply's failure said in one line, with wrangler's reason, before wrangler's own apply.
        expect(warn.mock.calls).toEqual([
          [
            expect.stringMatching(
              /^applying every migration in one d1 execute failed \(no such table: missing_table.*\): applying them one at a time instead$/,
            ),
          ],
        ]);
        expect(localD1AtWarning).toEqual([false]);
      } finally {
        warn.mockRestore();
      }
      expect(localDatabase(persistTo).applied).toEqual(migrations);
    });
  }, 60_000);

  it("on a fresh state, a stop while the migrations run in one file removes the local D1 it made, so the next start runs them in one file again", async () => {
    await inTempDir("mailtracker-migrations-", async (dir) => {
      const { config } = firstMigrationsConfig(dir);
      // Seconds of SQLite's time, so that the stop certainly comes while the file runs.
      writeFileSync(
        path.join(dir, "migrations", "9999_slow.sql"),
        "CREATE TABLE counted AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000000) SELECT count(*) AS c FROM n;\n",
      );
      const persistTo = path.join(dir, "state");
      const stopping = new AbortController();
      const applying = applyLocalMigrations(persistTo, config, stopping.signal);
      // The local D1 is made: the file is running.
      await vi.waitUntil(() => existsSync(path.join(persistTo, "v3", "d1")), { timeout: 50_000, interval: 20 });
      stopping.abort();
      await expect(applying).rejects.toBeInstanceOf(StoppedError);
      expect(existsSync(path.join(persistTo, "v3", "d1"))).toBe(false);
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

/** A [[d1_databases]] table; `line` is its migrations_dir line, wrangler.toml's shape unless given. */
const d1Table = (binding: string, migrations: string, line = `migrations_dir = ${JSON.stringify(migrations)}`) =>
  `[[d1_databases]]\nbinding = "${binding}"\ndatabase_name = "${binding.toLowerCase()}"\ndatabase_id = "00000000-0000-4000-8000-000000000000"\n${line}\n`;

/** A wrangler.jsonc config whose DB migrations are `migrations`. */
const WRANGLER_JSONC = (migrations: string) => ({
  file: "wrangler.jsonc",
  text: `// The tracker's database.\n${JSON.stringify({
    name: "config-shapes",
    compatibility_date: "2026-10-01",
    d1_databases: [{ binding: "DB", database_name: "db", database_id: "00000000-0000-4000-8000-000000000000", migrations_dir: migrations }],
  })}`,
});

/**
 * Configs whose DB migrations are `migrations` (wrangler reads every one of them so) in shapes applyLocalMigrations
 * does not read itself; `other` is another database's migrations folder.
 */
const UNUSUAL_CONFIGS: Record<string, (migrations: string, other: string) => { file: string; text: string }> = {
  "a comment after the path": (migrations) => ({
    file: "wrangler.toml",
    text: d1Table("DB", migrations, `migrations_dir = ${JSON.stringify(migrations)} # the tracker's tables`),
  }),
  "single quotes": (migrations) => ({ file: "wrangler.toml", text: d1Table("DB", migrations, `migrations_dir = '${migrations}'`) }),
  // TOML's \u0073 is an "s": wrangler reads the same folder; the text holds another.
  "an escape in the path": (migrations) => ({
    file: "wrangler.toml",
    text: d1Table("DB", migrations, `migrations_dir = ${JSON.stringify(migrations.slice(0, -1)).slice(0, -1)}\\u0073"`),
  }),
  "several D1 databases, DB's second": (migrations, other) => ({
    file: "wrangler.toml",
    text: `${d1Table("OTHER", other)}\n${d1Table("DB", migrations)}`,
  }),
  "another migrations table": (migrations) => ({
    file: "wrangler.toml",
    text: `${d1Table("DB", migrations)}migrations_table = "applied"\n`,
  }),
  "an environment's database too": (migrations) => ({
    file: "wrangler.toml",
    text: `${d1Table("DB", migrations)}\n[env.staging]\n${d1Table("DB", migrations).replace("[[d1_databases]]", "[[env.staging.d1_databases]]")}`,
  }),
  "wrangler.jsonc": WRANGLER_JSONC,
};

describe("applyLocalMigrations on a config it does not read itself", () => {
  /**
   * Writes `shape`'s config, whose DB migrations are one that fails (and another database's one that does not), runs
   * applyLocalMigrations on a fresh state, and returns what it warned. The one-file apply, tried, warns that it failed.
   */
  async function warningsOfFailingApply(shape: (migrations: string, other: string) => { file: string; text: string }) {
    const warnings: unknown[] = [];
    await inTempDir("mailtracker-config-", async (dir) => {
      const migrations = path.join(dir, "migrations");
      const other = path.join(dir, "other-migrations");
      mkdirSync(migrations);
      mkdirSync(other);
      writeFileSync(path.join(migrations, "0001_broken.sql"), "INSERT INTO missing_table VALUES (1);\n");
      writeFileSync(path.join(other, "0001_other.sql"), "CREATE TABLE other (id INTEGER);\n");
      const { file, text } = shape(migrations, other);
      const config = path.join(dir, file);
      writeFileSync(config, file.endsWith(".toml") ? `name = "config-shapes"\ncompatibility_date = "2026-10-01"\n${text}` : text);
      const warn = vi.spyOn(console, "warn").mockImplementation((message) => void warnings.push(message));
      try {
        // wrangler's own apply names the migration that fails, whichever way it was reached.
        await expect(applyLocalMigrations(path.join(dir, "state"), config)).rejects.toThrow(/0001_broken\.sql/);
      } finally {
        warn.mockRestore();
      }
    });
    return warnings;
  }

  it("wrangler.toml's own shape is read here: the one-file apply is tried first", async () => {
    const warnings = await warningsOfFailingApply((migrations) => ({ file: "wrangler.toml", text: d1Table("DB", migrations) }));
    expect(warnings).toEqual([expect.stringMatching(/^applying every migration in one d1 execute failed/)]);
  }, 60_000);

  // One unusual shape end to end (the config reader's null leads to wrangler's own apply); every shape on the reader below.
  it("wrangler.jsonc: wrangler's own apply, which reads its config itself", async () => {
    expect(await warningsOfFailingApply(WRANGLER_JSONC)).toEqual([]);
  }, 60_000);
});

describe("migrationsFolderReadHere", () => {
  function folderReadHere(shape: (migrations: string, other: string) => { file: string; text: string }) {
    const dir = mkdtempSync(path.join(tmpdir(), "mailtracker-config-"));
    try {
      const migrations = path.join(dir, "migrations");
      const { file, text } = shape(migrations, path.join(dir, "other-migrations"));
      const config = path.join(dir, file);
      writeFileSync(config, file.endsWith(".toml") ? `name = "config-shapes"\ncompatibility_date = "2026-10-01"\n${text}` : text);
      return { migrations, read: migrationsFolderReadHere(config) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("reads wrangler.toml's own shape", () => {
    const { migrations, read } = folderReadHere((migrations) => ({ file: "wrangler.toml", text: d1Table("DB", migrations) }));
    expect(read).toBe(migrations);
    expect(migrationsFolderReadHere(path.join(ROOT, "wrangler.toml"))).toBe(path.join(ROOT, "worker", "migrations"));
  });

  for (const [name, shape] of Object.entries(UNUSUAL_CONFIGS)) {
    it(`${name}: null, left to wrangler`, () => {
      expect(folderReadHere(shape).read).toBeNull();
    });
  }
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
