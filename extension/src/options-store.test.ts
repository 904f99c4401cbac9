import { describe, expect, it, vi } from "vitest";

// webextension-polyfill refuses to load outside an extension; these tests use only pure functions of modules that
// import it, so an extension id is enough to let the import through (no extension API is called).
vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { DEFAULT_OPTIONS, hostMatchesDomains, migrate, normalizeTrackerUrl, parseDomainList } from "./options-store";

describe("options store", () => {
  it("gives defaults for nothing stored, and migrates v1 (one switch, comma-separated domains)", () => {
    expect(migrate(undefined)).toEqual(DEFAULT_OPTIONS);
    expect(migrate({ trackByDefault: false, excludedDomains: "Acme.com, @sales.acme.com" })).toMatchObject({
      openTrackingByDefault: false,
      clickTrackingByDefault: false,
      excludedRecipientDomains: ["acme.com", "sales.acme.com"],
    });
    expect(migrate({ version: 2, trackerUrl: "javascript:alert(1)", debug: "yes" })).toMatchObject({
      trackerUrl: DEFAULT_OPTIONS.trackerUrl,
      debug: false,
    });
  });

  it("keeps the opt-out link off by default with a default wording; a blank wording falls back to it", () => {
    expect(DEFAULT_OPTIONS.optOutLinkByDefault).toBe(false);
    expect(migrate({ version: 2, optOutLinkByDefault: true, optOutText: "  Stop these  " })).toMatchObject({
      optOutLinkByDefault: true,
      optOutText: "Stop these",
    });
    expect(migrate({ version: 2, optOutText: "   " }).optOutText).toBe(DEFAULT_OPTIONS.optOutText);
  });

  it("normalises tracker URLs and domain lists, and matches subdomains", () => {
    expect(normalizeTrackerUrl(" https://t.example/base/ ")).toBe("https://t.example/base");
    expect(normalizeTrackerUrl("ftp://t.example")).toBeNull();
    expect(parseDomainList("a.example\n*.b.example; bad_domain")).toEqual(["a.example", "b.example"]);
    expect(hostMatchesDomains("mail.a.example", ["a.example"])).toBe(true);
    expect(hostMatchesDomains("nota.example", ["a.example"])).toBe(false);
  });
});
