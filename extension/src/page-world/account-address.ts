// The signed-in account's address as Gmail's own page holds it: `GLOBALS[10]`, a global of the page's world only.
// InboxSDK reads it there (src/injected-js/setup-data-exposer.ts, unchanged from 0a69eb3 of 2023-09-11 to a8a6fe2 of
// 2026-07-23, into `data-inboxsdk-user-email-address`), and so does gmail.js (api.get.user_email, b7dfdab of
// 2026-03-25), the page's title and the account switcher being only fallbacks there. It is in every UI language, where
// the title and the switcher's label may not parse (gmail-selectors.ts accountAddress).
// In a delegated mailbox it is the mailbox's address, the one its emails are sent from, not the delegate's who is
// signed in: gmail.js names it user_email there and finds the delegate apart, in the signed-in accounts at the URL's
// /u/N (api.get.delegated_to_email and manager_email, since 2a2a327 of 2015-12-23, unchanged at b7dfdab), and
// InboxSDK adds it to the account switcher's list because "this happens for delegated accounts": the switcher does not
// hold it (namespaces/user.ts getAccountSwitcherContactList, a8a6fe2).
// Gmail defines it after a document_start script starts: InboxSDK waits for it (`waitFor`, every 250 ms), and a
// gmail.js built at document_start found it missing until read again (gmail.js #786, 2024-03-18). So it is read when
// the content script asks, each time while <html> names no account yet.
import { ACCOUNT_ATTRIBUTE, ACCOUNT_WANTED_EVENT } from "./events";

export function installAccountAddress(win: Window & typeof globalThis): void {
  win.document.addEventListener(ACCOUNT_WANTED_EVENT, () => {
    try {
      const address = (win as { GLOBALS?: unknown[] }).GLOBALS?.[10];
      // An address, and nothing longer than one can be (RFC 5321: 64 + 1 + 255).
      if (typeof address === "string" && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(address))
        win.document.documentElement.setAttribute(ACCOUNT_ATTRIBUTE, address);
    } catch {
      // never break Gmail
    }
  });
}
