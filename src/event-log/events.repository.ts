import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain-error';
import { prefixRangeOf, type FeedCursor, type FeedOrder, type TypeFilter } from '../domain/event-feed';

/** One event the fan-out accepted, as the feed keeps it. */
export interface EventRecord {
  tenantId: string;
  eventId: string;
  type: string;
  source: string;
  subject: string | null;
  /** The event's own `time`, as delivered (RFC 3339; kept as text, any year the contract allows). */
  time: string;
  receivedAt: Date;
  /** The JSON text of the event's data, as delivered; null when the event has none. */
  data: Buffer | null;
}

export interface StoredEvent extends EventRecord {
  cursor: FeedCursor;
}

export interface FeedQuery {
  tenantId: string;
  /** Oldest first when left out. */
  order?: FeedOrder;
  /** Where the page starts: past this row in `order` (after it oldest first, before it newest first). */
  after: FeedCursor | null;
  types: TypeFilter;
  /** received_at >= from */
  from: Date | null;
  /** received_at < to */
  to: Date | null;
  limit: number;
}

interface EventRow {
  seq: string;
  txid: string;
  tenant_id: string;
  event_id: string;
  type: string;
  source: string;
  subject: string | null;
  time: string;
  received_at: Date;
  data: Buffer | null;
}

const COLUMNS = 8;
const RECEIVED_AT = 6;
/**
 * One page of the feed may run this long (a `SET LOCAL statement_timeout`): the API shares a
 * 10-connection pool with key lookups, ingest and the attempt log, and a read that runs away holds
 * one of them. Past it the caller gets 503 with Retry-After.
 */
const FEED_READ_TIMEOUT_MS = 5_000;
const FEED_READ_RETRY_AFTER_SECONDS = 5;
/** PostgreSQL's query_canceled, which a statement timeout raises. */
const QUERY_CANCELED = '57014';
/**
 * Longest time between an event's `received_at` (the fan-out's clock) and the transaction that
 * writes its row (PostgreSQL's xid order), for the `from`/`to` seeks: the writer flushes every
 * 250 ms and retries at most 10 s apart. A row written later than this by one replica while
 * another replica's newer rows are written may be left out of a `from`/`to` page.
 */
const WRITE_LAG_BOUND = `interval '5 minutes'`;
const SELECTED = `seq, txid::text AS txid, tenant_id, event_id, type, source, subject, time, received_at, data`;

/** The `events` table (the feed): its only reader and writer. */
@Injectable()
export class EventsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** One multi-row insert; an event id already stored for the tenant keeps its first row. */
  async insert(batch: EventRecord[]): Promise<void> {
    const values: unknown[] = [];
    const rows = batch.map((r, i) => {
      // receivedAt as text: pg formats a Date in local time piece by piece, about 1 KB of garbage a row.
      values.push(
        r.tenantId,
        r.eventId,
        r.type,
        r.source,
        r.subject,
        r.time,
        r.receivedAt.toISOString(),
        r.data,
      );
      const base = i * COLUMNS;
      // received_at no later than the database's clock: a replica whose clock runs ahead (booted
      // with a wrong RTC) would write rows that `from=` lists and retention keeps until that date.
      const placeholders = Array.from({ length: COLUMNS }, (_, c) =>
        c === RECEIVED_AT ? `LEAST($${base + c + 1}::timestamptz, now())` : `$${base + c + 1}`,
      );
      return `(${placeholders.join(',')})`;
    });
    await this.dataSource.query(
      `INSERT INTO events (tenant_id, event_id, type, source, subject, time, received_at, data)
       VALUES ${rows.join(',')} ON CONFLICT (tenant_id, event_id) DO NOTHING`,
      values,
    );
  }

  /**
   * A page of the feed in `order`, past `after`. Only rows whose writing transaction is older
   * than every transaction still running are listed: one still writing may hold a smaller txid,
   * and listing past it would let its rows appear behind the caller's cursor once it commits.
   * Newest first lists the same rows, walking the same index backwards from that horizon.
   * Bounded by FEED_READ_TIMEOUT_MS: past it, a DomainError `unavailable` (503, Retry-After).
   */
  async page(query: FeedQuery): Promise<StoredEvent[]> {
    const { sql, values } = feedPageQuery(query);
    try {
      const rows = await this.dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL statement_timeout = ${FEED_READ_TIMEOUT_MS}`);
        return manager.query<EventRow[]>(sql, values);
      });
      return rows.map(toStored);
    } catch (error) {
      if (sqlStateOf(error) !== QUERY_CANCELED) throw error;
      const message =
        `the feed read took longer than ${FEED_READ_TIMEOUT_MS / 1000} s; retry later, or narrow it ` +
        'with from/to or exact types';
      throw new DomainError('unavailable', message, [message], FEED_READ_RETRY_AFTER_SECONDS);
    }
  }

  async findOne(tenantId: string, eventId: string): Promise<StoredEvent | null> {
    const [row] = await this.dataSource.query<EventRow[]>(
      `SELECT ${SELECTED} FROM events WHERE tenant_id = $1 AND event_id = $2`,
      [tenantId, eventId],
    );
    return row === undefined ? null : toStored(row);
  }

  /**
   * Deletes the rows received before `cutoff`, oldest first by `received_at`, `batchSize` at a time,
   * each batch its own statement so no long transaction holds the feed's horizon back. By
   * received_at, not seq: a row received with a clock in the future no longer stops it. Each batch
   * raises its tenants' retention watermark in the same statement, so a reader never sees the rows
   * gone without the watermark that says so.
   */
  async deleteOlderThan(cutoff: Date, batchSize: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [{ deleted: batchDeleted }] = await this.dataSource.query<Array<{ deleted: number }>>(
        `WITH doomed AS (SELECT seq FROM events WHERE received_at < $1 ORDER BY received_at LIMIT $2),
              gone AS (DELETE FROM events e USING doomed d WHERE e.seq = d.seq
                        RETURNING e.tenant_id, e.txid, e.seq),
              marked AS (
                INSERT INTO events_retention AS r (tenant_id, txid, seq)
                SELECT DISTINCT ON (tenant_id) tenant_id, txid, seq FROM gone
                 ORDER BY tenant_id, txid DESC, seq DESC
                ON CONFLICT (tenant_id) DO UPDATE SET txid = EXCLUDED.txid, seq = EXCLUDED.seq
                 WHERE (EXCLUDED.txid, EXCLUDED.seq) > (r.txid, r.seq))
         SELECT count(*)::int AS deleted FROM gone`,
        [cutoff, batchSize],
      );
      deleted += batchDeleted;
      if (batchDeleted < batchSize) return deleted;
    }
  }

  /** When the oldest row kept was received; null for an empty feed. Read through events_received_at_idx. */
  async oldestReceivedAt(): Promise<Date | null> {
    const [row] = await this.dataSource.query<Array<{ oldest: Date | null }>>(
      `SELECT min(received_at) AS oldest FROM events`,
    );
    return row?.oldest ?? null;
  }

  /**
   * What a page read after `after` must tell its reader, read after the page: where the cursor
   * stands in this cluster (see {@link cursorTxid}), and whether retention deleted one of the
   * tenant's rows after it (`gap`): the page then continued past events the caller never saw.
   */
  async cursorState(tenantId: string, after: FeedCursor): Promise<{ cursor: FeedCursor; gap: boolean }> {
    const [row] = await this.dataSource.query<Array<{ txid: string; gap: boolean }>>(
      `WITH c AS (SELECT ${cursorTxid('$2')} AS txid, $3::bigint AS seq)
       SELECT c.txid::text AS txid,
              EXISTS (SELECT 1 FROM events_retention r
                       WHERE r.tenant_id = $1 AND (r.txid, r.seq) > (c.txid, c.seq)) AS gap
         FROM c`,
      [tenantId, after.txid, after.seq],
    );
    return { cursor: { txid: row.txid, seq: after.seq }, gap: row.gap };
  }

  /**
   * After a restore into another cluster (pg_dump, logical replication), the rows' txids come from
   * the old cluster's transaction counter, far ahead of the new one: the feed would hide them until
   * the new counter caught up, months later. When the cluster is not the one recorded, rows whose
   * txid is at or beyond the current snapshot's xmax (no transaction of this cluster wrote them) go
   * to txid 1, `batchSize` at a time in seq order, so a reader sees them appear in the order they
   * are listed; the retention watermarks likewise. Returns the rows moved.
   */
  async rehomeIfRestored(batchSize: number): Promise<number> {
    const [state] = await this.dataSource.query<Array<{ same: boolean | null }>>(
      `SELECT (SELECT system_identifier FROM events_feed_state) = system_identifier::text AS same
         FROM pg_control_system()`,
    );
    if (state?.same === true) return 0;
    let moved = 0;
    let after = '0';
    for (;;) {
      const [batch] = await this.dataSource.query<Array<{ moved: number; last: string | null }>>(
        `WITH batch AS (SELECT seq FROM events
                         WHERE seq > $1 AND txid >= pg_snapshot_xmax(pg_current_snapshot())
                         ORDER BY seq LIMIT $2),
              rewritten AS (UPDATE events e SET txid = '1' FROM batch b WHERE e.seq = b.seq RETURNING e.seq)
         SELECT count(*)::int AS moved, max(seq)::text AS last FROM rewritten`,
        [after, batchSize],
      );
      if (batch.last === null) break;
      moved += batch.moved;
      after = batch.last;
    }
    await this.dataSource.query(
      `UPDATE events_retention SET txid = '1' WHERE txid >= pg_snapshot_xmax(pg_current_snapshot())`,
    );
    await this.dataSource.query(
      `INSERT INTO events_feed_state (system_identifier) SELECT system_identifier::text FROM pg_control_system()
       ON CONFLICT (singleton) DO UPDATE SET system_identifier = EXCLUDED.system_identifier`,
    );
    return moved;
  }
}

/**
 * A cursor's txid as the feed compares it. One at or beyond the snapshot's xmax was not issued by
 * this cluster (every row listed had a txid below the xmin of its reader): it comes from before a
 * restore into another cluster, whose rows were moved to txid 1, so it is read as txid 1. xmax of
 * the snapshot, not pg_current_xact_id(): that would give every reader an xid, and every reader
 * would hold the horizon back for all others.
 */
function cursorTxid(txidParam: string): string {
  return `(CASE WHEN ${txidParam}::xid8 >= pg_snapshot_xmax(pg_current_snapshot()) THEN '1'::xid8
                ELSE ${txidParam}::xid8 END)`;
}

/** The SQL of one feed page and its parameters (exported for the plan tests). */
export function feedPageQuery(query: FeedQuery): { sql: string; values: unknown[] } {
  // Conditions are left out rather than written `$n IS NULL OR ...`, which the planner cannot
  // turn into index bounds: a deep page would scan the tenant's feed from its start.
  const values: unknown[] = [query.tenantId];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const newest = query.order === 'newest';
  const where = ['tenant_id = $1', 'txid < pg_snapshot_xmin(pg_current_snapshot())'];
  if (query.after) {
    where.push(
      `(txid, seq) ${newest ? '<' : '>'} (${cursorTxid(param(query.after.txid))}, ${param(query.after.seq)}::bigint)`,
    );
  }
  if (!query.types.all) where.push(`(${typeCondition(query.types, param)})`);
  if (query.from) {
    // The feed is in txid order, not received_at order: unbounded, the planner walked the feed
    // index from the tenant's first row and read every row received before `from`.
    const from = param(query.from);
    where.push(
      // IS TRUE keeps the planner from reading every row received since `from` through a
      // received_at index and sorting them: the txid bound below already starts the walk there.
      `(received_at >= ${from}) IS TRUE`,
      `txid >= coalesce((SELECT txid FROM events WHERE tenant_id = $1
                            AND received_at < ${from}::timestamptz - ${WRITE_LAG_BOUND}
                          ORDER BY received_at DESC LIMIT 1), '0'::xid8)`,
    );
  }
  if (query.to) {
    const to = param(query.to);
    where.push(
      `(received_at < ${to}) IS TRUE`,
      `txid <= coalesce((SELECT txid FROM events WHERE tenant_id = $1
                            AND received_at >= ${to}::timestamptz + ${WRITE_LAG_BOUND}
                          ORDER BY received_at LIMIT 1), pg_snapshot_xmin(pg_current_snapshot()))`,
    );
  }
  // `events.txid`, not `txid`: that name is the selected text, and ordering by it sorted every row
  // of the tenant by its digits (a seq scan, and '100000' before '99999').
  const direction = newest ? ' DESC' : '';
  const sql = `SELECT ${SELECTED} FROM events WHERE ${where.join(' AND ')}
                ORDER BY events.txid${direction}, events.seq${direction} LIMIT ${param(query.limit)}`;
  return { sql, values };
}

/**
 * `types` as index bounds on events_type_idx (byte order, COLLATE "C"): `type = x` per exact type,
 * and per prefix `p.` the types after it and before `p/`, which are exactly those that start with
 * `p.` and are longer (prefixes always end in `.`, and `/` is the byte after it).
 */
function typeCondition(types: TypeFilter, param: (value: unknown) => string): string {
  const exact = types.exact.map((type) => `type COLLATE "C" = ${param(type)}`);
  const prefixes = types.prefixes.map((prefix) => {
    const { after, before } = prefixRangeOf(prefix);
    return `(type COLLATE "C" > ${param(after)} AND type COLLATE "C" < ${param(before)})`;
  });
  return [...exact, ...prefixes].join(' OR ');
}

function sqlStateOf(error: unknown): unknown {
  return (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
}

function toStored(row: EventRow): StoredEvent {
  return {
    tenantId: row.tenant_id,
    eventId: row.event_id,
    type: row.type,
    source: row.source,
    subject: row.subject,
    time: row.time,
    receivedAt: row.received_at,
    data: row.data,
    cursor: { txid: row.txid, seq: String(row.seq) },
  };
}
