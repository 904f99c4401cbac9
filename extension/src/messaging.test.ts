// Calls to the background from a page whose extension changed under it: the rep is told what to do.
import { afterEach, describe, expect, it, vi } from "vitest";

/** The messaging module over a stand-in for Chrome's runtime (web-ext.ts reads the global when it loads). */
async function messagingOver(runtime: { id?: string; sendMessage: (message: unknown) => Promise<unknown> }) {
  vi.stubGlobal("browser", undefined);
  vi.stubGlobal("chrome", { runtime });
  return import("./messaging");
}

describe("calls to the background", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it("says to reload Gmail once the extension was updated or reloaded under the page", async () => {
    const runtime = {
      id: "extension-id" as string | undefined,
      sendMessage: vi.fn(
        async (_message: unknown): Promise<unknown> => ({ ok: true, value: { trackingId: "t1", trackerUrl: "https://t" } }),
      ),
    };
    const { callFromGmail, ExtensionReloaded } = await messagingOver(runtime);
    await expect(callFromGmail("mintId", null)).resolves.toEqual({ trackingId: "t1", trackerUrl: "https://t" });
    // Chrome, after the extension is updated: the old content script's calls throw, and its runtime has no id.
    runtime.sendMessage.mockRejectedValue(new Error("Extension context invalidated."));
    runtime.id = undefined;
    const failure = callFromGmail("mintId", null);
    await expect(failure).rejects.toBeInstanceOf(ExtensionReloaded);
    await expect(failure).rejects.toThrow("reload Gmail to track from this tab");
  });

  it("passes any other failure on as it is", async () => {
    const runtime = { id: "extension-id", sendMessage: vi.fn(async () => Promise.reject(new Error("Could not establish connection."))) };
    const { callFromGmail } = await messagingOver(runtime);
    await expect(callFromGmail("mintId", null)).rejects.toThrow("Could not establish connection.");
  });
});
