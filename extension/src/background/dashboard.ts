// What the dashboard shows, asked of the tracker by the background (which holds the token): campaigns, people,
// messages, a contact's timeline, deleting a contact, lifting a suppression and CSV exports. Spread into
// handlers.ts's page table, so messaging.ts types these calls like every other.
import { z } from "zod";
import {
  type CampaignDetail,
  type CampaignsResponse,
  CONTACT_SORTS,
  type ContactDetail,
  type ContactsResponse,
  campaignName,
  cursorParam,
  emailAddress,
  MESSAGE_FILTERS,
  type MessagesResponse,
} from "../../../shared/api";
import { normalizeEmail } from "../../../shared/email";
import type { ContactCheckCache } from "./contact-checks";
import type { TrackerAccess } from "./credentials";
import type { DeletedContact } from "./deleted-contact";
import { handler } from "./handler";

export const EXPORTS = ["messages", "events", "contacts"] as const;
export type ExportName = (typeof EXPORTS)[number];

// A page's inputs as the tracker takes them. A value it would refuse in a list's filters is left out (the list
// is shown unfiltered) rather than failing the page.
/** An address as the tracker compares it. */
const address = z.string().transform(normalizeEmail).pipe(emailAddress);
const cursor = cursorParam.optional().catch(undefined);
const campaignFilter = campaignName.optional().catch(undefined);

export function dashboardHandlers(
  deps: TrackerAccess & {
    checks: ContactCheckCache;
    /** Takes a contact deleted on the tracker out of what the extension keeps (the activity, the reminders). */
    forgetContact: (contact: DeletedContact) => Promise<void>;
  },
) {
  return {
    listCampaigns: handler(z.object({ cursor }), async (input): Promise<CampaignsResponse> => {
      const c = await deps.requireCredentials();
      return deps.tracker(c).campaigns(input.cursor);
    }),

    campaignDetail: handler(z.object({ name: campaignName }), async (input): Promise<CampaignDetail> => {
      const c = await deps.requireCredentials();
      return deps.tracker(c).campaign(input.name);
    }),

    listContacts: handler(
      z.object({
        sort: z.enum(CONTACT_SORTS).catch("score"),
        campaign: campaignFilter,
        minScore: z.number().positive().optional().catch(undefined),
        cursor,
      }),
      async (input): Promise<ContactsResponse> => {
        const c = await deps.requireCredentials();
        return deps.tracker(c).contacts({ ...input, limit: 50 });
      },
    ),

    contactDetail: handler(z.object({ email: address, cursor }), async (input): Promise<ContactDetail> => {
      const c = await deps.requireCredentials();
      return deps.tracker(c).contact(input.email, input.cursor);
    }),

    /**
     * Deletes a contact on the tracker (docs/protocol.md §13): emails sent only to it, its replies and bounces. The
     * suppression list and opt-outs keep the address. The extension's own copies follow: the activity and reminders
     * that named it (`name`, the contact's as the dashboard shows it, finds it in those stored before addresses were).
     */
    deleteContact: handler(z.object({ email: address, name: z.string().max(200).nullish() }), async (input): Promise<{ ok: true }> => {
      const c = await deps.requireCredentials();
      await deps.tracker(c).deleteContact(input.email);
      await deps.forgetContact(input);
      return { ok: true };
    }),

    /** Lifts a suppression (docs/protocol.md §10): the compose windows stop warning about the address at once. */
    liftSuppression: handler(z.object({ email: address }), async (input): Promise<{ ok: true }> => {
      const c = await deps.requireCredentials();
      await deps.tracker(c).liftSuppression(input.email);
      deps.checks.invalidate([input.email]);
      return { ok: true };
    }),

    listMessages: handler(
      z.object({
        campaign: campaignFilter,
        state: z.enum(MESSAGE_FILTERS).optional().catch(undefined),
        q: z
          .string()
          .optional()
          .catch(undefined)
          .transform((q) => q?.trim().slice(0, 200) || undefined),
        cursor,
      }),
      async (input): Promise<MessagesResponse> => {
        const c = await deps.requireCredentials();
        return deps.tracker(c).messages({ ...input, limit: 50 });
      },
    ),

    /**
     * One part of a CSV export, which the page joins and saves through a Blob: a whole export in one answer could pass
     * what one extension message may carry (64 MiB in Chrome) and the 5 minutes Chrome gives the service worker for
     * one event (developer.chrome.com, "The extension service worker lifecycle"), each part taking up to
     * EXPORT_TIMEOUT_MS.
     */
    // The cursor as the tracker takes it, refused rather than dropped: without it the export would start over.
    exportCsvPart: handler(
      z.object({ name: z.enum(EXPORTS), cursor: cursorParam.optional() }),
      async (input): Promise<{ csv: string; next: string | null }> => {
        const c = await deps.requireCredentials();
        const part = await deps.tracker(c).exportCsvPart(input.name, input.cursor);
        return { csv: part.text, next: part.next };
      },
    ),
  };
}
