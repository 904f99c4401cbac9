// The one reading of a Gmail message id both sides key replies and notices by: the extension when it reads them from
// the page (content/thread-signals.ts), the tracker when it compares them with the ids of the emails it registered.

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
