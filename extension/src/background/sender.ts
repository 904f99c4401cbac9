// Who sent a message to the background. Only two kinds of sender get an answer: this extension's content script
// in a Gmail tab (GmailHandlers) and this extension's own pages (PageHandlers); anything else (another extension,
// a content script in some other frame or site, a page that found a way to message us) gets nothing.
import type browser from "webextension-polyfill";

export const GMAIL_ORIGIN = "https://mail.google.com";

export type SenderKind = "gmail" | "page" | null;

/** `runtimeId` is browser.runtime.id, `extensionBase` browser.runtime.getURL("/"). */
export function senderKind(sender: browser.Runtime.MessageSender, runtimeId: string, extensionBase: string): SenderKind {
  if (sender.id !== runtimeId || !sender.url) return null;
  if (sender.url.startsWith(extensionBase)) return "page";
  if (sender.tab && URL.canParse(sender.url) && new URL(sender.url).origin === GMAIL_ORIGIN) return "gmail";
  return null;
}
