import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { KAFKA } from '../kafka/kafka.constants';
import { WatermarkConsumer, type ConsumedRecord } from '../kafka/watermark-consumer';
import { toDeadLetterRow } from '../domain/dead-letter';
import { DeadLettersRepository } from './dead-letters.repository';

/**
 * Mirrors the dead-letter topic into `dead_letters` so dead letters can be listed and replayed over
 * REST. Idempotent per (topic, partition, offset); while PostgreSQL is down the handler rejects and
 * the consumer hands the record back later, so nothing is lost.
 */
@Injectable()
export class DeadLetterMirror implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: WatermarkConsumer;
  private readonly logger: Logger;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly deadLetters: DeadLettersRepository,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'dlq-mirror' });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.roles.has('delivery')) return;
    const consumer = new WatermarkConsumer(
      this.kafka,
      {
        name: 'dlq-mirror',
        groupId: `${this.config.kafka.namespace}-dlq-mirror`,
        topics: [this.config.kafka.dlqTopic],
        partitionWindow: this.config.delivery.partitionWindow,
        handle: (record) => this.mirror(record),
      },
      this.logger,
    );
    await consumer.start();
    this.consumer = consumer;
  }

  async mirror(record: ConsumedRecord): Promise<void> {
    const row = toDeadLetterRow(record);
    await this.deadLetters.insert(row);
    this.logger.debug(
      { offset: `${record.topic}/${record.partition}/${record.offset}`, reason: row.reason },
      'dead letter mirrored',
    );
  }

  /** Rows in `dead_letters` (replayed or not), for an ops gauge. */
  count(): Promise<number> {
    return this.deadLetters.count();
  }

  /** Dead letters nobody has replayed yet. */
  countNotReplayed(): Promise<number> {
    return this.deadLetters.countNotReplayed();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop(this.config.shutdownTimeoutMs);
  }
}
