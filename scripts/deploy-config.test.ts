import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module without type declarations
import { candidateZones, failedTriggerSteps, nextSteps, PERMISSIONS, renderDeployConfig, trackerHostname } from "./deploy-config.mjs";

const template = readFileSync(path.join(import.meta.dirname, "..", "wrangler.toml"), "utf8");
const acmeDomain = { hostname: "t.acme-sales.com", zoneName: "acme-sales.com" };
const ids = { d1DatabaseId: "3f1c2b9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", kvNamespaceId: "0123456789abcdef0123456789abcdef" };

describe("deploy config", () => {
  it("fills in this deployment's resource ids", () => {
    const config = renderDeployConfig(template, ids);
    expect(config).toContain(`database_id = "${ids.d1DatabaseId}"`);
    expect(config).toContain(`id = "${ids.kvNamespaceId}"`);
    expect(config).not.toContain("00000000");
    expect(config).not.toContain("routes");
  });

  it("serves the worker on each of the rep's own domains, naming its zone, as a top-level key", () => {
    const domains = [
      { hostname: "t2.acme-sales.com", zoneName: "acme-sales.com" },
      { hostname: "t.acme.co.uk", zoneName: "acme.co.uk" },
    ];
    const config = renderDeployConfig(template, { ...ids, domains });
    const route = config.indexOf(
      'routes = [{ pattern = "t2.acme-sales.com", custom_domain = true, zone_name = "acme-sales.com" }, ' +
        '{ pattern = "t.acme.co.uk", custom_domain = true, zone_name = "acme.co.uk" }]',
    );
    expect(route).toBeGreaterThan(0);
    expect(route).toBeLessThan(config.indexOf("[["));
  });

  it("turns workers.dev off on the rep's own domain, unless told to keep it", () => {
    expect(renderDeployConfig(template, { ...ids, domains: [acmeDomain] })).toMatch(/^workers_dev = false$/m);
    expect(renderDeployConfig(template, { ...ids, domains: [acmeDomain], keepWorkersDev: true })).toMatch(/^workers_dev = true$/m);
  });

  it("sets no development-only switch on a deployed tracker", () => {
    const config = renderDeployConfig(template, { ...ids, domains: [acmeDomain] });
    // DEV_REQUEST_CF (worker/src/dev-request-cf.ts) lives in .dev.vars only; FEED_SETTLE_SECONDS is for tests.
    expect(config).not.toMatch(/^\s*DEV_REQUEST_CF\s*=/m);
    expect(config).not.toMatch(/^\s*FEED_SETTLE_SECONDS\s*=/m);
  });

  it("refuses malformed ids and domains", () => {
    expect(() => renderDeployConfig(template, { ...ids, d1DatabaseId: "x" })).toThrow();
    expect(() =>
      renderDeployConfig(template, { ...ids, domains: [acmeDomain, { hostname: 'evil" ]\n[vars', zoneName: "acme-sales.com" }] }),
    ).toThrow();
    expect(() => renderDeployConfig(template, { ...ids, domains: [{ hostname: "t.acme-sales.com", zoneName: 'evil" }' }] })).toThrow();
  });

  it("leaves Cloudflare to infer a zone the listing of the tracker's Custom Domains did not name", () => {
    const config = renderDeployConfig(template, { ...ids, domains: [acmeDomain, { hostname: "t2.acme-sales.com" }] });
    expect(config).toContain(
      'routes = [{ pattern = "t.acme-sales.com", custom_domain = true, zone_name = "acme-sales.com" }, { pattern = "t2.acme-sales.com", custom_domain = true }]',
    );
  });

  it("makes every deployed version carry both secrets (secrets.required)", () => {
    expect(renderDeployConfig(template, ids)).toMatch(/\n\[secrets\]\nrequired = \["SIGNING_SECRET","REGISTRATION_SECRET"\]\n$/);
  });

  it("takes TRACKER_DOMAIN as a hostname, also when pasted as an address, and refuses anything else", () => {
    expect(trackerHostname("t.acme-sales.com")).toBe("t.acme-sales.com");
    expect(trackerHostname(" https://T.Acme-Sales.com/ ")).toBe("t.acme-sales.com");
    expect(trackerHostname("http://t.acme-sales.com")).toBe("t.acme-sales.com");
    expect(trackerHostname("t.acme-sales.com/")).toBe("t.acme-sales.com");
    for (const value of ["t.acme-sales.com/track", "t.acme-sales.com:8443", "https://", "acme", "t acme.com", 'evil" ]\n[vars'])
      expect(trackerHostname(value)).toBeNull();
  });

  it("looks for a domain's zone from the longest name down", () => {
    expect(candidateZones("t.acme.co.uk")).toEqual(["t.acme.co.uk", "acme.co.uk", "co.uk"]);
  });

  it("ends with the URL and, on the first deploy only, the registration secret and where to paste it", () => {
    const first = nextSteps({ url: "https://t.acme.com", registrationSecret: "s3cret" });
    expect(first).toContain("Your tracker: https://t.acme.com");
    expect(first).toContain("Registration secret (shown once, keep it somewhere safe): s3cret");
    const later = nextSteps({ url: "https://t.acme.com" });
    expect(later).not.toContain("shown once");
    expect(later).toContain("npx wrangler secret put REGISTRATION_SECRET");
  });

  it("reads which trigger steps wrangler reports as failed, from its report's own layout", () => {
    // wrangler 4.155.0's report (triggersDeploy), as it prints it to a pipe: colour codes, then each failed step
    // indented above its errors.
    const report = [
      "  https://mailtracker.rep-acme.workers.dev",
      "",
      '\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1mTrigger configuration for "mailtracker" was only partially updated:\u001b[0m',
      "",
      "    Cron schedules:",
      "      - A request to the Cloudflare API (/accounts/0123/workers/scripts/mailtracker/schedules) failed.",
      "        - This account has reached the Workers Free limit of 5 cron triggers per account. [code: 10072]",
      "",
      "    Custom domains:",
      "      - A request to the Cloudflare API (/accounts/0123/workers/scripts/mailtracker/domains/records) failed.",
      "        - An unknown error has occurred [code: 10013]",
      "",
      "  Successful trigger changes were not rolled back.",
    ].join("\n");
    expect(failedTriggerSteps(report)).toEqual(["Cron schedules", "Custom domains"]);
    expect(failedTriggerSteps("✘ [ERROR] A request to the Cloudflare API (/accounts/0123/workers/scripts/mailtracker) failed.")).toEqual(
      [],
    );
  });
});

describe("the API token permissions the deploy names", () => {
  it("are the README's, word for word", () => {
    const readme = readFileSync(path.join(import.meta.dirname, "..", "README.md"), "utf8").replace(/\s+/g, " ");
    for (const permission of Object.values(PERMISSIONS) as string[]) expect(readme).toContain(permission);
  });
});
