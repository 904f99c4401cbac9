// The button that gives back the sites the rep withheld from the extension (Gmail's, the tracker's), in the popup and
// on the options page, and what the options page says while they are withheld.
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { type HostAccess, hostAccess, neededOrigins, withheldAccessSentences } from "../background/gmail-health";
import { ALLOW_GMAIL_ACCESS, ALLOW_TRACKER_ACCESS, ASKED_ON_OPTIONS_PAGE } from "../words";

/**
 * Whether the popup asks on the options page rather than itself: in Firefox desktop a permission prompt asked from the
 * toolbar popup opens under the popup, unseen until the rep closes it, and closing the popup before or after the
 * request does not help (bethylamine/soupcan PR 122, 2024-04-03). PixieBrix opens its options page in a tab in Firefox
 * and asks there (pixiebrix/pixiebrix-extension PR 745, 2021-07-09). Chrome shows its prompt as a dialog of the browser
 * window the popup belongs to (chromium/chromium permissions_api_interactive_uitest.cc, a request from a popup, 2024),
 * and the popup, which closes whenever another part of that window takes the focus (extension_popup.cc
 * OnWidgetTreeActivated), closes under it: the rep sees and answers the prompt, and the grant holds, but nothing after
 * the request runs in the popup. uBlock Origin Lite, which asks from its popup in Chrome, met that
 * (uBlockOrigin/uBOL-home issue 280, 2025-02-20) and finishes in its background on permissions.onAdded (gorhill/uBlock
 * background.js). Nothing here waits on the answer (the background hears the grant: watchGmailHealth), so Chrome's
 * popup asks itself (all read 2026-12-07). Told by the build (FIREFOX_BUILD), read when the popup draws the button:
 * unit tests load the module without the flag.
 */
export const asksOnOptionsPage = (): boolean => FIREFOX_BUILD;

/**
 * Whether the extension may run in Gmail and reach `trackerUrl`, as the browser says now: asked once, then again each
 * time a permission is granted or withdrawn, whoever did it (this page's button, the browser's settings), and only
 * then. Both browsers tell an extension page so (chrome.permissions onAdded, "Fired when the extension acquires new
 * permissions", and onRemoved, "Fired when access to permissions has been removed from the extension": Chrome's
 * chrome.permissions reference; MDN, permissions.onAdded and permissions.onRemoved, Firefox 77 on; both read
 * 2026-12-07), the settings' withdrawals included (the background's watch hears them: watchGmailHealth). The latest
 * answer wins: one asked before a later change must not undo what that change showed. Until the browser answered this
 * page for `trackerUrl`, its last answer to a page for that address (SeenAccess, `remembered`), else null (an answer
 * for another address, before it changed, does not speak for it): a page says nothing it was never told, neither a
 * site withheld nor a green Connected.
 */
export function useHostAccess(trackerUrl: string | null): SeenAccess | null {
  const [seen, setSeen] = useState<{ trackerUrl: string | null; access: HostAccess } | null>(null);
  useEffect(() => {
    let asked = 0;
    const check = () => {
      const turn = ++asked;
      void hostAccess(trackerUrl).then((access) => {
        if (turn !== asked) return;
        setSeen({ trackerUrl, access });
        rememberAccess(trackerUrl, access);
      });
    };
    check();
    browser.permissions.onAdded.addListener(check);
    browser.permissions.onRemoved.addListener(check);
    return () => {
      asked++;
      browser.permissions.onAdded.removeListener(check);
      browser.permissions.onRemoved.removeListener(check);
    };
  }, [trackerUrl]);
  return seen?.trackerUrl === trackerUrl ? seen.access : rememberedAccess(trackerUrl);
}

/**
 * What the browser last answered an extension page, kept for the next page's first paint (localStorage: the extension's
 * pages share it, its service worker has none): the options page's connection line painted grey, "asking the
 * browser…", for a moment at every load, though the answer is the same nearly every time. Marked as remembered until
 * this page's own answer comes, a moment later, and replaces it.
 */
export type SeenAccess = HostAccess & { remembered?: true };

const REMEMBERED_ACCESS_KEY = "mt-host-access";

function rememberAccess(trackerUrl: string | null, access: HostAccess): void {
  try {
    localStorage.setItem(REMEMBERED_ACCESS_KEY, JSON.stringify({ trackerUrl, gmail: access.gmail, tracker: access.tracker }));
  } catch {
    // No storage (a private window's quota, say): the next page asks, grey until answered, as before.
  }
}

/** The answer rememberAccess kept, if it was for `trackerUrl` (one for another address says nothing of it). */
function rememberedAccess(trackerUrl: string | null): SeenAccess | null {
  try {
    const kept: unknown = JSON.parse(localStorage.getItem(REMEMBERED_ACCESS_KEY) ?? "null");
    if (!kept || typeof kept !== "object") return null;
    const { trackerUrl: keptFor, gmail, tracker } = kept as Record<string, unknown>;
    return keptFor === trackerUrl && typeof gmail === "boolean" && typeof tracker === "boolean"
      ? { gmail, tracker, remembered: true }
      : null;
  } catch {
    return null;
  }
}

/**
 * "Allow Mailtracker in Gmail" (or "to reach your tracker" while only that is withheld): the browser asks the rep, and
 * Chrome re-grants a withheld host permission this way (chrome.permissions.request, "…or be required permissions that
 * were withheld by the user", read 2026-12-05). The request must be the click's own call, before any await: Firefox
 * only prompts within the user's gesture (MDN, permissions.request(): "The request can only be made inside the handler
 * for a user action", read 2026-12-07). Gmail and the tracker are asked for in one question: Chrome's "On click"
 * withholds both, and one already granted asks nothing. A grant is heard as any other (useHostAccess, and the
 * background's watchGmailHealth), not from the request's answer, which a Chrome popup closed by the prompt never gets
 * ("Popups automatically close when the user focuses on some portion of the browser outside of the popup", Chrome's
 * "Add a popup", developer.chrome.com/docs/extensions/develop/ui/add-popup, read 2026-12-07; asksOnOptionsPage): so
 * nothing is chained to the request here, and whatever a grant must set going runs on permissions.onAdded.
 * `inPopup`: in Firefox the popup opens the options page instead (asksOnOptionsPage) and closes.
 */
export function AllowAccessButton({ trackerUrl, access, inPopup }: { trackerUrl: string | null; access: HostAccess; inPopup: boolean }) {
  const ask = () => {
    if (inPopup && asksOnOptionsPage()) {
      void browser.runtime.openOptionsPage().then(() => window.close());
      return;
    }
    void browser.permissions.request({ origins: neededOrigins(trackerUrl) }).catch(() => undefined);
  };
  return (
    <>
      <button type="button" name="allow-access" onClick={ask}>
        {access.gmail ? ALLOW_TRACKER_ACCESS : ALLOW_GMAIL_ACCESS}
      </button>
      {inPopup && asksOnOptionsPage() ? (
        <p class="muted" data-testid="asked-on-options-page">
          {ASKED_ON_OPTIONS_PAGE}
        </p>
      ) : null}
    </>
  );
}

/**
 * The options page's section while the extension may not run in Gmail or reach the tracker (`access`: useHostAccess,
 * which the page's connection line reads too): what stops, in the popup's words, and the button that asks for both
 * again (where Firefox's popup sends the rep). Nothing while both are allowed, or while the browser has not answered.
 * `button` false: the page offers that button already, under the notice of the rep's action the browser refused.
 */
export function WithheldAccess({
  trackerUrl,
  access,
  button = true,
}: {
  trackerUrl: string | null;
  access: HostAccess | null;
  button?: boolean;
}) {
  if (!access || (access.gmail && access.tracker)) return null;
  return (
    <section data-testid="withheld-access">
      {withheldAccessSentences(trackerUrl, access).map((sentence) => (
        <p key={sentence} class="error">
          {sentence}
        </p>
      ))}
      {button ? <AllowAccessButton trackerUrl={trackerUrl} access={access} inPopup={false} /> : null}
    </section>
  );
}
