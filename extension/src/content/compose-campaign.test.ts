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
});
