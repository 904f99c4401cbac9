// Words the extension writes in many places (Gmail's page, notifications, the popup and the pages), written once.
import type { MessageStatus, Place } from "../../shared/api";

/** "1 click", "3 clicks": `many` for a word whose plural is not the word and an s ("reply", "replies"). */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * What the options page and the popup say of the replies and bounce notices the tracker never counted (held-signals.ts
 * UnmatchedListing): the first words of the options page's list of them. "Up to" with some not listed: the tracker may
 * have counted some of those since (held-signals.ts UNLISTED_SIGNALS_KEY).
 */
export function notCountedSignals({ listed, unlisted }: { listed: number; unlisted: number }): string {
  const n = listed + unlisted;
  const signals = counted(n, "reply or bounce notice", "replies or bounce notices");
  return `${unlisted > 0 ? "Up to " : ""}${signals} seen in Gmail ${n === 1 ? "was" : "were"} not counted by your tracker`;
}

const UNTIL_A_REMINDER_GOES = "a new one is not kept until one comes due or you cancel one on the dashboard's Follow-ups page";

/**
 * How many of the reminders waiting are of another account's emails than the connected one's: they share the room,
 * but the dashboard lists the connected account's alone (background/follow-ups.ts), so a count above a shorter list
 * says why. "" for none.
 */
const ofOtherAccounts = (others: number): string =>
  others === 0 ? "" : ` (${others} of them for another account's emails, listed once you connect to it again)`;

/**
 * Why a new follow-up reminder is not kept (background/follow-ups.ts MAX_REMINDERS): said in the compose window that
 * asked for it ("not kept: ...") and above the dashboard's list of reminders while it is full. `others`: how many are
 * another account's (ofOtherAccounts).
 */
export const remindersFull = (max: number, others = 0): string =>
  `${max} reminders are waiting${ofOtherAccounts(others)}, as many as Mailtracker keeps: ${UNTIL_A_REMINDER_GOES}`;

/**
 * Why a new follow-up reminder is not kept when fewer than MAX_REMINDERS wait but their emails' recipients fill the
 * room kept for them (background/follow-ups.ts REMINDERS_MAX_BYTES): said in the compose window that asked for it, and
 * above the dashboard's list of reminders while it holds.
 */
export const remindersFullOfRecipients = (waiting: number, others = 0): string =>
  `${counted(waiting, "reminder is", "reminders are")} waiting${ofOtherAccounts(others)}, whose emails name so many recipients that they fill the room Mailtracker keeps for reminders: ${UNTIL_A_REMINDER_GOES}`;

/**
 * The recipients of a reminder's email that it counts but does not name (background/follow-ups.ts recipientsNotNamed):
 * after "to" in the dashboard's list of reminders.
 */
export const recipientsNotNamed = (count: number): string =>
  `${counted(count, "recipient")} (no room to keep ${count === 1 ? "its name" : "their names"} with the reminder)`;

/** An email's subject as the rep reads it: "(no subject)" for none, or one of spaces only. */
export function subjectShown(subject: string | null | undefined): string {
  return subject?.trim() || "(no subject)";
}

/**
 * What the Sent list and the conversation panel say of an email with no open counted but Apple Mail's load on delivery
 * (MessageStatus.appleMailLoads): its reader's later reads load nothing, so none can be seen.
 */
export const APPLE_MAIL_NO_OPEN = "No open seen: Apple Mail loaded it on delivery, so a read cannot be seen";

/** noOpenWords of an email whose open could still be seen. */
export const NO_OPEN_YET = "No open yet";

/**
 * What every surface says of an email with no open counted (the Sent list's mark, the conversation's panel, the
 * dashboard, the follow-ups): "No open yet" only where one could still be seen. Without its pixel none can; after a
 * recipient opted out none is recorded; after Apple Mail's load on delivery a read loads nothing.
 */
export function noOpenWords(status: Pick<MessageStatus, "openTracking" | "unsubscribed" | "appleMailLoads">): string {
  if (status.openTracking === false) return "Opens not tracked";
  if (status.unsubscribed) return "No open recorded: a recipient turned tracking off";
  return status.appleMailLoads ? APPLE_MAIL_NO_OPEN : NO_OPEN_YET;
}

/**
 * The button that asks the browser for the tracker's site again (pages/allow-access.tsx), named where a call refused
 * for want of it says how to mend it (background/api.ts).
 */
export const ALLOW_TRACKER_ACCESS = "Allow Mailtracker to reach your tracker";

/** The same button while Gmail's site is withheld too (the tracker's is asked for with it). */
export const ALLOW_GMAIL_ACCESS = "Allow Mailtracker in Gmail";

/** What the popup says next to that button in Firefox, where it opens the options page to ask (pages/allow-access.tsx). */
export const ASKED_ON_OPTIONS_PAGE = "In Firefox this button opens Mailtracker's options page, where you allow it.";

/**
 * The tracker's site withheld from the extension, as the toolbar button says it (gmail-health.ts
 * noTrackerAccessSentence), the popup (notReachedLine) and a call refused for want of it (background/api.ts).
 */
export const trackerAccessOff = (trackerUrl: string): string =>
  `Mailtracker's access to your tracker (${new URL(trackerUrl).hostname}) is turned off in the browser's extension settings`;

/**
 * The tracker's site withheld, said just above the button that gives it back: in the popup (notReachedLine) and in the
 * options page's connection line, which says no more of the tracker (nothing is known of whether it answers).
 */
export const trackerAccessOffAbove = (trackerUrl: string): string => `${trackerAccessOff(trackerUrl)} (the button below gives it back)`;

/** The title of the notice of emails the withheld site keeps waiting (tracker-reach.ts withdrawnNote; README quotes it). */
export const TRACKER_ACCESS_OFF_TITLE = "Mailtracker's access to your tracker is turned off";

/**
 * The tracker's site withheld, and what gives it back: said of a call refused for want of it (background/api.ts) and
 * of the emails it keeps waiting (tracker-reach.ts withdrawnNote).
 */
export const trackerAccessOffAdvice = (trackerUrl: string): string =>
  `${trackerAccessOff(trackerUrl)}: allow it again with the "${ALLOW_TRACKER_ACCESS}" button on Mailtracker's options page`;

/** Words that start a sentence, to go after a colon or inside one: "no open yet". */
export const midSentence = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);

/**
 * Why the links of an email do not go to the tracker (options-store.ts outOfRecipientsReach): the start of
 * outOfReachNotice, and what the compose window's Clicks and opt-out toggles say of it.
 */
export const OUT_OF_RECIPIENTS_REACH = "Recipients cannot reach your tracker";

/**
 * What the compose window, the popup and the options say while connected to a tracker its recipients cannot reach
 * (options-store.ts outOfRecipientsReach): no recipient's open is recorded, and the links of an email go out as
 * written, since a link to the tracker would not open for them (options-store.ts linksTracked), unless the rep asked
 * for click links all the same (`linksTracked`; README, "Quick start"). `funnel`: a tailnet's name, which recipients
 * reach once Tailscale Funnel publishes it (options-store.ts tailnetTracker): their opens are recorded then, and said
 * to be.
 */
export const outOfReachNotice = (trackerUrl: string, linksTracked: boolean, funnel = false): string =>
  `${OUT_OF_RECIPIENTS_REACH} at ${new URL(trackerUrl).host} ${
    funnel
      ? `unless it is published with Tailscale Funnel: only then are their opens recorded${
          linksTracked ? " and do tracked links open for them" : "; links go out as written, not tracked"
        }.`
      : `(this computer or a private network): their opens are not recorded, ${
          linksTracked
            ? "and tracked links do not open for them (the options track links all the same, for trying Mailtracker on this computer)"
            : "and links go out as written, not tracked, since recipients could not open them"
        }. To track real recipients, deploy a tracker (npm run deploy) and connect to it.`
  }`;

/**
 * "calendly.com/rep/30min" from a URL: what a person recognises of a link (its host without "www." and its path;
 * no scheme, query or fragment), cut to `max` characters with an ellipsis.
 */
export function shortUrl(url: string, max = 32): string {
  let text = url;
  try {
    const parsed = new URL(url);
    text = `${parsed.hostname.replace(/^www\./, "")}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    // not a URL: shown as it is
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * What is said of `tracker` refusing this browser's API token (a 401), wherever it is said: one wording, whether the
 * popup, the options page and the Gmail tab's marks and panels say it (TOKEN_REFUSED) or the one desktop notification
 * and the toolbar button do (tracker-reach.ts outageNote). Only connecting again mends it.
 */
export const tokenRefused = (tracker: string, options = "the options"): string =>
  `${tracker} does not accept this browser's API token any more: connect again with a valid token in ${options}`;

// Pure: the Gmail content script imports this module, and must not carry what it never says (its size is capped).
export const TOKEN_REFUSED = /* @__PURE__ */ tokenRefused("the tracker");

/**
 * A mark's tooltip or a panel's line drawn from what the tracker said before its last read failed: `reason` is the
 * background's words for that failure (tracker-reach.ts staleReason), the tracker out of reach since a time, say.
 */
export const outOfDate = (reason: string): string => `May be out of date: ${reason}`;

/** An error as the rep reads it: its message, or the thrown value itself. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The first two of `names` and how many more: "Alice, Bob +1". */
export function firstNames(names: readonly string[]): string {
  return `${names.slice(0, 2).join(", ")}${names.length > 2 ? ` +${names.length - 2}` : ""}`;
}

/**
 * Where an open came from, in words: its region and country, or "" when unknown. Only those: a tracker not updated yet
 * may still send a city, which is not shown (a city can name a reader).
 */
export function placeShown(place: Place | null): string {
  return place ? [place.region, place.country].filter(Boolean).join(", ") : "";
}

/** "10:42", or with its day when not today ("Nov 22, 2026, 10:42 PM"): a moment of today or near it, in the rep's own way of writing times. */
export function timeShown(at: number, now: number): string {
  const day = (t: number) => new Date(t).toDateString();
  return new Date(at).toLocaleString(
    undefined,
    day(at) === day(now) ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" },
  );
}
