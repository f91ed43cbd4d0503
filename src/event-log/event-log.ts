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
import { retryUntilDone } from '../domain/retry-loop';
import { isTransientError } from '../domain/transient';
import { EventsRepository, type EventRecord } from './events.repository';

/** Rows gather this long before an insert, unless a full batch is waiting. */
const FLUSH_INTERVAL_MS = 250;
const MAX_BATCH = 1000;
/** Most bytes in one insert: a batch of large events goes out in several. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** What a row costs in memory besides its texts (UTF-16) and data bytes. */
const ROW_OVERHEAD_BYTES = 300;
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 10_000;
const RETENTION_BATCH = 5_000;
/** Rows moved to txid 1 per statement after a restore into another cluster. */
const REHOME_BATCH = 5_000;
/** Retention runs every half retention period, between these bounds. */
const PRUNE_EVERY_MIN_MS = 1_000;
const PRUNE_EVERY_MAX_MS = 3_600_000;

const sizeOf = (row: EventRecord): number =>
  ROW_OVERHEAD_BYTES +
  (row.data?.length ?? 0) +
  2 *
    (row.eventId.length + row.type.length + row.source.length + (row.subject?.length ?? 0) + row.time.length);

/**
 * Writes the events feed to PostgreSQL behind the fan-out, in batches: the fan-out never waits for
 * the database, and an outage costs feed rows (counted), never a delivery. README decision 40.
 *
 * Unlike the attempt log, a failed insert is retried in place with backoff rather than queued
 * again behind newer rows: one insert at a time, in fan-out order, keeps the feed in publish order.
 * Meanwhile the buffer grows up to HOOKSTREAM_EVENTS_BUFFER, past which the oldest rows are dropped
 * (counted). A batch PostgreSQL refuses because of a row's data is split until that row is found
 * and dropped (counted); the rest is written.
 */
@Injectable()
export class EventLog implements OnModuleInit, OnApplicationShutdown {
  private readonly rows: GroupCommit<EventRecord>;
  private readonly writeFailed: ThrottledWarning;
  private readonly written: Counter;
  private readonly dropped: Counter<'reason'>;
  private readonly pruned: Counter;
  private readonly oldestAge: Gauge;
  private retentionTimer?: NodeJS.Timeout;
  private pruning = false;
  private stopping = false;

  constructor(
    @Inject(EventsRepository)
    private readonly events: Pick<
      EventsRepository,
      'insert' | 'deleteOlderThan' | 'oldestReceivedAt' | 'rehomeIfRestored'
    >,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.writeFailed = new ThrottledWarning(logger, 'events feed write failed; retrying, rows stay buffered');
    this.rows = new GroupCommit<EventRecord>({
      maxInFlight: 1,
      maxBatchItems: MAX_BATCH,
      maxBatchBytes: MAX_BATCH_BYTES,
      lingerMs: FLUSH_INTERVAL_MS,
      // The batch being written counts too: retried in place while PostgreSQL is down, it is held.
      maxHeldBytes: config.events.bufferBytes,
      sizeOf,
      write: (batch) => this.write(batch),
      // Only once shutting down: until then `write` retries transient failures itself.
      onWriteFailed: (rows) => this.dropped.inc({ reason: 'shutdown' }, rows.length),
      onDropped: () => this.dropped.inc({ reason: 'buffer_full' }),
    });
    this.written = new Counter({
      name: 'hookstream_events_feed_written_total',
      help: 'Events written to the events feed (an id already stored counts too; it keeps its first row)',
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'hookstream_events_feed_dropped_total',
      help: 'Events left out of the events feed, and why (buffer_full, unstorable, shutdown)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.pruned = new Counter({
      name: 'hookstream_events_feed_pruned_total',
      help: 'Events deleted from the events feed by retention (HOOKSTREAM_EVENTS_RETENTION)',
      registers: [registry],
    });
    this.oldestAge = new Gauge({
      name: 'hookstream_events_feed_oldest_age_seconds',
      help:
        'Age of the oldest event the feed keeps, as of the last retention run; above ' +
        'HOOKSTREAM_EVENTS_RETENTION plus a run interval means retention is failing',
      registers: [registry],
    });
    const rows = this.rows;
    new Gauge({
      name: 'hookstream_events_feed_buffered_bytes',
      help: 'Estimated memory of events waiting to be written to the feed or being written',
      registers: [registry],
      collect() {
        this.set(rows.heldBytes());
      },
    });
  }

  async onModuleInit(): Promise<void> {
    // Before the fan-out writes a row or a reader lists one (README decision 98, restore).
    const moved = await this.events.rehomeIfRestored(REHOME_BATCH).catch((error: unknown) => {
      // A host that refuses pg_control_system() (some managed services) must not stop the boot.
      this.logger.warn({ err: error }, 'could not check whether the events feed was restored elsewhere');
      return 0;
    });
    if (moved > 0) {
      this.logger.warn(
        { rows: moved },
        'events feed restored from another cluster: its rows moved to txid 1, so the feed lists them again',
      );
    }
    const every = Math.min(
      PRUNE_EVERY_MAX_MS,
      Math.max(PRUNE_EVERY_MIN_MS, this.config.events.retentionMs / 2),
    );
    this.retentionTimer = setInterval(() => void this.prune(), every);
  }

  append(record: EventRecord): void {
    this.rows.add(record);
  }

  /** Inserts the batch, retrying while the failure is transient; rows PostgreSQL refuses are dropped. */
  private async write(batch: EventRecord[]): Promise<void> {
    try {
      await retryUntilDone(() => this.events.insert(batch), {
        baseDelayMs: RETRY_BASE_MS,
        maxDelayMs: RETRY_MAX_MS,
        stopped: (error) => !isTransientError(error) || this.stopping,
        onRetry: (error) => this.writeFailed.warn(error, this.clock.now()),
      });
      this.written.inc(batch.length);
    } catch (error) {
      if (isTransientError(error)) throw error; // shutting down: onWriteFailed counts them
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.write(batch.slice(0, half));
        await this.write(batch.slice(half));
        return;
      }
      this.dropped.inc({ reason: 'unstorable' });
      this.logger.warn(
        { err: error, eventId: batch[0].eventId, tenantId: batch[0].tenantId },
        'events feed row refused by PostgreSQL; dropped',
      );
    }
  }

  private async prune(): Promise<void> {
    if (this.pruning) return;
    this.pruning = true;
    const cutoff = new Date(this.clock.now() - this.config.events.retentionMs);
    try {
      this.pruned.inc(await this.events.deleteOlderThan(cutoff, RETENTION_BATCH));
      const oldest = await this.events.oldestReceivedAt();
      this.oldestAge.set(oldest === null ? 0 : Math.max(0, (this.clock.now() - oldest.getTime()) / 1000));
    } catch (error) {
      this.logger.warn({ err: error }, 'events feed retention failed; next run retries');
    } finally {
      this.pruning = false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.stopping = true;
    await this.rows.drain();
  }
}
