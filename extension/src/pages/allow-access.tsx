// The button that gives back the sites the rep withheld from the extension (Gmail's, the tracker's), in the popup and
// on the options page, and what the options page says while they are withheld.
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { type HostAccess, hostAccess, neededOrigins, withheldAccessSentences } from "../background/gmail-health";
import { ALLOW_TRACKER_ACCESS } from "../words";

/**
 * Whether the popup asks on the options page rather than itself: in Firefox desktop a permission prompt asked from the
 * toolbar popup opens under the popup, unseen until the rep closes it, and closing the popup before or after the
 * request does not help (bethylamine/soupcan PR 122, 2024-04-03). PixieBrix opens its options page in a tab in Firefox
 * and asks there (pixiebrix/pixiebrix-extension PR 745, 2021-07-09). Chrome shows the prompt over the popup (assumed:
 * not confirmed in Chrome's chrome.permissions reference, 2026-12-07). Told by the build (FIREFOX_BUILD), read when
 * the popup draws the button: unit tests load the module without the flag.
 */
export const asksOnOptionsPage = (): boolean => FIREFOX_BUILD;

/** What the popup says next to the button where it asks on the options page. */
export const ASKED_ON_OPTIONS_PAGE = "In Firefox this button opens Mailtracker's options page, where you allow it.";

/**
 * "Allow Mailtracker in Gmail" (or "to reach your tracker" while only that is withheld): the browser asks the rep, and
 * Chrome re-grants a withheld host permission this way (chrome.permissions.request, "…or be required permissions that
 * were withheld by the user", read 2026-12-05). The request must be the click's own call, before any await: Firefox
 * only prompts within the user's gesture (MDN, permissions.request(): "The request can only be made inside the handler
 * for a user action", read 2026-12-07). Gmail and the tracker are asked for in one question: Chrome's "On click"
 * withholds both, and one already granted asks nothing. The background hears the grant (watchGmailHealth).
 * `inPopup`: in Firefox the popup opens the options page instead (asksOnOptionsPage) and closes.
 */
export function AllowAccessButton({
  trackerUrl,
  access,
  inPopup,
  onGranted,
}: {
  trackerUrl: string | null;
  access: HostAccess;
  inPopup: boolean;
  onGranted: () => void;
}) {
  const ask = () => {
    if (inPopup && asksOnOptionsPage()) {
      void browser.runtime.openOptionsPage().then(() => window.close());
      return;
    }
    void browser.permissions.request({ origins: neededOrigins(trackerUrl) }).then(
      (granted) => granted && onGranted(),
      () => undefined,
    );
  };
  return (
    <>
      <button type="button" name="allow-access" onClick={ask}>
        {access.gmail ? ALLOW_TRACKER_ACCESS : "Allow Mailtracker in Gmail"}
      </button>
      {inPopup && asksOnOptionsPage() ? (
        <p class="muted" data-testid="asked-on-options-page">
          {ASKED_ON_OPTIONS_PAGE}
        </p>
      ) : null}
    </>
  );
}

/** How often the options page looks again: the rep may change the browser's settings while it is open. */
const RECHECK_MS = 3000;

/**
 * The options page's section while the extension may not run in Gmail or reach the tracker: what stops, in the popup's
 * words, and the button that asks for both again (where Firefox's popup sends the rep). Nothing while both are allowed.
 */
export function WithheldAccess({ trackerUrl }: { trackerUrl: string | null }) {
  const [access, setAccess] = useState<HostAccess>({ gmail: true, tracker: true });
  useEffect(() => {
    let live = true;
    const check = () => void hostAccess(trackerUrl).then((seen) => live && setAccess(seen));
    check();
    const timer = setInterval(check, RECHECK_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [trackerUrl]);
  if (access.gmail && access.tracker) return null;
  return (
    <section data-testid="withheld-access">
      {withheldAccessSentences(trackerUrl, access).map((sentence) => (
        <p key={sentence} class="error">
          {sentence}
        </p>
      ))}
      <AllowAccessButton
        trackerUrl={trackerUrl}
        access={access}
        inPopup={false}
        onGranted={() => setAccess({ gmail: true, tracker: true })}
      />
    </section>
  );
}
