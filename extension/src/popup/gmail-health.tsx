// Gmail's health in the popup: for the Gmail tab in front (else the Gmail tab used last), one sentence per part of
// Gmail the extension no longer recognises, saying what stops working. Nothing is shown until a Gmail tab reported.
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { GMAIL_PARTS, healthSentences, type TabHealth } from "../background/gmail-health";
import { callFromPage } from "../messaging";

const REFRESH_MS = 3000;

export function GmailHealthNotice() {
  const [health, setHealth] = useState<(TabHealth & { front: boolean }) | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const [tab] = await browser.tabs.query({ active: true, lastFocusedWindow: true });
        const answer = await callFromPage("gmailHealth", tab?.id === undefined ? null : { tabId: tab.id });
        if (live) setHealth(answer);
      } catch {
        // the popup's other sections report a background that does not answer
      }
      if (live) timer = setTimeout(() => void tick(), REFRESH_MS);
    };
    void tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);
  if (!health) return null;
  const sentences = healthSentences(health.parts);
  const recognised = GMAIL_PARTS.filter((part) => health.parts[part] === "ok");
  return (
    <section data-testid="gmail-health" data-missing={String(sentences.length)} data-recognised={recognised.join(" ")}>
      {sentences.length === 0 ? (
        <p class="muted">Gmail{health.front ? "" : " (the tab used last)"}: everything the extension needs is recognised.</p>
      ) : (
        <ul class="error">
          {sentences.map((sentence) => (
            <li key={sentence}>{sentence}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
