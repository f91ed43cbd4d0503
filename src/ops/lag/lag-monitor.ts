import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { LOGGER } from '../../common/logger.module';
import { KafkaAdmin } from '../../kafka/kafka-admin';
import { CLUSTER_METRICS_REGISTRY } from '../../common/metrics.registry';
import { OldestUnfinishedTracker, topicLag, type GroupTopicLag } from './consumer-lag';

export interface WatchedGroup {
  group: string;
  topics: string[];
  /** Retry tiers hold records until they are due on purpose: their lag is depth, not delay. */
  kind: 'fanout' | 'delivery' | 'retry' | 'dlq-mirror';
  /** A tier's number, from 1; a retired tier (one HOOKSTREAM_RETRY_DELAYS no longer names) by its topic. */
  tier?: number | string;
}

export interface LagSnapshot {
  takenAt: string;
  groups: GroupTopicLag[];
  members: Record<string, number>;
  /** Age of the oldest record the fan-out or delivery groups have not finished, where known. */
  oldestUnfinishedAgeMs?: number;
  oldestUnfinishedAgeMsByGroup: Record<string, number>;
  /** Records retained in the dead-letter topic. */
  deadLetters: number;
  retryTierDepth: Record<string, number>;
}

const INTERVAL_MS = 5_000;
/** A request for the lag reuses a snapshot this young instead of asking the brokers again. */
const FRESH_ENOUGH_MS = 1_000;

/**
 * Reads committed and log-end offsets of every Hookstream consumer group every few seconds (and on
 * demand) and publishes them as `kafka_consumergroup_lag`, the name Kafka exporters' dashboards use.
 * They describe the cluster, not this replica: they go in the cluster-wide registry, which only
 * the exporter replica serves, so each series is exported once (README decision 38).
 */
@Injectable()
export class LagMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly lagGauge: Gauge<'consumergroup' | 'topic' | 'partition'>;
  private readonly membersGauge: Gauge<'consumergroup'>;
  private readonly oldestGauge: Gauge<'consumergroup'>;
  private readonly tierDepthGauge: Gauge<'tier'>;
  private readonly deadLettersGauge: Gauge;
  private readonly tracker = new OldestUnfinishedTracker();
  private snapshot?: LagSnapshot;
  private refreshing?: Promise<LagSnapshot>;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafkaAdmin: KafkaAdmin,
    @Inject(CLUSTER_METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'lag-monitor' });
    this.lagGauge = new Gauge({
      name: 'kafka_consumergroup_lag',
      help: 'Records not yet consumed by the group: log-end offset minus committed offset',
      labelNames: ['consumergroup', 'topic', 'partition'],
      registers: [registry],
    });
    this.membersGauge = new Gauge({
      name: 'kafka_consumergroup_members',
      help: 'Members of the consumer group (0: nothing consumes its topics)',
      labelNames: ['consumergroup'],
      registers: [registry],
    });
    this.oldestGauge = new Gauge({
      name: 'hookstream_oldest_unfinished_age_seconds',
      help: 'Lower bound on how long the oldest unconsumed record of the group has waited',
      labelNames: ['consumergroup'],
      registers: [registry],
    });
    this.tierDepthGauge = new Gauge({
      name: 'hookstream_retry_tier_depth',
      help: 'Deliveries waiting in a retry tier (lag of the tier consumer group)',
      labelNames: ['tier'],
      registers: [registry],
    });
    this.deadLettersGauge = new Gauge({
      name: 'hookstream_dead_letters',
      help: 'Records retained in the dead-letter topic',
      registers: [registry],
    });
  }

  /** One delivery group reads the deliveries topic and every tier; a tier's lag is its depth. */
  watchedGroups(): WatchedGroup[] {
    const kafka = this.config.kafka;
    return [
      { group: kafka.fanoutGroupId, topics: kafka.inputTopics, kind: 'fanout' },
      { group: kafka.deliveryGroupId, topics: [kafka.deliveriesTopic], kind: 'delivery' },
      ...kafka.retryTiers.map((tier): WatchedGroup => ({
        group: kafka.deliveryGroupId,
        topics: [tier.topic],
        kind: 'retry',
        tier: tier.index + 1,
      })),
      ...this.kafkaAdmin.retiredTiers().map((tier): WatchedGroup => ({
        group: kafka.deliveryGroupId,
        topics: [tier.topic],
        kind: 'retry',
        tier: tier.topic,
      })),
      { group: `${kafka.namespace}-dlq-mirror`, topics: [kafka.dlqTopic], kind: 'dlq-mirror' },
    ];
  }

  onApplicationBootstrap(): void {
    void this.refresh().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The latest snapshot, refreshed first unless it is younger than a second. */
  async current(): Promise<LagSnapshot> {
    if (this.snapshot && Date.now() - Date.parse(this.snapshot.takenAt) < FRESH_ENOUGH_MS) {
      return this.snapshot;
    }
    return this.refresh();
  }

  /** Seconds since the snapshot the lag series show was taken; Infinity before the first. */
  ageSeconds(nowMs = Date.now()): number {
    return this.snapshot ? Math.max(0, nowMs - Date.parse(this.snapshot.takenAt)) / 1000 : Infinity;
  }

  /** Concurrent callers share one round of admin requests. */
  refresh(): Promise<LagSnapshot> {
    this.refreshing ??= this.read()
      .then((snapshot) => {
        this.snapshot = snapshot;
        this.publish(snapshot);
        return snapshot;
      })
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not read consumer group offsets');
        throw error;
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async read(): Promise<LagSnapshot> {
    const watched = this.watchedGroups();
    const { topicOffsets, committed: committedPerGroup, members } = await this.kafkaAdmin.offsets(watched);

    const nowMs = Date.now();
    const groups: GroupTopicLag[] = [];
    const retryTierDepth: Record<string, number> = {};
    const oldestByGroup: Record<string, number> = {};
    const trackedKeys = new Set<string>();
    watched.forEach((w, i) => {
      for (const { topic, partitions } of committedPerGroup[i]) {
        const lag = topicLag(w.group, topic, partitions, topicOffsets.get(topic) ?? []);
        groups.push(lag);
        if (w.kind === 'retry') retryTierDepth[String(w.tier)] = lag.totalLag;
        if (w.kind !== 'fanout' && w.kind !== 'delivery') continue;
        for (const p of lag.partitions) {
          const key = `${w.group}/${topic}/${p.partition}`;
          trackedKeys.add(key);
          const age = this.tracker.observe(key, p.committedOffset, p.logEndOffset, p.lag, nowMs);
          oldestByGroup[w.group] = Math.max(oldestByGroup[w.group] ?? 0, age);
        }
      }
    });
    this.tracker.forget(trackedKeys);

    const dlq = topicOffsets.get(this.config.kafka.dlqTopic) ?? [];
    const deadLetters = dlq.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Number(p.low)), 0);
    return {
      takenAt: new Date(nowMs).toISOString(),
      groups,
      members,
      oldestUnfinishedAgeMs: Object.keys(oldestByGroup).length
        ? Math.max(...Object.values(oldestByGroup))
        : undefined,
      oldestUnfinishedAgeMsByGroup: oldestByGroup,
      deadLetters,
      retryTierDepth,
    };
  }

  private publish(snapshot: LagSnapshot): void {
    this.lagGauge.reset();
    this.oldestGauge.reset();
    for (const group of snapshot.groups) {
      for (const p of group.partitions) {
        this.lagGauge.set(
          { consumergroup: group.group, topic: group.topic, partition: String(p.partition) },
          p.lag,
        );
      }
    }
    this.membersGauge.reset();
    for (const [group, count] of Object.entries(snapshot.members)) {
      this.membersGauge.set({ consumergroup: group }, count);
    }
    for (const [group, ageMs] of Object.entries(snapshot.oldestUnfinishedAgeMsByGroup)) {
      this.oldestGauge.set({ consumergroup: group }, ageMs / 1000);
    }
    this.tierDepthGauge.reset();
    for (const [tier, depth] of Object.entries(snapshot.retryTierDepth)) {
      this.tierDepthGauge.set({ tier }, depth);
    }
    this.deadLettersGauge.set(snapshot.deadLetters);
  }
}
