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
 * to be off. The difference also counts the request's time on its way (REQUEST_TRANSIT_MAX_MS).
 */
export const CLOCK_TOLERANCE_MS = 2_000;
/**
 * The longest a registration's request is taken to be on its way, which takes well under a second from a browser to
 * Cloudflare's edge. The tracker reads that time as the sender's clock being behind (CLOCK_TOLERANCE_MS), so one held
 * longer (by a tracker still starting, which holds it until it serves) would make the email seem sent that much later:
 * the extension sends again a registration answered more slowly than this (delivery.ts). A send time is therefore late
 * by at most CLOCK_TOLERANCE_MS + REQUEST_TRANSIT_MAX_MS (the tracker's SENT_AT_LATE_MAX_MS, db/signals.ts), unless
 * the tracker was slow at every send of the outbox's first attempts: the last one (delivery.ts SLOW_ATTEMPTS) goes on
 * with its slow answer, and that send time may be later still.
 */
export const REQUEST_TRANSIT_MAX_MS = 2_000;
/**
 * How many of an account's keys before its current one `GET /api/account` answers (`earlierKeys`, docs/protocol.md §2):
 * a browser connecting again takes them up, so a compose window opened before a rotation, a disconnect or a switch to
 * another account can still sign its links with the key its id names. Rotation is made by hand
 * (`POST /api/account/keys`), so ten are more than a compose window's life sees; each is one HMAC to derive.
 */
export const EARLIER_KEYS_MAX = 10;
