// The emails waiting for an account other than the connected one (background/waiting-accounts.ts): which account, at
// which tracker address, and what of it waits (with the replies seen in Gmail held for it). They go to that account's
// tracker once the rep connects to it again, and wait for it forever otherwise: the rep may connect to it, or stop
// waiting, once asked, and never track them.
import { useState } from "preact/hooks";
import type { WaitingAccount } from "../background/waiting-accounts";
import { counted, subjectShown } from "../words";

const replies = (n: number) => counted(n, "reply", "replies");

/**
 * What of `account` waits, in words: its emails in the outbox by subject, its reminders, then its replies held. An
 * account with replies alone (their emails registered, the tracker down as they were sent) is listed by them.
 */
function whatWaits(account: WaitingAccount): string {
  const emails = account.outbox.map((e) => `"${subjectShown(e.subject)}"${e.takenBack ? " (taken back in Gmail)" : ""}`);
  const reminders = account.reminders > 0 ? [`${counted(account.reminders, "follow-up reminder")} of an email registered already`] : [];
  const held = account.replies > 0 ? [`${replies(account.replies)} seen in Gmail`] : [];
  const listed = [...emails, ...reminders, ...held].join(", ");
  const count = account.outbox.length + account.reminders;
  const where = account.trackerUrl ? ` at ${account.trackerUrl}` : " (its tracker's address was not recorded)";
  return count > 0
    ? `${counted(count, "email")} ${count === 1 ? "waits" : "wait"} for account ${account.accountId}${where}: ${listed}.`
    : `${listed} ${account.replies === 1 ? "waits" : "wait"} for account ${account.accountId}${where}, to its emails registered already.`;
}

/** What Stop waiting removes, in words: the emails with their reminders, and the replies seen for them. */
function whatGoes(account: WaitingAccount): string {
  const count = account.outbox.length + account.reminders;
  const seen = `${replies(account.replies)} seen for`;
  if (count === 0) return `The ${seen} its emails`;
  const [theirReminders, them] = count === 1 ? ["its reminder", "it"] : ["their reminders", "them"];
  return `Its ${counted(count, "email")} waiting, ${theirReminders}${account.replies > 0 ? ` and the ${seen} ${them}` : ""}`;
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
  const waiting = account.outbox.length + account.reminders + account.replies;
  return (
    <li data-testid="waiting-account">
      <p>
        {whatWaits(account)} {waiting === 1 ? "It goes" : "They go"} to that account's tracker once you connect to it again.
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
            <strong>
              Stop waiting for account {account.accountId}? {whatGoes(account)} will never be tracked:
            </strong>{" "}
            {waiting === 1 ? "it is" : "they are"} removed from this browser, and nothing of {waiting === 1 ? "it" : "them"} reaches any
            tracker.
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
