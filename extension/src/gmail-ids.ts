// Gmail's thread ids in the forms the extension meets: legacy hex ("16f4…", in rows and URLs) and
// "thread-f:<decimal>" (the same number in decimal, in rows' data-thread-id). Used by the content script and the
// background (to open a thread from a notification).

/** The hex legacy id of a thread id the tracker holds: "16f4…" as is, "thread-f:<decimal>" converted; else null. */
export function legacyThreadId(threadId: string): string | null {
  const id = threadId.replace(/^#/, "");
  if (/^[0-9a-f]{1,32}$/.test(id)) return id;
  const decimal = /^thread-f:([0-9]{1,30})$/.exec(id)?.[1];
  return decimal ? BigInt(decimal).toString(16) : null;
}

/** The Gmail address that opens a thread (any folder), or the Sent list when the id is of no known form. */
export function gmailThreadUrl(threadId: string | null): string {
  const legacy = threadId ? legacyThreadId(threadId) : null;
  return legacy ? `https://mail.google.com/mail/u/0/#all/${legacy}` : "https://mail.google.com/mail/u/0/#sent";
}
