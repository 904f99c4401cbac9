// `npm start` and `npm run deploy` as a newcomer meets them: the Node check, `--port`, a busy port.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { nodeSatisfies } from "./require-node.mjs";

const SCRIPTS = import.meta.dirname;

type Run = { code: number | null; output: string };

type Until = { output: RegExp; meanwhile: () => Promise<void> };

/** Runs a script with this Node; with `until`, once the output matches, runs `meanwhile` and ends the script (SIGINT). */
function run(args: string[], { nodeOptions = [] as string[], until = undefined as Until | undefined } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeOptions, ...args], { cwd: path.dirname(SCRIPTS), env: { ...process.env, CI: "true" } });
    let output = "";
    let matched = false;
    const collect = (chunk: Buffer) => {
      output += chunk;
      if (until && !matched && until.output.test(output)) {
        matched = true;
        void until.meanwhile().finally(() => child.kill("SIGINT"));
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("close", (code) => resolve({ code, output }));
  });
}

async function listening(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

// Pretends to be an older Node: the check must come before anything that needs a newer one.
const OLD_NODE = ["--import", 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"})'];

describe("npm start and npm run deploy", { timeout: 120_000 }, () => {
  for (const script of ["start.mjs", "deploy.mjs"]) {
    it(`${script} on an old Node: one line saying what to install, and a failing exit`, async () => {
      const result = await run([path.join(SCRIPTS, script)], { nodeOptions: OLD_NODE });
      expect(result.code).toBe(1);
      expect(result.output.trim().split("\n")).toEqual([
        "mailtracker needs Node.js ^22.13.0 || ^24.0.0 || >=26.0.0 (this is 20.20.2): install Node.js 22 LTS or 24 from https://nodejs.org and run this again.",
      ]);
    });
  }

  it("accepts the Node versions package.json's engines names, and no other", () => {
    const engines = JSON.parse(readFileSync(path.join(SCRIPTS, "..", "package.json"), "utf8")).engines.node;
    // node:sqlite (the deploy test's simulated D1) needs a flag before 22.13.0; vitest supports 22, 24 and 26 on.
    for (const version of ["22.13.0", "22.23.3", "24.0.0", "24.11.1", "26.0.0", "27.1.0"])
      expect(nodeSatisfies(version, engines), version).toBe(true);
    for (const version of ["20.20.2", "22.12.0", "23.11.0", "25.2.1"]) expect(nodeSatisfies(version, engines), version).toBe(false);
  });

  it("a busy port is a clear error with a failing exit, and nothing claims to be running", async () => {
    const { server, port } = await listening((_request, response) => response.end("another server"));
    try {
      const result = await run([path.join(SCRIPTS, "start.mjs"), "--worker-only", "--port", String(port)]);
      expect(result.code).toBe(1);
      expect(result.output).toContain(`Port ${port} is already in use`);
      expect(result.output).toContain(`npm start -- --port ${port + 1}`);
      expect(result.output).not.toContain("Tracker:");
    } finally {
      server.close();
    }
  });

  it("refuses a port that is not a number", async () => {
    const result = await run([path.join(SCRIPTS, "start.mjs"), "--worker-only", "--port", "eighty"]);
    expect(result.code).toBe(1);
    expect(result.output.trim()).toBe('--port takes a port number (1-65535), not "eighty".');
  });

  it("--port N serves the tracker on N and says only where it is", async () => {
    const { server, port } = await listening(() => {});
    await new Promise((resolve) => server.close(resolve));
    let whileRunning = "";
    const result = await run([path.join(SCRIPTS, "start.mjs"), "--worker-only", "--port", String(port)], {
      until: {
        output: /Ctrl\+C stops it\./,
        meanwhile: async () => {
          whileRunning = await (await fetch(`http://127.0.0.1:${port}/`)).text();
        },
      },
    });
    expect(whileRunning).toMatch(/^mailtracker: /);
    expect(result.output.trim().split("\n")).toEqual([
      `Tracker: http://127.0.0.1:${port} (log: .wrangler/tracker.log)`,
      "Ctrl+C stops it.",
    ]);
    expect(result.code).toBe(0);
    const afterwards = await fetch(`http://127.0.0.1:${port}/`).then(
      (response) => `still answering: ${response.status}`,
      () => "stopped",
    );
    expect(afterwards).toBe("stopped");
  });
});
