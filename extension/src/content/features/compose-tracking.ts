// Tracked sending from every kind of compose (new, reply, forward, pop-out, full screen, several at once).
// - Each compose gets two toggles (opens, clicks) that start from the options and the recipients.
// - Ahead of the send, the background mints this compose's tracking id and signs its links (it holds the key).
// - At the send (click, Enter/Space on Send or on a reply's Send & Archive, Ctrl/Cmd+Enter), synchronously, before
//   Gmail reads the body: earlier emails' tracking is stripped, the pixel appended and links swapped for their signed
//   versions.
// - The registration waits for proof of the send: Gmail's /sync answer (page-world hook), or the compose
//   closing without an alert dialog (then Gmail's draft/rt ids are the fallback). An alert dialog cancels it.
// - A send the extension did not see (Gmail changed its send button) still goes out, untracked; when Gmail's /sync
//   traffic shows it, the user is told. So is a tracked email Gmail sent as plain text (its plain-text mode not
//   recognised), whose registration is withdrawn.
// - Recipients come from the compose's chips and, as a second source, from Gmail's send request. A compose whose
//   To field shows addresses none of which could be read is a miss: logged in debug mode, and the user is told.
// - "Schedule send" (the arrow next to Send, then a time): the send is prepared when that arrow is used, and
//   registered only on Gmail's own answer (label ^scheduled), with its sent time the scheduled time when Gmail's
//   request names it, so hits before it never count. Cancelled in Gmail, it comes back as a draft, which a compose
//   looks for in the body Gmail opens or first fills it with (scheduled-send-cancel.ts).
// - Gmail's "Undo" on its "Message sent" notice takes the latest send back (Gmail's server held it: docs/gmail.md,
//   Undo Send): its registration is withdrawn through the background, a pending one never goes out, and the compose
//   Gmail reopens is a new compose with its own id, tracked as usual when sent again. Read from the click on the
//   notice alone: today's request for an undo is not public.

import type { RegisterMessageRequest } from "../../../../shared/api";
import { isEmailAddress } from "../../../../shared/email";
import { RECIPIENT_NAME_MAX, RECIPIENTS_MAX, SUBJECT_MAX } from "../../../../shared/limits";
import { pixelUrl } from "../../../../shared/protocol";
import { gmailId, legacyThreadId, registeredThreadId, threadIdsToRegister } from "../../gmail-ids";
import { callFromGmail, ExtensionReloaded, extensionReloaded } from "../../messaging";
import { hostMatchesDomains, linksTracked, type Options, trackerNotice } from "../../options-store";
import { onPageEvent, type Recipient } from "../../page-world/events";
import type { SentMessageIds, UntrackedSend } from "../../page-world/sync-parser";
import { counted, midSentence, OUT_OF_RECIPIENTS_REACH, subjectShown } from "../../words";
import { CampaignField } from "../compose-campaign";
import { OptOutToggle } from "../compose-optout";
import { type Feature, guarded, keepLast, oncePerCheckpoint, ownPixels, SENT_DRAFTS_KEPT, sentDraftIds } from "../feature";
import {
  closest,
  composeInputId,
  composeRecipients,
  isPlainTextMode,
  query,
  queryAll,
  SEND_ANSWER_ATTRIBUTE,
  sendButtonCell,
  unreadRecipientsShown,
  visibleRecipientAddresses,
} from "../gmail-selectors";
import { debug, debugOnce } from "../log";
import { onPageMutations, touches } from "../page-watch";
import { RecipientWarnings } from "../recipient-warnings";
import { applyTracking, linksToSign, stripEarlierTracking } from "../rewrite";
import { ensureStyle, toast } from "../ui";
import { checkReopenedSend, settledSends } from "./scheduled-send-cancel";

/** How long a registration learned only from a closed compose waits for Gmail's own confirmation (undo send). */
const UNCONFIRMED_HOLD_MS = 45_000;
/** How long after a send an alert dialog still means Gmail refused it (Gmail shows it at once, before closing). */
const CANCEL_WINDOW_MS = 5_000;
/** How long after a compose used "Schedule send" closed Gmail's answer may take before the user is told. */
const SCHEDULE_CONFIRM_MS = 60_000;
/**
 * How long after a send Gmail's notice may still offer Undo: its undo period is 5 to 30 s (support.google.com/mail/
 * answer/2819488; Meru assumes at most 30 s), counted from when the notice shows, a little after what we note.
 */
export const UNDO_WINDOW_MS = 40_000;
/** One Undo arrives as several events (a key press, the click it makes): only the first takes a send back. */
const UNDO_DEBOUNCE_MS = 2_000;

interface PendingSend {
  trackingId: string;
  request: RegisterMessageRequest;
  /** Registered with Gmail's final ids; nothing more to do. */
  confirmed: boolean;
  /** Registered (held back) from the compose closing, waiting for Gmail's ids. */
  fallbackQueued: boolean;
  /** Prepared from "Schedule send": registered only on Gmail's own answer (closing the compose proves nothing). */
  viaSchedule: boolean;
  /** When it was prepared (Date.now()). */
  preparedAt: number;
  /** Tells the compose's user what became of it (the compose may be gone: then a toast). */
  tell(text: string): void;
}

/** Sends between the send click and their registration. Outlives compose sessions and feature restarts. */
const pendingSends = new Map<string, PendingSend>();

/**
 * Composes closed without the extension seeing a send, by subject, and whether each was to be tracked. If Gmail then
 * sends an email with that subject and no tracking id, one that was to be tracked went out untracked because the
 * extension missed its send (a selector broke): say so. One the rep had turned off, or not to be tracked for another
 * reason it was told, went out as it said.
 */
const closedWithoutSend: { subject: string; at: number; meantToTrack: boolean }[] = [];
/** How long after a compose closed, or prepared its send, a send Gmail reports is looked for as that compose's. */
const MISSED_SEND_WINDOW_MS = 120_000;

/** Drops the entries of a list kept oldest first that are older than `windowMs` at `now`. */
function dropOlderThan(list: { at: number }[], windowMs: number, now: number): void {
  while (list.length > 0 && now - (list[0]?.at ?? now) > windowMs) list.shift();
}

/**
 * The sends of this page that Gmail's notice may still offer to undo, oldest first: the tracking id of a tracked one,
 * null for one sent untracked (its Undo takes nothing of ours back), and its subject. The notice is the latest send's.
 */
const recentSends: { trackingId: string | null; subject: string; at: number }[] = [];
let lastUndoAt = Number.NEGATIVE_INFINITY;
/**
 * How long after an Undo Gmail has to reopen the email in a compose: the proof that the send was taken back (Gmail
 * "turns it back into a draft and opens the message composer", nextcloud/mail #5438). An Undo that came too late
 * to take anything back opens none, and that email went out: withdrawing it would lose a real send's tracking.
 */
export const REOPEN_WAIT_MS = 10_000;
/** The tracked send an Undo was used on, until Gmail reopens it (then it is withdrawn) or REOPEN_WAIT_MS passes. */
let undone: { trackingId: string; subject: string; at: number; timer: ReturnType<typeof setTimeout> } | null = null;

/** A send went out (Gmail answered it, or its compose closed): until its notice is gone, Undo means this one. */
export function noteSend(trackingId: string | null, subject: string, now = Date.now()): void {
  const index = trackingId === null ? -1 : recentSends.findIndex((s) => s.trackingId === trackingId);
  if (index >= 0) recentSends.splice(index, 1);
  recentSends.push({ trackingId, subject, at: now });
  dropOlderThan(recentSends, UNDO_WINDOW_MS, now);
}

/** When this page's latest send went out (null when none did): Gmail shows its "Message sent" notice just after. */
export function latestSendAt(): number | null {
  return recentSends.at(-1)?.at ?? null;
}

/**
 * Gmail's Undo was used on a "Message sent" notice: the latest send may be taken back. A tracked one is withdrawn
 * once Gmail reopens it in a compose (composeOpened); until then its registration goes on as usual. Returns the id
 * waiting for that, if any.
 */
export function undoLatestSend(now = Date.now()): string | null {
  if (now - lastUndoAt < UNDO_DEBOUNCE_MS) return null;
  lastUndoAt = now;
  dropOlderThan(recentSends, UNDO_WINDOW_MS, now);
  const latest = recentSends.pop();
  if (!latest) {
    debug("Gmail's Undo, but no send of this page in the last", UNDO_WINDOW_MS / 1000, "s");
    return null;
  }
  if (latest.trackingId === null) {
    debug("Gmail's Undo took back an untracked send");
    return null;
  }
  if (undone) clearTimeout(undone.timer);
  const { trackingId, subject } = latest;
  const timer = setTimeout(() => {
    if (undone?.trackingId !== trackingId) return;
    undone = null;
    // Said, not guessed: the send may have gone out after all (an Undo too late), or Gmail reopened it where the
    // extension does not see a compose. Either way it stays tracked, and the rep knows why.
    toast(
      document,
      `Mailtracker: you used Undo on "${subjectShown(subject)}", but Gmail did not reopen it here, so it is still tracked as sent. If it did not go out, delete its tracking data from its page in the dashboard.`,
    );
  }, REOPEN_WAIT_MS);
  undone = { trackingId, subject, at: now, timer };
  debug("Undo used in Gmail: waiting for the email to reopen", trackingId);
  return trackingId;
}

/**
 * A compose opened: within REOPEN_WAIT_MS of an Undo and with the undone email's subject (as this extension read it
 * at the send: "" for a reply whose compose has no subject field), it is that email back as a draft, so its send is
 * withdrawn (the background deletes its registration, or keeps it from ever going out, and refuses a late one), and
 * its follow-up reminder, if it had one, is set again on the reopened compose (`toolbar`). Returns the id withdrawn,
 * if any.
 */
export function composeOpened(subject: string, toolbar: HTMLElement, now = Date.now()): string | null {
  if (!undone || now - undone.at > REOPEN_WAIT_MS || subject !== undone.subject) return null;
  const { trackingId, timer } = undone;
  clearTimeout(timer);
  undone = null;
  // Its pixel is in the reopened body: not a scheduled send cancelled besides, whatever it was (scheduled-send-cancel.ts).
  settledSends.add(trackingId);
  debug("send undone in Gmail: its registration is withdrawn", trackingId);
  withdraw(trackingId, subject).then((reminderDays) => {
    // The reminder control sets it, and says so, once the reopened compose is tracked (follow-up-reminder.ts).
    if (typeof reminderDays === "number") toolbar.setAttribute(CARRIED_REMINDER_ATTRIBUTE, String(reminderDays));
  });
  return trackingId;
}

/**
 * Withdraws a send's registration (the background deletes it, or keeps it from ever going out, and refuses a late
 * one) and drops its follow-up reminder, whose days it answers (null for none). If that fails, the rep is told, by the
 * email's subject, that it `failed`, and the answer is undefined.
 */
function withdraw(
  trackingId: string,
  subject: string,
  failed = "may still show as sent in the tracker",
): Promise<number | null | undefined> {
  pendingSends.delete(trackingId);
  return callFromGmail("messageUnsent", { trackingId }).then(
    ({ reminderDays }) => reminderDays,
    (error: unknown) => {
      toast(document, `Mailtracker: "${subjectShown(subject)}" ${failed} (${String(error)})`);
      return undefined;
    },
  );
}

/**
 * The send of this page that Gmail sent as `send`, which carries no tracking id of ours: one prepared within
 * MISSED_SEND_WINDOW_MS, the one with the draft id Gmail sends it under when both sides have one (a draft's id is the
 * sent message's: 2022-09-09-cvOnSend_4_request.json saves msg-a:r8190137112111191537 as a draft,
 * cvOnSend_request.json sends it), else one of its subject, unless a compose of that subject went untracked since
 * (in recognised plain-text mode, say: that one may be it). Null unless exactly one is.
 */
function pendingSendOf(send: UntrackedSend, title: string, now: number): PendingSend | null {
  const messageId = gmailId(send.messageId);
  const matches = [...pendingSends.values()].filter(({ request, preparedAt }) => {
    if (now - preparedAt > MISSED_SEND_WINDOW_MS) return false;
    if (request.gmailMessageId && messageId) return request.gmailMessageId === messageId;
    return (
      title !== "" && request.subject === title && !recentSends.some((s) => !s.trackingId && s.subject === title && s.at >= preparedAt)
    );
  });
  return matches.length === 1 ? (matches[0] ?? null) : null;
}

/**
 * Gmail sent as plain text (no image, so no pixel) an email the extension prepared as tracked: its plain-text mode was
 * not recognised (gmail-selectors.ts plainTextMode: Gmail changed how it shows it). Its registration is withdrawn, so
 * it never shows as sent and not opened, and the rep is told.
 */
function withdrawAsPlainText(pending: PendingSend, title: string): void {
  // Its follow-up reminder goes with the registration, as none can come for an untracked email (follow-up-reminder.ts).
  const untracked = `went out untracked ${PLAIN_TEXT}`;
  const failed = `${untracked}, but may still show as sent in the tracker, and a follow-up reminder set on it may still come`;
  withdraw(pending.trackingId, title, failed).then((days) => {
    if (days !== undefined) pending.tell(`${untracked}${days === null ? "" : ", so its follow-up reminder is off"}`);
  });
}

/** Why an email Gmail sent as plain text carries no tracking. */
const PLAIN_TEXT = "in plain text mode (a plain-text email cannot carry the pixel)";

/** For unit tests: forgets the sends noted so far, and those still waiting for Gmail's answer. */
export function forgetSends(): void {
  pendingSends.clear();
  recentSends.length = 0;
  lastUndoAt = Number.NEGATIVE_INFINITY;
  lastSendAnswerAt = Number.NEGATIVE_INFINITY;
  if (undone) clearTimeout(undone.timer);
  undone = null;
}

function register(pending: PendingSend, notBefore?: number): void {
  callFromGmail("messageSent", { trackingId: pending.trackingId, request: pending.request, notBefore }).catch((error: unknown) => {
    console.warn("[mailtracker] could not queue the registration", error);
    toast(document, `Mailtracker: this email was sent but could not be queued for tracking (${String(error)})`);
  });
}

/** The compose's recipients, completed by the send request's (a second source; the compose's names win). */
export function mergeRecipients(fromCompose: Recipient[], fromRequest: unknown): Recipient[] {
  const out = new Map(fromCompose.map((r) => [r.email, r]));
  for (const r of Array.isArray(fromRequest) ? fromRequest : []) {
    const email = typeof r?.email === "string" ? r.email.trim().toLowerCase() : "";
    if (!isEmailAddress(email) || out.has(email)) continue;
    out.set(email, typeof r.name === "string" && r.name ? { email, name: r.name.slice(0, RECIPIENT_NAME_MAX) } : { email });
  }
  return [...out.values()].slice(0, RECIPIENTS_MAX);
}

/** The addresses among `emails` at a domain the options exclude from tracking. */
function excludedOf(emails: readonly string[], options: Options): string[] {
  return emails.filter((email) => hostMatchesDomains(recipientDomain(email), options.excludedRecipientDomains));
}

/**
 * Gmail's /sync answer for a send: the page-world hook tells us which thread and message it became. For recipients
 * the compose could not read (Gmail changed its chips, all or some), the send request is the first place the
 * exclusions can be checked: an excluded one registers the email with tracking off, which the tracker enforces (its
 * pixel and links went out already, and count nothing).
 */
function onGmailSent(sent: SentMessageIds[], options: Options): void {
  for (const item of sent) {
    for (const trackingId of Array.isArray(item.trackingIds) ? item.trackingIds : []) {
      const pending = pendingSends.get(trackingId);
      if (!pending || pending.confirmed) continue;
      // An answer without the legacy id (unread, or a shape Gmail changed) still gives it when the sync id is its
      // number ("thread-f:<decimal>"): a conversation names its thread by the legacy id alone.
      const threadIds = threadIdsToRegister(gmailId(item.legacyThreadId), gmailId(item.threadId));
      const messageId = gmailId(item.legacyMessageId) ?? gmailId(item.messageId);
      // Gmail's answer is read from the page's world, where any script can write one: a later time would make every
      // hit before it the sender's. Only a send the rep scheduled here goes out later.
      const scheduled = pending.viaSchedule && item.scheduled;
      const scheduledAt = scheduled && typeof item.scheduledAt === "number" ? new Date(item.scheduledAt) : null;
      const recipients = mergeRecipients(pending.request.recipients, item.recipients);
      // Recipients the compose could not check against the exclusions (Gmail changed its chips, all or one of
      // several): the send request is the first place they can be checked.
      const seen = new Set(pending.request.recipients.map((r) => r.email));
      const unchecked = recipients.filter((r) => !seen.has(r.email)).map((r) => r.email);
      if (unchecked.length > 0) debug("recipients only in Gmail's send request", trackingId, unchecked);
      const [excluded] = excludedOf(unchecked, options);
      pending.request = {
        ...pending.request,
        recipients,
        ...(excluded ? { openTracking: false, clickTracking: false } : {}),
        // Plain text carries no pixel; a tracked link Gmail kept as its address still counts its clicks.
        ...(item.plainText ? { openTracking: false } : {}),
        ...threadIds,
        ...(messageId ? { gmailMessageId: messageId } : {}),
        ...(scheduledAt && !Number.isNaN(scheduledAt.getTime()) ? { sentAt: scheduledAt.toISOString() } : {}),
      };
      pending.confirmed = true;
      // Replies and bounces are read by the conversation's legacy id (thread-signals.ts): without it none attaches.
      const inConversation = threadIds.threadId !== undefined && legacyThreadId(threadIds.threadId) !== null;
      markSendAnswer(inConversation);
      debug("send confirmed by Gmail", trackingId, threadIds.threadId, messageId, scheduled ? "scheduled" : "");
      register(pending);
      pendingSends.delete(trackingId);
      noteSend(trackingId, pending.request.subject);
      if (excluded) pending.tell(`not tracked: ${excluded} is at an excluded domain (read only from the email as Gmail sent it)`);
      else if (item.plainText) pending.tell(`went out ${PLAIN_TEXT}: its opens are not tracked`);
      else if (!inConversation) pending.tell(`tracked, but Gmail did not say which conversation it is in: ${NO_REPLIES}`);
      else if (recipients.length === 0) {
        debugOnce("recipients-missed", "a tracked email was registered without recipients (none in its chips or send request)");
        pending.tell(
          "tracked, but its recipients could not be read (Gmail may have changed): recipient exclusions and warnings did not apply",
        );
      } else if (scheduled)
        pending.tell(
          scheduledAt
            ? `scheduled send tracked: opens count from ${scheduledAt.toLocaleString()}`
            : "scheduled send tracked (Gmail did not say when it goes out: opens count from now)",
        );
    }
  }
}

/** When the page-world script last passed on Gmail's answer to a send (Date.now()). */
let lastSendAnswerAt = Number.NEGATIVE_INFINITY;

/** What an email registered without its conversation's legacy id misses (said to the rep, and in Gmail's health). */
const NO_REPLIES = "replies and bounces to it will not be noticed (Gmail may have changed)";

/** Gmail's health (gmail-selectors.ts recogniseGmail): whether the latest send was registered in its conversation. */
function markSendAnswer(inConversation: boolean): void {
  document.documentElement.setAttribute(SEND_ANSWER_ATTRIBUTE, inConversation ? "ok" : "missing");
}

/**
 * Gmail sent emails without our tracking id: tell the user about any that should have carried one. A compose the
 * extension knew (open, or closed without a send it saw) should have if it was to be tracked: its send was missed. One
 * it never saw should have if tracking is on by default: Gmail's compose window was not recognised (a selector broke,
 * or the page was open before the extension started), and the rep heard nothing of it until now.
 */
function onUntrackedSent(sends: UntrackedSend[], openSessions: Iterable<ComposeSession>, options: Options): void {
  const now = Date.now();
  dropOlderThan(closedWithoutSend, MISSED_SEND_WINDOW_MS, now);
  for (const send of sends) {
    const { subject, scheduled } = send;
    const title = subject ?? "";
    const pending = pendingSendOf(send, title, now);
    // Prepared with Opens off and no link signed, the email carries no id of ours and is still a tracked one (its
    // replies, its follow-up reminder): registered with Gmail's ids like any other.
    if (pending && !pending.request.openTracking && !pending.request.links?.length) {
      onGmailSent([{ ...send, trackingIds: [pending.trackingId] }], options);
      continue;
    }
    if (send.plainText && pending) {
      withdrawAsPlainText(pending, title);
      continue;
    }
    noteSend(null, title);
    const closedIndex = closedWithoutSend.findIndex((c) => c.subject === title);
    const open = [...openSessions].filter((session) => session.subject() === title);
    let cause: string | null;
    if (closedIndex >= 0) cause = closedWithoutSend.splice(closedIndex, 1)[0]?.meantToTrack ? MISSED_SEND : null;
    else if (open.length > 0) cause = open.some((session) => session.meantToTrack()) ? MISSED_SEND : null;
    else if (options.openTrackingByDefault || options.clickTrackingByDefault)
      cause = send.plainText ? `Gmail sent it ${PLAIN_TEXT}` : UNSEEN_COMPOSE;
    else cause = null;
    if (!cause) continue;
    debugOnce(`untracked-send:${cause}`, `Gmail sent an email that was to be tracked, untracked: ${cause}`);
    toast(
      document,
      `Mailtracker: "${subjectShown(title)}" ${scheduled ? "was scheduled" : "went out"} untracked: ${cause}. Debug mode in the options shows which part failed.`,
    );
  }
}

/** Why a link to the tracker is not put into an email (options-store.ts linksTracked). */
const OUT_OF_REACH = midSentence(OUT_OF_RECIPIENTS_REACH);

const MISSED_SEND = "the extension did not recognise the send (Gmail may have changed)";
const UNSEEN_COMPOSE =
  "the extension did not recognise its compose window (Gmail may have changed, or this Gmail page was open before the extension started: reload it)";

function recipientDomain(email: string): string {
  return email.slice(email.lastIndexOf("@") + 1);
}

/**
 * The rep's Opens and Clicks in each compose an earlier copy of this script drew a toolbar in, by the element of
 * Gmail's that holds it: Firefox puts an update's script into an open Gmail tab, which removes the earlier toolbar
 * (ui.ts removeEarlierCopyDrawing), and a new one would start from the defaults, so an email the rep had turned
 * untracked went out tracked. Read from its toggles before it goes (keepEarlierChoices); the compose's new toolbar
 * takes them. Toggles that could not be used were no choice (tracking was locked, for the reason the toolbar gave):
 * none is kept of them.
 */
const earlierChoices = new Map<Element | null, boolean[]>();

export function keepEarlierChoices(doc: Document): void {
  for (const toolbar of doc.querySelectorAll(".mt-toolbar"))
    earlierChoices.set(
      (toolbar.closest(".mt-cell") ?? toolbar).parentElement,
      [...toolbar.querySelectorAll(".mt-toggle-open:not([disabled]),.mt-toggle-click:not([disabled])")].map(
        (toggle) => toggle.getAttribute("aria-pressed") === "true",
      ),
    );
}

class ComposeSession {
  private trackingId: string | null = null;
  private trackerUrl: string;
  private problem: string | null = null;
  private readonly clickUrls = new Map<string, string>();
  private nextIndex = 0;
  /** What the rep chose for this email, if anything: otherwise the options' default. */
  private userOpen?: boolean;
  private userClick?: boolean;
  readonly toolbar: HTMLElement;
  private readonly openButton: HTMLButtonElement;
  private readonly clickButton: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly campaign: CampaignField;
  private readonly optOut: OptOutToggle;
  private readonly warnings: RecipientWarnings;
  private readonly controller = new AbortController();
  /** The tracking id of a send in progress (between the send click and the compose closing or an alert). */
  private sending: string | null = null;
  /** A send of this compose went out untracked (its Undo, if used, takes nothing of ours back). */
  private sentUntracked = false;
  private signing = false;
  private presignTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** No words in the body yet, of Gmail's or the rep's: what Gmail fills it with first may be a draft it opens. */
  private fresh = true;

  constructor(
    readonly root: Element,
    readonly body: HTMLElement,
    private options: Options,
  ) {
    this.trackerUrl = options.trackerUrl;
    for (const [holder, choice] of earlierChoices)
      if (root.contains(holder) && earlierChoices.delete(holder)) [this.userOpen, this.userClick] = choice;
    const doc = root.ownerDocument;
    ensureStyle(doc);
    this.toolbar = doc.createElement("div");
    this.toolbar.className = "mt-toolbar";
    this.toolbar.dataset.mtReady = "false";
    this.openButton = this.makeToggle("mt-toggle-open", "Opens", () => {
      this.userOpen = !this.effective().open;
      this.refresh();
    });
    this.clickButton = this.makeToggle("mt-toggle-click", "Clicks", () => {
      this.userClick = !this.effective().click;
      this.refresh();
    });
    this.status = doc.createElement("span");
    this.status.className = "mt-status";
    this.status.setAttribute("role", "status");
    const makeToggle = (className: string, label: string, onToggle: () => void) => this.makeToggle(className, label, onToggle);
    this.campaign = new CampaignField(doc, makeToggle);
    this.optOut = new OptOutToggle(options, makeToggle, body);
    this.warnings = new RecipientWarnings(doc);
    this.toolbar.append(
      this.openButton,
      this.clickButton,
      this.campaign.button,
      this.campaign.input,
      this.optOut.button,
      this.warnings.element,
      this.status,
    );
    this.placeToolbar();

    const signal = this.controller.signal;
    // Keystrokes, pastes and Gmail's own edits: sign new links ahead of the send, re-read recipients.
    const changed = guarded("compose change", () => this.changed());
    const observer = new MutationObserver(changed);
    signal.addEventListener("abort", () => observer.disconnect(), { once: true });
    observer.observe(root, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["href", "email", "data-hovercard-id", "aria-checked", "value", "style", "hidden"],
    });
    for (const type of ["input", "change"]) root.addEventListener(type, changed, { signal });
    // The rep's own edits fill no draft: typing, a drop, a paste (the paste event too: Gmail may insert a paste itself,
    // and no beforeinput comes then). Heard before the change they make.
    for (const type of ["beforeinput", "paste"]) body.addEventListener(type, () => (this.fresh = false), { capture: true, signal });
    this.refresh();
    // Gmail reopens an email taken back with Undo as a new compose: that proves the Undo (composeOpened), which
    // withdraws it before its pixel in the body is taken for a scheduled send cancelled.
    composeOpened(this.subject(), this.toolbar);
    this.checkReopenedSend();
    void this.mint();
  }

  private makeToggle(className: string, label: string, onToggle: () => void): HTMLButtonElement {
    const button = this.root.ownerDocument.createElement("button");
    button.type = "button";
    button.className = `mt-toggle ${className}`;
    button.textContent = label;
    button.setAttribute("aria-pressed", "false");
    // Ours alone: Gmail must not treat a toggle click as a click in its compose (e.g. a send-button neighbour). But
    // Ctrl/Cmd+Enter, the send shortcut, goes on to Gmail: a toggle keeps the focus once clicked.
    for (const type of ["mousedown", "mouseup", "keydown"])
      button.addEventListener(type, (e) => {
        const key = e as KeyboardEvent;
        if (key.key !== "Enter" || !(key.ctrlKey || key.metaKey)) e.stopPropagation();
      });
    button.addEventListener(
      "click",
      guarded("toggle", (event: Event) => {
        event.stopPropagation();
        event.preventDefault();
        onToggle();
      }),
    );
    return button;
  }

  private placeToolbar(): void {
    const send = query(this.root, "sendButton");
    if (!send) {
      // The email can still go out (Ctrl+Enter is caught on the compose); show where we are anyway.
      this.body.before(this.toolbar);
      return;
    }
    const cell = sendButtonCell(send);
    if (cell?.parentElement) {
      const td = this.root.ownerDocument.createElement("td");
      td.className = "mt-cell";
      td.append(this.toolbar);
      cell.after(td);
    } else send.parentElement?.after(this.toolbar);
  }

  private async mint(): Promise<void> {
    try {
      const minted = await callFromGmail("mintId", null);
      this.trackingId = minted.trackingId;
      this.trackerUrl = minted.trackerUrl;
      // Other compose features (follow-up-reminder.ts) add their controls to the toolbar of a compose with an id.
      this.toolbar.dataset.mtTrackingId = minted.trackingId;
      this.toolbar.dispatchEvent(new CustomEvent(COMPOSE_READY_EVENT, { bubbles: true }));
      this.problem = null;
      debug("compose ready", minted.trackingId);
      this.schedulePresign(0);
    } catch (error) {
      this.problem =
        error instanceof ExtensionReloaded
          ? error.message
          : `not connected to a tracker (${error instanceof Error ? error.message : String(error)})`;
    }
    this.refresh();
  }

  /**
   * Whether this email's links go to the tracker (its click links, its opt-out link): a plain function of the tracker
   * and the options, followed as they change (adopt). The background refuses to sign links all the same when not.
   */
  private get linksTracked(): boolean {
    return linksTracked(this.trackerUrl, this.options);
  }

  private changed(): void {
    if (!this.root.isConnected) {
      this.closed();
      return;
    }
    this.checkReopenedSend();
    this.toolbar.dataset.mtReady = "false";
    this.schedulePresign(150);
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 50);
  }

  /**
   * The recipients' addresses: the chips, or (when Gmail changed them) whatever addresses the fields show; `unread`
   * when the fields show recipients whose chips could not be read.
   */
  private recipientAddresses(): { emails: string[]; unread: boolean } {
    const chips = composeRecipients(this.root).map((r) => r.email);
    if (chips.length > 0) return { emails: chips, unread: false };
    return { emails: visibleRecipientAddresses(this.root), unread: unreadRecipientsShown(this.root) };
  }

  private excludedRecipients(): string[] {
    return excludedOf(this.recipientAddresses().emails, this.options);
  }

  /** What would be tracked if the email went out now, and why not if not. */
  private effective(): { open: boolean; click: boolean; reason: string | null } {
    if (isPlainTextMode(this.root))
      return {
        open: false,
        click: false,
        reason: "Plain text mode: this email is not tracked (a plain-text email cannot carry the pixel)",
      };
    if (!this.trackingId) return { open: false, click: false, reason: `Not tracked: ${this.problem ?? "connecting…"}` };
    // An id minted before the extension was updated under the page: the registration could not reach the background, and
    // the pixel would go out for an email the tracker never learns of.
    if (extensionReloaded()) return { open: false, click: false, reason: `Not tracked: ${new ExtensionReloaded().message}` };
    const excluded = this.excludedRecipients();
    if (excluded.length > 0) return { open: false, click: false, reason: `Not tracked: ${excluded[0]} is at an excluded domain` };
    return {
      open: this.userOpen ?? this.options.openTrackingByDefault,
      click: this.linksTracked && (this.userClick ?? this.options.clickTrackingByDefault),
      reason: null,
    };
  }

  subject(): string {
    return (query(this.root, "subject") as HTMLInputElement | null)?.value ?? "";
  }

  /** Tracking is on for this compose and no send of it has been prepared. */
  meantToTrack(): boolean {
    const state = this.effective();
    return !this.sending && (state.open || state.click);
  }

  /**
   * A cancelled scheduled send Gmail gave back as this draft (scheduled-send-cancel.ts) is in the body Gmail opened the
   * compose with, or first filled an empty one with (a draft it loads once the compose is open): only there. Later, a
   * pixel came with the rep's edits (a paste of the scheduled email, sent as another email while it still goes out) or
   * the send. Called in the mutations' callback, so Gmail's filling is looked at before the rep can edit it.
   */
  private checkReopenedSend(): void {
    this.fresh &&= checkReopenedSend(this.body, this.trackers(), (days) =>
      this.toolbar.setAttribute(CARRIED_REMINDER_ATTRIBUTE, String(days)),
    );
  }

  private refresh(): void {
    const state = this.effective();
    const locked = state.reason !== null;
    this.openButton.setAttribute("aria-pressed", String(state.open));
    this.clickButton.setAttribute("aria-pressed", String(state.click));
    this.openButton.disabled = locked;
    // Links are not the rep's choice while the tracker is out of reach (options-store.ts linksTracked).
    this.clickButton.disabled = locked || !this.linksTracked;
    this.openButton.title = state.open ? "Opens of this email are tracked" : "Opens of this email are not tracked";
    this.clickButton.title = state.click
      ? "Links in this email are tracked"
      : `Links in this email are not tracked${locked || this.linksTracked ? "" : `: ${OUT_OF_REACH}, so they go out as written`}`;
    const recipients = this.recipientAddresses();
    if (state.reason) this.setStatus(state.reason);
    else if (recipients.unread) {
      debugOnce("recipient-chips-missed", "the compose shows recipients but no recipient chip was read");
      this.setStatus("Recipients not recognised (Gmail may have changed): they are read from the email as it is sent");
    } else if (this.status.dataset.kind === "state") this.setStatus(trackerNotice(this.trackerUrl, this.options) ?? "");
    // The campaign, the opt-out link and the follow-up reminder go only with a tracked email (prepareSend): while it is
    // not, they say why.
    const tracked = state.open || state.click;
    const why = state.reason ?? "this email is not tracked (Opens and Clicks are off)";
    this.campaign.setEnabled(tracked, why);
    this.optOut.setEnabled(tracked && this.linksTracked, tracked ? `${OUT_OF_REACH}, so it would not open for them` : why);
    if (tracked) this.toolbar.removeAttribute(UNTRACKED_ATTRIBUTE);
    // Written only when it changes: each write wakes the reminder's observer (follow-up-reminder.ts).
    else if (this.toolbar.getAttribute(UNTRACKED_ATTRIBUTE) !== why) this.toolbar.setAttribute(UNTRACKED_ATTRIBUTE, why);
    this.warnings.recipientsChanged(recipients.emails);
  }

  private setStatus(text: string, kind: "state" | "event" = "state"): void {
    // Unchanged: no write, or the compose's own observer would see it and refresh again, without end.
    if (this.status.textContent === text && this.status.dataset.kind === kind) return;
    this.status.textContent = text;
    this.status.title = text;
    this.status.dataset.kind = kind;
    this.toolbar.dataset.mtStatus = text;
  }

  private schedulePresign(delay: number): void {
    clearTimeout(this.presignTimer);
    this.presignTimer = setTimeout(() => void this.presign(), delay);
  }

  /** This compose's tracker, then those the browser was connected to before: their marks in the body are earlier emails'. */
  private trackers(): string[] {
    return [this.trackerUrl, ...this.options.earlierTrackerUrls];
  }

  /** Asks the background to sign links the body holds that are not signed yet; marks the toolbar ready when all are. */
  private async presign(): Promise<void> {
    if (!this.trackingId || this.signing) return;
    const policy = { trackers: this.trackers(), excludedLinkDomains: this.options.excludedLinkDomains };
    // None while the links go out as written (linksTracked).
    const unsigned = () =>
      this.linksTracked ? linksToSign(this.body, policy, this.trackingId).filter((url) => !this.clickUrls.has(url)) : [];
    const missing = unsigned();
    if (missing.length > 0) {
      this.signing = true;
      try {
        const links = missing.map((url) => ({ index: this.nextIndex++, url }));
        for (const signed of await callFromGmail("signLinks", { trackingId: this.trackingId, links }))
          this.clickUrls.set(signed.url, signed.clickUrl);
      } catch (error) {
        debug("signing links failed", error);
      } finally {
        this.signing = false;
      }
      // Links may have been added while we waited.
      if (unsigned().length > 0) return this.schedulePresign(150);
    }
    this.toolbar.dataset.mtReady = "true";
  }

  /**
   * Runs synchronously inside the send event, before Gmail reads the body. `viaSchedule`: the "Schedule send" arrow
   * was used; Gmail posts later, once a time is chosen, and only its answer registers the email.
   */
  prepareSend(viaSchedule = false): void {
    const draft = composeInputId(this.root, "draftInput");
    if (draft) keepLast(sentDraftIds.add(draft), SENT_DRAFTS_KEPT);
    // The toolbar is redrawn after a change, a moment later: what it shows now is what goes out, its reminder too.
    this.refresh();
    // Its pixel, about to be added, is this email's own.
    this.fresh = false;
    const state = this.effective();
    // Earlier emails' pixels must not fire again from this one, tracked or not.
    stripEarlierTracking(this.body, this.trackers(), this.trackingId);
    const optOutLink = this.optOut.prepareSend(this.body, {
      trackerUrl: this.trackerUrl,
      trackers: this.trackers(),
      trackingId: this.trackingId,
      tracked: (state.open || state.click) && this.linksTracked,
    });
    if (!this.trackingId || (!state.open && !state.click)) {
      const reason = state.reason ?? "Not tracked: tracking is off for this email";
      // Off by the rep's choice, the toggles say so already: no toast after each such email once the compose goes.
      this.setStatus(reason, state.reason ? "event" : "state");
      if (this.trackingId) applyTracking(this.body, this.plan(false, false));
      this.sending = null;
      this.sentUntracked = !viaSchedule;
      debug("send untracked:", reason);
      return;
    }
    const result = applyTracking(this.body, this.plan(state.open, state.click));
    if (result.pixel) ownPixels.add(result.pixel);
    if (result.unsigned.length > 0) debug("links not signed in time, sent unchanged:", result.unsigned);
    const subject = this.subject();
    const thread = registeredThreadId(composeInputId(this.root, "threadInput"));
    // None read while the To field shows some: refresh() above has said so; Gmail's send request is the second source.
    const recipients = composeRecipients(this.root).slice(0, RECIPIENTS_MAX);
    const request: RegisterMessageRequest = {
      subject: subject.slice(0, SUBJECT_MAX),
      recipients,
      sentAt: new Date().toISOString(),
      openTracking: state.open,
      clickTracking: state.click,
      links: result.links,
      optOutLink,
      ...(this.campaign.campaign() ? { campaign: this.campaign.campaign() } : {}),
      // Fallbacks until Gmail's /sync answer names the real thread and message.
      ...(thread ? { threadId: thread } : {}),
      ...(draft ? { gmailMessageId: draft } : {}),
    };
    const previous = pendingSends.get(this.trackingId);
    const doc = this.root.ownerDocument;
    pendingSends.set(this.trackingId, {
      trackingId: this.trackingId,
      request,
      confirmed: false,
      fallbackQueued: previous?.fallbackQueued ?? false,
      viaSchedule,
      preparedAt: Date.now(),
      tell: (text) => {
        if (this.root.isConnected) this.setStatus(text, "event");
        else toast(doc, `Mailtracker: "${subjectShown(subject)}" ${text}`);
      },
    });
    this.sending = this.trackingId;
    this.sentUntracked = false;
    this.setStatus(
      result.unsigned.length > 0 ? `${counted(result.unsigned.length, "link")} went out untracked (not signed in time)` : "",
      "event",
    );
    debug(viaSchedule ? "scheduled send prepared" : "send prepared", this.trackingId, request);
    if (!viaSchedule) this.watchForCancel();
  }

  private plan(open: boolean, click: boolean) {
    return {
      trackers: this.trackers(),
      excludedLinkDomains: this.options.excludedLinkDomains,
      trackingId: this.trackingId ?? "",
      pixelUrl: pixelUrl(this.trackerUrl, this.trackingId ?? ""),
      openTracking: open,
      clickTracking: click,
      clickUrls: this.clickUrls,
    };
  }

  /**
   * An alert dialog that appears right after the send, while the compose is still open, means Gmail stopped it: the
   * compose closing proves nothing any more. Some of those dialogs refuse the send (no recipient), others ask and
   * let the rep send anyway ("Did you mean to attach files?", Workspace's external-recipient warning; InboxSDK reads
   * either as a cancel but learns of the send from /sync, setup-gmail-interceptor.ts at a8a6fe2): the prepared send
   * stays, so Gmail's own /sync answer, if one comes, registers it. Dialogs already on screen before the send
   * (another compose's, a stale one) do not count.
   */
  private watchForCancel(): void {
    const doc = this.root.ownerDocument;
    const before = new Set(queryAll(doc, "alertDialog"));
    const deadline = Date.now() + CANCEL_WINDOW_MS;
    const check = guarded("cancel check", () => {
      if (!this.sending || !this.root.isConnected || Date.now() > deadline) return observer.disconnect();
      if (queryAll(doc, "alertDialog").some((dialog) => !before.has(dialog))) {
        debug("Gmail stopped the send with a dialog", this.sending);
        this.sending = null;
        this.setStatus("Gmail stopped this send: it is tracked only if Gmail sends it", "event");
        observer.disconnect();
      }
    });
    const observer = new MutationObserver(check);
    observer.observe(doc.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["role"] });
    this.controller.signal.addEventListener("abort", () => observer.disconnect(), { once: true });
    setTimeout(() => observer.disconnect(), CANCEL_WINDOW_MS);
    queueMicrotask(check);
  }

  /** The compose left the page: after a send (no alert), that is the send going out. */
  closed(): void {
    if (this.controller.signal.aborted) return;
    const sending = this.sending ? pendingSends.get(this.sending) : undefined;
    if (sending?.viaSchedule) {
      // Only Gmail's answer proves a scheduled send (the compose also closes when it is discarded instead). Without
      // one, the user is told rather than left to believe a scheduled email is tracked.
      const { trackingId } = sending;
      const doc = this.root.ownerDocument;
      const subject = this.subject();
      setTimeout(() => {
        if (pendingSends.get(trackingId) !== sending) return;
        pendingSends.delete(trackingId);
        toast(doc, `Mailtracker: "${subjectShown(subject)}": if you scheduled it, it is not tracked (Gmail's confirmation was not seen).`);
      }, SCHEDULE_CONFIRM_MS);
    } else if (sending && !sending.confirmed && !sending.fallbackQueued) {
      sending.fallbackQueued = true;
      // Held back, so Gmail's /sync answer (or its undo) can come first; registered with draft/rt ids otherwise.
      register(sending, Date.now() + UNCONFIRMED_HOLD_MS);
      noteSend(sending.trackingId, sending.request.subject);
      // No answer by then: the page-world script no longer reads Gmail's sends, and the rep hears of it now, not when
      // the replies fail to show. The registration goes out all the same, with the compose's ids.
      setTimeout(() => {
        if (pendingSends.get(sending.trackingId) !== sending) return;
        // Gmail's health only when no answer came at all: one that came and named no send of ours this one could be
        // (an Opens-off email whose subject two sends share) says nothing of Gmail.
        if (lastSendAnswerAt < sending.preparedAt) markSendAnswer(false);
        // Its conversation, once opened, names the thread (conversation-panel.ts): the email is moved there then. "May":
        // a heading can carry an empty data-legacy-thread-id and only the sync id (InboxSDK gmail-thread-view.ts
        // getThreadIDAsync asks Gmail for the legacy one then, at a8a6fe2, 2026-07-23), which no move can use.
        sending.tell(
          "tracked, but Gmail's confirmation of the send was not seen: its replies and Sent mark may show only once you open it in Gmail",
        );
      }, UNCONFIRMED_HOLD_MS);
    }
    // What the toolbar last told of this email (links it could not sign in time, a send Gmail refused) would leave
    // with the compose, which Gmail removes as it sends: a toast keeps it in front of the rep.
    if (this.status.dataset.kind === "event" && this.status.textContent) {
      toast(this.root.ownerDocument, `Mailtracker: "${subjectShown(this.subject())}": ${this.status.textContent}`);
    }
    if (!sending && this.sentUntracked) noteSend(null, this.subject());
    // No send seen: sent (unseen by us) or discarded, Gmail's /sync traffic tells which (onUntrackedSent).
    if (!this.sending) closedWithoutSend.push({ subject: this.subject(), at: Date.now(), meantToTrack: this.meantToTrack() });
    this.dispose();
  }

  /**
   * Whether this compose can go on under changed options: its id and the rep's choices stay (tracking off for this
   * email, its campaign, its opt-out link), the new defaults and exclusions apply. Not when the tracker changed: an
   * id is the tracker's.
   */
  adopt(options: Options): boolean {
    if (options.trackerUrl !== this.options.trackerUrl || !this.root.isConnected) return false;
    this.options = options;
    this.optOut.setOptions(options);
    if (this.trackingId) {
      // Links tracked now may be links not yet signed (linksTracked follows the options).
      this.schedulePresign(0);
      this.refresh();
    } else void this.mint(); // not connected before: perhaps now
    return true;
  }

  dispose(): void {
    this.controller.abort();
    this.warnings.dispose();
    clearTimeout(this.presignTimer);
    clearTimeout(this.refreshTimer);
    this.toolbar.closest(".mt-cell")?.remove();
    this.toolbar.remove();
  }

  contains(element: Element): boolean {
    return this.root.contains(element);
  }
}

/** The buttons that send a compose: Send, and Send & Archive where Gmail's setting shows it in a reply. */
const SEND_BUTTONS = ["sendButton", "sendAndArchiveButton"] as const;

/** What a user event in a compose starts: a send, the "Schedule send" menu (prepared alike), or nothing. */
function sendEventKind(event: Event, session: ComposeSession): "send" | "schedule" | null {
  const target = event.target;
  if (!(target instanceof Element)) return null;
  if (event.type === "keydown") {
    const key = event as KeyboardEvent;
    // Ctrl/Cmd+Enter sends from anywhere in the compose (the caller checked the target is inside it).
    if (key.key === "Enter" && (key.ctrlKey || key.metaKey)) return "send";
    if (key.key !== "Enter" && key.key !== " ") return null;
  } else if ((event as MouseEvent).button !== 0) return null;
  // The compose's own buttons, each found as the health check finds it (the precise selector, a fallback only when it
  // finds nothing): a fallback tried on the clicked element itself would take a formatting button for Send. A reply's
  // Send & Archive sends as Send does (Gmail then archives the conversation), so it is prepared alike.
  for (const send of SEND_BUTTONS) if (query(session.root, send, false)?.contains(target)) return "send";
  return query(session.root, "sendOptionsButton", false)?.contains(target) ? "schedule" : null;
}

/** Dispatched (bubbling) by a compose's toolbar once its email has a tracking id (`data-mt-tracking-id`). */
export const COMPOSE_READY_EVENT = "mt-compose-ready";
/**
 * Set on a compose's toolbar when a follow-up reminder is carried over to it (the email Gmail reopened after an Undo
 * had one): its days. follow-up-reminder.ts watches the toolbar's attributes already (its lock), and turns the
 * compose's reminder on with them.
 */
export const CARRIED_REMINDER_ATTRIBUTE = "data-mt-remind-days";
/**
 * Set on a compose's toolbar while its email would go out untracked (Opens and Clicks off, or tracking locked): why, as
 * the toolbar's opt-out and campaign toggles say it. An untracked email is never registered, so no follow-up reminder
 * can come for it: follow-up-reminder.ts shows its control unusable with this reason meanwhile.
 */
export const UNTRACKED_ATTRIBUTE = "data-mt-untracked";

/**
 * Composes of a stopped run of the feature, for the next run to go on with (every feature restarts when the options
 * change): a compose restarted from scratch got a new id and lost what the rep chose in it, so an email the rep had
 * turned tracking off for went out tracked by default. Those the next run does not take are disposed.
 */
const handedOver = new Map<Element, ComposeSession>();
/** The latest run's composes and options: Gmail's answer to a send is read after a round trip, perhaps by then another run's. */
let current: { sessions: Map<Element, ComposeSession>; options: Options };

export const composeTracking: Feature = {
  id: "compose-tracking",
  init(signal, { options }) {
    const sessions = new Map<Element, ComposeSession>();
    for (const [root, session] of handedOver) {
      if (session.adopt(options)) sessions.set(root, session);
      else session.dispose();
    }
    handedOver.clear();

    /** A compose whose root left the page is closed: Gmail may remove any ancestor of it, so every change is looked at. */
    const closeGone = () => {
      for (const [root, session] of sessions) {
        if (!root.isConnected || !session.body.isConnected) {
          session.closed();
          sessions.delete(root);
        }
      }
    };
    const openNew = () => {
      for (const body of queryAll(document, "composeBody")) {
        const root = closest(body, "composeRoot");
        if (!root) {
          debugOnce("compose-root", "found a compose body outside any known compose container");
          continue;
        }
        if (sessions.has(root) || !(body instanceof HTMLElement)) continue;
        sessions.set(root, new ComposeSession(root, body, options));
      }
    };

    // Looked at after the checkpoint's other microtasks, so a compose Gmail builds in several steps is whole. Only a
    // change that adds a compose body searches the page for new ones: with none open, a search tries every fallback
    // over the whole page, and Gmail changes the page many times a second.
    let added = false;
    const scanSoon = oncePerCheckpoint(
      guarded("compose scan", () => {
        closeGone();
        if (added) openNew();
        added = false;
      }),
    );
    onPageMutations(
      "compose watch",
      ["nodes"],
      (records) => {
        added ||= touches(records, ["composeBody"], null);
        if (added || sessions.size > 0) scanSoon();
      },
      signal,
    );
    if (document.body) openNew();
    else document.addEventListener("DOMContentLoaded", openNew, { once: true, signal });

    // Capture phase on window, registered at document_start: we run before any Gmail listener sees the send.
    const onSend = guarded("send", (event: Event) => {
      if (event.type === "keydown" && (event as KeyboardEvent).isComposing) return;
      for (const session of sessions.values()) {
        if (!session.contains(event.target as Element)) continue;
        const kind = sendEventKind(event, session);
        // mouseup and click both arrive for one click: preparing twice changes nothing.
        if (kind) session.prepareSend(kind === "schedule");
        return;
      }
    });
    // Prepared on mouseup, not mousedown: Gmail's buttons act on mouseup (Closure's CustomButton), so that is still in
    // time, and the pixel the preparation appends can grow an inline reply's body and move the Send button down. Done
    // between mousedown and mouseup, that move made the mouseup miss the button and the click do nothing (seen in the
    // e2e inline reply); done in mouseup's capture phase, the button is already the event's target.
    for (const type of ["mouseup", "click", "keydown"]) window.addEventListener(type, onSend, { capture: true, signal });
    // Gmail's Undo on its "Message sent" notice (gmail-selectors.ts sentNoticeUndo), clicked or pressed: only read,
    // never stopped, so Gmail undoes the send as it would without us.
    const onUndo = guarded("undo send", (event: Event) => {
      if (event.type === "keydown" && !["Enter", " "].includes((event as KeyboardEvent).key)) return;
      if (event.target instanceof Element && closest(event.target, "sentNoticeUndo")) undoLatestSend();
    });
    for (const type of ["click", "keydown"]) window.addEventListener(type, onUndo, { capture: true, signal });
    current = { sessions, options };
    onPageEvent(
      document,
      "mt:gmail-send-answered",
      (answer) => {
        lastSendAnswerAt = Date.now();
        // Read by the background (background/gmail-traffic.ts). What it answers is handled even after this run stopped
        // (the options changed meanwhile): the sends waiting for it are the page's, and so are the composes, which the
        // next run took over.
        callFromGmail("readGmailSend", answer).then(
          guarded("gmail sent", ({ tracked, untracked }) => {
            onGmailSent(tracked, current.options);
            onUntrackedSent(untracked, current.sessions.values(), current.options);
          }),
          (error: unknown) => {
            console.warn("[mailtracker] Gmail's answer to a send was not read", error);
            // Cut off from the extension (an update), this copy can register nothing: said at each send, whatever the
            // compose. Otherwise the sends waiting for the answer are said to be unconfirmed when their wait ends (closed()).
            if (error instanceof ExtensionReloaded) toast(document, `Mailtracker: this email went out untracked. ${error.message}.`);
          },
        );
      },
      signal,
    );

    signal.addEventListener("abort", () => {
      for (const [root, session] of sessions) handedOver.set(root, session);
      sessions.clear();
      // The next run starts in the same task as this stop (content/index.iife.ts): what it has not taken by then,
      // nothing will.
      queueMicrotask(() => {
        for (const session of handedOver.values()) session.dispose();
        handedOver.clear();
      });
    });
  },
};
