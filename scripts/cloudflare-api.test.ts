// The deploy's own API calls behind an HTTP proxy, as wrangler's are (cloudflare-api.mjs useProxyFromEnvironment).
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { Agent, setGlobalDispatcher } from "undici";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { cloudflareApi, conflictsWithCustomDomain, useProxyFromEnvironment } from "./cloudflare-api.mjs";

const servers: Server[] = [];
async function listening(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  setGlobalDispatcher(new Agent());
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

describe("the deploy's API calls", () => {
  it("go through the HTTP proxy the environment names, and straight to the API without one", async () => {
    const api = await listening(
      createServer((_request, response) => {
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ success: true, result: { id: "acc" }, errors: [] }));
      }),
    );
    // A proxy that tunnels with CONNECT, as HTTPS through any HTTP proxy goes. undici tunnels a plain-HTTP request too:
    // ProxyAgent's `proxyTunnel` defaults to true in its code (undici 7.30.1, lib/dispatcher/proxy-agent.js), though its
    // docs (docs/api/ProxyAgent.md) say false; this test's API is plain HTTP, so it relies on that code.
    const proxied: string[] = [];
    const proxyServer = createServer((_request, response) => response.writeHead(405).end());
    proxyServer.on("connect", (request, client, head) => {
      proxied.push(request.url ?? "");
      const [host, port] = (request.url ?? "").split(":");
      const upstream = connect(Number(port), host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
    const proxy = await listening(proxyServer);
    const call = cloudflareApi({ type: "api_token", token: "t" }, `${api}/client/v4`);

    useProxyFromEnvironment({});
    expect(await call("GET", "/accounts")).toMatchObject({ ok: true, result: { id: "acc" } });
    expect(proxied).toEqual([]);

    // undici's EnvHttpProxyAgent reads the variables from process.env itself.
    process.env.HTTP_PROXY = proxy;
    try {
      useProxyFromEnvironment();
      expect(await call("GET", "/accounts")).toMatchObject({ ok: true, result: { id: "acc" } });
    } finally {
      delete process.env.HTTP_PROXY;
    }
    expect(proxied).toEqual([new URL(api).host]);
  });
});

describe("the DNS records a Custom Domain on TRACKER_DOMAIN conflicts with", () => {
  it("are its address records and a delegation below the apex, not its mail or text records", () => {
    const at = (type: string, name = "t.acme-sales.com") => conflictsWithCustomDomain({ type, name }, "acme-sales.com");
    expect(["A", "AAAA", "CNAME", "NS"].filter((type) => at(type))).toEqual(["A", "AAAA", "CNAME", "NS"]);
    expect(["MX", "TXT", "CAA", "SRV"].filter((type) => at(type))).toEqual([]);
    // The zone's own nameservers, at its apex, stand in no Custom Domain's way there.
    expect(at("NS", "acme-sales.com")).toBe(false);
    expect(at("A", "acme-sales.com")).toBe(true);
  });
});
