// The dashboard's small shared pieces: navigation by URL hash, the paged-list shell, tables with sortable columns,
// links between views, and the words the pages use for states and scores.
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { MessageListItem, MessageState } from "../../../shared/api";
import { ENGAGEMENT_HALF_LIFE_DAYS, ENGAGEMENT_REPEAT_FACTOR, ENGAGEMENT_WEIGHTS } from "../../../shared/engagement";
import { midSentence, noOpenWords } from "../words";

export function go(path: string, params: Record<string, string | undefined> = {}): void {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) search.set(k, v);
  const text = search.toString();
  location.hash = `#${path}${text ? `?${text}` : ""}`;
}

export function Status({ items, error, empty }: { items: unknown[] | null; error: string | null; empty: string }) {
  if (error)
    return (
      <p class="error" data-testid="error">
        {error}
      </p>
    );
  if (!items) return <p class="muted">Loading…</p>;
  if (items.length === 0)
    return (
      <p class="muted" data-testid="empty">
        {empty}
      </p>
    );
  return null;
}

/**
 * A paged list (usePages): loading, error or `empty`, then its items as `children` renders them, then "Load more". No
 * item yet while more may come (a page loading, or one to load) is not `empty`: the pages read so far held none.
 */
export function Paged<T>({
  list,
  empty,
  children,
}: {
  list: { items: T[] | null; error: string | null; loading: boolean; more: (() => void) | null };
  empty: string;
  children: (items: T[]) => ComponentChildren;
}) {
  const noneYet = !list.error && list.items?.length === 0 && (list.loading || list.more !== null);
  return (
    <>
      {noneYet && !list.loading ? (
        <p class="muted" data-testid="none-yet">
          None found yet.
        </p>
      ) : (
        <Status items={noneYet ? null : list.items} error={list.error} empty={empty} />
      )}
      {list.items && list.items.length > 0 ? children(list.items) : null}
      {list.more ? (
        <button type="button" name="more" onClick={list.more}>
          Load more
        </button>
      ) : null}
    </>
  );
}

export function DataTable({ testid, head, children }: { testid: string; head: ComponentChildren; children: ComponentChildren }) {
  return (
    <table class="data" data-testid={testid}>
      <thead>
        <tr>{head}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** A link to another view of the dashboard. */
export function ViewLink({ path, children, title }: { path: string; children: ComponentChildren; title?: string }) {
  return (
    <button type="button" class="link" title={title} onClick={() => go(path)}>
      {children}
    </button>
  );
}

type SortValue = string | number | null;
export interface Sort {
  key: string;
  dir: "asc" | "desc";
}

/**
 * Sorting of the rows a list has loaded, by column: a click on a heading sorts by it (numbers and times from the
 * highest, text from A), a second click reverses. Empty values always go last.
 */
export function useSorted<T>(items: T[], columns: Record<string, (item: T) => SortValue>, initial: Sort | null = null) {
  const [sort, setSort] = useState<Sort | null>(initial);
  const sorted = useMemo(() => {
    const value = sort ? columns[sort.key] : undefined;
    if (!sort || !value) return items;
    const sign = sort.dir === "asc" ? 1 : -1;
    return [...items].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === null || x === "") return y === null || y === "" ? 0 : 1;
      if (y === null || y === "") return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sign;
    });
  }, [items, sort, columns]);
  const head = (key: string, label: ComponentChildren, opts: { num?: boolean; text?: boolean; title?: string } = {}) => {
    const active = sort?.key === key;
    const next = (): Sort => (active ? { key, dir: sort?.dir === "asc" ? "desc" : "asc" } : { key, dir: opts.text ? "asc" : "desc" });
    return (
      <th
        key={key}
        class={opts.num ? "num" : undefined}
        aria-sort={active ? (sort?.dir === "asc" ? "ascending" : "descending") : "none"}
        data-sort={key}
        title={opts.title}
      >
        <button type="button" class="sort" onClick={() => setSort(next())}>
          {label}
          <span class="arrow">{active ? (sort?.dir === "asc" ? " ▲" : " ▼") : ""}</span>
        </button>
      </th>
    );
  };
  return { sorted, head };
}

/** A text filter that applies as the rep types: the URL follows `delay` ms after the last keystroke. */
export function useTyped(value: string, apply: (text: string) => void, delay = 250): [string, (text: string) => void] {
  const [text, setText] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(apply);
  latest.current = apply;
  // The URL changed from elsewhere (a link, the back button): show what it says.
  useEffect(() => setText(value), [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onText = (next: string) => {
    setText(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(next.trim()), delay);
  };
  return [text, onText];
}

/** States in honest words: the tracker cannot see delivery, only opens, clicks, replies and bounce notices. */
export const STATE_WORDS: Record<MessageState | "replied", string> = {
  delivered: "no open yet",
  opened: "opened",
  clicked: "clicked",
  replied: "replied",
  stopped: "tracking stopped",
  bounced: "bounced",
};

/** What the rep sees for a message: a reply outranks opens and clicks (a bounce and a stop stay as they are). */
export function shownState(m: Pick<MessageListItem, "state" | "replyCount">): MessageState | "replied" {
  return m.replyCount > 0 && m.state !== "bounced" && m.state !== "stopped" ? "replied" : m.state;
}

/** A message's state in words; without an open, what the Sent list and the panel say too (words.ts noOpenWords). */
export function stateWords(m: Pick<MessageListItem, "state" | "replyCount" | "openTracking" | "unsubscribed" | "appleMailLoads">): string {
  const state = shownState(m);
  return state === "delivered" ? midSentence(noOpenWords(m)) : STATE_WORDS[state];
}

/** The score's scale in words, from the same constants the tracker computes it with (shared/engagement.ts). */
export const SCORE_EXPLAINED =
  `Engagement score: each email's first open adds ${ENGAGEMENT_WEIGHTS.open}, a click ${ENGAGEMENT_WEIGHTS.click}, a reply ${ENGAGEMENT_WEIGHTS.reply}; ` +
  `each repeat on the same email counts ${ENGAGEMENT_REPEAT_FACTOR * 100}% of the one before; everything halves every ` +
  `${ENGAGEMENT_HALF_LIFE_DAYS} days; on an email to several people it is split among them. ` +
  "So 0 is nothing yet, 1 one fresh open, 4 a fresh click, 10 and more a reply.";

/** The score's level, for a glance: reply-level, click-level, open-level or nothing recent. */
export function scoreLevel(score: number): "hot" | "warm" | "opened" | "cold" {
  if (score >= ENGAGEMENT_WEIGHTS.reply) return "hot";
  if (score >= ENGAGEMENT_WEIGHTS.click) return "warm";
  if (score >= 0.5) return "opened";
  return "cold";
}

export function Score({ score }: { score: number }) {
  const level = scoreLevel(score);
  return (
    <span class={`score score-${level}`} title={SCORE_EXPLAINED} data-level={level}>
      {score.toFixed(1)} <span class="level">{level}</span>
    </span>
  );
}
