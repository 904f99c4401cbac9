// Gmail's health in the popup: for the Gmail tab in front (else the Gmail tab used last), one sentence per part of
// Gmail the extension no longer recognises, saying what stops working. A Gmail tab in front that has not reported is
// one the content script does not run in (open since before an install or update): it has to be reloaded. While the
// extension's access to Gmail is withdrawn, that is all it says. While Gmail's or the tracker's is, a button asks for
// both again (Firefox's on the options page: pages/allow-access.tsx). Otherwise nothing is shown until a Gmail tab
// reported.
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { popupHealth, type TabHealth } from "../background/gmail-health";
import { isGmailUrl } from "../background/sender";
import { callFromPage } from "../messaging";
import { AllowAccessButton, useHostAccess } from "../pages/allow-access";

/** The tabs' reports are asked for again this long after the last answer: a Gmail tab reports as it loads. */
const REFRESH_MS = 3000;

/** `trackerUrl`: the tracker connected to, whose access the same browser settings take away with Gmail's; else null. */
export function GmailHealthNotice({ trackerUrl }: { trackerUrl: string | null }) {
  const [health, setHealth] = useState<(TabHealth & { front: boolean }) | null>(null);
  const [gmailInFront, setGmailInFront] = useState(false);
  // Until the browser answers, nothing is taken as withheld: the popup offers no button for what may be allowed.
  const access = useHostAccess(trackerUrl) ?? { gmail: true, tracker: true };
  // Asked again at once when Gmail's access changes: the tab in front shows its address only while it is granted.
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const [tab] = await browser.tabs.query({ active: true, lastFocusedWindow: true });
        const answer = await callFromPage("gmailHealth", tab?.id === undefined ? null : { tabId: tab.id });
        if (!live) return;
        setHealth(answer);
        // The tab's address is known for Gmail's, a host the extension may access.
        setGmailInFront(isGmailUrl(tab?.url));
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
  }, [access.gmail]);
  const shown = popupHealth(health, gmailInFront, access.gmail);
  const withheld = !access.gmail || !access.tracker;
  if (!shown && !withheld) return null;
  const { sentences, recognised, front } = shown ?? { sentences: [], recognised: [], front: true };
  return (
    <section data-testid="gmail-health" data-missing={String(sentences.length)} data-recognised={recognised.join(" ")}>
      {!shown ? null : sentences.length === 0 ? (
        <p class="muted">Gmail{front ? "" : " (the tab used last)"}: everything the extension needs is recognised.</p>
      ) : (
        <ul class="error">
          {sentences.map((sentence) => (
            <li key={sentence}>{sentence}</li>
          ))}
        </ul>
      )}
      {withheld ? (
        // Without the tracker's site, the popup's connection line says what stopped.
        <AllowAccessButton trackerUrl={trackerUrl} access={access} inPopup />
      ) : null}
    </section>
  );
}
