// Replacing the account's API token (the options page's "Replace the API token") so that no lost answer locks the rep
// out. This browser makes the new token (shared/api-token.ts newApiToken) and keeps it as the credentials' pending
// token BEFORE it asks the tracker (POST /api/account/token) to put it in place of the old one. When the answer does
// not arrive (a timeout, a dropped connection, a server error), the new token is tried: accepted, it becomes the token;
// refused while the old one is still accepted, nothing changed. A pending token left by a background that stopped
// meanwhile is settled the same way at the next start (index.ts), when the tracker refuses the old token, and on Test
// connection. The rep is told in words which it was.
import { newApiToken } from "../../../shared/api-token";
import { serialRunner } from "../serial";
import { errorText } from "../words";
import { TrackerError, trackerApi } from "./api";
import { loadCredentials, updateCredentials } from "./credential-store";
import type { Credentials } from "./credentials";

/**
 * How long a pending token refused while the old one works is kept, and sent again by a new replacement rather than
 * a fresh one: a request carrying it may still be on its way and put it in place (the call gives up after 15 s,
 * api.ts TIMEOUT_MS, while the tracker may still be working on it); a fresh token asked for meanwhile would leave that
 * one free to land, and the rep locked out. Five minutes is our assumption, with room, of how long that can be: a
 * Worker's own limits are not documented as a bound on it. Once older, it is dropped: a token kept for long would
 * outlive the reason it was made (a copy of this browser's store that left with a laptop, say).
 */
export const PENDING_TOKEN_KEPT_MS = 5 * 60_000;

/** What the options page shows after a replacement: the new token, once, and whether this browser keeps it. */
export interface ReplacedToken {
  accountId: string;
  apiToken: string;
  /** False when this browser could not switch to it (`problem` says why): it is still kept as the pending token. */
  kept: boolean;
  problem: string | null;
  /** Why the tracker's answer did not arrive, when the new token was tried instead and works. */
  answerLost: string | null;
}

/** How a pending token was settled. */
export type Settlement =
  | { outcome: "replaced"; apiToken: string; problem: string | null }
  /** The old token still works. `dropped` once no request carrying the pending one can still land (PENDING_TOKEN_KEPT_MS). */
  | { outcome: "not replaced"; dropped: boolean }
  /** Both refused: another browser replaced the token meanwhile. The pending one can never land, and is dropped. */
  | { outcome: "both refused" }
  | { outcome: "not known"; reason: string };

/**
 * Whether a call's answer tells of this browser's token, for tracker-reach.ts: a call made with the stored
 * credentials, except a refusal (401) while a replacement is pending. The tracker may have put the pending token in
 * place a moment ago, and then refuses every call still carrying the old one (the feed poll, a Gmail tab's status read,
 * a registration) until this browser takes the new one up: telling the rep "connect again" then would be false. The
 * settlement the refusal starts (index.ts) decides, and tells the rep when neither token opens the account.
 */
export function tellsOfStoredToken(held: Credentials | null, trackerUrl: string, token: string, refused: boolean): boolean {
  return held?.trackerUrl === trackerUrl && held.apiToken === token && !(refused && held.pendingToken);
}

/** One replacement or settlement at a time: two would each read and write the pending token. */
const oneAtATime = serialRunner();

function withoutPending(credentials: Credentials): Credentials {
  const { pendingToken: _, ...rest } = credentials;
  return rest;
}

/** Whether `token` opens the connected account: true, false (401), or the failure when the tracker did not say. */
async function opens(credentials: Credentials, token: string): Promise<boolean | Error> {
  try {
    return (await trackerApi(credentials.trackerUrl, token).account()).accountId === credentials.accountId;
  } catch (error) {
    if (error instanceof TrackerError && error.status === 401) return false;
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** `apiToken` as this browser's token, the pending one gone; the reason when it could not be stored. */
async function adopt(accountId: string, apiToken: string): Promise<string | null> {
  try {
    await updateCredentials(accountId, (current) => ({ ...withoutPending(current), apiToken }));
    return null;
  } catch (error) {
    console.warn("replaced API token not stored", error);
    return errorText(error);
  }
}

const dropPending = (accountId: string, apiToken: string) =>
  updateCredentials(accountId, (current) => (current.pendingToken?.apiToken === apiToken ? withoutPending(current) : current));

async function settle(now: number): Promise<Settlement | null> {
  const credentials = await loadCredentials();
  const pending = credentials?.pendingToken;
  if (!credentials || !pending) return null;
  const byNew = await opens(credentials, pending.apiToken);
  if (byNew === true)
    return { outcome: "replaced", apiToken: pending.apiToken, problem: await adopt(credentials.accountId, pending.apiToken) };
  if (byNew instanceof Error) return { outcome: "not known", reason: byNew.message };
  const byOld = await opens(credentials, credentials.apiToken);
  if (byOld instanceof Error) return { outcome: "not known", reason: byOld.message };
  if (!byOld) {
    await dropPending(credentials.accountId, pending.apiToken);
    return { outcome: "both refused" };
  }
  const dropped = now - pending.askedAt >= PENDING_TOKEN_KEPT_MS;
  if (dropped) await dropPending(credentials.accountId, pending.apiToken);
  return { outcome: "not replaced", dropped };
}

/** Settles the pending token, if there is one (null when there is none). */
export function settlePendingToken(now: () => number = Date.now): Promise<Settlement | null> {
  return oneAtATime(() => settle(now()));
}

/** What the rep is told of a settlement made without them waiting on it (a notification), or null for nothing new. */
export function settlementNote(settled: Settlement | null): { title: string; message: string } | null {
  if (settled?.outcome === "replaced")
    return {
      title: "API token replaced",
      message: settled.problem
        ? `The API token replacement you asked for went through, but this browser could not switch to the new token (${settled.problem}): it tries again when it restarts. Open the extension's options.`
        : "The API token replacement you asked for went through: this browser uses the new token now. Connect your other browsers with it: the extension's options show it (Show the API token).",
    };
  if (settled?.outcome === "not replaced" && settled.dropped)
    return {
      title: "API token not replaced",
      message:
        "The API token replacement you asked for did not go through: this browser's token still works. Replace it again from the extension's options if you still want to.",
    };
  if (settled?.outcome === "both refused")
    return {
      title: "API token refused",
      message:
        "The tracker refuses this browser's API token and the new one it asked for: another browser may have replaced it. Connect again with the token it shows, in the extension's options.",
    };
  return null;
}

/** What a replacement whose answer did not arrive came to, once the tokens were tried. */
async function afterNoAnswer(error: unknown, accountId: string, apiToken: string, now: number): Promise<ReplacedToken> {
  const reason = errorText(error);
  // Refused as asked (the token's format): refused whenever it is sent, so it can never land.
  if (error instanceof TrackerError && error.status === 400) {
    await dropPending(accountId, apiToken);
    throw new Error(`the token was not replaced (${reason}); this browser's token still works`);
  }
  const settled = await settle(now);
  if (settled?.outcome === "replaced")
    return { accountId, apiToken, kept: settled.problem === null, problem: settled.problem, answerLost: reason };
  if (settled?.outcome === "not replaced") throw new Error(`the token was not replaced (${reason}); this browser's token still works`);
  if (settled?.outcome === "both refused")
    throw new Error(
      `the tracker refuses this browser's API token and the new one (${reason}): another browser may have replaced it. Connect again with the token it shows`,
    );
  throw new Error(
    `the tracker did not answer (${reason}${settled ? `; then ${settled.reason}` : ""}), so whether it replaced the token is not known yet. This browser keeps the new token and tries it when the tracker answers: press Test connection then`,
  );
}

/**
 * Replaces the connected account's API token (handlers.ts replaceApiToken, once the rep confirmed). A pending token
 * from an earlier replacement is settled first, and sent again if it may still land (PENDING_TOKEN_KEPT_MS). The
 * signing keys stay: the tracker does not change them.
 */
export function replaceApiToken(now: () => number = Date.now): Promise<ReplacedToken> {
  return oneAtATime(async () => {
    await settle(now());
    const credentials = await loadCredentials();
    if (!credentials) throw new Error("this browser holds no API token");
    const { accountId, trackerUrl, apiToken: oldToken } = credentials;
    const apiToken = credentials.pendingToken?.apiToken ?? newApiToken(accountId);
    try {
      await updateCredentials(accountId, (current) => ({ ...current, pendingToken: { apiToken, askedAt: now() } }));
    } catch (error) {
      throw new Error(
        `the token was not replaced: this browser could not keep a new one (${errorText(error)}), so the tracker was not asked. This browser's token still works`,
      );
    }
    try {
      await trackerApi(trackerUrl, oldToken).replaceToken(apiToken);
    } catch (error) {
      return afterNoAnswer(error, accountId, apiToken, now());
    }
    const problem = await adopt(accountId, apiToken);
    return { accountId, apiToken, kept: problem === null, problem, answerLost: null };
  });
}
