import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig, RetiredTier } from '../config/config';
import { retryTierDelayOf } from '../config/retry-tier-topic';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import type { CommittedOffset } from './consumer-spec';
import { DELIVERY_RECORD_OVERHEAD_BYTES, requiredTopics, topicsTooSmallForDeliveries } from './topics';
import { KAFKA } from './kafka.constants';

/** Owns one admin connection: creates missing topics at boot and answers readiness checks. */
@Injectable()
export class KafkaAdmin implements OnModuleInit, OnApplicationShutdown {
  private admin?: Admin;
  private retired: RetiredTier[] = [];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Topics exist before any consumer starts (consumers start at application bootstrap). */
  async onModuleInit(): Promise<void> {
    await this.provisionTopics();
  }

  /** Connects and creates every missing topic; throws a message naming the brokers when unreachable. */
  async provisionTopics(): Promise<void> {
    const admin = await this.connect();
    const existing = new Set(await admin.listTopics());
    const missing = requiredTopics(this.config.kafka).filter((topic) => !existing.has(topic.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
      this.logger.info({ topics: missing.map((t) => t.topic) }, 'created Kafka topics');
    }
    await this.assertCoPartitioned(admin);
    this.retired = await this.findRetiredTiers(admin, existing).catch((error: unknown) => {
      // Best effort: a principal not allowed to read the group's offsets must not stop the boot.
      this.logger.warn({ err: error }, 'could not look for retired retry tiers; none are read');
      return [];
    });
    if (this.config.security.production) await this.warnOnSingleCopyTopics(admin);
    await this.warnIfDeliveriesMayNotFit(admin);
  }

  /**
   * Warns when a topic of the deliveries (their `max.message.bytes`, the broker's message.max.bytes
   * unless the topic overrides it) cannot take the largest record HOOKSTREAM_MAX_EVENT_BYTES lets in
   * (topicsTooSmallForDeliveries). Not a refusal: events that large may never come, and the limit
   * can be raised on the broker. A principal not allowed DescribeConfigs is not refused either.
   */
  private async warnIfDeliveriesMayNotFit(admin: Admin): Promise<void> {
    const { kafka, delivery } = this.config;
    const topics = [kafka.deliveriesTopic, ...kafka.retryTiers.map((tier) => tier.topic), kafka.dlqTopic];
    let limits: Map<string, number>;
    try {
      const values = await topicConfig(admin, topics, 'max.message.bytes');
      limits = new Map([...values].map(([topic, value]) => [topic, Number(value)]));
    } catch (error) {
      this.logger.info({ err: error }, "could not read the delivery topics' max.message.bytes");
      return;
    }
    const tooSmall = topicsTooSmallForDeliveries(delivery.maxEventBytes, limits);
    if (tooSmall.length === 0) return;
    this.logger.warn(
      {
        maxEventBytes: delivery.maxEventBytes,
        needed: delivery.maxEventBytes + DELIVERY_RECORD_OVERHEAD_BYTES,
        maxMessageBytes: Object.fromEntries(tooSmall.map((topic) => [topic, limits.get(topic)])),
      },
      'HOOKSTREAM_MAX_EVENT_BYTES lets in events whose retry or dead-letter records these topics refuse ' +
        '(max.message.bytes): such a delivery is dead-lettered as handler_failed, not replayable. ' +
        'Lower HOOKSTREAM_MAX_EVENT_BYTES or raise max.message.bytes',
    );
  }

  /**
   * A 202 from the ingest API and a committed offset mean "acknowledged by every in-sync replica"
   * (acks=all), which is one broker when a topic's `min.insync.replicas` is 1: the topics
   * Hookstream creates get min(2, HOOKSTREAM_REPLICATION_FACTOR), but input topics the platform
   * made are used as they are. In production, say so at boot. Best effort: a broker that refuses
   * DescribeConfigs (ACLs) gets a line saying it could not check.
   */
  private async warnOnSingleCopyTopics(admin: Admin): Promise<void> {
    const topics = requiredTopics(this.config.kafka).map((topic) => topic.topic);
    try {
      const minInsync = await topicConfig(admin, topics, 'min.insync.replicas');
      const weak = singleCopyTopics(topics.map((topic) => ({ topic, minInsync: minInsync.get(topic) })));
      if (weak.length > 0) {
        this.logger.warn(
          { topics: weak },
          'NODE_ENV=production with topics whose min.insync.replicas is 1: an accepted event or a committed offset is then on one broker only (README Section B)',
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, "could not read the topics' min.insync.replicas");
    }
  }

  /** The retired retry tiers found at boot (see {@link findRetiredTiers}). */
  retiredTiers(): readonly RetiredTier[] {
    return this.retired;
  }

  /**
   * Tier topics an earlier HOOKSTREAM_RETRY_DELAYS made and this one does not name, with records
   * the delivery group has not read to the end: retries written before the change, or by replicas
   * not yet restarted with it. The group reads them on, each when due. One read to its end is left
   * out (a consumer whose topic is deleted under it restarts in a loop, so a replica reads only what
   * it must, and an operator may delete a drained tier once every replica has restarted). One with
   * another partition count than the deliveries topic cannot be read co-partitioned: it is named in
   * an error line and left.
   */
  private async findRetiredTiers(admin: Admin, existing: Set<string>): Promise<RetiredTier[]> {
    const { kafka } = this.config;
    const current = new Set(kafka.retryTiers.map((tier) => tier.topic));
    const candidates = [...existing]
      .filter((topic) => !current.has(topic))
      .map((topic) => ({ topic, delayMs: retryTierDelayOf(kafka.namespace, topic) }))
      .filter((tier): tier is RetiredTier => tier.delayMs !== null)
      .sort((a, b) => a.topic.localeCompare(b.topic));
    if (candidates.length === 0) return [];
    const metadata = await admin.fetchTopicMetadata({ topics: candidates.map((tier) => tier.topic) });
    const partitions = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
    const coPartitioned = candidates.filter(
      (tier) => partitions.get(tier.topic) === kafka.deliveryPartitions,
    );
    const unreadable = candidates.filter((tier) => !coPartitioned.includes(tier));
    const unread = await this.unreadRecords(
      admin,
      coPartitioned.map((tier) => tier.topic),
    );
    const waiting = coPartitioned.filter((tier) => (unread.get(tier.topic) ?? 0) > 0);
    if (waiting.length > 0) {
      this.logger.warn(
        { topics: waiting.map((tier) => tier.topic), records: waiting.map((tier) => unread.get(tier.topic)) },
        'retry tiers no longer in HOOKSTREAM_RETRY_DELAYS hold unread records: read on until drained (README Section B)',
      );
    }
    const drained = coPartitioned.filter((tier) => !waiting.includes(tier));
    if (drained.length > 0) {
      this.logger.info(
        { topics: drained.map((tier) => tier.topic) },
        'retired retry tiers read to their end: not read; each may be deleted once every replica has restarted since',
      );
    }
    if (unreadable.length > 0) {
      this.logger.error(
        { topics: unreadable.map((tier) => `${tier.topic} (${partitions.get(tier.topic)} partitions)`) },
        `retired retry tiers without HOOKSTREAM_DELIVERY_PARTITIONS (${kafka.deliveryPartitions}) partitions are not read: records waiting in them are not delivered`,
      );
    }
    return waiting;
  }

  /** Per topic, the records the delivery group has not committed past (retention counted out). */
  private async unreadRecords(admin: Admin, topics: string[]): Promise<Map<string, number>> {
    if (topics.length === 0) return new Map();
    const committed = await admin.fetchOffsets({ groupId: this.config.kafka.deliveryGroupId, topics });
    return new Map(
      await Promise.all(
        committed.map(async ({ topic, partitions }) => {
          const ends = await admin.fetchTopicOffsets(topic);
          const unread = ends.reduce((sum, end) => {
            const at = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
            return sum + Math.max(0, Number(end.high) - Math.max(at, Number(end.low)));
          }, 0);
          return [topic, unread] as const;
        }),
      ),
    );
  }

  /**
   * The deliveries topic and every retry tier must have HOOKSTREAM_DELIVERY_PARTITIONS partitions:
   * an endpoint's tasks are in the same partition index of each, which one replica owns (README
   * decision 36). Topics made by hand, or grown one by one, break that: refuse to start.
   */
  private async assertCoPartitioned(admin: Admin): Promise<void> {
    const { kafka } = this.config;
    const topics = [kafka.deliveriesTopic, ...kafka.retryTiers.map((tier) => tier.topic)];
    const metadata = await admin.fetchTopicMetadata({ topics });
    const wrong = metadata.topics.filter((topic) => topic.partitions.length !== kafka.deliveryPartitions);
    if (wrong.length === 0) return;
    throw new Error(
      `HOOKSTREAM_DELIVERY_PARTITIONS is ${kafka.deliveryPartitions} but ` +
        wrong.map((topic) => `${topic.name} has ${topic.partitions.length}`).join(', ') +
        '; the deliveries topic and every retry tier need the same partition count (README Section B, scaling)',
    );
  }

  /**
   * Upgrading from one consumer group per retry tier: the delivery group, new to the tier topics,
   * starts where each tier's group had got to instead of from the beginning of the topic. Only
   * when the delivery group has no offset on any tier yet and no member runs (the first replica of
   * the new version, before its consumer starts); returns the partitions carried over.
   */
  async carryOverTierOffsets(): Promise<number> {
    const admin = await this.connect();
    const { kafka } = this.config;
    const tierTopics = kafka.retryTiers.map((tier) => tier.topic);
    const current = await admin.fetchOffsets({ groupId: kafka.deliveryGroupId, topics: tierTopics });
    if (current.some((topic) => topic.partitions.some((p) => Number(p.offset) >= 0))) return 0;
    let carried = 0;
    for (const tier of kafka.retryTiers) {
      const [legacy] = await admin.fetchOffsets({ groupId: tier.legacyGroupId, topics: [tier.topic] });
      const partitions = (legacy?.partitions ?? []).filter((p) => Number(p.offset) >= 0);
      if (partitions.length === 0) continue;
      await admin.setOffsets({ groupId: kafka.deliveryGroupId, topic: tier.topic, partitions });
      carried += partitions.length;
    }
    if (carried > 0) {
      this.logger.info(
        { partitions: carried, from: kafka.retryTiers.map((tier) => tier.legacyGroupId) },
        'retry tiers: the delivery group starts where the former per-tier groups stopped',
      );
    }
    return carried;
  }

  /** Readiness: the cluster answers a metadata request. */
  async check(): Promise<void> {
    const admin = await this.connect();
    await admin.describeCluster();
  }

  /**
   * Log-end, earliest and committed offsets for consumer lag: per topic of `watched`, per group its
   * committed offsets (in the order of `watched`), and each group's member count.
   */
  async offsets(watched: Array<{ group: string; topics: string[] }>): Promise<OffsetsSnapshot> {
    const admin = await this.connect();
    const existing = new Set(await admin.listTopics());
    const topics = [...new Set(watched.flatMap((w) => w.topics))].filter((t) => existing.has(t));
    const topicOffsets = new Map(
      await Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)),
    );
    const [committed, descriptions] = await Promise.all([
      Promise.all(
        watched.map(async (w) => {
          const own = w.topics.filter((t) => existing.has(t));
          return own.length ? admin.fetchOffsets({ groupId: w.group, topics: own }) : [];
        }),
      ),
      admin.describeGroups([...new Set(watched.map((w) => w.group))]),
    ]);
    const members: Record<string, number> = {};
    for (const group of descriptions.groups) members[group.groupId] = group.members.length;
    return { topicOffsets, committed, members };
  }

  /** Per partition of `topic`: the first offset at or after `timestampMs` (the end when none). */
  async offsetsAt(topic: string, timestampMs: number): Promise<Array<{ partition: number; offset: string }>> {
    return (await this.connect()).fetchTopicOffsetsByTimestamp(topic, timestampMs);
  }

  /** Those of `topics` the cluster does not have (deleted, or never made). */
  async missingTopics(topics: string[]): Promise<string[]> {
    const existing = new Set(await (await this.connect()).listTopics());
    return [...new Set(topics)].filter((topic) => !existing.has(topic));
  }

  /** Per partition of `topic`: the offset after its last record. */
  async endOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>> {
    return (await this.connect()).fetchTopicOffsets(topic);
  }

  /** The shortest `retention.ms` of `topics`; null when every one keeps records forever. */
  async retentionMs(topics: string[]): Promise<number | null> {
    const values = await topicConfig(await this.connect(), topics, 'retention.ms');
    const retentions = [...values.values()].map(Number).filter((ms) => Number.isFinite(ms) && ms >= 0);
    return retentions.length ? Math.min(...retentions) : null;
  }

  /** `groupId`'s committed offsets on `topic`, with each commit's metadata (README decision 92). */
  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const [committed] = await (await this.connect()).fetchOffsets({ groupId, topics: [topic] });
    return committed?.partitions ?? [];
  }

  async deleteGroup(groupId: string): Promise<void> {
    await (await this.connect()).deleteGroups([groupId]);
  }

  private async connect(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 200 } });
    try {
      await admin.connect();
    } catch (error) {
      throw new Error(
        `Kafka unreachable at ${this.config.kafka.brokers.join(',')} (KAFKA_BROKERS): ${(error as Error).message}`,
      );
    }
    this.admin = admin;
    return admin;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin?.disconnect();
  }
}

/** Offsets of one partition: `offset` and `high` are the log end, `low` the earliest retained. */
export interface PartitionOffsets {
  partition: number;
  offset: string;
  high: string;
  low: string;
}

/** A group's committed offsets on one topic. */
export interface CommittedOffsets {
  topic: string;
  partitions: Array<{ partition: number; offset: string }>;
}

export interface OffsetsSnapshot {
  topicOffsets: Map<string, PartitionOffsets[]>;
  committed: CommittedOffsets[][];
  members: Record<string, number>;
}

/** One setting of each of `topics`, by topic (a topic the broker did not describe is absent). */
async function topicConfig(admin: Admin, topics: string[], configName: string): Promise<Map<string, string>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [configName] })),
  });
  const values = new Map<string, string>();
  for (const resource of described.resources) {
    const entry = resource.configEntries.find((candidate) => candidate.configName === configName);
    if (entry) values.set(resource.resourceName, entry.configValue);
  }
  return values;
}

/** The topics whose `min.insync.replicas` lets acks=all mean one broker (unknown counts as 1). */
export function singleCopyTopics(
  described: Array<{ topic: string; minInsync: string | undefined }>,
): string[] {
  return described
    .filter(({ minInsync }) => !(Number(minInsync) >= 2))
    .map(({ topic }) => topic)
    .sort();
}
