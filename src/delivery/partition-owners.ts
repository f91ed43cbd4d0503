import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { ReplicaRegistry, STALE_AFTER_MS } from '../cluster/replica-registry';

/** How often a replica waiting for a partition looks whether its previous owner released it. */
const POLL_MS = 100;
/**
 * Past the previous owner's attempt timeout, the work it had in flight has answered or timed out;
 * this much more is for settling it (a produce, a write).
 */
const SETTLE_SLACK_MS = 5_000;

/**
 * Who owns each partition index of the delivery consumer group, in `delivery_partitions`: the
 * handover behind endpoint affinity (README decision 36). Kafka moves a partition at a rebalance
 * while its previous owner may still be attempting deliveries there; the new owner waits until
 * the previous one has released it (its work there finished), or is gone (its heartbeat stale),
 * or could have nothing in flight any more (its attempt timeout and some slack have passed).
 */
@Injectable()
export class PartitionOwners {
  private readonly logger: Logger;
  private readonly forced: Counter<'reason'>;
  private readonly graceMs: number;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly replicas: ReplicaRegistry,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'partition-owners' });
    this.graceMs = config.delivery.timeoutMs + SETTLE_SLACK_MS;
    this.forced = new Counter({
      name: 'hookstream_partition_handovers_forced_total',
      help:
        'Delivery partitions taken before their previous owner released them: it outlived the attempt ' +
        'timeout plus slack without releasing (hung), or PostgreSQL could not be asked',
      labelNames: ['reason'],
      registers: [registry],
    });
    // Exported as 0 from the start: a series born at 1 is no increase() to the alert on it.
    for (const reason of ['not_released', 'database_unavailable']) this.forced.inc({ reason }, 0);
  }

  /**
   * Resolves once this replica owns every one of `indexes`: at once for a partition that is free,
   * released, its own, or whose owner is gone; otherwise when its owner releases it, or at the
   * grace deadline, whichever comes first; gives up an index once `stillWanted` says no.
   */
  async acquire(indexes: number[], stillWanted: (index: number) => boolean = () => true): Promise<void> {
    const deadline = Date.now() + this.graceMs;
    const waiting = new Set(indexes);
    for (;;) {
      for (const index of waiting) if (!stillWanted(index)) waiting.delete(index);
      if (waiting.size === 0) return;
      const force = Date.now() >= deadline;
      try {
        const claimed = await this.claim([...waiting], force);
        claimed.forEach((index) => waiting.delete(index));
        if (force && claimed.length > 0) this.startedUnreleased('not_released', claimed);
      } catch (error) {
        if (force) {
          this.startedUnreleased('database_unavailable', [...waiting], error);
          return;
        }
      }
      if (waiting.size === 0 || force) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private startedUnreleased(
    reason: 'not_released' | 'database_unavailable',
    partitions: number[],
    error?: unknown,
  ): void {
    this.forced.inc({ reason }, partitions.length);
    this.logger.warn(
      { partitions, graceMs: this.graceMs, reason, err: error },
      'starting delivery partitions their previous owner has not released',
    );
  }

  /**
   * This replica has finished its work on `indexes`: the next owner may start them. `beforeRelease`
   * runs first with those it still holds, not one a next owner took at its grace deadline (the
   * commit of decision 93 must not set back the offset of a partition its next owner has started).
   */
  async release(indexes: number[], beforeRelease?: (held: number[]) => Promise<void>): Promise<void> {
    if (indexes.length === 0) return;
    if (beforeRelease) {
      const held = await this.dataSource.query<Array<{ partition: number }>>(
        `SELECT partition FROM delivery_partitions
          WHERE consumer_group = $1 AND owner = $2 AND NOT released AND partition = ANY($3::int[])`,
        [this.config.kafka.deliveryGroupId, this.replicas.id, indexes],
      );
      await beforeRelease(held.map((row) => row.partition));
    }
    await this.dataSource.query(
      `UPDATE delivery_partitions SET released = true, changed_at = now()
        WHERE consumer_group = $1 AND owner = $2 AND partition = ANY($3::int[])`,
      [this.config.kafka.deliveryGroupId, this.replicas.id, indexes],
    );
  }

  /** Claims what it may of `indexes` (all of them when `force`); returns the indexes claimed. */
  private async claim(indexes: number[], force: boolean): Promise<number[]> {
    const rows = await this.dataSource.query<Array<{ partition: number }>>(
      `INSERT INTO delivery_partitions AS current (consumer_group, partition, owner)
       SELECT $1, index, $2 FROM unnest($3::int[]) AS index
       ON CONFLICT (consumer_group, partition) DO UPDATE
          SET owner = EXCLUDED.owner, released = false, changed_at = now()
        WHERE $4 OR current.owner = EXCLUDED.owner OR current.released
           OR NOT EXISTS (SELECT 1 FROM replicas
                           WHERE replicas.id = current.owner
                             AND replicas.heartbeat_at > now() - $5 * interval '1 millisecond')
       RETURNING partition`,
      [this.config.kafka.deliveryGroupId, this.replicas.id, indexes, force, STALE_AFTER_MS],
    );
    return rows.map((row) => row.partition);
  }
}
