import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { GroupCommit } from '../domain/group-commit';
import { isTransientError } from '../domain/transient';
import { AttemptsRepository, type AttemptRecord } from './attempts.repository';

export type { AttemptRecord } from './attempts.repository';

/** Rows gather this long before an insert, unless a full batch is waiting. */
const FLUSH_INTERVAL_MS = 250;
const MAX_BATCH = 1000;
/** What a row costs in memory besides its texts (UTF-16, two bytes a character). */
const ROW_OVERHEAD_BYTES = 400;

/** Waits after consecutive transient failures: 250 ms, doubling, at most 5 s. */
const FAILURE_BACKOFF_BASE_MS = 250;
const FAILURE_BACKOFF_MAX_MS = 5_000;

const sizeOf = (row: AttemptRecord): number =>
  ROW_OVERHEAD_BYTES +
  2 *
    ((row.responseBody?.length ?? 0) +
      (row.error?.length ?? 0) +
      (row.webhookSignature?.length ?? 0) +
      row.eventId.length);

/** A transient failure part-way through a batch: `rows` are those not written yet. */
class RowsNotWritten extends Error {
  constructor(
    readonly rows: AttemptRecord[],
    cause: unknown,
  ) {
    super('attempt-log rows not written', { cause });
  }
}

/**
 * Writes delivery attempts to PostgreSQL in batches, off the hot path: a delivery never waits for
 * the database, and a database outage costs at most some log rows, never a delivery.
 *
 * The buffer is bounded in bytes (HOOKSTREAM_ATTEMPT_LOG_BUFFER), counting the batch being written:
 * past half of it rows are kept without their response body (new ones, and those of a failed write
 * going back), past all of it the oldest rows are dropped; both counted. So an outage costs bodies
 * before it costs rows. A failed write's rows go back ahead of newer ones, being older. A write
 * PostgreSQL refuses because of a row's data is split until the rows that cause it are found; each
 * of those is stored without its texts, or dropped and counted; the rest of the batch is written.
 * Any other failure keeps the rows not written yet for the next write (or, shutting down, drops and
 * counts them), which waits longer after each consecutive failure (250 ms doubling to 5 s) instead
 * of hammering a database that is down.
 */
@Injectable()
export class AttemptLog implements OnModuleInit, OnApplicationShutdown {
  private readonly rows: GroupCommit<AttemptRecord>;
  private readonly writeFailed: ThrottledWarning;
  private readonly degraded: Counter<'what'>;
  private readonly failures: Counter<'kind'>;
  private readonly bufferBytes: number;
  private retentionTimer?: NodeJS.Timeout;
  private firstPruneTimer?: NodeJS.Timeout;
  private stopping = false;
  private droppedAtShutdown = 0;
  private inFlightRows = 0;
  private consecutiveFailures = 0;

  constructor(
    @Inject(AttemptsRepository)
    private readonly attempts: Pick<AttemptsRepository, 'insert' | 'deleteOlderThan'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.bufferBytes = config.limits.attemptLogBufferBytes;
    this.writeFailed = new ThrottledWarning(logger, 'attempt log write failed; keeping rows buffered');
    this.rows = new GroupCommit<AttemptRecord>({
      maxInFlight: 1,
      maxBatchItems: MAX_BATCH,
      lingerMs: FLUSH_INTERVAL_MS,
      // The batch being written is still in memory, so it counts against the budget.
      maxHeldBytes: this.bufferBytes,
      sizeOf,
      write: (batch) => this.write(batch),
      onWriteFailed: (rows, error) => this.keep(rows, error),
      onDropped: () => this.degraded.inc({ what: 'row_dropped_buffer_full' }),
    });
    this.degraded = new Counter({
      name: 'hookstream_attempt_log_degraded_total',
      help: 'Attempt-log rows kept without their response body or texts, or dropped, and why',
      labelNames: ['what'],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'hookstream_write_failures_total',
      help: 'Failed PostgreSQL writes of the attempt log: transient (retried) or caused by the data (isolated)',
      labelNames: ['kind'],
      registers: [registry],
    });
    const rows = this.rows;
    const gauge: Gauge = new Gauge({
      name: 'hookstream_attempt_log_buffered_bytes',
      help: 'Estimated memory of attempt-log rows waiting to be written or being written',
      registers: [registry],
      collect: () => {
        gauge.set(rows.heldBytes());
      },
    });
  }

  onModuleInit(): void {
    // A first pass a minute after boot: a process restarted more often than hourly pruned nothing.
    this.firstPruneTimer = setTimeout(() => void this.prune(), 60_000);
    this.retentionTimer = setInterval(() => void this.prune(), 3_600_000);
  }

  append(record: AttemptRecord): void {
    this.rows.add(this.fitted(record, this.rows.heldBytes()));
  }

  /** The row to hold besides `heldBytes`: without its response body past half of the budget. */
  private fitted(record: AttemptRecord, heldBytes: number): AttemptRecord {
    if (record.responseBody === null || heldBytes + sizeOf(record) <= this.bufferBytes / 2) return record;
    this.degraded.inc({ what: 'response_body_dropped' });
    return { ...record, responseBody: null };
  }

  pending(): number {
    return this.rows.queued() + this.inFlightRows;
  }

  /**
   * Writes one batch, after the backoff that consecutive transient failures call for; a failure
   * rejects with {@link RowsNotWritten}.
   */
  private async write(batch: AttemptRecord[]): Promise<void> {
    this.inFlightRows += batch.length;
    const written = { rows: 0 };
    try {
      if (this.consecutiveFailures > 0 && !this.stopping) {
        const waitMs = Math.min(
          FAILURE_BACKOFF_MAX_MS,
          FAILURE_BACKOFF_BASE_MS * 2 ** Math.min(this.consecutiveFailures - 1, 16),
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
      await this.insertIsolating(batch, written);
      this.consecutiveFailures = 0;
    } catch (error) {
      // Rows are settled in order, so those not written are the tail; only they go back.
      throw new RowsNotWritten(batch.slice(written.rows), error);
    } finally {
      this.inFlightRows -= batch.length;
    }
  }

  /**
   * Inserts the batch; rows whose data PostgreSQL refuses are found and dealt with one by one.
   * `written.rows` counts the rows settled, in order.
   */
  private async insertIsolating(batch: AttemptRecord[], written: { rows: number }): Promise<void> {
    try {
      await this.attempts.insert(batch);
      written.rows += batch.length;
    } catch (error) {
      if (isTransientError(error)) throw error;
      this.failures.inc({ kind: 'data' });
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.insertIsolating(batch.slice(0, half), written);
        await this.insertIsolating(batch.slice(half), written);
        return;
      }
      await this.writeStripped(batch[0], error);
      written.rows += 1;
    }
  }

  /** One row PostgreSQL refused: kept without its response body and error text, or dropped. */
  private async writeStripped(row: AttemptRecord, cause: unknown): Promise<void> {
    const stripped: AttemptRecord = {
      ...row,
      responseBody: null,
      error: row.error === null ? null : 'error text not storable',
    };
    try {
      await this.attempts.insert([stripped]);
      this.degraded.inc({ what: 'row_stored_without_texts' });
    } catch (error) {
      if (isTransientError(error)) throw error;
      this.degraded.inc({ what: 'row_dropped_unstorable' });
      this.logger.warn(
        { err: cause, deliveryId: row.deliveryId, endpointId: row.endpointId, tenantId: row.tenantId },
        'attempt-log row refused by PostgreSQL; dropped',
      );
    }
  }

  /**
   * A transient failure: the rows not written wait for the next write ahead of newer ones, losing
   * their bodies first past half the budget (past all of it, the oldest go).
   */
  private keep(batch: AttemptRecord[], failure: unknown): void {
    const rows = failure instanceof RowsNotWritten ? failure.rows : batch;
    const error = failure instanceof RowsNotWritten ? failure.cause : failure;
    this.failures.inc({ kind: 'transient' });
    this.consecutiveFailures += 1;
    this.writeFailed.warn(error, this.clock.now());
    if (this.stopping) {
      this.degraded.inc({ what: 'row_dropped_shutdown' }, rows.length);
      this.droppedAtShutdown += rows.length;
      return;
    }
    let held = this.rows.heldBytes();
    const kept = rows.map((row) => {
      const fitted = this.fitted(row, held);
      held += sizeOf(fitted);
      return fitted;
    });
    this.rows.addFirst(kept);
  }

  private async prune(): Promise<void> {
    const cutoff = new Date(this.clock.now() - this.config.attemptRetentionMs);
    await this.attempts
      .deleteOlderThan(cutoff)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'attempt log retention failed'));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.retentionTimer);
    clearTimeout(this.firstPruneTimer);
    this.stopping = true;
    await this.rows.drain();
    if (this.droppedAtShutdown > 0)
      this.logger.warn(
        { rows: this.droppedAtShutdown },
        'attempt log: PostgreSQL failing at shutdown; rows not written dropped',
      );
  }
}
