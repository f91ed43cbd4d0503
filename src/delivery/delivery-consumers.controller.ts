import { EventPattern, Payload } from '@nestjs/microservices';
import type { ConsumedRecord } from '../domain/records';
import { CONSUMER, ConsumerController } from '../kafka/consumer-runner';
import { DeliveryEngine } from './delivery-engine';

/**
 * First attempts and every retry tier's records go to the engine (src/kafka/consumer-plan.ts declares
 * them), and so does each of their records the consumer dead-lettered as `handler_failed`.
 */
@ConsumerController()
export class DeliveryConsumersController {
  constructor(private readonly engine: DeliveryEngine) {}

  @EventPattern(CONSUMER.firstAttempts)
  firstAttempt(@Payload() record: ConsumedRecord): Promise<void> {
    return this.engine.handle(record, 'first');
  }

  @EventPattern(CONSUMER.retryTiers)
  retry(@Payload() record: ConsumedRecord): Promise<void> {
    return this.engine.handle(record, 'retry');
  }

  @EventPattern(CONSUMER.deliveryIsolated)
  isolated(@Payload() record: ConsumedRecord): Promise<void> {
    return this.engine.afterIsolation(record);
  }
}
