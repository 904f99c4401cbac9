// The Sent list marks, timed on real DOM in Chromium: the extension's own ThreadListMarks
// (extension/src/content/features/sent-list-marks.ts), wired as the feature wires it (page-watch.ts's watchElements:
// a MutationObserver that scans when rows are added, not when the marks themselves go in),
// marking 100 freshly inserted rows, every one tracked, from one batched status request answered over HTTP by a stub
// status server (bench/status-stub.ts). Measured from the rows' insertion to the 100th mark in the document, against
// the baseline of the same status request alone.
import { ThreadListMarks } from "../extension/src/content/features/sent-list-marks";
import { watchElements } from "../extension/src/content/page-watch";

export interface MarksTimings {
  marks: number[];
  fetchOnly: number[];
  /** Per round, within `marks`: the scans the insertion caused, and the marks' own request. */
  scans: number[];
  requests: number[];
  /** Per round, not within `marks`: Gmail's own insertion of the rows (parsing the HTML). */
  insertions: number[];
  check: { marks: number; opened: number; clicked: number; requests: number };
}

/**
 * Sent rows in the shape of the one real row capture with today's ids (docs/gmail.md, "Thread list"): each recipient
 * wrapped in `span.bA4`, the row's ids on its subject, its last non-draft message id among them.
 */
function rowsHtml(legacyIds: string[]): string {
  return legacyIds
    .map(
      (
        legacy,
        i,
      ) => `<tr class="zA yO" role="row"><td class="yX xY"><div class="yW">To: <span class="bA4"><span class="yP" email="r${i}@x.example" name="r${i}">r${i}</span></span></div></td>
      <td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:${BigInt(`0x${legacy}`)}"
      data-legacy-thread-id="${legacy}" data-legacy-last-message-id="${legacy}" data-legacy-last-non-draft-message-id="${legacy}">Subject of email ${i}</span></span></div></div></div></td>
      <td class="xW xY"><span title="Sun, Nov 22, 2026">Nov 22</span></td></tr>`,
    )
    .join("");
}

export async function runMarksBench(doc: Document, statusUrl: string, legacyIds: string[], rounds: number): Promise<MarksTimings> {
  const fetchStatus = async (threadIds: string[]) => {
    const response = await fetch(statusUrl, { method: "POST", body: JSON.stringify({ threadIds }), cache: "no-store" });
    return (await response.json()).messages;
  };
  const html = rowsHtml(legacyIds);
  const marks: number[] = [];
  const fetchOnly: number[] = [];
  const scans: number[] = [];
  const requests: number[] = [];
  const insertions: number[] = [];
  let check = { marks: 0, opened: 0, clicked: 0, requests: 0 };
  const emptyList = () => {
    doc.body.innerHTML = '<div role="main"><table class="F cf zt"><tbody></tbody></table></div>';
    return doc.querySelector("tbody") as HTMLElement;
  };
  // The baseline: the same request alone, sent as the same 100 rows go into the same empty list, with no extension
  // watching, as the marks' request is. Chromium styles, lays out and paints the new rows while either request is
  // out, and handles the answer only after that; a request timed on an idle page would leave that work out.
  const timeRequest = async () => {
    emptyList().innerHTML = html;
    const before = performance.now();
    await fetchStatus(legacyIds.flatMap((id) => [id, `thread-f:${BigInt(`0x${id}`)}`]));
    fetchOnly.push(performance.now() - before);
  };
  for (let round = 0; round < rounds; round++) {
    // The request alone goes first in every other round, so neither side always meets a connection just used.
    if (round % 2 === 1) await timeRequest();
    const tbody = emptyList();
    let scanned = 0;
    let requested = 0;
    const list = new ThreadListMarks(doc, async (threadIds) => {
      const before = performance.now();
      const messages = await fetchStatus(threadIds);
      requested += performance.now() - before;
      // As the background answers it (handlers.ts threadStatus): no email of these waits in the outbox.
      return { messages, unregistered: [] };
    });
    const watching = new AbortController();
    watchElements(
      ["threadRow"],
      "mt-mark",
      () => {
        const before = performance.now();
        list.scan();
        scanned += performance.now() - before;
      },
      watching.signal,
    );
    const drawn = new Promise<number>((resolve) => {
      const watch = new MutationObserver(() => {
        if (doc.querySelectorAll(".mt-mark").length >= legacyIds.length) {
          watch.disconnect();
          resolve(performance.now());
        }
      });
      watch.observe(doc.body, { childList: true, subtree: true });
    });
    // From the rows being in the document: parsing Gmail's HTML is Gmail's work, which the extension cannot speed
    // up, and its observers run only after it, at the microtask checkpoint.
    const inserting = performance.now();
    tbody.innerHTML = html;
    const start = performance.now();
    insertions.push(start - inserting);
    marks.push((await drawn) - start);
    scans.push(scanned);
    requests.push(requested);
    watching.abort();
    check = {
      marks: doc.querySelectorAll(".mt-mark").length,
      opened: doc.querySelectorAll(".mt-mark-opened").length,
      clicked: doc.querySelectorAll(".mt-mark-clicked").length,
      requests: list.requests,
    };
    if (round % 2 === 0) await timeRequest();
  }
  return { marks, fetchOnly, scans, requests, insertions, check };
}
