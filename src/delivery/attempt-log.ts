import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';

export interface AttemptRecord {
  endpointId: string;
  tenantId: string;
  eventId: string;
  deliveryId: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  outcome: 'delivered' | 'failed' | 'skipped';
  latencyMs: number;
  responseBody: string | null;
  attemptedAt: Date;
}

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
  private buffer: AttemptRecord[] = [];
  private flushing = false;
  private timer?: NodeJS.Timeout;
  private retentionTimer?: NodeJS.Timeout;
  dropped = 0;
  written = 0;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.retentionTimer = setInterval(() => void this.prune(), 3_600_000);
  }

  append(record: AttemptRecord): void {
    this.buffer.push(record);
    if (this.buffer.length > MAX_BUFFER) {
      const excess = this.buffer.length - MAX_BUFFER;
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
  }

  pending(): number {
    return this.buffer.length;
  }

  async flush(): Promise<void> {
    if (this.flushing || this.buffer.length === 0) return;
    this.flushing = true;
    try {
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, MAX_BATCH);
        await this.insert(batch);
        this.buffer.splice(0, batch.length);
        this.written += batch.length;
      }
    } catch (error) {
      this.logger.warn(
        { err: error, buffered: this.buffer.length },
        'attempt log write failed; keeping rows buffered',
      );
    } finally {
      this.flushing = false;
    }
  }

  private async insert(batch: AttemptRecord[]): Promise<void> {
    const columns = 11;
    const values: unknown[] = [];
    const rows = batch.map((r, i) => {
      values.push(
        r.endpointId,
        r.tenantId,
        r.eventId,
        r.deliveryId,
        r.attempt,
        r.statusCode,
        r.error,
        r.outcome,
        r.latencyMs,
        r.responseBody,
        r.attemptedAt,
      );
      const base = i * columns;
      return `(${Array.from({ length: columns }, (_, c) => `$${base + c + 1}`).join(',')})`;
    });
    await this.dataSource.query(
      `INSERT INTO delivery_attempts (endpoint_id, tenant_id, event_id, delivery_id, attempt, status_code, error,
         outcome, latency_ms, response_body, attempted_at) VALUES ${rows.join(',')}`,
      values,
    );
  }

  private async prune(): Promise<void> {
    const cutoff = new Date(Date.now() - this.config.attemptRetentionMs);
    await this.dataSource
      .query(`DELETE FROM delivery_attempts WHERE attempted_at < $1`, [cutoff])
      .catch((error: unknown) => this.logger.warn({ err: error }, 'attempt log retention failed'));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    await this.flush();
  }
}
