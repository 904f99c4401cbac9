// Tells the background when a Gmail tab gains focus (or becomes visible), so it reads the events feed now instead of
// at its next alarm: the user looking at Gmail sees fresh read receipts. The background's poller keeps its own minimum
// gap between requests to the tracker (background/notifications.ts MIN_POLL_GAP_MS).
import { callFromGmail } from "../../messaging";
import { type Feature, guarded } from "../feature";
import { debug } from "../log";

export const focusPoll: Feature = {
  id: "focus-poll",
  init(signal) {
    const nudge = guarded("focus poll", () => {
      if (document.visibilityState === "hidden") return;
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
