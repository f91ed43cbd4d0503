import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import type { CommittedOffset } from './consumer-spec';
import { requiredTopics } from './topics';
import { KAFKA } from './kafka.constants';

/** Owns one admin connection: creates missing topics at boot and answers readiness checks. */
@Injectable()
export class KafkaAdmin implements OnModuleInit, OnApplicationShutdown {
  private admin?: Admin;

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

  /** Per partition of `topic`: the offset after its last record. */
  async endOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>> {
    return (await this.connect()).fetchTopicOffsets(topic);
  }

  /** The shortest `retention.ms` of `topics`; null when every one keeps records forever. */
  async retentionMs(topics: string[]): Promise<number | null> {
    const described = await (
      await this.connect()
    ).describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    });
    const retentions = described.resources
      .flatMap((resource) => resource.configEntries)
      .filter((entry) => entry.configName === 'retention.ms')
      .map((entry) => Number(entry.configValue))
      .filter((ms) => Number.isFinite(ms) && ms >= 0);
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
