import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { GroupCommit, GroupCommitOverflow } from '../domain/group-commit';
import { AttemptsRepository, type AttemptRecord } from './attempts.repository';

export type { AttemptRecord } from './attempts.repository';

/** Rows gather this long before an insert, unless a full batch is waiting. */
const FLUSH_INTERVAL_MS = 250;
const MAX_BATCH = 1000;
/** While PostgreSQL is down the log buffers this many attempts, then drops the oldest (counted). */
const MAX_BUFFER = 100_000;

/**
 * Writes delivery attempts to PostgreSQL in batches, off the hot path: a delivery never waits for
 * the database, and a database outage costs at most the oldest buffered log rows, never a delivery.
 */
@Injectable()
export class AttemptLog implements OnModuleInit, OnApplicationShutdown {
  private readonly rows = new GroupCommit<AttemptRecord>({
    maxInFlight: 1,
    maxBatchItems: MAX_BATCH,
    lingerMs: FLUSH_INTERVAL_MS,
    maxQueued: MAX_BUFFER,
    write: (batch) => this.attempts.insert(batch),
  });
  private readonly writeFailed: ThrottledWarning;
  private retentionTimer?: NodeJS.Timeout;
  private stopping = false;
  dropped = 0;

  constructor(
    private readonly attempts: AttemptsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.writeFailed = new ThrottledWarning(logger, 'attempt log write failed; keeping rows buffered');
  }

  onModuleInit(): void {
    this.retentionTimer = setInterval(() => void this.prune(), 3_600_000);
  }

  append(record: AttemptRecord): void {
    this.rows.submit(record).catch((error: unknown) => {
      if (error instanceof GroupCommitOverflow) {
        this.dropped += 1;
        return;
      }
      this.writeFailed.warn(error, this.clock.now());
      // Kept for the next write; past the bound the oldest rows are dropped instead.
      if (!this.stopping) this.append(record);
    });
  }

  pending(): number {
    return this.rows.queued() + this.rows.inFlight();
  }

  private async prune(): Promise<void> {
    const cutoff = new Date(this.clock.now() - this.config.attemptRetentionMs);
    await this.attempts
      .deleteOlderThan(cutoff)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'attempt log retention failed'));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.stopping = true;
    await this.rows.drain();
  }
}
