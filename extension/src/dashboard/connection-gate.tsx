// The dashboard's views while this browser is not connected to a tracker: every one of them would only say, in red,
// that it is not, with no way forward. Instead the dashboard says so once and offers the options page, where the rep
// connects; it looks again when the rep comes back to the tab.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import type { ConnectionState } from "../background/handlers";
import { callFromPage } from "../messaging";
import { errorText } from "../words";

/** `children` while connected; otherwise what is wrong and the way to the options page. */
export function ConnectionGate({ children }: { children: ComponentChildren }) {
  const [connection, setConnection] = useState<ConnectionState | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const look = () =>
      callFromPage("getState", null).then(
        (state) => {
          setConnection(state.connection);
          setError(null);
        },
        (e: unknown) => setError(errorText(e)),
      );
    void look();
    window.addEventListener("focus", look);
    return () => window.removeEventListener("focus", look);
  }, []);
  // The views say what they can of a background that does not answer; the gate does not stand in their way.
  if (error || connection?.connected) return <>{children}</>;
  if (!connection) return <p class="muted">Loading…</p>;
  return (
    <div class="connect-offer" data-testid="connect-offer">
      <p>
        {connection.lastAccountId === null
          ? "Not connected yet: connect to your tracker in the options to see here who opened and clicked your emails."
          : `Not connected: ${connection.problem ?? "connect in the options"}.`}
      </p>
      <button type="button" name="open-options" class="primary" onClick={() => void browser.runtime.openOptionsPage()}>
        Open the options to connect
      </button>
    </div>
  );
}
