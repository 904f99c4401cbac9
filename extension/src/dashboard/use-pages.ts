// The dashboard's cursor-paginated lists. A list belongs to one query (its filters): the query's search string is its
// key, so nothing names the filters twice, and every answer is tagged with the run of the query it was asked for, so
// a page that comes back after the filters changed (or a "Load more" clicked just before) never lands in the new list.
import { useEffect, useRef, useState } from "preact/hooks";
import { searchString } from "../../../shared/query";

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type PageQuery = Record<string, string | number | undefined>;

type Item<P> = P extends Page<infer T> ? T : never;

interface List<P> {
  /** Which run of which query this is. */
  run: number;
  key: string;
  /** The first page's whole answer (what a list shows above its items). */
  first: P | null;
  items: Item<P>[] | null;
  next: string | null;
  loading: boolean;
  error: string | null;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * How many pages answered empty with a further one the list asks for past on its own before it leaves that to "Load
 * more": a people page filtered by a campaign or by minScore while rows wait for rescoring, or by minScore in order of
 * latest activity at any time, reads a window of the list and may find nobody in it (worker db/contact-scores.ts
 * contactPage), though people further on match.
 */
export const EMPTY_PAGES_FOLLOWED = 3;

/**
 * The first page of `query` on mount and whenever the query changes, then "Load more" (`more`, null when there is
 * no further page or one is loading), and the first page again (`again`, null while a page loads). Queries are
 * compared by their search string: equal filters, same list. A page answered empty with a further one is followed by
 * that one, EMPTY_PAGES_FOLLOWED times in a row at most.
 */
export function usePages<const Q extends PageQuery, P extends Page<unknown>>(query: Q, load: (query: Q, cursor?: string) => Promise<P>) {
  const key = searchString(query);
  const [list, setList] = useState<List<P>>({ run: 0, key, first: null, items: null, next: null, loading: true, error: null });
  const runs = useRef(0);
  /** Applies an answer only to the run it was asked for. */
  const update = (run: number, change: (list: List<P>) => Partial<List<P>>, loading = false) =>
    setList((old) => (old.run === run ? { ...old, ...change(old), loading } : old));

  /** Asks for a page of a run (the first without `cursor`: it replaces the list), then the next while they come back empty. */
  const loadPage = (run: number, cursor?: string, followed = 0) => {
    load(query, cursor).then(
      (page) => {
        const follow = page.items.length === 0 && page.nextCursor !== null && followed < EMPTY_PAGES_FOLLOWED;
        const items = page.items as Item<P>[];
        update(
          run,
          (old) =>
            cursor === undefined
              ? { first: page, items, next: page.nextCursor }
              : { items: [...(old.items ?? []), ...items], next: page.nextCursor },
          follow,
        );
        if (follow && page.nextCursor !== null) loadPage(run, page.nextCursor, followed + 1);
      },
      (error: unknown) => update(run, () => ({ error: errorText(error) })),
    );
  };

  /** Asks for the first page in a new run: its answer replaces the list, and nothing asked for an older run lands. */
  const loadFirst = () => {
    const run = ++runs.current;
    loadPage(run);
    return run;
  };

  // `key` stands for `query`, and `load` reads nothing else: a new key is a new run.
  useEffect(() => {
    const run = loadFirst();
    setList({ run, key, first: null, items: null, next: null, loading: true, error: null });
  }, [key]);

  // Rendered with a new query before its run started: nothing of the old one shows (or can load more).
  const current = list.key === key ? list : null;
  const cursor = current?.next;
  const more =
    current && cursor && !current.loading
      ? () => {
          const { run } = current;
          setList((old) => (old.run === run ? { ...old, loading: true } : old));
          loadPage(run, cursor);
        }
      : null;
  // The same query asked again, the list still shown until the answer replaces it (a tracker still working one out).
  const again =
    current && !current.loading
      ? () => {
          const run = loadFirst();
          setList((old) => ({ ...old, run, loading: true }));
        }
      : null;
  const loading = current?.loading ?? true;
  return { first: current?.first ?? null, items: current?.items ?? null, error: current?.error ?? null, loading, more, again };
}
