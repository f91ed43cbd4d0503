import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { decodeTask, type AttemptState } from '../domain/delivery-task';
import { GroupCommit } from '../domain/group-commit';
import { beforeDeadline, sharedDeadline, type QueryDeadline } from '../database/query-deadline';

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
 * How long a release's claim on its rows lasts. Past it (the process died, or the hand-on still
 * runs) another release takes them again: a second copy (same delivery id), never none. Well above
 * a Kafka write that retries (about 30 s) so a slow one is not doubled.
 */
export const HELD_CLAIM_LEASE_MS = 120_000;
/** Rows no release holds a live claim on. */
const UNCLAIMED = `(claimed_until IS NULL OR claimed_until < now())`;

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
  private readonly inserts = new GroupCommit<{ request: HoldRequest; deadline: QueryDeadline }>({
    maxInFlight: MAX_WRITES_IN_FLIGHT,
    maxBatchItems: MAX_ROWS_PER_WRITE,
    lingerMs: HOLD_LINGER_MS,
    write: (batch) => this.insert(batch),
  });

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Resolves once the row is committed; rejects if it was not (the caller then uses a retry tier).
   * `deadline`: when the caller stops waiting; an insert whose every hold has one has its connection
   * destroyed once the latest passes (see {@link sharedDeadline}).
   */
  hold(request: HoldRequest, deadline: QueryDeadline = null): Promise<void> {
    return this.inserts.submit({ request, deadline });
  }

  /**
   * A delivery already held is held once. One a release has claimed (handed on, or about to be) is
   * unclaimed and takes the newer task and state: it was handed on and turned away again before the
   * release deleted it, and the release's delete, which takes only rows still under its claim, then
   * leaves it held instead of taking the only copy. Twice in one batch is once (an upsert may not
   * change a row it inserted itself).
   */
  private async insert(holds: Array<{ request: HoldRequest; deadline: QueryDeadline }>): Promise<void> {
    const batch = holds.map((hold) => hold.request);
    const deadline = sharedDeadline(holds.map((hold) => hold.deadline));
    await beforeDeadline(this.dataSource, deadline, (manager) =>
      manager.query(
        `INSERT INTO held_deliveries (endpoint_id, published_at_ms, task, state, delivery_id)
       SELECT DISTINCT ON (endpoint_id, delivery_id) *
         FROM unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::jsonb[], $5::text[])
              AS held (endpoint_id, published_at_ms, task, state, delivery_id)
       ON CONFLICT (endpoint_id, delivery_id) DO UPDATE
         SET task = EXCLUDED.task, state = EXCLUDED.state, claim = NULL, claimed_until = NULL
         WHERE held_deliveries.claim IS NOT NULL`,
        [
          batch.map((request) => request.endpointId),
          batch.map((request) =>
            Number.isSafeInteger(request.publishedAtMs) ? request.publishedAtMs : Date.now(),
          ),
          batch.map((request) => request.task),
          batch.map((request) => JSON.stringify(request.state)),
          batch.map((request) => request.deliveryId),
        ],
      ),
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
   * it resolves (see {@link handOnClaimed}): a crash in between leaves them held (handed on twice at
   * worst, never lost). Rows another release has claimed are skipped.
   */
  release(
    endpointId: string,
    limit: number,
    handOn: (held: HeldDelivery[]) => Promise<void>,
  ): Promise<number> {
    return this.handOnClaimed(
      `endpoint_id = $1 ORDER BY published_at_ms, id LIMIT $2`,
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
    return this.handOnClaimed(
      `(state->>'firstAttemptAtMs')::bigint < $1 ORDER BY id LIMIT $2`,
      [cutoffMs, limit],
      handOn,
    );
  }

  /**
   * Claims the selected rows (skipping rows claimed or locked elsewhere), hands them on, then deletes
   * those still under this claim: three short transactions, none open across the hand-on (a Kafka
   * write that may retry for 30 s), whose xid would hold the events feed's horizon back for every
   * tenant (README decision 40). A failed hand-on gives the claim back, so the rows go on the next
   * pass; if that too fails, the claim runs out after HELD_CLAIM_LEASE_MS.
   */
  private async handOnClaimed(
    selection: string,
    params: unknown[],
    handOn: (held: HeldDelivery[]) => Promise<void>,
  ): Promise<number> {
    const claim = randomUUID();
    const rows = await this.claim(selection, params, claim);
    if (rows.length === 0) return 0;
    try {
      await handOn(rows.map((row) => ({ endpointId: row.endpoint_id, task: row.task, state: row.state })));
    } catch (error) {
      // The hand-on's failure is what the caller acts on; a claim not given back runs out.
      await this.dataSource
        .query(`UPDATE held_deliveries SET claim = NULL, claimed_until = NULL WHERE claim = $1`, [claim])
        .catch(() => undefined);
      throw error;
    }
    await this.dataSource.query(`DELETE FROM held_deliveries WHERE claim = $1`, [claim]);
    return rows.length;
  }

  /**
   * Claims the rows `selection` picks among the unclaimed, in its order. Only as many as fit
   * {@link MAX_HANDED_ON_BYTES} are read into memory at once (at least one): a tenant's held tasks
   * can be 256 KiB each, and a batch of 500 of those is 128 MB.
   */
  private claim(selection: string, params: unknown[], claim: string): Promise<HeldRow[]> {
    return this.dataSource.transaction(async (manager) => {
      const candidates = await manager.query<Array<{ id: string; bytes: number }>>(
        `SELECT id, octet_length(task) AS bytes FROM held_deliveries
          WHERE ${UNCLAIMED} AND ${selection} FOR UPDATE SKIP LOCKED`,
        params,
      );
      const ids: string[] = [];
      let bytes = 0;
      for (const row of candidates) {
        if (ids.length > 0 && bytes + row.bytes > MAX_HANDED_ON_BYTES) break;
        ids.push(row.id);
        bytes += row.bytes;
      }
      if (ids.length === 0) return [];
      const [claimed] = await manager.query<[HeldRow[], number]>(
        `UPDATE held_deliveries
            SET claim = $2, claimed_until = now() + $3 * interval '1 millisecond'
          WHERE id = ANY($1::bigint[])
         RETURNING id, endpoint_id, task, state`,
        [ids, claim, HELD_CLAIM_LEASE_MS],
      );
      const order = new Map(ids.map((id, index) => [id, index]));
      return claimed.sort((a, b) => (order.get(String(a.id)) ?? 0) - (order.get(String(b.id)) ?? 0));
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
