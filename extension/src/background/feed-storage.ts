// How the feed's state (feed-state.ts) is kept in storage.local: in parts, so that a poll writes what it changed and not
// the whole state. The state's large lists (10,000 notified keys, the last 1,000 events' counting, the activity, ...) are
// kept in chunks of about 2 KB, each under a key of its own; the rest (cursors, daily totals, where each list's chunks
// are) under FEED_KEY, the head. A list only grows at its end and loses its oldest elements at its start (the activity
// is kept oldest first for that), so a poll with one new open rewrites the last chunk of a few lists and the head: the
// oldest elements dropped are skipped in the head (`skip`), their chunk dropped once all of it is.
//
// A chunk ends after an element whose id hashes to a multiple of the list's chunk length, not at a position: the same
// elements are chunked alike after the list lost its oldest, or one element in its middle (a correction's "rearm"), so
// only the chunks whose content changed are written.
//
// One write: the poller passes the head and every changed chunk to one storage.local.set, before it shows anything
// (notifications.ts pollOnce). What it relies on: the browser applies one set's items together, none of them without
// the others. Neither Chrome's reference (developer.chrome.com/docs/extensions/reference/api/storage/StorageArea, set:
// "Sets multiple items", read 2026-09-25) nor MDN's (StorageArea.set(), read 2026-09-25) says so in words; Chromium
// writes one set's items in one leveldb WriteBatch (components/value_store/leveldb_value_store.cc, Set of a Dict: each
// item added to one batch, then one WriteToDb; read 2026-12-07), which leveldb applies whole or not at all, and Firefox
// stores them in one IndexedDB readwrite transaction, aborted when one put fails (mozilla/gecko-dev
// toolkit/components/extensions/ExtensionStorageIDB.sys.mjs, ExtensionStorageLocalIDB.set; read 2026-12-07).
// Less is needed of it than that: a changed chunk goes under a key the stored head does not name (copy on write), so a
// set cut short before the head is stored leaves the state as it was; and the keys the new head no longer names are
// removed only after the set.
import type { FeedState } from "./feed-state";

/** The head of the state (before its parts were kept apart: the whole state, which readStoredFeed still reads). */
export const FEED_KEY = "feed";

/**
 * The layout this version writes, in the head (absent from heads written before it was kept: the same layout). A later
 * version that stores the state so that this one would misread it (a list moved out of `parts`, a field's meaning
 * changed) writes a higher number, and this one reads no state rather than fail at every poll, as the version before
 * the parts did on their head (`state.notified` undefined in applyEvents, and nothing written that could mend it):
 * the poller then starts over as for a new account (emptyFeedState: the cursor at "0", history older than
 * NEWS_WINDOW_MS before now not notified), and writes this layout over the head. The later one's own keys, which this
 * one cannot name, stay until that version, installed again, removes them.
 */
export const LAYOUT_VERSION = 1;

/** storage.local's calls the feed uses (browser.storage.local has them). */
export interface FeedArea {
  get(keys: string | string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

/** A list of the state kept in chunks: how to take it out of the state (oldest first) and put it back. */
interface ListPart<T> {
  /** Elements in a chunk, on average: about 2 KB of them. */
  chunkLength: number;
  /** What sets the chunks' ends: unique in the list. */
  id(element: T): string;
  list(state: FeedState): T[] | undefined;
  put(list: T[]): Partial<FeedState>;
}

type Entry = [string, { counted: boolean; day: string }];

const PARTS = {
  // A key: 16 hex digits, 19 bytes of JSON.
  notified: { chunkLength: 100, id: (key) => key, list: (state) => state.notified, put: (notified) => ({ notified }) },
  rearmed: { chunkLength: 100, id: (key) => key, list: (state) => state.rearmed, put: (rearmed) => ({ rearmed }) },
  // An entry: about 45 bytes. Integer-like keys keep their ascending order in an object: the newest last.
  countedByCursor: {
    chunkLength: 48,
    id: ([cursor]) => cursor,
    list: (state) => (state.countedByCursor ? Object.entries(state.countedByCursor) : undefined),
    put: (entries) => ({ countedByCursor: Object.fromEntries(entries) }),
  },
  // An item: about 300 bytes. Newest first in the state: reversed, so that a new one is added at the end.
  activity: {
    chunkLength: 6,
    id: (item) => item.cursor,
    list: (state) => [...state.activity].reverse(),
    put: (items) => ({ activity: [...items].reverse() }),
  },
  summaries: { chunkLength: 2, id: (summary) => summary.key, list: (state) => state.summaries, put: (summaries) => ({ summaries }) },
  ahead: { chunkLength: 200, id: (cursor) => cursor, list: (state) => state.ahead, put: (ahead) => ({ ahead }) },
} satisfies {
  notified: ListPart<string>;
  rearmed: ListPart<string>;
  countedByCursor: ListPart<Entry>;
  activity: ListPart<FeedState["activity"][number]>;
  summaries: ListPart<NonNullable<FeedState["summaries"]>[number]>;
  ahead: ListPart<string>;
};

type PartName = keyof typeof PARTS;
const PART_NAMES = Object.keys(PARTS) as PartName[];

function part(name: PartName): ListPart<unknown> {
  return PARTS[name] as ListPart<unknown>;
}

/** Where a list is: its chunks' slots in order, and how many elements at the first chunk's start it no longer holds. */
interface PartPlace {
  slots: number[];
  skip: number;
}

/** What FEED_KEY holds: the state but its lists, and where they are. */
type StoredHead = Omit<FeedState, PartName> & {
  /**
   * Empty, for the version before the parts, which takes the head for the whole state: without the two lists it cannot
   * do without, it failed at every poll (`state.notified` undefined in applyEvents, and nothing written that could mend
   * it). With them, installed again by hand, it goes on from the head's cursor and totals, having forgotten what it
   * notified (an email notified before, opened again, is notified again) and the activity the popup lists. This
   * version, installed again after it, reads the lists from the parts as they were left (the version before writes the
   * whole state in this key, `parts` among it, and never removes a chunk), the cursor and totals as it left them.
   */
  notified: [];
  activity: [];
  /** LAYOUT_VERSION of the version that wrote it; absent from heads written before it was kept (layout 1). */
  layoutVersion?: number;
  /** Counts the writes: chunks read between two reads of the head with the same count are that head's. */
  writes: number;
  /** The lists the state has (one it lacks, as a state stored before it, has none). */
  parts: Partial<Record<PartName, PartPlace>>;
};

/** The state as read, and its stored chunks: what the next write compares with, to write only what changed. */
export interface StoredFeed {
  state: FeedState;
  /** Null for a state stored whole (before its parts were kept apart), or none. */
  layout: { writes: number; parts: Partial<Record<PartName, PartPlace & { chunks: unknown[][] }>> } | null;
}

export function chunkKey(name: PartName, slot: number): string {
  return `${FEED_KEY}.${name}.${slot}`;
}

function isHead(value: object): value is StoredHead {
  return "parts" in value && typeof value.parts === "object" && value.parts !== null;
}

function isLaterLayout(value: object): boolean {
  return "layoutVersion" in value && typeof value.layoutVersion === "number" && value.layoutVersion > LAYOUT_VERSION;
}

/**
 * The stored state, whoever's account it is, and its layout; null when none is stored, or stored in a later version's
 * layout (LAYOUT_VERSION). A state stored whole by an earlier version is read as it is: the next write stores it in
 * parts (its notified keys, totals and cursor kept).
 */
export async function readStoredFeed(area: FeedArea): Promise<StoredFeed | null> {
  let head = (await area.get(FEED_KEY))[FEED_KEY];
  // A poll writing between the reads (the popup reads while the alarm's poll runs): read again.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!head || typeof head !== "object" || typeof (head as FeedState).cursor !== "string") return null;
    if (isLaterLayout(head)) {
      console.warn("feed state: stored by a later version in a layout this one cannot read; starting over");
      return null;
    }
    if (!isHead(head)) return { state: head as FeedState, layout: null };
    const places = Object.entries(head.parts) as [PartName, PartPlace][];
    const keys = places.flatMap(([name, place]) => place.slots.map((slot) => chunkKey(name, slot)));
    const chunks = keys.length > 0 ? await area.get(keys) : {};
    const again = (await area.get(FEED_KEY))[FEED_KEY];
    if (again && typeof again === "object" && isHead(again) && again.writes === head.writes) return assemble(head, chunks);
    head = again;
  }
  throw new Error("the feed's state changed at every read");
}

function assemble(head: StoredHead, stored: Record<string, unknown>): StoredFeed {
  const { layoutVersion, writes, parts, ...rest } = head;
  const state = rest as FeedState;
  const layout: NonNullable<StoredFeed["layout"]> = { writes, parts: {} };
  for (const name of PART_NAMES) {
    const place = parts[name];
    if (!place) continue;
    const chunks = place.slots.map((slot) => {
      const chunk = stored[chunkKey(name, slot)];
      if (Array.isArray(chunk)) return chunk as unknown[];
      // Not by this module's writes: a key removed by hand. What it held is lost; the rest is read.
      console.warn("feed state: a chunk is missing", chunkKey(name, slot));
      return [];
    });
    layout.parts[name] = { ...place, chunks };
    const list = chunks.flatMap((chunk, i) => (i === 0 ? chunk.slice(place.skip) : chunk));
    Object.assign(state, part(name).put(list));
  }
  return { state, layout };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** A list cut after each element whose id hashes to a multiple of the chunk length. */
export function chunksOf<T>(list: readonly T[], of: Pick<ListPart<T>, "chunkLength" | "id">): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  for (const element of list) {
    chunk.push(element);
    if (fnv1a(of.id(element)) % of.chunkLength === 0) {
      chunks.push(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * What to store for `state`, `stored` being what is stored: the items of the one set (the head, and each chunk
 * whose content is not stored yet, under a key the stored head does not name) and the keys to remove after it.
 */
export function feedWrite(state: FeedState, stored: StoredFeed["layout"]): { items: Record<string, unknown>; stale: string[] } {
  const items: Record<string, unknown> = {};
  const stale: string[] = [];
  const parts: StoredHead["parts"] = {};
  const rest: Record<string, unknown> = { ...state };
  for (const name of PART_NAMES) {
    delete rest[name];
    const of = part(name);
    const list = of.list(state);
    const old = stored?.parts[name];
    const kept = new Set<number>();
    const place: PartPlace = { slots: [], skip: 0 };
    if (list) {
      // The stored chunks by their last element's id: a chunk of the same end holds the same elements, or did.
      const byEnd = new Map<string, number>();
      old?.chunks.forEach((chunk, i) => {
        if (chunk.length > 0) byEnd.set(of.id(chunk.at(-1)), i);
      });
      const taken = new Set(old?.slots);
      let free = 0;
      chunksOf(list, of).forEach((chunk, i) => {
        const at = byEnd.get(of.id(chunk.at(-1)));
        const was = at === undefined ? undefined : old?.chunks[at];
        const slot = at === undefined ? undefined : old?.slots[at];
        // The first chunk may be the end of a stored one whose oldest elements the list dropped: skipped.
        const fits = was !== undefined && (i === 0 ? was.length >= chunk.length : was.length === chunk.length);
        if (
          fits &&
          slot !== undefined &&
          !kept.has(slot) &&
          JSON.stringify(was.slice(was.length - chunk.length)) === JSON.stringify(chunk)
        ) {
          kept.add(slot);
          place.slots.push(slot);
          if (i === 0) place.skip = was.length - chunk.length;
          return;
        }
        while (taken.has(free)) free++;
        taken.add(free);
        place.slots.push(free);
        items[chunkKey(name, free)] = chunk;
      });
      parts[name] = place;
    }
    for (const slot of old?.slots ?? []) if (!kept.has(slot)) stale.push(chunkKey(name, slot));
  }
  const head: StoredHead = {
    ...(rest as Omit<FeedState, PartName>),
    notified: [],
    activity: [],
    layoutVersion: LAYOUT_VERSION,
    writes: (stored?.writes ?? 0) + 1,
    parts,
  };
  items[FEED_KEY] = head;
  return { items, stale };
}
