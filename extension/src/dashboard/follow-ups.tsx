// "Needs a follow-up": the emails nobody replied to after the rep's wait (per campaign, else the default from the
// options), ranked clicked, then opened, then nothing; each one click from its Gmail thread. Below, the reminders
// set from the compose window and when they come due.
import { useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import type { FollowUpEngagement } from "../../../shared/api";
import type { FollowUpList, Reminder } from "../background/follow-ups";
import { callFromPage } from "../messaging";
import { Time, useNow } from "../pages/time";
import { counted, errorText, midSentence, NO_OPEN_YET, noOpenWords, recipientsNotNamed, subjectShown } from "../words";
import { ViewLink } from "./ui";

const GROUPS: { engagement: FollowUpEngagement; title: string; hint: string }[] = [
  { engagement: "clicked", title: "Clicked a link", hint: "interested: follow up first" },
  { engagement: "opened", title: "Opened", hint: "read it, did not answer" },
  { engagement: "none", title: "No open seen", hint: "may not have seen it (or reads without images)" },
];

export function FollowUps() {
  const [data, setData] = useState<FollowUpList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  useEffect(() => {
    callFromPage("listFollowUps", null).then(setData, (e: unknown) => setError(errorText(e)));
  }, []);
  if (error)
    return (
      <p class="error" data-testid="error">
        {error}
      </p>
    );
  if (!data) return <p class="muted">Loading…</p>;
  return (
    <section data-testid="follow-ups">
      <p class="muted">
        Emails with no reply {counted(data.days, "day")} after sending (per campaign where the options say so), most engaged first. Replies
        and bounces take an email off this list.{" "}
        <button type="button" class="link" onClick={() => void browser.runtime.openOptionsPage()}>
          Change the wait
        </button>
      </p>
      {data.cut ? <CutNote listed={data.followUps.length} total={data.cut.total} /> : null}
      {data.followUps.length === 0 ? (
        <p class="muted" data-testid="empty">
          Nobody to chase: every email of the last 90 days got a reply or is still within its wait.
        </p>
      ) : (
        GROUPS.map((group) => {
          const items = data.followUps.filter((f) => f.engagement === group.engagement);
          if (items.length === 0) return null;
          return (
            <div key={group.engagement} class="follow-up-group" data-engagement={group.engagement}>
              <h3>
                {group.title}{" "}
                <span class="muted">
                  ({items.length}: {group.hint})
                </span>
              </h3>
              <ul class="follow-up-list">
                {items.map((f) => (
                  <li key={f.id} data-id={f.id}>
                    <a href={f.threadUrl} target="_blank" rel="noreferrer" class="thread" title="Open the thread in Gmail to follow up">
                      {subjectShown(f.subject)}
                    </a>{" "}
                    <span class="muted">
                      to {f.recipients.map((r) => r.name || r.email).join(", ")} · sent <Time iso={f.sentAt} now={now} />
                      {f.lastActivityAt ? (
                        <>
                          {" "}
                          · last {f.engagement === "clicked" ? "click or open" : "open"} <Time iso={f.lastActivityAt} now={now} />
                        </>
                      ) : null}
                      {f.campaign ? ` · ${f.campaign}` : ""}
                      {/* Why none may be seen, when that is known (no pixel, Apple Mail's load): not "may not have seen it". */}
                      {f.engagement === "none" && noOpenWords(f) !== NO_OPEN_YET ? ` · ${midSentence(noOpenWords(f))}` : ""} ·{" "}
                    </span>
                    <ViewLink path={`message/${encodeURIComponent(f.id)}`}>details</ViewLink>
                  </li>
                ))}
              </ul>
            </div>
          );
        })
      )}
      <h3>Reminders</h3>
      <ReminderList reminders={data.reminders} full={data.remindersFull} now={now} />
    </section>
  );
}

/**
 * Said when the tracker's list stopped at its limit: the least engaged emails, the "No open seen" tail, are the ones
 * left out, and a rep who sends many would otherwise never know they wait.
 */
function CutNote({ listed, total }: { listed: number; total: number | null }) {
  return (
    <p class="list-cut" data-testid="follow-ups-cut">
      {total === null
        ? `Showing ${counted(listed, "email")} that need a follow-up, the most engaged first, and more wait: the least engaged are not listed.`
        : `Showing ${listed} of ${counted(total, "email")} that need a follow-up, the most engaged first: the other ${total - listed}, the least engaged, are not listed.`}
    </p>
  );
}

/**
 * The reminders set from the compose window, each with its Cancel (once the email is sent, this is the only place to
 * take one back). While a new one would not be kept (as many wait as the background keeps, or their emails' recipients
 * fill the room kept for them), it says so in the background's words, which the compose window that asks for one shows
 * too: a rep on a large campaign learns it here, before ticking the box; each cancel's answer says whether it still holds. One past its time waits for the tracker (down, or the email still in the outbox) to say whether
 * anyone replied: it says so, not "a notification 3 h ago", which never came.
 */
function ReminderList({ reminders, full, now }: { reminders: Reminder[]; full: string | null; now: number }) {
  const [cancelled, setCancelled] = useState<ReadonlySet<string>>(new Set());
  const [fullNow, setFullNow] = useState(full);
  const [error, setError] = useState<string | null>(null);
  const cancel = (trackingId: string) => {
    setError(null);
    callFromPage("cancelReminder", { trackingId }).then(
      (answer) => {
        setCancelled((ids) => new Set([...ids, trackingId]));
        setFullNow(answer.remindersFull);
      },
      (e: unknown) => setError(`Not cancelled: ${errorText(e)}`),
    );
  };
  const left = reminders.filter((r) => !cancelled.has(r.trackingId));
  return (
    <>
      {error ? (
        <p class="error" data-testid="reminder-error">
          {error}
        </p>
      ) : null}
      {fullNow ? (
        <p class="list-cut" data-testid="reminders-full">
          {fullNow}.
        </p>
      ) : null}
      {left.length === 0 ? (
        <p class="muted">None set. In Gmail's compose window, "Remind me" asks for a notification if nobody replies in a few days.</p>
      ) : (
        <ul data-testid="reminders">
          {left.map((r) => {
            const due = <Time iso={new Date(r.dueAt).toISOString()} now={now} />;
            const to = r.recipients?.length
              ? r.recipients.join(", ")
              : r.recipientsNotNamed
                ? recipientsNotNamed(r.recipientsNotNamed)
                : "";
            return (
              <li key={r.trackingId} data-id={r.trackingId}>
                <ViewLink path={`message/${encodeURIComponent(r.trackingId)}`}>
                  {r.subject === undefined ? "An email" : subjectShown(r.subject)}
                </ViewLink>
                {to ? ` to ${to}` : ""} ·{" "}
                {r.dueAt <= now ? (
                  <span data-testid="overdue">overdue (due {due}): a notification comes once the tracker says nobody replied</span>
                ) : (
                  <>if no reply, a notification {due}</>
                )}{" "}
                <button type="button" class="link" name="cancel-reminder" onClick={() => cancel(r.trackingId)}>
                  Cancel
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
