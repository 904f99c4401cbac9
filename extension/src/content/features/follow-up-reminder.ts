// The compose window's "Remind me if no reply in N days": a toggle and a day count in the compose's toolbar. Turning
// it on asks the background to keep a reminder for this email (background/follow-ups.ts); when it comes due with
// no reply, a desktop notification names the email and opens its thread. The reminder of an email never sent is
// dropped by the background; a reply settles it; an email taken back with Gmail's Undo gets it again when reopened.
// Only a tracked email can have one: while the compose would send it untracked, the control is shown as the toolbar's
// opt-out and campaign toggles are (disabled, unset, "No reminder: <why>"), and the rep's days wait for tracking.
import { callFromGmail } from "../../messaging";
import { counted } from "../../words";
import { type Feature, guarded } from "../feature";
import { toast } from "../ui";
import { CARRIED_REMINDER_ATTRIBUTE, COMPOSE_READY_EVENT, UNTRACKED_ATTRIBUTE } from "./compose-tracking";

const CONTROL_CLASS = "mt-remind";
const NOTE = "days without reply";

function addControl(toolbar: HTMLElement, defaultDays: number, signal: AbortSignal): void {
  const trackingId = toolbar.dataset.mtTrackingId;
  if (!trackingId || signal.aborted) return;
  const existing = toolbar.querySelector<HTMLElement>(`.${CONTROL_CLASS}`);
  // A new id for the same compose (connected again): a reminder set for the old one moves to the new.
  if (existing) {
    if (existing.dataset.mtFor !== trackingId) existing.dispatchEvent(new CustomEvent("mt-retarget", { detail: trackingId }));
    return;
  }
  const doc = toolbar.ownerDocument;
  const holder = doc.createElement("span");
  holder.className = CONTROL_CLASS;
  holder.dataset.mtFor = trackingId;
  const button = doc.createElement("button");
  button.type = "button";
  button.className = "mt-toggle mt-toggle-remind";
  button.textContent = "Remind me";
  const days = doc.createElement("input");
  days.type = "number";
  days.min = "1";
  days.max = "365";
  days.value = String(defaultDays);
  days.className = "mt-remind-days";
  days.setAttribute("style", "width:4em;border:1px solid #c4c7c5;border-radius:12px;padding:2px 6px;font:inherit");
  days.setAttribute("aria-label", "days without a reply before the reminder");
  const note = doc.createElement("span");
  note.className = "mt-remind-note";
  note.textContent = NOTE;
  holder.append(button, days, note);

  /** The rep's choice: a reminder for this email, once it is tracked. */
  let on = false;
  /** Why this email would go out untracked (compose-tracking.ts), so no reminder can come; null while it is tracked. */
  let why: string | null = null;
  /** What the background last said of the reminder, for the title. */
  let said = "Remind me if nobody replies to this email in this many days";
  /** Draws the control, as compose-optout.ts draws its toggle; returns whether it shows the reminder set. */
  const render = () => {
    const set = why === null && on;
    button.disabled = days.disabled = why !== null;
    button.setAttribute("aria-pressed", String(set));
    button.title = why === null ? said : `No reminder: ${why}`;
    days.hidden = !set;
    note.hidden = !set;
    return set;
  };

  /**
   * Keeps in the background what the control shows: the reminder while it shows it set, none otherwise (an untracked
   * email's, as it would never come). `carried`: a reminder carried over, told in a toast once kept.
   */
  const send = guarded("reminder", (carried = false) => {
    const set = render();
    const n = Number(days.value);
    const id = holder.dataset.mtFor ?? "";
    const dayCount = counted(n, "day");
    holder.dataset.mtState = "saving";
    // Days the background cannot keep (2.5, 0, none) are refused by it and said here, never sent as "off": the reminder
    // set before would be dropped behind a control that still shows it on.
    callFromGmail("remindIfNoReply", { trackingId: id, days: set ? n : null }).then(
      () => {
        holder.dataset.mtState = set ? "set" : "off";
        note.textContent = NOTE;
        said = set ? `A reminder comes if nobody replies in ${dayCount}` : "Remind me if nobody replies";
        render();
        if (carried)
          toast(
            doc,
            `Mailtracker: its follow-up reminder (${dayCount} without a reply) is set on the reopened email, for when you resend it.`,
          );
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        holder.dataset.mtState = "error";
        said = `The reminder was not kept: ${message}`;
        render();
        note.textContent = `${NOTE}: not kept: ${message}`;
        if (carried) toast(doc, `Mailtracker: the follow-up reminder of the email you took back with Undo was not set again (${message}).`);
      },
    );
  });
  button.addEventListener("click", (event) => {
    event.preventDefault();
    on = !on;
    send();
  });
  days.addEventListener("change", () => send());
  holder.addEventListener("mt-retarget", (event) => {
    const previous = holder.dataset.mtFor ?? "";
    holder.dataset.mtFor = String((event as CustomEvent<string>).detail);
    if (button.getAttribute("aria-pressed") !== "true") return;
    void callFromGmail("remindIfNoReply", { trackingId: previous, days: null }).catch(() => undefined);
    send();
  });
  // Only a tracked email is registered, so only its reminder can come: while this one would go out untracked (Opens and
  // Clicks off, or tracking locked), the control shows none set and says why, the background keeps none, and the rep's
  // choice comes back once it is tracked. Looked at again whenever that changes, or a reminder is carried over.
  const syncTracked = guarded("reminder lock", () => {
    const next = toolbar.getAttribute(UNTRACKED_ATTRIBUTE);
    // Drawn only on a change: drawing writes `hidden`, which the compose watches (compose-tracking.ts), and each of its
    // looks writes the attribute again.
    if (next !== why) {
      const flips = (next === null) !== (why === null);
      why = next;
      if (flips && on) send();
      else render();
    }
    // A reminder carried over from the email Gmail reopened after an Undo (compose-tracking.ts): on, with its days,
    // whether it came before this control or after, once the compose is tracked. The rep is told only once the
    // background keeps it: a compose that stays untracked (and says why) sets none.
    const carried = toolbar.getAttribute(CARRIED_REMINDER_ATTRIBUTE);
    if (!carried || why !== null) return;
    toolbar.removeAttribute(CARRIED_REMINDER_ATTRIBUTE);
    days.value = carried;
    on = true;
    send(true);
  });
  const lockWatch = new MutationObserver(syncTracked);
  lockWatch.observe(toolbar, { attributes: true, attributeFilter: [UNTRACKED_ATTRIBUTE, CARRIED_REMINDER_ATTRIBUTE] });
  render();
  syncTracked();

  const status = toolbar.querySelector(".mt-status");
  if (status) toolbar.insertBefore(holder, status);
  else toolbar.append(holder);
  // The control lives as long as its compose's toolbar, not as long as this run of the feature: a compose goes on when
  // the options change and every feature restarts (compose-tracking.ts, handedOver), and so does the reminder set on
  // it; the next run finds the control there (`existing` above). A compose that does not go on takes its toolbar, and
  // the control, with it.
}

export const followUpReminder: Feature = {
  id: "follow-up-reminder",
  init(signal, { options }) {
    const onReady = guarded("reminder control", (event: Event) => {
      if (event.target instanceof HTMLElement) addControl(event.target, options.followUpDays, signal);
    });
    document.addEventListener(COMPOSE_READY_EVENT, onReady, { signal });
    // Composes that got their id before this feature started (options changed and every feature restarted).
    for (const toolbar of document.querySelectorAll<HTMLElement>(".mt-toolbar[data-mt-tracking-id]"))
      addControl(toolbar, options.followUpDays, signal);
  },
};
