import { foldForSearch } from "../../../shared/search";
import { MAX_BOUND_BYTES } from "./sql";

/** A recipient's searched text: name and address in one string, so one substring test finds either. */
export function recipientSearchText(name: string | null | undefined, email: string): string {
  return foldForSearch(name ? `${name} ${email}` : email);
}

/**
 * A bound on the JSON each fold binds, in UTF-16 code units, each at most 3 bytes in UTF-8: MAX_BOUND_BYTES at most.
 * Each row goes into it twice (as read, and folded). The rows left over are folded at the next run.
 */
const MAX_BOUND_CHARS = MAX_BOUND_BYTES / 3;

/** The first of `rows`, in order, whose JSON fits MAX_BOUND_CHARS (about: each is counted twice, as the fold sends it). */
function withinBound<T>(rows: T[]): T[] {
  let chars = 0;
  const kept: T[] = [];
  for (const row of rows) {
    chars += 2 * JSON.stringify(row).length;
    if (chars > MAX_BOUND_CHARS) break;
    kept.push(row);
  }
  return kept;
}

/** Folds the messages of the JSON array ?1 (`{ id, subject, text }`): the list first, each row by its key. */
export const FOLD_MESSAGES_SQL = `UPDATE messages SET search_text = value ->> '$.text' FROM json_each(?)
  WHERE messages.id = value ->> '$.id' AND messages.subject = value ->> '$.subject' AND messages.search_text IS NULL`;

/** Folds the recipients of the JSON array ?1 (`{ messageId, email, name, text }`): the list first, each row by its key. */
export const FOLD_RECIPIENTS_SQL = `UPDATE message_recipients SET search_text = value ->> '$.text' FROM json_each(?)
  WHERE message_recipients.message_id = value ->> '$.messageId' AND message_recipients.email = value ->> '$.email'
    AND message_recipients.name IS value ->> '$.name' AND message_recipients.search_text IS NULL`;

/**
 * Folds the search text (foldForSearch) of the rows stored without it: those of migration 0018 with a character beyond
 * ASCII, which SQL cannot fold, and any a worker still running the code before it wrote while it was deployed. Until
 * then the search does not find them. The indexes of migration 0018 list exactly these rows, so a run reads only
 * them, and none once all are done. A row is folded only if it still holds the text read: a registration or a deletion
 * in between wrote its own (or cleared it), and a fold of the text it replaced must not land on it. At most `rows` rows
 * of each table (messages, message_recipients); returns how many it folded.
 */
export async function foldStoredSearchText(db: D1Database, rows: number): Promise<number> {
  const [messages, recipients] = await db.batch([
    db.prepare("SELECT id, subject FROM messages WHERE search_text IS NULL AND subject IS NOT NULL LIMIT ?").bind(rows),
    db.prepare("SELECT message_id, email, name FROM message_recipients WHERE search_text IS NULL LIMIT ?").bind(rows),
  ]);
  const subjects = withinBound((messages?.results ?? []) as { id: string; subject: string }[]);
  const names = withinBound((recipients?.results ?? []) as { message_id: string; email: string; name: string | null }[]);
  const statements: D1PreparedStatement[] = [];
  if (subjects.length > 0)
    statements.push(
      db
        .prepare(FOLD_MESSAGES_SQL)
        .bind(JSON.stringify(subjects.map(({ id, subject }) => ({ id, subject, text: foldForSearch(subject) })))),
    );
  if (names.length > 0)
    statements.push(
      db
        .prepare(FOLD_RECIPIENTS_SQL)
        .bind(
          JSON.stringify(
            names.map(({ message_id, email, name }) => ({ messageId: message_id, email, name, text: recipientSearchText(name, email) })),
          ),
        ),
    );
  if (statements.length === 0) return 0;
  const results = await db.batch(statements);
  return results.reduce((sum, result) => sum + result.meta.changes, 0);
}
