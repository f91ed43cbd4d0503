import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { withTimeout } from '../../common/with-timeout';
import { KafkaAdmin } from '../../kafka/kafka-admin';

@Injectable()
export class KafkaHealthIndicator {
  constructor(
    private readonly admin: KafkaAdmin,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key: 'kafka', timeoutMs = 3000): Promise<HealthIndicatorResult<'kafka'>> {
    const indicator = this.health.check(key);
    try {
      await withTimeout(this.admin.check(), timeoutMs, `no answer from Kafka within ${timeoutMs} ms`);
      return indicator.up();
    } catch {
      // Names the part, never the broker addresses kafkajs puts in its errors (served on the public port).
      return indicator.down({ message: 'Kafka is not reachable' });
    }
  }
}
