// A compose window's warning before sending (a visible note, never a block) when a recipient bounced hard, is
// suppressed, has an uncleared soft bounce, or opted out: the background asks the tracker (POST /api/contacts/check,
// cached per address).
import type { ContactCheck } from "../../../shared/api";
import { callFromGmail } from "../messaging";
import { guarded } from "./feature";

/** The compose's note for these answers, or "" when nothing needs saying. */
export function recipientWarning(checks: readonly ContactCheck[]): string {
  const parts: string[] = [];
  const hard = checks.filter((c) => c.suppressed || c.bounceKind === "hard").map((c) => c.email);
  const soft = checks.filter((c) => !c.suppressed && c.bounceKind === "soft").map((c) => c.email);
  const optedOut = checks.filter((c) => c.optedOut).map((c) => c.email);
  if (hard.length > 0) parts.push(`${hard.join(", ")} bounced (address does not accept mail): on your suppression list`);
  if (soft.length > 0) parts.push(`${soft.join(", ")} bounced recently (temporary failure)`);
  // The tracker stores no open or click of an email any recipient opted out of (docs/protocol.md §11): its one pixel
  // and its links cannot tell who of its readers opened or clicked, so tracking stops for everyone on it.
  if (optedOut.length > 0) {
    const everyone = checks.length > optedOut.length ? " (nor for anyone else on it: the tracker cannot tell its readers apart)" : "";
    parts.push(`${optedOut.join(", ")} turned tracking off: this email's opens and clicks will not be recorded${everyone}`);
  }
  return parts.length > 0 ? `Warning: ${parts.join("; ")}.` : "";
}

export class RecipientWarnings {
  private checkedKey = "";
  private checkTimer: ReturnType<typeof setTimeout> | undefined;
  readonly element: HTMLElement;

  constructor(doc: Document) {
    this.element = doc.createElement("span");
    this.element.className = "mt-warning";
    this.element.setAttribute("role", "alert");
    this.element.hidden = true;
  }

  /** Recipients changed: ask (debounced, cached in the background) whether any of them bounced or opted out. */
  recipientsChanged(emails: string[]): void {
    const key = [...emails].sort().join(",");
    if (key === this.checkedKey) return;
    this.checkedKey = key;
    clearTimeout(this.checkTimer);
    if (emails.length === 0) {
      this.show("");
      return;
    }
    this.checkTimer = setTimeout(
      guarded("recipient check", () => {
        callFromGmail("checkRecipients", { emails: emails.slice(0, 100) }).then(
          ({ contacts }) => {
            if (this.checkedKey === key) this.show(recipientWarning(contacts));
          },
          () => {
            // Not connected or tracker down: the compose says so already; no warning is better than a wrong one.
            if (this.checkedKey === key) this.show("");
          },
        );
      }),
      300,
    );
  }

  private show(text: string): void {
    this.element.textContent = text;
    this.element.title = text;
    this.element.hidden = text === "";
  }

  dispose(): void {
    clearTimeout(this.checkTimer);
  }
}
