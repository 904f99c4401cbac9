// The compose window's "Remind me if no reply in N days": a toggle and a day count in the compose's toolbar. Turning
// it on asks the background to keep a reminder for this email (background/follow-ups.ts); when it comes due with
// no reply, a desktop notification names the email and opens its thread. The reminder of an email never sent is
// dropped by the background; a reply settles it; an email taken back with Gmail's Undo gets it again when reopened.
import { callFromGmail } from "../../messaging";
import { type Feature, guarded } from "../feature";
import { toast } from "../ui";
import { CARRIED_REMINDER_ATTRIBUTE, COMPOSE_READY_EVENT } from "./compose-tracking";

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
  button.setAttribute("aria-pressed", "false");
  button.textContent = "Remind me";
  button.title = "Remind me if nobody replies to this email in this many days";
  const days = doc.createElement("input");
  days.type = "number";
  days.min = "1";
  days.max = "365";
  days.value = String(defaultDays);
  days.className = "mt-remind-days";
  days.setAttribute("style", "width:4em;border:1px solid #c4c7c5;border-radius:12px;padding:2px 6px;font:inherit");
  days.setAttribute("aria-label", "days without a reply before the reminder");
  days.hidden = true;
  const note = doc.createElement("span");
  note.className = "mt-remind-note";
  note.hidden = true;
  note.textContent = NOTE;
  holder.append(button, days, note);

  /** Keeps the control's state in the background; `carried`: a reminder carried over, told in a toast once kept. */
  const send = guarded("reminder", (carried = false) => {
    const on = button.getAttribute("aria-pressed") === "true";
    const n = Number(days.value);
    const id = holder.dataset.mtFor ?? "";
    const dayCount = `${n} day${n === 1 ? "" : "s"}`;
    holder.dataset.mtState = "saving";
    // Days the background cannot keep (2.5, 0, none) are refused by it and said here, never sent as "off": the reminder
    // set before would be dropped behind a control that still shows it on.
    callFromGmail("remindIfNoReply", { trackingId: id, days: on ? n : null }).then(
      () => {
        holder.dataset.mtState = on ? "set" : "off";
        note.textContent = NOTE;
        button.title = on ? `A reminder comes if nobody replies in ${dayCount}` : "Remind me if nobody replies";
        if (carried)
          toast(
            doc,
            `Mailtracker: its follow-up reminder (${dayCount} without a reply) is set on the reopened email, for when you resend it.`,
          );
      },
      (error: unknown) => {
        const why = error instanceof Error ? error.message : String(error);
        holder.dataset.mtState = "error";
        button.title = `The reminder was not kept: ${why}`;
        note.textContent = `${NOTE}: not kept: ${why}`;
        if (carried) toast(doc, `Mailtracker: the follow-up reminder of the email you took back with Undo was not set again (${why}).`);
      },
    );
  });
  const setOn = (on: boolean, carried = false) => {
    button.setAttribute("aria-pressed", String(on));
    days.hidden = !on;
    note.hidden = !on;
    send(carried);
  };
  button.addEventListener("click", (event) => {
    event.preventDefault();
    setOn(button.getAttribute("aria-pressed") !== "true");
  });
  days.addEventListener("change", () => send());
  holder.addEventListener("mt-retarget", (event) => {
    const previous = holder.dataset.mtFor ?? "";
    holder.dataset.mtFor = String((event as CustomEvent<string>).detail);
    if (button.getAttribute("aria-pressed") !== "true") return;
    void callFromGmail("remindIfNoReply", { trackingId: previous, days: null }).catch(() => undefined);
    send();
  });
  // A reminder carried over from the email Gmail reopened after an Undo (compose-tracking.ts): on, with its days,
  // whether it came before this control or after, once the compose's toggles are unlocked. The rep is told only once
  // the background keeps it: a compose that stays locked (it cannot be tracked, and says why) sets none.
  const takeCarried = () => {
    const carried = toolbar.getAttribute(CARRIED_REMINDER_ATTRIBUTE);
    if (!carried || button.disabled) return;
    toolbar.removeAttribute(CARRIED_REMINDER_ATTRIBUTE);
    days.value = carried;
    setOn(true, true);
  };
  // Locked with the compose's other toggles: an email that goes out untracked is never registered, so no reminder.
  // Looked at again whenever a toggle is locked or unlocked, or a reminder is carried over.
  const syncLock = guarded("reminder lock", () => {
    const locked = toolbar.querySelector<HTMLButtonElement>(".mt-toggle-open")?.disabled ?? false;
    if (button.disabled !== locked) {
      button.disabled = locked;
      days.disabled = locked;
      if (locked && button.getAttribute("aria-pressed") === "true") setOn(false);
    }
    takeCarried();
  });
  const lockWatch = new MutationObserver(syncLock);
  lockWatch.observe(toolbar, { attributes: true, subtree: true, attributeFilter: ["disabled", CARRIED_REMINDER_ATTRIBUTE] });
  syncLock();

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
