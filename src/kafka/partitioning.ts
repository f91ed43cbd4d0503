import { LRUCache } from 'lru-cache';
import { Partitioners, type ICustomPartitioner } from 'kafkajs';
import type { AppConfig } from '../config/config';

// kafkajs' default (Java-compatible) partitioner hashes keys with this murmur2; the producer uses it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (
  key: string | Buffer,
) => number;

/**
 * Keys whose hash is remembered. The keys that repeat are endpoint ids (every task record) and
 * tenant ids (every ingested event): one entry is a short string and a number.
 */
const HASHED_KEYS = 10_000;
const hashes = new LRUCache<string, number>({ max: HASHED_KEYS });

/**
 * murmur2 of `key`, positive, remembered: kafkajs computes it with a 64-bit integer library that
 * allocates an object per arithmetic step, which was about a tenth of the bytes a delivery
 * allocated (README decision 78).
 */
function keyHash(key: string): number {
  let hash = hashes.get(key);
  if (hash === undefined) {
    hash = murmur2(key) & 0x7fffffff;
    hashes.set(key, hash);
  }
  return hash;
}

/** The partition a record keyed `key` lands in, in a topic of `partitions` partitions. */
export function partitionOf(key: string, partitions: number): number {
  return keyHash(key) % partitions;
}

/** The partition index of the deliveries topic and of every retry tier that holds `endpointId`'s tasks. */
export function deliveryPartitionOf(endpointId: string, config: Pick<AppConfig, 'kafka'>): number {
  return partitionOf(endpointId, config.kafka.deliveryPartitions);
}

/**
 * kafkajs' default partitioner with the key's hash remembered: the same partition for every
 * record (a string key by `partitionOf`; a set partition, a Buffer key or none as kafkajs decides).
 */
export const rememberingPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if ((message.partition === undefined || message.partition === null) && typeof message.key === 'string') {
      return partitionOf(message.key, partitionMetadata.length);
    }
    return fallback(args);
  };
};
