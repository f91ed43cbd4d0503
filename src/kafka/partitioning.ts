import type { AppConfig } from '../config/config';

// kafkajs' default (Java-compatible) partitioner hashes keys with this murmur2; the producer uses it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (
  key: string | Buffer,
) => number;

/** The partition a record keyed `key` lands in, in a topic of `partitions` partitions. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** The partition index of the deliveries topic and of every retry tier that holds `endpointId`'s tasks. */
export function deliveryPartitionOf(endpointId: string, config: Pick<AppConfig, 'kafka'>): number {
  return partitionOf(endpointId, config.kafka.deliveryPartitions);
}
