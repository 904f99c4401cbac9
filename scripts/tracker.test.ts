// The ports the tests and the bench start trackers on: free, and out of the way of every process that binds port 0.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { freePort } from "./tracker.mjs";

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
