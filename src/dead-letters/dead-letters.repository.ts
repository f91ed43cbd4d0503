import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { decodeTask, encodeTask, type DeliveryTask } from '../domain/delivery-task';
import { isTransientError } from '../domain/transient';
import type { PageCursor } from '../common/pagination';
import type { DeadLetterRow } from '../domain/dead-letter';

/** A dead letter as read back for the API and for replay. */
export type StoredDeadLetter = Omit<DeadLetterRow, 'dlqTopic' | 'dlqPartition' | 'dlqOffset'> & {
  id: string;
  replayedAt: Date | null;
};

/** A dead letter as listed: without its task, which a list never shows and which can be 1 MB a row. */
export type ListedDeadLetter = Omit<StoredDeadLetter, 'task'>;

export interface DeadLetterFilter {
  endpointId?: string;
  since?: Date;
  until?: Date;
}

interface DeadLetterSqlRow {
  id: string;
  tenant_id: string | null;
  endpoint_id: string | null;
  delivery_id: string | null;
  event_id: string | null;
  event_type: string | null;
  reason: string;
  last_error: string | null;
  attempts: number;
  task: Buffer | null;
  created_at: Date;
  replayed_at: Date | null;
}

const LIST_COLUMNS = `id, tenant_id, endpoint_id, delivery_id, event_id, event_type, reason, last_error, attempts,
  created_at, replayed_at`;
const COLUMNS = `${LIST_COLUMNS}, task`;

/**
 * Most task bytes one replay chunk claims and holds in memory: rows stop being added once the chunk's
 * tasks pass it (a chunk always has one row). 1,000 rows of tasks up to about 1.15 MB each were
 * about 1 GB at once, with two jobs a process.
 */
export const REPLAY_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * How long a replay job's claim on a chunk lasts. Past it (the job's process died and the job has
 * not resumed) another job takes the rows: a second copy (same webhook-id), never none. Well above
 * a Kafka write that retries (about 30 s) so a slow one is not doubled.
 */
export const REPLAY_CLAIM_LEASE_MS = 120_000;

/** The advisory lock key of dead-letter retention (pg_try_advisory_xact_lock). */
const RETENTION_LOCK = 'dead_letters:retention';

/** The dead_letters table: the DLQ topic's mirror, listed and replayed per tenant. */
@Injectable()
export class DeadLettersRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a DLQ record once (a re-read after a crash or rebalance is a no-op). Rejects when
   * PostgreSQL cannot be reached, so the consumer hands the record back later.
   */
  async insert(row: DeadLetterRow): Promise<void> {
    try {
      await this.insertRow(row, row.task === null ? null : encodeTask(row.task), row.lastError);
    } catch (error) {
      if (isTransientError(error)) throw error;
      // The task is bytes and the text columns are cleaned, so this should not happen; if it does,
      // keep the row (its reason and position in the DLQ topic, which still holds the record).
      const note = `row not stored whole: ${(error as Error).message}`;
      await this.insertRow(
        { ...row, eventId: null, eventType: null },
        row.task === null ? null : encodeTask(row.task),
        note.slice(0, 1000),
      );
    }
  }

  private async insertRow(row: DeadLetterRow, task: Buffer | null, lastError: string | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO dead_letters (id, tenant_id, endpoint_id, delivery_id, event_id, event_type, reason,
                                 last_error, attempts, dlq_topic, dlq_partition, dlq_offset, task, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO NOTHING`,
      [
        randomUUID(),
        row.tenantId,
        row.endpointId,
        row.deliveryId,
        row.eventId,
        row.eventType,
        row.reason,
        lastError,
        row.attempts,
        row.dlqTopic,
        row.dlqPartition,
        row.dlqOffset,
        task,
        row.createdAt,
      ],
    );
  }

  /** Newest first, keyset-paginated by (created_at, id). */
  async page(
    tenantId: string,
    filter: DeadLetterFilter,
    after: PageCursor | null,
    limit: number,
  ): Promise<ListedDeadLetter[]> {
    const rows = await this.dataSource.query<DeadLetterSqlRow[]>(
      `SELECT ${LIST_COLUMNS}
         FROM dead_letters
        WHERE tenant_id = $1
          AND ($2::uuid IS NULL OR endpoint_id = $2::uuid)
          AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)
          AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)
          AND ($5::timestamptz IS NULL OR (created_at, id) < ($5::timestamptz, $6::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $7`,
      [
        tenantId,
        filter.endpointId ?? null,
        filter.since ?? null,
        filter.until ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        limit,
      ],
    );
    return rows.map(listedFromSql);
  }

  /**
   * Deletes up to `limit` dead letters created before `cutoff`, oldest first, holding an advisory
   * lock for the statement so that one replica's retention runs at a time; null when another
   * replica holds it now (nothing deleted).
   */
  async deleteOlderThan(cutoff: Date, limit: number): Promise<number | null> {
    const [row] = await this.dataSource.query<Array<{ held: boolean; deleted: number }>>(
      `WITH turn AS (SELECT pg_try_advisory_xact_lock(hashtextextended($3, 0)) AS held),
            doomed AS (SELECT id FROM dead_letters
                        WHERE (SELECT held FROM turn) AND created_at < $1
                        ORDER BY created_at LIMIT $2),
            gone AS (DELETE FROM dead_letters d USING doomed WHERE d.id = doomed.id RETURNING 1)
       SELECT (SELECT held FROM turn) AS held, (SELECT count(*) FROM gone)::int AS deleted`,
      [cutoff, limit, RETENTION_LOCK],
    );
    return row.held ? row.deleted : null;
  }

  /** Dead letters not yet replayed of each of the tenant's `endpointIds` (none: left out). */
  async unreplayedCounts(tenantId: string, endpointIds: string[]): Promise<Map<string, number>> {
    if (endpointIds.length === 0) return new Map();
    const rows = await this.dataSource.query<Array<{ endpoint_id: string; count: number }>>(
      `SELECT endpoint_id, count(*)::int AS count FROM dead_letters
        WHERE tenant_id = $1 AND endpoint_id = ANY($2::uuid[]) AND replayed_at IS NULL
        GROUP BY endpoint_id`,
      [tenantId, endpointIds],
    );
    return new Map(rows.map((row) => [row.endpoint_id, row.count]));
  }

  /** Every dead letter of one event of the tenant, oldest first (`GET /v1/events/:id`). */
  /**
   * Where an event's dead letters stand, the newest `limit` of them (each replay to an endpoint that
   * still fails adds one, so the count has no bound of its own), without their task bytes.
   */
  async forEvent(
    tenantId: string,
    eventId: string,
    limit: number,
  ): Promise<Array<Pick<StoredDeadLetter, 'endpointId' | 'createdAt' | 'replayedAt'>>> {
    const rows = await this.dataSource.query<
      Array<Pick<DeadLetterSqlRow, 'endpoint_id' | 'created_at' | 'replayed_at'>>
    >(
      `SELECT endpoint_id, created_at, replayed_at FROM dead_letters
        WHERE tenant_id = $1 AND event_id = $2
        ORDER BY created_at DESC, id DESC
        LIMIT $3`,
      [tenantId, eventId, limit],
    );
    return rows.map((row) => ({
      endpointId: row.endpoint_id,
      createdAt: row.created_at,
      replayedAt: row.replayed_at,
    }));
  }

  /** The newest dead letters of every tenant (the operator's view). */
  async latest(limit: number): Promise<ListedDeadLetter[]> {
    const rows = await this.dataSource.query<DeadLetterSqlRow[]>(
      `SELECT ${LIST_COLUMNS} FROM dead_letters ORDER BY created_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows.map(listedFromSql);
  }

  /**
   * Runs `replay` on one dead letter and marks it replayed when `replay` resolves; null when it
   * does not exist or is not `tenantId`'s (null `tenantId`: any tenant, for operators). No lock and
   * no transaction around `replay` (a Kafka write): an xid held across it would hold the events
   * feed's horizon back (README decision 40). A replay that runs beside another, or beside a job,
   * sends a second copy with the same webhook-id, as a repeated request always has.
   */
  async replayOne(
    tenantId: string | null,
    id: string,
    replay: (deadLetter: StoredDeadLetter) => Promise<void>,
  ): Promise<StoredDeadLetter | null> {
    const rows = await this.dataSource.query<DeadLetterSqlRow[]>(
      `SELECT ${COLUMNS} FROM dead_letters WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)`,
      [id, tenantId],
    );
    if (rows.length === 0) return null;
    const deadLetter = fromSql(rows[0]);
    await replay(deadLetter);
    await this.dataSource.query(`UPDATE dead_letters SET replayed_at = now() WHERE id = $1`, [deadLetter.id]);
    return deadLetter;
  }

  /**
   * Claims for `claimant` (a replay job's id) up to `limit` of an endpoint's not-yet-replayed dead
   * letters with a task, oldest first, dead-lettered no later than `upTo`, and fewer once their tasks
   * pass `maxBytes` (REPLAY_CHUNK_BYTES; at least one row); runs `replay` on them,
   * then marks those still under the claim replayed. Three short transactions, none open across
   * `replay` (a Kafka write that may retry for 30 s), whose xid would hold the events feed's
   * horizon back for every tenant (README decision 40). Rows another job has claimed are skipped
   * while that job runs under a live lease, until its claim runs out (REPLAY_CLAIM_LEASE_MS): a job
   * that skips them and ends leaves them to that job, which replays them, resumed if it crashed.
   * Claims of a job that is no longer running (cancelled, failed, gone) are taken at once, so they
   * are never left behind; the claimant's own, left by a crash, are taken again at once. A failed
   * `replay` gives the claim back.
   */
  async replayBatch(
    claimant: string,
    tenantId: string,
    endpointId: string,
    upTo: Date,
    limit: number,
    replay: (deadLetters: StoredDeadLetter[]) => Promise<void>,
    maxBytes = REPLAY_CHUNK_BYTES,
  ): Promise<number> {
    // octet_length of a stored bytea reads its size from the TOAST pointer, not its bytes.
    const [rows] = await this.dataSource.query<[Array<DeadLetterSqlRow & { position: string }>, number]>(
      `WITH picked AS (
         SELECT id, position FROM (
           SELECT id, row_number() OVER oldest_first AS position,
                  sum(bytes) OVER oldest_first - bytes AS bytes_before
             FROM (
           SELECT id, created_at, dlq_partition, dlq_offset, octet_length(task) AS bytes FROM dead_letters
            WHERE tenant_id = $1 AND endpoint_id = $2 AND replayed_at IS NULL AND task IS NOT NULL
              AND created_at <= $3
              AND (replay_claim IS NULL OR replay_claim = $5 OR replay_claimed_until < now()
                   OR NOT EXISTS (SELECT 1 FROM replay_jobs j
                                   WHERE j.id = dead_letters.replay_claim AND j.state = 'running'
                                     AND j.lease_expires_at > now()))
            ORDER BY created_at, dlq_partition, dlq_offset
            LIMIT $4
            FOR UPDATE SKIP LOCKED) oldest
           WINDOW oldest_first AS (ORDER BY created_at, dlq_partition, dlq_offset, id ROWS UNBOUNDED PRECEDING)) sized
          WHERE position = 1 OR bytes_before < $7)
       UPDATE dead_letters d
          SET replay_claim = $5, replay_claimed_until = now() + $6 * interval '1 millisecond'
         FROM picked
        WHERE d.id = picked.id
       RETURNING d.*, picked.position`,
      [tenantId, endpointId, upTo, limit, claimant, REPLAY_CLAIM_LEASE_MS, maxBytes],
    );
    if (rows.length === 0) return 0;
    const deadLetters = rows.sort((a, b) => Number(a.position) - Number(b.position)).map(fromSql);
    try {
      await replay(deadLetters);
    } catch (error) {
      // The replay's failure is what the job acts on; a claim not given back runs out.
      await this.dataSource
        .query(
          `UPDATE dead_letters SET replay_claim = NULL, replay_claimed_until = NULL
            WHERE replay_claim = $1 AND id = ANY($2::uuid[])`,
          [claimant, deadLetters.map((deadLetter) => deadLetter.id)],
        )
        .catch(() => undefined);
      throw error;
    }
    await this.dataSource.query(
      `UPDATE dead_letters SET replayed_at = now(), replay_claim = NULL, replay_claimed_until = NULL
        WHERE replay_claim = $1 AND id = ANY($2::uuid[])`,
      [claimant, deadLetters.map((deadLetter) => deadLetter.id)],
    );
    return deadLetters.length;
  }
}

function fromSql(row: DeadLetterSqlRow): StoredDeadLetter {
  return { ...listedFromSql(row), task: taskOf(row.task) };
}

function listedFromSql(row: Omit<DeadLetterSqlRow, 'task'>): ListedDeadLetter {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    endpointId: row.endpoint_id,
    deliveryId: row.delivery_id,
    eventId: row.event_id,
    eventType: row.event_type,
    reason: row.reason,
    lastError: row.last_error,
    attempts: row.attempts,
    createdAt: row.created_at,
    replayedAt: row.replayed_at,
  };
}

/** A stored task, or null when the row has none or its bytes no longer decode. */
function taskOf(bytes: Buffer | null): DeliveryTask | null {
  if (bytes === null) return null;
  try {
    return decodeTask(bytes);
  } catch {
    return null;
  }
}
