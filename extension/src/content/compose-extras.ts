// What a compose window gains with issue 5, beside the open/click toggles (features/compose-tracking.ts):
// - a warning before sending (a visible note, never a block) when a recipient bounced hard, is suppressed, has an
//   uncleared soft bounce, or opted out: the background asks the tracker (POST /api/contacts/check, cached per address);
// - an optional campaign name (a toggle reveals a small input; kept for this compose; sent as `campaign`);
// - an optional recipient opt-out link (off by default; wording and default from the options), appended at send
//   as `<tracker>/u/<trackingId>`: the rewrite never turns it into a click link (it is the tracker's own URL).
import type { ContactCheck } from "../../../shared/api";
import { callFromGmail } from "../messaging";
import type { Options } from "../options-store";
import { guarded } from "./feature";

export const OPT_OUT_ATTRIBUTE = "data-mt-optout";

/** The opt-out page of an email: docs/protocol.md §11. */
export function optOutUrl(trackerUrl: string, trackingId: string): string {
  return `${trackerUrl.replace(/\/+$/, "")}/u/${trackingId}`;
}

/**
 * Puts this email's opt-out link at the end of the body (once), or removes it when `on` is false. Idempotent, like
 * applyTracking: a cancelled send and a second try change nothing. Opt-out links of earlier emails (quoted) stay.
 */
export function applyOptOutLink(
  root: HTMLElement,
  plan: { trackerUrl: string; trackingId: string; text: string; on: boolean },
): HTMLElement | null {
  const href = optOutUrl(plan.trackerUrl, plan.trackingId);
  let block: HTMLElement | null = null;
  for (const anchor of root.querySelectorAll(`a[href="${CSS.escape(href)}"]`)) {
    const holder = (anchor.closest(`[${OPT_OUT_ATTRIBUTE}]`) as HTMLElement | null) ?? (anchor as HTMLElement);
    if (plan.on && !block) block = holder;
    else holder.remove();
  }
  if (!plan.on || block) return block;
  const doc = root.ownerDocument;
  block = doc.createElement("div");
  block.setAttribute(OPT_OUT_ATTRIBUTE, "");
  block.setAttribute("style", "margin-top:16px;font-size:11px;color:#777");
  const anchor = doc.createElement("a");
  anchor.setAttribute("href", href);
  anchor.setAttribute("style", "color:#777");
  anchor.textContent = plan.text;
  block.append(anchor);
  root.append(block);
  return block;
}

/** The compose's note for these answers, or "" when nothing needs saying. */
export function recipientWarning(checks: readonly ContactCheck[]): string {
  const parts: string[] = [];
  const hard = checks.filter((c) => c.suppressed || c.bounceKind === "hard").map((c) => c.email);
  const soft = checks.filter((c) => !c.suppressed && c.bounceKind === "soft").map((c) => c.email);
  const optedOut = checks.filter((c) => c.optedOut).map((c) => c.email);
  if (hard.length > 0) parts.push(`${hard.join(", ")} bounced (address does not accept mail): on your suppression list`);
  if (soft.length > 0) parts.push(`${soft.join(", ")} bounced recently (temporary failure)`);
  if (optedOut.length > 0) parts.push(`${optedOut.join(", ")} opted out of your emails: this email will not be tracked for them`);
  return parts.length > 0 ? `Warning: ${parts.join("; ")}.` : "";
}

export class ComposeExtras {
  private campaignName = "";
  private optOut: boolean;
  private checkedKey = "";
  private checkTimer: ReturnType<typeof setTimeout> | undefined;
  readonly campaignButton: HTMLButtonElement;
  readonly campaignInput: HTMLInputElement;
  readonly optOutButton: HTMLButtonElement;
  readonly warning: HTMLElement;

  constructor(
    doc: Document,
    private readonly options: Options,
    makeToggle: (className: string, label: string, onToggle: () => void) => HTMLButtonElement,
  ) {
    this.optOut = options.optOutLinkByDefault;
    this.campaignInput = doc.createElement("input");
    this.campaignInput.type = "text";
    this.campaignInput.className = "mt-campaign";
    this.campaignInput.placeholder = "Campaign name";
    this.campaignInput.maxLength = 100;
    this.campaignInput.setAttribute("aria-label", "Campaign name");
    this.campaignInput.hidden = true;
    // Ours alone: typing here must not reach Gmail's compose shortcuts (Ctrl+Enter still sends, as everywhere).
    for (const type of ["keydown", "keypress", "keyup", "input"])
      this.campaignInput.addEventListener(type, (event) => {
        if (
          type === "keydown" &&
          (event as KeyboardEvent).key === "Enter" &&
          ((event as KeyboardEvent).ctrlKey || (event as KeyboardEvent).metaKey)
        )
          return;
        // A plain Enter must not submit Gmail's compose form (implicit submission) or insert anything.
        if (type === "keydown" && (event as KeyboardEvent).key === "Enter") event.preventDefault();
        event.stopPropagation();
      });
    this.campaignInput.addEventListener("input", () => {
      this.campaignName = this.campaignInput.value;
      this.campaignButton.setAttribute("aria-pressed", String(this.campaign() !== undefined));
    });
    this.campaignButton = makeToggle("mt-toggle-campaign", "Campaign", () => {
      this.campaignInput.hidden = !this.campaignInput.hidden;
      if (!this.campaignInput.hidden) this.campaignInput.focus();
    });
    this.campaignButton.title = "Name a campaign for this email";
    this.optOutButton = makeToggle("mt-toggle-optout", "Opt-out", () => {
      this.optOut = !this.optOut;
      this.render();
    });
    this.warning = doc.createElement("span");
    this.warning.className = "mt-warning";
    this.warning.setAttribute("role", "alert");
    this.warning.hidden = true;
    this.render();
  }

  elements(): HTMLElement[] {
    return [this.campaignButton, this.campaignInput, this.optOutButton, this.warning];
  }

  /** The campaign name, trimmed, or undefined when none. */
  campaign(): string | undefined {
    const name = this.campaignName.trim().slice(0, 100);
    return name || undefined;
  }

  optOutLink(): boolean {
    return this.optOut;
  }

  /** Tracking can be off for this email (plain text, excluded domain): then no opt-out link goes out either. */
  setEnabled(enabled: boolean): void {
    this.optOutButton.disabled = !enabled;
    this.campaignButton.disabled = !enabled;
  }

  private render(): void {
    this.optOutButton.setAttribute("aria-pressed", String(this.optOut));
    this.optOutButton.title = this.optOut
      ? `An opt-out link ("${this.options.optOutText}") is added at the end of this email`
      : "Add an opt-out link at the end of this email";
  }

  /** Recipients changed: ask (debounced, cached in the background) whether any of them bounced or opted out. */
  recipientsChanged(emails: string[]): void {
    const key = [...emails].sort().join(",");
    if (key === this.checkedKey) return;
    this.checkedKey = key;
    clearTimeout(this.checkTimer);
    if (emails.length === 0) {
      this.showWarning("");
      return;
    }
    this.checkTimer = setTimeout(
      guarded("recipient check", () => {
        callFromGmail("checkRecipients", { emails: emails.slice(0, 100) }).then(
          ({ contacts }) => {
            if (this.checkedKey === key) this.showWarning(recipientWarning(contacts));
          },
          () => {
            // Not connected or tracker down: the compose says so already; no warning is better than a wrong one.
            if (this.checkedKey === key) this.showWarning("");
          },
        );
      }),
      300,
    );
  }

  private showWarning(text: string): void {
    this.warning.textContent = text;
    this.warning.title = text;
    this.warning.hidden = text === "";
  }

  /** At the send, synchronously: the opt-out link goes in (tracked emails only) or out. */
  prepareSend(body: HTMLElement, plan: { trackerUrl: string; trackingId: string | null; tracked: boolean }): boolean {
    if (!plan.trackingId) return false;
    const on = plan.tracked && this.optOut;
    applyOptOutLink(body, { trackerUrl: plan.trackerUrl, trackingId: plan.trackingId, text: this.options.optOutText, on });
    return on;
  }

  dispose(): void {
    clearTimeout(this.checkTimer);
  }
}
