// Which Gmail account sent each tracked message: the "/mail/u/N/" path of the tab it was sent from and the address
// its title names (the browser's own word for the sender, never the content script's), kept in extension storage and
// never sent to the tracker. A notification about the message opens its thread in that account rather than in
// whichever Gmail tab comes first.

import { DEFAULT_GMAIL_ACCOUNT, type GmailAccount, gmailThreadUrl } from "../gmail-ids";
import { serialRunner } from "../serial";
import type { KeyValueArea } from "./outbox";

export const SENT_ACCOUNTS_KEY = "sentAccounts";
/** The newest this many messages are kept; an older one's notification opens in the first account. */
export const MAX_SENT_ACCOUNTS = 2000;

export class SentAccounts {
  /** Read-modify-writes run in turn: two messages sent at once both keep their account. */
  private readonly serial = serialRunner();

  constructor(private readonly area: KeyValueArea) {}

  /** By tracking id; an account recorded before addresses were is its path alone. */
  private async read(): Promise<Record<string, GmailAccount | string>> {
    const stored = (await this.area.get(SENT_ACCOUNTS_KEY))[SENT_ACCOUNTS_KEY];
    return stored && typeof stored === "object" ? (stored as Record<string, GmailAccount | string>) : {};
  }

  record(trackingId: string, account: GmailAccount): Promise<void> {
    return this.serial(async () => {
      const accounts = await this.read();
      const known = accounts[trackingId];
      // A send is reported twice (as its compose closes, then with Gmail's ids): a report from a window whose title
      // named no address keeps the address the other one read.
      const sameAccount = typeof known === "object" && known.path === account.path;
      const kept = sameAccount ? { path: account.path, address: account.address ?? known.address } : account;
      if (sameAccount && known.address === kept.address) return;
      accounts[trackingId] = kept;
      const ids = Object.keys(accounts);
      for (const id of ids.slice(0, Math.max(0, ids.length - MAX_SENT_ACCOUNTS))) delete accounts[id];
      await this.area.set({ [SENT_ACCOUNTS_KEY]: accounts });
    });
  }

  async get(trackingId: string): Promise<GmailAccount | null> {
    return accountOf((await this.read())[trackingId]);
  }

  /**
   * Each email's thread address, in the account that sent it (the first account when not known), from one read of
   * the accounts: a page lists up to a hundred emails.
   */
  async threadUrls(): Promise<(trackingId: string, threadId: string | null) => string> {
    const accounts = await this.read();
    return (trackingId, threadId) => gmailThreadUrl(threadId, accountOf(accounts[trackingId]) ?? DEFAULT_GMAIL_ACCOUNT);
  }
}

function accountOf(stored: GmailAccount | string | undefined): GmailAccount | null {
  return typeof stored === "string" ? { path: stored, address: null } : (stored ?? null);
}
