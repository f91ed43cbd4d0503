import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { deliveryPartitionOf } from '../kafka/partitioning';
import type { PartitionHandover } from '../kafka/consumer-spec';
import { EndpointHealth } from './endpoint-health';
import { PartitionOwners } from './partition-owners';

/**
 * How a partition index of the delivery group (and every endpoint hashed to it) moves between
 * replicas (README decision 36). The replica losing it finishes the attempts in flight there,
 * writes its circuits and releases it; the one gaining it waits for that, then takes the circuits
 * over and starts. While it moves, no replica attempts its endpoints: at most one HTTP request per
 * `maxConcurrency` slot is ever out, across replicas, as long as the previous owner released it or
 * was gone (the exceptions, a hung owner or PostgreSQL down, are counted in
 * hookstream_partition_handovers_forced_total).
 */
@Injectable()
export class DeliveryHandover implements PartitionHandover {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly owners: PartitionOwners,
    private readonly health: EndpointHealth,
  ) {}

  async acquire(indexes: number[], stillOwned: (index: number) => boolean): Promise<void> {
    await this.owners.acquire(indexes, stillOwned);
    await this.health.adopt((endpointId) => indexes.includes(this.partitionOf(endpointId)));
  }

  async release(indexes: number[], beforeRelease?: (held: number[]) => Promise<void>): Promise<void> {
    await this.health.flush();
    this.health.forget((endpointId) => !indexes.includes(this.partitionOf(endpointId)));
    await this.owners.release(indexes, beforeRelease);
  }

  private partitionOf(endpointId: string): number {
    return deliveryPartitionOf(endpointId, this.config);
  }
}
