// The emails waiting for an account other than the connected one (background/waiting-accounts.ts): which account, at
// which tracker address, and what of it waits, counted (the outbox list above names its emails by subject). They wait
// until the rep connects to it again, and forever otherwise: the rep may connect to it, or stop waiting, once asked.
import { useState } from "preact/hooks";
import type { WaitingAccount } from "../background/waiting-accounts";
import { counted } from "../words";

const replies = (n: number) => counted(n, "reply", "replies");
/** "a", "a and b", "a, b, and c". */
const joined = (parts: string[]) => new Intl.ListFormat("en", { type: "conjunction" }).format(parts);
const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** What of `account` waits, in counts: the outbox above lists its emails by subject. */
function whatWaits({ emails, takenBack, ...account }: WaitingAccount): string {
  const where = account.trackerUrl ? ` at ${account.trackerUrl}` : " (its tracker's address was not recorded)";
  const parts = [
    emails > 0 ? `${counted(emails, "email")} to register` : "",
    takenBack > 0 ? `${counted(takenBack, "email")} taken back in Gmail` : "",
    account.reminders > 0 ? `the follow-up reminders of ${counted(account.reminders, "email")} registered already` : "",
    account.replies > 0 ? `${replies(account.replies)} seen in Gmail` : "",
  ];
  return `Waiting for account ${account.accountId}${where} until you connect to it again: ${joined(parts.filter(Boolean))}.`;
}

/**
 * What Stop waiting removes, in words, each part named apart: its emails waiting (never tracked), those taken back in
 * Gmail (which that account's tracker may keep as sent, their withdrawal gone), the reminders of its emails registered
 * already (those stay tracked) and the replies seen for its emails (never counted).
 */
function whatGoes({ emails, takenBack, ...account }: WaitingAccount): string {
  const parts = [
    emails > 0 ? `its ${counted(emails, "email")} waiting (never tracked)` : "",
    takenBack > 0 ? `its ${counted(takenBack, "email")} taken back in Gmail (never withdrawn from that tracker)` : "",
    account.reminders > 0 ? `the reminders of ${counted(account.reminders, "email")} registered already` : "",
    account.replies > 0 ? `the ${replies(account.replies)} seen for its emails (never counted)` : "",
  ];
  return `${capitalized(joined(parts.filter(Boolean)))} will be removed from this browser and never reach any tracker.`;
}

/**
 * The second question, asked only when emails taken back wait to be withdrawn, naming their count: the withdrawal is
 * what tells that account's tracker the email never left (outbox.ts), and once dropped only the rep can, connected to
 * that account, from the email's page in the dashboard (message-page.tsx). Asked rather than refused: a rep stops
 * waiting for an account they cannot connect to any more (its token lost, its tracker gone), and a refusal would keep
 * it listed for good while its withdrawals could reach no tracker all the same; what sends them instead is said first.
 */
function whatStaysSent({ takenBack, accountId }: WaitingAccount): string {
  const one = takenBack === 1;
  const [them, their] = one ? ["it", "its"] : ["them", "their"];
  return `${capitalized(counted(takenBack, "email"))} of account ${accountId} taken back in Gmail ${one ? "was" : "were"} never withdrawn from that account's tracker, which keeps ${them} as sent. To withdraw ${them}, connect to account ${accountId} again instead: ${one ? "its withdrawal goes" : "their withdrawals go"} at once. If you stop waiting now, ${one ? "it stays" : "they stay"} as sent there until you connect to account ${accountId} and press "Delete tracking data" on ${their} ${one ? "page" : "pages"} in the dashboard.`;
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
  const [asking, setAsking] = useState<"stop" | "withdrawals" | null>(null);
  const withdrawals = account.takenBack === 1 ? "the withdrawal" : `the ${account.takenBack} withdrawals`;
  return (
    <li data-testid="waiting-account">
      <p>{whatWaits(account)}</p>
      <button type="button" name="connect-waiting-account" disabled={busy} onClick={onConnect}>
        Connect to account {account.accountId}
      </button>
      <button type="button" name="stop-waiting" disabled={busy || asking !== null} onClick={() => setAsking("stop")}>
        Stop waiting
      </button>
      {asking === "stop" ? (
        <div class="question" role="alertdialog" data-testid="stop-waiting-question">
          <p>
            <strong>Stop waiting for account {account.accountId}?</strong> {whatGoes(account)}
          </p>
          <button
            type="button"
            name="confirm-stop-waiting"
            disabled={busy}
            onClick={() => (account.takenBack > 0 ? setAsking("withdrawals") : onStop())}
          >
            Stop waiting: never track them
          </button>
          <button type="button" name="cancel-stop-waiting" disabled={busy} onClick={() => setAsking(null)}>
            Cancel
          </button>
        </div>
      ) : null}
      {asking === "withdrawals" ? (
        <div class="question" role="alertdialog" data-testid="drop-withdrawals-question">
          <p>
            <strong>Drop {withdrawals}?</strong> {whatStaysSent(account)}
          </p>
          <button type="button" name="confirm-drop-withdrawals" disabled={busy} onClick={onStop}>
            Drop {withdrawals} and stop waiting
          </button>
          <button type="button" name="cancel-stop-waiting" disabled={busy} onClick={() => setAsking(null)}>
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
  /** `takenBack`: how many of its emails taken back in Gmail the rep let go of, asked by that count. */
  onStop: (accountId: string, takenBack: number) => void;
}) {
  if (accounts.length === 0) return null;
  return (
    <ul data-testid="waiting-accounts">
      {accounts.map((account) => (
        <WaitingAccountLine
          // A count changed (one more taken back, or a refusal for it) closes its questions: asked anew by the count.
          key={`${account.accountId} ${account.takenBack}`}
          account={account}
          busy={busy}
          onConnect={() => onConnect(account)}
          onStop={() => onStop(account.accountId, account.takenBack)}
        />
      ))}
    </ul>
  );
}
