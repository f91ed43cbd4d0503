import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { PeriodicPass } from '../common/periodic-pass';
import { ThrottledWarning } from '../common/throttled-warning';
import type { Clock } from '../domain/clock';
import { DeadLettersRepository } from './dead-letters.repository';

/** Rows one DELETE removes: each holds a task of up to about 1.15 MB, so a statement stays short. */
const BATCH = 500;
/** Batches one pass deletes at most; the rest waits for the next pass. */
const MAX_BATCHES_PER_PASS = 100;
/** A pass runs every half retention period, between these bounds. */
const EVERY_MIN_MS = 1_000;
const EVERY_MAX_MS = 3_600_000;

/**
 * Deletes dead letters older than HOOKSTREAM_DEAD_LETTER_RETENTION (28 days, as long as the DLQ
 * topic keeps their records) in batches. Every api replica runs a pass; an advisory lock held for
 * each batch's statement lets one replica delete at a time, and a replica that finds it held skips
 * its pass. Without it the table grew by every failing delivery's task, forever (review 8, F3).
 */
@Injectable()
export class DeadLetterRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly pruned: Counter;
  private readonly passes: PeriodicPass;

  constructor(
    @Inject(DeadLettersRepository)
    private readonly deadLetters: Pick<DeadLettersRepository, 'deleteOlderThan'>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.pruned = new Counter({
      name: 'hookstream_dead_letters_pruned_total',
      help: 'Dead letters deleted from PostgreSQL by retention (HOOKSTREAM_DEAD_LETTER_RETENTION)',
      registers: [registry],
    });
    this.passes = new PeriodicPass(
      () => this.pass(),
      new ThrottledWarning(logger, 'dead-letter retention failed; the next pass retries'),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.roles.has('api')) return;
    const every = Math.min(EVERY_MAX_MS, Math.max(EVERY_MIN_MS, this.config.deadLetterRetentionMs / 2));
    this.passes.start(every);
  }

  /**
   * Deletes expired rows a batch at a time until a batch comes back short or another replica holds
   * the turn; returns how many this pass deleted.
   */
  async pass(): Promise<number> {
    const cutoff = new Date(this.clock.now() - this.config.deadLetterRetentionMs);
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS; batch++) {
      const deleted = await this.deadLetters.deleteOlderThan(cutoff, BATCH);
      if (deleted === null) break;
      total += deleted;
      this.pruned.inc(deleted);
      if (deleted < BATCH) break;
    }
    return total;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.passes.stop();
  }
}
