import type { AppConfig, Role } from '../config/config';
import { HEADER } from '../domain/delivery-task';
import type { ConsumedRecord } from '../domain/records';
import { tierReadyAtMs } from '../domain/settlement';

/**
 * The event patterns consumers are declared under: a feature module handles one with
 * `@EventPattern(CONSUMER.x)` (see {@link ConsumerController}); the runner feeds it the records.
 */
export const CONSUMER = {
  /** Platform events on the input topics, a fetched batch at a time (the fan-out). */
  events: 'hookstream.events',
  /** First attempts, from the deliveries topic. */
  firstAttempts: 'hookstream.first-attempts',
  /** Every retry tier's records, each when it is due. */
  retryTiers: 'hookstream.retry-tiers',
  /** The dead-letter topic, mirrored into PostgreSQL. */
  deadLetters: 'hookstream.dead-letters',
} as const;

export type ConsumerPattern = (typeof CONSUMER)[keyof typeof CONSUMER];

interface DeclarationBase {
  pattern: ConsumerPattern;
  /** The HOOKSTREAM_ROLES entry that runs this consumer. */
  role: Role;
  name: string;
  groupId: string;
  topics: string[];
  partitionWindow: number;
  maxWaitMs?: number;
  maxBytesPerPartition?: number;
  /**
   * What becomes of a record its handler keeps failing on for a reason that is not transient:
   * dead-lettered as `handler_failed`, or (the dead-letter mirror, which reads the DLQ) skipped.
   */
  isolate: 'dead-letter' | 'skip';
}

/** A consumer of Hookstream: its group, topics and how its records reach the handler. */
export type ConsumerDeclaration =
  | (DeclarationBase & { mode: 'records'; dueAtMs?(record: ConsumedRecord): number | null })
  | (DeclarationBase & { mode: 'batches' });

/** Every consumer Hookstream runs, in one place; the roles in the configuration pick which run here. */
export function consumerPlan(config: AppConfig): ConsumerDeclaration[] {
  const { kafka, delivery } = config;
  const partitionWindow = delivery.partitionWindow;
  return [
    {
      pattern: CONSUMER.events,
      role: 'fanout',
      mode: 'batches',
      name: 'fan-out',
      groupId: kafka.fanoutGroupId,
      topics: kafka.inputTopics,
      partitionWindow,
      maxWaitMs: 50,
      // Bounds one batch: a batch of events times their fan-out is produced before the next batch.
      maxBytesPerPartition: 256 * 1024,
      isolate: 'dead-letter',
    },
    {
      pattern: CONSUMER.firstAttempts,
      role: 'delivery',
      mode: 'records',
      name: 'deliveries',
      groupId: kafka.deliveryGroupId,
      topics: [kafka.deliveriesTopic],
      partitionWindow,
      isolate: 'dead-letter',
    },
    ...kafka.retryTiers.map((tier): ConsumerDeclaration => ({
      pattern: CONSUMER.retryTiers,
      role: 'retry',
      mode: 'records',
      name: `retry-${tier.index + 1}`,
      groupId: tier.groupId,
      topics: [tier.topic],
      partitionWindow,
      isolate: 'dead-letter',
      dueAtMs: (record) => tierReadyAtMs(record.headers[HEADER.dueAt], record.timestampMs, tier.delayMs),
    })),
    {
      pattern: CONSUMER.deadLetters,
      role: 'delivery',
      mode: 'records',
      name: 'dlq-mirror',
      groupId: `${kafka.namespace}-dlq-mirror`,
      topics: [kafka.dlqTopic],
      partitionWindow,
      isolate: 'skip',
    },
  ];
}

/** Refuses a plan in which a topic would be read by two consumers. */
export function assertOneConsumerPerTopic(declarations: ConsumerDeclaration[]): void {
  const owners = new Map<string, string>();
  for (const declaration of declarations) {
    for (const topic of declaration.topics) {
      const owner = owners.get(topic);
      if (owner) throw new Error(`topic ${topic} has two consumers: ${owner} and ${declaration.name}`);
      owners.set(topic, declaration.name);
    }
  }
}
