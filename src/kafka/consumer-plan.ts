import type { AppConfig, RetiredTier, Role } from '../config/config';
import { HEADER } from '../domain/delivery-task';
import type { ConsumedRecord } from '../domain/records';
import { tierReadyAtMs } from '../domain/settlement';
import { probeIntervalMs } from './idle-partitions';

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
  /**
   * A first attempt's or a retry's record dead-lettered as `handler_failed` (`afterIsolating`), for
   * what its outcome would have done besides (a strict blocker hands its key on).
   */
  deliveryIsolated: 'hookstream.delivery-isolated',
} as const;

export type ConsumerPattern = (typeof CONSUMER)[keyof typeof CONSUMER];

interface DeclarationBase {
  /** The pattern whose handler gets each topic's records. */
  patternFor(topic: string): ConsumerPattern;
  /** Every pattern this consumer feeds. */
  patterns: ConsumerPattern[];
  /** The HOOKSTREAM_ROLES entries that run this consumer (any of them). */
  roles: Role[];
  name: string;
  groupId: string;
  topics: string[];
  partitionWindow: number;
  maxWaitMs?: number;
  maxBytesPerPartition?: number;
  /** Topics whose idle partitions are left out of fetches until written to (the retry tiers). */
  idleProbe?: { topics: string[]; intervalMs: number };
  /**
   * What becomes of a record its handler keeps failing on for a reason that is not transient:
   * dead-lettered as `handler_failed`, or (the dead-letter mirror, which reads the DLQ) skipped.
   */
  isolate: 'dead-letter' | 'skip';
  /**
   * The pattern whose handler is given each record isolated, once its dead letter is written: what
   * the record's own outcome would have done besides the write is done before it may be committed.
   * The handler retries its own steps: a rejection has the record handled, and isolated, again.
   */
  afterIsolating?: ConsumerPattern;
  /** One member owns the same partition index of every topic, and indexes move by handover. */
  coPartitioned?: boolean;
}

/** A consumer of Hookstream: its group, topics and how its records reach the handler. */
export type ConsumerDeclaration =
  | (DeclarationBase & { mode: 'records'; dueAtMs?(record: ConsumedRecord): number | null })
  | (DeclarationBase & { mode: 'batches' });

const only = (pattern: ConsumerPattern) => ({ patternFor: () => pattern, patterns: [pattern] });

/**
 * Every consumer Hookstream runs, in one place; the roles in the configuration pick which run here.
 *
 * First attempts and every retry tier are one consumer group, co-partitioned: all are keyed by
 * endpoint id with the same partition count, so the member owning index p owns every delivery of
 * the endpoints hashed to p, its lane, its concurrency, its circuit and its held backlog (README
 * decision 36). `retired`: tiers an earlier HOOKSTREAM_RETRY_DELAYS named, still read (KafkaAdmin
 * finds them at boot); a record from one is handled as any tier's, and retried in today's tiers.
 */
export function consumerPlan(config: AppConfig, retired: readonly RetiredTier[] = []): ConsumerDeclaration[] {
  const { kafka, delivery } = config;
  const partitionWindow = delivery.partitionWindow;
  const tiers: RetiredTier[] = [...kafka.retryTiers, ...retired];
  const tierByTopic = new Map(tiers.map((tier) => [tier.topic, tier]));
  return [
    {
      ...only(CONSUMER.events),
      roles: ['fanout'],
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
      patternFor: (topic) => (tierByTopic.has(topic) ? CONSUMER.retryTiers : CONSUMER.firstAttempts),
      patterns: [CONSUMER.firstAttempts, CONSUMER.retryTiers, CONSUMER.deliveryIsolated],
      roles: ['delivery'],
      mode: 'records',
      name: 'deliveries',
      groupId: kafka.deliveryGroupId,
      topics: [kafka.deliveriesTopic, ...tiers.map((tier) => tier.topic)],
      partitionWindow,
      isolate: 'dead-letter',
      // A strict blocker isolated must still hand its key on, or the key stays blocked for good.
      afterIsolating: CONSUMER.deliveryIsolated,
      coPartitioned: true,
      // Tiers are written only by failures: idle, they were most of every fetch (decision 67).
      ...(tiers.length > 0
        ? {
            idleProbe: {
              topics: tiers.map((tier) => tier.topic),
              intervalMs: probeIntervalMs(Math.min(...tiers.map((tier) => tier.delayMs))),
            },
          }
        : {}),
      dueAtMs: (record) => {
        const tier = tierByTopic.get(record.topic);
        return tier ? tierReadyAtMs(record.headers[HEADER.dueAt], record.timestampMs, tier.delayMs) : null;
      },
    },
    {
      ...only(CONSUMER.deadLetters),
      roles: ['delivery'],
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
