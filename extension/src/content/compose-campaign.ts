// A compose window's optional campaign name: a toggle reveals a small input; kept for this compose and sent with
// the registration as `campaign`. Only a tracked email is registered: while tracking is off or locked for this one,
// the input is hidden and the toggle disabled with the reason, and the name typed waits for tracking to come back.
import { CAMPAIGN_NAME_MAX } from "../../../shared/limits";

export class CampaignField {
  private name = "";
  /** The rep opened the input. */
  private open = false;
  /** Why no campaign can go out (tracking off or locked), or null when one can. */
  private why: string | null = null;
  readonly button: HTMLButtonElement;
  readonly input: HTMLInputElement;

  constructor(doc: Document, makeToggle: (className: string, label: string, onToggle: () => void) => HTMLButtonElement) {
    this.input = doc.createElement("input");
    this.input.type = "text";
    this.input.className = "mt-campaign";
    this.input.placeholder = "Campaign name";
    this.input.maxLength = CAMPAIGN_NAME_MAX;
    this.input.setAttribute("aria-label", "Campaign name");
    this.input.hidden = true;
    // Ours alone: typing here must not reach Gmail's compose shortcuts (Ctrl+Enter still sends, as everywhere).
    for (const type of ["keydown", "keypress", "keyup", "input"])
      this.input.addEventListener(type, (event) => {
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
    this.input.addEventListener("input", () => {
      this.name = this.input.value;
      this.render();
    });
    this.button = makeToggle("mt-toggle-campaign", "Campaign", () => {
      this.open = !this.open;
      this.render();
      if (this.open) this.input.focus();
    });
    this.render();
  }

  /** The campaign name, trimmed, or undefined when none. */
  campaign(): string | undefined {
    const name = this.name.trim().slice(0, CAMPAIGN_NAME_MAX);
    return name || undefined;
  }

  /** Whether this email is tracked, so can carry a campaign; `why` says why not, on the disabled toggle. */
  setEnabled(enabled: boolean, why = ""): void {
    this.why = enabled ? null : why;
    this.render();
  }

  private render(): void {
    const { why, input, button } = this;
    const hidden = why !== null || !this.open;
    // Written only when it changes: the compose watches `hidden` in its subtree, and refreshes the toolbar on each write.
    if (input.hidden !== hidden) input.hidden = hidden;
    button.disabled = why !== null;
    button.setAttribute("aria-pressed", String(why === null && this.campaign() !== undefined));
    button.title = why !== null ? `No campaign: ${why}` : "Name a campaign for this email";
  }
}
