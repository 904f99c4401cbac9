// One file per feature (refined-github style): each exports a Feature whose init(signal, context) wires itself
// into Gmail and undoes everything when the signal aborts (options changed, extension reloaded).
import type { Options } from "../options-store";

export interface FeatureContext {
  options: Options;
}

export interface Feature {
  id: string;
  init(signal: AbortSignal, context: FeatureContext): void;
}

/**
 * Wraps anything that runs inside Gmail's event flow: whatever goes wrong stays here, logged, and never reaches
 * Gmail's own handlers.
 */
export function guarded<A extends unknown[]>(label: string, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (error) {
      console.warn(`[mailtracker] ${label} failed`, error);
    }
  };
}

/**
 * `fn`, run once at the end of the current microtask checkpoint however often the returned function is called before
 * then: one Gmail insertion reaches several listeners (its elements, its pixels, each of its rows) in one checkpoint,
 * and one run after them all answers every one, still before the next paint.
 */
export function oncePerCheckpoint(fn: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      fn();
    });
  };
}

/** Pixels this extension itself put into a compose: sender-pixels must leave them alone. */
export const ownPixels = new WeakSet<Element>();

/** Drops the first keys of `kept` (a Map or a Set: their order is the order keys were added) past `max`. */
export function keepLast(kept: Map<unknown, unknown> | Set<unknown>, max: number): void {
  for (const key of kept.keys()) {
    if (kept.size <= max) return;
    kept.delete(key);
  }
}

/**
 * The draft ids (`msg-a:r…`, a compose's `draft` input) of the composes this tab sent, tracked or not: Gmail may show
 * a message just sent with its draft's legacy id (gmail-selectors.ts messageGmailIds). A message carrying one is the
 * rep's own, never a reply, and needs no id. Only while it is just sent: InboxSDK forgets a draft id 30 s after its
 * compose closes (gmail-driver.ts reportDraftClosed, at a8a6fe2 of 2026-07-23). A tab open for days sends hundreds,
 * so it keeps the last SENT_DRAFTS_KEPT (keepLast), not one string per send for its life.
 */
export const sentDraftIds = new Set<string>();
export const SENT_DRAFTS_KEPT = 200;
