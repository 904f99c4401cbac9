// A tracker at an IPv6 address ("http://[fd12::1]:8787" on a private network, [::1] on this machine): the host
// permission the extension asks for at Connect (options-store.ts trackerHostPattern, through gmail-health.ts
// neededOrigins) must be a match pattern the browser takes, and once granted must let the extension's fetches reach
// that origin, in Chromium and Firefox alike. Neither browser's match-pattern page speaks of IPv6 hosts: Chrome's
// "Match patterns" (developer.chrome.com/docs/extensions/develop/concepts/match-patterns: the host "a hostname", an IP
// address as in http://127.0.0.1/*, the port optional and any by default) and MDN's "Match patterns" (the host "a
// complete hostname, without wildcards"), both read 2026-12-07; seen here to work, Chromium 156 and Firefox ESR 153.
//
// What is checked is the browser's grant for an IPv6 host, not the tracker (its own end-to-end tests run it on
// 127.0.0.1), nor the IPv6 socket, which is the OS's: so the browsers reach http://[::1]:PORT/ through an HTTP proxy
// on 127.0.0.1 that answers for it, and the test reads from the proxy which URL and Host each request named. The
// permission and CORS checks go by the URL's origin, before any connection is made, so they are the same through a
// proxy. Always the proxy, not only where ::1 cannot be bound (a Docker container on an IPv4-only network, a kernel
// booted with ipv6.disable=1): one path, the same on every machine, with none left that only some machines run.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { trackerHostPattern } from "../../extension/src/options-store";
import { launchChromium } from "./chromium";
import { launchFirefox } from "./firefox";
import type { BrowserHarness, Tab } from "./harness";

const BODY = "answered for [::1]";
const OPTIONS_PAGE = "extension/src/options/index.html";
const CHROME_DIST = path.resolve(import.meta.dirname, "../../dist/chrome");

/** What an extension page's permissions.contains says of `pattern`, or the browser's error for it. */
const contains = (page: Tab, pattern: string) =>
  page.evaluate(async (p) => {
    type Ext = { permissions: { contains(p: { origins: string[] }): Promise<boolean> } };
    const g = globalThis as unknown as { browser?: Ext; chrome?: Ext };
    try {
      return await (g.browser ?? g.chrome)?.permissions.contains({ origins: [p] });
    } catch (error) {
      return `refused: ${String(error)}`;
    }
  }, pattern);

/** What an extension page's fetch of `url` reads: the body, or the failure. */
const fetched = (page: Tab, url: string) =>
  page.evaluate(async (u) => {
    try {
      return await (await fetch(u, { cache: "no-store" })).text();
    } catch (error) {
      return `failed: ${String(error)}`;
    }
  }, url);

/**
 * What the extension's own permissions.request of `pattern` answers when the rep's click asks (Firefox asks only
 * within a user action: MDN, permissions.request()). Resolves with it; in Chromium, whose prompt is browser UI a test
 * cannot click, a pattern it takes leaves the request waiting on that prompt, so `answered` false returns at once.
 */
async function requestFromClick(page: Tab, pattern: string, answered: boolean): Promise<string | undefined> {
  await page.evaluate((p) => {
    type Ext = { permissions: { request(p: { origins: string[] }): Promise<boolean> } };
    const g = globalThis as unknown as { browser?: Ext; chrome?: Ext; asked?: string };
    document.getElementById("ask")?.remove();
    const button = document.createElement("button");
    button.id = "ask";
    button.textContent = "ask";
    g.asked = undefined;
    button.addEventListener("click", () => {
      (g.browser ?? g.chrome)?.permissions.request({ origins: [p] }).then(
        (granted) => {
          g.asked = String(granted);
        },
        (error: unknown) => {
          g.asked = `refused: ${String(error)}`;
        },
      );
    });
    document.body.append(button);
  }, pattern);
  await page.click("#ask");
  if (answered) await page.waitFor(() => (globalThis as { asked?: string }).asked, null);
  return page.evaluate(() => (globalThis as { asked?: string }).asked, null);
}

/** A copy of the built Chromium extension whose manifest grants `pattern` (host_permissions), in a new directory. */
function chromeBuildGranting(pattern: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "mt-ipv6-"));
  cpSync(CHROME_DIST, dir, { recursive: true });
  const manifestFile = path.join(dir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { host_permissions: string[] };
  manifest.host_permissions.push(pattern);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return dir;
}

describe("a tracker at an IPv6 address", () => {
  let proxy: Server;
  let proxyUrl: URL;
  let trackerUrl = "";
  /** The request a browser sends the proxy for the tracker's root: its absolute URL, and the Host it names. */
  let trackerRequest = "";
  /** Each request for the tracker the proxy was given, as trackerRequest reads; taken by fetchTracker. */
  const proxied: string[] = [];
  let pattern = "";
  let harness: BrowserHarness | undefined;
  const dirs: string[] = [];

  /**
   * What the extension page's fetch of the tracker reads, and the requests for it the proxy was given: one, whether
   * the browser lets the page read the answer or not, shows that what decided it was the browser, not the network.
   */
  const fetchTracker = async (page: Tab) => ({ read: await fetched(page, `${trackerUrl}/`), proxied: proxied.splice(0) });

  beforeAll(async () => {
    proxy = createServer((request, response) => {
      // The browsers' own requests come here too (Chromium 156 POSTed to update.googleapis.com, 2026-12-07): the
      // proxy has no network behind it but the tracker.
      if (!request.url?.startsWith(`${trackerUrl}/`)) return void response.writeHead(502).end();
      proxied.push(`${request.method} ${request.url} Host: ${request.headers.host}`);
      response.writeHead(200, { "Content-Type": "text/plain" }).end(BODY);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as AddressInfo;
    proxyUrl = new URL(`http://127.0.0.1:${port}`);
    // The proxy's port: nothing listens on [::1] there, so a request the browser sent direct would read no body.
    trackerUrl = `http://[::1]:${port}`;
    trackerRequest = `GET ${trackerUrl}/ Host: [::1]:${port}`;
    pattern = trackerHostPattern(trackerUrl);
  });

  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("the pattern built for it names the host in brackets, on any port", () => {
    expect(pattern).toBe("http://[::1]/*");
  });

  it("Firefox takes the pattern, asks for it, and once granted lets the extension reach the tracker", async () => {
    harness = await launchFirefox(proxyUrl);
    const page = await harness.newTab(harness.extensionUrl(OPTIONS_PAGE));
    // Not granted yet (the development build grants 127.0.0.1 and localhost only): asked about, not refused as a pattern.
    expect(await contains(page, pattern)).toBe(false);
    expect(await fetchTracker(page)).toEqual({ read: expect.stringMatching(/^failed: /), proxied: [trackerRequest] });
    // The test profile answers Allow (firefox.ts).
    expect(await requestFromClick(page, pattern, true)).toBe("true");
    expect(await contains(page, pattern)).toBe(true);
    expect(await fetchTracker(page)).toEqual({ read: BODY, proxied: [trackerRequest] });
  });

  it("Chromium takes the pattern and asks for it; granted, it lets the extension reach the tracker", async () => {
    harness = await launchChromium(CHROME_DIST, proxyUrl);
    const page = await harness.newTab(harness.extensionUrl(OPTIONS_PAGE));
    expect(await contains(page, pattern)).toBe(false);
    expect(await fetchTracker(page)).toEqual({ read: expect.stringMatching(/^failed: /), proxied: [trackerRequest] });
    // What Chromium answers a pattern it does not take, at once: the same request with the bracket left open.
    expect(await requestFromClick(page, "http://[::1/*", true)).toMatch(/^refused: .*Invalid value for origin pattern/);
    // Ours is put to the rep: the request waits on the prompt. The browser answers an extension's calls in the order
    // they come, so once a later call is answered a refusal of the request would have come before it.
    expect(await requestFromClick(page, pattern, false)).toBeUndefined();
    expect(await contains(page, pattern)).toBe(false);
    expect(await page.evaluate(() => (globalThis as { asked?: string }).asked, null)).toBeUndefined();
    await harness.close();
    // The prompt cannot be answered from a test, and chrome://extensions' "Site access" adds only sites the manifest
    // asks for (developerPrivate.addHostPermission of it left permissions.contains false, Chromium 156, 2026-12-07): the
    // same pattern granted through the manifest, which Chromium reads with the same match-pattern parser.
    const dir = chromeBuildGranting(pattern);
    dirs.push(dir);
    harness = await launchChromium(dir, proxyUrl);
    const granted = await harness.newTab(harness.extensionUrl(OPTIONS_PAGE));
    expect(await contains(granted, pattern)).toBe(true);
    expect(await fetchTracker(granted)).toEqual({ read: BODY, proxied: [trackerRequest] });
  });
});
