// What the read-receipt features watch in Gmail, written once: the elements a selector names being added or
// re-rendered (Gmail swaps rows and messages in place), and the background's "the feed has news" signal.
import type Browser from "webextension-polyfill";
import { NEWS_KEY } from "../background/notifications";
import { browser } from "../web-ext";
import { guarded } from "./feature";
import { anyOf, type SelectorName } from "./gmail-selectors";

/** Anything this extension draws into Gmail: every class of ours starts with `mt-` (ui.ts). */
const OURS = '[class^="mt-"], [class*=" mt-"]';

/**
 * Whether mutations added (or changed the content of) an element `watched` selects (anyOf's list), or removed one
 * of ours. Every observer runs this on every insertion Gmail makes, before the next paint: one selector list walks
 * the ancestors once and the subtree once, where a selector at a time walked them once per selector.
 */
export function touches(records: readonly MutationRecord[], watched: string, ownClass: string | null): boolean {
  for (const record of records) {
    for (const node of record.addedNodes) {
      // Text put into an existing element (a row's participants updated) counts for that element.
      const element = node instanceof Element ? node : node.parentElement;
      if (!element || element.closest(OURS)) continue;
      if (element.closest(watched) || element.querySelector(watched)) return true;
    }
    if (ownClass) for (const node of record.removedNodes) if (node instanceof Element && node.classList.contains(ownClass)) return true;
  }
  return false;
}

/**
 * Calls `onChange` after mutations that add or re-render what `names` select, or remove an element of class
 * `ownClass` (ours, which Gmail's re-render may drop). Insertions of any feature's own elements do not trigger it.
 */
export function watchElements(names: readonly SelectorName[], ownClass: string | null, onChange: () => void, signal: AbortSignal): void {
  const watched = anyOf(names);
  const observer = new MutationObserver(
    guarded(`watch ${names.join(", ")}`, (records: MutationRecord[]) => {
      if (touches(records, watched, ownClass)) onChange();
    }),
  );
  observer.observe(document, { childList: true, subtree: true });
  signal.addEventListener("abort", () => observer.disconnect(), { once: true });
}

/** Calls `onNews` when the background's feed poll brought news, with the threads it names (none: all may have). */
export function onFeedNews(onNews: (threadIds: string[] | undefined) => void, signal: AbortSignal): void {
  const listener = guarded("feed news", (changes: Record<string, Browser.Storage.StorageChange>, area: string) => {
    if (area !== "local" || !(NEWS_KEY in changes)) return;
    const value = changes[NEWS_KEY]?.newValue as { threadIds?: string[] } | undefined;
    onNews(Array.isArray(value?.threadIds) ? value.threadIds : undefined);
  });
  browser.storage.onChanged.addListener(listener);
  signal.addEventListener("abort", () => browser.storage.onChanged.removeListener(listener), { once: true });
}
