import { describe, expect, it } from "vitest";
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
});
