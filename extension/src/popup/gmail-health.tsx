// Gmail's health in the popup: for the Gmail tab in front (else the Gmail tab used last), one sentence per part of
// Gmail the extension no longer recognises, saying what stops working. A Gmail tab in front that has not reported is
// one the content script does not run in (open since before an install or update): it has to be reloaded. While the
// extension's access to Gmail is withdrawn, that is all it says. While Gmail's or the tracker's is, a button asks for
// both again. Otherwise nothing is shown until a Gmail tab reported.
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { gmailAccessGranted, neededOrigins, popupHealth, type TabHealth } from "../background/gmail-health";
import { isGmailUrl } from "../background/sender";
import { callFromPage } from "../messaging";
import { trackerAccessGranted } from "../options-store";

const REFRESH_MS = 3000;

/** `trackerUrl`: the tracker connected to, whose access the same browser settings take away with Gmail's; else null. */
export function GmailHealthNotice({ trackerUrl }: { trackerUrl: string | null }) {
  const [health, setHealth] = useState<(TabHealth & { front: boolean }) | null>(null);
  const [gmailInFront, setGmailInFront] = useState(false);
  const [access, setAccess] = useState({ gmail: true, tracker: true });
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const [tab] = await browser.tabs.query({ active: true, lastFocusedWindow: true });
        const answer = await callFromPage("gmailHealth", tab?.id === undefined ? null : { tabId: tab.id });
        const [gmail, tracker] = await Promise.all([gmailAccessGranted(), trackerUrl === null || trackerAccessGranted(trackerUrl)]);
        if (!live) return;
        setHealth(answer);
        setAccess({ gmail, tracker });
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
  }, [trackerUrl]);
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
        // The browser asks the rep (Chrome re-grants a withheld host permission this way: chrome.permissions.request,
        // "…or be required permissions that were withheld by the user", read 2026-12-05);
        // it must be the click's own call, before any await. Gmail and the tracker are asked for in one question:
        // Chrome's "On click" withholds both, and one already granted asks nothing. The background hears the grant
        // (watchGmailHealth). Without the tracker's site, the popup's connection line says what stopped.
        <button
          type="button"
          name="allow-access"
          onClick={() =>
            void browser.permissions.request({ origins: neededOrigins(trackerUrl) }).then(
              (granted) => granted && setAccess({ gmail: true, tracker: true }),
              () => undefined,
            )
          }
        >
          {access.gmail ? "Allow Mailtracker to reach your tracker" : "Allow Mailtracker in Gmail"}
        </button>
      ) : null}
    </section>
  );
}
