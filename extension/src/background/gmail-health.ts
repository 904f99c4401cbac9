// Gmail's health, as each Gmail tab's content script sees it: which parts of Gmail the extension recognises
// (compose, send, recipients, Sent rows and their ids, Gmail's lists, conversations, who wrote each message, the
// notice after a send, Gmail's answer to a send), and whether its page-world script started before Gmail's. Gmail changes without notice;
// when a part is missing, the popup says in one sentence what stops working (popup/gmail-health.tsx), and the toolbar
// button shows a badge. Reports are kept per tab, in memory and in storage.session where there is one (a service
// worker may be stopped between popup openings). Also whether the extension may run in Gmail at all, and reach the
// rep's tracker (watchGmailHealth), and whether that tracker answers (tracker-reach.ts, showTrackerTrouble).
import browser from "webextension-polyfill";
import { z } from "zod";
import { CONTENT_PING } from "../envelope";
import { hasHostAccess, trackerAccessGranted, trackerHostPattern } from "../options-store";
import { serialRunner } from "../serial";
import { trackerAccessOff } from "../words";
import { handler } from "./handler";
import { GMAIL_ORIGIN } from "./sender";

export const GMAIL_PARTS = [
  "compose",
  "send",
  "recipients",
  "sentRows",
  "rowIds",
  "threadLists",
  "conversation",
  "senders",
  "undoNotice",
  "sendAnswer",
  "pageScript",
] as const;
export type GmailPart = (typeof GMAIL_PARTS)[number];
/** ok: recognised; missing: Gmail shows it but the extension cannot read it; unseen: not on screen yet. */
export type PartState = "ok" | "missing" | "unseen";
export type GmailHealth = Record<GmailPart, PartState>;

/** What stops working when a part is missing, in one sentence for the user. */
export const MISSING_PART_SENTENCE: Record<GmailPart, string> = {
  compose: "New emails are not tracked: Gmail changed its compose window.",
  send: "Sending is not tracked: Gmail changed its Send button.",
  recipients: "Recipients are not read while you write: Gmail changed its recipient chips (they are read from the sent email instead).",
  sentRows: "Sent marks are off: Gmail changed its rows.",
  rowIds: "Sent marks are off: Gmail's rows no longer say which thread they show.",
  threadLists: "Some replies are noticed only when you open them: Mailtracker cannot read Gmail's lists of emails.",
  conversation: "The tracking panel is off: Gmail changed its conversation view.",
  senders: "Replies and bounces are not noticed: Gmail changed how it shows who wrote each message.",
  undoNotice:
    'Undo Send is not followed: Gmail changed its "Message sent" notice, so an email you take back with Undo stays tracked as sent.',
  sendAnswer:
    "Replies to the emails you send are not noticed, and their Sent marks may be missing: Mailtracker cannot read Gmail's answer to a send.",
  pageScript: "Reload this Gmail tab: Mailtracker started after Gmail did, so your own views of tracked emails may count as opens.",
};

export interface TabHealth {
  tabId: number;
  url: string;
  at: number;
  parts: GmailHealth;
}

const STORAGE_KEY = "gmailHealth";
const reports = new Map<number, TabHealth>();

const partState = z.enum(["ok", "missing", "unseen"]);
/** A report as a content script sends it, checked at run time: a content script's word is not trusted blindly. */
export const gmailHealthReport = z.object(
  Object.fromEntries(GMAIL_PARTS.map((part) => [part, partState])) as Record<GmailPart, typeof partState>,
);

/** The report's parts, or null for anything that is not a report. */
export function parseHealth(input: unknown): GmailHealth | null {
  const parsed = gmailHealthReport.safeParse(input);
  return parsed.success ? parsed.data : null;
}

/** The sentences for the missing parts, one each (a sentence shared by two parts is said once). */
export function healthSentences(parts: GmailHealth): string[] {
  return [...new Set(GMAIL_PARTS.filter((part) => parts[part] === "missing").map((part) => MISSING_PART_SENTENCE[part]))];
}

type SessionArea = { get(key: string): Promise<Record<string, unknown>>; set(items: Record<string, unknown>): Promise<void> };
const session = (): SessionArea | undefined => (browser.storage as unknown as { session?: SessionArea }).session;

async function stored(): Promise<TabHealth[]> {
  const area = session();
  if (!area) return [];
  const items: Record<string, unknown> = await area.get(STORAGE_KEY).catch(() => ({}));
  const value = items[STORAGE_KEY];
  return Array.isArray(value) ? (value as TabHealth[]) : [];
}

async function all(): Promise<TabHealth[]> {
  const byTab = new Map((await stored()).map((r) => [r.tabId, r]));
  for (const [tabId, report] of reports) byTab.set(tabId, report);
  return [...byTab.values()];
}

// Each of these reads what is stored or drawn and then writes it back: one call at a time, or two would each undo
// what the other did. A runner each, since checking access marks tabs, and marking persists.
const persisting = serialRunner();
const checking = serialRunner();
const marking = serialRunner();

/** The reports into storage.session, without those of the tabs in `without`. */
function persist(without: readonly number[] = []): Promise<void> {
  return persisting(async () => {
    const area = session();
    const kept = (await all()).filter((r) => !without.includes(r.tabId)).slice(-20);
    if (area) await area.set({ [STORAGE_KEY]: kept }).catch(() => undefined);
  });
}

/**
 * Said of a Gmail tab with no report: Chrome puts a manifest's content scripts only into pages that load after the
 * extension is installed or updated, and a tab open before needs a reload (stackoverflow.com/questions/10994324,
 * 2012, still so in Manifest V3), so nothing in a Gmail tab open before is tracked.
 */
export const NOT_RUNNING_SENTENCE =
  "Reload this Gmail tab: it was open before Mailtracker was installed, updated or allowed into Gmail, so nothing in it is tracked.";

/** Gmail's match pattern, as the manifest's host_permissions and content scripts name it. */
export const GMAIL_PATTERN = `${GMAIL_ORIGIN}/*`;

/**
 * Said while the extension may not run in Gmail at all. The rep can take its access to mail.google.com away: Chrome's
 * "Site access" (on click, or on chosen sites; since Chrome 70: developer.chrome.com "User Controls For Host
 * Permissions: Transition Guide", read 2026-12-05), Firefox's
 * "Access your data for mail.google.com" in the add-on's permissions (an MV3 host permission is the user's to withdraw:
 * permissions.remove takes it and permissions.onRemoved fires, seen in Firefox ESR 140 and 153.8, 2026-12-05). Its content scripts
 * then no longer start in Gmail: nothing sent is tracked, and no Gmail tab can report anything.
 */
export const NO_GMAIL_ACCESS_SENTENCE =
  "Nothing you send is tracked: Mailtracker's access to Gmail (mail.google.com) is turned off in the browser's extension settings.";

/**
 * The sites the extension needs, as one permissions.request asks for them (the options page's Connect, the popup's
 * button): Gmail's, and the tracker's when there is one. Chrome's "On click" withholds them together.
 */
export function neededOrigins(trackerUrl: string | null): string[] {
  return [GMAIL_PATTERN, ...(trackerUrl ? [trackerHostPattern(trackerUrl)] : [])];
}

/**
 * Said while the extension may not reach the rep's tracker: the same settings take it away (Chrome's "On click"
 * withholds every host at once; "On specific sites" naming only mail.google.com, the tracker's). Sends still carry
 * their tracking, and their registrations wait in the outbox; the tracker still records what happens. But nothing of
 * it reaches the rep, and neither do the sender's own views (sent-views-report.ts), nor may the pixel block act on the
 * tracker's requests (declarativeNetRequestWithHostAccess needs host access to the request's URL: MDN,
 * declarativeNetRequest, read 2026-12-05), so the rep's own views may count as opens.
 */
export function noTrackerAccessSentence(trackerUrl: string): string {
  return `Opens and clicks are not shown or notified, and your own views of tracked emails may count as opens: ${trackerAccessOff(trackerUrl)}. Emails you send still carry their tracking.`;
}

/** Whether the extension may run in Gmail; true when the browser cannot say. */
export function gmailAccessGranted(): Promise<boolean> {
  return hasHostAccess(GMAIL_PATTERN);
}

export type HostAccess = { gmail: boolean; tracker: boolean };

/**
 * Whether the extension may run in Gmail and reach `trackerUrl` (none: nothing to reach, so true): asked by the
 * background's watch (watchGmailHealth), the popup and the options page alike.
 */
export async function hostAccess(trackerUrl: string | null): Promise<HostAccess> {
  const [gmail, tracker] = await Promise.all([gmailAccessGranted(), trackerUrl === null || trackerAccessGranted(trackerUrl)]);
  return { gmail, tracker };
}

/**
 * What is said while `access` withholds Gmail or the tracker at `trackerUrl` (none while both are allowed): on the
 * toolbar button (watchGmailHealth) and on the options page (pages/allow-access.tsx WithheldAccess), in these words.
 */
export function withheldAccessSentences(trackerUrl: string | null, access: HostAccess): string[] {
  return [
    ...(access.gmail ? [] : [NO_GMAIL_ACCESS_SENTENCE]),
    ...(access.tracker || trackerUrl === null ? [] : [noTrackerAccessSentence(trackerUrl)]),
  ];
}

/**
 * What the popup says of Gmail, from the gmailHealth answer, whether the tab in front is Gmail's and whether the
 * extension may run in Gmail at all: the sentences, the parts recognised, and whether that is the tab in front; null
 * for nothing to say. A Gmail tab in front with no report of its own is one the content script does not run in:
 * another tab's report would not speak for it.
 */
export function popupHealth(
  health: (TabHealth & { front: boolean }) | null,
  gmailInFront: boolean,
  gmailAccess: boolean,
): { sentences: string[]; recognised: GmailPart[]; front: boolean } | null {
  // Without access no Gmail tab reports, and the tab in front does not even show its address: whatever a tab said
  // before is no longer so.
  if (!gmailAccess) return { sentences: [NO_GMAIL_ACCESS_SENTENCE], recognised: [], front: true };
  if (gmailInFront && !health?.front) return { sentences: [NOT_RUNNING_SENTENCE], recognised: [], front: true };
  if (!health) return null;
  const { parts, front } = health;
  return { sentences: healthSentences(parts), recognised: GMAIL_PARTS.filter((part) => parts[part] === "ok"), front };
}

/**
 * What the toolbar button shows for a Gmail tab: a "!" badge while something stopped working there, and the
 * sentences as its tooltip, so the rep sees it at once, without opening the popup. Back to the extension's own title
 * once all is well again.
 */
export function toolbarHealth(sentences: readonly string[], defaultTitle: string): { text: string; title: string } {
  if (sentences.length === 0) return { text: "", title: defaultTitle };
  return { text: "!", title: `${defaultTitle}: ${sentences.join(" ")}` };
}

/** Red, as the Sent list's bounce marks: something the rep has to look at. */
const BADGE_COLOR = "#d93025";

/** The button's title as the manifest sets it. */
function defaultTitle(): string {
  const manifest = browser.runtime.getManifest();
  return manifest.action?.default_title ?? manifest.name;
}

/** What the extension may not reach, in sentences, as last seen (watchGmailHealth); nothing until seen otherwise. */
let accessWithdrawn: string[] = [];
/** The tracker out of reach, or refusing this browser's token, in a sentence (showTrackerTrouble); none while it answers. */
let trackerTrouble: string[] = [];
/**
 * Gmail tabs told to reload (markGmailTabsOpenBefore) that have not reported since: they have no report to redraw when
 * access changes. Kept in storage.session too, as the reports are: a service worker stopped after telling them would
 * otherwise leave them out of the next redraw, their buttons without the access withdrawn meanwhile.
 */
const RELOAD_KEY = "gmailTabsToldToReload";
let toldToReload: Promise<Set<number>> | undefined;

/** The tabs told to reload, read from storage.session once per start of the background. */
function tabsToldToReload(): Promise<Set<number>> {
  toldToReload ??= (async () => {
    const items: Record<string, unknown> =
      (await session()
        ?.get(RELOAD_KEY)
        .catch(() => ({}))) ?? {};
    const value = items[RELOAD_KEY];
    return new Set(Array.isArray(value) ? value.filter((id): id is number => typeof id === "number") : []);
  })();
  return toldToReload;
}

/** The tabs told to reload, as changed in memory, into storage.session. */
async function storeToldToReload(): Promise<void> {
  const tabs = await tabsToldToReload();
  await session()
    ?.set({ [RELOAD_KEY]: [...tabs] })
    .catch(() => undefined);
}

/**
 * For one tab, or with no tab for every tab that has no setting of its own. The sentences about access withdrawn go on
 * every tab while they hold. A failure changes nothing else.
 */
async function showOnToolbar(tabId: number | undefined, sentences: readonly string[]): Promise<void> {
  const { text, title } = toolbarHealth([...accessWithdrawn, ...trackerTrouble, ...sentences], defaultTitle());
  const tab = tabId === undefined ? {} : { tabId };
  await Promise.all([
    browser.action.setBadgeText({ ...tab, text }),
    browser.action.setBadgeBackgroundColor({ ...tab, color: BADGE_COLOR }),
    browser.action.setTitle({ ...tab, title }),
  ]).catch(() => undefined);
}

/** The button drawn again for every tab: what holds for all of them changed. */
async function showOnEveryTab(): Promise<void> {
  await Promise.all([
    showOnToolbar(undefined, []),
    ...(await all()).map((r) => showOnToolbar(r.tabId, healthSentences(r.parts))),
    ...[...(await tabsToldToReload())].map((tabId) => showOnToolbar(tabId, [NOT_RUNNING_SENTENCE])),
  ]);
}

/**
 * The tracker out of reach, or refusing this browser's token, in one sentence (tracker-reach.ts), or null once it
 * answers again: said on the toolbar button of every tab, as withdrawn access is. In turn with the access checks,
 * which draw the same buttons.
 */
export function showTrackerTrouble(sentence: string | null): Promise<void> {
  return checking(async () => {
    const next = sentence === null ? [] : [sentence];
    if (next.join() === trackerTrouble.join()) return;
    trackerTrouble = next;
    await showOnEveryTab();
  });
}

/**
 * The background's watch (called once as it starts, never from a page that imports this module): a closed tab's
 * report no longer speaks for Gmail; and the extension's access to Gmail and to the connected tracker (`trackerUrl`,
 * null while not connected) is followed. While either is withdrawn, the toolbar button says so on every tab, Gmail's
 * included (the tabs that reported keep their own sentences after it). Gmail given back, the Gmail tabs open meanwhile
 * are marked as needing a reload (Chrome starts content scripts only in pages loaded after the grant) until they
 * report. The returned function checks again (a tracker connected or changed).
 */
export function watchGmailHealth(trackerUrl: () => Promise<string | null>): () => void {
  browser.tabs.onRemoved.addListener((tabId) => {
    reports.delete(tabId);
    void tabsToldToReload().then((tabs) => {
      tabs.delete(tabId);
      return storeToldToReload();
    });
    void persist([tabId]);
  });
  // A woken background checks as it starts, and again for the grant that woke it: one after the other, the second
  // finds the buttons already redrawn.
  const check = () =>
    checking(async () => {
      const tracker = await trackerUrl();
      const access = await hostAccess(tracker);
      // The default button's title says what was last seen withdrawn: only this watch sets it, and the browser keeps it
      // while a stopped service worker or event page is woken again (by this very grant, say), memory lost.
      const shown = await browser.action.getTitle({});
      const gmailWasWithdrawn = shown.includes(NO_GMAIL_ACCESS_SENTENCE);
      accessWithdrawn = withheldAccessSentences(tracker, access);
      if (accessWithdrawn.length === 0 && shown === defaultTitle()) return;
      await showOnEveryTab();
      if (access.gmail && gmailWasWithdrawn) await markGmailTabsOpenBefore();
    });
  const changed = () => void check().catch((error: unknown) => console.warn("extension access not shown", error));
  browser.permissions.onRemoved.addListener(changed);
  browser.permissions.onAdded.addListener(changed);
  changed();
  return changed;
}

/**
 * How long a tab is given to answer CONTENT_PING. A frozen tab (Chrome's memory saver) does not answer until it is
 * thawed, and tabs.sendMessage to it does not settle meanwhile (gioxx/MarvellousSuspender pull request 487,
 * 2026-09-03): such a tab is taken to run it still, as it did when it reported.
 */
const PING_TIMEOUT_MS = 2_000;

/** Whether the extension's content script runs in the tab now: it answers CONTENT_PING (content/features/gmail-health.ts). */
async function runsIn(tabId: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unanswered = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), PING_TIMEOUT_MS);
  });
  const answer = browser.tabs.sendMessage(tabId, CONTENT_PING).then(
    (reply) => reply === true,
    // "Could not establish connection. Receiving end does not exist.": nothing of ours listens in that page (as
    // Firefox's test_ext_runtime_sendMessage_no_receiver.js asserts; seen in Chromium 156 too, 2026-12-05).
    () => false,
  );
  try {
    return await Promise.race([answer, unanswered]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * When the extension is installed or updated, or given back its access to Gmail: each Gmail tab already open that
 * does not run it gets the badge (NOT_RUNNING_SENTENCE). Its first report replaces it (Firefox puts content scripts into
 * the open tabs too). A tab that reported is asked whether it still runs it: one reloaded while access was withdrawn
 * has a report from a page that is gone. A discarded tab is left alone: it loads again when the rep goes back to it.
 */
export function markGmailTabsOpenBefore(): Promise<void> {
  return marking(async () => {
    // The reports kept in storage.session too: a service worker stopped while access was withdrawn starts again with
    // none in memory (an update clears storage.session).
    const reported = new Map((await all()).map((r) => [r.tabId, r.at]));
    const told = await tabsToldToReload();
    const tabs = (await browser.tabs.query({ url: GMAIL_PATTERN })).flatMap(({ id, discarded }) =>
      id === undefined || discarded ? [] : [id],
    );
    const stopped = await Promise.all(tabs.map(async (id) => !reported.has(id) || !(await runsIn(id))));
    // A page loaded meanwhile that does run it reported since: its report stands.
    const latest = new Map((await all()).map((r) => [r.tabId, r.at]));
    const marked = tabs.filter((id, i) => stopped[i] && latest.get(id) === reported.get(id));
    const gone = marked.filter((id) => reported.has(id));
    for (const id of gone) reports.delete(id);
    for (const id of marked) told.add(id);
    // Drawn before anything is awaited, so a report that comes in from here on is drawn after, over it.
    await Promise.all([
      ...marked.map((id) => showOnToolbar(id, [NOT_RUNNING_SENTENCE])),
      gone.length > 0 && persist(gone),
      storeToldToReload(),
    ]);
  });
}

export const gmailHealthGmailHandlers = {
  /** A Gmail tab says what it recognises now. */
  reportGmailHealth: handler(gmailHealthReport, async (parts, sender): Promise<{ ok: true }> => {
    const tabId = sender.tab?.id;
    if (typeof tabId !== "number") throw new Error("not a Gmail tab's health report");
    const told = await tabsToldToReload();
    reports.set(tabId, { tabId, url: sender.url ?? sender.tab?.url ?? "", at: Date.now(), parts });
    told.delete(tabId);
    await Promise.all([persist(), showOnToolbar(tabId, healthSentences(parts)), storeToldToReload()]);
    return { ok: true };
  }),
};

export const gmailHealthPageHandlers = {
  /**
   * The health of the Gmail tab in front (`tabId`); when that is not a Gmail tab, of the Gmail tab that reported
   * last (`front: false`). Null when no Gmail tab reported.
   */
  gmailHealth: handler(
    z.object({ tabId: z.number().optional() }).nullable(),
    async (input): Promise<(TabHealth & { front: boolean }) | null> => {
      const known = await all();
      const front = known.find((r) => r.tabId === input?.tabId);
      if (front) return { ...front, front: true };
      const latest = known.sort((a, b) => b.at - a.at)[0];
      return latest ? { ...latest, front: false } : null;
    },
  ),
};
