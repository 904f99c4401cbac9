// The Sent list's status cache: tracked messages per thread, one batched request per page of the thread list,
// answered from memory for a short while.
import type { MessageStatus } from "../../../shared/api";
import { GMAIL_ID_WITH_HASH } from "../../../shared/gmail-message-id";
import { threadIdsOf } from "../gmail-ids";

export const STATUS_TTL_MS = 20_000;
/** The tracker takes at most 200 thread ids per status request. */
const STATUS_BATCH = 200;

export class StatusCache {
  private readonly entries = new Map<string, { at: number; messages: MessageStatus[] }>();
  /** Counts invalidations; `invalidated` holds the count at each thread's latest one (`everything` for all). */
  private changes = 0;
  private everything = 0;
  private readonly invalidated = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = STATUS_TTL_MS,
  ) {}

  /**
   * Every tracked message of these threads; only ids not cached (or expired) are asked for, in as few requests as
   * possible. An answer for a thread invalidated while it was asked for is returned but not kept: it may predate
   * what invalidated it (a registration just delivered).
   */
  async get(threadIds: string[], fetchStatus: (threadIds: string[]) => Promise<MessageStatus[]>): Promise<MessageStatus[]> {
    const ids = [...new Set(threadIds.filter((id) => GMAIL_ID_WITH_HASH.test(id)))].slice(0, 1000);
    const now = this.now();
    const missing = ids.filter((id) => {
      const entry = this.entries.get(id);
      return !entry || now - entry.at > this.ttlMs;
    });
    const answers = new Map<string, MessageStatus[]>();
    for (let i = 0; i < missing.length; i += STATUS_BATCH) {
      const chunk = missing.slice(i, i + STATUS_BATCH);
      const asked = this.changes;
      const messages = await fetchStatus(chunk);
      for (const id of chunk) answers.set(id, []);
      // A message answers for its thread by either id asked: the legacy one, or Gmail's sync id (syncThreadId).
      for (const message of messages) for (const id of new Set(threadIdsOf(message))) answers.get(id)?.push(message);
      const at = this.now();
      for (const id of chunk) {
        if (Math.max(this.everything, this.invalidated.get(id) ?? 0) <= asked)
          this.entries.set(id, { at, messages: answers.get(id) ?? [] });
      }
    }
    // A row asking by both of its thread's ids gets each message once.
    const result = new Map(ids.flatMap((id) => answers.get(id) ?? this.entries.get(id)?.messages ?? []).map((m) => [m.id, m]));
    if (this.entries.size > 5000) this.invalidate();
    return [...result.values()];
  }

  invalidate(threadIds?: Iterable<string>): void {
    const change = ++this.changes;
    if (!threadIds) {
      this.entries.clear();
      this.invalidated.clear();
      this.everything = change;
    } else {
      const named = new Set(threadIds);
      // News name a thread by its legacy id; a thread asked for by its sync id alone is cached under that one.
      for (const [id, entry] of this.entries) if (entry.messages.some((m) => m.threadId !== null && named.has(m.threadId))) named.add(id);
      for (const id of named) {
        this.entries.delete(id);
        this.invalidated.set(id, change);
      }
      // Bounded: forgetting which threads were invalidated is safe when it counts as invalidating them all.
      if (this.invalidated.size > 5000) {
        this.invalidated.clear();
        this.everything = change;
      }
    }
  }
}
