// The options page: tracker connection (create an account or use an existing token), test connection, defaults,
// exclusions and notifications. Settings go through options-store.ts; credentials only through the background.
import { type ComponentChildren, render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { accountOf } from "../../../shared/protocol";
import { neededOrigins } from "../background/gmail-health";
import {
  type ExtensionState,
  type HeldTokens,
  NEW_ACCOUNT_NEEDS_CONFIRMATION,
  OTHER_ACCOUNT_NEEDS_CONFIRMATION,
  type TrackerAccessWithheld,
} from "../background/handlers";
import type { UnmatchedListing } from "../background/held-signals";
import type { OutboxEntry } from "../background/outbox";
import type { WaitingAccount } from "../background/waiting-accounts";
import { callFromPage } from "../messaging";
import {
  loadOptions,
  normalizeTrackerUrl,
  type Options,
  type ReadField,
  readCampaignDays,
  readDays,
  readDomainList,
  saveOptions,
  tailnetTracker,
} from "../options-store";
import { AllowAccessButton, useHostAccess, WithheldAccess } from "../pages/allow-access";
import { CopyButton } from "../pages/copy-button";
import { OutboxList } from "../pages/outbox-list";
import { useSavedNote } from "../pages/saved-note";
import { counted, errorText, TOKEN_REFUSED, trackerAccessOffAbove } from "../words";
import { UnmatchedSignalsList } from "./unmatched-signals";
import { WaitingAccountsList } from "./waiting-accounts";

/** What the page says of the rep's last action; `allowFor`: the tracker whose site the browser withheld from it. */
type Notice = { kind: "ok" | "error"; text: string; allowFor?: string } | null;

/** The background's words for a browser that never connected (handlers.ts connection()). */
const NOT_CONNECTED = "not connected to a tracker yet";

/**
 * Host access to the tracker (and Gmail, which Firefox MV3 treats as optional too). Must be called first thing in
 * the click handler, before any await: Firefox only shows the prompt within the user's gesture (MDN,
 * permissions.request(): "The request can only be made inside the handler for a user action", read 2026-12-07).
 * Already granted origins (the local tracker is granted in the manifest) resolve at once without a prompt.
 */
function requestHostAccess(trackerUrl: string): Promise<void> {
  const url = new URL(trackerUrl);
  // Match patterns carry no port: one grant covers the host on any port.
  const origins = neededOrigins(trackerUrl);
  return browser.permissions.request({ origins }).then((granted) => {
    if (!granted) throw new Error(`without access to ${url.origin} and Gmail the extension cannot track (permission declined)`);
  });
}

/**
 * The notice of a call the browser's withheld access stopped, with the button that gives it back, shown until the
 * browser says the tracker's site is allowed again (then the rep tries again). `gmail`: whether Gmail's site is allowed.
 */
function AccessWithheldNotice({ text, trackerUrl, gmail }: { text: string; trackerUrl: string; gmail: boolean }) {
  const access = useHostAccess(trackerUrl);
  if (access?.tracker) return null;
  return (
    <div data-testid="access-withheld-notice">
      <p data-testid="notice" class="error">
        {text}
      </p>
      <AllowAccessButton trackerUrl={trackerUrl} access={{ gmail, tracker: false }} inPopup={false} />
    </div>
  );
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

/** The first-run guide: the three steps from installing to seeing who opened. Shown until the rep connects. */
function Guide() {
  return (
    <ol class="guide" data-testid="guide">
      <li>
        <strong>Connect to your tracker</strong> below: the address of the server you run (<code>npm start</code> runs one at{" "}
        <code>127.0.0.1:8787</code>), then Connect. A new account is created for you; keep the API token it shows.
      </li>
      <li>
        <strong>Send an email from Gmail</strong> as usual. The compose window shows whether the email is tracked.
      </li>
      <li>
        <strong>See who opened and clicked</strong> in the Sent list (grey, green, blue marks), in the toolbar button's popup, and in the{" "}
        <a href="../dashboard/index.html">dashboard</a>, which also lists whom to follow up with.
      </li>
    </ol>
  );
}

/** The per-campaign follow-up waits as "Webinar: 5" lines (readCampaignDays reads them back). */
function campaignDaysText(days: Record<string, number>): string {
  return Object.entries(days)
    .map(([name, n]) => `${name}: ${n}`)
    .join("\n");
}

/**
 * A field that saves on change only once all of it is understood. Otherwise it says next to itself what was not,
 * saves nothing of it (so no "Saved"), and keeps the rep's text to correct: a line or an entry dropped without a word
 * would leave the rep believing a setting that never took.
 */
function CheckedField<T>({
  name,
  label,
  stored,
  read,
  save,
  placeholder,
  number,
}: {
  name: keyof Options;
  label: ComponentChildren;
  /** The saved value, as the field shows it. */
  stored: string;
  read: (text: string) => ReadField<T>;
  save: (value: T) => Promise<unknown>;
  placeholder?: string;
  /** A number of days (1-365), not free text. */
  number?: boolean;
}) {
  /** The rep's text while it differs from the saved value: while typing, and while not understood. */
  const [draft, setDraft] = useState<string | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const problemsId = `${name}-problems`;
  const field = {
    name,
    value: draft ?? stored,
    placeholder,
    "aria-invalid": problems.length > 0,
    "aria-describedby": problems.length > 0 ? problemsId : undefined,
    onInput: (e: { currentTarget: { value: string } }) => setDraft(e.currentTarget.value),
    onChange: (e: { currentTarget: { value: string } }) => {
      const text = e.currentTarget.value;
      const result = read(text);
      setDraft(text);
      setProblems(result.problems ?? []);
      if (result.problems === undefined)
        void save(result.value).then(
          () => setDraft(null),
          (error: unknown) => setProblems([`Not saved: ${errorText(error)}`]),
        );
    },
  };
  return (
    <>
      {number ? (
        <label>
          {label} <input type="number" min="1" max="365" {...field} />
        </label>
      ) : (
        <label>
          {label}
          <textarea {...field} />
        </label>
      )}
      {problems.length > 0 ? (
        <p class="error" id={problemsId} role="alert" data-testid={problemsId}>
          Not saved, not understood: {problems.join("; ")}.
        </p>
      ) : null}
    </>
  );
}

/**
 * The tokens the background handed over to be kept (handlers.ts HeldTokens): the account's, and one a replacement left
 * unsettled, which the tracker may take in its place, with why it is not known.
 */
function HeldTokenLines({ held }: { held: HeldTokens }) {
  return (
    <>
      <p class="token">
        {held.replaced
          ? "The API token replacement you asked for went through: this account's API token is now "
          : "This account's API token: "}
        <code data-testid="stored-token">{held.apiToken}</code> <CopyButton text={held.apiToken} name="copy-stored-token" />
      </p>
      {held.unsettled ? (
        <p class="token error" data-testid="unsettled-token">
          A replacement of this token you asked for is not settled: {held.unsettled.why}. The tracker may take this new token in place of
          the one above, or has already: keep both until Test connection says which.{" "}
          <code data-testid="pending-token">{held.unsettled.apiToken}</code>{" "}
          <CopyButton text={held.unsettled.apiToken} name="copy-pending-token" />
        </p>
      ) : null}
    </>
  );
}

/**
 * The API token this browser holds, shown and copied on request (the background hands it to this page only): to
 * connect another browser, and before a disconnect or a switch to another account, since the tracker showed it once
 * and only it opens the account's emails again.
 */
function StoredToken() {
  const [held, setHeld] = useState<HeldTokens | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const show = () => {
    setAsking(true);
    setError(null);
    return callFromPage("storedApiToken", null).then(
      (stored) => setHeld(stored),
      (e: unknown) => {
        setError(errorText(e));
        setAsking(false);
      },
    );
  };
  if (held) return <HeldTokenLines held={held} />;
  return (
    <p>
      <button type="button" name="show-token" disabled={asking} onClick={() => void show()}>
        Show the API token
      </button>
      {error ? <span class="error"> {error}</span> : null}
    </p>
  );
}

/**
 * Said before the account is left (Disconnect, another account, a new one): its emails still waiting in the outbox
 * stay there, and go to its own tracker only, once the rep connects to it again (background/delivery.ts). Only the
 * registrations that go on their own then (pending): a refused one (failed) waits on the rep's retry, whatever the
 * account, and a withdrawal is no email reaching its tracker; the outbox's list shows both.
 */
function WaitingEmails({ outbox, accountId }: { outbox: readonly OutboxEntry[]; accountId: string | null }) {
  const waiting = outbox.filter(
    (e) => accountId !== null && e.state === "pending" && !e.withdraw && accountOf(e.trackingId) === accountId,
  ).length;
  if (waiting === 0) return null;
  return (
    <p data-testid="waiting-emails">
      {counted(waiting, "email")} of account {accountId} {waiting === 1 ? "waits" : "wait"} in the outbox to reach its tracker:{" "}
      {waiting === 1 ? "it goes" : "they go"} there once you connect to this account again, and to no other account.
    </p>
  );
}

/** Asked before Disconnect: the token goes with it, and only the token brings the account back. */
function DisconnectQuestion({
  accountId,
  outbox,
  busy,
  onDisconnect,
  onCancel,
}: {
  accountId: string | null;
  outbox: readonly OutboxEntry[];
  busy: boolean;
  onDisconnect: () => void;
  onCancel: () => void;
}) {
  return (
    <div class="question" role="alertdialog" aria-labelledby="disconnect-title" data-testid="disconnect-question">
      <p id="disconnect-title">
        <strong>Disconnecting removes this browser's API token{accountId ? ` for account ${accountId}` : ""}.</strong> To come back to this
        account, with its emails' opens, clicks and follow-ups, you will need that token: keep it first (a password manager is a good
        place).
      </p>
      <WaitingEmails outbox={outbox} accountId={accountId} />
      <StoredToken />
      <button type="button" name="confirm-disconnect" disabled={busy} onClick={onDisconnect}>
        Disconnect
      </button>
      <button type="button" name="cancel-disconnect" disabled={busy} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/**
 * Asked before the API token is replaced: what changes (the old token stops working, here at once and everywhere
 * within about a minute; other browsers connect again) and what does not (the signing key, so sent emails stay tracked).
 */
function ReplaceTokenQuestion({ busy, onReplace, onCancel }: { busy: boolean; onReplace: () => void; onCancel: () => void }) {
  return (
    <div class="question" role="alertdialog" aria-labelledby="replace-token-title" data-testid="replace-token-question">
      <p id="replace-token-title">
        <strong>Replace this account's API token?</strong> This browser makes a new token, shown here once, and the tracker refuses the old
        one from then on: a copy of the old token (on a lost laptop, say) stops opening your account. Your other browsers connected with the
        old token must connect again with the new one. The tracker's cache can let the old token in for about a minute more.
      </p>
      <p>Emails you already sent stay tracked: their pixels and links are signed with your account's signing key, which is not replaced.</p>
      <button type="button" name="confirm-replace-token" disabled={busy} onClick={onReplace}>
        Replace the token
      </button>
      <button type="button" name="cancel-replace-token" disabled={busy} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** Asked before a token of another account takes the place of the one this browser holds. */
function OtherAccountQuestion({
  accountId,
  outbox,
  busy,
  onConnect,
  onCancel,
}: {
  accountId: string | null;
  outbox: readonly OutboxEntry[];
  busy: boolean;
  onConnect: () => void;
  onCancel: () => void;
}) {
  return (
    <div class="question" role="alertdialog" aria-labelledby="other-account-title" data-testid="other-account-question">
      <p id="other-account-title">
        <strong>This token opens another account than the one this browser is connected to</strong>
        {accountId ? ` (account ${accountId})` : ""}. Connecting to it leaves that account's emails behind: their opens, clicks and replies
        are seen only with its API token, so keep it first.
      </p>
      <WaitingEmails outbox={outbox} accountId={accountId} />
      <StoredToken />
      <button type="button" name="connect-other-account" disabled={busy} onClick={onConnect}>
        Connect to the other account
      </button>
      <button type="button" name="cancel-other-account" disabled={busy} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/**
 * Asked before Connect creates a second account while this browser holds one, or held one before a disconnect: the
 * earlier emails stay with the old account, and only its token brings them back. Offers the way back instead:
 * reconnect with that token.
 */
function NewAccountQuestion({
  accountId,
  outbox,
  busy,
  onCreate,
  onReconnect,
  onCancel,
}: {
  accountId: string | null;
  outbox: readonly OutboxEntry[];
  busy: boolean;
  onCreate: () => void;
  onReconnect: (token: string) => void;
  onCancel: () => void;
}) {
  const [token, setToken] = useState("");
  return (
    <div class="question" role="alertdialog" aria-labelledby="new-account-title" data-testid="new-account-question">
      <p id="new-account-title">
        <strong>This creates a new account; your earlier emails stay with the old one</strong>
        {accountId ? ` (account ${accountId})` : ""}. Their opens, clicks and replies are seen only with the old account's API token.
      </p>
      <WaitingEmails outbox={outbox} accountId={accountId} />
      <label>
        To reconnect to an existing account instead, paste its API token
        <input type="password" name="reconnectToken" value={token} autoComplete="off" onInput={(e) => setToken(e.currentTarget.value)} />
      </label>
      <button type="button" name="reconnect" disabled={busy || !token.trim()} onClick={() => onReconnect(token)}>
        Reconnect with this token
      </button>
      <button type="button" name="create-new-account" disabled={busy} onClick={onCreate}>
        Create a new account
      </button>
      <button type="button" name="cancel-new-account" disabled={busy} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

function OptionsPage() {
  const [options, setOptions] = useState<Options | null>(null);
  const [state, setState] = useState<ExtensionState | null>(null);
  const [unmatched, setUnmatched] = useState<UnmatchedListing>({ signals: [], unlisted: 0 });
  const [waitingFor, setWaitingFor] = useState<WaitingAccount[]>([]);
  const [trackerUrl, setTrackerUrl] = useState("");
  const [token, setToken] = useState("");
  const [registrationSecret, setRegistrationSecret] = useState("");
  /** The Connect form tucked away while connected, and its token field: connectTo opens the one, focuses the other. */
  const tucked = useRef<HTMLDetailsElement>(null);
  const tokenInput = useRef<HTMLInputElement>(null);
  const [notice, setNotice] = useState<Notice>(null);
  const [newToken, setNewToken] = useState<string | null>(null);
  /** The tokens to keep that a disconnect handed back (a token replacement settled, or not known, at it). */
  const [keptTokens, setKeptTokens] = useState<HeldTokens | null>(null);
  const [busy, setBusy] = useState(false);
  /** The question the page waits on an answer to, if any; for "other-account", the token it was asked about. */
  const [asking, setAsking] = useState<"new-account" | "disconnect" | "replace-token" | { otherAccount: string } | null>(null);
  const [savedNote, noteSaved] = useSavedNote();
  // Asked by the page, once: the connection line and the access section below it both say what it answers.
  const access = useHostAccess(state?.connection.connected ? state.connection.trackerUrl : null);

  /**
   * What the background holds for the page, read at each reload and every few seconds while the page is open: the
   * connection and outbox, the signals not counted (recorded, or taken after all, while the rep looks), and the
   * accounts other than the connected one that emails wait for.
   */
  const refresh = useCallback(async () => {
    const [current, given, waiting] = await Promise.all([
      callFromPage("getState", null),
      callFromPage("unmatchedSignals", null),
      callFromPage("accountsWaiting", null),
    ]);
    setState(current);
    setUnmatched(given);
    setWaitingFor(waiting);
  }, []);

  const reload = useCallback(async () => {
    const [loaded] = await Promise.all([loadOptions(), refresh()]);
    setOptions(loaded);
    setTrackerUrl((url) => url || loaded.trackerUrl);
  }, [refresh]);

  useEffect(() => {
    void reload();
    const timer = setInterval(() => void refresh(), 3000);
    return () => clearInterval(timer);
  }, [reload, refresh]);

  /** Runs the rep's action and says how it went: done (in its words), failed, or refused for the tracker's site withheld. */
  const run = async (task: () => Promise<string | TrackerAccessWithheld>) => {
    setBusy(true);
    setNotice(null);
    try {
      const done = await task();
      setNotice(typeof done === "string" ? { kind: "ok", text: done } : { kind: "error", text: done.problem, allowFor: done.trackerUrl });
    } catch (error) {
      setNotice({ kind: "error", text: errorText(error) });
    } finally {
      setBusy(false);
      await reload();
    }
  };

  /**
   * Connects with `apiToken` (an existing account) or, without one, creates an account. While this browser holds an
   * account, or held one before a disconnect, a new account only after the rep said so (`confirmed.newAccount`), and
   * another existing account likewise (`confirmed.otherAccount`); otherwise the question is asked first.
   */
  const connect = (apiToken: string, confirmed: { newAccount?: boolean; otherAccount?: boolean } = {}) => {
    const url = normalizeTrackerUrl(trackerUrl);
    if (!apiToken && !confirmed.newAccount && (state?.connection.accountId || state?.connection.lastAccountId)) {
      setAsking("new-account");
      return Promise.resolve();
    }
    const access = url ? requestHostAccess(url) : null;
    return run(async () => {
      if (!url || !access) throw new Error("the tracker address must be like https://track.example.com or 127.0.0.1:8787");
      // Granted first (a new tracker's site is granted here): connect starts with the background's probe of it.
      await access;
      const result = await callFromPage("connect", {
        trackerUrl: url,
        apiToken: apiToken || undefined,
        registrationSecret: registrationSecret.trim() || undefined,
        newAccount: confirmed.newAccount ?? false,
        otherAccount: confirmed.otherAccount ?? false,
        // The account the question named: another connected since (another tab) is asked about again.
        leaving:
          confirmed.newAccount || confirmed.otherAccount
            ? (state?.connection.accountId ?? state?.connection.lastAccountId ?? null)
            : undefined,
      }).catch((error: unknown) => {
        // This browser holds an account the page did not know of (another tab, another tracker address), or the
        // token opens another account than the one it holds: ask.
        if (error instanceof Error && error.message === NEW_ACCOUNT_NEEDS_CONFIRMATION) return "new-account" as const;
        if (error instanceof Error && error.message === OTHER_ACCOUNT_NEEDS_CONFIRMATION) return { otherAccount: apiToken };
        throw error;
      });
      if (result === "new-account" || "otherAccount" in result) {
        setAsking(result);
        return "Nothing changed yet: answer the question below.";
      }
      if ("accessWithheld" in result) return result;
      setAsking(null);
      setKeptTokens(null);
      setNewToken(result.created ? result.apiToken : null);
      setToken("");
      setTrackerUrl(url);
      if (result.connectedMeanwhile)
        return `Created account ${result.accountId} on ${url}, but this browser stays connected to account ${result.connectedMeanwhile}, connected from another tab meanwhile. Keep the new account's API token below: connect with it to switch to the new account.`;
      return result.created ? `Created account ${result.accountId} on ${url}.` : `Connected to account ${result.accountId} on ${url}.`;
    });
  };

  const testConnection = () =>
    run(async () => {
      const tested = await callFromPage("testConnection", null);
      return "accessWithheld" in tested ? tested : tested.message;
    });
  const disconnect = () =>
    run(async () => {
      const { keep } = await callFromPage("disconnect", { confirmed: true });
      setAsking(null);
      setKeptTokens(keep);
      return keep
        ? "Disconnected. To come back to this account, connect with its API token: keep the one below, it may not be the one shown before."
        : "Disconnected. To come back to this account, connect with its API token.";
    });
  const replaceToken = () =>
    run(async () => {
      const replaced = await callFromPage("replaceApiToken", { confirmed: true });
      setAsking(null);
      // Shown whatever happened to switching to it: the tracker refuses the old token from then on.
      setNewToken(replaced.apiToken);
      if (!replaced.kept)
        throw new Error(
          `The tracker replaced the API token, but this browser could not switch to the new one (${replaced.problem}), and the tracker refuses the one it uses. Copy the new token below now: this browser tries again when it restarts, or connect with it under "Connect to another account or tracker".`,
        );
      const lost = replaced.answerLost
        ? ` The tracker's answer did not arrive (${replaced.answerLost}), so the new token was tried: it works, and this browser uses it.`
        : "";
      return `Replaced the API token of account ${replaced.accountId}: the old one no longer works.${lost} Connect your other browsers with the new one below.`;
    });
  /** The Connect form, with the address of the account emails wait for: the rep gives its token, then Connect. */
  const connectTo = (account: WaitingAccount) => {
    if (account.trackerUrl) setTrackerUrl(account.trackerUrl);
    // While connected, the form is tucked away (connectForm): opened for the token.
    if (tucked.current) tucked.current.open = true;
    tokenInput.current?.focus();
    setNotice({ kind: "ok", text: `Enter the API token of account ${account.accountId} above, then press Connect.` });
  };
  const stopWaiting = (accountId: string, takenBack: number) =>
    run(async () => {
      setWaitingFor(await callFromPage("stopWaitingForAccount", { accountId, confirmed: true, takenBack }));
      return `Stopped waiting for account ${accountId}: what waited for it is removed from this browser.`;
    });
  const save = (changes: Partial<Options>) =>
    saveOptions(changes).then((saved) => {
      setOptions(saved);
      noteSaved();
    });

  if (!options || !state) return <p class="muted">Loading…</p>;
  const { connection, tracker } = state;
  // Connected is not answering: the tracker out of reach, or refusing the token, is said as in the popup; its site
  // withheld, nothing is known of it (the background hears no call: tracker-reach.ts withdrawn). Undefined until the
  // browser answered whether it withholds it, this page or an earlier one (useHostAccess): neither green nor a problem
  // is known then.
  const connectionProblem = !access
    ? undefined
    : !access.tracker
      ? trackerAccessOffAbove(connection.trackerUrl)
      : !tracker || tracker.reachable
        ? null
        : tracker.refused
          ? (tracker.problem ?? TOKEN_REFUSED)
          : `the tracker does not answer: ${tracker.problem}`;
  // While connected, tucked away: Connect then means "another account", a question it asks before acting.
  const connectForm = (
    <>
      <label>
        Tracker address
        <input
          type="text"
          inputMode="url"
          name="trackerUrl"
          placeholder="https://track.example.com or 127.0.0.1:8787"
          value={trackerUrl}
          onInput={(e) => setTrackerUrl(e.currentTarget.value)}
        />
      </label>
      <label>
        API token of an existing account (another browser, a reinstall); leave empty to create a new account
        <input
          ref={tokenInput}
          type="password"
          name="apiToken"
          value={token}
          autoComplete="off"
          onInput={(e) => setToken(e.currentTarget.value)}
        />
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
      <button type="button" name="connect" disabled={busy} onClick={() => void connect(token.trim())}>
        Connect
      </button>
    </>
  );
  return (
    <div>
      <h1>Mailtracker</h1>
      {savedNote}
      {connection.accountId || connection.lastAccountId ? null : <Guide />}
      <p>
        <a href="../dashboard/index.html" data-testid="dashboard-link">
          Dashboard: messages, whom to follow up with, people, campaigns and CSV export
        </a>
      </p>
      <h2>Tracker</h2>
      <p
        data-testid="connection"
        class={!connection.connected ? "error" : connectionProblem === undefined ? "muted" : connectionProblem ? "error" : "ok"}
        // Painted from the browser's last answer to a page (useHostAccess) until its answer to this one comes.
        aria-busy={access?.remembered === true}
      >
        {connection.connected
          ? `Connected to ${connection.trackerUrl} (account ${connection.accountId})${
              connectionProblem === undefined
                ? "; asking the browser whether Mailtracker may reach it…"
                : connectionProblem
                  ? `, but ${connectionProblem}`
                  : ""
            }`
          : connection.accountId === null && connection.problem === NOT_CONNECTED
            ? "Not connected yet: enter your tracker's address and press Connect."
            : `Not connected: ${connection.problem}`}
      </p>
      {/* Where Firefox's popup sends the rep to allow the extension again (pages/allow-access.tsx). */}
      {/* One button for one access: while the notice of Test connection (or Connect) refused for the connected
          tracker's site withheld offers it, under the rep's click, the connection line's "the button below" is that one. */}
      <WithheldAccess
        trackerUrl={connection.connected ? connection.trackerUrl : null}
        access={access}
        button={!(connection.connected && notice?.allowFor === connection.trackerUrl && access?.tracker === false)}
      />
      {connection.notice ? (
        <>
          <p class="error" data-testid="tracker-notice">
            {connection.notice}
          </p>
          {/* Only while it matters: a tracker recipients can reach gets every link tracked (options-store.ts linksTracked). */}
          <Toggle name="trackLinksOutOfReach" options={options} save={save}>
            {tailnetTracker(connection.trackerUrl)
              ? "Track links: this tracker is published with Tailscale Funnel, so recipients reach it (if it is not, the links of your emails do not open for them)"
              : "Track links even though recipients cannot reach this tracker (for trying Mailtracker on this computer: the links of your emails then do not open for their recipients)"}
          </Toggle>
        </>
      ) : null}
      {options && options.earlierTrackerUrls.length > 0 ? (
        <p class="muted" data-testid="earlier-trackers">
          Emails sent through {options.earlierTrackerUrls.join(", ")} are still recognised: your own views of them are not counted as opens,
          and replies quoting them carry none of their pixels or click links.
        </p>
      ) : null}
      {connection.connected ? (
        <details ref={tucked} class="change-connection" data-testid="change-connection">
          <summary>Connect to another account or tracker</summary>
          {connectForm}
        </details>
      ) : (
        connectForm
      )}
      <button type="button" name="test" disabled={busy} onClick={() => void testConnection()}>
        Test connection
      </button>
      {connection.connected ? (
        <>
          <button type="button" name="replace-token" disabled={busy} onClick={() => setAsking("replace-token")}>
            Replace the API token
          </button>
          <button type="button" name="disconnect" disabled={busy} onClick={() => setAsking("disconnect")}>
            Disconnect
          </button>
          {/* Shown on request at any time: a token adopted while this page was closed was never shown here. The
              questions that offer it (Disconnect, another account) show their own. */}
          {asking === "disconnect" || (asking !== null && typeof asking === "object") ? null : (
            // Asked again after a replacement or another account: what it showed before is no longer the token.
            <StoredToken key={`${connection.accountId}:${newToken ?? ""}`} />
          )}
        </>
      ) : null}
      {notice?.allowFor ? (
        <AccessWithheldNotice text={notice.text} trackerUrl={notice.allowFor} gmail={access?.gmail ?? true} />
      ) : notice ? (
        <p data-testid="notice" class={notice.kind}>
          {notice.text}
        </p>
      ) : null}
      {asking === "new-account" ? (
        <NewAccountQuestion
          accountId={connection.accountId ?? connection.lastAccountId}
          outbox={state.outbox}
          busy={busy}
          onCreate={() => void connect("", { newAccount: true })}
          onReconnect={(existing) => void connect(existing.trim())}
          onCancel={() => setAsking(null)}
        />
      ) : null}
      {asking === "disconnect" ? (
        <DisconnectQuestion
          accountId={connection.accountId}
          outbox={state.outbox}
          busy={busy}
          onDisconnect={() => void disconnect()}
          onCancel={() => setAsking(null)}
        />
      ) : null}
      {asking === "replace-token" ? (
        <ReplaceTokenQuestion busy={busy} onReplace={() => void replaceToken()} onCancel={() => setAsking(null)} />
      ) : null}
      {asking !== null && typeof asking === "object" ? (
        <OtherAccountQuestion
          accountId={connection.accountId ?? connection.lastAccountId}
          outbox={state.outbox}
          busy={busy}
          onConnect={() => void connect(asking.otherAccount, { otherAccount: true })}
          onCancel={() => setAsking(null)}
        />
      ) : null}
      {keptTokens ? <HeldTokenLines held={keptTokens} /> : null}
      {newToken ? (
        <p class="token">
          Your API token, shown once: keep it (a password manager is a good place) to connect your other browsers or to come back to this
          account. <code data-testid="new-token">{newToken}</code> <CopyButton text={newToken} name="copy-token" />
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
      <CheckedField
        name="excludedRecipientDomains"
        label="Recipient domains (e.g. your own company), comma or newline separated"
        stored={options.excludedRecipientDomains.join("\n")}
        read={readDomainList}
        save={(excludedRecipientDomains) => save({ excludedRecipientDomains })}
      />
      <CheckedField
        name="excludedLinkDomains"
        label="Link domains never rewritten"
        stored={options.excludedLinkDomains.join("\n")}
        read={readDomainList}
        save={(excludedLinkDomains) => save({ excludedLinkDomains })}
      />
      <p class="muted">
        Google Drive and Docs links are never rewritten either: Gmail checks as you send that your recipients can open them.
      </p>

      <h2>Follow-ups</h2>
      <CheckedField
        number
        name="followUpDays"
        label="An email needs a follow-up when nobody replied this many days after it was sent"
        stored={String(options.followUpDays)}
        read={readDays}
        save={(followUpDays) => save({ followUpDays })}
      />
      <CheckedField
        name="followUpDaysByCampaign"
        label='Other waits per campaign, one per line as "Campaign: days"'
        placeholder="Webinar: 5"
        stored={campaignDaysText(options.followUpDaysByCampaign)}
        read={readCampaignDays}
        save={(followUpDaysByCampaign) => save({ followUpDaysByCampaign })}
      />

      <h2>Recipient opt-out link</h2>
      <Toggle name="optOutLinkByDefault" options={options} save={save}>
        Add a link that lets the recipient turn tracking off to each new email (each compose can still turn it off or on). It stops the
        tracking; it does not unsubscribe anyone from a list.
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
      <WaitingAccountsList
        accounts={waitingFor}
        busy={busy}
        onConnect={connectTo}
        onStop={(accountId, takenBack) => void stopWaiting(accountId, takenBack)}
      />
      <UnmatchedSignalsList
        listing={unmatched}
        now={Date.now()}
        onClear={() =>
          void run(async () => {
            // What the page shows, not all there is: one recorded since stays listed until the rep has seen it.
            const listed = unmatched.signals.map((s) => ({ gmailMessageId: s.signal.gmailMessageId, givenUpAt: s.givenUpAt }));
            const seen = { listed, unlisted: unmatched.unlisted };
            setUnmatched(await callFromPage("clearUnmatchedSignals", seen));
            return "List cleared.";
          })
        }
      />
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<OptionsPage />, root);
