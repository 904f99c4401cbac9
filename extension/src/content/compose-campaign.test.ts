// @vitest-environment happy-dom
// The compose window's campaign name: revealed by its toggle, trimmed, and its keystrokes kept from Gmail.
import { describe, expect, it, vi } from "vitest";
import { CampaignField } from "./compose-campaign";
import { plainToggle as toggle } from "./plain-toggle.test-support";

describe("the campaign name", () => {
  it("is revealed by its toggle, trimmed, and undefined when empty", () => {
    const field = new CampaignField(document, toggle);
    expect(field.input.hidden).toBe(true);
    field.button.click();
    expect(field.input.hidden).toBe(false);
    expect(field.campaign()).toBeUndefined();
    field.input.value = "  Q3 outreach ";
    field.input.dispatchEvent(new Event("input"));
    expect(field.campaign()).toBe("Q3 outreach");
    expect(field.button.getAttribute("aria-pressed")).toBe("true");
    // Enter in the field stays in the field: no form submission, nothing reaches Gmail's compose.
    const enter = new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true });
    const outer = vi.fn();
    document.body.append(field.input);
    document.body.addEventListener("keydown", outer);
    field.input.dispatchEvent(enter);
    expect(enter.defaultPrevented).toBe(true);
    expect(outer).not.toHaveBeenCalled();
  });

  it("is hidden and its toggle disabled, with the reason, while no campaign can go out; the name typed comes back after", () => {
    const field = new CampaignField(document, toggle);
    field.button.click();
    field.input.value = "Q3 outreach";
    field.input.dispatchEvent(new Event("input"));
    field.setEnabled(false, "this email is not tracked (Opens and Clicks are off)");
    expect([field.input.hidden, field.button.disabled, field.button.getAttribute("aria-pressed")]).toEqual([true, true, "false"]);
    expect(field.button.title).toBe("No campaign: this email is not tracked (Opens and Clicks are off)");

    field.setEnabled(true);
    expect([field.input.hidden, field.button.disabled, field.button.getAttribute("aria-pressed")]).toEqual([false, false, "true"]);
    expect([field.input.value, field.campaign(), field.button.title]).toEqual([
      "Q3 outreach",
      "Q3 outreach",
      "Name a campaign for this email",
    ]);
  });

  it("stays hidden when tracking comes back if the rep had not opened it", () => {
    const field = new CampaignField(document, toggle);
    field.setEnabled(false, "Plain text mode: this email is not tracked");
    field.setEnabled(true);
    expect([field.input.hidden, field.button.disabled]).toEqual([true, false]);
  });
});
