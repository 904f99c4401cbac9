// The toolbar popup: connection state and the outbox (the full activity view is a later issue).
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import type { ExtensionState } from "../background/handlers";
import { callFromPage } from "../messaging";
import { OutboxList } from "../pages/outbox-list";

function Popup() {
  const [state, setState] = useState<ExtensionState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    callFromPage("getState", null).then(setState, (e: unknown) => setError(String(e)));
  }, []);
  useEffect(() => {
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [load]);
  if (error) return <p class="error">{error}</p>;
  if (!state) return <p class="muted">Loading…</p>;
  return (
    <div>
      <h1>Mailtracker</h1>
      {state.connection.connected ? (
        <p class="ok" data-testid="connection">
          Connected to <code>{state.connection.trackerUrl}</code>
        </p>
      ) : (
        <p class="error" data-testid="connection">
          Not tracking: {state.connection.problem}
        </p>
      )}
      <OutboxList entries={state.outbox} onRetry={() => void callFromPage("retryOutbox", null).then(load)} />
      <button type="button" onClick={() => void browser.runtime.openOptionsPage()}>
        Options
      </button>
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<Popup />, root);
