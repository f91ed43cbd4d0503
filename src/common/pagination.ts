/** Items per page when a list request gives no `limit`. */
export const DEFAULT_PAGE_SIZE = 20;

/** Position after the last row of a page, ordered by (a timestamp, id). Opaque to clients. */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

/**
 * The years a cursor's date may fall in. Every cursor this service issues holds a row's `now()`;
 * PostgreSQL cannot hold years before 4713 BC (a 22008 error, a 500), which JavaScript dates reach
 * (±271821), so a forged date outside the years any row can have is refused before the query.
 */
const FIRST_CURSOR_YEAR = 1;
const LAST_CURSOR_YEAR = 9999;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids of rows keyed by a bigint sequence (the attempt log). */
export const SEQUENCE_ID = /^\d{1,19}$/;

export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url');
}

/** null when `text` is not a cursor this service issued (ids are uuids unless `idPattern` says otherwise). */
export function decodeCursor(text: string, idPattern: RegExp = UUID): PageCursor | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [createdAt, id] = parsed as unknown[];
    if (typeof createdAt !== 'string' || typeof id !== 'string' || !idPattern.test(id)) return null;
    const date = new Date(createdAt);
    if (Number.isNaN(date.getTime())) return null;
    const year = date.getUTCFullYear();
    if (year < FIRST_CURSOR_YEAR || year > LAST_CURSOR_YEAR) return null;
    return { createdAt: date, id };
  } catch {
    return null;
  }
}

/**
 * A cursor whose timestamp is PostgreSQL's text of it (ISO 8601 UTC, up to microseconds), for rows
 * whose `created_at` is set by the database (`now()`, microseconds): a JavaScript Date keeps only
 * milliseconds, and a cursor holding one would skip the rows later in the same millisecond. A cursor
 * of {@link encodeCursor} (milliseconds) still reads as one.
 */
export interface ExactPageCursor {
  /** `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. */
  createdAt: string;
  id: string;
}

const EXACT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

export function encodeExactCursor(cursor: ExactPageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

/** null when `text` is not a cursor this service issued, or names a time that is not a real date. */
export function decodeExactCursor(text: string): ExactPageCursor | null {
  const cursor = decodeCursor(text);
  if (cursor === null) return null;
  const [createdAt] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [string];
  // The seconds as JavaScript reads them again: refuses a 30 February, which PostgreSQL would fail on.
  if (!EXACT_TIME.test(createdAt) || cursor.createdAt.toISOString().slice(0, 19) !== createdAt.slice(0, 19)) {
    return null;
  }
  return { createdAt, id: cursor.id };
}
