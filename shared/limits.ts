// Limits the tracker's API enforces and the extension's forms hold the rep to, written once so the two cannot drift.

/** The longest campaign name, in characters after trimming. */
export const CAMPAIGN_NAME_MAX = 100;
/** The most emails one answer of the follow-ups list holds. */
export const FOLLOW_UPS_MAX = 200;
