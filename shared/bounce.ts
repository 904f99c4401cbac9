// Delivery-failure notices ("bounces"): who sends them, whether one is hard or soft, and which addresses bounced.
// Pure functions on the notice's visible text, so the extension (which reads them in Gmail) and the tracker (which
// could read them from anywhere else) classify the same way. Tested on real notice texts in bounce.test.ts.
//
// Hard: the address can never receive mail (does not exist, domain not found, permanent rejection): the address
// goes on the suppression list. Soft: worth trying again later (mailbox full, over quota, temporary failure,
// message too large, delayed). Mailbox-full and too-large notices carry 5.x.x codes (552 5.2.2, 552 5.3.4) but are
// soft by convention, so the specific wording is read before the generic status code.

import type { BounceKind } from "./api";
import { normalizeEmail } from "./email";

export type { BounceKind };

/** Local parts of the addresses notices come from (mailer-daemon@googlemail.com, postmaster@…, MAILER-DAEMON@…). */
const DAEMON_LOCAL_PARTS = /^(mailer-daemon|postmaster|mail-daemon|maildaemon)$/i;

/**
 * Whether a message from this address is a delivery-failure notice: by its address alone. A display name is whatever
 * its sender typed, and one who replies in a tracked thread as "Mail Delivery Subsystem" from their own address is
 * replying. (A postmaster@ address of their own domain still passes: the tracker records a notice only for the
 * addresses its email was sent to, docs/protocol.md §10.)
 */
export function isBounceSender(email: string | null | undefined): boolean {
  const address = normalizeEmail(email ?? "");
  return address.includes("@") && DAEMON_LOCAL_PARTS.test(address.slice(0, address.lastIndexOf("@")));
}

/**
 * Characters of a notice's text that the extension's content script hands its background, which classifies it:
 * far more than any notice's failure part, which comes first.
 */
export const MAX_NOTICE_CHARS = 20_000;

/** Wording that means the address or its domain can never receive mail. */
const HARD_SPECIFIC: RegExp[] = [
  /address not found/i,
  /does ?n[o']t exist/i,
  /couldn[’']t be found|could not be found|can ?not be found/i,
  /no such (user|mailbox|recipient|address|domain)/i,
  /(user|recipient|mailbox|address) (unknown|not found|does not exist|is unknown|unavailable)/i,
  /unknown (user|recipient|mailbox|address)/i,
  /(domain|host) (name )?(not found|invalid|does not exist|couldn[’']t be found)/i,
  /invalid (domain|recipient|address|mailbox)/i,
  /(account|mailbox)( that you tried to reach)? (has been |is )?(disabled|deactivated|closed|suspended)/i,
  /\b5\.1\.(1|2|3|6|10)\b|\b5\.2\.1\b/,
  /\b5\.4\.[14]\b/,
];

/** Wording that means the failure is temporary or about this one message. */
const SOFT_SPECIFIC: RegExp[] = [
  /mailbox (is )?full|inbox (is )?full|over (the )?quota|quota (exceeded|exceed)|exceeded (the )?(storage|quota)|insufficient (storage|space)/i,
  /\btoo large\b|too big|size (exceeds|limit)|exceeds (the )?(maximum|size|fixed)/i,
  /temporar(y|ily)/i,
  /try again later|will (retry|try again)|will keep trying|retry for/i,
  /delivery (incomplete|delayed|status notification \(delay\))|\bdelayed\b|has not (yet )?been delivered/i,
  /rate limit|too many (messages|recipients|connections)|greylist/i,
  /\b5\.2\.[23]\b|\b5\.3\.4\b/,
  /\b4\.\d{1,3}\.\d{1,3}\b/,
  /\b4[25]\d[ -]/,
];

/** Permanent failures whose reason is not one of the above (policy rejections, blocks). */
const HARD_GENERIC: RegExp[] = [
  /\b5\.\d{1,3}\.\d{1,3}\b/,
  /\b55\d[ -]/,
  /permanent(ly)? (error|failure|fatal|reject)|fatal error|rejected|blocked|message (was )?(blocked|refused)/i,
];

/**
 * Hard or soft, from a notice's visible text (subject and body). A text that reads like no delivery failure at
 * all still answers "soft": the caller only asks about messages from a mail daemon, and an address is never
 * suppressed on unclear evidence (the tracker turns repeated soft bounces into a hard one).
 */
export function classifyBounce(text: string): BounceKind {
  const t = text.replace(/\s+/g, " ");
  if (HARD_SPECIFIC.some((re) => re.test(t))) return "hard";
  if (SOFT_SPECIFIC.some((re) => re.test(t))) return "soft";
  if (HARD_GENERIC.some((re) => re.test(t))) return "hard";
  return "soft";
}

const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** Addresses a notice names that are never the bounced recipient (Google's help links, the daemon itself). */
const NOT_RECIPIENT = /^(mailer-daemon|postmaster|mail-daemon|maildaemon|noreply|no-reply)@/i;

/**
 * The addresses that bounced. With the tracked email's recipients known, the ones the notice names (a notice
 * always names the address it failed on); else every address in the notice but the daemon's and `exclude`d ones
 * (the sender's own).
 */
export function bouncedAddresses(text: string, options: { recipients?: readonly string[]; exclude?: readonly string[] } = {}): string[] {
  const found = [...new Set((text.match(EMAIL) ?? []).map((e) => e.toLowerCase().replace(/\.$/, "")))];
  const recipients = (options.recipients ?? []).map(normalizeEmail);
  if (recipients.length > 0) {
    const named = recipients.filter((r) => found.includes(r));
    if (named.length > 0) return [...new Set(named)];
  }
  const exclude = new Set((options.exclude ?? []).map(normalizeEmail));
  return found.filter((e) => !NOT_RECIPIENT.test(e) && !exclude.has(e) && !/@(google|googlemail)\.com$/.test(e));
}
