// Replies and bounces, seen in Gmail's own views (a thread list's rows, an opened conversation) and in the data of its
// thread lists (the page's first, and its answers to the others), which name the replies of rows that carry no message
// id (the parsing is in ../thread-signals.ts; Gmail's lists are parsed by the background, background/gmail-traffic.ts),
// reported through the background to the tracker's POST /api/signals.
// The background sends only signals of threads that hold a tracked message. Each reply or notice is keyed by its own
// Gmail message id: this script reports a key once per page (a re-render finds it again and sends nothing), and the
// tracker dedupes the same key across pages, browsers and reloads.
import { callFromGmail } from "../../messaging";
import { LIST_WANTED_EVENT, onPageEvent } from "../../page-world/events";
import type { ListedThread } from "../../page-world/sync-parser";
import { type Feature, guarded, keepLast, sentDraftIds } from "../feature";
import { LISTS_READ_ATTRIBUTE } from "../gmail-selectors";
import { debug } from "../log";
import { watchElements } from "../page-watch";
import { ownAddresses, readConversation, readListedThreads, readThreadRows, type Signal, type ThreadSignals } from "../thread-signals";

/** Keys the tracker has answered for (any outcome): never sent again from this page. */
const done = new Set<string>();
/** Keys in flight: a re-render during the request must not send them again. */
const inFlight = new Set<string>();

const SCAN_DELAY_MS = 400;
/** After a failure (tracker down), the next scan may try again, but not sooner than this. */
const RETRY_MS = 30_000;
/** Threads with replies kept from Gmail's list answers, at most: a list shows 50 to 100 threads. */
const MAX_LISTED_THREADS = 500;

export const repliesBounces: Feature = {
  id: "replies-bounces",
  init(signal) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failedAt = 0;
    /** Gmail's lists (the page's first, answers to the others) parsed as they came, not yet read. */
    const arrived: ListedThread[][] = [];
    /**
     * The replies and notices Gmail's latest lists name, by thread: read once, at the first scan after each list came
     * (the page's first comes before the page names the account's addresses), and offered on every scan, like the rows
     * on screen (a key already reported is skipped there).
     */
    const listed = new Map<string, ThreadSignals>();

    /** Reads one of Gmail's lists; the latest list's threads go last, so the oldest are dropped first. */
    const take = (threads: ListedThread[], own: Set<string>) => {
      // Gmail's health (gmail-selectors.ts recogniseGmail): a list whose messages could be read.
      if (threads.some((t) => t.messages.some((m) => m.id !== null))) document.documentElement.setAttribute(LISTS_READ_ATTRIBUTE, "");
      for (const thread of readListedThreads(threads, own)) {
        listed.delete(thread.threadId);
        listed.set(thread.threadId, thread);
      }
      keepLast(listed, MAX_LISTED_THREADS);
    };

    const scan = guarded("replies and bounces", () => {
      const own = ownAddresses(document);
      for (const threads of arrived.splice(0)) take(threads, own);
      if (Date.now() - failedAt < RETRY_MS) return;
      // The conversation first: where it shows a notice the list also names, its whole text is what is reported.
      const found = [
        ...[readConversation(document, own, new Date(), sentDraftIds)].filter((t) => t !== null),
        ...readThreadRows(document, own),
        ...listed.values(),
      ];
      const fresh = new Map<string, Signal>();
      for (const thread of found)
        for (const s of thread.signals)
          if (!done.has(s.gmailMessageId) && !inFlight.has(s.gmailMessageId) && !fresh.has(s.gmailMessageId))
            fresh.set(s.gmailMessageId, s);
      if (fresh.size === 0) return;
      const signals = [...fresh.values()].slice(0, 100);
      for (const s of signals) inFlight.add(s.gmailMessageId);
      callFromGmail("reportSignals", { self: [...own].slice(0, 20), signals })
        .then(
          (result) => {
            for (const key of result.answered) done.add(key);
            debug("signals reported", result);
            const root = document.documentElement;
            root.dataset.mtSignalsReported = String(Number(root.dataset.mtSignalsReported ?? 0) + result.recorded);
            // More than one request's worth on the page: the next batch.
            if (fresh.size > signals.length) soon();
          },
          (error: unknown) => {
            failedAt = Date.now();
            debug("signals not reported", error);
          },
        )
        .finally(() => {
          for (const s of signals) inFlight.delete(s.gmailMessageId);
        });
    });

    // Throttled, not debounced: Gmail's page never stays still for long, and a scan must still happen.
    const soon = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        scan();
      }, SCAN_DELAY_MS);
    };
    // Gmail swaps views in place and re-renders rows and messages as mail arrives: only those mutations matter.
    watchElements(["threadRow", "conversationMessage"], null, soon, signal);
    window.addEventListener("hashchange", soon, { signal });
    /** Lists read one after another: the latest list's threads still go last. */
    let reading = Promise.resolve();
    /** A list's text, parsed by the background; its threads are this run's only while it runs. */
    const read = (text: string, embedded: boolean) => {
      reading = reading
        .then(() => callFromGmail("readGmailList", { text, embedded }))
        .then(
          (threads) => {
            if (signal.aborted) return;
            arrived.push(threads);
            soon();
          },
          // Gmail's health says so when no list is ever read (gmail-selectors.ts recogniseGmail, threadLists).
          (error: unknown) => debug("thread list not read", error),
        );
    };
    onPageEvent(document, "mt:gmail-list-answered", (answer) => read(answer, false), signal);
    onPageEvent(document, "mt:gmail-list-embedded", (list) => read(list, true), signal);
    // The page's first list may have come before this script listened: the page world tells it again.
    document.dispatchEvent(new Event(LIST_WANTED_EVENT));
    if (document.body) soon();
    else document.addEventListener("DOMContentLoaded", soon, { once: true, signal });
    signal.addEventListener("abort", () => clearTimeout(timer));
  },
};
