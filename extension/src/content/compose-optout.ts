// A compose window's recipient opt-out link (off by default; wording and default from the options), appended at
// send as `<tracker>/u/<trackingId>`: the rewrite never turns it into a click link (it is the tracker's own URL).
import { optOutUrl } from "../../../shared/protocol";
import { type Options, trackerUrls } from "../options-store";
import { quotedIn } from "./gmail-selectors";

export const OPT_OUT_ATTRIBUTE = "data-mt-optout";

/**
 * The opt-out links of other emails of our trackers that are not in a quote: what a send this compose reopens left
 * (Gmail's Undo puts the email back as it went, its link with it), or a draft made from one. Each names the email it
 * went with, not this one: each holder (its block) goes at this one's send. Quoted ones are an earlier email's, and stay.
 */
export function leftOverOptOutLinks(root: HTMLElement, trackers: readonly string[], keepId: string | null): HTMLElement[] {
  const quoted = quotedIn(root);
  const ours = trackers.map((url) => optOutUrl(url, ""));
  return [...root.querySelectorAll("a[href]")].flatMap((anchor) => {
    const href = anchor.getAttribute("href") ?? "";
    const prefix = ours.find((p) => href.startsWith(p));
    if (!prefix || href.slice(prefix.length) === keepId || quoted(anchor)) return [];
    return [(anchor.closest(`[${OPT_OUT_ATTRIBUTE}]`) as HTMLElement | null) ?? (anchor as HTMLElement)];
  });
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
  /** The rep pressed the toggle in this compose: their choice holds over what the body shows. */
  private chosen = false;
  /** Why no link can go out (tracking off or locked), or null when one can. */
  private why: string | null = null;
  readonly button: HTMLButtonElement;

  /** On by the options' default, or when `body` holds a left-over link (leftOverOptOutLinks): that send had one. */
  constructor(
    private options: Options,
    makeToggle: (className: string, label: string, onToggle: () => void) => HTMLButtonElement,
    body: HTMLElement,
  ) {
    this.on = options.optOutLinkByDefault || leftOverOptOutLinks(body, trackerUrls(options), null).length > 0;
    this.button = makeToggle("mt-toggle-optout", "Opt-out", () => {
      this.on = !this.on;
      this.chosen = true;
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

  /**
   * At the send, synchronously: the opt-out link goes in (tracked emails only) or out, and left-over links of other
   * emails go (leftOverOptOutLinks). One left over says the send it came from had the link, unless the rep chose here.
   */
  prepareSend(
    body: HTMLElement,
    plan: { trackerUrl: string; trackers: readonly string[]; trackingId: string | null; tracked: boolean },
  ): boolean {
    if (!plan.trackingId) return false;
    const leftOver = leftOverOptOutLinks(body, plan.trackers, plan.trackingId);
    for (const holder of leftOver) holder.remove();
    if (leftOver.length > 0 && !this.chosen) this.on = true;
    const on = plan.tracked && this.on;
    applyOptOutLink(body, { trackerUrl: plan.trackerUrl, trackingId: plan.trackingId, text: this.options.optOutText, on });
    return on;
  }
}
