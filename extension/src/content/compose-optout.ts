// A compose window's recipient opt-out link (off by default; wording and default from the options), appended at
// send as `<tracker>/u/<trackingId>`: the rewrite never turns it into a click link (it is the tracker's own URL).
import type { Options } from "../options-store";

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

/**
 * The compose toolbar's opt-out toggle, and the link it puts in (or takes out of) the body at send. The link goes only
 * with a tracked email: while tracking is off or locked for this one, the toggle shows that none will go out, and why,
 * and keeps the rep's own choice for when tracking is on again.
 */
export class OptOutToggle {
  private on: boolean;
  /** Why no link can go out (tracking off or locked), or null when one can. */
  private why: string | null = null;
  readonly button: HTMLButtonElement;

  constructor(
    private options: Options,
    makeToggle: (className: string, label: string, onToggle: () => void) => HTMLButtonElement,
  ) {
    this.on = options.optOutLinkByDefault;
    this.button = makeToggle("mt-toggle-optout", "Opt-out", () => {
      this.on = !this.on;
      this.render();
    });
    this.render();
  }

  /** Options changed while the compose is open: the link's new wording; the rep's choice stays. */
  setOptions(options: Options): void {
    this.options = options;
    this.render();
  }

  /** Whether this email is tracked, so can carry the link; `why` says why not, on the disabled toggle. */
  setEnabled(enabled: boolean, why = ""): void {
    this.why = enabled ? null : why;
    this.render();
  }

  private render(): void {
    const { why, on } = this;
    this.button.disabled = why !== null;
    this.button.setAttribute("aria-pressed", String(why === null && on));
    this.button.title =
      why !== null
        ? `No opt-out link: ${why}`
        : on
          ? `An opt-out link ("${this.options.optOutText}") is added at the end of this email`
          : "Add an opt-out link at the end of this email";
  }

  /** At the send, synchronously: the opt-out link goes in (tracked emails only) or out. */
  prepareSend(body: HTMLElement, plan: { trackerUrl: string; trackingId: string | null; tracked: boolean }): boolean {
    if (!plan.trackingId) return false;
    const on = plan.tracked && this.on;
    applyOptOutLink(body, { trackerUrl: plan.trackerUrl, trackingId: plan.trackingId, text: this.options.optOutText, on });
    return on;
  }
}
