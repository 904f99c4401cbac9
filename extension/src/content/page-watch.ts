// What the features watch in Gmail, written once: the page's changes (one observer for all of them), the elements a
// selector names being added or re-rendered (Gmail swaps rows and messages in place), and the background's "the feed
// has news" signal.
import type Browser from "webextension-polyfill";
import { NEWS_KEY } from "../background/notifications";
import { browser } from "../web-ext";
import { guarded } from "./feature";
import { type SelectorName, within } from "./gmail-selectors";

/** Anything this extension draws into Gmail: every class of ours starts with `mt-` (ui.ts). */
const OURS = '[class^="mt-"], [class*=" mt-"]';

type MutationListener = (records: readonly MutationRecord[]) => void;

/** What a listener is called for: nodes added or removed anywhere, or an element's `src` or `style` set. */
export type PageChange = "nodes" | "src" | "style";

/** The page's one observer, shared by every feature, and the features listening to it. */
const mutationListeners = new Set<{ changes: readonly PageChange[]; call: MutationListener }>();
let pageObserver: MutationObserver | undefined;

/** Hands one batch of Gmail's changes to the listeners that asked for a kind of change it holds. */
function dispatch(records: readonly MutationRecord[]): void {
  batch = readBatch(records);
  const changed = new Set<PageChange>();
  for (const record of batch.records) changed.add(record.type === "childList" ? "nodes" : (record.attributeName as PageChange));
  for (const each of mutationListeners) if (each.changes.some((change) => changed.has(change))) each.call(batch.records);
  batch = undefined;
}

/** The options the page's observer runs with, as JSON; empty while it observes nothing. */
let observing = "";

/**
 * Has the observer record the changes some listener asks for, and no others: the browser makes a record for every
 * change an observer watches, whoever then ignores it. Called whenever a listener comes or goes. When the options
 * change, the observer is started again with them rather than observed again (which the DOM standard says replaces
 * the options, but happy-dom 21.0.4, the unit tests' DOM, keeps the first ones for the nodes already watched), and
 * the records it had queued are handed on first, so none is lost.
 */
function observeWhatIsAsked(observer: MutationObserver): void {
  const asked = new Set([...mutationListeners].flatMap((listener) => listener.changes));
  const attributeFilter = (["src", "style"] as const).filter((change) => asked.has(change));
  const options: MutationObserverInit = {
    childList: asked.has("nodes"),
    subtree: true,
    ...(attributeFilter.length > 0 ? { attributes: true, attributeFilter } : {}),
  };
  const key = JSON.stringify(options);
  if (key === observing) return;
  const queued = observing ? observer.takeRecords() : [];
  if (observing) observer.disconnect();
  observing = key;
  observer.observe(document, options);
  if (queued.length > 0) dispatch(queued);
}

/**
 * Calls `listener` with each batch of the page's changes that holds one of `changes` (the records are the whole
 * batch but the records that only add this extension's own elements: a listener of several kinds tells them apart).
 * Every feature listens through one observer: for each change Chromium makes a record, and at the checkpoint a
 * callback, per observer, and Gmail changes the page many times a second (six observers cost about 15 µs more per
 * insertion than one, docs/benchmarks.md ninth pass). The observer records only the kinds of change some listener
 * asks for, and calls each listener only for its own. It runs in the microtask checkpoint after the change, before
 * the next paint and before the images of inserted elements start loading.
 */
export function onPageMutations(label: string, changes: readonly PageChange[], listener: MutationListener, signal: AbortSignal): void {
  const registration = { changes, call: guarded(label, listener) };
  mutationListeners.add(registration);
  pageObserver ??= new MutationObserver(dispatch);
  observeWhatIsAsked(pageObserver);
  signal.addEventListener(
    "abort",
    () => {
      mutationListeners.delete(registration);
      if (!pageObserver) return;
      if (mutationListeners.size > 0) return observeWhatIsAsked(pageObserver);
      pageObserver.disconnect();
      pageObserver = undefined;
      observing = "";
    },
    { once: true },
  );
}

/**
 * One batch of mutations as the listeners see it, read once for all of them: its records but those of this
 * extension's own drawing, the elements they added (text put into an existing element counts for that element, as a
 * row's participants updated), and for each selector name asked so far whether they hold what it names. Dropped
 * once every listener has had the batch.
 */
interface Batch {
  records: readonly MutationRecord[];
  added: Element[];
  holds: Map<SelectorName, boolean>;
}

let batch: Batch | undefined;

/**
 * A record that only adds elements of ours is left out: the Sent list's 100 marks are 100 such records, and every
 * listener read each of them (the pixels' search, the watchers' walks over removed nodes) in a second round of the
 * checkpoint before Gmail's next paint (docs/benchmarks.md, eighteenth pass). A removal is always kept: Gmail
 * dropping one of our elements is what a watcher's `ownClass` is for.
 */
function readBatch(records: readonly MutationRecord[]): Batch {
  const kept: MutationRecord[] = [];
  const added: Element[] = [];
  for (const record of records) {
    let ours = record.type === "childList" && record.removedNodes.length === 0;
    for (const node of record.addedNodes) {
      const element = node instanceof Element ? node : node.parentElement;
      if (element?.closest(OURS)) continue;
      ours = false;
      if (element) added.push(element);
    }
    if (!ours) kept.push(record);
  }
  return { records: kept, added, holds: new Map() };
}

function batchOf(records: readonly MutationRecord[]): Batch {
  return batch?.records === records ? batch : readBatch(records);
}

/**
 * Whether mutations added (or changed the content of) an element `names` select, or removed one of ours of class
 * `ownClass`. Every watcher runs this on every insertion Gmail makes, before the next paint: each name is looked
 * for once per batch whoever asks (within's selectors one at a time, which is what keeps a miss cheap).
 */
export function touches(records: readonly MutationRecord[], names: readonly SelectorName[], ownClass: string | null): boolean {
  const { added, holds } = batchOf(records);
  for (const name of names) {
    let held = holds.get(name);
    if (held === undefined) {
      held = added.some((element) => within(element, name));
      holds.set(name, held);
    }
    if (held) return true;
  }
  if (ownClass) {
    for (const record of records)
      for (const node of record.removedNodes) if (node instanceof Element && node.classList.contains(ownClass)) return true;
  }
  return false;
}

/**
 * Calls `onChange` after mutations that add or re-render what `names` select, or remove an element of class
 * `ownClass` (ours, which Gmail's re-render may drop). Insertions of any feature's own elements do not trigger it.
 */
export function watchElements(names: readonly SelectorName[], ownClass: string | null, onChange: () => void, signal: AbortSignal): void {
  onPageMutations(
    `watch ${names.join(", ")}`,
    ["nodes"],
    (records) => {
      if (touches(records, names, ownClass)) onChange();
    },
    signal,
  );
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

/**
 * The reads a feature has out to the background, by key: the ids news names each by, and whether news (onFeedNews,
 * or what the feature counts as such) came for it while it was out. Its answer, or its failure, may then predate what
 * the news tells of (a registration delivered, the tracker back): not the last word, so the feature reads again once
 * it ends. The one statement of that rule for the thread list's marks (news names threads) and the conversation's
 * panels (news for all).
 */
export class ReadsOut extends Map<string, { ids: readonly string[]; overtaken?: boolean }> {
  /** News for the reads any of `ids` names (newsNames). */
  news(ids?: readonly string[]): void {
    for (const read of this.values()) if (newsNames(read.ids, ids)) read.overtaken = true;
  }
}

/** Whether news naming the threads `named` concerns a thing of ids `ids`: any named, or none named (news for all). */
export function newsNames(ids: readonly string[], named?: readonly string[]): boolean {
  return !named?.length || ids.some((id) => named.includes(id));
}
