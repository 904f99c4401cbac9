// Tells the background when a Gmail tab gains focus (or becomes visible), so it reads the events feed now instead of
// at its next alarm: the user looking at Gmail sees fresh read receipts. At most one nudge every few seconds.
import { callFromGmail } from "../../messaging";
import { type Feature, guarded } from "../feature";
import { debug } from "../log";

const MIN_GAP_MS = 3_000;

export const focusPoll: Feature = {
  id: "focus-poll",
  init(signal) {
    let last = 0;
    const nudge = guarded("focus poll", () => {
      if (document.visibilityState === "hidden" || Date.now() - last < MIN_GAP_MS) return;
      last = Date.now();
      callFromGmail("gmailFocused", null).then(
        (answer) => debug("events feed polled on focus", answer),
        (error: unknown) => debug("events feed not polled", error),
      );
    });
    window.addEventListener("focus", nudge, { signal });
    document.addEventListener("visibilitychange", nudge, { signal });
    nudge();
  },
};
