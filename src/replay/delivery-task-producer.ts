import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { encodeTask, type DeliveryTask } from '../delivery/delivery-task';
import { RecordProducer, type OutgoingRecord } from '../kafka/record-producer';

/** Under the broker's default message.max.bytes (1 MiB), which bounds one partition's record batch. */
const MAX_SEND_BYTES = 512 * 1024;

/**
 * Writes delivery tasks to the deliveries topic (key: endpoint id, so per-endpoint order holds), as
 * first attempts: no retry headers. Resolves once every record is acknowledged by all in-sync replicas.
 */
@Injectable()
export class DeliveryTaskProducer {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly producer: RecordProducer,
  ) {}

  async send(tasks: DeliveryTask[]): Promise<void> {
    let chunk: OutgoingRecord[] = [];
    let chunkBytes = 0;
    for (const task of tasks) {
      const value = encodeTask(task);
      if (chunk.length > 0 && chunkBytes + value.length > MAX_SEND_BYTES) {
        await this.producer.send(this.config.kafka.deliveriesTopic, chunk);
        chunk = [];
        chunkBytes = 0;
      }
      chunk.push({ key: task.endpointId, value });
      chunkBytes += value.length;
    }
    if (chunk.length > 0) await this.producer.send(this.config.kafka.deliveriesTopic, chunk);
  }
}
