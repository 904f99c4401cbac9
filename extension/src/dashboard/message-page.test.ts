// @vitest-environment happy-dom
// The dashboard's message page over a stood-in background: an email's tracking data is deleted from here too (the
// Undo toast sends the rep here for an email that may not have gone out), asked first, and a failure said; an
// open's place is its region and country, never a city; and an error is one email's, not the next one's.
import { h, render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, expect, it, vi } from "vitest";

const background = vi.hoisted(() => ({
  calls: [] as { type: string; input: unknown }[],
  deleteFails: null as string | null,
}));
vi.mock("../messaging", () => ({
  callFromPage: async (type: string, input: unknown) => {
    background.calls.push({ type, input });
    if (type === "messagePage" && (input as { trackingId: string }).trackingId === GONE) throw new Error("the tracker answered 404");
    if (type === "messagePage") return { ...DETAIL, threadUrl: "https://mail.google.com/mail/u/0/#all/16f4aa" };
    if (type === "deleteMessageData" && background.deleteFails) throw new Error(background.deleteFails);
    return { ok: true };
  },
}));

import { detailOf } from "../message-detail.test-support";
import { MessagePage } from "./message-page";
import { stateWords } from "./ui";

const ID = "a2b3c4d5e6f7g2h3.1.8PHy8_T19vf4-fr7_P3-_w.b_Skov_Og8O7NQ0CbR7t4Q";
/** An email the tracker does not know (deleted): its page says so. */
const GONE = "a2b3c4d5e6f7g2h3.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA";
const DETAIL = detailOf(ID, {
  threadId: "16f4aa",
  subject: "Pricing",
  recipients: [{ email: "carol@prospect.example" }],
  sentAt: "2026-11-22T09:00:00Z",
  opens: [
    {
      at: "2026-11-22T11:00:00Z",
      label: "human",
      // As a tracker from before cities were dropped still sends it: not shown.
      place: { country: "DE", region: "BE", ...{ city: "Berlin" } },
      client: "Thunderbird",
      device: "Windows",
    },
  ],
});

const root = document.createElement("div");
document.body.append(root);
const $ = (selector: string) => root.querySelector<HTMLElement>(selector);
const deletes = () => background.calls.filter((call) => call.type === "deleteMessageData").map((call) => call.input);
const click = (selector: string) => act(() => $(selector)?.click());

afterEach(() => render(null, root));

it("deletes the email's tracking data once the rep confirms, says why when it could not, and leaves for the list", async () => {
  location.hash = `#message/${ID}`;
  await act(() => render(h(MessagePage, { id: ID }), root));
  await vi.waitFor(() => expect($("[data-testid=message-page]")).not.toBeNull());
  await click("button[name=delete-message]");
  expect($("[data-testid=delete-message]")?.textContent).toContain("Delete every open and click recorded for this email");
  expect(deletes()).toEqual([]);
  await click("button[name=delete-message-cancel]");
  expect($("button[name=delete-message-confirm]")).toBeNull();

  background.deleteFails = "the tracker answered 503: unavailable";
  await click("button[name=delete-message]");
  await click("button[name=delete-message-confirm]");
  await vi.waitFor(() => expect($("[data-testid=delete-message] .error")?.textContent).toContain("Not deleted: the tracker answered 503"));
  expect(location.hash).toBe(`#message/${ID}`);

  background.deleteFails = null;
  await click("button[name=delete-message-confirm]");
  await vi.waitFor(() => expect(location.hash).toBe("#messages"));
  expect(deletes()).toEqual([{ trackingId: ID }, { trackingId: ID }]);
});

it("shows an open's region and country, never a city", async () => {
  await act(() => render(h(MessagePage, { id: ID }), root));
  await vi.waitFor(() => expect($("[data-testid=opens]")).not.toBeNull());
  expect($("[data-testid=opens] li")?.textContent).toContain(" · BE, DE");
  expect($("[data-testid=message-page]")?.textContent).not.toContain("Berlin");
});

it("another email's page does not keep the error of the one before", async () => {
  await act(() => render(h(MessagePage, { id: GONE }), root));
  await vi.waitFor(() => expect($("[data-testid=error]")?.textContent).toBe("the tracker answered 404"));
  await act(() => render(h(MessagePage, { id: ID }), root));
  await vi.waitFor(() => expect($("[data-testid=message-page]")?.dataset.id).toBe(ID));
  expect($("[data-testid=error]")).toBeNull();
});

it("says of an email without an open what the Sent list's mark and the panel say: no claim of an open still to come", () => {
  const quiet = { state: "delivered", replyCount: 0, openTracking: true, unsubscribed: false } as const;
  expect(stateWords(quiet)).toBe("no open yet");
  expect(stateWords({ ...quiet, openTracking: false })).toBe("opens not tracked");
  expect(stateWords({ ...quiet, unsubscribed: true })).toBe("no open recorded: a recipient turned tracking off");
  expect(stateWords({ ...quiet, appleMailLoads: 1 })).toMatch(/^no open seen: Apple Mail loaded it on delivery/);
  expect(stateWords({ ...quiet, state: "opened" })).toBe("opened");
});
