import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { FeedCursor, TypeFilter } from '../domain/event-feed';

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
      return `(${Array.from({ length: COLUMNS }, (_, c) => `$${base + c + 1}`).join(',')})`;
    });
    await this.dataSource.query(
      `INSERT INTO events (tenant_id, event_id, type, source, subject, time, received_at, data)
       VALUES ${rows.join(',')} ON CONFLICT (tenant_id, event_id) DO NOTHING`,
      values,
    );
  }

  /**
   * A page of the feed, oldest first, after `after`. Only rows whose writing transaction is older
   * than every transaction still running are listed: one still writing may hold a smaller txid,
   * and listing past it would let its rows appear behind the caller's cursor once it commits.
   */
  async page(query: FeedQuery): Promise<StoredEvent[]> {
    // Conditions are left out rather than written `$n IS NULL OR ...`, which the planner cannot
    // turn into index bounds: a deep page would scan the tenant's feed from its start.
    const values: unknown[] = [query.tenantId];
    const param = (value: unknown): string => {
      values.push(value);
      return `$${values.length}`;
    };
    const where = ['tenant_id = $1', 'txid < pg_snapshot_xmin(pg_current_snapshot())'];
    if (query.after) {
      where.push(`(txid, seq) > (${param(query.after.txid)}::xid8, ${param(query.after.seq)}::bigint)`);
    }
    if (!query.types.all) {
      where.push(
        `(type = ANY(${param(query.types.exact)}::text[])
          OR EXISTS (SELECT 1 FROM unnest(${param(query.types.prefixes)}::text[]) AS p(prefix)
                      WHERE starts_with(type, p.prefix) AND length(type) > length(p.prefix)))`,
      );
    }
    if (query.from) where.push(`received_at >= ${param(query.from)}`);
    if (query.to) where.push(`received_at < ${param(query.to)}`);
    const rows = await this.dataSource.query<EventRow[]>(
      `SELECT ${SELECTED} FROM events WHERE ${where.join(' AND ')} ORDER BY txid, seq LIMIT ${param(query.limit)}`,
      values,
    );
    return rows.map(toStored);
  }

  async findOne(tenantId: string, eventId: string): Promise<StoredEvent | null> {
    const [row] = await this.dataSource.query<EventRow[]>(
      `SELECT ${SELECTED} FROM events WHERE tenant_id = $1 AND event_id = $2`,
      [tenantId, eventId],
    );
    return row === undefined ? null : toStored(row);
  }

  /**
   * Deletes the oldest rows received before `cutoff`, `batchSize` at a time, each batch its own
   * statement so no long transaction holds the feed's horizon back. Rows go in seq order, which
   * follows received_at closely: it stops at the first batch holding a row still kept.
   */
  async deleteOlderThan(cutoff: Date, batchSize: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [{ deleted: batchDeleted, seen }] = await this.dataSource.query<
        Array<{ deleted: number; seen: number }>
      >(
        `WITH oldest AS (SELECT seq, received_at FROM events ORDER BY seq LIMIT $2),
              gone AS (DELETE FROM events e USING oldest o
                        WHERE e.seq = o.seq AND o.received_at < $1 RETURNING 1)
         SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM oldest)::int AS seen`,
        [cutoff, batchSize],
      );
      deleted += batchDeleted;
      if (batchDeleted < seen || seen < batchSize) return deleted;
    }
  }
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
