import { EventPattern, Payload } from '@nestjs/microservices';
import type { ConsumedBatch } from '../domain/records';
import { CONSUMER, ConsumerController } from '../kafka/consumer-runner';
import { FanoutService } from './fanout.service';

/** Platform events, a fetched batch of one partition at a time, in order (src/kafka/consumer-plan.ts). */
@ConsumerController()
export class FanoutController {
  constructor(private readonly fanout: FanoutService) {}

  @EventPattern(CONSUMER.events)
  events(@Payload() batch: ConsumedBatch): Promise<void> {
    return this.fanout.fanOut(batch);
  }
}
