// A compose window's optional campaign name: a toggle reveals a small input; kept for this compose and sent with
// the registration as `campaign`.
export class CampaignField {
  private name = "";
  readonly button: HTMLButtonElement;
  readonly input: HTMLInputElement;

  constructor(doc: Document, makeToggle: (className: string, label: string, onToggle: () => void) => HTMLButtonElement) {
    this.input = doc.createElement("input");
    this.input.type = "text";
    this.input.className = "mt-campaign";
    this.input.placeholder = "Campaign name";
    this.input.maxLength = 100;
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
      this.button.setAttribute("aria-pressed", String(this.campaign() !== undefined));
    });
    this.button = makeToggle("mt-toggle-campaign", "Campaign", () => {
      this.input.hidden = !this.input.hidden;
      if (!this.input.hidden) this.input.focus();
    });
    this.button.title = "Name a campaign for this email";
  }

  /** The campaign name, trimmed, or undefined when none. */
  campaign(): string | undefined {
    const name = this.name.trim().slice(0, 100);
    return name || undefined;
  }

  setEnabled(enabled: boolean): void {
    this.button.disabled = !enabled;
  }
}
