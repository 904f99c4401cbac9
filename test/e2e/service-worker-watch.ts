// Stopping the extension's service worker as Chrome does once it idles, and seeing it start again: shared by the
// end-to-end harness (chromium.ts, stopBackground) and the bench (bench/gmail-list.mjs, a list sent to a stopped worker).
import type { BrowserContext } from "playwright-core";
import { eventually } from "./wait";

/** A version of a service worker as CDP's ServiceWorker domain reports it (ServiceWorkerVersion). */
interface WorkerVersion {
  versionId: string;
  scriptURL: string;
  runningStatus: "stopped" | "starting" | "running" | "stopping";
}

export interface ServiceWorkerWatch {
  /** Stops the worker and waits until it has stopped. */
  stop(): Promise<void>;
  /** The times the worker started since it last stopped. */
  restarts(): number;
}

/**
 * Watches the service worker at `scriptUrl`, to stop it as Chrome does once it idles. Chrome stops an extension's idle
 * worker after 30 s ("After 30 seconds of inactivity. Receiving an event or calling an extension API resets this timer":
 * developer.chrome.com/docs/extensions/develop/concepts/service-workers/lifecycle, "Idle and shutdown", read
 * 2026-12-07), but never while a DevTools session is attached to it, and playwright attaches to every service
 * worker of the context (`context.serviceWorkers()`): under playwright it would run for the whole suite. So it is
 * stopped on purpose, with CDP's ServiceWorker.stopWorker (chromedevtools.github.io/devtools-protocol/tot/
 * ServiceWorker): its handler calls ServiceWorkerVersion::StopWorker (content/browser/devtools/protocol/
 * service_worker_handler.cc), the call Chrome's idle timeout ends in too. Chrome's guide closes the worker's target
 * instead ("Test service worker termination with Puppeteer", developer.chrome.com/docs/extensions/how-to/test/
 * test-serviceworker-termination-with-puppeteer), which waits for every session attached to it to go: playwright's
 * stays. The domain is asked from a blank tab opened now, in the same storage partition as the extension; its
 * workerVersionUpdated events say when the worker stopped and each time it starts again.
 */
export async function watchServiceWorker(context: BrowserContext, scriptUrl: string): Promise<ServiceWorkerWatch> {
  const session = await context.newCDPSession(await context.newPage());
  let latest: WorkerVersion | undefined;
  /** Times it stopped, and started again since it last stopped. */
  let stops = 0;
  let restarts = 0;
  session.on("ServiceWorker.workerVersionUpdated", ({ versions }: { versions: WorkerVersion[] }) => {
    for (const version of versions) {
      if (version.scriptURL !== scriptUrl) continue;
      if (version.runningStatus !== latest?.runningStatus && version.runningStatus === "stopped") {
        stops += 1;
        restarts = 0;
      }
      if (version.runningStatus !== latest?.runningStatus && version.runningStatus === "running") restarts += 1;
      latest = version;
    }
  });
  await session.send("ServiceWorker.enable");
  return {
    async stop() {
      const { versionId } = await eventually("the extension's service worker", async () => latest);
      const before = stops;
      await session.send("ServiceWorker.stopWorker", { versionId });
      await eventually("the extension's service worker stopped", async () => (stops > before ? true : undefined));
    },
    restarts: () => restarts,
  };
}
