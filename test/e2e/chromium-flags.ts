// What every Chromium the project drives with the simulated Gmail shares: the end-to-end tests (chromium.ts,
// chromium-background.ts) and the render bench (bench/gmail-render.mjs, which loads this file in Node as it is:
// no imports but types, so Node's type stripping runs it).
import type { BrowserContext, Route } from "playwright-core";
import type { SimulatedGoogle } from "./gmail-sim/google";

/** Nothing of Chromium's own reaching the network, no first-run or sync prompts. */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The flags loading a built extension unpacked, and it alone. */
export function extensionFlags(extensionDir: string): string[] {
  return [`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`, ...CHROMIUM_FLAGS];
}

/**
 * Google's hosts routed to the simulation (`google.answers`: Gmail, and the image proxy's `ciN.googleusercontent.com`);
 * a request there it does not answer goes on, which offline means it fails as an unreachable Google would.
 */
export async function routeToSimulatedGoogle(context: BrowserContext, google: SimulatedGoogle): Promise<void> {
  const answer = async (route: Route) => {
    const request = route.request();
    const response = await google.handle(request.url(), request.method(), request.postData());
    if (!response) return route.continue();
    return route.fulfill({ status: response.status, contentType: response.contentType, body: response.body, headers: response.headers });
  };
  await context.route((url) => google.answers(url.href), answer);
}
