// The options page: tracker connection (create an account or use an existing token), test connection, defaults,
// exclusions and notifications. Settings go through options-store.ts; credentials only through the background.
import { type ComponentChildren, render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import type { ExtensionState } from "../background/handlers";
import { callFromPage } from "../messaging";
import { loadOptions, normalizeTrackerUrl, type Options, parseDomainList, saveOptions } from "../options-store";
import { OutboxList } from "../pages/outbox-list";

type Notice = { kind: "ok" | "error"; text: string } | null;

/**
 * Host access to the tracker (and Gmail, which Firefox MV3 treats as optional too). Must be called first thing in
 * the click handler, before any await: Firefox only shows the prompt within the user's gesture. Already granted
 * origins (the local tracker is granted in the manifest) resolve at once without a prompt.
 */
function requestHostAccess(trackerUrl: string): Promise<void> {
  const url = new URL(trackerUrl);
  // Match patterns carry no port: one grant covers the host on any port.
  const origins = [`${url.protocol}//${url.hostname}/*`, "https://mail.google.com/*"];
  return browser.permissions.request({ origins }).then((granted) => {
    if (!granted) throw new Error(`without access to ${url.origin} and Gmail the extension cannot track (permission declined)`);
  });
}

/** The options that are on or off. */
type Flag = { [K in keyof Options]: Options[K] extends boolean ? K : never }[keyof Options];

/** A checkbox for one on/off option, named after it and saved on change. */
function Toggle({
  name,
  options,
  save,
  children,
}: {
  name: Flag;
  options: Options;
  save: (changes: Partial<Options>) => void;
  children: ComponentChildren;
}) {
  return (
    <label>
      <input type="checkbox" name={name} checked={options[name]} onChange={(e) => save({ [name]: e.currentTarget.checked })} /> {children}
    </label>
  );
}

function OptionsPage() {
  const [options, setOptions] = useState<Options | null>(null);
  const [state, setState] = useState<ExtensionState | null>(null);
  const [trackerUrl, setTrackerUrl] = useState("");
  const [token, setToken] = useState("");
  const [registrationSecret, setRegistrationSecret] = useState("");
  const [notice, setNotice] = useState<Notice>(null);
  const [newToken, setNewToken] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = useCallback(async () => {
    const [loaded, current] = await Promise.all([loadOptions(), callFromPage("getState", null)]);
    setOptions(loaded);
    setState(current);
    setTrackerUrl((url) => url || loaded.trackerUrl);
  }, []);

  useEffect(() => {
    void reload();
    const timer = setInterval(() => void callFromPage("getState", null).then(setState), 3000);
    return () => clearInterval(timer);
  }, [reload]);

  const run = async (task: () => Promise<string>) => {
    setBusy(true);
    setNotice(null);
    try {
      setNotice({ kind: "ok", text: await task() });
    } catch (error) {
      setNotice({ kind: "error", text: error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
      await reload();
    }
  };

  const connect = () => {
    const url = normalizeTrackerUrl(trackerUrl);
    const access = url ? requestHostAccess(url) : null;
    return run(async () => {
      if (!url || !access) throw new Error("the tracker URL must be an http(s) address, e.g. https://track.example.com");
      await access;
      const result = await callFromPage("connect", {
        trackerUrl: url,
        apiToken: token.trim() || undefined,
        registrationSecret: registrationSecret.trim() || undefined,
      });
      setNewToken(result.created ? result.apiToken : null);
      setToken("");
      return result.created ? `Created account ${result.accountId} on ${url}.` : `Connected to account ${result.accountId} on ${url}.`;
    });
  };

  const testConnection = () => run(async () => (await callFromPage("testConnection", null)).message);
  const disconnect = () =>
    run(async () => {
      await callFromPage("disconnect", null);
      return "Disconnected.";
    });
  const save = (changes: Partial<Options>) => void saveOptions(changes).then(setOptions);

  if (!options || !state) return <p class="muted">Loading…</p>;
  const { connection } = state;
  return (
    <div>
      <h1>Mailtracker</h1>
      <p>
        <a href="../dashboard/index.html" data-testid="dashboard-link">
          Dashboard: campaigns, people, messages and CSV export
        </a>
      </p>
      <h2>Tracker</h2>
      <p data-testid="connection" class={connection.connected ? "ok" : "error"}>
        {connection.connected
          ? `Connected to ${connection.trackerUrl} (account ${connection.accountId})`
          : `Not connected: ${connection.problem}`}
      </p>
      <label>
        Tracker URL
        <input type="url" name="trackerUrl" value={trackerUrl} onInput={(e) => setTrackerUrl(e.currentTarget.value)} />
      </label>
      <label>
        API token of an existing account (leave empty to create a new account)
        <input type="password" name="apiToken" value={token} autoComplete="off" onInput={(e) => setToken(e.currentTarget.value)} />
      </label>
      <label>
        Registration secret (only if your tracker requires one)
        <input
          type="password"
          name="registrationSecret"
          value={registrationSecret}
          autoComplete="off"
          onInput={(e) => setRegistrationSecret(e.currentTarget.value)}
        />
      </label>
      <button type="button" name="connect" disabled={busy} onClick={() => void connect()}>
        Connect
      </button>
      <button type="button" name="test" disabled={busy} onClick={() => void testConnection()}>
        Test connection
      </button>
      {connection.connected ? (
        <button type="button" name="disconnect" disabled={busy} onClick={() => void disconnect()}>
          Disconnect
        </button>
      ) : null}
      {notice ? (
        <p data-testid="notice" class={notice.kind}>
          {notice.text}
        </p>
      ) : null}
      {newToken ? (
        <p>
          Your API token (shown once; use it to connect your other browsers): <code data-testid="new-token">{newToken}</code>
        </p>
      ) : null}

      <h2>Defaults for each new email</h2>
      <Toggle name="openTrackingByDefault" options={options} save={save}>
        Track opens
      </Toggle>
      <Toggle name="clickTrackingByDefault" options={options} save={save}>
        Track link clicks
      </Toggle>

      <h2>Never track</h2>
      <label>
        Recipient domains (e.g. your own company), comma or newline separated
        <textarea
          name="excludedRecipientDomains"
          value={options.excludedRecipientDomains.join("\n")}
          onChange={(e) => save({ excludedRecipientDomains: parseDomainList(e.currentTarget.value) })}
        />
      </label>
      <label>
        Link domains never rewritten
        <textarea
          name="excludedLinkDomains"
          value={options.excludedLinkDomains.join("\n")}
          onChange={(e) => save({ excludedLinkDomains: parseDomainList(e.currentTarget.value) })}
        />
      </label>

      <h2>Recipient opt-out link</h2>
      <Toggle name="optOutLinkByDefault" options={options} save={save}>
        Add an opt-out link to each new email (each compose can still turn it off or on)
      </Toggle>
      <label>
        Its wording
        <input type="text" name="optOutText" value={options.optOutText} onChange={(e) => save({ optOutText: e.currentTarget.value })} />
      </label>

      <h2>Other</h2>
      <Toggle name="notifications" options={options} save={save}>
        Notify me of opens and clicks
      </Toggle>
      <Toggle name="debug" options={options} save={save}>
        Debug mode (log Gmail selectors that stop matching to the console)
      </Toggle>

      <h2>Outbox</h2>
      <OutboxList entries={state.outbox} onRetry={() => void callFromPage("retryOutbox", null).then(reload)} />
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<OptionsPage />, root);
