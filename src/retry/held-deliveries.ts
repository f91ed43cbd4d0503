import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decodeTask, type AttemptState } from '../domain/delivery-task';
import { GroupCommit } from '../domain/group-commit';

export interface HeldDelivery {
  endpointId: string;
  /** The task exactly as it was encoded (the Kafka record's value). */
  task: Buffer;
  state: AttemptState;
}

/** What a caller holds: the task's encoded bytes, as read from Kafka or about to be written to it. */
export interface HoldRequest {
  endpointId: string;
  /** The task's delivery id: a delivery held twice (a fan-out batch retried) is one row. */
  deliveryId: string;
  /** The event's publish time: held deliveries are released oldest event first. */
  publishedAtMs: number;
  task: Buffer;
  state: AttemptState;
}

type HeldRow = { id: string; endpoint_id: string; task: Buffer; state: AttemptState };

/** Inserts in flight at once; holds made meanwhile wait and go out together in the next. */
const MAX_WRITES_IN_FLIGHT = 2;
const MAX_ROWS_PER_WRITE = 1000;
/**
 * How long a hold waits for others before its insert goes out. Without it, holds came a few at a
 * time (a hanging endpoint's share of each small fan-out batch) and each took its own transaction:
 * the noisy-neighbour bench measured 300-480 transactions a second for 500-600 held rows, on the
 * thread and the database every tenant shares (README decision 68). Only the held tasks' own batch
 * waits for it: the fan-out keeps working through its partition window meanwhile.
 */
const HOLD_LINGER_MS = 10;
/** Most bytes of held tasks read back into memory in one hand-on. */
const MAX_HANDED_ON_BYTES = 4 * 1024 * 1024;

/**
 * Deliveries waiting in PostgreSQL, one row each, while their endpoint cannot take them (its circuit
 * is open or its lane hangs): README decision 22. A held delivery costs one batched insert, where a
 * retry tier would re-read and re-write it each time it came due and was turned away again. The
 * only reader and writer of `held_deliveries`.
 *
 * Holds made within HOLD_LINGER_MS of each other, or while inserts are out, go out together in one
 * insert (group commit); each caller's promise settles with the insert its row went out in.
 */
@Injectable()
export class HeldDeliveries {
  private readonly inserts = new GroupCommit<HoldRequest>({
    maxInFlight: MAX_WRITES_IN_FLIGHT,
    maxBatchItems: MAX_ROWS_PER_WRITE,
    lingerMs: HOLD_LINGER_MS,
    write: (batch) => this.insert(batch),
  });

  constructor(private readonly dataSource: DataSource) {}

  /** Resolves once the row is committed; rejects if it was not (the caller then uses a retry tier). */
  hold(request: HoldRequest): Promise<void> {
    return this.inserts.submit(request);
  }

  private async insert(batch: HoldRequest[]): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO held_deliveries (endpoint_id, published_at_ms, task, state, delivery_id)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::jsonb[], $5::text[])
       ON CONFLICT (endpoint_id, delivery_id) DO NOTHING`,
      [
        batch.map((request) => request.endpointId),
        batch.map((request) =>
          Number.isSafeInteger(request.publishedAtMs) ? request.publishedAtMs : Date.now(),
        ),
        batch.map((request) => request.task),
        batch.map((request) => JSON.stringify(request.state)),
        batch.map((request) => request.deliveryId),
      ],
    );
  }

  /** Endpoints with held deliveries: a loose index scan, one index probe per endpoint, not per row. */
  async endpoints(): Promise<string[]> {
    const rows = await this.dataSource.query<Array<{ endpoint_id: string }>>(`
      WITH RECURSIVE held (endpoint_id) AS (
        (SELECT endpoint_id FROM held_deliveries ORDER BY endpoint_id LIMIT 1)
        UNION ALL
        SELECT (SELECT h.endpoint_id FROM held_deliveries h
                WHERE h.endpoint_id > held.endpoint_id ORDER BY h.endpoint_id LIMIT 1)
        FROM held WHERE held.endpoint_id IS NOT NULL
      )
      SELECT endpoint_id FROM held WHERE endpoint_id IS NOT NULL`);
    return rows.map((row) => row.endpoint_id);
  }

  /**
   * Hands the endpoint's oldest held deliveries (at most `limit`, oldest event first, so a delivery
   * held again after a failed probe keeps its place at the head) to `handOn` and deletes them once
   * it resolves, in one transaction: a crash before the commit leaves them held (handed on twice at
   * worst, never lost). Rows another instance is releasing are skipped.
   */
  release(
    endpointId: string,
    limit: number,
    handOn: (held: HeldDelivery[]) => Promise<void>,
  ): Promise<number> {
    return this.handOnLocked(
      `WHERE endpoint_id = $1 ORDER BY published_at_ms, id LIMIT $2`,
      [endpointId, limit],
      handOn,
    );
  }

  /**
   * Hands on (as {@link release} does) held deliveries first turned away before `cutoffMs`, whatever
   * their endpoint's state: the engine then dead-letters them for their age. A scan of the table, so
   * it runs far less often than the release.
   */
  releaseExpired(
    cutoffMs: number,
    limit: number,
    handOn: (held: HeldDelivery[]) => Promise<void>,
  ): Promise<number> {
    return this.handOnLocked(
      `WHERE (state->>'firstAttemptAtMs')::bigint < $1 ORDER BY id LIMIT $2`,
      [cutoffMs, limit],
      handOn,
    );
  }

  /**
   * Locks the selected rows (skipping rows locked elsewhere), deletes them and hands them on, in one
   * transaction. Only
   * as many as fit {@link MAX_HANDED_ON_BYTES} are read into memory at once (at least one): a
   * tenant's held tasks can be 256 KiB each, and a batch of 500 of those is 128 MB.
   */
  private handOnLocked(
    where: string,
    params: unknown[],
    handOn: (held: HeldDelivery[]) => Promise<void>,
  ): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const locked = await manager.query<Array<{ id: string; bytes: number }>>(
        `SELECT id, octet_length(task) AS bytes FROM held_deliveries ${where} FOR UPDATE SKIP LOCKED`,
        params,
      );
      const ids: string[] = [];
      let bytes = 0;
      for (const row of locked) {
        if (ids.length > 0 && bytes + row.bytes > MAX_HANDED_ON_BYTES) break;
        ids.push(row.id);
        bytes += row.bytes;
      }
      if (ids.length === 0) return 0;
      // Deleted before they are handed on, in this transaction: a delivery handed on and held
      // again before the commit (its tier record read at once, its endpoint still down) then waits
      // for the commit and is inserted anew. Deleted after, its insert met the row still there and
      // did nothing (one row per delivery id), and the delete then took the only copy.
      const deleted = await manager.query<[HeldRow[], number]>(
        `DELETE FROM held_deliveries WHERE id = ANY($1::bigint[]) RETURNING id, endpoint_id, task, state`,
        [ids],
      );
      const order = new Map(ids.map((id, index) => [id, index]));
      const rows = deleted[0].sort((a, b) => (order.get(String(a.id)) ?? 0) - (order.get(String(b.id)) ?? 0));
      // A failed hand-on rolls the delete back: the rows stay held.
      await handOn(rows.map((row) => ({ endpointId: row.endpoint_id, task: row.task, state: row.state })));
      return rows.length;
    });
  }

  /**
   * Deletes every held delivery of an endpoint that no longer exists; returns how many. Handing
   * them back would cost each a tier record, a read and a lookup only to be dropped.
   */
  async discard(endpointId: string): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ count: number }>>(
      `WITH gone AS (DELETE FROM held_deliveries WHERE endpoint_id = $1 RETURNING 1)
       SELECT count(*)::int AS count FROM gone`,
      [endpointId],
    );
    return row.count;
  }

  /** Which of `endpointIds` hold a delivery of event `eventId` (`GET /v1/events/:id`). */
  async endpointsHolding(endpointIds: string[], eventId: string): Promise<Set<string>> {
    return endpointsWithTask(this.dataSource, 'held_deliveries', endpointIds, eventId);
  }

  /** How many deliveries each of `endpointIds` holds (those holding none are left out). */
  async countsFor(endpointIds: string[]): Promise<Map<string, number>> {
    if (endpointIds.length === 0) return new Map();
    const rows = await this.dataSource.query<Array<{ endpoint_id: string; count: number }>>(
      `SELECT endpoint_id, count(*)::int AS count FROM held_deliveries
        WHERE endpoint_id = ANY($1::uuid[]) GROUP BY endpoint_id`,
      [endpointIds],
    );
    return new Map(rows.map((row) => [row.endpoint_id, row.count]));
  }

  async count(): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM held_deliveries`,
    );
    return row.count;
  }
}

/**
 * The endpoints among `endpointIds` with a row of `table` whose task is of event `eventId`. Tasks
 * are bytes (README decision 25): the bytes are searched for the task's own `"eventId":...` text,
 * each candidate then decoded, since the event's data could hold that text too. One endpoint's rows
 * are read through its index; nothing indexes the event, a price paid only by this lookup.
 */
export async function endpointsWithTask(
  dataSource: DataSource,
  table: 'held_deliveries' | 'parked_deliveries',
  endpointIds: string[],
  eventId: string,
): Promise<Set<string>> {
  if (endpointIds.length === 0) return new Set();
  const needle = Buffer.from(`"eventId":${JSON.stringify(eventId)}`);
  const rows = await dataSource.query<Array<{ endpoint_id: string; task: Buffer }>>(
    `SELECT endpoint_id, task FROM ${table} WHERE endpoint_id = ANY($1::uuid[]) AND position($2::bytea IN task) > 0`,
    [endpointIds, needle],
  );
  const found = new Set<string>();
  for (const row of rows) {
    try {
      if (decodeTask(row.task).eventId === eventId) found.add(row.endpoint_id);
    } catch {
      // A task that does not decode is not this event's.
    }
  }
  return found;
}
