import { EventPattern, Payload } from '@nestjs/microservices';
import type { ConsumedRecord } from '../domain/records';
import { CONSUMER, ConsumerController } from '../kafka/consumer-runner';
import { DeadLetterMirror } from './dead-letter-mirror';

/** The dead-letter topic, record by record, into PostgreSQL (src/kafka/consumer-plan.ts). */
@ConsumerController()
export class DeadLetterMirrorController {
  constructor(private readonly mirror: DeadLetterMirror) {}

  @EventPattern(CONSUMER.deadLetters)
  deadLetter(@Payload() record: ConsumedRecord): Promise<void> {
    return this.mirror.mirror(record);
  }
}
