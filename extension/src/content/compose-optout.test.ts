// @vitest-environment happy-dom
// The compose window's opt-out link at send: once, in the rep's wording, never a click link, on tracked emails only.
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  (globalThis as { chrome?: unknown }).chrome = { runtime: { id: "unit-test" } };
});

import { mintTrackingId, optOutUrl, pixelUrl, signedClickUrl } from "../../../shared/protocol";
import { DEPLOYED_TRACKER_URL, REP_OPTIONS } from "../options-store.test-support";
import { applyOptOutLink, OptOutToggle } from "./compose-optout";
import { plainToggle as toggle } from "./plain-toggle.test-support";
import { applyTracking, linksToSign } from "./rewrite";

const TRACKER = DEPLOYED_TRACKER_URL;
const KEY = { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) };

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
    const policy = { trackers: [TRACKER], excludedLinkDomains: [] };
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

  it("replaces the link a reopened send left (Gmail's Undo), of this tracker or an earlier one, and keeps quoted ones", async () => {
    const [undone, earlier, quoted, id] = [
      await mintTrackingId(KEY),
      await mintTrackingId(KEY),
      await mintTrackingId(KEY),
      await mintTrackingId(KEY),
    ];
    const moved = "https://mt.rep.workers.dev";
    const reopened = () => {
      const body = document.createElement("div");
      body.innerHTML = `<div>Hi</div><div class="gmail_quote"><a href="${optOutUrl(TRACKER, quoted)}">Don't track</a></div>`;
      // As Undo puts the email back, the body as it went, opt-out block at the end ("turns it back into a draft and
      // opens the message composer", nextcloud/mail issue 5438, which the simulated Gmail's Undo follows:
      // test/e2e/gmail-sim/gmail-sim.js). Here twice: a draft of a draft, its first send through a moved tracker.
      applyOptOutLink(body, { trackerUrl: moved, trackingId: earlier, text: "Don't track", on: true });
      applyOptOutLink(body, { trackerUrl: TRACKER, trackingId: undone, text: "Don't track", on: true });
      return body;
    };
    const plan = { trackerUrl: TRACKER, trackers: [TRACKER, moved], trackingId: id, tracked: true };
    const optOutLinks = (body: HTMLElement) => [...body.querySelectorAll("a")].map((a) => a.getAttribute("href"));
    const options = { ...REP_OPTIONS, earlierTrackerUrls: [moved] };

    // The link went with the send it came from: the reopened compose has it on, though the options' default is off.
    const body = reopened();
    const optOut = new OptOutToggle(options, toggle, body);
    expect(optOut.button.getAttribute("aria-pressed")).toBe("true");
    expect(optOut.prepareSend(body, plan)).toBe(true);
    expect(optOutLinks(body)).toEqual([optOutUrl(TRACKER, quoted), optOutUrl(TRACKER, id)]);
    // A cancelled send tried again changes nothing.
    expect(optOut.prepareSend(body, plan)).toBe(true);
    expect(optOutLinks(body)).toEqual([optOutUrl(TRACKER, quoted), optOutUrl(TRACKER, id)]);

    // The rep turned it off in this compose: none goes out, the left-over one neither.
    const off = reopened();
    const chosen = new OptOutToggle(options, toggle, off);
    chosen.button.click();
    expect(chosen.prepareSend(off, plan)).toBe(false);
    expect(optOutLinks(off)).toEqual([optOutUrl(TRACKER, quoted)]);
  });

  it("goes out only on a tracked email, whatever the toggle says", async () => {
    const id = await mintTrackingId(KEY);
    const optOut = new OptOutToggle({ ...REP_OPTIONS, optOutLinkByDefault: true }, toggle, document.createElement("div"));
    const body = document.createElement("div");
    expect(optOut.prepareSend(body, { trackerUrl: TRACKER, trackers: [TRACKER], trackingId: id, tracked: false })).toBe(false);
    expect(body.innerHTML).toBe("");
    expect(optOut.prepareSend(body, { trackerUrl: TRACKER, trackers: [TRACKER], trackingId: id, tracked: true })).toBe(true);
    expect(body.textContent).toBe(REP_OPTIONS.optOutText);
    optOut.button.click();
    expect(optOut.prepareSend(body, { trackerUrl: TRACKER, trackers: [TRACKER], trackingId: id, tracked: true })).toBe(false);
    expect(body.innerHTML).toBe("");
  });
});

describe("the opt-out toggle", () => {
  it("shows pressed only while a link will go out, says why not otherwise, and keeps the rep's choice for when it will", () => {
    const optOut = new OptOutToggle({ ...REP_OPTIONS, optOutLinkByDefault: true }, toggle, document.createElement("div"));
    const shown = () => [optOut.button.getAttribute("aria-pressed"), optOut.button.disabled];
    expect(shown()).toEqual(["true", false]);
    expect(optOut.button.title).toContain("is added at the end of this email");

    // Tracking locked (plain text mode) or turned off for this email: no link goes out, and the toggle says so.
    optOut.setEnabled(false, "Plain text mode: this email is not tracked");
    expect(shown()).toEqual(["false", true]);
    expect(optOut.button.title).toBe("No opt-out link: Plain text mode: this email is not tracked");

    // Tracking on again: the rep's own choice is back, on or off.
    optOut.setEnabled(true);
    expect(shown()).toEqual(["true", false]);
    optOut.button.click();
    optOut.setEnabled(false, "this email is not tracked (Opens and Clicks are off)");
    optOut.setEnabled(true);
    expect(shown()).toEqual(["false", false]);
    expect(optOut.button.title).toBe("Add an opt-out link at the end of this email");
  });
});
