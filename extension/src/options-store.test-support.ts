// A rep's options as unit tests mean them unless they say otherwise: DEFAULT_OPTIONS with a deployed tracker. The
// default tracker is this computer's (npm start), out of recipients' reach, whose composes send their links untracked
// (options-store.ts linksTracked): a test of that says so, with a local tracker of its own.
import { DEFAULT_OPTIONS, type Options } from "./options-store";

/** A tracker on the public internet, as `npm run deploy` gives a rep: recipients reach it. */
export const DEPLOYED_TRACKER_URL = "https://t.example";

export const REP_OPTIONS: Options = { ...DEFAULT_OPTIONS, trackerUrl: DEPLOYED_TRACKER_URL };
