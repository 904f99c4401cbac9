// The emails waiting for an account other than the connected one (background/waiting-accounts.ts): which account, at
// which tracker address, and what of it waits. They go to that account's tracker once the rep connects to it again,
// and wait for it forever otherwise: the rep may connect to it, or stop waiting, once asked, and never track them.
import { useState } from "preact/hooks";
import type { WaitingAccount } from "../background/waiting-accounts";
import { counted, subjectShown } from "../words";

/** What of `account` waits, in words: its emails in the outbox by subject, then its reminders. */
function whatWaits(account: WaitingAccount): string {
  const emails = account.outbox.map((e) => `"${subjectShown(e.subject)}"${e.takenBack ? " (taken back in Gmail)" : ""}`);
  const reminders = account.reminders > 0 ? [`${counted(account.reminders, "follow-up reminder")} of an email registered already`] : [];
  return [...emails, ...reminders].join(", ");
}

function WaitingAccountLine({
  account,
  busy,
  onConnect,
  onStop,
}: {
  account: WaitingAccount;
  busy: boolean;
  onConnect: () => void;
  onStop: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const emails = account.outbox.length + account.reminders;
  const where = account.trackerUrl ? ` at ${account.trackerUrl}` : " (its tracker's address was not recorded)";
  return (
    <li data-testid="waiting-account">
      <p>
        {counted(emails, "email")} {emails === 1 ? "waits" : "wait"} for account {account.accountId}
        {where}: {whatWaits(account)}. {emails === 1 ? "It goes" : "They go"} to that account's tracker once you connect to it again.
      </p>
      <button type="button" name="connect-waiting-account" disabled={busy} onClick={onConnect}>
        Connect to account {account.accountId}
      </button>
      <button type="button" name="stop-waiting" disabled={busy || asking} onClick={() => setAsking(true)}>
        Stop waiting
      </button>
      {asking ? (
        <div class="question" role="alertdialog" data-testid="stop-waiting-question">
          <p>
            <strong>Stop waiting for account {account.accountId}? These emails will never be tracked:</strong> their registrations and
            reminders are removed from this browser, and nothing of them reaches any tracker.
          </p>
          <button type="button" name="confirm-stop-waiting" disabled={busy} onClick={onStop}>
            Stop waiting: never track them
          </button>
          <button type="button" name="cancel-stop-waiting" disabled={busy} onClick={() => setAsking(false)}>
            Cancel
          </button>
        </div>
      ) : null}
    </li>
  );
}

export function WaitingAccountsList({
  accounts,
  busy,
  onConnect,
  onStop,
}: {
  accounts: readonly WaitingAccount[];
  busy: boolean;
  onConnect: (account: WaitingAccount) => void;
  onStop: (accountId: string) => void;
}) {
  if (accounts.length === 0) return null;
  return (
    <ul data-testid="waiting-accounts">
      {accounts.map((account) => (
        <WaitingAccountLine
          key={account.accountId}
          account={account}
          busy={busy}
          onConnect={() => onConnect(account)}
          onStop={() => onStop(account.accountId)}
        />
      ))}
    </ul>
  );
}
