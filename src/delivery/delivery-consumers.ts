import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig, RetryTier } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { KAFKA } from '../kafka/kafka.constants';
import {
  WatermarkConsumer,
  type ConsumedRecord,
  type WatermarkConsumerSpec,
} from '../kafka/watermark-consumer';
import { RetryRouter } from '../retry/retry-router';
import { attemptStateFromHeaders, decodeTask } from '../domain/delivery-task';
import { DeliveryEngine } from './delivery-engine';

/**
 * Declares every delivery-side consumer in one place: the first-attempt consumer of
 * `hookstream.deliveries` and one consumer per retry tier. Refuses to start if a topic would have
 * no handler or two.
 */
@Injectable()
export class DeliveryConsumers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumers: WatermarkConsumer[] = [];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly engine: DeliveryEngine,
    private readonly router: RetryRouter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  specs(): WatermarkConsumerSpec[] {
    const { kafka, delivery, roles } = this.config;
    const specs: WatermarkConsumerSpec[] = [];
    if (roles.has('delivery')) {
      specs.push({
        name: 'deliveries',
        groupId: kafka.deliveryGroupId,
        topics: [kafka.deliveriesTopic],
        partitionWindow: delivery.partitionWindow,
        handle: (record) => this.engine.handle(record),
      });
    }
    if (roles.has('retry')) {
      for (const tier of kafka.retryTiers) specs.push(this.tierSpec(tier));
    }
    assertOneHandlerPerTopic(specs);
    return specs;
  }

  private tierSpec(tier: RetryTier): WatermarkConsumerSpec {
    return {
      name: `retry-${tier.index + 1}`,
      groupId: tier.groupId,
      topics: [tier.topic],
      partitionWindow: this.config.delivery.partitionWindow,
      // Wait for the record's due time, but never longer than this tier's own delay after it was
      // written: a record due much later (a long Retry-After) moves on to a longer tier instead of
      // blocking the records behind it.
      dueAtMs: (record) => {
        const dueAt = Number(record.headers['hs-due-at'] ?? 0);
        return Math.min(dueAt, record.timestampMs + Math.ceil(tier.delayMs * 1.25));
      },
      handle: (record) => this.handleTierRecord(record),
    };
  }

  private async handleTierRecord(record: ConsumedRecord): Promise<void> {
    const state = attemptStateFromHeaders(record.headers);
    if (state.dueAtMs !== null && state.dueAtMs > Date.now()) {
      let task;
      try {
        task = decodeTask(record.value);
      } catch (error) {
        await this.router.deadLetterPoison(record, (error as Error).message);
        return;
      }
      await this.router.hop(task, state);
      return;
    }
    await this.engine.handle(record, 'retry');
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const spec of this.specs()) {
      const consumer = new WatermarkConsumer(this.kafka, spec, this.logger.child({ consumer: spec.name }));
      await consumer.start();
      this.consumers.push(consumer);
    }
  }

  inFlight(): number {
    return this.consumers.reduce((sum, consumer) => sum + consumer.inFlight(), 0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop(this.config.shutdownTimeoutMs)));
  }
}

export function assertOneHandlerPerTopic(specs: WatermarkConsumerSpec[]): void {
  const owners = new Map<string, string>();
  for (const spec of specs) {
    for (const topic of spec.topics) {
      const owner = owners.get(topic);
      if (owner) throw new Error(`topic ${topic} has two handlers: ${owner} and ${spec.name}`);
      owners.set(topic, spec.name);
    }
  }
}
