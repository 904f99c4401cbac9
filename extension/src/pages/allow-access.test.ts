// @vitest-environment happy-dom
// What the popup and the options page say of the sites withheld from the extension, over a stood-in browser whose
// settings the test changes: each hears a withdrawal and a grant as the browser announces them, never asks again on a
// timer, and stops listening once closed. The clock is the test's: it passes only where the test says.
import { type ComponentType, h, render } from "preact";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { MINUTE } from "../../../test/durations";
import { NO_GMAIL_ACCESS_SENTENCE, NOT_RUNNING_SENTENCE } from "../background/gmail-health";
import { GmailHealthNotice } from "../popup/gmail-health";
import { ALLOW_GMAIL_ACCESS, ALLOW_TRACKER_ACCESS } from "../words";
import { useHostAccess, WithheldAccess } from "./allow-access";

/** The stood-in browser: the host permissions granted, every question asked of them, the listeners to their changes. */
const browser = vi.hoisted(() => {
  type Listener = () => void;
  const event = () => {
    const listeners = new Set<Listener>();
    return { listeners, addListener: (l: Listener) => void listeners.add(l), removeListener: (l: Listener) => void listeners.delete(l) };
  };
  const stub = {
    granted: new Set<string>(),
    asked: 0,
    /** While set, each answer waits here until the test releases it (in whatever order it likes). */
    held: null as (() => void)[] | null,
    permissions: {
      contains: ({ origins }: { origins: string[] }): Promise<boolean> => {
        stub.asked++;
        // As the browser answers: what is granted when asked.
        const answer = origins.every((origin) => stub.granted.has(origin));
        const held = stub.held;
        return held ? new Promise((resolve) => held.push(() => resolve(answer))) : Promise.resolve(answer);
      },
      /** What the browser does once asked (permissions.request): the test says, per test. */
      request: (_: { origins: string[] }): Promise<boolean> => Promise.resolve(false),
      onAdded: event(),
      onRemoved: event(),
    },
    /** Whether a Gmail tab is in front: the browser gives its address only while Gmail's site is granted. */
    gmailInFront: false,
    tabs: {
      query: async () =>
        stub.gmailInFront
          ? [{ id: 7, url: stub.granted.has("https://mail.google.com/*") ? "https://mail.google.com/mail/u/0/" : undefined }]
          : [],
    },
  };
  return stub;
});
// The pages' own calls go through the polyfill; options-store.ts asks the browser's own object (web-ext.ts).
vi.mock("webextension-polyfill", () => ({ default: browser }));
vi.mock("../web-ext", () => ({ browser }));
// No Gmail tab has reported: without one in front, the popup's section shows only for the sites withheld.
vi.mock("../messaging", () => ({ callFromPage: async () => null }));

const TRACKER_URL = "https://t.example";
const GMAIL = "https://mail.google.com/*";
const TRACKER = "https://t.example/*";

/** The browser tells every listening page that a permission came or went (the settings changed). */
const announce = (change: "onAdded" | "onRemoved") => {
  for (const listener of browser.permissions[change].listeners) listener();
};
/** Lets the page answer what it was told, its effects and renders included, in 0.1 s of the test's clock. */
const settle = () => vi.advanceTimersByTimeAsync(100);

let root: HTMLElement;
const button = () => root.querySelector("button[name=allow-access]")?.textContent ?? null;

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal("FIREFOX_BUILD", false);
  browser.granted = new Set([GMAIL, TRACKER]);
  browser.held = null;
  browser.permissions.request = () => Promise.resolve(false);
  browser.gmailInFront = false;
  root = document.createElement("div");
  document.body.append(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** The options page's section, with the access the page asks for (options/main.tsx). */
const OptionsPageAccess = ({ trackerUrl }: { trackerUrl: string | null }) =>
  h(WithheldAccess, { trackerUrl, access: useHostAccess(trackerUrl) });

const pages: [string, ComponentType<{ trackerUrl: string | null }>][] = [
  ["the options page", OptionsPageAccess],
  ["the popup", GmailHealthNotice],
];

it.each(pages)(
  "%s shows a withdrawal and a grant as the browser tells of them, asks nothing on a timer, and stops listening once closed",
  async (_, page) => {
    render(h(page, { trackerUrl: TRACKER_URL }), root);
    await settle();
    expect(button()).toBeNull();
    const asked = browser.asked;
    expect(asked).toBeGreaterThan(0);
    // Ten minutes open with nothing changed: the browser is not asked again (the popup still reads the tabs' reports).
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(browser.asked).toBe(asked);

    // The tracker's site withdrawn in the browser's settings, then Gmail's: shown at once, each in its words.
    browser.granted.delete(TRACKER);
    announce("onRemoved");
    await settle();
    expect(button()).toBe(ALLOW_TRACKER_ACCESS);
    browser.granted.delete(GMAIL);
    announce("onRemoved");
    await settle();
    expect(button()).toBe(ALLOW_GMAIL_ACCESS);
    // Both given back (this page's button, another page's, or the settings): the offer goes at once.
    browser.granted.add(GMAIL).add(TRACKER);
    announce("onAdded");
    await settle();
    expect(button()).toBeNull();

    render(null, root);
    await settle();
    expect([browser.permissions.onAdded.listeners.size, browser.permissions.onRemoved.listeners.size]).toEqual([0, 0]);
  },
);

it.each(pages)(
  "%s shows a grant given at its Allow button though the request never answers, as in a Chrome popup the prompt closed",
  async (_, page) => {
    browser.granted.delete(GMAIL);
    browser.granted.delete(TRACKER);
    const requested: string[][] = [];
    // Chrome closes its popup as the prompt takes the focus, and nothing after the request runs there (allow-access.tsx
    // AllowAccessButton): the rep allows, the browser grants and tells every listening page, and the request's promise
    // never settles for the page that asked.
    browser.permissions.request = ({ origins }) => {
      requested.push(origins);
      for (const origin of origins) browser.granted.add(origin);
      announce("onAdded");
      return new Promise<boolean>(() => {});
    };
    render(h(page, { trackerUrl: TRACKER_URL }), root);
    await settle();
    root.querySelector<HTMLButtonElement>("button[name=allow-access]")?.click();
    // Asked within the click itself, before any await: Firefox prompts only inside the user's gesture.
    expect(requested).toEqual([[GMAIL, TRACKER]]);
    await settle();
    expect(button()).toBeNull();
  },
);

it("an answer the browser gives late does not undo what a later change showed", async () => {
  render(h(OptionsPageAccess, { trackerUrl: TRACKER_URL }), root);
  await settle();
  const held: (() => void)[] = [];
  browser.held = held;
  // Withdrawn, then given back before the browser answered the first question: the second answer comes first.
  browser.granted.delete(TRACKER);
  announce("onRemoved");
  browser.granted.add(TRACKER);
  announce("onAdded");
  for (const answer of held.reverse()) {
    answer();
    await settle();
  }
  expect(held).toHaveLength(4);
  expect(button()).toBeNull();
});

it("the popup looks at the tab in front again as soon as Gmail is given back, without waiting for its next refresh", async () => {
  browser.gmailInFront = true;
  browser.granted.delete(GMAIL);
  render(h(GmailHealthNotice, { trackerUrl: TRACKER_URL }), root);
  await settle();
  const said = () => [...root.querySelectorAll("li")].map((li) => li.textContent);
  expect(said()).toEqual([NO_GMAIL_ACCESS_SENTENCE]);
  // Given back: the Gmail tab in front, open since before, runs none of the extension and has not reported.
  browser.granted.add(GMAIL);
  announce("onAdded");
  await settle();
  expect(said()).toEqual([NOT_RUNNING_SENTENCE]);
});
