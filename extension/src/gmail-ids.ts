// Gmail's thread ids in the forms the extension meets: legacy hex ("16f4…", in rows and URLs) and
// "thread-f:<decimal>" (the same number in decimal, in rows' data-thread-id), and which signed-in Google account a
// tab shows (its "/mail/u/1/" and the address its title names). Used by the content script and the background (to
// open a thread from a notification in the account that sent the message). The pattern of a Gmail id is shared with
// the tracker's API (shared/gmail-message-id.ts).
import { GMAIL_ID, LEGACY_THREAD_ID } from "../../shared/gmail-message-id";

/**
 * What Gmail writes where it has no id: `data-thread-perm-id="undefined"` (InboxSDK gmail-thread-view.ts, 1b0ea3b,
 * 2025-11-10: "the string value can be 'undefined'"; gmail.js #814, 2025-11-09), and the compose's hidden inputs
 * (InboxSDK gmail-compose-view.ts skips `'undefined'` and `'null'`, a8a6fe2).
 */
const NO_ID = new Set(["undefined", "null"]);

/**
 * The id without Gmail's leading "#" and without a message part after "|" ("#thread-f:1|msg-f:2" with conversation
 * view off: gmail.js visible_messages' example value, 35aba94 of 2019-08-12, still at b7dfdab), or null when it is not
 * of the shape Gmail ids have.
 */
export function gmailId(raw: string | null | undefined): string | null {
  if (!raw) return null;
  // Most ids come bare: only the others are trimmed and cut (a list scan reads two per row).
  if (raw.charCodeAt(0) !== 35 && GMAIL_ID.test(raw)) return NO_ID.has(raw) ? null : raw;
  const id = raw.trim().replace(/^#/, "").split("|", 1)[0] ?? "";
  return GMAIL_ID.test(id) && !NO_ID.has(id) ? id : null;
}

/** Decimal thread ids already converted: every scan of a list converts each row's, and Gmail re-renders rows often. */
const convertedThreadIds = new Map<string, string>();

/** The hex legacy id of a thread id the tracker holds: "16f4…" as is, "thread-f:<decimal>" converted; else null. */
export function legacyThreadId(threadId: string): string | null {
  const id = threadId.trim().replace(/^#/, "");
  if (LEGACY_THREAD_ID.test(id)) return id;
  const decimal = /^thread-f:([0-9]{1,30})$/.exec(id)?.[1];
  if (!decimal) return null;
  let hex = convertedThreadIds.get(decimal);
  if (hex === undefined) {
    hex = BigInt(decimal).toString(16);
    if (convertedThreadIds.size >= 5_000) convertedThreadIds.clear();
    convertedThreadIds.set(decimal, hex);
  }
  return hex;
}

/** The id to register a thread by: its legacy id when `id` is one or its number ("thread-f:<decimal>"), else `id`. */
export function registeredThreadId(id: string | null): string | null {
  return id && (legacyThreadId(id) ?? id);
}

/**
 * The thread ids to register an email by, from its legacy id and Gmail's sync id (either may be missing): `threadId`,
 * the legacy id, or without it the one the sync id is the number of ("thread-f:<decimal>"), else the sync id; and
 * `syncThreadId`, the sync id, unless it is `threadId` or its number (a Sent row may carry only the sync id).
 */
export function threadIdsToRegister(legacy: string | null, sync: string | null): { threadId?: string; syncThreadId?: string } {
  const threadId = (legacy && legacyThreadId(legacy)) ?? registeredThreadId(sync);
  const syncThreadId = sync !== null && sync !== threadId && legacyThreadId(sync) !== threadId ? sync : null;
  return { ...(threadId ? { threadId } : {}), ...(syncThreadId ? { syncThreadId } : {}) };
}

/**
 * Both ids the tracker knows a thread of a tracked email by: the legacy one, and Gmail's sync id when it is no number
 * of it (`syncThreadId`, "thread-a:r…": a Sent row may carry only that one).
 */
export function threadIdsOf(email: { threadId?: string | null; syncThreadId?: string | null }): string[] {
  return [email.threadId, email.syncThreadId].filter((id): id is string => Boolean(id));
}

/**
 * A signed-in Gmail account as the extension opens it again: the account path of the tab a message was sent from
 * ("/mail/u/1/"), and the account's address when that tab's title named it. The path alone can name another account
 * later: Google numbers the signed-in accounts in the order they signed in, so after the rep signs in again in another
 * order "/mail/u/1/" is someone else's mailbox.
 */
export interface GmailAccount {
  path: string;
  address: string | null;
}

/** The account of a message whose account is not known (sent before it was recorded): the first account. */
export const DEFAULT_GMAIL_ACCOUNT: GmailAccount = { path: "/mail/u/0/", address: null };
const GMAIL_ORIGIN = "https://mail.google.com";
/** An address anywhere in a text (a window title, an aria-label). */
export const EMAIL_IN_TEXT = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

/**
 * The account path of a Gmail address, or null for another address: "/mail/u/1/", or a delegated mailbox's, which is
 * its own account: "/mail/u/1/d/<id>/" today (gmail.md: Meru reads delegated mailboxes at `mail/u/0/d/<id>`, 2025-10)
 * or the older "/mail/b/<id>/u/1/".
 */
export function gmailAccountPath(url: string | undefined): string | null {
  const path = /^https:\/\/mail\.google\.com(\/mail\/(?:b\/[A-Za-z0-9_-]{1,200}\/)?u\/\d{1,2}\/(?:d\/[A-Za-z0-9_-]{1,200}\/)?)/;
  return path.exec(url ?? "")?.[1] ?? null;
}

/**
 * The account's address in a Gmail window's title, lower-cased: "Inbox (3) - tim@… - Gmail" (zoidsh/meru PR #636,
 * 2026-08-04, which shows Gmail's page title in its tabs; the "Hide Email Address from Gmail Title Bar" userscript,
 * greasyfork 38152, drops the word with an "@" and mends the "- - " it leaves). The last such part: a conversation's
 * title carries its subject (wavebox/waveboxapp #387, 2019-01-23: "the mail subject is shown"), which may hold
 * " - <address> - ".
 */
export function titleAddress(title: string | undefined): string | null {
  const named = /^.*\s-\s([^\s]+@[^\s]+)\s-\s/.exec(title ?? "")?.[1];
  return named ? (EMAIL_IN_TEXT.exec(named)?.[0].toLowerCase() ?? null) : null;
}

/** Whether an account path is a delegated mailbox's ("/mail/u/0/d/<id>/", "/mail/b/<id>/u/0/"). */
const isDelegated = (path: string) => !/^\/mail\/u\/\d+\/$/.test(path);
/** A compose pop-out (`?view=cm`): a window of its own. */
const isPopOut = (url: string) => new URL(url).searchParams.has("view");

/**
 * The address of the account a Gmail mailbox window shows, read from its title; null for any other window. Not read
 * for a delegated mailbox (no signed-in account that `authuser` could name) nor for a compose pop-out, whose title is
 * its own, in a form no capture shows (it may be the draft's subject, which may hold an address). A tab an `authuser`
 * link opened is a mailbox window whatever its address shows afterwards (not seen: docs/gmail.md).
 */
function mailboxAddress({ url, title }: { url?: string; title?: string }): string | null {
  if (!url?.startsWith(`${GMAIL_ORIGIN}/mail/`) || isPopOut(url)) return null;
  const path = gmailAccountPath(url);
  return path && isDelegated(path) ? null : titleAddress(title);
}

/** The account a Gmail tab shows, or null for another page. */
export function gmailAccountOf(tab: { url?: string; title?: string }): GmailAccount | null {
  const path = gmailAccountPath(tab.url);
  return path ? { path, address: mailboxAddress(tab) } : null;
}

/** Where in an account a thread is: "#all/<legacy id>" (any folder), or "#sent" for an id of no known form. */
export function threadFragment(threadId: string | null): string {
  const legacy = threadId ? legacyThreadId(threadId) : null;
  return legacy ? `#all/${legacy}` : "#sent";
}

/**
 * The Gmail address that opens a thread in an account. An account whose address is known is named by it, whichever
 * number it has now: `/mail/u/?authuser=<address>` is how Inbox Zero's "Open in Gmail" links name the account since
 * `/mail/u/<address>/` answers 404 (elie222/inbox-zero PR #2214, 2026-04-11, still so at 0213694; raycast/extensions
 * #27725, 2026-05-07: the address form "deprecated in April 2026"). That Gmail keeps the fragment (the thread) on its
 * way to that account is their use, not seen here; when the account is not signed in it asks for a sign-in, and the
 * fragment is said to be lost there (docs/gmail.md, "Opening a thread in an account").
 */
export function gmailThreadUrl(threadId: string | null, account = DEFAULT_GMAIL_ACCOUNT): string {
  const fragment = threadFragment(threadId);
  if (account.address) return `${GMAIL_ORIGIN}/mail/u/?authuser=${encodeURIComponent(account.address)}${fragment}`;
  const path = gmailAccountPath(GMAIL_ORIGIN + account.path) === account.path ? account.path : DEFAULT_GMAIL_ACCOUNT.path;
  return `${GMAIL_ORIGIN}${path}${fragment}`;
}

/**
 * The Gmail tab to show a thread of `account` in: one already on that account, never a pop-out (whose draft a
 * navigation would close). With the account's address, the mailbox window whose title names it: its number may now be
 * another account's. None when no tab shows that account: the caller opens a new tab rather than take over another
 * account's.
 */
export function gmailTabFor<T extends { url?: string; title?: string }>(tabs: readonly T[], account: GmailAccount): T | undefined {
  return tabs.find((tab) =>
    account.address
      ? mailboxAddress(tab) === account.address
      : tab.url !== undefined && gmailAccountPath(tab.url) === account.path && !isPopOut(tab.url),
  );
}
