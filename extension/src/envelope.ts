// The envelope every message of the extension travels in, and the one message a tab is asked whether the content
// script runs in it. Apart from messaging.ts, which types the handlers' messages from the background's own code: this
// file imports nothing, so the end-to-end tests send the same ping the background sends.
export interface Envelope {
  mt: 1;
  type: string;
  input: unknown;
}

export function isEnvelope(value: unknown): value is Envelope {
  return !!value && typeof value === "object" && (value as Envelope).mt === 1 && typeof (value as Envelope).type === "string";
}

/**
 * What the background asks a tab (tabs.sendMessage) to learn whether this extension's content script runs in it now;
 * the script answers true (content/features/gmail-health.ts). A tab reloaded while the script could not start there
 * has none to answer.
 */
export const CONTENT_PING: Envelope = { mt: 1, type: "contentScriptRunning", input: null };

export function isContentPing(message: unknown): boolean {
  return isEnvelope(message) && message.type === CONTENT_PING.type;
}
