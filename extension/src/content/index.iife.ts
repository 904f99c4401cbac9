// The Gmail content script (isolated world, document_start). Small by design: plain DOM, no UI framework.
// It holds no secrets; everything that needs the account's key or the network goes through the background.
import { callFromGmail } from "../messaging";
import { loadSavedOptions, type Options, onSavedOptionsChanged, trackerUrls } from "../options-store";
import { TRACKER_ATTRIBUTE } from "../page-world/events";
import { type Feature, guarded } from "./feature";
import { composeTracking, keepEarlierChoices } from "./features/compose-tracking";
import { conversationPanel } from "./features/conversation-panel";
import { focusPoll } from "./features/focus-poll";
import { followUpReminder } from "./features/follow-up-reminder";
import { gmailHealth } from "./features/gmail-health";
import { repliesBounces } from "./features/replies-bounces";
import { senderPixels } from "./features/sender-pixels";
import { sentListMarks } from "./features/sent-list-marks";
import { sentViewsReport } from "./features/sent-views-report";
import { setDebug } from "./log";
import { removeEarlierCopyDrawing } from "./ui";

const FEATURES: Feature[] = [
  senderPixels,
  composeTracking,
  followUpReminder,
  sentViewsReport,
  repliesBounces,
  sentListMarks,
  conversationPanel,
  focusPoll,
  gmailHealth,
];

let controller: AbortController | null = null;

function start(options: Options): void {
  controller?.abort();
  controller = new AbortController();
  setDebug(options.debug);
  // The page-world pixel guard (page-world/pixel-guard.ts) needs to know which trackers' pixels to neutralise.
  document.documentElement.setAttribute(TRACKER_ATTRIBUTE, trackerUrls(options).join(" "));
  for (const feature of FEATURES)
    guarded(`feature ${feature.id}`, () => feature.init((controller as AbortController).signal, { options }))();
}

// This tab may hold an earlier copy's toolbars and marks, dead (Firefox puts the script into open tabs on an update):
// the rep's choices in its compose toolbars are kept for the new ones first.
keepEarlierChoices(document);
removeEarlierCopyDrawing(document);
const cannotRead = (error: unknown) => console.warn("[mailtracker] cannot read options; tracking is off", error);
// Options in an older shape are the background's to read (options-store.ts savedOptions).
const migrated = () => callFromGmail("options", null);
loadSavedOptions(migrated).then(start, cannotRead);
onSavedOptionsChanged(start, migrated, cannotRead);
