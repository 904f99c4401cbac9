// The one reading of a Gmail message id both sides key replies and notices by: the extension when it reads them from
// the page (content/thread-signals.ts), the tracker when it compares them with the ids of the emails it registered.
// No import: Node loads this file as it is (the bench's simulated Gmail, through test/e2e/gmail-sim/google.ts), and
// Node's own TypeScript resolves no import without its extension.

/** The longest Gmail thread or message id, without its optional leading "#". */
export const GMAIL_ID_MAX = 100;
/** A Gmail thread or message id as the page shows it: "16f4…", "thread-f:…", "msg-a:r-…", without Gmail's "#". */
export const GMAIL_ID = new RegExp(`^[A-Za-z0-9:_-]{1,${GMAIL_ID_MAX}}$`);
/** The same with Gmail's optional leading "#": what the tracker's API and the extension's background take. */
export const GMAIL_ID_WITH_HASH = new RegExp(`^#?[A-Za-z0-9:_-]{1,${GMAIL_ID_MAX}}$`);
/** A thread's legacy id, hex: the one the tracker keys a conversation by (a sync id "thread-f:<decimal>" converts to it). */
export const LEGACY_THREAD_ID = /^[0-9a-f]{1,32}$/;

/**
 * A Gmail message id as the tracker should key it, the same in every view: the legacy hex id; "msg-f:<decimal>" is
 * the same number in decimal. Client-side ids ("msg-a:r…", the sender's own unsynced drafts) are not stable: null.
 */
export function stableMessageId(raw: string | null | undefined): string | null {
  const id = (raw ?? "").trim().replace(/^#/, "");
  if (/^[0-9a-f]{6,32}$/.test(id)) return id;
  const decimal = /^msg-f:([0-9]{1,30})$/.exec(id)?.[1];
  return decimal ? BigInt(decimal).toString(16) : null;
}

/** Before Gmail: an id that decodes earlier is not a Gmail server id. */
const GMAIL_LAUNCH_MS = Date.UTC(2004, 0, 1);

/**
 * When Gmail's servers received a message, from its legacy hex id, in any UI language: the id is that time in
 * milliseconds shifted left by 20 bits. In the 2022-09-09-cvOnSend capture (InboxSDK's test data) message
 * 183234eaadcf41e5 carries the internal date 1662744701660, which is 0x183234eaadcf41e5 >> 20; the message ids of
 * Gmail's 2005 inbox data ("Hacking Gmail", Wiley 2006, listing 5-11) decode to the dates listed beside them.
 * Null for an id that decodes to no time since Gmail began.
 */
export function messageReceivedAt(legacyId: string): number | null {
  if (!/^[0-9a-f]{12,16}$/.test(legacyId)) return null;
  const at = Number(BigInt(`0x${legacyId}`) >> 20n);
  return at >= GMAIL_LAUNCH_MS ? at : null;
}
