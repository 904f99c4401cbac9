// The Sent list marks, timed on real DOM in Chromium: the extension's own ThreadListMarks
// (extension/src/content/features/sent-list-marks.ts), wired as the feature wires it (page-watch.ts's watchElements:
// a MutationObserver that scans when rows are added, not when the marks themselves go in),
// marking 100 freshly inserted rows, every one tracked, from one batched status request answered over HTTP by a stub
// status server (bench/extension.mjs). Measured from the rows' insertion to the 100th mark in the document, against
// the baseline of the same status request alone.
import { ThreadListMarks } from "../extension/src/content/features/sent-list-marks";
import { watchElements } from "../extension/src/content/page-watch";

export interface MarksTimings {
  marks: number[];
  fetchOnly: number[];
  check: { marks: number; opened: number; clicked: number; requests: number };
}

function rowsHtml(legacyIds: string[]): string {
  return legacyIds
    .map(
      (
        legacy,
        i,
      ) => `<tr class="zA yO" role="row"><td class="yX xY"><div class="yW">To: <span class="yP" email="r${i}@x.example">r${i}</span></div></td>
      <td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:${BigInt(`0x${legacy}`)}"
      data-legacy-thread-id="${legacy}" data-legacy-last-message-id="${legacy}">Subject of email ${i}</span></span></div></div></div></td>
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
  let check = { marks: 0, opened: 0, clicked: 0, requests: 0 };
  for (let round = 0; round < rounds; round++) {
    doc.body.innerHTML = '<div role="main"><table class="F cf zt"><tbody></tbody></table></div>';
    const tbody = doc.querySelector("tbody") as HTMLElement;
    const list = new ThreadListMarks(doc, fetchStatus);
    const watching = new AbortController();
    watchElements(["threadRow"], "mt-mark", () => list.scan(), watching.signal);
    const drawn = new Promise<number>((resolve) => {
      const watch = new MutationObserver(() => {
        if (doc.querySelectorAll(".mt-mark").length >= legacyIds.length) {
          watch.disconnect();
          resolve(performance.now());
        }
      });
      watch.observe(doc.body, { childList: true, subtree: true });
    });
    // The request alone goes first in every other round, so neither side always meets a connection just used.
    const timeRequest = async () => {
      const before = performance.now();
      await fetchStatus(legacyIds.flatMap((id) => [id, `thread-f:${BigInt(`0x${id}`)}`]));
      fetchOnly.push(performance.now() - before);
    };
    if (round % 2 === 1) await timeRequest();
    const start = performance.now();
    tbody.innerHTML = html;
    marks.push((await drawn) - start);
    watching.abort();
    check = {
      marks: doc.querySelectorAll(".mt-mark").length,
      opened: doc.querySelectorAll(".mt-mark-opened").length,
      clicked: doc.querySelectorAll(".mt-mark-clicked").length,
      requests: list.requests,
    };
    if (round % 2 === 0) await timeRequest();
  }
  return { marks, fetchOnly, check };
}
