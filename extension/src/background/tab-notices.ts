// A Gmail tab's notice said while the tab is hidden, shown as a desktop notification. The content script's notices
// (content/ui.ts toast) say what happened after a compose was gone: an email sent untracked, a send "tracked, but"
// Gmail's confirmation was not seen (60 s after the compose closed), an Undo whose email did not reopen (10 s after
// it). Drawn in a hidden tab, they left in 8 s unseen, and the rep went on believing the email tracked. Kept until the
// tab is visible again they would come late, or never, for a tab the rep closes or leaves behind for the day; words
// that say an email is not tracked are worth hearing while it is still on the rep's mind, which is how the outbox's
// troubles and the tracker's outages are told too (index.ts). So the tab asks the background, which alone shows
// notifications, and a click on one brings back the tab that said it.
import { z } from "zod";
import { handler } from "./handler";

/** How much of a notice a notification shows: more is cut, with an ellipsis (the tab's own notice keeps it whole). */
export const NOTICE_MAX = 500;

const PREFIX = "mt-notice:";

/** The notice's words as a notification: "Mailtracker" as its title, not again at the head of its message. */
export function noticeNote(text: string): { title: string; message: string } {
  const message = text.replace(/^Mailtracker:\s*/, "");
  return { title: "Mailtracker", message: message.length > NOTICE_MAX ? `${message.slice(0, NOTICE_MAX - 1)}…` : message };
}

/**
 * A notification id of its own for each notice (two composes closing give two), naming the tab that said it, so a
 * click finds it after the background started again. `at` and `n` keep ids apart across restarts of the background.
 */
export function noticeId(tabId: number | undefined, at: number, n: number): string {
  return `${PREFIX}${tabId ?? ""}:${at}:${n}`;
}

/** The tab a notice's notification came from (noticeId), or null for another notification, or one of no tab. */
export function noticeTab(notificationId: string): number | null {
  if (!notificationId.startsWith(PREFIX)) return null;
  const tabId = Number.parseInt(notificationId.slice(PREFIX.length), 10);
  return Number.isInteger(tabId) && tabId >= 0 ? tabId : null;
}

/** The Gmail tabs' handler; `show` makes a notification with the extension's icon (index.ts notify). */
export function tabNoticeHandlers(show: (id: string, note: { title: string; message: string }) => Promise<unknown>) {
  let shown = 0;
  return {
    /** A notice of a hidden Gmail tab (content/ui.ts toast), shown on the desktop. */
    noticeWhileHidden: handler(z.object({ text: z.string().trim().min(1) }), async (input, sender): Promise<{ shown: true }> => {
      await show(noticeId(sender.tab?.id, Date.now(), ++shown), noticeNote(input.text));
      return { shown: true };
    }),
  };
}
