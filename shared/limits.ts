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
/**
 * How far the sender's clock (a registration's `clockAt`) may be from the tracker's before the tracker moves the
 * email's send time by the difference (docs/protocol.md, `PUT /api/messages/<trackingId>`): past it the clock is taken
 * to be off, not the request slow, which takes well under a second from a browser to Cloudflare's edge. A request held
 * longer on its way (by a tracker still starting, which holds it until it serves) would pass for a clock behind by
 * that long, so the extension sends a registration answered more slowly than this once more (delivery.ts).
 */
export const CLOCK_TOLERANCE_MS = 2_000;
