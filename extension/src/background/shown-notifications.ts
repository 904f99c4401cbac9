// The last desktop notifications shown, newest last, with their words (SHOWN_KEY in storage.local): what the e2e tests
// (and anyone debugging) read back. A notification replaced in place (a summary a correction changed) is recorded with
// its new words, not left with the ones it no longer shows.
import type { KeyValueArea } from "./outbox";

export const SHOWN_KEY = "notificationsShown";
/** Entries kept: the newest. */
const MAX_SHOWN = 50;

export interface ShownNotification {
  id: string;
  key: string;
  title: string;
  message: string;
  at: number;
}

type Words = { title: string; message: string };

/** Keeps a notification among the last shown; `replacing`, the entry of its id before goes (its words are gone). */
export async function keepShown(area: KeyValueArea, entry: ShownNotification, replacing = false): Promise<void> {
  const shown = ((await area.get(SHOWN_KEY))[SHOWN_KEY] as ShownNotification[] | undefined) ?? [];
  const kept = replacing ? shown.filter((other) => other.id !== entry.id) : shown;
  await area.set({ [SHOWN_KEY]: [...kept, entry].slice(-MAX_SHOWN) });
}

/**
 * Replaces the words of notification `id` if it is still on the screen (`onScreen`: notifications.getAll), and its
 * entry among the last shown. One the rep closed is not brought back (create would), and Firefox has no
 * notifications.update: `notify` creates it again under the same id, in its place.
 */
export async function updateShown(
  deps: {
    area: KeyValueArea;
    onScreen: () => Promise<Record<string, unknown>>;
    notify: (id: string, words: Words) => Promise<unknown>;
    now: () => number;
  },
  id: string,
  note: Words & { key: string },
): Promise<boolean> {
  if (!(id in (await deps.onScreen()))) return false;
  await deps.notify(id, note);
  await keepShown(deps.area, { id, key: note.key, title: note.title, message: note.message, at: deps.now() }, true);
  return true;
}
