// What the dashboard shows, asked of the tracker by the background (which holds the token): campaigns, people,
// messages, a contact's timeline, deleting a contact, lifting a suppression and CSV exports. Spread into
// handlers.ts's page table, so messaging.ts types these calls like every other.
import type browser from "webextension-polyfill";
import {
  type CampaignDetail,
  type CampaignsResponse,
  type ContactDetail,
  type ContactsQuery,
  type ContactsResponse,
  campaignName,
  emailAddress,
  MESSAGE_STATES,
  type MessageState,
  type MessagesQuery,
  type MessagesResponse,
} from "../../../shared/api";
import { normalizeEmail } from "../../../shared/email";
import { api } from "./api";
import { checks } from "./contact-checks";
import type { Credentials } from "./credentials";

type Sender = browser.Runtime.MessageSender;

export const EXPORTS = ["messages", "events", "contacts"] as const;
export type ExportName = (typeof EXPORTS)[number];

/** An address from a page, as the tracker compares it; throws for anything else. */
function addressOf(input: { email: string } | undefined): string {
  const parsed = emailAddress.safeParse(normalizeEmail(String(input?.email ?? "")));
  if (!parsed.success) throw new Error("not an address");
  return parsed.data;
}

const CURSOR = /^[A-Za-z0-9_-]{1,400}$/;
const cursorOf = (value: unknown) => (typeof value === "string" && CURSOR.test(value) ? value : undefined);
const campaignOf = (value: unknown) => {
  const parsed = campaignName.safeParse(value);
  return parsed.success ? parsed.data : undefined;
};

export function dashboardHandlers(deps: { requireCredentials(): Promise<Credentials> }) {
  return {
    async listCampaigns(input: { cursor?: string }, _sender: Sender): Promise<CampaignsResponse> {
      const c = await deps.requireCredentials();
      return api.campaigns(c.trackerUrl, c.apiToken, cursorOf(input?.cursor));
    },

    async campaignDetail(input: { name: string }, _sender: Sender): Promise<CampaignDetail> {
      const name = campaignOf(input?.name);
      if (!name) throw new Error("no such campaign");
      const c = await deps.requireCredentials();
      return api.campaign(c.trackerUrl, c.apiToken, name);
    },

    async listContacts(input: ContactsQuery, _sender: Sender): Promise<ContactsResponse> {
      const c = await deps.requireCredentials();
      return api.contacts(c.trackerUrl, c.apiToken, {
        sort: input?.sort === "lastActivity" ? "lastActivity" : "score",
        campaign: campaignOf(input?.campaign),
        minScore: typeof input?.minScore === "number" && input.minScore > 0 ? input.minScore : undefined,
        cursor: cursorOf(input?.cursor),
        limit: 50,
      });
    },

    async contactDetail(input: { email: string; cursor?: string }, _sender: Sender): Promise<ContactDetail> {
      const email = addressOf(input);
      const c = await deps.requireCredentials();
      return api.contact(c.trackerUrl, c.apiToken, email, cursorOf(input.cursor));
    },

    /**
     * Deletes a contact on the tracker (docs/protocol.md §13): emails sent only to it, its replies and bounces. The
     * suppression list and opt-outs keep the address.
     */
    async deleteContact(input: { email: string }, _sender: Sender): Promise<{ ok: true }> {
      const email = addressOf(input);
      const c = await deps.requireCredentials();
      await api.deleteContact(c.trackerUrl, c.apiToken, email);
      return { ok: true };
    },

    /** Lifts a suppression (docs/protocol.md §10): the compose windows stop warning about the address at once. */
    async liftSuppression(input: { email: string }, _sender: Sender): Promise<{ ok: true }> {
      const email = addressOf(input);
      const c = await deps.requireCredentials();
      await api.liftSuppression(c.trackerUrl, c.apiToken, email);
      checks.invalidate([email]);
      return { ok: true };
    },

    async listMessages(input: MessagesQuery, _sender: Sender): Promise<MessagesResponse> {
      const q = typeof input?.q === "string" ? input.q.trim().slice(0, 200) : "";
      const c = await deps.requireCredentials();
      return api.messages(c.trackerUrl, c.apiToken, {
        campaign: campaignOf(input?.campaign),
        state: MESSAGE_STATES.includes(input?.state as MessageState) ? input.state : undefined,
        q: q || undefined,
        cursor: cursorOf(input?.cursor),
        limit: 50,
      });
    },

    /** One CSV export as text (the page saves it through a Blob). */
    async exportCsv(input: { name: ExportName }, _sender: Sender): Promise<{ filename: string; csv: string }> {
      if (!EXPORTS.includes(input?.name)) throw new Error("unknown export");
      const c = await deps.requireCredentials();
      const csv = await api.exportCsv(c.trackerUrl, c.apiToken, input.name);
      return { filename: `mailtracker-${input.name}-${new Date().toISOString().slice(0, 10)}.csv`, csv };
    },
  };
}
