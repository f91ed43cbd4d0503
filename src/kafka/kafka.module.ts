import { Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { ConsumerRunner } from './consumer-runner';
import { KafkaAdmin } from './kafka-admin';
import { createKafka } from './kafka-client';
import { KAFKA } from './kafka.constants';
import { PARTITION_HANDOVER, SwitchablePartitionHandover } from './partition-handover';
import { RecordProducer } from './record-producer';
import { TopicRangeReader } from './topic-range-reader';

/**
 * Everything that talks to Kafka, and the only place that imports the client (kafkajs): replacing
 * the client touches this folder alone. Feature modules produce through {@link RecordProducer},
 * consume through `@EventPattern` handlers fed by {@link ConsumerRunner}, and read replay windows
 * through {@link TopicRangeReader}.
 */
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
    ConsumerRunner,
    TopicRangeReader,
    { provide: PARTITION_HANDOVER, useClass: SwitchablePartitionHandover },
  ],
  exports: [KafkaAdmin, RecordProducer, ConsumerRunner, TopicRangeReader, PARTITION_HANDOVER],
})
export class KafkaModule {}
