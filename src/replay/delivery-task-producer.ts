import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { DeliveryTask } from '../domain/delivery-task';
import { TaskSeal } from '../domain/task-seal';
import { RecordProducer } from '../kafka/record-producer';

/**
 * Writes delivery tasks, sealed with their MAC (the replay's tasks are new: fresh delivery ids), to the deliveries topic (key: endpoint id, so per-endpoint order holds), as
 * first attempts: no retry headers. Resolves once every record is acknowledged by all in-sync replicas.
 */
@Injectable()
export class DeliveryTaskProducer {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly producer: RecordProducer,
    @Inject(TaskSeal) private readonly seal: TaskSeal,
  ) {}

  send(tasks: DeliveryTask[]): Promise<void> {
    return this.producer.send(
      this.config.kafka.deliveriesTopic,
      tasks.map((task) => ({ key: task.endpointId, value: this.seal.seal(task) })),
    );
  }
}
