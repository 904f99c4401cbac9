import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dailyActivityQuery, registerMessageRequest, signalsRequest, statusRequest } from "../shared/api";
import { manifestFor } from "./manifest.config";

const hosts = (manifest: unknown) => manifest as { host_permissions: string[]; optional_host_permissions: string[] };

describe("manifest", () => {
  it("store builds ask for the local tracker at connect time, like any other; development builds have it up front", () => {
    for (const target of ["chrome", "firefox"] as const) {
      const store = hosts(manifestFor(target, "store"));
      expect(store.host_permissions).toEqual(["https://mail.google.com/*"]);
      expect(store.optional_host_permissions).toEqual(["http://*/*", "https://*/*"]);
      const development = hosts(manifestFor(target, "development"));
      expect(development.host_permissions).toEqual(expect.arrayContaining(["http://127.0.0.1/*", "http://localhost/*"]));
    }
  });

  it("tells Firefox's install prompt each kind of data the extension's requests carry to the rep's tracker", () => {
    const { gecko } = (
      manifestFor("firefox", "store") as { browser_specific_settings: { gecko: { data_collection_permissions: unknown } } }
    ).browser_specific_settings;
    // Each declared kind, with the fields of the tracker's API (the schemas the extension's typed client sends) that
    // carry it: a field taken out fails here, and so does a kind left out while its fields are sent.
    const carriedBy = {
      personallyIdentifyingInfo: ["recipients" in registerMessageRequest.shape, "self" in signalsRequest.shape],
      personalCommunications: ["subject" in registerMessageRequest.shape, "links" in registerMessageRequest.shape],
      websiteContent: ["threadId" in registerMessageRequest.shape, "gmailMessageId" in registerMessageRequest.shape],
      browsingActivity: ["threadIds" in statusRequest.shape],
      websiteActivity: ["sentAt" in registerMessageRequest.shape],
      locationInfo: ["zone" in dailyActivityQuery.shape],
      // In headers, which no schema describes: the registration secret (X-Registration-Secret, background/api.ts) and
      // the account's token (Authorization).
      authenticationInfo: [],
    };
    for (const [kind, fields] of Object.entries(carriedBy)) expect(fields, kind).not.toContain(false);
    expect(gecko.data_collection_permissions).toEqual({ required: Object.keys(carriedBy) });
  });

  it("keeps Firefox from upgrading the background's requests to a tracker on plain http (a local-network address)", () => {
    const { content_security_policy } = manifestFor("firefox", "store") as { content_security_policy?: { extension_pages: string } };
    expect(content_security_policy?.extension_pages).toBe("script-src 'self'");
  });

  it("asks for a Chrome that has every newer web API the extension's code calls", () => {
    // Each API with the first Chrome that has it (MDN's browser-compat-data): an older Chrome installs the extension,
    // adds the pixel at the send, then throws before the email is registered.
    const introducedIn: Record<string, number> = { "URL.canParse(": 120, "Promise.withResolvers(": 119, "Array.prototype.toSorted": 110 };
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? files(join(dir, entry.name))
          : /\.tsx?$/.test(entry.name) && !entry.name.includes(".test.")
            ? [join(dir, entry.name)]
            : [],
      );
    const code = [...files(join(__dirname, "src")), ...files(join(__dirname, "../shared"))].map((f) => readFileSync(f, "utf8")).join("\n");
    const needed = Math.max(
      111,
      ...Object.entries(introducedIn)
        .filter(([api]) => code.includes(api))
        .map(([, version]) => version),
    );
    expect(needed).toBeGreaterThanOrEqual(120); // URL.canParse is in use today: the check reads the code
    const { minimum_chrome_version } = manifestFor("chrome", "store") as { minimum_chrome_version: string };
    expect(Number(minimum_chrome_version)).toBeGreaterThanOrEqual(needed);
  });
});
