// @vitest-environment happy-dom
// The compose window's issue-5 additions: the opt-out link at send (never a click link), recipient warnings from the
// tracker's answers, and the campaign name.
import { beforeEach, describe, expect, it, vi } from "vitest";

const checkRecipients = vi.fn();
vi.mock("../messaging", () => ({
  callFromGmail: (type: string, input: unknown) => (type === "checkRecipients" ? checkRecipients(input) : null),
}));
vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { mintTrackingId, pixelUrl, signedClickUrl } from "../../../shared/protocol";
import { DEFAULT_OPTIONS } from "../options-store";
import { applyOptOutLink, ComposeExtras, optOutUrl, recipientWarning } from "./compose-extras";
import { applyTracking, linksToSign } from "./rewrite";

const TRACKER = "https://t.example";
const KEY = { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) };

function toggle(className: string, label: string, onToggle: () => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.className = className;
  button.textContent = label;
  button.addEventListener("click", onToggle);
  return button;
}

describe("the opt-out link", () => {
  it("is appended once at send with the rep's wording, removed when turned off, and never rewritten as a click link", async () => {
    const id = await mintTrackingId(KEY);
    const body = document.createElement("div");
    body.innerHTML = '<div>Hi, see <a href="https://shop.example/">our shop</a></div>';
    const plan = { trackerUrl: TRACKER, trackingId: id, text: "Stop these emails", on: true };
    applyOptOutLink(body, plan);
    applyOptOutLink(body, plan);
    const links = [...body.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.textContent]);
    expect(links).toEqual([
      ["https://shop.example/", "our shop"],
      [`${TRACKER}/u/${id}`, "Stop these emails"],
    ]);

    // The send-time rewrite signs and rewrites the shop link, and leaves the opt-out link as it is.
    const policy = { trackerUrl: TRACKER, excludedLinkDomains: [] };
    expect(linksToSign(body, policy, id)).toEqual(["https://shop.example/"]);
    const clickUrls = new Map([["https://shop.example/", await signedClickUrl(TRACKER, KEY, id, 0, "https://shop.example/")]]);
    const result = applyTracking(body, {
      ...policy,
      trackingId: id,
      pixelUrl: pixelUrl(TRACKER, id),
      openTracking: true,
      clickTracking: true,
      clickUrls,
    });
    expect(result.links).toEqual([{ index: 0, url: "https://shop.example/" }]);
    expect(body.querySelector(`a[href="${optOutUrl(TRACKER, id)}"]`)?.textContent).toBe("Stop these emails");

    applyOptOutLink(body, { ...plan, on: false });
    expect(body.innerHTML).not.toContain("/u/");
  });

  it("keeps an earlier email's opt-out link in quoted text", async () => {
    const [earlier, id] = [await mintTrackingId(KEY), await mintTrackingId(KEY)];
    const body = document.createElement("div");
    body.innerHTML = `<blockquote><a href="${optOutUrl(TRACKER, earlier)}">Unsubscribe</a></blockquote>`;
    applyOptOutLink(body, { trackerUrl: TRACKER, trackingId: id, text: "Unsubscribe", on: false });
    expect(body.innerHTML).toContain(optOutUrl(TRACKER, earlier));
  });

  it("goes out only on a tracked email, whatever the toggle says", async () => {
    const id = await mintTrackingId(KEY);
    const extras = new ComposeExtras(document, { ...DEFAULT_OPTIONS, optOutLinkByDefault: true }, toggle);
    const body = document.createElement("div");
    expect(extras.prepareSend(body, { trackerUrl: TRACKER, trackingId: id, tracked: false })).toBe(false);
    expect(body.innerHTML).toBe("");
    expect(extras.prepareSend(body, { trackerUrl: TRACKER, trackingId: id, tracked: true })).toBe(true);
    expect(body.textContent).toBe(DEFAULT_OPTIONS.optOutText);
    extras.optOutButton.click();
    expect(extras.prepareSend(body, { trackerUrl: TRACKER, trackingId: id, tracked: true })).toBe(false);
    expect(body.innerHTML).toBe("");
  });
});

describe("recipient warnings", () => {
  beforeEach(() => {
    checkRecipients.mockReset();
    vi.useFakeTimers();
  });

  it("words hard bounces, soft bounces and opt-outs; says nothing for clean addresses", () => {
    const clean = { suppressed: false, bounceKind: null, optedOut: false };
    expect(recipientWarning([{ email: "ok@a.example", ...clean }])).toBe("");
    const text = recipientWarning([
      { email: "gone@a.example", ...clean, suppressed: true, bounceKind: "hard" },
      { email: "full@a.example", ...clean, bounceKind: "soft" },
      { email: "out@a.example", ...clean, optedOut: true },
    ]);
    expect(text).toMatch(
      /^Warning: gone@a\.example bounced .*suppression list; full@a\.example bounced recently .*; out@a\.example opted out/,
    );
  });

  it("asks the background once per set of recipients and shows the note (it never blocks the send)", async () => {
    checkRecipients.mockResolvedValue({
      contacts: [{ email: "gone@a.example", suppressed: true, bounceKind: "hard", optedOut: false }],
    });
    const extras = new ComposeExtras(document, DEFAULT_OPTIONS, toggle);
    expect(extras.warning.hidden).toBe(true);
    extras.recipientsChanged(["gone@a.example"]);
    extras.recipientsChanged(["gone@a.example"]);
    await vi.runAllTimersAsync();
    expect(checkRecipients).toHaveBeenCalledTimes(1);
    expect(checkRecipients).toHaveBeenCalledWith({ emails: ["gone@a.example"] });
    expect(extras.warning.hidden).toBe(false);
    expect(extras.warning.textContent).toContain("gone@a.example bounced");
    extras.recipientsChanged([]);
    expect(extras.warning.hidden).toBe(true);
    vi.useRealTimers();
  });
});

describe("the campaign name", () => {
  it("is revealed by its toggle, trimmed, and undefined when empty", () => {
    const extras = new ComposeExtras(document, DEFAULT_OPTIONS, toggle);
    expect(extras.campaignInput.hidden).toBe(true);
    extras.campaignButton.click();
    expect(extras.campaignInput.hidden).toBe(false);
    expect(extras.campaign()).toBeUndefined();
    extras.campaignInput.value = "  Q3 outreach ";
    extras.campaignInput.dispatchEvent(new Event("input"));
    expect(extras.campaign()).toBe("Q3 outreach");
    expect(extras.campaignButton.getAttribute("aria-pressed")).toBe("true");
    // Enter in the field stays in the field: no form submission, nothing reaches Gmail's compose.
    const enter = new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true });
    const outer = vi.fn();
    document.body.append(extras.campaignInput);
    document.body.addEventListener("keydown", outer);
    extras.campaignInput.dispatchEvent(enter);
    expect(enter.defaultPrevented).toBe(true);
    expect(outer).not.toHaveBeenCalled();
  });
});
