import {
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { createKafka } from './kafka-client';
import { requiredTopics } from './topics';
import { KAFKA } from './kafka.constants';
import { RecordProducer } from './record-producer';

export { KAFKA } from './kafka.constants';

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
    if (missing.length === 0) return;
    await admin.createTopics({ topics: missing, waitForLeaders: true });
    this.logger.info({ topics: missing.map((t) => t.topic) }, 'created Kafka topics');
  }

  /** Readiness: the cluster answers a metadata request. */
  async check(): Promise<void> {
    const admin = await this.connect();
    await admin.describeCluster();
  }

  client(): Promise<Admin> {
    return this.connect();
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

@Global()
@Module({
  providers: [
    {
      provide: KAFKA,
      inject: [APP_CONFIG, LOGGER],
      useFactory: (config: AppConfig, logger: Logger) => createKafka(config.kafka, logger),
    },
    KafkaAdmin,
    RecordProducer,
  ],
  exports: [KAFKA, KafkaAdmin, RecordProducer],
})
export class KafkaModule {}
