// Gmail's own traffic, read for the Gmail tabs: the page world passes on what Gmail answers (page-world/sync-xhr.ts)
// or writes into the page (gmail-data.ts) as text, the content script hands it here, and gets back what it needs of it,
// parsed by page-world/sync-parser.ts (pure functions, tested on real payloads). Read here, the parsing costs the
// content script, which every Gmail tab loads, nothing of its 30 KiB (docs/benchmarks.md, the sizes). Spread into
// handlers.ts's Gmail table, so messaging.ts types the calls like every other.
import { z } from "zod";
import {
  answeredSends,
  type ListedThread,
  parseEmbeddedThreadList,
  parseGmailJson,
  parseThreadList,
  type SentMessageIds,
  type UntrackedSend,
} from "../page-world/sync-parser";
import { handler } from "./handler";

export const gmailTrafficHandlers = {
  /**
   * The sends of a request Gmail answered ("mt:gmail-send-answered"): with the ids Gmail gave each, those that carry a
   * tracking id and those that carry none (compose-tracking.ts registers the first and checks the others). Text
   * that is no send reads as none.
   */
  readGmailSend: handler(
    z.object({ request: z.string(), response: z.string() }),
    async ({ request, response }): Promise<{ tracked: SentMessageIds[]; untracked: UntrackedSend[] }> =>
      answeredSends(parseGmailJson(request), parseGmailJson(response)),
  ),

  /**
   * The threads of one of Gmail's thread lists, with their messages' ids and senders (replies-bounces.ts): its answer
   * to a list (`/sync/u/N/i/bv`, "mt:gmail-list-answered"), or, `embedded`, the page's first list, which Gmail wrote
   * into the page ("mt:gmail-list-embedded"). Text that is no such list reads as no thread.
   */
  readGmailList: handler(
    z.object({ text: z.string(), embedded: z.boolean() }),
    async ({ text, embedded }): Promise<ListedThread[]> =>
      embedded ? parseEmbeddedThreadList(parseGmailJson(text)) : parseThreadList(parseGmailJson(text)),
  ),
};
