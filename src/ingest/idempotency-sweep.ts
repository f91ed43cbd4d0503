import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { ABANDONED_CLAIM_AFTER_MS } from '../domain/idempotency';
import { PeriodicPass } from '../common/periodic-pass';
import { ThrottledWarning } from '../common/throttled-warning';
import { IdempotencyKeys } from './idempotency-keys.repository';

/** Rows one DELETE removes: short statements, so a sweep never holds many locks or a long transaction. */
const BATCH = 5_000;
/** Batches one pass deletes at most; the rest waits for the next pass. */
const MAX_BATCHES_PER_PASS = 20;

/**
 * Deletes expired idempotency keys in batches on every replica that serves the API (the ones that
 * write them). Sweeps of several replicas skip each other's locked rows, so they split the work.
 * Expiry does not wait for the sweep: a claim takes an expired row over by itself.
 */
@Injectable()
export class IdempotencySweep implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly passes: PeriodicPass;

  constructor(
    @Inject(IdempotencyKeys) private readonly keys: Pick<IdempotencyKeys, 'deleteExpired'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.passes = new PeriodicPass(
      () => this.pass(),
      new ThrottledWarning(logger, 'idempotency key sweep failed; retrying next pass'),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.roles.has('api')) return;
    // Every minute, or sooner for a window shorter than that (tests), so rows outlive it by little.
    const everyMs = Math.min(60_000, this.config.idempotencyWindowMs);
    this.passes.start(everyMs);
  }

  /** Deletes expired rows a batch at a time until a batch comes back short; returns how many. */
  async pass(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS; batch++) {
      const deleted = await this.keys.deleteExpired(
        this.config.idempotencyWindowMs,
        BATCH,
        ABANDONED_CLAIM_AFTER_MS,
      );
      total += deleted;
      if (deleted < BATCH) break;
    }
    return total;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.passes.stop();
  }
}
