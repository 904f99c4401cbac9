// @vitest-environment happy-dom
// The compose window's recipient warnings from the tracker's answers, asked of the background once per set of recipients.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { stoppedAfterEach } from "../../../test/stopped-after-each";

const checkRecipients = vi.fn();
vi.mock("../messaging", () => ({
  callFromGmail: (type: string, input: unknown) => (type === "checkRecipients" ? checkRecipients(input) : null),
}));
vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { RecipientWarnings, recipientWarning } from "./recipient-warnings";

describe("recipient warnings", () => {
  beforeEach(() => {
    checkRecipients.mockReset();
    vi.useFakeTimers();
  });
  // Runs after the warnings are stopped (vitest runs a file's afterEach hooks last registered first): a check a test
  // left pending, which would ask the background in a later test, fails the test that left it.
  afterEach(() => {
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });
  /** Each test's warnings, stopped after it as their compose stops them when it goes (compose-tracking.ts dispose). */
  const started = stoppedAfterEach<RecipientWarnings>((warnings) => warnings.dispose());

  it("words hard bounces, soft bounces and opt-outs; says nothing for clean addresses", () => {
    const clean = { suppressed: false, bounceKind: null, optedOut: false };
    expect(recipientWarning([{ email: "ok@a.example", ...clean }])).toBe("");
    const text = recipientWarning([
      { email: "gone@a.example", ...clean, suppressed: true, bounceKind: "hard" },
      { email: "full@a.example", ...clean, bounceKind: "soft" },
      { email: "out@a.example", ...clean, optedOut: true },
    ]);
    expect(text).toMatch(
      /^Warning: gone@a\.example bounced .*suppression list; full@a\.example bounced recently .*; out@a\.example turned tracking off/,
    );
    // One opted-out reader stops the tracking of the whole email: the rep is told it is not only theirs.
    expect(text).toContain("will not be recorded (nor for anyone else on it");
    expect(recipientWarning([{ email: "out@a.example", ...clean, optedOut: true }])).toBe(
      "Warning: out@a.example turned tracking off: this email's opens and clicks will not be recorded.",
    );
  });

  it("asks the background once per set of recipients and shows the note (it never blocks the send)", async () => {
    checkRecipients.mockResolvedValue({
      contacts: [{ email: "gone@a.example", suppressed: true, bounceKind: "hard", optedOut: false }],
    });
    const warnings = started(new RecipientWarnings(document));
    expect(warnings.element.hidden).toBe(true);
    warnings.recipientsChanged(["gone@a.example"]);
    warnings.recipientsChanged(["gone@a.example"]);
    await vi.runAllTimersAsync();
    expect(checkRecipients).toHaveBeenCalledTimes(1);
    expect(checkRecipients).toHaveBeenCalledWith({ emails: ["gone@a.example"] });
    expect(warnings.element.hidden).toBe(false);
    expect(warnings.element.textContent).toContain("gone@a.example bounced");
    warnings.recipientsChanged([]);
    expect(warnings.element.hidden).toBe(true);
  });

  it("asks nothing once its compose is gone: the check it had waiting is stopped with it", async () => {
    const warnings = started(new RecipientWarnings(document));
    warnings.recipientsChanged(["gone@a.example"]);
    expect(vi.getTimerCount()).toBe(1);
    warnings.dispose();
    await vi.runAllTimersAsync();
    expect(checkRecipients).not.toHaveBeenCalled();
  });

  it("asks for the recipients as they are when the rep stops changing them, not for each change", async () => {
    checkRecipients.mockResolvedValue({ contacts: [] });
    const warnings = started(new RecipientWarnings(document));
    warnings.recipientsChanged(["ana@a.example"]);
    warnings.recipientsChanged(["ana@a.example", "ben@a.example"]);
    await vi.runAllTimersAsync();
    expect(checkRecipients.mock.calls).toEqual([[{ emails: ["ana@a.example", "ben@a.example"] }]]);
    // A change the test ends on: its check, still waiting, is stopped after the test (started), not asked in the next.
    warnings.recipientsChanged(["cy@a.example"]);
  });
});
