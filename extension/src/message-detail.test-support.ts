// An email's detail as the tracker answers it (GET /api/messages/:id), for tests that care about a few of its fields.
import type { MessageDetail } from "../../shared/api";

export function detailOf(id: string, changes: Partial<MessageDetail> = {}): MessageDetail {
  return {
    id,
    threadId: `thread-${id}`,
    syncThreadId: null,
    state: "delivered",
    openCount: 0,
    firstOpenAt: null,
    lastOpenAt: null,
    clickCount: 0,
    lastClickAt: null,
    replyCount: 0,
    lastReplyAt: null,
    bounce: null,
    unsubscribed: false,
    subject: `Subject ${id}`,
    campaign: null,
    recipients: [{ email: "ann@acme.example", name: "Ann" }],
    sentAt: new Date(0).toISOString(),
    gmailMessageId: null,
    openTracking: true,
    clickTracking: true,
    opens: [],
    links: [],
    ...changes,
  };
}
