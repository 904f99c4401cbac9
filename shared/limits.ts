// Limits the tracker's API enforces and the extension's forms hold the rep to, written once so the two cannot drift.

/** The longest campaign name, in characters after trimming. */
export const CAMPAIGN_NAME_MAX = 100;
/** The most emails one answer of the follow-ups list holds. */
export const FOLLOW_UPS_MAX = 200;
/** The longest subject a registration carries, in UTF-16 code units: RFC 5322's longest line (998 characters). */
export const SUBJECT_MAX = 998;
/** The most recipients a registration lists. */
export const RECIPIENTS_MAX = 500;
/** The longest name of a recipient a registration carries. */
export const RECIPIENT_NAME_MAX = 200;
