/**
 * The events feed's pure parts: its cursor, its type filter and the delivery state of one event at
 * one endpoint (README decision 40).
 */

/**
 * A position in a tenant's feed: after the row written by transaction `txid` with sequence `seq`.
 * Rows are listed in (txid, seq) order, which only grows for rows a reader has not seen yet.
 */
export interface FeedCursor {
  txid: string;
  seq: string;
}

/**
 * Which way a read walks the feed: `oldest` first (the feed pollers keep a cursor in), or `newest`
 * first, paging back towards the oldest kept (the portal's latest events). A cursor of one order
 * is no position in the other.
 */
export const FEED_ORDERS = ['oldest', 'newest'] as const;
export type FeedOrder = (typeof FEED_ORDERS)[number];

/** Decimal integers without a sign or leading zeros: `txid` is an xid8 (unsigned 64-bit), `seq` a bigint. */
const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const XID8_MAX = 18_446_744_073_709_551_615n;
/** PostgreSQL's bigint is signed: a larger `seq` would fail the query (22003), not find no rows. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;
const CURSOR_VERSION = 'e1';

/** Opaque to clients: base64url of a small JSON array, versioned so the key can change later. */
export function encodeFeedCursor(cursor: FeedCursor): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, cursor.txid, cursor.seq])).toString('base64url');
}

/** null when `text` is not a cursor this service issued. */
export function decodeFeedCursor(text: string): FeedCursor | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== CURSOR_VERSION) return null;
  const [, txid, seq] = parsed as unknown[];
  if (!isDecimalUpTo(txid, XID8_MAX) || !isDecimalUpTo(seq, BIGINT_MAX)) return null;
  return { txid, seq };
}

function isDecimalUpTo(value: unknown, max: bigint): value is string {
  return typeof value === 'string' && DECIMAL.test(value) && BigInt(value) <= max;
}

/**
 * `?types=a.*,b`: the same patterns endpoints subscribe with (subscription-matcher.ts), split for
 * SQL: exact types, and prefixes that must be followed by at least one more character. `*` (or no
 * filter) lists every type.
 */
export interface TypeFilter {
  all: boolean;
  exact: string[];
  prefixes: string[];
}

export function parseTypeFilter(patterns: readonly string[]): TypeFilter {
  const cleaned = patterns.map((pattern) => pattern.trim()).filter((pattern) => pattern !== '');
  if (cleaned.length === 0 || cleaned.includes('*')) return { all: true, exact: [], prefixes: [] };
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const pattern of cleaned) {
    if (pattern.endsWith('.*')) prefixes.add(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return { all: false, exact: [...exact], prefixes: [...prefixes] };
}

/**
 * The types a prefix `p.` matches (they start with it and are longer), as a range in byte order:
 * greater than the prefix, and less than it with its last byte raised by one (for `record.`,
 * `record/`), for an index to seek. Prefixes are ASCII: TYPE_PATTERN allows nothing else.
 */
export function prefixRangeOf(prefix: string): { after: string; before: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { after: prefix, before: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

/**
 * A pattern of `?types`: one a subscription could hold (an exact type, `prefix.*` or `*`), in the
 * wider alphabet events' types may use (visible ASCII but `*` and the list's `,`).
 */
export const TYPE_PATTERN = /^(?:\*|[\x21-\x29\x2b\x2d-\x7e]+(?:\.\*)?)$/;

export function isTypePattern(pattern: string): boolean {
  return TYPE_PATTERN.test(pattern);
}

export type DeliveryState = 'pending' | 'retrying' | 'delivered' | 'held' | 'parked' | 'dead_lettered';

/** What the stores know of one event at one endpoint. */
export interface DeliveryFacts {
  /** Attempts from the attempt log, any order: the newest of each outcome is all it needs. */
  attempts: ReadonlyArray<{ outcome: string; attemptedAt: Date }>;
  /** Dead letters of this event at this endpoint. */
  deadLetters: ReadonlyArray<{ createdAt: Date; replayedAt: Date | null }>;
  /** A row in held_deliveries: waiting for the endpoint to take deliveries again. */
  held: boolean;
  /** A row in parked_deliveries: waiting behind a strict endpoint's failing delivery. */
  parked: boolean;
}

/**
 * Where the event stands at the endpoint now. A row that waits (held, parked) says so first: it is
 * the present. Then a dead letter not replayed since. Otherwise only attempts after the latest
 * replay from the DLQ count: one delivered, it is delivered (a later replay may deliver it again);
 * failed ones only, it is in the retry tiers; none, its task is in Kafka, not attempted yet.
 */
export function deliveryStateOf(facts: DeliveryFacts): DeliveryState {
  if (facts.held) return 'held';
  if (facts.parked) return 'parked';
  if (facts.deadLetters.some((deadLetter) => deadLetter.replayedAt === null)) return 'dead_lettered';
  const replayedAtMs = Math.max(
    Number.NEGATIVE_INFINITY,
    ...facts.deadLetters.map((deadLetter) => deadLetter.replayedAt?.getTime() ?? Number.NEGATIVE_INFINITY),
  );
  const since = facts.attempts.filter((attempt) => attempt.attemptedAt.getTime() >= replayedAtMs);
  if (since.some((attempt) => attempt.outcome === 'delivered')) return 'delivered';
  if (since.some((attempt) => attempt.outcome === 'failed')) return 'retrying';
  return 'pending';
}
