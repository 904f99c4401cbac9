// Who sent a message to the background. Only two kinds of sender get an answer: this extension's content script
// in a Gmail tab (GmailHandlers) and this extension's own pages (PageHandlers); anything else (another extension,
// a content script in some other frame or site, a page that found a way to message us) gets nothing.
import type browser from "webextension-polyfill";

export const GMAIL_ORIGIN = "https://mail.google.com";

/** Whether a page's address is Gmail's (its origin, not a look-alike host or path). */
export function isGmailUrl(url: string | undefined): boolean {
  return url !== undefined && URL.canParse(url) && new URL(url).origin === GMAIL_ORIGIN;
}

export type SenderKind = "gmail" | "page" | null;

/** `runtimeId` is browser.runtime.id, `extensionBase` browser.runtime.getURL("/"). */
export function senderKind(sender: browser.Runtime.MessageSender, runtimeId: string, extensionBase: string): SenderKind {
  if (sender.id !== runtimeId || !sender.url) return null;
  if (sender.url.startsWith(extensionBase)) return "page";
  if (sender.tab && isGmailUrl(sender.url)) return "gmail";
  return null;
}
