import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { encodeTask, type DeliveryTask } from '../domain/delivery-task';
import { RecordProducer } from '../kafka/record-producer';

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

  send(tasks: DeliveryTask[]): Promise<void> {
    return this.producer.send(
      this.config.kafka.deliveriesTopic,
      tasks.map((task) => ({ key: task.endpointId, value: encodeTask(task) })),
    );
  }
}
