// A scheduled send the rep cancels in Gmail ("Cancel send" on the email in its Scheduled folder) never goes out, so it
// must not stay tracked: no follow-up reminder for it, no count of it. How Gmail tells its server so, and what its page
// shows then, is not public (docs/gmail.md, "A scheduled send cancelled"): neither is read. What is public: a
// scheduled email cannot be edited, only its send cancelled, which gives it back as a draft (gmail.js pull request
// 567, 2019-04-24: it "goes into the scheduled label, without the possibility of editing (this is not a draft), user
// can only cancel sending"; Gmail's help as guides quote it, 2026: after "Cancel send" "the email returns to your
// Drafts folder"). So a compose that Gmail opens, or first fills, with the pixel of one of the rep's emails outside
// any quote holds that email as a draft; while its scheduled time is still ahead it was cancelled, and the background
// withdraws it (handlers.ts scheduledSendReopened) and the rep is told. Only there (compose-tracking.ts, the session's
// checkReopenedSend): a pixel that comes later came with the rep's edits (a paste of the scheduled email, which Gmail
// sends as a new email while the scheduled one still goes out), or with the compose's own send. Assumed, as for Undo Send (docs/gmail.md): the
// draft keeps the body as it was scheduled, our pixel in it. Not seen: a cancel whose draft the rep never opens, and one of an
// email scheduled with Opens off (no pixel). For the first, the conversation panel of an email still waiting for its
// time says to delete its tracking data if its send is cancelled.
import { callFromGmail } from "../../messaging";
import { ORIGINAL_SRC_ATTRIBUTE, pixelIdIn } from "../../page-world/pixel-guard";
import { subjectShown } from "../../words";
import { quotedIn } from "../gmail-selectors";
import { toast } from "../ui";

/**
 * The emails this page settled: each asked about once, and those Gmail's Undo took back (compose-tracking.ts
 * composeOpened), withdrawn by it already: withdrawn twice, the rep would be told twice and the reminder carried twice.
 */
export const settledSends = new Set<string>();

/**
 * Looks in a compose's body, as Gmail opened or first filled it, for the pixel of one of the rep's emails outside any
 * quote, and asks the background whether it was a scheduled send still waiting. If so it is withdrawn, the rep told,
 * and its follow-up reminder's days handed to `carryReminder`, so the compose sets it again for the re-send. Returns
 * whether the body is still empty (no words: Gmail's new compose holds a `<br>`, compose-dialog-2020-10.html), so that
 * Gmail may yet fill it with the draft it opens.
 */
export function checkReopenedSend(body: Element, trackers: readonly string[], carryReminder: (days: number) => void): boolean {
  const quoted = quotedIn(body);
  for (const img of body.querySelectorAll("img")) {
    const id = pixelIdIn(img.getAttribute(ORIGINAL_SRC_ATTRIBUTE) ?? img.getAttribute("src") ?? "", trackers);
    if (!id || settledSends.has(id) || quoted(img)) continue;
    settledSends.add(id);
    callFromGmail("scheduledSendReopened", { trackingId: id }).then(
      ({ cancelled }) => {
        if (!cancelled) return;
        if (cancelled.reminderDays !== null) carryReminder(cancelled.reminderDays);
        toast(document, `Mailtracker: scheduled send of "${subjectShown(cancelled.subject)}" cancelled: it is no longer tracked.`);
      },
      // Said once: each email is asked about once.
      (error: unknown) => {
        toast(
          document,
          `Mailtracker: this draft is a tracked email. If you cancelled its scheduled send, it is still tracked: the extension could not check (${String(error)}).`,
        );
      },
    );
  }
  return !body.textContent.trim();
}
