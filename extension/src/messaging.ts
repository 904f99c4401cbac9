// Typed messages between the extension's contexts and the background. The types come from the handlers themselves
// (background/handlers.ts: each input's schema and each function's answer), so a caller cannot send a message the
// background does not handle or misread its answer; the background validates every input against the same schema.
// Errors cross the boundary as plain strings, never as thrown objects.
import type { HandlerInput as Input, HandlerOutput as Output } from "./background/handler";
import type { GmailHandlers, PageHandlers } from "./background/handlers";
import type { Envelope } from "./envelope";
import { browser } from "./web-ext";

export type Reply<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * The extension was updated, reloaded or removed after this page loaded: the copy of the content script still in the
 * page can never reach a background again, and only reloading Gmail brings the new one (Chrome injects content
 * scripts into pages as they load, not into open ones). Said so, since the rep can act on it.
 */
export class ExtensionReloaded extends Error {
  constructor() {
    super("Mailtracker was updated or reloaded since Gmail opened: reload Gmail to track from this tab");
  }
}

/**
 * Whether this copy of the script is cut off from the extension (ExtensionReloaded): Chrome's "Extension context
 * invalidated" leaves the page's runtime without an id (Stack Overflow question 53939205, 2018; seen after an
 * extension update in dlsudatasci/citepoint issue 119, 2026-06-26: "chrome.runtime.id was undefined").
 */
export function extensionReloaded(): boolean {
  return !browser.runtime?.id;
}

async function send<T>(type: string, input: unknown): Promise<T> {
  const envelope: Envelope = { mt: 1, type, input };
  let reply: Reply<T> | undefined;
  try {
    reply = (await browser.runtime.sendMessage(envelope)) as Reply<T> | undefined;
  } catch (error) {
    // Chrome's "Extension context invalidated.": the call throws, and the page's runtime has no id any more.
    if (extensionReloaded()) throw new ExtensionReloaded();
    throw error;
  }
  if (!reply) throw new Error(`the background did not answer ${type}`);
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

/** From the Gmail content script. */
export function callFromGmail<K extends keyof GmailHandlers>(type: K, input: Input<GmailHandlers[K]>): Promise<Output<GmailHandlers[K]>> {
  return send(type, input);
}

/** From the extension's own pages (options, popup). */
export function callFromPage<K extends keyof PageHandlers>(type: K, input: Input<PageHandlers[K]>): Promise<Output<PageHandlers[K]>> {
  return send(type, input);
}
